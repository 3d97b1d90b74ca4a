package paxos_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/mjpitz/myago/paxos"
	"github.com/mjpitz/myago/paxos/cluster"
	"github.com/mjpitz/myago/paxos/paxostest"
)

func TestStartBlocksUntilContextEndsAndReturnsNil(t *testing.T) {
	p, r, _ := singleMember(t, nil)
	ctx := testContext(t)
	_, err := p.Propose(ctx, []byte("running"))
	require.NoError(t, err)
	select {
	case err := <-r.done:
		t.Fatalf("Start returned while its context lives: %v", err)
	default:
	}
	require.NoError(t, r.stop(t))
	require.Equal(t, []string{"m0"}, p.Voters())
}

func TestStartTwice(t *testing.T) {
	p, r, _ := singleMember(t, nil)
	// Once a proposal went through, the first Start is surely running.
	_, err := p.Propose(testContext(t), []byte("x"))
	require.NoError(t, err)
	err = p.Start(testContext(t), membershipOf("m0"))
	require.ErrorIs(t, err, paxos.ErrAlreadyStarted)
	require.NoError(t, r.stop(t))
	// Also after the first Start returned: a member runs once.
	err = p.Start(testContext(t), membershipOf("m0"))
	require.ErrorIs(t, err, paxos.ErrAlreadyStarted)
}

func TestStartWithoutVoters(t *testing.T) {
	for name, m := range map[string]*cluster.Membership{
		"nil":   nil,
		"empty": {},
		"all removed": func() *cluster.Membership {
			m := membershipOf("m0")
			m.Remove([]string{"m0"})
			return m
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			p, err := paxos.New(memberConfig(paxostest.NewNetwork(1), "m0", 1))
			require.NoError(t, err)
			err = p.Start(testContext(t), m)
			require.ErrorIs(t, err, paxos.ErrNoVoters)
			// The member is done: proposals fail fast.
			_, err = p.Propose(testContext(t), []byte("x"))
			require.ErrorIs(t, err, paxos.ErrStopped)
		})
	}
}

// A voter that has Left still counts: the voters are every member listed.
func TestStartFreezesLeftMembersAsVoters(t *testing.T) {
	net := paxostest.NewNetwork(1)
	p, err := paxos.New(memberConfig(net, "m0", 1))
	require.NoError(t, err)
	net.Register("m0", p)
	m := membershipOf("m0", "m1", "m2")
	m.Left([]string{"m2"})
	start(t, p, m)
	require.Eventually(t, func() bool { return len(p.Voters()) == 3 }, waitLong, time.Millisecond)
	require.Equal(t, []string{"m0", "m1", "m2"}, p.Voters())
	// Later changes never change the quorum.
	m.Add([]string{"m3"})
	m.Remove([]string{"m1"})
	require.Equal(t, []string{"m0", "m1", "m2"}, p.Voters())
}

func TestProposeBeforeStartWaits(t *testing.T) {
	net := paxostest.NewNetwork(1)
	p, err := paxos.New(memberConfig(net, "m0", 1))
	require.NoError(t, err)
	net.Register("m0", p)

	// Bounded by its context: nothing was proposed, so the plain
	// context error.
	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = p.Propose(short, []byte("early"))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NotErrorIs(t, err, paxos.ErrOutcomeUnknown)

	type result struct {
		pos uint64
		err error
	}
	res := make(chan result, 1)
	waiting := make(chan struct{})
	go func() {
		close(waiting)
		pos, err := p.ProposeIndex(testContext(t), []byte("before start"))
		res <- result{pos, err}
	}()
	<-waiting
	select {
	case r := <-res:
		t.Fatalf("Propose returned before Start: %+v", r)
	case <-time.After(50 * time.Millisecond): // a window for a wrong early return; not synchronization
	}
	start(t, p, membershipOf("m0"))
	r := <-res
	require.NoError(t, r.err)
	require.Equal(t, uint64(1), r.pos)
}

