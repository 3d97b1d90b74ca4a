package cluster_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mjpitz/myago/paxos/cluster"
)

// fakeResolver hands each lookup to the test, which answers it: while the
// test holds a lookup, the discovery has applied every earlier answer and
// waits, so the test can check the Membership without racing it.
type fakeResolver struct {
	calls chan lookupCall
}

type lookupCall struct {
	kind  string // "host" or "srv"
	name  string
	reply chan<- lookupAnswer
}

type lookupAnswer struct {
	hosts []string
	srv   []*net.SRV
	err   error
}

func (f *fakeResolver) do(ctx context.Context, kind, name string) lookupAnswer {
	reply := make(chan lookupAnswer, 1)
	select {
	case f.calls <- lookupCall{kind, name, reply}:
	case <-ctx.Done():
		return lookupAnswer{err: ctx.Err()}
	}
	select {
	case a := <-reply:
		return a
	case <-ctx.Done():
		return lookupAnswer{err: ctx.Err()}
	}
}

func (f *fakeResolver) LookupHost(ctx context.Context, host string) ([]string, error) {
	a := f.do(ctx, "host", host)
	return a.hosts, a.err
}

func (f *fakeResolver) LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error) {
	if service != "" || proto != "" {
		return "", nil, errors.New("fake: expected a plain SRV name")
	}
	a := f.do(ctx, "srv", name)
	return name, a.srv, a.err
}

// dnsHarness runs a DNSDiscovery over a fake resolver.
type dnsHarness struct {
	t      *testing.T
	m      *cluster.Membership
	calls  chan lookupCall
	kind   string
	name   string
	held   *lookupCall
	done   chan error
	cancel context.CancelFunc
}

func startDNS(t *testing.T, d cluster.DNSDiscovery) *dnsHarness {
	t.Helper()
	h := &dnsHarness{t: t, m: new(cluster.Membership), calls: make(chan lookupCall), kind: "srv", name: d.Name, done: make(chan error, 1)}
	if d.Port != 0 {
		h.kind = "host"
	}
	d.Resolver = &fakeResolver{calls: h.calls}
	if d.ResolveInterval == 0 {
		d.ResolveInterval = time.Millisecond
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- d.Start(ctx, h.m) }()
	t.Cleanup(h.stop)
	return h
}

// next returns the lookup in progress, waiting for it if needed.
func (h *dnsHarness) next() lookupCall {
	h.t.Helper()
	if h.held != nil {
		c := *h.held
		h.held = nil
		return c
	}
	select {
	case c := <-h.calls:
		assert.Equal(h.t, h.kind, c.kind, "lookup kind")
		assert.Equal(h.t, h.name, c.name, "looked-up name")
		return c
	case <-time.After(30 * time.Second):
		h.t.Fatal("no lookup within 30 s")
		return lookupCall{}
	}
}

// answer replies to the next lookup.
func (h *dnsHarness) answer(a lookupAnswer) { h.next().reply <- a }

// state waits until the previous answer has been applied and returns the
// Membership then.
func (h *dnsHarness) state() (active, left []string) {
	h.t.Helper()
	c := h.next()
	h.held = &c
	members, n := h.m.Snapshot()
	return nilIfEmpty(members[:n]), nilIfEmpty(members[n:])
}

func (h *dnsHarness) stop() {
	h.cancel()
	select {
	case err := <-h.done:
		assert.NoError(h.t, err)
	case <-time.After(30 * time.Second):
		h.t.Fatal("Start did not return within 30 s of cancel")
	}
}

func TestDNSDiscoveryHostsWithPort(t *testing.T) {
	h := startDNS(t, cluster.DNSDiscovery{Name: "paxos.example.test", Port: 9000})
	ch, cancelWatch := h.m.Watch()
	defer cancelWatch()
	<-ch

	h.answer(lookupAnswer{hosts: []string{"10.0.0.2", "10.0.0.1", "::1", ""}})
	active, left := h.state()
	assert.Equal(t, list("10.0.0.1:9000", "10.0.0.2:9000", "[::1]:9000"), active)
	assert.Nil(t, left)

	// A disappearing address is marked left; without RemoveAfter it stays so.
	h.answer(lookupAnswer{hosts: []string{"10.0.0.1", "::1"}})
	h.answer(lookupAnswer{hosts: []string{"10.0.0.1", "::1"}})
	h.answer(lookupAnswer{hosts: []string{"10.0.0.1", "::1"}})
	active, left = h.state()
	assert.Equal(t, list("10.0.0.1:9000", "[::1]:9000"), active)
	assert.Equal(t, list("10.0.0.2:9000"), left)

	// Failed lookups, "not found" included, change nothing.
	h.answer(lookupAnswer{err: errors.New("server misbehaving")})
	h.answer(lookupAnswer{err: &net.DNSError{Err: "no such host", Name: "paxos.example.test", IsNotFound: true}})
	active2, left2 := h.state()
	assert.Equal(t, active, active2)
	assert.Equal(t, left, left2)

	// Coming back makes it active again; new addresses are added.
	h.answer(lookupAnswer{hosts: []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "::1"}})
	active, left = h.state()
	assert.Equal(t, list("10.0.0.1:9000", "10.0.0.2:9000", "10.0.0.3:9000", "[::1]:9000"), active)
	assert.Nil(t, left)

	// An empty answer (no error) means every member is gone.
	h.answer(lookupAnswer{hosts: nil})
	active, left = h.state()
	assert.Nil(t, active)
	assert.Len(t, left, 4)

	// No change was ever a removal (a pending message carries the removals
	// of every change it coalesced).
	select {
	case c := <-ch:
		assert.Nil(t, c.Removed)
	default:
	}
}

