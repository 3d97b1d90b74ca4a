package paxos

import (
	"context"
	"math/rand/v2"
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

// newGatedAcceptor returns an acceptor whose accepted Log can hold a write,
// and a chosen-only Observe stream of it from slot 1.
func newGatedAcceptor(t *testing.T) (*acceptor, *gateLog, <-chan core.Entry, context.Context) {
	t.Helper()
	store := &Memory{}
	entries := &gateLog{Log: store.WithPrefix("accepted")}
	a, err := newAcceptor(store.WithPrefix("promise"), entries, clockwork.NewRealClock(), nil)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	got := make(chan core.Entry, 16)
	go func() {
		_ = a.observe(ctx, func() { cancel() }, 1, false, func(e core.Entry) error { got <- e; return nil })
	}()
	return a, entries, got, ctx
}

func (g *gateLog) arm() {
	g.mu.Lock()
	g.armed, g.held, g.open = true, make(chan struct{}), make(chan struct{})
	g.mu.Unlock()
}

func oneCmd(v string) []Command { return []Command{{Session: 1, Seq: 1, Value: []byte(v)}} }

// leadAndAccept has proposer take ballot on a and get value accepted in slot 1.
func leadAndAccept(ctx context.Context, t *testing.T, a *acceptor, ballot uint64, proposer, value string) {
	t.Helper()
	_, err := a.Prepare(ctx, &Request{ID: ballot, Slot: 1, Proposer: proposer})
	require.NoError(t, err)
	_, err = a.Accept(ctx, &Proposal{ID: ballot, Slot: 1, Commands: oneCmd(value)})
	require.NoError(t, err)
}

// A follower learns a slot is chosen from the watermark on the next Accept
// before that Accept's own write is durable: one sync sooner.
func TestObserveSendsTheWatermarkBeforeTheNextWrite(t *testing.T) {
	a, entries, got, ctx := newGatedAcceptor(t)
	leadAndAccept(ctx, t, a, 1, "leader", "one")

	entries.arm()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = a.Accept(ctx, &Proposal{ID: 1, Slot: 2, Chosen: 1, Commands: oneCmd("two")})
	}()
	<-entries.held // slot 2's write is not durable
	requireChosen(t, got, 1, "one")
	close(entries.open)
	<-done
}

// The early watermark must not cover a slot whose durable entry a queued
// write is about to replace: that entry was superseded (accepted at a lower
// ballot), and the chosen value is the one being written.
func TestObserveEarlyWatermarkSkipsASlotBeingOverwritten(t *testing.T) {
	a, entries, got, ctx := newGatedAcceptor(t)
	leadAndAccept(ctx, t, a, 1, "old-leader", "old")
	_, err := a.Prepare(ctx, &Request{ID: 2, Slot: 1, Proposer: "new-leader"})
	require.NoError(t, err)

	entries.arm()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // the new leader's value for slot 1, held
		defer wg.Done()
		_, _ = a.Accept(ctx, &Proposal{ID: 2, Slot: 1, Commands: oneCmd("new")})
	}()
	<-entries.held
	go func() { // then slot 2, saying slot 1 is chosen
		defer wg.Done()
		_, _ = a.Accept(ctx, &Proposal{ID: 2, Slot: 2, Chosen: 1, Commands: oneCmd("two")})
	}()
	queued(t, a, 1)
	select {
	case e := <-got:
		t.Fatalf("slot %d (%q) streamed as chosen before the chosen value was durable", e.Slot, e.Cmds[0].Value)
	case <-time.After(50 * time.Millisecond): // a stream that would send has had ample time
	}
	close(entries.open)
	wg.Wait()
	requireChosen(t, got, 1, "new")
}

// requireChosen waits for the stream's next entry: slot, decided, value.
func requireChosen(t *testing.T, got <-chan core.Entry, slot uint64, value string) {
	t.Helper()
	select {
	case e := <-got:
		require.Equal(t, slot, e.Slot)
		require.True(t, e.Decided)
		require.Equal(t, value, string(e.Cmds[0].Value))
	case <-time.After(5 * time.Second):
		t.Fatalf("slot %d was not streamed as chosen", slot)
	}
}

// The tail holds at most tailSlots slots and about tailBytes, and every slot
// from low up that was put is still there.
func TestTailIsBoundedBySlotsAndBytes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value int
		puts  int
	}{
		{"small entries", 16, 3 * tailSlots},
		{"large entries", 256 << 10, 1000}, // 64 values of 4 KiB per slot: 256 MiB put
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tl tail
			tl.reset(0)
			value := make([]byte, tc.value)
			for slot := uint64(1); slot <= uint64(tc.puts); slot++ {
				tl.put(core.Entry{Slot: slot, Ballot: 1, Cmds: []core.Command{{Session: 1, Seq: slot, Value: value}}})
				require.LessOrEqual(t, tl.top-tl.low, uint64(tailSlots))
				e, _ := tl.get(slot)
				require.LessOrEqual(t, tl.bytes, tailBytes+entrySize(e))
			}
			require.Equal(t, uint64(tc.puts), tl.top)
			sum := 0
			for slot := tl.low; slot <= tl.top; slot++ {
				e, ok := tl.get(slot)
				if !ok {
					t.Fatalf("slot %d is missing from the tail [%d, %d]", slot, tl.low, tl.top)
				}
				sum += entrySize(e)
			}
			require.Equal(t, sum, tl.bytes)
		})
	}
}