func TestCallsAfterStartReturned(t *testing.T) {
	p, r, _ := singleMember(t, nil)
	ctx := testContext(t)
	_, err := p.Propose(ctx, []byte("one"))
	require.NoError(t, err)
	require.NoError(t, r.stop(t))

	// Fast: no waiting for the context.
	_, err = p.Propose(ctx, []byte("two"))
	require.ErrorIs(t, err, paxos.ErrStopped)
	_, err = p.ProposeIndex(ctx, []byte("two"))
	require.ErrorIs(t, err, paxos.ErrStopped)
	_, err = p.Prepare(ctx, &paxos.Request{ID: 1 << 60})
	require.ErrorIs(t, err, paxos.ErrStopped)
	_, err = p.Accept(ctx, &paxos.Proposal{ID: 1 << 60, Slot: 2, Commands: []paxos.Command{{Value: []byte("x")}}})
	require.ErrorIs(t, err, paxos.ErrStopped)
	s := paxos.NewMockStream(1)
	s.Incoming <- &paxos.Request{Slot: 1}
	err = p.Observe(&paxos.ObserveServerStream{Stream: s})
	require.ErrorIs(t, err, paxos.ErrStopped)
	_, err = p.Forward(ctx, &paxos.Proposal{})
	require.ErrorIs(t, err, paxos.ErrStopped)
}

// Prepare, Accept and Observe work as soon as New returns.
func TestAcceptorWorksBeforeStart(t *testing.T) {
	p, err := paxos.New(memberConfig(paxostest.NewNetwork(1), "m0", 1))
	require.NoError(t, err)
	ctx := testContext(t)
	promise, err := p.Prepare(ctx, &paxos.Request{ID: 5})
	require.NoError(t, err)
	require.Equal(t, uint64(5), promise.ID)
	acc, err := p.Accept(ctx, &paxos.Proposal{ID: 5, Slot: 1, Commands: []paxos.Command{{Session: 1, Seq: 1, Value: []byte("v")}}})
	require.NoError(t, err)
	require.Equal(t, uint64(5), acc.ID)

	s := paxos.NewMockStream(4)
	s.Incoming <- &paxos.Request{Slot: 1}
	done := make(chan error, 1)
	go func() { done <- p.Observe(&paxos.ObserveServerStream{Stream: s}) }()
	got := (<-s.Outgoing).(*paxos.Proposal)
	require.Equal(t, uint64(1), got.Slot)
	require.Equal(t, uint64(5), got.ID)
	require.Equal(t, "v", string(got.Commands[0].Value))
	require.NoError(t, s.Close()) // the client goes away
	require.NoError(t, <-done)
}

// Observe streams served end when Start returns, whether the member was
// sending to them or they were idle.
func TestObserveStreamsEndWhenStartReturns(t *testing.T) {
	p, r, _ := singleMember(t, nil)
	ctx := testContext(t)
	_, err := p.Propose(ctx, []byte("a"))
	require.NoError(t, err)

	idle := paxos.NewMockStream(1024)
	idle.Incoming <- &paxos.Request{Slot: 100}
	// A stream nobody reads: Send blocks at once.
	stuck := &paxos.MockStream{Ctx: context.Background(), Incoming: make(chan interface{}, 1), Outgoing: make(chan interface{})}
	stuck.Incoming <- &paxos.Request{Slot: 1}
	ends := make(chan error, 2)
	for _, s := range []*paxos.MockStream{idle, stuck} {
		go func() { ends <- p.Observe(&paxos.ObserveServerStream{Stream: s}) }()
	}
	require.NoError(t, r.stop(t))
	for range 2 {
		select {
		case err := <-ends:
			require.ErrorIs(t, err, paxos.ErrStopped)
		case <-time.After(waitLong):
			t.Fatal("an Observe stream outlived Start")
		}
	}
}

// An Observe call whose client never sends the Request does not hold
// Start up: nothing was served yet.
func TestObserveWithoutRequestDoesNotBlockStop(t *testing.T) {
	p, r, _ := singleMember(t, nil)
	silent := paxos.NewMockStream(1)
	defer silent.Close()
	go func() { _ = p.Observe(&paxos.ObserveServerStream{Stream: silent}) }()
	require.NoError(t, r.stop(t))
}

