package paxos

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/mjpitz/myago/paxos/internal/core"
	"github.com/mjpitz/myago/paxos/internal/workers"
)

// memberProposer is the driver of a member's core.Proposer: one goroutine
// (the loop) owns the core; Propose calls, RPC results, the learner and the
// acceptor's leader hint reach it through its mailbox. An accept round runs
// on the voters' goroutines (MultiAcceptorClient.acceptAsync) and the reply
// that completes it posts the result back; every other RPC runs on a
// goroutine of its own that does the same.
type memberProposer struct {
	clock   clockwork.Clock
	epoch   time.Time
	log     *slog.Logger
	idgen   IDGenerator
	ballots Log // the highest ballot this member ever used, at id 0
	multi   *MultiAcceptorClient
	hint    func() core.Hint
	coreCfg core.ProposerConfig
	retry   time.Duration

	started chan struct{}
	stopped chan struct{}
	box     *mailbox
	wg      sync.WaitGroup
	pool    *workers.Pool // runs the RPCs other than accepts
	spare   sync.Pool     // *waiter, reused once its result was received

	// The learner resolves a waiter itself, without a turn of the loop:
	// waiters is shared with it, and session is the core's session id.
	wmu     sync.Mutex
	waiters map[uint64]*waiter
	session atomic.Uint64

	// owned by the loop
	core      *core.Proposer
	admit     []*waiter // waiting for room in the session's window
	fwd       map[string]*forwardQueue
	ctx       context.Context
	toLearner func([]core.Entry)
	turn      int64 // nanoseconds since epoch, read at each turn of the loop
}

// waiter is one Propose call waiting on the loop. The loop forgets a waiter
// before it sends the result, so a waiter whose result was received can be
// used again; one whose caller gave up cannot (the loop may still send).
type waiter struct {
	value  []byte
	seq    uint64
	done   chan proposeResult
	gone   bool
	submit func() // posts this waiter to the loop; made once per waiter
}

type proposeResult struct {
	pos uint64
	err error
}

type forwardQueue struct {
	cmds     []core.Command
	hops     int
	inflight int // Forward calls on their way
}

// forwardsInFlight bounds the Forward calls on their way to one member:
// more than one, so that commands arriving during a call's round trip
// need not wait for it (the leader takes forwarded commands in any order,
// its sessions deduplicate), few, so that they still coalesce into batches.
const forwardsInFlight = 2

var errNoForwarder = errors.New("paxos: the member's client cannot forward")

func newMemberProposer(clock clockwork.Clock, log *slog.Logger, idgen IDGenerator, ballots Log,
	multi *MultiAcceptorClient, cfg core.ProposerConfig) *memberProposer {
	return &memberProposer{clock: clock, epoch: clock.Now(), log: log, idgen: idgen, ballots: ballots, multi: multi,
		coreCfg: cfg, retry: time.Duration(max(cfg.Leader.RetryNanos, core.DefaultRetryNanos)),
		started: make(chan struct{}), stopped: make(chan struct{}), box: newMailbox(),
		waiters: map[uint64]*waiter{}, fwd: map[string]*forwardQueue{}}
}

// now is the loop's time: read once per turn of the loop, since every
// message of a turn can share it (the core only needs it monotonic).
func (m *memberProposer) now() int64 { return m.turn }

func (m *memberProposer) readClock() int64 {
	m.turn = max(m.turn, int64(m.clock.Since(m.epoch)))
	return m.turn
}

func (m *memberProposer) propose(ctx context.Context, value []byte) (uint64, error) {
	select {
	case <-m.started:
	case <-m.stopped:
		return 0, ErrStopped
	case <-ctx.Done():
		return 0, ctx.Err() // nothing was proposed
	}
	select {
	case <-m.stopped:
		return 0, ErrStopped
	default:
	}
	w, _ := m.spare.Get().(*waiter)
	if w == nil {
		w = &waiter{done: make(chan proposeResult, 1)}
		w.submit = func() { m.submit(w) }
	}
	w.value, w.seq, w.gone = value, 0, false
	m.box.post(w.submit)
	select {
	case r := <-w.done:
		w.value = nil
		m.spare.Put(w)
		return r.pos, r.err
	case <-ctx.Done():
		m.box.post(func() { m.cancel(w) })
		return 0, fmt.Errorf("%w: %w", ErrOutcomeUnknown, ctx.Err())
	case <-m.stopped:
		return 0, fmt.Errorf("%w: %w", ErrOutcomeUnknown, ErrStopped)
	}
}

