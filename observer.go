package paxos

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/mjpitz/myago/paxos/cluster"
	"github.com/mjpitz/myago/paxos/internal/core"
)

// Observer watches the Acceptors to learn about what values have been
// accepted, and records the chosen ones into Log in position order: the
// record at position n is a *Proposal with ID n and Value exactly the bytes
// that were proposed (Slot and Offset say where it came from). It writes
// nothing else into Log; its checkpoints live under Log.WithPrefix of a
// reserved prefix. When Log offers BatchLog, consecutive positions are
// recorded in one call; when a write fails, the same positions are retried
// with capped back-off and logged, never skipped. After a restart it
// resumes from Log.Last.
//
// Start opens one Observe stream to every voter (every member in the
// Membership when it is called), reconnecting with capped back-off, and
// blocks until its context ends.
type Observer struct {
	Dialer func(ctx context.Context, member string) (ObserverClient, error)
	Log    Log

	// Logger receives stream and write failures; nil is silent.
	Logger *slog.Logger
	// Clock drives back-off; nil is the real clock.
	Clock clockwork.Clock
	// MaxBackoff caps every retry loop's back-off (default 1 s).
	MaxBackoff time.Duration
	// Votes asks every voter (a member's own acceptor too) for all its
	// accepted entries (votes for the learner's tallies), not only those it
	// knows are chosen: chosen values are learned even when no acceptor has
	// heard the leader's watermark yet, at the cost of several times the
	// stream traffic. Off by default: a member learns from its own acceptor
	// in process, and the leader's watermark follows every accept. (One
	// acceptor's votes alone never make a majority.)
	Votes bool

	member   *observerHooks
	current  *learnerRun // set while running; touched only by the loop
	once     sync.Once
	running  atomic.Bool
	mu       sync.Mutex
	recorded uint64
	changed  chan struct{} // closed when recorded moves; nil while nobody waits
	box      *mailbox
	next     atomic.Uint64 // the learner's next slot, where streams reopen
	pos      atomic.Uint64 // the learner's last position
	remote   gate          // whether streams to the other voters are wanted
}

// gate is a flag goroutines can wait on.
type gate struct {
	mu      sync.Mutex
	on      bool
	changed chan struct{}
}

func (g *gate) set(on bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.changed == nil {
		g.changed = make(chan struct{})
	}
	if g.on != on {
		g.on = on
		close(g.changed)
		g.changed = make(chan struct{})
	}
}

// state returns the flag and a channel closed when it next changes.
func (g *gate) state() (bool, <-chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.changed == nil {
		g.changed = make(chan struct{})
	}
	return g.on, g.changed
}

var _ cluster.Discovery = (*Observer)(nil)

// observerHooks connect a member's learner to its acceptor and proposer.
type observerHooks struct {
	// self is this member's name among the voters; local observes its own
	// acceptor in process (no encoding, no network); its need is the
	// learner's next slot, so that the stream does not wake for slots the
	// learner has (a leader's learner hears of them from its proposer).
	self  string
	local func(ctx context.Context, end func(), from uint64, votes bool, need func() uint64, emit func(core.Entry) error) error
	// heard returns the highest chosen watermark the member's acceptor has
	// heard from a leader: evidence that the learner is behind.
	heard func() uint64
	// leaderFresh reports whether the member's acceptor heard from a
	// leader lately: then heard is current evidence, and the periodic
	// check of the other voters is not needed.
	leaderFresh func() bool
	decided     func([]core.Entry)
	delivered   func([]core.Delivery, uint64)
	fillHole    func()
	holeAfter   time.Duration
	learner     core.LearnerConfig
}

// learnerMetaPrefix is where the Observer keeps its checkpoint, beside the
// recorded values and isolated from them.
const learnerMetaPrefix = "\x00paxos.learner"

func (o *Observer) init() {
	o.once.Do(func() {
		o.box = newMailbox()
	})
}

// Recorded returns the highest position recorded so far.
func (o *Observer) Recorded() uint64 {
	o.init()
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.recorded
}