// After Start returns nothing touches the Logs, even with proposals, remote
// calls and Observe streams in flight when it was told to stop.
func TestNothingTouchesLogsAfterStartReturns(t *testing.T) {
	net := paxostest.NewNetwork(1)
	watch := &logWatch{}
	cfgs := make([]*paxos.Config, 3)
	members := make([]*paxos.Paxos, 3)
	runs := make([]*running, 3)
	names := []string{"m0", "m1", "m2"}
	for i, name := range names {
		cfgs[i] = memberConfig(net, name, uint8(i+1))
		if i == 0 {
			cfgs[i].PromiseLog = watchLog{cfgs[i].PromiseLog, watch}
			cfgs[i].AcceptedLog = watchLog{cfgs[i].AcceptedLog, watch}
			cfgs[i].RecordedLog = watchLog{cfgs[i].RecordedLog, watch}
		}
		p, err := paxos.New(cfgs[i])
		require.NoError(t, err)
		net.Register(name, p)
		members[i] = p
	}
	for i, p := range members {
		runs[i] = start(t, p, membershipOf(names...))
	}
	ctx := testContext(t)
	stopLoad := proposeInBackground(8, func(w int) *paxos.Paxos { return members[w%3] })
	require.Eventually(t, func() bool { return members[0].Recorded() >= 50 }, waitLong, time.Millisecond)
	net.Register("m0", nil)
	require.NoError(t, runs[0].stop(t))
	watch.closed.Store(true)
	// The others keep going for a while (and keep calling m0's methods
	// directly, as a stale connection would).
	before := members[1].Recorded()
	require.Eventually(t, func() bool { return members[1].Recorded() >= before+50 }, waitLong, time.Millisecond)
	_, err := members[0].Prepare(ctx, &paxos.Request{ID: 1 << 62})
	require.ErrorIs(t, err, paxos.ErrStopped)
	stopLoad()
	require.Empty(t, watch.lateCalls(), "Log calls after Start returned")
}

func TestNoGoroutinesLeftAfterStop(t *testing.T) {
	before := goleak.IgnoreCurrent()
	c, err := paxostest.Start(paxostest.Options{Members: 3, Seed: 3})
	require.NoError(t, err)
	ctx := testContext(t)
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Members[i%3].Paxos().Propose(ctx, fmt.Appendf(nil, "v%d", i))
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	require.NoError(t, c.Members[1].Stop())
	require.NoError(t, c.Members[1].Start())
	_, err = c.Members[1].Paxos().Propose(ctx, []byte("after restart"))
	require.NoError(t, err)
	c.Close()
	goleak.VerifyNone(t, before)
}

func TestExpectedVotersWaitsForTheMembership(t *testing.T) {
	net := paxostest.NewNetwork(1)
	names := []string{"m0", "m1", "m2"}
	members := make([]*paxos.Paxos, 3)
	views := make([]*cluster.Membership, 3)
	for i, name := range names {
		cfg := memberConfig(net, name, uint8(i+1))
		cfg.ExpectedVoters = 3
		p, err := paxos.New(cfg)
		require.NoError(t, err)
		net.Register(name, p)
		members[i] = p
		views[i] = membershipOf(name) // gossip has found nobody else yet
		start(t, p, views[i])
	}
	ctx := testContext(t)
	res := make(chan error, 1)
	go func() {
		_, err := members[0].Propose(ctx, []byte("once three"))
		res <- err
	}()
	for _, p := range members {
		require.Nil(t, p.Voters())
	}
	// Discovery fills the memberships over time.
	for i := range views {
		views[i].Add([]string{names[(i+1)%3]}) // two of three known
	}
	for _, p := range members {
		require.Nil(t, p.Voters(), "froze with two of three")
	}
	for i := range views {
		views[i].Add(names)
	}
	require.NoError(t, <-res)
	for _, p := range members {
		// A majority sufficed for the proposal; each member freezes on its own.
		require.Eventually(t, func() bool { return len(p.Voters()) == 3 }, waitLong, time.Millisecond)
		require.Equal(t, names, p.Voters())
	}
}

