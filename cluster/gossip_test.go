package cluster_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/mjpitz/myago/paxos/cluster"
)

// Generous deadlines: the machine is shared and -race slows everything.
const (
	eventually = 30 * time.Second
	tick       = 10 * time.Millisecond
)

// fastTimings scales memberlist's LAN profile down so that failures are
// detected in about a second on loopback, while staying slow enough that a
// busy test machine does not make healthy members look dead.
func fastTimings(c *memberlist.Config) {
	c.ProbeInterval = 200 * time.Millisecond
	c.ProbeTimeout = 100 * time.Millisecond
	c.SuspicionMult = 3
	c.SuspicionMaxTimeoutMult = 2
	c.GossipInterval = 50 * time.Millisecond
	c.PushPullInterval = 2 * time.Second
	c.TCPTimeout = 2 * time.Second
	c.GossipToTheDeadTime = 5 * time.Second
	// A member that restarts on another port keeps its name.
	c.DeadNodeReclaimTime = time.Millisecond
}

// gossipNode is one running GossipDiscovery.
type gossipNode struct {
	name, rpc  string
	gossipAddr string
	m          *cluster.Membership
	cancel     context.CancelFunc
	done       chan error
}

// startGossip starts a member named name binding bind ("127.0.0.1:0" for
// any port) and waits until it listens.
func startGossip(t *testing.T, name, bind string, d cluster.GossipDiscovery) *gossipNode {
	t.Helper()
	n := &gossipNode{name: name, rpc: name + ".rpc.test:9000", m: new(cluster.Membership), done: make(chan error, 1)}
	listening := make(chan string, 1)
	d.NodeName = name
	d.RPCAddress = n.rpc
	d.BindAddress = bind
	if d.Configure == nil {
		d.Configure = fastTimings
	}
	d.OnListen = func(addr string) { listening <- addr }
	if d.Logger == nil {
		d.Logger = testLogger(t)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	go func() { n.done <- d.Start(ctx, n.m) }()
	select {
	case n.gossipAddr = <-listening:
	case err := <-n.done:
		cancel()
		n.done <- err
		require.NoError(t, err, "member %s did not start", name)
	case <-time.After(eventually):
		t.Fatalf("member %s not listening after %v", name, eventually)
	}
	return n
}

// stop cancels the member and returns how long Start took to return.
func (n *gossipNode) stop(t *testing.T) time.Duration {
	t.Helper()
	start := time.Now()
	n.cancel()
	select {
	case err := <-n.done:
		require.NoError(t, err, "member %s", n.name)
	case <-time.After(eventually):
		t.Fatalf("member %s: Start did not return within %v of cancel", n.name, eventually)
	}
	return time.Since(start)
}

// waitState waits until every member's Membership lists active and left
// (sorted) exactly, and returns how long it took.
func waitState(t *testing.T, nodes []*gossipNode, active, left []string) time.Duration {
	t.Helper()
	start := time.Now()
	slices.Sort(active)
	slices.Sort(left)
	want := append(slices.Clone(active), left...)
	require.Eventually(t, func() bool {
		for _, n := range nodes {
			members, nActive := n.m.Snapshot()
			if nActive != len(active) || !slices.Equal(members, want) {
				return false
			}
		}
		return true
	}, eventually, tick, "members %v never all saw active %v, left %v", names(nodes), active, left)
	return time.Since(start)
}

func names(nodes []*gossipNode) []string {
	var s []string
	for _, n := range nodes {
		s = append(s, n.name)
	}
	return s
}

func rpcs(nodes ...*gossipNode) []string {
	var s []string
	for _, n := range nodes {
		s = append(s, n.rpc)
	}
	return s
}

// testLogger logs through t at Warn and above (set -v to read them).
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// noLeaks waits until only the goroutines that ran before the test remain:
// memberlist's connection handlers can outlive Shutdown by up to TCPTimeout.
func noLeaks(t *testing.T, before goleak.Option) {
	t.Helper()
	var err error
	deadline := time.Now().Add(eventually)
	for time.Now().Before(deadline) {
		if err = goleak.Find(before); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond) // polling, not synchronisation
	}
	t.Fatalf("goroutines left behind: %v", err)
}