func (m *memberProposer) forwarded(ctx context.Context, cmds []core.Command, hops int) error {
	select {
	case <-m.started:
	case <-m.stopped:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-m.stopped: // both are closed once stopped; select picks at random
		return ErrStopped
	default:
	}
	m.box.post(func() { m.core.Forwarded(cmds, hops, m.now()) })
	return nil
}

// Hooks for the member's learner (called from the observer's loop).
func (m *memberProposer) learned(es []core.Entry) {
	m.box.post(func() {
		now := m.now()
		for _, e := range es {
			m.core.Learn(e, now)
		}
	})
}

func (m *memberProposer) delivered(ds []core.Delivery, through uint64) {
	session := m.session.Load()
	for _, d := range ds {
		if d.Cmd.Session == session {
			m.resolve(d.Cmd.Seq, d.Pos)
		}
	}
	m.box.post(func() {
		for _, d := range ds {
			m.core.Delivered(d)
		}
		m.core.LearnedThrough(through)
	})
}

func (m *memberProposer) fillHole() { m.box.post(func() { m.core.FillHole(m.now()) }) }

func (m *memberProposer) submit(w *waiter) {
	if w.gone {
		return
	}
	if m.core.Session().Full() {
		m.admit = append(m.admit, w)
		return
	}
	seq, _ := m.core.Propose(w.value, m.now())
	w.seq = seq
	m.wmu.Lock()
	m.waiters[seq] = w
	m.wmu.Unlock()
}

// resolve hands a waiter its position, unless it was resolved or
// cancelled before: whoever takes it out of waiters sends the result.
func (m *memberProposer) resolve(seq, pos uint64) {
	m.wmu.Lock()
	w := m.waiters[seq]
	delete(m.waiters, seq)
	m.wmu.Unlock()
	if w != nil {
		w.done <- proposeResult{pos: pos}
	}
}

func (m *memberProposer) cancel(w *waiter) {
	w.gone = true
	if w.seq != 0 {
		m.core.Cancel(w.seq)
		m.wmu.Lock()
		delete(m.waiters, w.seq)
		m.wmu.Unlock()
		m.admitMore()
	}
}

func (m *memberProposer) admitMore() {
	for len(m.admit) > 0 && !m.core.Session().Full() {
		w := m.admit[0]
		m.admit = m.admit[1:]
		m.submit(w)
	}
}

// run is the loop; it returns when ctx ends and every goroutine it started
// has returned.
func (m *memberProposer) run(ctx context.Context, toLearner func([]core.Entry)) {
	m.ctx = ctx
	m.toLearner = toLearner
	m.core = core.NewProposer(m.coreCfg, randomSession(), newRand())
	m.session.Store(m.core.Session().ID())
	var last Request
	if err := m.ballots.Last(&last); err != nil {
		m.log.Error("paxos: reading the last ballot used", "err", err)
	}
	m.core.Leader().Observe(last.ID)
	m.core.SetHint(m.hint())
	m.pool = workers.New(rpcWorkers)
	close(m.started)
	defer close(m.stopped)
	defer m.pool.Close()
	defer m.wg.Wait()

	// The timer and the end of ctx wake the loop through its mailbox, so
	// that it waits on one channel: a select over a timer's channel puts
	// the timer in the runtime's heap and takes it out at every wait.
	timer := m.clock.AfterFunc(time.Hour, m.box.wake)
	defer timer.Stop()
	defer context.AfterFunc(ctx, m.box.wake)()
	// armed is when the timer fires. It is moved only earlier: a timer that
	// fires before anything is due costs one pass of the loop, while moving
	// a timer earlier can wake the runtime's network poller (a system call),
	// and an idle leader's held-back watermark would do that at every value.
	armed := int64(math.MaxInt64)
	var buf []func()
	for {
		buf = m.box.take(buf)
		now := m.readClock()
		if now >= armed {
			armed = math.MaxInt64 // it fired, or is about to: arm it again
		}
		for _, fn := range buf {
			fn()
		}
		m.core.SetHint(m.hint())
		if now >= m.core.NextDeadline() {
			m.core.Tick(now)
		}
		m.handle(m.core.Output())
		if next := min(m.core.NextDeadline(), now+int64(time.Second)); next < armed {
			timer.Reset(time.Duration(max(next-now, 0)))
			armed = next
		}
		<-m.box.notify
		if ctx.Err() != nil {
			return
		}
	}
}