func TestExpectedVotersContextEnds(t *testing.T) {
	cfg := memberConfig(paxostest.NewNetwork(1), "m0", 1)
	cfg.ExpectedVoters = 3
	p, err := paxos.New(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = p.Start(ctx, membershipOf("m0"))
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestExpectedVotersTooMany(t *testing.T) {
	cfg := memberConfig(paxostest.NewNetwork(1), "m0", 1)
	cfg.ExpectedVoters = 2
	p, err := paxos.New(cfg)
	require.NoError(t, err)
	err = p.Start(testContext(t), membershipOf("m0", "m1", "m2"))
	require.ErrorIs(t, err, paxos.ErrInvalidConfig)
	require.Contains(t, err.Error(), "ExpectedVoters")
}

// A dialer error at Start is retried, not fatal: the member comes up once
// the dialer works. A member observes its own acceptor in process, so its
// ObserverDialer is called for the other voters only.
func TestStartSurvivesFailingDialers(t *testing.T) {
	net := paxostest.NewNetwork(1)
	other, err := paxos.New(memberConfig(net, "m1", 2)) // serves before Start
	require.NoError(t, err)
	net.Register("m1", other)
	cfg := memberConfig(net, "m0", 1)
	var mu sync.Mutex
	dials := map[string]int{}
	inner, innerObs := cfg.AcceptorDialer, cfg.ObserverDialer
	cfg.AcceptorDialer = func(ctx context.Context, member string) (paxos.AcceptorClient, error) {
		mu.Lock()
		defer mu.Unlock()
		dials["acc "+member]++
		if member == "m1" {
			if n := dials["acc m1"]; n <= 3 {
				return nil, errors.New("connection refused")
			} else if n == 4 {
				return nil, nil // treated as a failure too
			}
		}
		return inner(ctx, member)
	}
	cfg.ObserverDialer = func(ctx context.Context, member string) (paxos.ObserverClient, error) {
		mu.Lock()
		defer mu.Unlock()
		if dials["obs "+member]++; dials["obs "+member] <= 2 {
			return nil, nil
		}
		return innerObs(ctx, member)
	}
	cfg.MaxBackoff = 20 * time.Millisecond
	// No heartbeats, and a leader not heard for 50 ms is no evidence: the
	// member checks the others now and then (within ten hole timeouts, 4 s
	// by default).
	cfg.HeartbeatInterval, cfg.LeaderTimeout = -1, 50*time.Millisecond
	p, err := paxos.New(cfg)
	require.NoError(t, err)
	net.Register("m0", p)
	start(t, p, membershipOf("m0", "m1"))
	pos, err := p.ProposeIndex(testContext(t), []byte("x"))
	require.NoError(t, err)
	require.Equal(t, uint64(1), pos)
	require.NoError(t, p.WaitRecorded(testContext(t), 1))
	// The member learns from its own acceptor in process; it opens streams
	// to the others when it lags, and to check while it hears from no
	// leader.
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return dials["obs m1"] == 3
	}, waitLong, 5*time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, 1, dials["acc m0"], "dialed once when the dialer works")
	require.Equal(t, 5, dials["acc m1"], "dialed again only after a failure")
	require.Equal(t, 0, dials["obs m0"], "the member observes its own acceptor in process")
	require.Equal(t, 3, dials["obs m1"], "dialed again only after a failure")
}

// A member over Badger whose DB is closed as soon as Start returned: the
// rest of the cluster keeps calling it, and nothing touches the DB.
func TestNothingTouchesBadgerAfterStartReturns(t *testing.T) {
	dir := t.TempDir()
	watch := &logWatch{}
	c := paxostest.NewCluster(t, paxostest.Options{Members: 3, Seed: 9, Storage: func(i int) (paxostest.Logs, error) {
		if i != 0 {
			mem := &paxos.Memory{}
			return paxostest.Logs{Promise: mem.WithPrefix("p"), Accepted: mem.WithPrefix("a"), Recorded: mem.WithPrefix("r")}, nil
		}
		db, err := paxos.OpenBadger(dir, nil)
		if err != nil {
			return paxostest.Logs{}, err
		}
		b := &paxos.Badger{DB: db}
		return paxostest.Logs{
			Promise:  watchLog{b.WithPrefix("p"), watch},
			Accepted: watchLog{b.WithPrefix("a"), watch},
			Recorded: watchLog{b.WithPrefix("r"), watch},
			Close: func() error {
				watch.closed.Store(true) // Start has returned
				return db.Close()
			},
		}, nil
	}})
	ctx := testContext(t)
	stopLoad := proposeInBackground(6, func(w int) *paxos.Paxos { return c.Members[w%3].Paxos() })
	m0 := c.Members[0].Paxos()
	require.Eventually(t, func() bool { return m0.Recorded() >= 30 }, waitLong, time.Millisecond)
	require.NoError(t, c.Members[0].Stop()) // Start returned, then the DB closed
	require.True(t, watch.closed.Load())
	before := c.Members[1].Paxos().Recorded()
	require.Eventually(t, func() bool { return c.Members[1].Paxos().Recorded() >= before+30 }, waitLong, time.Millisecond)
	// A stale connection still reaching the stopped member.
	_, err := m0.Accept(ctx, &paxos.Proposal{ID: 1 << 62, Slot: 1})
	require.ErrorIs(t, err, paxos.ErrStopped)
	stopLoad()
	require.Empty(t, watch.lateCalls(), "Log calls after Start returned")

	// The member comes back over the reopened DB and catches up.
	require.NoError(t, c.Members[0].Start())
	pos, err := c.Members[0].Paxos().ProposeIndex(ctx, []byte("back"))
	require.NoError(t, err)
	_, err = c.WaitConverged(ctx, pos)
	require.NoError(t, err)
}
