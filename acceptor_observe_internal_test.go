package paxos

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/mjpitz/myago/paxos/internal/core"
)

// gateLog holds writes while armed, so that the next steps queue up and
// are committed together in one batch.
type gateLog struct {
	Log
	mu    sync.Mutex
	armed bool
	held  chan struct{} // closed once a write waits
	open  chan struct{} // closed to let it go
}

func (g *gateLog) wait() {
	g.mu.Lock()
	armed := g.armed
	g.armed = false
	g.mu.Unlock()
	if armed {
		close(g.held)
		<-g.open
	}
}

func (g *gateLog) Record(id uint64, msg interface{}) error { g.wait(); return g.Log.Record(id, msg) }
func (g *gateLog) RecordBatch(ids []uint64, msgs []interface{}) error {
	g.wait()
	return g.Log.(BatchLog).RecordBatch(ids, msgs)
}

// Found by the multi-process fault test. An old leader's retransmitted Accept (ballot 1, value "old") and the
// learner's Learn of the chosen value (ballot 2, value "new") land in one
// group-commit batch. The Observe stream must never call "old" decided.
func TestObserveNeverCallsASupersededEntryDecided(t *testing.T) {
	store := &Memory{}
	entries := &gateLog{Log: store.WithPrefix("accepted")}
	a, err := newAcceptor(store.WithPrefix("promise"), entries, clockwork.NewRealClock(), nil)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	cmd := func(v string) []Command { return []Command{{Session: 1, Seq: 1, Value: []byte(v)}} }
	_, err = a.Prepare(ctx, &Request{ID: 1, Slot: 1, Proposer: "old-leader"})
	require.NoError(t, err)
	_, err = a.Accept(ctx, &Proposal{ID: 1, Slot: 1, Commands: cmd("old")})
	require.NoError(t, err)

	got := make(chan core.Entry, 16)
	go func() {
		_ = a.observe(ctx, func() { cancel() }, 1, true, func(e core.Entry) error { got <- e; return nil })
	}()
	first := <-got
	require.False(t, first.Decided)

	// Hold the next write (an unrelated slot) so the two steps below queue.
	entries.mu.Lock()
	entries.armed, entries.held, entries.open = true, make(chan struct{}), make(chan struct{})
	entries.mu.Unlock()
	go func() { _, _ = a.Accept(ctx, &Proposal{ID: 1, Slot: 5, Commands: cmd("other")}) }()
	<-entries.held
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the old leader resends slot 1
		defer wg.Done()
		_, _ = a.Accept(ctx, &Proposal{ID: 1, Slot: 1, Commands: cmd("old")})
	}()
	queued(t, a, 1) // it queued first
	wg.Add(1)
	go func() { // the learner learned slot 1 = "new" at ballot 2
		defer wg.Done()
		_ = a.learn([]core.Entry{{Slot: 1, Ballot: 2, Cmds: toCoreCmds(cmd("new")), Decided: true}})
	}()
	queued(t, a, 2)
	close(entries.open)
	wg.Wait()

	deadline := time.After(5 * time.Second)
	for {
		select {
		case e := <-got:
			if e.Slot == 1 && e.Decided {
				require.Equal(t, "new", string(e.Cmds[0].Value), "slot 1 streamed as decided with ballot %d", e.Ballot)
				return
			}
		case <-deadline:
			t.Fatal("slot 1 never streamed as decided")
		}
	}
}

// queued waits until n steps wait for the write in progress.
func queued(t *testing.T, a *acceptor, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return len(a.queue) == n
	}, 10*time.Second, time.Millisecond)
}