// WaitRecorded returns once position pos is recorded in Log, or when ctx
// ends.
func (o *Observer) WaitRecorded(ctx context.Context, pos uint64) error {
	o.init()
	for {
		o.mu.Lock()
		rec := o.recorded
		if rec < pos && o.changed == nil {
			o.changed = make(chan struct{})
		}
		ch := o.changed
		o.mu.Unlock()
		if rec >= pos {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (o *Observer) setRecorded(pos uint64) {
	o.mu.Lock()
	if pos > o.recorded {
		o.recorded = pos
		if o.changed != nil {
			// Only when someone waits: a channel per recorded batch
			// was a cost of every value.
			close(o.changed)
			o.changed = nil
		}
	}
	o.mu.Unlock()
}

// decide takes entries the member's own leader knows are chosen.
func (o *Observer) decide(es []core.Entry) {
	o.init()
	o.box.post(func() {
		for _, e := range es {
			o.learner().Decide(e)
		}
	})
}

func (o *Observer) learner() *core.Learner { return o.current.learner }

// Start runs the observer over the voters in membership until ctx ends.
func (o *Observer) Start(ctx context.Context, membership *cluster.Membership) error {
	if membership == nil {
		return fmt.Errorf("%w: nil membership", ErrNoVoters)
	}
	return o.run(ctx, votersOf(membership))
}

type streamEvent struct {
	voter int
	entry core.Entry
}

func (o *Observer) run(ctx context.Context, voters []string) error {
	o.init()
	if o.Dialer == nil || o.Log == nil {
		return fmt.Errorf("%w: an Observer needs a Dialer and a Log", ErrInvalidConfig)
	}
	if len(voters) == 0 {
		return ErrNoVoters
	}
	if len(voters) > core.MaxVoters {
		return fmt.Errorf("%w: %d voters, at most %d", ErrInvalidConfig, len(voters), core.MaxVoters)
	}
	if !o.running.CompareAndSwap(false, true) {
		return ErrAlreadyStarted
	}
	log := orDiscard(o.Logger)
	clock := o.Clock
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	l, err := o.restore(len(voters), log)
	if err != nil {
		return err
	}
	o.next.Store(l.learner.Next())
	o.pos.Store(l.learner.Pos())
	o.current = l
	// A member learns from its own acceptor in process and opens streams to
	// the others only while it lags; an observer without an acceptor of its
	// own always streams from every voter.
	lazy := o.member != nil && o.member.local != nil && slices.Contains(voters, o.member.self)
	o.remote.set(!lazy)
	l.lazy = lazy

	events := make(chan streamEvent, 1024)
	resync := make([]chan struct{}, len(voters))
	var wg sync.WaitGroup
	for i, name := range voters {
		resync[i] = make(chan struct{}, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if o.member != nil && o.member.local != nil && name == o.member.self {
				o.localStream(ctx, i, events, resync[i], clock, log)
				return
			}
			o.stream(ctx, i, name, events, resync[i], clock, log)
		}()
	}
	defer wg.Wait()
	l.run(ctx, events, resync, clock, log)
	return nil
}

// learnerRun is the observer's loop state.
type learnerRun struct {
	o         *Observer
	learner   *core.Learner
	meta      Log
	skip      uint64 // positions at or below are recorded already
	hooks     *observerHooks
	hole      uint64
	holeAt    time.Time
	lazy      bool      // remote streams only while lagging
	lagAt     time.Time // since when the learner is behind lagTarget (zero: it is not)
	lagTarget uint64    // the slot it was behind at lagAt
	okAt      time.Time // since when it has not lagged while streams are on
	offAt     time.Time // when the streams were last turned off
}

// restore rebuilds the learner from its checkpoint and the recorded Log.
func (o *Observer) restore(voters int, log *slog.Logger) (*learnerRun, error) {
	meta := o.Log.WithPrefix(learnerMetaPrefix)
	var last Proposal
	if err := o.Log.Last(&last); err != nil {
		return nil, fmt.Errorf("paxos: reading the recorded log: %w", err)
	}
	var cp core.Checkpoint
	if err := meta.Last(&cp); err != nil {
		return nil, fmt.Errorf("paxos: reading the learner checkpoint: %w", err)
	}
	cfg := core.LearnerConfig{Voters: voters}
	if o.member != nil {
		cfg = o.member.learner
		cfg.Voters = voters
	}
	var start *core.Checkpoint
	if cp.Slot > 0 && cp.Pos <= last.ID {
		start = &cp
	} else if cp.Slot > 0 {
		log.Warn("paxos: the learner checkpoint is ahead of the recorded log; replaying from the start",
			"checkpoint_pos", cp.Pos, "recorded", last.ID)
	}
	o.setRecorded(last.ID)
	return &learnerRun{o: o, learner: core.NewLearner(cfg, start), meta: meta, skip: last.ID, hooks: o.member}, nil
}

func (l *learnerRun) run(ctx context.Context, events chan streamEvent, resync []chan struct{}, clock clockwork.Clock, log *slog.Logger) {
	o := l.o
	// The periodic checks and the end of ctx wake the loop through its
	// mailbox: a select over a ticker's channel puts the timer into the
	// runtime's heap and takes it out at every wait.
	const checkEvery = 50 * time.Millisecond
	var checkDue atomic.Bool
	check := clock.AfterFunc(checkEvery, func() {
		checkDue.Store(true)
		o.box.wake()
	})
	defer check.Stop()
	defer context.AfterFunc(ctx, o.box.wake)()
	var buf []func()
	for {
		if ctx.Err() != nil {
			return
		}
		select {
		case ev := <-events:
			l.learner.Observe(ev.voter, ev.entry)
			// Take whatever else is already queued before acting.
			for more := true; more; {
				select {
				case ev = <-events:
					l.learner.Observe(ev.voter, ev.entry)
				default:
					more = false
				}
			}
		case <-o.box.notify:
			if ctx.Err() != nil {
				return
			}
			buf = o.box.take(buf)
			for _, fn := range buf {
				fn()
			}
			if checkDue.Swap(false) {
				l.checkHole(clock.Now())
				l.checkLag(clock.Now())
				check.Reset(checkEvery)
			}
		}
		// Published before the callers are woken: their next values'
		// accepts move the acceptor's watermark, and the member's own
		// stream need not wake for slots this learner has.
		o.next.Store(l.learner.Next())
		o.pos.Store(l.learner.Pos())
		if !l.handle(ctx, l.learner.Output(), resync, clock, log) {
			return
		}
	}
}

// checkLag turns the streams to the other voters on when the learner lags
// its own acceptor: it is behind (holds entries it cannot deliver, or a
// leader said more is chosen than it has) and has not caught up with where
// it was behind for a hole timeout. Under load a learner is always a few
// slots behind its acceptor for an instant; that is not lagging. The
// streams go off again once it has kept up for five hole timeouts, and
// come on every ten hole timeouts while the member hears from no leader: it
// has no evidence that it lags, and must still catch up. A member that
// hears from a leader skips that check: the leader's watermark is the
// evidence, and under load the check would bring every chosen entry once
// more from every other voter, most of the cluster's traffic again.
func (l *learnerRun) checkLag(now time.Time) {
	if !l.lazy {
		return
	}
	next := l.learner.Next()
	var heard uint64
	if l.hooks.heard != nil {
		heard = l.hooks.heard()
	}
	behind := l.learner.Buffered() > 0 || heard >= next
	on, _ := l.o.remote.state()
	if l.offAt.IsZero() {
		l.offAt = now
	}
	switch {
	case !behind || next > l.lagTarget:
		// Caught up with where it was behind: start a new window.
		l.lagAt, l.lagTarget = time.Time{}, 0
		if behind {
			l.lagAt, l.lagTarget = now, max(heard, next)
		}
		if on && l.okAt.IsZero() {
			l.okAt = now
		} else if on && now.Sub(l.okAt) >= 5*l.hooks.holeAfter {
			l.o.remote.set(false)
			l.offAt = now
		}
	case now.Sub(l.lagAt) >= l.hooks.holeAfter:
		l.okAt = time.Time{}
		if !on {
			l.o.remote.set(true)
		}
	}
	if !on && now.Sub(l.offAt) >= antiEntropyRounds*l.hooks.holeAfter {
		if l.hooks.leaderFresh != nil && l.hooks.leaderFresh() {
			l.offAt = now
			return
		}
		l.o.remote.set(true)
		l.okAt = time.Time{}
	}
}

// antiEntropyRounds is how many hole timeouts a member goes without
// checking the other voters for chosen values it missed.
const antiEntropyRounds = 10

func (l *learnerRun) checkHole(now time.Time) {
	if l.hooks == nil || l.hooks.fillHole == nil {
		return
	}
	slot, ok := l.learner.Hole()
	if !ok {
		l.hole = 0
		return
	}
	if slot != l.hole {
		l.hole, l.holeAt = slot, now
		return
	}
	if now.Sub(l.holeAt) >= l.hooks.holeAfter {
		l.holeAt = now
		l.hooks.fillHole()
	}
}

// handle carries out the learner's output; false when ctx ended while a
// write was being retried.
func (l *learnerRun) handle(ctx context.Context, out core.LearnerOutput, resync []chan struct{}, clock clockwork.Clock, log *slog.Logger) bool {
	if l.hooks != nil {
		// The proposer first: its callers wait on deliveries.
		if len(out.Deliveries) > 0 && l.hooks.delivered != nil {
			l.hooks.delivered(out.Deliveries, l.learner.Next()-1)
		}
		if len(out.Decided) > 0 && l.hooks.decided != nil {
			l.hooks.decided(out.Decided)
		}
	}
	for _, v := range out.Resync {
		select {
		case resync[v] <- struct{}{}:
		default:
		}
	}
	if len(out.Deliveries) > 0 {
		if !l.record(ctx, out.Deliveries, clock, log) {
			return false
		}
	}
	if cp := out.Checkpoint; cp != nil {
		if err := l.meta.Record(0, cp); err != nil {
			log.Warn("paxos: writing the learner checkpoint", "slot", cp.Slot, "err", err)
		}
	}
	return true
}

// record writes deliveries into the recorded Log, in order, retrying the
// same positions until they are written or ctx ends.
func (l *learnerRun) record(ctx context.Context, ds []core.Delivery, clock clockwork.Clock, log *slog.Logger) bool {
	ids := make([]uint64, 0, len(ds))
	msgs := make([]interface{}, 0, len(ds))
	// One allocation for the batch's records, not one per value (a Log may
	// keep the pointers; the slice is never reused).
	props := make([]Proposal, 0, len(ds))
	for _, d := range ds {
		if d.Pos <= l.skip || d.Cmd.IsBarrier() {
			continue
		}
		ids = append(ids, d.Pos)
		props = append(props, Proposal{ID: d.Pos, Value: d.Cmd.Value, Slot: d.Slot, Offset: d.Offset})
		msgs = append(msgs, &props[len(props)-1])
	}
	if len(ids) == 0 {
		return true
	}
	b := backoff{max: l.o.MaxBackoff}
	for {
		err := recordChunked(l.o.Log, ids, msgs)
		if err == nil {
			l.o.setRecorded(ids[len(ids)-1])
			return true
		}
		log.Error("paxos: recording chosen values failed; retrying the same positions", "first", ids[0], "count", len(ids), "err", err)
		select {
		case <-ctx.Done():
			return false
		case <-clock.After(b.next()):
		}
	}
}

// stream keeps one Observe stream to a voter open, feeding events.
func (o *Observer) stream(ctx context.Context, voter int, name string, events chan<- streamEvent,
	resync <-chan struct{}, clock clockwork.Clock, log *slog.Logger) {
	var client ObserverClient
	b := backoff{max: o.MaxBackoff}
	for ctx.Err() == nil {
		on, changed := o.remote.state()
		if !on {
			select {
			case <-changed:
				continue
			case <-ctx.Done():
				return
			}
		}
		if client == nil {
			c, err := o.Dialer(ctx, name)
			if err == nil && c == nil {
				err = fmt.Errorf("the dialer returned a nil client")
			}
			if err != nil {
				log.Warn("paxos: dialing an observer failed", "member", name, "err", err)
				if !sleep(ctx, clock, b.next()) {
					return
				}
				continue
			}
			client = c
		}
		sctx, cancel := context.WithCancel(ctx)
		st, err := client.Observe(sctx, &Request{Slot: o.next.Load(), ChosenOnly: !o.Votes})
		if err != nil || st == nil {
			cancel()
			log.Debug("paxos: opening an Observe stream failed", "member", name, "err", err)
			if !sleep(ctx, clock, b.next()) {
				return
			}
			continue
		}
		done := make(chan struct{})
		go func() {
			for {
				on, changed := o.remote.state()
				if !on {
					cancel() // caught up: streams off until the learner lags again
					return
				}
				select {
				case <-resync:
					cancel()
					return
				case <-changed:
				case <-done:
					return
				}
			}
		}()
		for {
			p, err := st.Recv()
			if err != nil {
				if ctx.Err() == nil {
					log.Debug("paxos: Observe stream ended", "member", name, "err", err)
				}
				break
			}
			b.reset()
			select {
			case events <- streamEvent{voter: voter, entry: entryFromWire(p)}:
			case <-sctx.Done():
			}
			if sctx.Err() != nil {
				break
			}
		}
		close(done)
		cancel()
		_ = st.Close()
		if !sleep(ctx, clock, b.next()) {
			return
		}
	}
}

// localStream observes the member's own acceptor in process.
func (o *Observer) localStream(ctx context.Context, voter int, events chan<- streamEvent,
	resync <-chan struct{}, clock clockwork.Clock, log *slog.Logger) {
	b := backoff{max: o.MaxBackoff}
	for ctx.Err() == nil {
		sctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			select {
			case <-resync:
				cancel()
			case <-done:
			}
		}()
		err := o.member.local(sctx, cancel, o.next.Load(), o.Votes, o.next.Load, func(e core.Entry) error {
			select {
			case events <- streamEvent{voter: voter, entry: e}:
				return nil
			case <-sctx.Done():
				return sctx.Err()
			}
		})
		close(done)
		cancel()
		if errors.Is(err, ErrStopped) {
			return
		}
		if err != nil && ctx.Err() == nil {
			log.Debug("paxos: observing the member's own acceptor ended", "err", err)
		}
		if !sleep(ctx, clock, b.next()) {
			return
		}
	}
}

func sleep(ctx context.Context, clock clockwork.Clock, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-clock.After(d):
		return true
	}
}
