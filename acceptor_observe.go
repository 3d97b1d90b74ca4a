package paxos

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
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
	votes    bool // wants undecided entries too
	// need, when set, is the lowest slot the stream's consumer still
	// needs: a member's learner that learned from its own leader has the
	// slots below it already, and its stream is not woken for them.
	need func() uint64
}

// wants reports whether the stream's consumer may still need slot.
func (s *observeSub) wants(slot uint64) bool { return s.need == nil || slot >= s.need() }

// tailSlots and tailBytes bound the acceptor's in-memory copy of its newest
// entries, from which Observe streams are served without reading the Log:
// slots alone would let large batches (64 values of 4 KiB per slot) hold
// gigabytes.
const (
	tailSlots = 8192
	tailBytes = 32 << 20
)

// tail is the newest durable entries: for every slot >= low, the entry the
// Log holds is here (or the Log holds none). A ring indexed by slot: the
// slots held are a sliding window, and a map under that churn cost a
// twentieth of a cluster's CPU in lookups that missed the cache.
type tail struct {
	ring  []core.Entry // slot s at ring[s % len(ring)] when its Slot is s
	low   uint64
	top   uint64
	bytes int // entrySize of the entries held
}

// tailRingMin and tailRingMax bound the ring's length (powers of two): it
// grows with the window it holds, up to the slots tailSlots allows.
const (
	tailRingMin = 64
	tailRingMax = 2 * tailSlots
)

func (t *tail) reset(maxSlot uint64) {
	t.ring = nil
	t.low, t.top, t.bytes = maxSlot+1, maxSlot, 0
}

// get returns the entry of slot, if the tail holds it.
func (t *tail) get(slot uint64) (core.Entry, bool) {
	if slot < t.low || slot > t.top || len(t.ring) == 0 {
		return core.Entry{}, false
	}
	e := t.ring[slot%uint64(len(t.ring))]
	return e, e.Slot == slot && slot != 0
}

// entrySize approximates the memory an entry holds.
func entrySize(e core.Entry) int {
	n := 64
	for _, c := range e.Cmds {
		n += 48 + len(c.Value)
	}
	return n
}

func (t *tail) put(e core.Entry) {
	if e.Slot < t.low || e.Slot == 0 {
		return // older than the tail: served from the Log
	}
	if span := e.Slot - t.low + 1; span > uint64(len(t.ring)) {
		t.grow(span)
		if span > uint64(len(t.ring)) {
			t.dropBelow(e.Slot - uint64(len(t.ring)) + 1)
		}
	}
	i := e.Slot % uint64(len(t.ring))
	if old := t.ring[i]; old.Slot == e.Slot {
		t.bytes -= entrySize(old)
	}
	t.ring[i] = e
	t.bytes += entrySize(e)
	t.top = max(t.top, e.Slot)
	if t.top-t.low <= tailSlots && t.bytes <= tailBytes {
		return
	}
	// Drop the oldest half (by slots and by bytes): amortized, each entry
	// is dropped once.
	t.dropBelow(max(t.low, t.top-min(t.top, tailSlots/2)))
	for t.bytes > tailBytes/2 && t.low < t.top {
		t.dropBelow(t.low + 1)
	}
}

// grow lengthens the ring towards span slots, up to tailRingMax.
func (t *tail) grow(span uint64) {
	n := max(len(t.ring), tailRingMin)
	for uint64(n) < span && n < tailRingMax {
		n *= 2
	}
	if n == len(t.ring) {
		return
	}
	ring := make([]core.Entry, n)
	for _, e := range t.ring {
		if e.Slot != 0 {
			ring[e.Slot%uint64(n)] = e
		}
	}
	t.ring = ring
}

// dropBelow forgets the entries below slot, raising low to it.
func (t *tail) dropBelow(slot uint64) {
	if slot <= t.low {
		return
	}
	if slot-t.low >= uint64(len(t.ring)) {
		// Past everything the ring can hold: no walk over a gap of
		// slots that were never there.
		clear(t.ring)
		t.low, t.bytes = slot, 0
		return
	}
	for ; t.low < slot; t.low++ {
		i := t.low % uint64(len(t.ring))
		if t.ring[i].Slot == t.low {
			t.bytes -= entrySize(t.ring[i])
			t.ring[i] = core.Entry{}
		}
	}
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
	for _, t := range batch {
		for _, w := range t.writes {
			if w.Entry == nil {
				continue
			}
			e := *w.Entry
			a.tail.put(e)
			if len(a.subs) == 0 {
				continue
			}
			if e.Slot <= t.chosen { // this step's own watermark: a later step in the batch may overwrite the slot
				e.Decided = true
			}
			for _, s := range a.subs {
				if (!s.votes && !e.Decided) || !s.wants(e.Slot) {
					continue // it would drop it: do not wake it for that
				}
				select {
				case s.ch <- e:
				default:
					s.overflow.Store(true)
				}
			}
		}
	}
	if moved {
		a.wakeStreams()
	}
}

