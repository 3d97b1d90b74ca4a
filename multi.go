package paxos

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/mjpitz/myago/paxos/cluster"
	"github.com/mjpitz/myago/paxos/internal/core"
	"github.com/mjpitz/myago/paxos/internal/workers"
)

// MultiAcceptorClient is an AcceptorClient over every voter of a cluster:
// Prepare and Accept go to all of them and return as soon as a majority has
// answered. Prepare's Promise is granted (ID equals the ballot) when a
// majority granted it, and carries their pages merged (per slot the decided
// or highest-ballot entry); otherwise its ID is the highest ballot that
// refused. Accept's Proposal has ID equal to the ballot when a majority
// accepted it. When no majority answers before the context ends, the error
// matches ErrNoQuorum.
//
// It works from its zero value with a Dialer: &MultiAcceptorClient{Dialer: d}.
// Start fixes the voters (every member, active or left, in the Membership
// when it is called), dials each once (again only after the dialer returned
// an error, with capped back-off) and blocks until its context ends. Calls
// made before Start wait for it, bounded by their context; calls after it
// returned fail with ErrStopped. The clients the Dialer returned are never
// closed by this type.
type MultiAcceptorClient struct {
	Dialer func(ctx context.Context, member string) (AcceptorClient, error)

	// Logger receives dial failures; nil is silent.
	Logger *slog.Logger
	// Clock drives the dial back-off; nil is the real clock.
	Clock clockwork.Clock
	// MaxBackoff caps the dial back-off (default 1 s).
	MaxBackoff time.Duration
	// CallTimeout bounds a call to one voter that continues after the
	// majority answered (default 10 s).
	CallTimeout time.Duration

	once    sync.Once
	mu      sync.Mutex
	started chan struct{}
	done    chan struct{}
	state   int // 0 new, 1 running, 2 stopped
	runCtx  context.Context
	voters  []string
	slots   []*voterSlot
	pool    *workers.Pool // runs the calls to single voters
}

type voterSlot struct {
	name   string
	ready  chan struct{}
	client AcceptorClient
}

var (
	_ AcceptorClient    = (*MultiAcceptorClient)(nil)
	_ cluster.Discovery = (*MultiAcceptorClient)(nil)
)

func (m *MultiAcceptorClient) init() {
	m.once.Do(func() {
		m.started = make(chan struct{})
		m.done = make(chan struct{})
	})
}

// Start fixes the voters from membership and runs until ctx ends.
func (m *MultiAcceptorClient) Start(ctx context.Context, membership *cluster.Membership) error {
	if membership == nil {
		return fmt.Errorf("%w: nil membership", ErrNoVoters)
	}
	return m.run(ctx, votersOf(membership))
}

// votersOf freezes the voters: every member listed, active or left.
func votersOf(membership *cluster.Membership) []string {
	members, _ := membership.Snapshot()
	v := slices.Clone(members)
	slices.Sort(v)
	return slices.Compact(v)
}

func (m *MultiAcceptorClient) run(ctx context.Context, voters []string) error {
	m.init()
	if m.Dialer == nil {
		return fmt.Errorf("%w: MultiAcceptorClient needs a Dialer", ErrInvalidConfig)
	}
	if len(voters) == 0 {
		return ErrNoVoters
	}
	if len(voters) > core.MaxVoters {
		return fmt.Errorf("%w: %d voters, at most %d", ErrInvalidConfig, len(voters), core.MaxVoters)
	}
	m.mu.Lock()
	if m.state != 0 {
		m.mu.Unlock()
		return ErrAlreadyStarted
	}
	m.state = 1
	m.runCtx = ctx
	m.voters = voters
	for _, v := range voters {
		m.slots = append(m.slots, &voterSlot{name: v, ready: make(chan struct{})})
	}
	m.pool = workers.New(callWorkersPerVoter * len(voters))
	m.mu.Unlock()
	close(m.started)

	var wg sync.WaitGroup
	for _, s := range m.slots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.dial(ctx, s)
		}()
	}
	<-ctx.Done()
	wg.Wait()
	m.mu.Lock()
	m.state = 2
	m.mu.Unlock()
	// The calls still running end with ctx (their contexts derive from it).
	m.pool.Close()
	close(m.done)
	return nil
}

// callWorkersPerVoter bounds the goroutines kept for calls: enough for a
// leader's window of accepts and a prepare to every voter.
const callWorkersPerVoter = 8

