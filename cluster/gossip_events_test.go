package cluster

import (
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGossipMeta(t *testing.T) {
	meta, err := encodeGossipMeta("10.0.0.1:9000")
	require.NoError(t, err)
	assert.JSONEq(t, `{"v":1,"rpc":"10.0.0.1:9000"}`, string(meta))

	tests := []struct {
		meta string
		rpc  string // empty: rejected
	}{
		{`{"v":1,"rpc":"10.0.0.1:9000"}`, "10.0.0.1:9000"},
		{`{"v":2,"rpc":"[::1]:9000","zone":"b"}`, "[::1]:9000"}, // later versions may add fields
		{`{"v":1,"rpc":"node.example:9000"}`, "node.example:9000"},
		{``, ""},
		{`not json`, ""},
		{`{"v":1}`, ""},
		{`{"rpc":""}`, ""},
		{`{"rpc":"no-port"}`, ""},
		{`{"rpc":":9000"}`, ""},
		{`{"rpc":"host:0"}`, ""},
		{`{"rpc":42}`, ""},
		{`[1,2]`, ""},
	}
	for _, tt := range tests {
		rpc, err := decodeGossipMeta([]byte(tt.meta))
		if tt.rpc == "" {
			assert.ErrorIs(t, err, errNoRPCAddress, "%q", tt.meta)
			continue
		}
		assert.NoError(t, err, "%q", tt.meta)
		assert.Equal(t, tt.rpc, rpc)
	}
}

func node(name, rpc string) *memberlist.Node {
	meta, _ := encodeGossipMeta(rpc)
	return &memberlist.Node{Name: name, Meta: meta}
}

func state(m *Membership) (active, left []string) {
	members, n := m.Snapshot()
	return members[:n], members[n:]
}

func TestGossipEvents(t *testing.T) {
	m := new(Membership)
	e := newGossipEvents(m, loggerOrDiscard(nil), 0)

	e.NotifyJoin(node("a", "a:1"))
	e.NotifyJoin(node("b", "b:1"))
	e.NotifyJoin(node("b2", "b:1")) // two nodes, one address (misconfigured)
	active, left := state(m)
	assert.Equal(t, []string{"a:1", "b:1"}, active)
	assert.Empty(t, left)

	// The address stays active while one of its nodes lives.
	e.NotifyLeave(node("b", ""))
	active, _ = state(m)
	assert.Equal(t, []string{"a:1", "b:1"}, active)
	e.NotifyLeave(node("b2", ""))
	active, left = state(m)
	assert.Equal(t, []string{"a:1"}, active)
	assert.Equal(t, []string{"b:1"}, left)

	// A node that moves its RPC server leaves the old address behind.
	e.NotifyUpdate(node("a", "a:2"))
	active, left = state(m)
	assert.Equal(t, []string{"a:2"}, active)
	assert.Equal(t, []string{"a:1", "b:1"}, left)

	// A node whose metadata turns bad is no longer followed.
	e.NotifyUpdate(&memberlist.Node{Name: "a", Meta: []byte("garbage")})
	active, left = state(m)
	assert.Empty(t, active)
	assert.Equal(t, []string{"a:1", "a:2", "b:1"}, left)

	// Leave of a node never seen (or ignored) changes nothing.
	e.NotifyLeave(node("stranger", "s:1"))
	members, _ := m.Snapshot()
	assert.Equal(t, []string{"a:1", "a:2", "b:1"}, members)

	// Nothing changes after stop.
	e.stop()
	e.NotifyJoin(node("c", "c:1"))
	members, _ = m.Snapshot()
	assert.Equal(t, []string{"a:1", "a:2", "b:1"}, members)
}

func TestGossipEventsRemoval(t *testing.T) {
	m := new(Membership)
	e := newGossipEvents(m, loggerOrDiscard(nil), time.Hour)
	e.NotifyJoin(node("a", "a:1"))
	e.NotifyLeave(node("a", ""))
	e.mu.Lock()
	assert.Len(t, e.removal, 1, "removal scheduled")
	e.mu.Unlock()

	e.NotifyJoin(node("a", "a:1")) // back before the hour is up
	e.mu.Lock()
	assert.Empty(t, e.removal, "a rejoin cancels the removal")
	e.mu.Unlock()

	e.NotifyLeave(node("a", ""))
	e.stop()
	e.mu.Lock()
	assert.Empty(t, e.removal, "stop cancels pending removals")
	e.mu.Unlock()
	members, active := m.Snapshot()
	assert.Equal(t, []string{"a:1"}, members)
	assert.Zero(t, active)
}
