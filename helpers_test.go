package paxos_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/mjpitz/myago/paxos"
	"github.com/mjpitz/myago/paxos/cluster"
	"github.com/mjpitz/myago/paxos/paxostest"
)

// waitLong bounds every wait of these tests: generous, because the machine
// is shared and the race detector slows everything down.
const waitLong = 30 * time.Second

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	t.Cleanup(cancel)
	return ctx
}

// memberConfig is a complete Config for member name (server id id) on net,
// over fresh Memory Logs.
func memberConfig(net *paxostest.Network, name string, id uint8) *paxos.Config {
	mem := &paxos.Memory{}
	return &paxos.Config{
		IDGenerator:    paxos.ServerIDGenerator(id, clockwork.NewRealClock()),
		PromiseLog:     mem.WithPrefix("promise"),
		AcceptedLog:    mem.WithPrefix("accepted"),
		RecordedLog:    mem.WithPrefix("recorded"),
		AcceptorDialer: net.AcceptorDialer(name),
		ObserverDialer: net.ObserverDialer(name),
		Self:           name,
	}
}

func membershipOf(names ...string) *cluster.Membership {
	m := &cluster.Membership{}
	m.Add(names)
	return m
}

// running is a Start call in progress.
type running struct {
	cancel context.CancelFunc
	done   chan error
}

// start runs p.Start on a goroutine; stop ends it. The test fails if Start
// has not returned by the end of the test.
func start(t testing.TB, p *paxos.Paxos, m *cluster.Membership) *running {
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- p.Start(ctx, m) }()
	t.Cleanup(func() { _ = r.stop(t) })
	return r
}

// stop cancels Start and returns its error once it returned.
func (r *running) stop(t testing.TB) error {
	r.cancel()
	select {
	case err, ok := <-r.done:
		if ok {
			close(r.done)
		}
		return err
	case <-time.After(waitLong):
		t.Fatalf("Start did not return within %v of its context ending", waitLong)
		return nil
	}
}

// proposeInBackground runs workers proposers, worker w on member(w) (nil:
// skip a turn), each Propose bounded by a second, errors ignored, until
// the returned stop is called.
func proposeInBackground(workers int, member func(w int) *paxos.Paxos) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; ; k++ {
				select {
				case <-done:
					return
				default:
				}
				if p := member(w); p != nil {
					ctx, cancel := context.WithTimeout(context.Background(), time.Second)
					_, _ = p.Propose(ctx, fmt.Appendf(nil, "w%d-%d", w, k))
					cancel()
				}
			}
		}()
	}
	return func() {
		close(done)
		wg.Wait()
	}
}

// background runs fn on a goroutine until the returned stop is called (or
// the test ends); stop returns fn's error.
func background(t testing.TB, fn func(ctx context.Context) error) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(waitLong):
				t.Errorf("still running %v after its context ended", waitLong)
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// singleMember starts a one-voter member "m0" on its own network.
func singleMember(t testing.TB, configure func(*paxos.Config)) (*paxos.Paxos, *running, *paxos.Config) {
	t.Helper()
	net := paxostest.NewNetwork(1)
	cfg := memberConfig(net, "m0", 1)
	if configure != nil {
		configure(cfg)
	}
	p, err := paxos.New(cfg)
	require.NoError(t, err)
	net.Register("m0", p)
	return p, start(t, p, membershipOf("m0")), cfg
}

// records reads every record of a RecordedLog, by position.
func records(t testing.TB, l paxos.Log) []paxos.Proposal {
	t.Helper()
	var out []paxos.Proposal
	require.NoError(t, l.Range(1, ^uint64(0), paxos.Proposal{}, func(msg interface{}) error {
		out = append(out, *msg.(*paxos.Proposal))
		return nil
	}))
	return out
}

// requireLog checks that recs holds exactly want at positions 1..n.
func requireLog(t testing.TB, want []string, recs []paxos.Proposal) {
	t.Helper()
	require.Len(t, recs, len(want))
	for i, r := range recs {
		require.Equal(t, uint64(i+1), r.ID, "position of record %d", i)
		require.Equal(t, want[i], string(r.Value), "value at position %d", i+1)
	}
}

// watchLog wraps a Log (and the views it makes) to count the calls made
// once Close has been called on it: a member that stopped must make none.
type watchLog struct {
	paxos.Log
	w *logWatch
}

type logWatch struct {
	closed atomic.Bool
	mu     sync.Mutex
	late   []string
}

func (w *logWatch) note(op string) {
	if w.closed.Load() {
		w.mu.Lock()
		w.late = append(w.late, op)
		w.mu.Unlock()
	}
}

func (w *logWatch) lateCalls() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.late...)
}

func (l watchLog) WithPrefix(p string) paxos.Log {
	return watchLog{Log: l.Log.WithPrefix(p), w: l.w}
}

func (l watchLog) Record(id uint64, msg interface{}) error {
	l.w.note(fmt.Sprintf("Record(%d)", id))
	return l.Log.Record(id, msg)
}

func (l watchLog) RecordBatch(ids []uint64, msgs []interface{}) error {
	l.w.note(fmt.Sprintf("RecordBatch(%v)", ids))
	if bl, ok := l.Log.(paxos.BatchLog); ok {
		return bl.RecordBatch(ids, msgs)
	}
	for i, id := range ids {
		if err := l.Log.Record(id, msgs[i]); err != nil {
			return err
		}
	}
	return nil
}

func (l watchLog) Last(msg interface{}) error {
	l.w.note("Last")
	return l.Log.Last(msg)
}

func (l watchLog) Range(start, stop uint64, proto interface{}, fn func(interface{}) error) error {
	l.w.note(fmt.Sprintf("Range(%d, %d)", start, stop))
	return l.Log.Range(start, stop, proto, fn)
}
