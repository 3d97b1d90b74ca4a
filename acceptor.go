package paxos

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/mjpitz/myago/paxos/internal/core"
)

// Record layout of an acceptor's Logs (see docs/FORMAT.md): the promise Log
// holds a *Request at id 0 (ID = promised ballot, Proposer = who asked); the
// accepted Log holds a *Proposal per slot (ID = ballot accepted, Chosen = the
// acceptor's watermark when it was written, Decided when known chosen).
const promiseRecordID = 0

// watermarkPrefix is where, beside its promise, an acceptor records its chosen
// watermark when it moves with no entry to carry it (a *Request, ID = the
// watermark, at id 0).
const watermarkPrefix = "\x00paxos.chosen"

// Limits of the acceptor.
const (
	// PromisePageEntries bounds the entries one Promise carries.
	PromisePageEntries = 256
	// observeBufferEntries bounds the live entries buffered per Observe
	// stream; a stream that falls further behind re-reads the Log.
	observeBufferEntries = 4096
	// observeReadSlots is how many slots one catch-up read covers.
	observeReadSlots = 512
)

// NewAcceptor returns an Acceptor over two Logs (they must not be the same
// view: use WithPrefix). It reads its state back from them and starts no
// goroutines; Prepare, Accept and Observe work as soon as it returns.
func NewAcceptor(promiseLog, acceptedLog Log) (Acceptor, error) {
	return newAcceptor(promiseLog, acceptedLog, clockwork.NewRealClock(), nil)
}

var _ Acceptor = (*acceptor)(nil)

// acceptor drives core.Acceptor: every call steps the core under a lock and
// queues the Log writes the step produced; whoever finds no write in
// progress writes everything queued (group commit: one sync per batch, in
// step order) and wakes the others. A reply leaves only once its writes
// and every earlier write are durable.
type acceptor struct {
	promises, entries Log
	clock             clockwork.Clock
	log               *slog.Logger

	mu       sync.Mutex
	cond     *sync.Cond
	core     *core.Acceptor
	broken   error // a write failed: the core is reloaded before the next call
	queue    []*ticket
	writing  bool
	batch    []*ticket // the batch being written while writing
	durable  uint64    // the core's watermark as far as the Logs know
	hint     leaderHint
	heard    uint64 // the highest chosen watermark a leader has sent
	tail     tail   // the newest entries, for Observe
	subs     []*observeSub
	stopped  bool
	inflight sync.WaitGroup
	streams  map[*observeSub]func() // ends a served Observe stream
}

type ticket struct {
	writes []core.Write
	chosen uint64 // the core's watermark after the step
	done   bool
	err    error
}

func newAcceptor(promiseLog, acceptedLog Log, clock clockwork.Clock, lg *slog.Logger) (*acceptor, error) {
	if promiseLog == nil || acceptedLog == nil {
		return nil, fmt.Errorf("%w: NewAcceptor needs a promise Log and an accepted Log", ErrInvalidConfig)
	}
	a := &acceptor{promises: promiseLog, entries: acceptedLog, clock: clock, log: orDiscard(lg),
		streams: map[*observeSub]func(){}}
	a.cond = sync.NewCond(&a.mu)
	c, err := restoreAcceptor(promiseLog, acceptedLog)
	if err != nil {
		return nil, err
	}
	a.core = c
	a.durable = c.Chosen()
	a.tail.reset(c.MaxSlot())
	pb, pp := c.Promised()
	a.hint = leaderHint{proposer: pp, ballot: pb}
	return a, nil
}

// restoreAcceptor reads an acceptor's state back from its Logs.
func restoreAcceptor(promises, entries Log) (*core.Acceptor, error) {
	var pr Request
	if err := promises.Last(&pr); err != nil {
		return nil, fmt.Errorf("paxos: reading the promise log: %w", err)
	}
	var last Proposal
	if err := entries.Last(&last); err != nil {
		return nil, fmt.Errorf("paxos: reading the accepted log: %w", err)
	}
	var wm Request
	if err := promises.WithPrefix(watermarkPrefix).Last(&wm); err != nil {
		return nil, fmt.Errorf("paxos: reading the chosen watermark: %w", err)
	}
	stamp := max(last.Chosen, wm.ID)
	var (
		above  []core.Entry
		stamps []uint64
	)
	if stamp < math.MaxUint64 {
		err := entries.Range(stamp+1, math.MaxUint64, Proposal{}, func(msg interface{}) error {
			p := msg.(*Proposal)
			above = append(above, entryFromWire(p))
			stamps = append(stamps, p.Chosen)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("paxos: reading the accepted log: %w", err)
		}
	}
	return core.RestoreAcceptor(core.PromiseRecord{Ballot: pr.ID, Proposer: pr.Proposer}, stamp, above, stamps), nil
}

// leaderHint is what an acceptor knows of the leader: who its promise went
// to, for which ballot, and when it last heard from that ballot (zero:
// never, since it started).
type leaderHint struct {
	proposer string
	ballot   uint64
	seen     time.Time
}

func (a *acceptor) isStopped() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stopped
}

