package cluster_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mjpitz/myago/paxos/cluster"
)

func TestConfigChoosesExactlyOne(t *testing.T) {
	static := &cluster.NoDiscovery{Peers: []string{"a:1"}}
	dns := &cluster.DNSDiscovery{Name: "members.example.test", Port: 9000}
	gossip := &cluster.GossipDiscovery{RPCAddress: "127.0.0.1:9000"}
	tests := []struct {
		name string
		cfg  cluster.Config
		want error
	}{
		{"none", cluster.Config{}, cluster.ErrNoDiscovery},
		{"static and dns", cluster.Config{NoDiscovery: static, DNSDiscovery: dns}, cluster.ErrSeveralDiscoveries},
		{"all three", cluster.Config{NoDiscovery: static, DNSDiscovery: dns, GossipDiscovery: gossip}, cluster.ErrSeveralDiscoveries},
		{"set but empty static", cluster.Config{NoDiscovery: &cluster.NoDiscovery{}}, cluster.ErrInvalidConfig},
		{"set but nameless dns", cluster.Config{DNSDiscovery: &cluster.DNSDiscovery{}}, cluster.ErrInvalidConfig},
		{"set but gossip without rpc address", cluster.Config{GossipDiscovery: &cluster.GossipDiscovery{}}, cluster.ErrInvalidConfig},
		{"static", cluster.Config{NoDiscovery: static}, nil},
		{"dns", cluster.Config{DNSDiscovery: dns}, nil},
		{"gossip", cluster.Config{GossipDiscovery: gossip}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.want)
			// Start fails the same way, at once.
			require.ErrorIs(t, tt.cfg.Start(context.Background(), new(cluster.Membership)), tt.want)
		})
	}
}

func TestConfigRunsTheOneSet(t *testing.T) {
	cfg := &cluster.Config{NoDiscovery: &cluster.NoDiscovery{Peers: []string{"a:1", "b:1"}}}
	c := cluster.New(cluster.WithDiscovery(cfg))
	ch, cancelWatch := c.Membership().Watch()
	defer cancelWatch()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx) }()
	got := waitFor(t, ch, func(c cluster.MembershipChange) bool { return len(c.Active) > 0 })
	assert.Equal(t, []string{"a:1", "b:1"}, got.Active)
	cancel()
	require.NoError(t, <-done)
}

func TestConfigFromJSON(t *testing.T) {
	var cfg cluster.Config
	require.NoError(t, json.Unmarshal([]byte(`{
		"gossip": {"joinAddress": "10.0.0.1:7946,10.0.0.2:7946", "rpcAddress": "10.0.0.3:9000", "removeAfter": 60000000000}
	}`), &cfg))
	require.NoError(t, cfg.Validate())
	require.NotNil(t, cfg.GossipDiscovery)
	assert.Nil(t, cfg.NoDiscovery)
	assert.Nil(t, cfg.DNSDiscovery)
	assert.Equal(t, "10.0.0.3:9000", cfg.GossipDiscovery.RPCAddress)
	assert.EqualValues(t, 60e9, cfg.GossipDiscovery.RemoveAfter)
}
