package cluster_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mjpitz/myago/paxos/cluster"
)

func TestNoDiscoveryAddsPeersOnce(t *testing.T) {
	d := &cluster.NoDiscovery{Peers: []string{"b:1", " a:1 ", "b:1", "a:1"}}
	var m cluster.Membership
	ch, cancelWatch := m.Watch()
	defer cancelWatch()
	<-ch

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Start(ctx, &m) }()

	// Duplicates and surrounding spaces collapse into one member each, in
	// one change.
	assert.Equal(t, cluster.MembershipChange{Active: []string{"a:1", "b:1"}}, <-ch)
	cancel()
	require.NoError(t, <-done)
}

func TestNoDiscoveryBadInput(t *testing.T) {
	tests := []struct {
		name  string
		peers []string
		want  string
	}{
		{"nil list", nil, "NoDiscovery.Peers is empty"},
		{"empty list", []string{}, "NoDiscovery.Peers is empty"},
		{"empty entry", []string{"a:1", ""}, "NoDiscovery.Peers[1] is empty"},
		{"blank entry", []string{"  "}, "NoDiscovery.Peers[0] is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &cluster.NoDiscovery{Peers: tt.peers}
			require.ErrorIs(t, d.Validate(), cluster.ErrInvalidConfig)
			var m cluster.Membership
			err := d.Start(context.Background(), &m) // returns at once
			require.ErrorIs(t, err, cluster.ErrInvalidConfig)
			assert.Contains(t, err.Error(), tt.want)
			members, _ := m.Snapshot()
			assert.Empty(t, members, "nothing added from an invalid list")
		})
	}
}

func TestDiscoveriesRejectNilMembership(t *testing.T) {
	for _, d := range []cluster.Discovery{
		&cluster.NoDiscovery{Peers: []string{"a:1"}},
		&cluster.DNSDiscovery{Name: "example.test", Port: 1},
		&cluster.GossipDiscovery{RPCAddress: "127.0.0.1:1"},
		&cluster.Config{NoDiscovery: &cluster.NoDiscovery{Peers: []string{"a:1"}}},
	} {
		assert.ErrorIs(t, d.Start(context.Background(), nil), cluster.ErrNilMembership, "%T", d)
	}
}