// enter registers an in-flight call; ErrStopped once the member stopped.
func (a *acceptor) enter() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopped {
		return ErrStopped
	}
	a.inflight.Add(1)
	return nil
}

// ready makes sure the core reflects the Logs before a step: after a failed
// write it is rebuilt from them, so that nothing in memory claims what the
// Logs do not hold. Called with mu held.
func (a *acceptor) ready() error {
	if a.broken == nil {
		return nil
	}
	c, err := restoreAcceptor(a.promises, a.entries)
	if err != nil {
		return fmt.Errorf("paxos: acceptor unusable after a failed write (%v): %w", a.broken, err)
	}
	a.core, a.broken, a.durable = c, nil, c.Chosen()
	a.tail.reset(c.MaxSlot())
	return nil
}

// Prepare handles phase 1a.
func (a *acceptor) Prepare(ctx context.Context, req *Request) (*Promise, error) {
	if req == nil {
		return nil, fmt.Errorf("%w: nil Request", ErrBadMessage)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := a.enter(); err != nil {
		return nil, err
	}
	defer a.inflight.Done()
	m := prepareFromWire(req)
	a.mu.Lock()
	if err := a.ready(); err != nil {
		a.mu.Unlock()
		return nil, err
	}
	p, ws, err := a.core.Prepare(m)
	if err != nil {
		a.mu.Unlock()
		return nil, err
	}
	if p.Ballot == m.Ballot {
		a.noteLeader(m.Ballot, m.Proposer)
	}
	t := a.enqueue(ws)
	a.mu.Unlock()
	if err := a.commit(t); err != nil {
		return nil, err
	}
	if p.Ballot == m.Ballot {
		var err error
		p.Entries, p.More, err = core.ReadPage(logReader{a.entries}, max(m.From, 1), p.Chosen, PromisePageEntries)
		if err != nil {
			return nil, fmt.Errorf("paxos: reading accepted entries from slot %d: %w", m.From, err)
		}
	}
	return promiseToWire(p), nil
}

// Accept handles phase 2a.
func (a *acceptor) Accept(ctx context.Context, in *Proposal) (*Proposal, error) {
	if in == nil {
		return nil, fmt.Errorf("%w: nil Proposal", ErrBadMessage)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := a.enter(); err != nil {
		return nil, err
	}
	defer a.inflight.Done()
	m := acceptFromWire(in)
	a.mu.Lock()
	if err := a.ready(); err != nil {
		a.mu.Unlock()
		return nil, err
	}
	r, ws, err := a.core.Accept(m)
	if err != nil {
		a.mu.Unlock()
		return nil, err
	}
	if r.Ballot == m.Ballot {
		a.noteLeader(m.Ballot, "")
		a.heard = max(a.heard, m.Chosen)
	}
	t := a.enqueue(ws)
	a.publishChosen()
	a.mu.Unlock()
	if err := a.commit(t); err != nil {
		return nil, err
	}
	return acceptedToWire(r), nil
}

// learn takes entries the member's learner knows are chosen (catch-up). It
// never waits for the Log: the learner must not stall behind a sync. Writes
// it needs (entries this acceptor missed) are made on a goroutine of their
// own, in order with everything else.
func (a *acceptor) learn(es []core.Entry) error {
	if err := a.enter(); err != nil {
		return err
	}
	a.mu.Lock()
	if err := a.ready(); err != nil {
		a.mu.Unlock()
		a.inflight.Done()
		return err
	}
	var ws []core.Write
	for _, e := range es {
		ws = append(ws, a.core.Learn(e)...)
	}
	if len(ws) == 0 && !a.writing && len(a.queue) == 0 {
		// Nothing to write and nothing before it in flight: what the core
		// now knows chosen is durable already.
		a.published([]*ticket{{chosen: a.core.Chosen()}})
		a.mu.Unlock()
		a.inflight.Done()
		return nil
	}
	t := a.enqueue(ws)
	a.mu.Unlock()
	go func() {
		defer a.inflight.Done()
		if err := a.commit(t); err != nil && !errors.Is(err, ErrStopped) {
			a.log.Warn("paxos: recording learned entries in the acceptor", "err", err)
		}
	}()
	return nil
}

// heardChosen returns the highest chosen watermark a leader has sent.
func (a *acceptor) heardChosen() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.heard
}

// leader returns what this acceptor knows of the current leader.
func (a *acceptor) leader() leaderHint {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.hint
}

func (a *acceptor) noteLeader(ballot uint64, proposer string) {
	if proposer == "" && ballot == a.hint.ballot {
		proposer = a.hint.proposer
	}
	if proposer == "" {
		_, proposer = a.core.Promised()
	}
	a.hint = leaderHint{proposer: proposer, ballot: ballot, seen: a.clock.Now()}
}

// enqueue queues a step's writes. Called with mu held.
func (a *acceptor) enqueue(ws []core.Write) *ticket {
	t := &ticket{writes: ws, chosen: a.core.Chosen()}
	a.queue = append(a.queue, t)
	return t
}

// commit returns once t's writes and every write queued before them are
// durable, writing them itself if nobody else is.
func (a *acceptor) commit(t *ticket) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for !t.done {
		if a.writing {
			a.cond.Wait()
			continue
		}
		batch := a.queue
		a.queue = nil
		a.writing, a.batch = true, batch
		a.mu.Unlock()
		err := a.persist(batch)
		a.mu.Lock()
		a.writing, a.batch = false, nil
		for _, b := range batch {
			b.done, b.err = true, err
		}
		if err != nil {
			// Later steps were taken on state that is not durable: fail
			// them too, and rebuild from the Logs before the next call.
			for _, q := range a.queue {
				q.done, q.err = true, err
			}
			a.queue = nil
			a.broken = err
			a.log.Error("paxos: acceptor write failed; reloading from the Logs", "err", err)
		} else {
			a.published(batch)
		}
		a.cond.Broadcast()
	}
	return t.err
}