// TestGossipFiveMembers runs five members on loopback: they find each
// other, notice a crash and a graceful leave, and welcome a restarted member
// back.
func TestGossipFiveMembers(t *testing.T) {
	before := goleak.IgnoreCurrent()
	nodes := make([]*gossipNode, 5)
	nodes[0] = startGossip(t, "node0", "127.0.0.1:0", cluster.GossipDiscovery{})
	nodes[1] = startGossip(t, "node1", "127.0.0.1:0", cluster.GossipDiscovery{JoinAddress: nodes[0].gossipAddr})
	nodes[2] = startGossip(t, "node2", "127.0.0.1:0", cluster.GossipDiscovery{JoinAddress: nodes[1].gossipAddr})
	// Several join addresses, the first of them dead: one answer is enough.
	nodes[3] = startGossip(t, "node3", "127.0.0.1:0", cluster.GossipDiscovery{
		JoinAddress: deadAddress(t) + ", " + nodes[2].gossipAddr,
	})
	// node4 will crash: it shuts down without leaving.
	nodes[4] = startGossip(t, "node4", "127.0.0.1:0", cluster.GossipDiscovery{JoinAddress: nodes[3].gossipAddr, SkipLeave: true})
	defer func() {
		for _, n := range nodes {
			if n != nil {
				n.stop(t)
			}
		}
		noLeaks(t, before)
	}()

	all := rpcs(nodes...)
	took := waitState(t, nodes, all, nil)
	t.Logf("all five members saw five active %v after the last start", took.Round(time.Millisecond))

	// A crash: the others find out by probing.
	stopTook := nodes[4].stop(t)
	crashed := nodes[4]
	nodes[4] = nil
	detection := waitState(t, nodes[:4], rpcs(nodes[:4]...), []string{crashed.rpc})
	t.Logf("failure detection: %.0f ms until all four survivors saw the crashed member as left (Start returned %v after cancel)",
		float64(detection.Microseconds())/1000, stopTook.Round(time.Millisecond))

	// It restarts under the same name and address, on its old gossip port
	// when free, and joins through another live member.
	_, oldPort, err := net.SplitHostPort(crashed.gossipAddr)
	require.NoError(t, err)
	nodes[4] = restartGossip(t, "node4", "127.0.0.1:"+oldPort, cluster.GossipDiscovery{JoinAddress: nodes[1].gossipAddr})
	took = waitState(t, nodes, all, nil)
	t.Logf("the restarted member was active everywhere %v after it started", took.Round(time.Millisecond))

	// A graceful leave: the others hear it at once instead of probing.
	leaver := nodes[3]
	stopTook = leaver.stop(t)
	nodes[3] = nil
	rest := []*gossipNode{nodes[0], nodes[1], nodes[2], nodes[4]}
	took = stopTook + waitState(t, rest, rpcs(rest...), []string{leaver.rpc})
	t.Logf("graceful leave: %.0f ms from cancel until all four others saw it left (its Start returned after %v)",
		float64(took.Microseconds())/1000, stopTook.Round(time.Millisecond))
}

// restartGossip starts a member on bind, or on any port if bind is taken
// (another process may have grabbed the old port; DeadNodeReclaimTime lets
// the name move).
func restartGossip(t *testing.T, name, bind string, d cluster.GossipDiscovery) *gossipNode {
	t.Helper()
	if l, err := net.Listen("tcp", bind); err != nil {
		t.Logf("old gossip address %s is taken, restarting on another port: %v", bind, err)
		bind = "127.0.0.1:0"
	} else {
		require.NoError(t, l.Close())
	}
	return startGossip(t, name, bind, d)
}

// deadAddress returns a loopback address where nothing listens.
func deadAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

func TestGossipRemoveAfter(t *testing.T) {
	before := goleak.IgnoreCurrent()
	a := startGossip(t, "a", "127.0.0.1:0", cluster.GossipDiscovery{RemoveAfter: 300 * time.Millisecond})
	b := startGossip(t, "b", "127.0.0.1:0", cluster.GossipDiscovery{JoinAddress: a.gossipAddr, SkipLeave: true})
	waitState(t, []*gossipNode{a, b}, rpcs(a, b), nil)

	ch, cancelWatch := a.m.Watch()
	defer cancelWatch()
	b.stop(t)
	got := waitFor(t, ch, func(c cluster.MembershipChange) bool { return len(c.Removed) > 0 })
	assert.Equal(t, []string{b.rpc}, got.Removed)
	waitState(t, []*gossipNode{a}, rpcs(a), nil)

	// Removal is not banishment: the member is added when it comes back.
	b = startGossip(t, "b", "127.0.0.1:0", cluster.GossipDiscovery{JoinAddress: a.gossipAddr})
	waitState(t, []*gossipNode{a, b}, rpcs(a, b), nil)
	b.stop(t)
	a.stop(t)
	noLeaks(t, before)
}

