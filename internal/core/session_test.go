package core

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSessionFloorWithOutOfOrderCompletion guards a bug that was once here:
// New computed the Floor before registering the new command, so a command
// issued when nothing else was pending carried Floor = Seq+1, and every
// learner skipped it as "below the floor" (its proposer then retried it
// forever).
func TestSessionFloorWithOutOfOrderCompletion(t *testing.T) {
	s := NewSession(42, 0)
	c1 := s.New([]byte("a"), 0)
	require.Equal(t, Command{Session: 42, Seq: 1, Floor: 1, Value: []byte("a")}, c1)
	c2 := s.New([]byte("b"), 0)
	c3 := s.New([]byte("c"), 0)
	assert.Equal(t, uint64(1), c2.Floor)
	assert.Equal(t, uint64(1), c3.Floor)

	require.True(t, s.Done(2))
	assert.Equal(t, uint64(1), s.Floor(), "1 is still pending")
	require.True(t, s.Done(1))
	assert.Equal(t, uint64(3), s.Floor(), "1 and 2 done: the floor jumps to 3")
	c4 := s.New([]byte("d"), 0)
	assert.Equal(t, uint64(3), c4.Floor)

	require.True(t, s.Done(3))
	require.True(t, s.Done(4))
	assert.Equal(t, uint64(5), s.Floor(), "nothing pending: the floor is the next seq")
	c5 := s.New([]byte("e"), 0)
	assert.Equal(t, uint64(5), c5.Seq)
	assert.Equal(t, uint64(5), c5.Floor, "a new command never carries a floor above its own seq")

	// The learners agree: every command is delivered.
	d := NewDedupe(0, 0)
	for i, c := range []Command{c1, c3, c2, c4, c5} {
		assert.True(t, d.Apply(c, uint64(i+1)), "seq %d", c.Seq)
	}
}

func TestSessionFloorNeverExceedsAPendingSeq(t *testing.T) {
	s := NewSession(1, 0)
	var live []uint64
	for i := range 200 {
		c := s.New([]byte("v"), 0)
		live = append(live, c.Seq)
		require.LessOrEqual(t, c.Floor, c.Seq)
		if i%3 == 1 {
			// finish one from the middle
			k := len(live) / 2
			require.True(t, s.Done(live[k]))
			live = append(live[:k], live[k+1:]...)
		}
		for _, seq := range live {
			require.LessOrEqual(t, s.Floor(), seq, "the floor passed a pending seq")
		}
	}
}

func TestSessionWindow(t *testing.T) {
	s := NewSession(1, 2)
	assert.False(t, s.Full())
	s.New([]byte("a"), 0)
	s.New([]byte("b"), 0)
	assert.True(t, s.Full())
	assert.Equal(t, 2, s.Len())
	s.Done(1)
	assert.False(t, s.Full())
	assert.False(t, s.Done(1), "done twice")
	assert.False(t, s.Done(99), "never issued")

	big := NewSession(1, 10*DefaultSessionWindow)
	assert.Equal(t, DefaultSessionWindow, big.max, "capped at what learners keep per session")
	assert.Equal(t, DefaultSessionPending, NewSession(1, 0).max)
}

func TestSessionSentAndDue(t *testing.T) {
	s := NewSession(1, 0)
	s.New([]byte("a"), 0)   // seq 1
	s.New([]byte("b"), 50)  // seq 2
	s.New([]byte("c"), 100) // seq 3
	next, ok := s.NextDue(10)
	require.True(t, ok)
	assert.Equal(t, int64(10), next)
	assert.Equal(t, []DueCmd{{Seq: 1}, {Seq: 2}}, s.Due(60, 10), "oldest first")
	assert.Empty(t, s.Due(60, 10), "a due command is handed out once, until it is sent again")
	next, _ = s.NextDue(10)
	assert.Equal(t, int64(110), next, "only seq 3 is waiting on a timer")

	// The caller sends them again.
	c, ok := s.Sent(1, "m2", 170)
	require.True(t, ok)
	assert.Equal(t, uint64(1), c.Seq)
	_, ok = s.Sent(2, "", 175)
	require.True(t, ok)
	assert.Equal(t, []DueCmd{{Seq: 3}, {Seq: 1, Attempts: 1, Via: "m2"}, {Seq: 2, Attempts: 1}}, s.Due(300, 10),
		"in the order they were last sent (100, 170, 175)")
	assert.Equal(t, []DueCmd{{Seq: 1, Attempts: 1, Via: "m2"}}, s.Via("m2"))
	assert.True(t, s.Pending(1))

	s.Done(1)
	c, ok = s.Sent(2, "", 180)
	require.True(t, ok)
	assert.Equal(t, uint64(2), c.Floor, "a resent command carries a fresh floor")
	_, ok = s.Sent(1, "", 180)
	assert.False(t, ok, "a done command is never sent again")
	assert.False(t, s.Pending(1))
	assert.Empty(t, s.Via("m2"))

	s.Done(2)
	s.Done(3)
	_, ok = s.NextDue(10)
	assert.False(t, ok)
	assert.Empty(t, s.Due(1<<40, 0))
	assert.Equal(t, uint64(1), s.ID())
}

// A command sent at a negative time (a clock read below the epoch, as in
// the simulator) is due in time order with the others.
func TestSessionDueWithANegativeTime(t *testing.T) {
	s := NewSession(1, 0)
	s.New([]byte("a"), -100) // seq 1, sent before the epoch
	s.New([]byte("b"), 50)   // seq 2
	assert.Equal(t, []DueCmd{{Seq: 1}}, s.Due(60, 100), "seq 1 has waited 160 >= 100")
	next, ok := s.NextDue(100)
	require.True(t, ok)
	assert.Equal(t, int64(150), next)
}

// The queue pops in push order, with times that never go back, across
// interleaved pushes and pops that make it reuse its popped space.
func TestDueQueuePopsInSendOrder(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for round := range 300 {
		var q dueQueue
		var want []dueItem
		clock := int64(0)
		for i := range rnd.IntN(200) {
			clock += rnd.Int64N(4) - 1 // now and then a step back
			q.push(dueItem{at: clock, seq: uint64(i), gen: uint64(round)})
			want = append(want, dueItem{at: clock, seq: uint64(i)})
			for rnd.IntN(3) == 0 && len(want) > 0 {
				checkPop(t, &q, want[0], round)
				want = want[1:]
			}
		}
		for _, w := range want {
			checkPop(t, &q, w, round)
		}
		require.Zero(t, q.len(), "round %d", round)
	}
}

func checkPop(t *testing.T, q *dueQueue, want dueItem, round int) {
	t.Helper()
	require.Positive(t, q.len(), "round %d", round)
	require.Equal(t, q.peek(), q.items[q.head])
	got := q.pop()
	require.Equal(t, want.seq, got.seq, "round %d: pops in push order", round)
	require.GreaterOrEqual(t, got.at, want.at, "round %d: a time is only ever raised", round)
	if q.len() > 0 {
		require.LessOrEqual(t, got.at, q.peek().at, "round %d: times never go back", round)
	}
}