// persist writes a batch: the newest promise first, then the entries in one
// RecordBatch when the Log offers it.
func (a *acceptor) persist(batch []*ticket) error {
	var (
		promise   *core.PromiseRecord
		ids       []uint64
		msgs      []interface{}
		watermark uint64
	)
	for _, t := range batch {
		for _, w := range t.writes {
			if w.Promise != nil {
				promise = w.Promise
			}
			if w.Watermark {
				watermark = max(watermark, w.Chosen)
			}
			if w.Entry != nil {
				ids = append(ids, w.Entry.Slot)
				msgs = append(msgs, entryToWire(*w.Entry, w.Chosen))
			}
		}
	}
	if promise != nil {
		if err := a.promises.Record(promiseRecordID, &Request{ID: promise.Ballot, Proposer: promise.Proposer}); err != nil {
			return fmt.Errorf("paxos: recording the promise of ballot %d: %w", promise.Ballot, err)
		}
	}
	if err := a.persistEntries(ids, msgs); err != nil {
		return err
	}
	if watermark > 0 {
		// After the entries: the watermark covers only what is durable.
		if err := a.promises.WithPrefix(watermarkPrefix).Record(0, &Request{ID: watermark}); err != nil {
			return fmt.Errorf("paxos: recording the chosen watermark %d: %w", watermark, err)
		}
	}
	return nil
}

func (a *acceptor) persistEntries(ids []uint64, msgs []interface{}) error {
	// In chunks: the learner's catch-up can queue thousands of entries at
	// once. A crash between chunks keeps a prefix, and no reply has left.
	if err := recordChunked(a.entries, ids, msgs); err != nil {
		return fmt.Errorf("paxos: recording %d accepted entries from slot %d: %w", len(ids), ids[0], err)
	}
	return nil
}

// stop ends the acceptor: new calls fail with ErrStopped, in-flight calls
// finish, and Observe streams end.
func (a *acceptor) stop() {
	a.mu.Lock()
	a.stopped = true
	for _, end := range a.streams {
		end()
	}
	a.mu.Unlock()
	a.inflight.Wait()
}

// logReader reads entries from an AcceptedLog for core.ReadPage.
type logReader struct{ l Log }

var errStopRange = errors.New("stop")

func (r logReader) Entries(from uint64, fn func(core.Entry) bool) error {
	err := r.l.Range(from, math.MaxUint64, Proposal{}, func(msg interface{}) error {
		if !fn(entryFromWire(msg.(*Proposal))) {
			return errStopRange
		}
		return nil
	})
	if errors.Is(err, errStopRange) {
		return nil
	}
	return err
}