func TestGossipNeverRemovesByDefault(t *testing.T) {
	before := goleak.IgnoreCurrent()
	const forgetDead = time.Second
	quickForget := func(c *memberlist.Config) {
		fastTimings(c)
		c.GossipToTheDeadTime = forgetDead
	}
	a := startGossip(t, "a", "127.0.0.1:0", cluster.GossipDiscovery{Configure: quickForget})
	b := startGossip(t, "b", "127.0.0.1:0", cluster.GossipDiscovery{JoinAddress: a.gossipAddr})
	waitState(t, []*gossipNode{a, b}, rpcs(a, b), nil)
	ch, cancelWatch := a.m.Watch()
	defer cancelWatch()
	b.stop(t)
	waitState(t, []*gossipNode{a}, rpcs(a), rpcs(b))

	// memberlist forgets dead nodes after GossipToTheDeadTime; there is no
	// event for that, so watch for a while well past it: nothing may be
	// removed.
	quiet := time.After(3 * forgetDead)
	for watching := true; watching; {
		select {
		case c := <-ch:
			assert.Empty(t, c.Removed)
		case <-quiet:
			watching = false
		}
	}
	waitState(t, []*gossipNode{a}, rpcs(a), rpcs(b))
	a.stop(t)
	noLeaks(t, before)
}

// recordHandler keeps every record for assertions.
type recordHandler struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *recordHandler) WithGroup(string) slog.Handler            { return h }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r.Clone())
	return nil
}

// has reports whether a record at level whose message contains msg carries
// every attribute of attrs (key, value, key, value...).
func (h *recordHandler) has(level slog.Level, msg string, attrs ...string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.records {
		if r.Level != level || !strings.Contains(r.Message, msg) {
			continue
		}
		want := map[string]string{}
		for i := 0; i+1 < len(attrs); i += 2 {
			want[attrs[i]] = attrs[i+1]
		}
		r.Attrs(func(a slog.Attr) bool {
			if v, ok := want[a.Key]; ok && v == a.Value.String() {
				delete(want, a.Key)
			}
			return true
		})
		if len(want) == 0 {
			return true
		}
	}
	return false
}

// rawMeta is a memberlist delegate that gossips arbitrary metadata.
type rawMeta []byte

func (m rawMeta) NodeMeta(int) []byte                  { return m }
func (rawMeta) NotifyMsg([]byte)                       {}
func (rawMeta) GetBroadcasts(int, int) [][]byte        { return nil }
func (rawMeta) LocalState(bool) []byte                 { return nil }
func (rawMeta) MergeRemoteState(buf []byte, join bool) {}

// Members without an RPC address in their metadata (other programs, broken
// members) are logged and ignored.
func TestGossipIgnoresMembersWithoutRPCAddress(t *testing.T) {
	before := goleak.IgnoreCurrent()
	logs := &recordHandler{}
	a := startGossip(t, "a", "127.0.0.1:0", cluster.GossipDiscovery{Logger: slog.New(logs)})

	for i, meta := range []rawMeta{nil, rawMeta("not json"), rawMeta(`{"v":1}`), rawMeta(`{"v":1,"rpc":"no-port"}`)} {
		conf := memberlist.DefaultLocalConfig()
		fastTimings(conf)
		conf.Name = fmt.Sprint("intruder", i)
		conf.BindAddr, conf.BindPort = "127.0.0.1", 0
		conf.LogOutput = io.Discard
		conf.Delegate = meta
		intruder, err := memberlist.Create(conf)
		require.NoError(t, err)
		_, err = intruder.Join([]string{a.gossipAddr})
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			return logs.has(slog.LevelWarn, "ignoring gossip member without an RPC address", "node", conf.Name)
		}, eventually, tick, "no warning about %s (meta %q)", conf.Name, meta)
		require.NoError(t, intruder.Shutdown())
	}
	members, active := a.m.Snapshot()
	assert.Equal(t, []string{a.rpc}, members, "only the member itself")
	assert.Equal(t, 1, active)

	// memberlist's own logs go through the same logger.
	assert.True(t, logs.has(slog.LevelDebug, "memberlist:", "component", "memberlist"),
		"memberlist's debug logs reach the slog handler at their level")
	a.stop(t)
	noLeaks(t, before)
}