// The ring tail against a map model: puts in order, out of order, again,
// below the tail and far above it; every slot from low up that the model
// holds is in the tail, nothing else is, and the byte count adds up.
func TestTailMatchesAMapModel(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 11))
	for round := range 50 {
		var tl tail
		start := rnd.Uint64N(1 << 40)
		tl.reset(start)
		model := map[uint64]core.Entry{}
		next := start + 1
		for step := range 3000 {
			var slot uint64
			switch r := rnd.IntN(100); {
			case r < 70:
				slot = next // in order
				next++
			case r < 85:
				slot = next + rnd.Uint64N(40) // ahead, leaving holes
			case r < 95:
				slot = tl.low + rnd.Uint64N(tl.top-tl.low+2) // again, or below
				if slot > 8 && rnd.IntN(4) == 0 {
					slot -= rnd.Uint64N(8) + 1
				}
			case r < 99:
				slot = next + tailSlots + rnd.Uint64N(3*tailSlots) // far above
			default:
				slot = next + 1<<40 // a jump no walk could cover
			}
			next = max(next, slot+1)
			e := core.Entry{Slot: slot, Ballot: uint64(step), Cmds: []core.Command{{Session: 1, Seq: slot, Value: make([]byte, rnd.IntN(64))}}}
			if slot >= tl.low {
				model[slot] = e
			}
			tl.put(e)
			for s := range model {
				if s < tl.low {
					delete(model, s)
				}
			}
			if tl.top >= tl.low { // else empty: top is low-1
				require.LessOrEqual(t, tl.top-tl.low, uint64(tailSlots), "round %d step %d", round, step)
			}
			if step%97 != 0 {
				continue
			}
			sum := 0
			for s, want := range model {
				got, ok := tl.get(s)
				require.True(t, ok, "round %d step %d: slot %d missing", round, step, s)
				require.Equal(t, want.Ballot, got.Ballot)
				sum += entrySize(want)
			}
			require.Equal(t, sum, tl.bytes, "round %d step %d", round, step)
			for s := tl.low; s <= tl.top && s < tl.low+200; s++ {
				_, ok := tl.get(s)
				_, in := model[s]
				require.Equal(t, in, ok, "round %d step %d: slot %d", round, step, s)
			}
		}
	}
}

// A chosen-only stream drops undecided entries: published must not queue
// them for it (each would wake its goroutine for nothing), while a stream
// that asked for votes gets them.
func TestPublishedQueuesVotesOnlyForStreamsThatWantThem(t *testing.T) {
	store := &Memory{}
	a, err := newAcceptor(store.WithPrefix("promise"), store.WithPrefix("accepted"), clockwork.NewRealClock(), nil)
	require.NoError(t, err)
	newSub := func(votes bool) *observeSub {
		return &observeSub{ch: make(chan core.Entry, 8), wake: make(chan struct{}, 1), votes: votes}
	}
	chosenOnly, withVotes := newSub(false), newSub(true)
	a.mu.Lock()
	a.subs = append(a.subs, chosenOnly, withVotes)
	a.mu.Unlock()

	ctx := context.Background()
	leadAndAccept(ctx, t, a, 1, "leader", "one") // slot 1, not yet known chosen
	require.Len(t, withVotes.ch, 1)
	require.Empty(t, chosenOnly.ch)

	_, err = a.Accept(ctx, &Proposal{ID: 1, Slot: 2, Chosen: 2, Commands: oneCmd("two")}) // decided by its own write
	require.NoError(t, err)
	require.Len(t, withVotes.ch, 2)
	require.Len(t, chosenOnly.ch, 1)
	e := <-chosenOnly.ch
	require.Equal(t, uint64(2), e.Slot)
	require.True(t, e.Decided)
}

// A member's own stream is not woken for slots its learner has already
// (a leader's learner hears of them from its proposer first).
func TestStreamIsNotWokenForSlotsItsConsumerHas(t *testing.T) {
	store := &Memory{}
	a, err := newAcceptor(store.WithPrefix("promise"), store.WithPrefix("accepted"), clockwork.NewRealClock(), nil)
	require.NoError(t, err)
	sub := &observeSub{ch: make(chan core.Entry, 8), wake: make(chan struct{}, 1),
		need: func() uint64 { return 3 }}
	a.mu.Lock()
	a.subs = append(a.subs, sub)
	a.mu.Unlock()
	woken := func() bool {
		select {
		case <-sub.wake:
			return true
		default:
			return false
		}
	}

	ctx := context.Background()
	leadAndAccept(ctx, t, a, 1, "leader", "one")
	for slot := uint64(2); slot <= 3; slot++ { // watermarks 1 and 2: below what it needs
		_, err = a.Accept(ctx, &Proposal{ID: 1, Slot: slot, Chosen: slot - 1, Commands: oneCmd("v")})
		require.NoError(t, err)
		require.False(t, woken(), "woken for watermark %d", slot-1)
	}
	_, err = a.Accept(ctx, &Proposal{ID: 1, Slot: 4, Chosen: 3, Commands: oneCmd("v")})
	require.NoError(t, err)
	require.True(t, woken(), "not woken for watermark 3")
	require.Empty(t, sub.ch)

	_, err = a.Accept(ctx, &Proposal{ID: 1, Slot: 5, Chosen: 5, Commands: oneCmd("v")})
	require.NoError(t, err)
	require.Len(t, sub.ch, 1) // slot 5, decided by its own write
}
