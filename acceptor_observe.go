package paxos

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"

	"github.com/mjpitz/myago/paxos/internal/core"
)

// An Observe stream sends, from the requested slot on, every entry the
// acceptor holds (decided ones marked Decided, the others as votes for the
// learners' tallies), then live: each entry as soon as it is durable, and the
// entries that became decided each time the durable watermark moves. The
// acceptor never waits for a stream: live entries go into a bounded buffer,
// and a stream whose buffer overflowed starts again from the Log.

type observeSub struct {
	ch       chan core.Entry
	wake     chan struct{} // the durable watermark moved
	overflow atomic.Bool
}

// published tells the Observe streams about a durable batch. Called with
// mu held.
func (a *acceptor) published(batch []*ticket) {
	moved := false
	for _, t := range batch {
		if t.chosen > a.durable {
			a.durable, moved = t.chosen, true
		}
	}
	if len(a.subs) == 0 {
		return
	}
	for _, t := range batch {
		for _, w := range t.writes {
			if w.Entry == nil {
				continue
			}
			e := *w.Entry
			if e.Slot <= a.durable {
				e.Decided = true
			}
			for s := range a.subs {
				select {
				case s.ch <- e:
				default:
					s.overflow.Store(true)
				}
			}
		}
	}
	if moved {
		for s := range a.subs {
			select {
			case s.wake <- struct{}{}:
			default:
			}
		}
	}
}

// Observe serves an Observe stream until the client goes away or the
// member stops.
func (a *acceptor) Observe(call *ObserveServerStream) error {
	if call == nil || call.Stream == nil {
		return fmt.Errorf("%w: nil Observe stream", ErrBadMessage)
	}
	if a.isStopped() {
		return ErrStopped
	}
	// The Request is read before the call counts as in flight: a client
	// that never sends it must not hold up stop, and nothing is served
	// before it arrives.
	req, err := call.Recv()
	if err != nil {
		return fmt.Errorf("paxos: reading the Observe request: %w", err)
	}
	if err := a.enter(); err != nil {
		return err
	}
	defer a.inflight.Done()
	ctx, cancel := context.WithCancel(call.Context())
	defer cancel()
	sub := &observeSub{ch: make(chan core.Entry, observeBufferEntries), wake: make(chan struct{}, 1)}
	a.mu.Lock()
	if a.stopped {
		a.mu.Unlock()
		return ErrStopped
	}
	a.subs[sub] = struct{}{}
	// stop cancels the stream's context and closes the stream: a Send
	// blocked on a client that stopped reading may honour only the
	// stream's own context, and stop must not wait for it.
	a.streams[sub] = func() {
		cancel()
		_ = call.Close()
	}
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.subs, sub)
		delete(a.streams, sub)
		a.mu.Unlock()
	}()

	next := max(req.Slot, 1) // every decided slot below next has been sent
	if next, err = a.sendFrom(ctx, call, next, true); err != nil {
		return a.streamEnd(ctx, err)
	}
	for {
		if sub.overflow.Swap(false) {
			drain(sub.ch)
			if next, err = a.sendFrom(ctx, call, next, true); err != nil {
				return a.streamEnd(ctx, err)
			}
			continue
		}
		select {
		case e := <-sub.ch:
			if e.Slot < next {
				continue // already sent as decided
			}
			if e.Decided && e.Slot == next {
				next++
			}
			if err := call.Send(entryToWire(e, 0)); err != nil {
				return a.streamEnd(ctx, err)
			}
		case <-sub.wake:
			if next, err = a.sendFrom(ctx, call, next, false); err != nil {
				return a.streamEnd(ctx, err)
			}
		case <-ctx.Done():
			return a.streamEnd(ctx, ctx.Err())
		}
	}
}

func (a *acceptor) streamEnd(ctx context.Context, err error) error {
	a.mu.Lock()
	stopped := a.stopped
	a.mu.Unlock()
	if stopped {
		return ErrStopped
	}
	if ctx.Err() != nil {
		return nil // the client went away
	}
	return err
}

func drain(ch chan core.Entry) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

var errEnough = errors.New("enough")

// sendFrom sends the Log's entries from slot next on, a chunk of slots at a
// time so that no read view stays open long: all of them (decided ones
// marked), or with all false only up to the first undecided one. It returns
// the new next: every decided slot below it has been sent.
func (a *acceptor) sendFrom(ctx context.Context, call *ObserveServerStream, next uint64, all bool) (uint64, error) {
	a.mu.Lock()
	durable, maxSlot := a.durable, a.core.MaxSlot()
	a.mu.Unlock()
	for lo := next; lo <= maxSlot; {
		hi := lo + observeReadSlots - 1
		if hi < lo {
			hi = math.MaxUint64
		}
		stop := false
		err := a.entries.Range(lo, hi, Proposal{}, func(msg interface{}) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			p := msg.(*Proposal)
			p.Decided = p.Decided || p.Slot <= durable
			if !p.Decided && !all {
				stop = true
				return errEnough
			}
			if p.Decided && p.Slot == next {
				next++
			}
			p.Chosen = 0 // the stamp is the acceptor's own business
			return call.Send(p)
		})
		if err != nil && !errors.Is(err, errEnough) {
			return next, err
		}
		if stop || hi == math.MaxUint64 {
			break
		}
		lo = hi + 1
	}
	return next, nil
}
