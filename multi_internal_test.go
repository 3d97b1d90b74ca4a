package paxos

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mjpitz/myago/paxos/cluster"
)

// yes accepts every proposal.
type yes struct{}

func (yes) Prepare(_ context.Context, r *Request) (*Promise, error) { return &Promise{ID: r.ID}, nil }
func (yes) Accept(_ context.Context, p *Proposal) (*Proposal, error) {
	return &Proposal{ID: p.ID, Slot: p.Slot}, nil
}

// deaf ignores its context: it answers only once released.
type deaf struct{ released <-chan struct{} }

func (d deaf) Prepare(context.Context, *Request) (*Promise, error) {
	<-d.released
	return nil, errors.New("released")
}

func (d deaf) Accept(context.Context, *Proposal) (*Proposal, error) {
	<-d.released
	return nil, errors.New("released")
}

// startDeafMulti runs a MultiAcceptorClient over a, b and c, where the
// members in deafOnes ignore their contexts until the test ends.
func startDeafMulti(t *testing.T, deafOnes ...string) *MultiAcceptorClient {
	released := make(chan struct{})
	m := &MultiAcceptorClient{Dialer: func(_ context.Context, member string) (AcceptorClient, error) {
		for _, d := range deafOnes {
			if d == member {
				return deaf{released}, nil
			}
		}
		return yes{}, nil
	}}
	ctx, cancel := context.WithCancel(context.Background())
	ended := make(chan error, 1)
	go func() { ended <- m.Start(ctx, abc()) }()
	t.Cleanup(func() {
		close(released)
		cancel()
		require.NoError(t, <-ended)
	})
	return m
}

// acceptAsyncOnce calls acceptAsync and returns its result, failing the
// test if done is called more than once (checked once the voters return).
func acceptAsyncOnce(t *testing.T, m *MultiAcceptorClient, timeout time.Duration) (*Proposal, error) {
	type result struct {
		p   *Proposal
		err error
	}
	var calls atomic.Int32
	results := make(chan result, 2)
	m.acceptAsync(context.Background(), timeout, &Proposal{ID: 7, Slot: 1}, func(p *Proposal, err error) {
		calls.Add(1)
		results <- result{p, err}
	})
	t.Cleanup(func() { require.Equal(t, int32(1), calls.Load(), "done calls") })
	select {
	case r := <-results:
		return r.p, r.err
	case <-time.After(10 * time.Second):
		t.Fatal("acceptAsync never called done")
		return nil, nil
	}
}

// A majority's answer comes without waiting for a voter that hangs.
func TestAcceptAsyncMajority(t *testing.T) {
	m := startDeafMulti(t, "c")
	p, err := acceptAsyncOnce(t, m, time.Hour)
	require.NoError(t, err)
	require.Equal(t, uint64(7), p.ID)
}

// Voters that ignore their contexts cannot hold the answer beyond its
// timeout: the leader's loop needs the failure to retry.
func TestAcceptAsyncDeafVoters(t *testing.T) {
	m := startDeafMulti(t, "b", "c")
	_, err := acceptAsyncOnce(t, m, 50*time.Millisecond)
	require.ErrorIs(t, err, ErrNoQuorum)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = m.Accept(ctx, &Proposal{ID: 7, Slot: 1})
	require.ErrorIs(t, err, ErrNoQuorum)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

// acceptAsync before Start waits for it, bounded by its context.
func TestAcceptAsyncBeforeStart(t *testing.T) {
	m := &MultiAcceptorClient{Dialer: func(context.Context, string) (AcceptorClient, error) { return yes{}, nil }}
	ctx, cancel := context.WithCancel(context.Background())
	failed := make(chan error, 1)
	m.acceptAsync(ctx, time.Hour, &Proposal{ID: 7, Slot: 1}, func(_ *Proposal, err error) { failed <- err })
	cancel()
	require.ErrorIs(t, <-failed, ErrNotStarted)

	results := make(chan *Proposal, 1)
	m.acceptAsync(context.Background(), time.Hour, &Proposal{ID: 7, Slot: 1}, func(p *Proposal, err error) {
		require.NoError(t, err)
		results <- p
	})
	run, stop := context.WithCancel(context.Background())
	ended := make(chan error, 1)
	go func() { ended <- m.Start(run, abc()) }()
	require.Equal(t, uint64(7), (<-results).ID)
	stop()
	require.NoError(t, <-ended)

	stopped := make(chan error, 1)
	m.acceptAsync(context.Background(), time.Hour, &Proposal{ID: 7, Slot: 1}, func(_ *Proposal, err error) { stopped <- err })
	require.ErrorIs(t, <-stopped, ErrStopped)
}

func abc() *cluster.Membership {
	m := &cluster.Membership{}
	m.Add([]string{"a", "b", "c"})
	return m
}
