package paxos_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/mjpitz/myago/paxos"
	"github.com/mjpitz/myago/paxos/paxostest"
)

type acceptorDialer = func(ctx context.Context, member string) (paxos.AcceptorClient, error)

// startMulti runs m.Start until stop is called (or the test ends).
func startMulti(t *testing.T, m *paxos.MultiAcceptorClient, voters []string) (stop func() error) {
	return background(t, func(ctx context.Context) error { return m.Start(ctx, membershipOf(voters...)) })
}

// blackhole is an acceptor that never answers (until the call's context
// ends).
type blackhole struct{}

func (blackhole) Prepare(ctx context.Context, _ *paxos.Request) (*paxos.Promise, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (blackhole) Accept(ctx context.Context, _ *paxos.Proposal) (*paxos.Proposal, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// silence makes the named members of a dialer never answer.
func silence(d acceptorDialer, silent ...string) acceptorDialer {
	return func(ctx context.Context, member string) (paxos.AcceptorClient, error) {
		for _, s := range silent {
			if s == member {
				return blackhole{}, nil
			}
		}
		return d(ctx, member)
	}
}

func standaloneProposer(m *paxos.MultiAcceptorClient) *paxos.Proposer {
	return &paxos.Proposer{IDGenerator: paxos.ServerIDGenerator(100, clockwork.NewRealClock()), Acceptor: m}
}

func TestStandaloneProposerIntoCluster(t *testing.T) {
	c := paxostest.NewCluster(t, paxostest.Options{Members: 3, Seed: 11})
	ctx := testContext(t)
	multi := &paxos.MultiAcceptorClient{Dialer: c.Net.AcceptorDialer("client")}
	startMulti(t, multi, c.Voters())
	prop := standaloneProposer(multi)

	var want []string
	for i := range 4 {
		// The members and the outsider take turns: each takes leadership
		// from the other (each change costs a RetryTimeout today: the
		// commands of a deposed leader's unchosen slots wait for their
		// session's retry).
		v := fmt.Sprintf("outside %d", i)
		got, err := prop.Propose(ctx, []byte(v))
		require.NoError(t, err)
		require.Equal(t, v, string(got))
		want = append(want, v)

		v = fmt.Sprintf("inside %d", i)
		_, err = c.Members[i%3].Paxos().Propose(ctx, []byte(v))
		require.NoError(t, err)
		want = append(want, v)
	}
	// A standalone proposer learns no positions.
	pos, err := prop.ProposeIndex(ctx, []byte("last"))
	require.NoError(t, err)
	require.Zero(t, pos)
	want = append(want, "last")

	log, err := c.WaitConverged(ctx, uint64(len(want)))
	require.NoError(t, err)
	requireLog(t, want, log)
}

func TestStandaloneProposerNeedsItsFields(t *testing.T) {
	ctx := testContext(t)
	_, err := (&paxos.Proposer{}).Propose(ctx, []byte("x"))
	require.ErrorIs(t, err, paxos.ErrInvalidConfig)
	_, err = (&paxos.Proposer{Acceptor: &paxos.MultiAcceptorClient{}}).Propose(ctx, []byte("x"))
	require.ErrorIs(t, err, paxos.ErrInvalidConfig)
	_, err = (&paxos.Proposer{}).Propose(ctx, nil)
	require.ErrorIs(t, err, paxos.ErrEmptyValue)
}

func TestMultiAcceptorClientZeroValue(t *testing.T) {
	c := paxostest.NewCluster(t, paxostest.Options{Members: 3, Seed: 12})
	ctx := testContext(t)
	multi := &paxos.MultiAcceptorClient{Dialer: c.Net.AcceptorDialer("client")}

	// Before Start: calls wait, bounded by their context.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, err := multi.Prepare(short, &paxos.Request{ID: 1 << 50})
	require.ErrorIs(t, err, paxos.ErrNotStarted)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	early := make(chan error, 1)
	go func() {
		p, err := multi.Prepare(ctx, &paxos.Request{ID: 1 << 50, Slot: 1})
		if err == nil && p.ID != 1<<50 {
			err = fmt.Errorf("promise not granted: %+v", p)
		}
		early <- err
	}()
	stop := startMulti(t, multi, c.Voters())
	require.NoError(t, <-early)

	// A granted promise, a refusal with the higher ballot, an accept.
	p, err := multi.Prepare(ctx, &paxos.Request{ID: 1<<50 + 1, Slot: 1})
	require.NoError(t, err)
	require.Equal(t, uint64(1<<50+1), p.ID)
	p, err = multi.Prepare(ctx, &paxos.Request{ID: 5, Slot: 1})
	require.NoError(t, err)
	require.Equal(t, uint64(1<<50+1), p.ID, "a refusal carries the promised ballot")
	a, err := multi.Accept(ctx, &paxos.Proposal{ID: 1<<50 + 1, Slot: p.Chosen + 1,
		Commands: []paxos.Command{{Session: 9, Seq: 1, Floor: 1, Value: []byte("by hand")}}})
	require.NoError(t, err)
	require.Equal(t, uint64(1<<50+1), a.ID)
	a, err = multi.Accept(ctx, &paxos.Proposal{ID: 5, Slot: p.Chosen + 2})
	require.NoError(t, err)
	require.Equal(t, uint64(1<<50+1), a.ID, "a refusal carries the promised ballot")

	_, err = multi.Prepare(ctx, nil)
	require.ErrorIs(t, err, paxos.ErrBadMessage)
	_, err = multi.Accept(ctx, nil)
	require.ErrorIs(t, err, paxos.ErrBadMessage)

	require.ErrorIs(t, multi.Start(ctx, membershipOf("m0")), paxos.ErrAlreadyStarted)
	require.NoError(t, stop())
	_, err = multi.Prepare(ctx, &paxos.Request{ID: 1 << 51})
	require.ErrorIs(t, err, paxos.ErrStopped)
	_, err = multi.Accept(ctx, &paxos.Proposal{ID: 1 << 51})
	require.ErrorIs(t, err, paxos.ErrStopped)
}

func TestMultiAcceptorClientStartErrors(t *testing.T) {
	ctx := testContext(t)
	d := paxostest.NewNetwork(1).AcceptorDialer("client")
	require.ErrorIs(t, (&paxos.MultiAcceptorClient{Dialer: d}).Start(ctx, nil), paxos.ErrNoVoters)
	require.ErrorIs(t, (&paxos.MultiAcceptorClient{Dialer: d}).Start(ctx, membershipOf()), paxos.ErrNoVoters)
	require.ErrorIs(t, (&paxos.MultiAcceptorClient{}).Start(ctx, membershipOf("m0")), paxos.ErrInvalidConfig)
	many := make([]string, 65)
	for i := range many {
		many[i] = fmt.Sprintf("m%02d", i)
	}
	require.ErrorIs(t, (&paxos.MultiAcceptorClient{Dialer: d}).Start(ctx, membershipOf(many...)), paxos.ErrInvalidConfig)
}

// The dialer is called once per member per Start, again only after it
// failed (an error, or a nil client), with capped back-off; its context
// lasts as long as Start.
func TestMultiAcceptorClientDialer(t *testing.T) {
	c := paxostest.NewCluster(t, paxostest.Options{Members: 3, Seed: 13})
	inner := c.Net.AcceptorDialer("client")
	var mu sync.Mutex
	calls := map[string]int{}
	var ctxs []context.Context
	dial := func(ctx context.Context, member string) (paxos.AcceptorClient, error) {
		mu.Lock()
		defer mu.Unlock()
		calls[member]++
		ctxs = append(ctxs, ctx)
		switch {
		case member == "m1" && calls[member] <= 2:
			return nil, errors.New("connection refused")
		case member == "m2" && calls[member] <= 3:
			return nil, nil // no client and no error: a failure too
		}
		return inner(ctx, member)
	}
	multi := &paxos.MultiAcceptorClient{Dialer: dial, MaxBackoff: 20 * time.Millisecond}
	stop := startMulti(t, multi, c.Voters())
	prop := standaloneProposer(multi)
	ctx := testContext(t)
	_, err := prop.Propose(ctx, []byte("dialed"))
	require.NoError(t, err)
	// Every voter gets dialed in the end.
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return calls["m0"] == 1 && calls["m1"] == 3 && calls["m2"] == 4
	}, waitLong, time.Millisecond)
	_, err = prop.Propose(ctx, []byte("again"))
	require.NoError(t, err)
	mu.Lock()
	require.Equal(t, map[string]int{"m0": 1, "m1": 3, "m2": 4}, calls, "dialed again without a failure")
	for _, dctx := range ctxs {
		require.NoError(t, dctx.Err(), "a dialer's context ended while Start runs")
	}
	mu.Unlock()
	require.NoError(t, stop())
	for _, dctx := range ctxs {
		require.Error(t, dctx.Err(), "a dialer's context outlived Start")
	}
	_, err = c.WaitConverged(ctx, 2)
	require.NoError(t, err)
}