func (m *MultiAcceptorClient) dial(ctx context.Context, s *voterSlot) {
	clock := m.Clock
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	b := backoff{max: m.MaxBackoff}
	for {
		c, err := m.Dialer(ctx, s.name)
		if err == nil && c == nil {
			err = errors.New("the dialer returned a nil client")
		}
		if err == nil {
			s.client = c
			close(s.ready)
			return
		}
		orDiscard(m.Logger).Warn("paxos: dialing an acceptor failed", "member", s.name, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-clock.After(b.next()):
		}
	}
}

// wait returns the running voters, waiting for Start if needed.
func (m *MultiAcceptorClient) wait(ctx context.Context) ([]*voterSlot, context.Context, *workers.Pool, error) {
	m.init()
	select {
	case <-m.started:
	case <-ctx.Done():
		return nil, nil, nil, fmt.Errorf("%w: %w", ErrNotStarted, ctx.Err())
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.state == 2 {
		return nil, nil, nil, ErrStopped
	}
	return m.slots, m.runCtx, m.pool, nil
}

// client returns the dialed client of member, or nil.
func (m *MultiAcceptorClient) client(member string) AcceptorClient {
	m.init()
	select {
	case <-m.started:
	default:
		return nil
	}
	for _, s := range m.slots {
		if s.name == member {
			select {
			case <-s.ready:
				return s.client
			default:
				return nil
			}
		}
	}
	return nil
}

// callContext is the context of the voters' calls: it outlives the caller
// (a straggling Accept still brings a lagging acceptor up to date) but not
// Start, nor deadline (when set) or CallTimeout.
func (m *MultiAcceptorClient) callContext(deadline time.Time, run context.Context) (context.Context, context.CancelFunc) {
	timeout := m.CallTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	if !deadline.IsZero() && time.Until(deadline) < timeout {
		return context.WithDeadline(run, deadline)
	}
	return context.WithTimeout(run, timeout)
}

// fanOut calls every voter on pool and feeds the replies to add until done
// says so; then, or once every voter returned or their shared context ended,
// it calls finish once with that context. It does not wait: add, done and
// finish run on the voters' goroutines, one at a time, and add is not called
// after finish. A leader's accept round thus goes from its loop to the voters
// and back with no goroutine in between.
func fanOut[T any](m *MultiAcceptorClient, run context.Context, deadline time.Time, pool *workers.Pool,
	slots []*voterSlot, call func(context.Context, AcceptorClient) (T, error),
	add func(voter int, reply T, err error), done func() bool, finish func(ctx context.Context)) {
	cctx, cancel := m.callContext(deadline, run)
	var (
		mu       sync.Mutex
		finished bool
		pending  = len(slots)
	)
	// A client that ignores its context must not hold up the caller.
	stop := context.AfterFunc(cctx, func() {
		mu.Lock()
		fire := !finished
		finished = true
		mu.Unlock()
		if fire {
			finish(cctx)
		}
	})
	for i, s := range slots {
		pool.Go(func() {
			var (
				reply T
				err   error
			)
			select {
			case <-s.ready:
				reply, err = call(cctx, s.client)
			case <-cctx.Done():
				err = cctx.Err()
			}
			mu.Lock()
			pending--
			last, fire := pending == 0, false
			if !finished {
				add(i, reply, err)
				fire = done() || last
				finished = fire
			}
			mu.Unlock()
			if fire {
				stop()
				finish(cctx)
			}
			if last {
				cancel()
			}
		})
	}
}

// fan is fanOut for a caller that waits: it returns once finish would be
// called, or with an error matching ErrNoQuorum when ctx ends first.
func fan[T any](ctx, run context.Context, m *MultiAcceptorClient, pool *workers.Pool, slots []*voterSlot,
	call func(context.Context, AcceptorClient) (T, error), add func(voter int, reply T, err error), done func() bool) error {
	deadline, _ := ctx.Deadline()
	ended := make(chan struct{})
	fanOut(m, run, deadline, pool, slots, call, add, done, func(context.Context) { close(ended) })
	select {
	case <-ended:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrNoQuorum, ctx.Err())
	}
}