func TestDNSDiscoveryRemoveAfter(t *testing.T) {
	h := startDNS(t, cluster.DNSDiscovery{Name: "paxos.example.test", Port: 9000, RemoveAfter: time.Nanosecond})
	ch, cancelWatch := h.m.Watch()
	defer cancelWatch()
	<-ch

	h.answer(lookupAnswer{hosts: []string{"10.0.0.1", "10.0.0.2"}})
	h.answer(lookupAnswer{hosts: []string{"10.0.0.1"}})
	active, left := h.state()
	assert.Equal(t, list("10.0.0.1:9000"), active)
	assert.Equal(t, list("10.0.0.2:9000"), left, "left first, removed no earlier than the next lookup")

	h.answer(lookupAnswer{hosts: []string{"10.0.0.1"}})
	active, left = h.state()
	assert.Equal(t, list("10.0.0.1:9000"), active)
	assert.Nil(t, left)
	got := waitFor(t, ch, func(c cluster.MembershipChange) bool { return len(c.Removed) > 0 })
	assert.Equal(t, list("10.0.0.2:9000"), got.Removed)
}

func TestDNSDiscoverySRV(t *testing.T) {
	h := startDNS(t, cluster.DNSDiscovery{Name: "_paxos._tcp.example.test"})
	h.answer(lookupAnswer{srv: []*net.SRV{
		{Target: "b.example.test.", Port: 9001},
		{Target: "a.example.test.", Port: 9000},
		{Target: ".", Port: 9000},            // "no service": skipped
		{Target: "c.example.test.", Port: 0}, // cannot be dialled: skipped
		nil,
	}})
	active, left := h.state()
	assert.Equal(t, list("a.example.test:9000", "b.example.test:9001"), active)
	assert.Nil(t, left)
}

func TestDNSDiscoveryZeroIntervalMeansDefault(t *testing.T) {
	require.Equal(t, 30*time.Second, cluster.DefaultResolveInterval)
	d := cluster.DNSDiscovery{Name: "paxos.example.test", Port: 9000}
	require.NoError(t, d.Validate())

	calls := make(chan lookupCall)
	d.Resolver = &fakeResolver{calls: calls}
	var m cluster.Membership
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Start(ctx, &m) }()

	(<-calls).reply <- lookupAnswer{hosts: []string{"10.0.0.1"}}
	// The next lookup is 30 s away: it must not come at once, as a zero
	// interval used as such would make it (or panic in time.NewTicker).
	select {
	case <-calls:
		t.Fatal("second lookup right after the first with a zero ResolveInterval")
	case <-time.After(200 * time.Millisecond):
	}
	cancel()
	require.NoError(t, <-done)
}

func TestDNSDiscoveryStopsDuringLookup(t *testing.T) {
	h := startDNS(t, cluster.DNSDiscovery{Name: "paxos.example.test", Port: 9000})
	h.next() // a lookup in progress that is never answered
	h.cancel()
	select {
	case err := <-h.done:
		require.NoError(t, err)
		h.done <- err // for the cleanup
	case <-time.After(30 * time.Second):
		t.Fatal("Start did not return within 30 s of cancel")
	}
}

func TestDNSDiscoveryBadInput(t *testing.T) {
	tests := []struct {
		name string
		d    cluster.DNSDiscovery
		want string
	}{
		{"missing name", cluster.DNSDiscovery{Port: 9000}, "Name is empty"},
		{"blank name", cluster.DNSDiscovery{Name: " ", Port: 9000}, "Name is empty"},
		{"negative interval", cluster.DNSDiscovery{Name: "x", ResolveInterval: -time.Second}, "ResolveInterval -1s is negative"},
		{"negative lookup timeout", cluster.DNSDiscovery{Name: "x", LookupTimeout: -1}, "LookupTimeout"},
		{"negative remove after", cluster.DNSDiscovery{Name: "x", RemoveAfter: -1}, "RemoveAfter"},
		{"port too large", cluster.DNSDiscovery{Name: "x", Port: 65536}, "Port 65536"},
		{"negative port", cluster.DNSDiscovery{Name: "x", Port: -1}, "Port -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.d.Start(context.Background(), new(cluster.Membership)) // returns at once
			require.ErrorIs(t, err, cluster.ErrInvalidConfig)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}