// One voter that never answers does not stop a majority from deciding.
func TestMultiAcceptorClientSilentVoter(t *testing.T) {
	c := paxostest.NewCluster(t, paxostest.Options{Members: 3, Seed: 14})
	multi := &paxos.MultiAcceptorClient{Dialer: silence(c.Net.AcceptorDialer("client"), "m2")}
	startMulti(t, multi, c.Voters())
	ctx := testContext(t)
	p, err := multi.Prepare(ctx, &paxos.Request{ID: 1 << 52, Slot: 1})
	require.NoError(t, err)
	require.Equal(t, uint64(1<<52), p.ID)

	_, err = standaloneProposer(multi).Propose(ctx, []byte("two of three"))
	require.NoError(t, err)
	log, err := c.WaitConverged(ctx, 1)
	require.NoError(t, err)
	requireLog(t, []string{"two of three"}, log)
}

// Without a majority, calls end with the context: ErrNoQuorum from the
// client, ErrOutcomeUnknown from the proposer, both wrapping ctx.Err().
func TestMultiAcceptorClientNoMajority(t *testing.T) {
	c := paxostest.NewCluster(t, paxostest.Options{Members: 3, Seed: 15})
	multi := &paxos.MultiAcceptorClient{Dialer: silence(c.Net.AcceptorDialer("client"), "m1", "m2")}
	startMulti(t, multi, c.Voters())
	ctx := testContext(t)

	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err := multi.Prepare(short, &paxos.Request{ID: 1 << 52, Slot: 1})
	require.ErrorIs(t, err, paxos.ErrNoQuorum)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	short2, cancel2 := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel2()
	_, err = multi.Accept(short2, &paxos.Proposal{ID: 1 << 52, Slot: 1})
	require.ErrorIs(t, err, paxos.ErrNoQuorum)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	short3, cancel3 := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel3()
	_, err = standaloneProposer(multi).Propose(short3, []byte("nobody hears"))
	require.ErrorIs(t, err, paxos.ErrOutcomeUnknown)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}