// Prepare asks every voter for a promise and merges a majority's answers.
func (m *MultiAcceptorClient) Prepare(ctx context.Context, req *Request) (*Promise, error) {
	if req == nil {
		return nil, fmt.Errorf("%w: nil Request", ErrBadMessage)
	}
	slots, run, pool, err := m.wait(ctx)
	if err != nil {
		return nil, err
	}
	t := core.NewPrepareTally(len(slots), req.ID, req.Slot)
	err = fan(ctx, run, m, pool, slots,
		func(ctx context.Context, c AcceptorClient) (*Promise, error) { return c.Prepare(ctx, req) },
		func(voter int, p *Promise, err error) {
			if err != nil || p == nil {
				t.Fail(voter)
				return
			}
			t.Add(voter, promiseFromWire(p))
		}, t.Done)
	if err != nil {
		return nil, err
	}
	r := t.Result()
	if !r.Granted && r.Higher == 0 {
		return nil, noQuorum(ctx, fmt.Sprintf("no majority of %d voters answered Prepare(%d)", len(slots), req.ID))
	}
	return prepareResultToWire(r), nil
}

// Accept asks every voter to accept and returns once a majority answered.
func (m *MultiAcceptorClient) Accept(ctx context.Context, in *Proposal) (*Proposal, error) {
	if in == nil {
		return nil, fmt.Errorf("%w: nil Proposal", ErrBadMessage)
	}
	slots, run, pool, err := m.wait(ctx)
	if err != nil {
		return nil, err
	}
	r := newAcceptRound(slots, in)
	if err := fan(ctx, run, m, pool, slots, r.call, r.add, r.tally.Done); err != nil {
		return nil, err
	}
	return r.result(ctx)
}

// acceptAsync is Accept for the member's loop, which must not block: done
// gets the result once, on another goroutine, within timeout. ctx bounds
// only the wait for Start.
func (m *MultiAcceptorClient) acceptAsync(ctx context.Context, timeout time.Duration, in *Proposal,
	done func(*Proposal, error)) {
	m.init()
	send := func() {
		m.mu.Lock()
		slots, run, pool, state := m.slots, m.runCtx, m.pool, m.state
		m.mu.Unlock()
		if state == 2 {
			done(nil, ErrStopped)
			return
		}
		r := newAcceptRound(slots, in)
		fanOut(m, run, time.Now().Add(timeout), pool, slots, r.call, r.add, r.tally.Done,
			func(ctx context.Context) { done(r.result(ctx)) })
	}
	select {
	case <-m.started:
		send()
	default:
		go func() {
			select {
			case <-m.started:
				send()
			case <-ctx.Done():
				done(nil, fmt.Errorf("%w: %w", ErrNotStarted, ctx.Err()))
			}
		}()
	}
}

// acceptRound is one Accept to every voter and its tally.
type acceptRound struct {
	in     *Proposal
	voters int
	tally  *core.AcceptTally
}

func newAcceptRound(slots []*voterSlot, in *Proposal) *acceptRound {
	return &acceptRound{in: in, voters: len(slots), tally: core.NewAcceptTally(len(slots), in.ID, in.Slot)}
}

func (r *acceptRound) call(ctx context.Context, c AcceptorClient) (*Proposal, error) {
	return c.Accept(ctx, r.in)
}

func (r *acceptRound) add(voter int, p *Proposal, err error) {
	if err != nil || p == nil {
		r.tally.Fail(voter)
		return
	}
	r.tally.Add(voter, acceptedFromWire(p))
}

// result is the merged answer once the tally is done, or no majority came.
func (r *acceptRound) result(ctx context.Context) (*Proposal, error) {
	t := r.tally.Result()
	switch {
	case t.Accepted:
		return &Proposal{ID: t.Ballot, Slot: t.Slot, Chosen: t.Chosen}, nil
	case t.Higher > 0:
		return &Proposal{ID: t.Higher, Slot: t.Slot}, nil
	}
	return nil, noQuorum(ctx, fmt.Sprintf("no majority of %d voters accepted slot %d", r.voters, r.in.Slot))
}

// noQuorum is the error of a call no majority answered. The voters' calls
// share the caller's deadline (on timers of their own), so they may all
// fail as it passes, before fan or even ctx.Err() sees ctx end: the error
// then wraps the context's error as well.
func noQuorum(ctx context.Context, what string) error {
	err := ctx.Err()
	if dl, ok := ctx.Deadline(); ok && err == nil && !time.Now().Before(dl) {
		err = context.DeadlineExceeded
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrNoQuorum, what, err)
	}
	return fmt.Errorf("%w: %s", ErrNoQuorum, what)
}