func TestGossipJoinUnreachable(t *testing.T) {
	before := goleak.IgnoreCurrent()
	d := cluster.GossipDiscovery{
		JoinAddress: deadAddress(t) + "," + deadAddress(t),
		RPCAddress:  "self.rpc.test:9000",
		BindAddress: "127.0.0.1:0",
		JoinTimeout: 500 * time.Millisecond,
		Configure:   fastTimings,
		Logger:      testLogger(t),
	}
	start := time.Now()
	err := d.Start(context.Background(), new(cluster.Membership))
	require.ErrorIs(t, err, cluster.ErrJoinFailed)
	assert.Contains(t, err.Error(), d.JoinAddress)
	t.Logf("gave up after %v: %v", time.Since(start).Round(time.Millisecond), err)
	noLeaks(t, before)
}

// Cancelling while the join is still being retried stops at once.
func TestGossipCancelDuringJoinRetries(t *testing.T) {
	before := goleak.IgnoreCurrent()
	logs := &recordHandler{}
	d := cluster.GossipDiscovery{
		JoinAddress: deadAddress(t),
		RPCAddress:  "self.rpc.test:9000",
		BindAddress: "127.0.0.1:0",
		JoinTimeout: time.Hour,
		Configure:   fastTimings,
		Logger:      slog.New(logs),
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Start(ctx, new(cluster.Membership)) }()
	require.Eventually(t, func() bool {
		return logs.has(slog.LevelWarn, "join failed; retrying")
	}, eventually, tick)
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(eventually):
		t.Fatal("Start did not return after cancel")
	}
	noLeaks(t, before)
}

func TestGossipBadInput(t *testing.T) {
	valid := cluster.GossipDiscovery{RPCAddress: "10.0.0.1:9000"}
	tests := []struct {
		name   string
		modify func(*cluster.GossipDiscovery)
		want   string
	}{
		{"missing rpc address", func(g *cluster.GossipDiscovery) { g.RPCAddress = "" }, "RPCAddress is empty"},
		{"rpc address without port", func(g *cluster.GossipDiscovery) { g.RPCAddress = "10.0.0.1" }, "RPCAddress"},
		{"rpc address with port 0", func(g *cluster.GossipDiscovery) { g.RPCAddress = "10.0.0.1:0" }, "RPCAddress"},
		{"rpc address too long", func(g *cluster.GossipDiscovery) { g.RPCAddress = strings.Repeat("a", 300) + ":1" }, "longer than"},
		{"join address without port", func(g *cluster.GossipDiscovery) { g.JoinAddress = "10.0.0.2" }, "JoinAddress entry 0"},
		{"join address with bad port", func(g *cluster.GossipDiscovery) { g.JoinAddress = "10.0.0.2:http" }, "JoinAddress entry 0"},
		{"join address port out of range", func(g *cluster.GossipDiscovery) { g.JoinAddress = "10.0.0.2:70000" }, "JoinAddress entry 0"},
		{"join address without host", func(g *cluster.GossipDiscovery) { g.JoinAddress = ":7946" }, "JoinAddress entry 0"},
		{"empty join entry", func(g *cluster.GossipDiscovery) { g.JoinAddress = "10.0.0.2:7946,,10.0.0.3:7946" }, "JoinAddress entry 1"},
		{"bind host not an ip", func(g *cluster.GossipDiscovery) { g.BindAddress = "localhost:7946" }, "BindAddress"},
		{"advertise without ip", func(g *cluster.GossipDiscovery) { g.AdvertiseAddress = ":7946" }, "AdvertiseAddress"},
		{"negative join timeout", func(g *cluster.GossipDiscovery) { g.JoinTimeout = -1 }, "JoinTimeout"},
		{"negative leave timeout", func(g *cluster.GossipDiscovery) { g.LeaveTimeout = -1 }, "LeaveTimeout"},
		{"negative remove after", func(g *cluster.GossipDiscovery) { g.RemoveAfter = -1 }, "RemoveAfter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := valid
			tt.modify(&g)
			err := g.Start(context.Background(), new(cluster.Membership)) // returns at once
			require.ErrorIs(t, err, cluster.ErrInvalidConfig)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	require.NoError(t, valid.Validate())
}