// rpcWorkers bounds the goroutines the loop keeps for its RPCs: a prepare,
// a ballot, and forwardsInFlight forwards per member.
const rpcWorkers = 16

// spawn runs an RPC on a goroutine the loop waits for when it stops.
func (m *memberProposer) spawn(fn func()) {
	m.wg.Add(1)
	m.pool.Go(func() {
		defer m.wg.Done()
		fn()
	})
}

func (m *memberProposer) handle(out core.ProposerOutput) {
	for _, pm := range out.Prepares {
		m.spawn(func() {
			cctx, cancel := context.WithTimeout(m.ctx, m.retry)
			defer cancel()
			w, err := m.multi.Prepare(cctx, prepareToWire(pm))
			if err != nil {
				w = nil
			}
			r := prepareResultFromWire(pm, w)
			m.box.post(func() { m.core.PrepareDone(r, m.now()) })
		})
	}
	for _, am := range out.Accepts {
		m.wg.Add(1)
		m.multi.acceptAsync(m.ctx, m.retry, acceptToWire(am), func(w *Proposal, err error) {
			r := acceptResultFromWire(am, w, err)
			m.box.post(func() { m.core.AcceptDone(r, m.now()) })
			m.wg.Done()
		})
	}
	if len(out.Learned) > 0 && m.toLearner != nil {
		m.toLearner(out.Learned)
	}
	for _, f := range out.Forwards {
		q := m.fwd[f.To]
		if q == nil {
			q = &forwardQueue{}
			m.fwd[f.To] = q
		}
		q.cmds = append(q.cmds, f.Cmds...)
		q.hops = max(q.hops, f.Hops)
		m.flushForward(f.To, q)
	}
	if out.WantBallot {
		above := out.Above
		m.spawn(func() {
			b, err := nextBallot(m.idgen, above)
			if err == nil {
				err = m.ballots.Record(0, &Request{ID: b})
			}
			if err != nil {
				m.log.Error("paxos: drawing a ballot", "above", above, "err", err)
				m.box.post(func() { m.core.BallotFailed(m.now()) })
				return
			}
			m.box.post(func() { m.core.Campaign(b, m.now()) })
		})
	}
	for _, r := range out.Resolved {
		m.resolve(r.Seq, r.Pos) // the learner may have done so already
	}
	if len(out.Resolved) > 0 {
		m.admitMore()
	}
}

// flushForward sends what is queued for a member, at most forwardsInFlight
// calls at a time, so that forwards coalesce into batches under load.
func (m *memberProposer) flushForward(to string, q *forwardQueue) {
	if q.inflight >= forwardsInFlight || len(q.cmds) == 0 {
		return
	}
	cmds, hops := q.cmds, q.hops
	q.cmds, q.hops = nil, 0
	q.inflight++
	m.spawn(func() {
		err := errNoForwarder
		if fw, ok := m.multi.client(to).(Forwarder); ok {
			cctx, cancel := context.WithTimeout(m.ctx, m.retry)
			_, err = fw.Forward(cctx, &Proposal{ID: uint64(hops), Commands: fromCoreCmds(cmds)})
			cancel()
		}
		m.box.post(func() {
			q.inflight--
			if err != nil {
				m.log.Debug("paxos: forwarding failed", "to", to, "err", err)
				m.core.ForwardFailed(to, cmds, m.now())
			}
			m.flushForward(to, q)
		})
	})
}
