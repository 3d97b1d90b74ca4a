package cluster_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mjpitz/myago/paxos/cluster"
)

// discoveryFunc adapts a function to cluster.Discovery.
type discoveryFunc func(ctx context.Context, m *cluster.Membership) error

func (f discoveryFunc) Start(ctx context.Context, m *cluster.Membership) error { return f(ctx, m) }

// addAndWait adds members and then waits for ctx, reporting when it returns.
func addAndWait(returned chan<- struct{}, members ...string) cluster.Discovery {
	return discoveryFunc(func(ctx context.Context, m *cluster.Membership) error {
		defer close(returned)
		m.Add(members)
		<-ctx.Done()
		return ctx.Err() // stopping, not failing
	})
}

// waitFor reads ch until a message satisfies ok.
func waitFor(t *testing.T, ch <-chan cluster.MembershipChange, ok func(cluster.MembershipChange) bool) cluster.MembershipChange {
	t.Helper()
	for c := range ch {
		if ok(c) {
			return c
		}
	}
	t.Fatal("watch closed")
	return cluster.MembershipChange{}
}

func TestClusterRunsEveryDiscovery(t *testing.T) {
	r1, r2 := make(chan struct{}), make(chan struct{})
	c := cluster.New(
		cluster.WithDiscovery(addAndWait(r1, "a:1")),
		cluster.WithDiscovery(nil), // ignored
		cluster.WithDiscovery(addAndWait(r2, "b:1")),
	)
	ch, cancelWatch := c.Membership().Watch()
	defer cancelWatch()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx) }()

	waitFor(t, ch, func(c cluster.MembershipChange) bool { return len(c.Active) == 2 })
	cancel()
	require.NoError(t, <-done, "a discovery returning ctx.Err() after ctx ended is stopping, not failing")
	for _, r := range []chan struct{}{r1, r2} {
		select {
		case <-r:
		default:
			t.Fatal("Start returned before every discovery did")
		}
	}
}

func TestClusterStopsOthersWhenOneFails(t *testing.T) {
	boom := errors.New("boom")
	returned := make(chan struct{})
	c := cluster.New(
		cluster.WithDiscovery(addAndWait(returned, "a:1")),
		cluster.WithDiscovery(discoveryFunc(func(ctx context.Context, m *cluster.Membership) error {
			return boom
		})),
	)
	err := c.Start(context.Background())
	require.ErrorIs(t, err, boom)
	<-returned // closed before Start returned, or this blocks forever
}

func TestClusterWithoutDiscoveryWaitsForContext(t *testing.T) {
	c := cluster.New(cluster.WithDiscovery(discoveryFunc(func(context.Context, *cluster.Membership) error {
		return nil // a discovery that returns nil early just stops
	})))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx) }()

	c.Membership().Add([]string{"by-hand:1"})
	select {
	case err := <-done:
		t.Fatalf("Start returned before its context ended: %v", err)
	default:
	}
	cancel()
	assert.NoError(t, <-done)
	members, _ := c.Membership().Snapshot()
	assert.Equal(t, []string{"by-hand:1"}, members)
}