// wakeStreams tells the Observe streams that the durable watermark moved.
// Called with mu held.
func (a *acceptor) wakeStreams() {
	for _, s := range a.subs {
		if !s.wants(a.durable) {
			continue
		}
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// publishChosen tells the Observe streams at once about a chosen watermark
// a leader just announced, without waiting for the writes queued with it:
// that a slot is chosen is a fact about the cluster, and the entry this
// acceptor durably holds for it is the chosen one. Followers thus learn a
// slot one sync earlier than when the watermark rode on the next step's
// writes. It stops below the lowest slot a queued or in-flight write is
// about to overwrite: the durable entry there (in the tail or the Log) may
// be a superseded one. Called with mu held.
func (a *acceptor) publishChosen() {
	through := a.core.Chosen()
	for _, q := range [2][]*ticket{a.batch, a.queue} {
		for _, t := range q {
			for _, w := range t.writes {
				if w.Entry != nil && w.Entry.Slot <= through {
					through = w.Entry.Slot - 1
				}
			}
		}
	}
	if through > a.durable {
		a.durable = through
		a.wakeStreams()
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
	ctx, cancel := context.WithCancel(call.Context())
	defer cancel()
	// stop cancels the stream's context and closes the stream: a Send
	// blocked on a client that stopped reading may honour only the
	// stream's own context, and stop must not wait for it.
	end := func() {
		cancel()
		_ = call.Close()
	}
	return a.observe(ctx, end, req.Slot, !req.ChosenOnly, func(e core.Entry) error {
		return call.Send(entryToWire(e, 0))
	})
}

// observe feeds emit with the entries from slot from on (decided ones, and
// with votes every other entry too), then live, until ctx ends. It serves
// Observe streams, and the member's own observer in process.
func (a *acceptor) observe(ctx context.Context, end func(), from uint64, votes bool, emit func(core.Entry) error) error {
	return a.observeFor(ctx, end, from, votes, nil, emit)
}

// observeFor is observe for a consumer that says, through need, which slots
// it no longer needs (nil: it needs every one).
func (a *acceptor) observeFor(ctx context.Context, end func(), from uint64, votes bool, need func() uint64,
	emit func(core.Entry) error) error {
	if err := a.enter(); err != nil {
		return err
	}
	defer a.inflight.Done()
	sub := &observeSub{ch: make(chan core.Entry, observeBufferEntries), wake: make(chan struct{}, 1), votes: votes, need: need}
	a.mu.Lock()
	if a.stopped {
		a.mu.Unlock()
		return ErrStopped
	}
	a.subs = append(a.subs, sub)
	a.streams[sub] = end
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		a.subs = slices.DeleteFunc(a.subs, func(s *observeSub) bool { return s == sub })
		delete(a.streams, sub)
		a.mu.Unlock()
	}()

	next := max(from, 1) // every decided slot below next has been sent
	skipNeeded := func() {
		if need != nil {
			next = max(next, need()) // the consumer has these
		}
	}
	var err error
	if next, err = a.sendFrom(ctx, emit, next, votes); err != nil {
		return a.streamEnd(ctx, err)
	}
	for {
		if sub.overflow.Swap(false) {
			drain(sub.ch)
			skipNeeded()
			if next, err = a.sendFrom(ctx, emit, next, votes); err != nil {
				return a.streamEnd(ctx, err)
			}
			continue
		}
		select {
		case e := <-sub.ch:
			if e.Slot < next || (!votes && !e.Decided) {
				continue // already sent as decided, or a vote nobody asked for
			}
			if e.Decided && e.Slot == next {
				next++
			}
			if err := emit(e); err != nil {
				return a.streamEnd(ctx, err)
			}
		case <-sub.wake:
			skipNeeded()
			if next, err = a.sendFrom(ctx, emit, next, false); err != nil {
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

// sendFrom sends the entries from slot next on: all of them (decided ones
// marked), or with all false only the decided ones up to the durable
// watermark. Slots below the in-memory tail are read from the Log, a chunk
// at a time so that no read view stays open long; the rest comes from the
// tail. It returns the new next: every decided slot below it has been sent.
func (a *acceptor) sendFrom(ctx context.Context, emit func(core.Entry) error, next uint64, all bool) (uint64, error) {
	a.mu.Lock()
	durable, low, top := a.durable, a.tail.low, a.tail.top
	var cached []core.Entry
	end := top
	if !all {
		end = min(top, durable)
	}
	for slot := max(next, low); slot <= end && slot != 0; slot++ {
		if e, ok := a.tail.get(slot); ok {
			cached = append(cached, e)
		}
	}
	a.mu.Unlock()

	stop := false
	send := func(e core.Entry) error {
		e.Decided = e.Decided || e.Slot <= durable
		if !e.Decided && !all {
			stop = true
			return errEnough
		}
		if e.Decided && e.Slot == next {
			next++
		}
		return emit(e)
	}
	for lo := next; lo < low && !stop; {
		hi := min(lo+observeReadSlots-1, low-1)
		err := a.entries.Range(lo, hi, Proposal{}, func(msg interface{}) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			return send(entryFromWire(msg.(*Proposal)))
		})
		if err != nil && !errors.Is(err, errEnough) {
			return next, err
		}
		if hi == math.MaxUint64 {
			break
		}
		lo = hi + 1
	}
	for _, e := range cached {
		if stop {
			break
		}
		if err := send(e); err != nil && !errors.Is(err, errEnough) {
			return next, err
		}
	}
	return next, ctx.Err()
}
