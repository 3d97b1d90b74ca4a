package core

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func vote(slot, ballot uint64, v ...string) Entry {
	return Entry{Slot: slot, Ballot: ballot, Cmds: cmds(v...)}
}

func decided(slot, ballot uint64, v ...string) Entry {
	e := vote(slot, ballot, v...)
	e.Decided = true
	return e
}

// voteIn is one Observe call: an entry reported by a voter's acceptor.
type voteIn struct {
	voter int
	e     Entry
}

func TestLearnerCountsVotesPerBallot(t *testing.T) {
	tests := []struct {
		name        string
		voters      int
		votes       []voteIn
		wantDecided bool
	}{
		{"a majority of three at one ballot", 3, []voteIn{{0, vote(1, 2, "a")}, {2, vote(1, 2, "a")}}, true},
		{"majority-1 of three", 3, []voteIn{{0, vote(1, 2, "a")}}, false},
		{"majority-1 of five", 5, []voteIn{{0, vote(1, 2, "a")}, {4, vote(1, 2, "a")}}, false},
		{"a majority of five", 5, []voteIn{{0, vote(1, 2, "a")}, {4, vote(1, 2, "a")}, {3, vote(1, 2, "a")}}, true},
		{"the same voter twice counts once", 3, []voteIn{{1, vote(1, 2, "a")}, {1, vote(1, 2, "a")}}, false},
		{"a majority split over ballots is not a majority", 3, []voteIn{{0, vote(1, 2, "a")}, {1, vote(1, 3, "a")}}, false},
		{"a single voter is a majority of one", 1, []voteIn{{0, vote(1, 2, "a")}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLearner(LearnerConfig{Voters: tt.voters}, nil)
			for _, v := range tt.votes {
				l.Observe(v.voter, v.e)
			}
			o := l.Output()
			if !tt.wantDecided {
				assert.Empty(t, o.Decided)
				assert.Empty(t, o.Deliveries)
				assert.Equal(t, uint64(1), l.Next())
				return
			}
			require.Len(t, o.Decided, 1)
			assert.True(t, o.Decided[0].Decided)
			assert.Equal(t, []string{"a"}, values(o.Deliveries))
			assert.Equal(t, uint64(2), l.Next())
		})
	}
}

func TestLearnerDecidedEntriesAreAuthoritative(t *testing.T) {
	l := NewLearner(LearnerConfig{Voters: 3}, nil)
	l.Observe(0, vote(1, 5, "loser"))
	l.Observe(2, decided(1, 3, "winner"))
	o := l.Output()
	require.Len(t, o.Decided, 1)
	assert.Equal(t, []string{"winner"}, values(o.Deliveries))
	// Nothing said about slot 1 afterwards changes it.
	l.Observe(1, vote(1, 5, "loser"))
	l.Decide(decided(1, 9, "other"))
	o = l.Output()
	assert.Empty(t, o.Decided)
	assert.Empty(t, o.Deliveries)
}

func TestLearnerDeliversInSlotOrderWithPositions(t *testing.T) {
	l := NewLearner(LearnerConfig{Voters: 3}, nil)
	d := Command{Session: 2, Seq: 1, Value: []byte("d")} // another session
	l.Decide(Entry{Slot: 3, Ballot: 1, Cmds: []Command{d}})
	l.Decide(Entry{Slot: 2, Ballot: 1, Decided: true}) // a no-op
	o := l.Output()
	assert.Len(t, o.Decided, 2)
	assert.Empty(t, o.Deliveries, "slot 1 is not known yet")
	l.Decide(decided(1, 1, "a", "b", "c"))
	o = l.Output()
	require.Len(t, o.Deliveries, 4)
	want := []Delivery{
		{Pos: 1, Slot: 1, Offset: 0, Cmd: cmds("a", "b", "c")[0]},
		{Pos: 2, Slot: 1, Offset: 1, Cmd: cmds("a", "b", "c")[1]},
		{Pos: 3, Slot: 1, Offset: 2, Cmd: cmds("a", "b", "c")[2]},
		{Pos: 4, Slot: 3, Offset: 0, Cmd: d},
	}
	assert.Equal(t, want, o.Deliveries, "a no-op occupies no position")
	assert.Equal(t, uint64(4), l.Next())
	assert.Equal(t, uint64(4), l.Pos())
	assert.Equal(t, 0, l.Buffered())
}

func TestLearnerSkipsDuplicateCommands(t *testing.T) {
	l := NewLearner(LearnerConfig{Voters: 1}, nil)
	a := cmd(7, 1, "a")
	l.Decide(Entry{Slot: 1, Ballot: 1, Cmds: []Command{a}})
	l.Decide(Entry{Slot: 2, Ballot: 2, Cmds: []Command{a, cmd(7, 2, "b")}}) // a retried
	o := l.Output()
	assert.Equal(t, []string{"a", "b"}, values(o.Deliveries))
	assert.Equal(t, uint64(2), o.Deliveries[1].Pos)
	assert.Equal(t, uint32(1), o.Deliveries[1].Offset, "the offset is the command's place in its slot")
}

func TestLearnerWindow(t *testing.T) {
	l := NewLearner(LearnerConfig{Voters: 3, WindowSlots: 4}, nil)
	l.Observe(1, vote(5, 1, "far"))
	l.Observe(2, decided(5, 1, "far"))
	l.Decide(decided(6, 1, "far"))
	o := l.Output()
	assert.Equal(t, []int{2}, o.Resync, "a decided entry past the window: reopen that stream")
	assert.Empty(t, o.Decided)
	assert.Equal(t, 0, l.Buffered(), "nothing kept beyond the window")
	l.Observe(1, vote(4, 1, "near"))
	assert.Equal(t, 1, l.Buffered())
}

func TestLearnerHole(t *testing.T) {
	l := NewLearner(LearnerConfig{Voters: 3}, nil)
	_, ok := l.Hole()
	assert.False(t, ok)
	l.Observe(0, vote(3, 1, "c"))
	_, ok = l.Hole()
	assert.False(t, ok, "a vote is not a decision")
	l.Decide(decided(3, 1, "c"))
	slot, ok := l.Hole()
	require.True(t, ok)
	assert.Equal(t, uint64(1), slot)
	l.Decide(decided(1, 1, "a"))
	slot, ok = l.Hole()
	require.True(t, ok)
	assert.Equal(t, uint64(2), slot)
	l.Decide(decided(2, 1, "b"))
	_, ok = l.Hole()
	assert.False(t, ok)
}

// learnerRun feeds slots from..n to a learner and returns what it delivered
// and its checkpoints. Every fifth slot is a no-op; every third also carries
// a retry of the command of slot-2 (same session), which must be skipped
// unless slot-2 was a no-op.
func learnerRun(l *Learner, from, n uint64) ([]Delivery, []Checkpoint) {
	var ds []Delivery
	var cps []Checkpoint
	for slot := from; slot <= n; slot++ {
		sess := 1 + slot%2
		var cs []Command
		if slot%5 != 0 {
			if slot%3 == 0 {
				cs = append(cs, cmd(sess, slot-2, fmt.Sprint("v", slot-2)))
			}
			cs = append(cs, cmd(sess, slot, fmt.Sprint("v", slot)))
		}
		l.Decide(Entry{Slot: slot, Ballot: 1, Cmds: cs})
		o := l.Output()
		ds = append(ds, o.Deliveries...)
		if o.Checkpoint != nil {
			cps = append(cps, *o.Checkpoint)
		}
	}
	return ds, cps
}

func TestLearnerCheckpoints(t *testing.T) {
	cfg := LearnerConfig{Voters: 3, CheckpointSlots: 8}
	a := NewLearner(cfg, nil)
	all, cps := learnerRun(a, 1, 40)
	require.Len(t, cps, 5)
	seen := map[string]bool{}
	for _, d := range all {
		require.False(t, seen[string(d.Cmd.Value)], "%s delivered twice", d.Cmd.Value)
		seen[string(d.Cmd.Value)] = true
	}
	require.True(t, seen["v10"], "slot 10 was a no-op: its command, retried in slot 12, is delivered there")
	for i, cp := range cps {
		assert.Equal(t, uint64(8*(i+1)), cp.Slot)
	}
	for _, cp := range cps {
		var before []Delivery
		for _, d := range all {
			if d.Slot <= cp.Slot {
				before = append(before, d)
			}
		}
		require.Equal(t, uint64(len(before)), cp.Pos, "the checkpoint's position is the last delivered")
		b := NewLearner(cfg, &cp)
		assert.Equal(t, cp.Slot+1, b.Next())
		assert.Equal(t, cp.Pos, b.Pos())
		// Slots at or below the checkpoint are ignored.
		b.Decide(decided(cp.Slot, 1, "stale"))
		rest, _ := learnerRun(b, cp.Slot+1, 40)
		assert.Equal(t, append([]Delivery{}, all[len(before):]...), append([]Delivery{}, rest...), "resuming from slot %d delivers what the original did", cp.Slot)
	}
}

func TestLearnerOutputsDecidedForCatchUp(t *testing.T) {
	l := NewLearner(LearnerConfig{Voters: 3}, nil)
	l.Observe(0, vote(2, 4, "b"))
	l.Observe(1, vote(2, 4, "b"))
	o := l.Output()
	assert.Equal(t, []Entry{decided(2, 4, "b")}, o.Decided, "even before it can be delivered")
	assert.Empty(t, l.Output().Decided, "Output drains")
}

func TestLearnerConfigLimits(t *testing.T) {
	l := NewLearner(LearnerConfig{Voters: 0}, nil)
	l.Observe(0, vote(1, 1, "a"))
	assert.Len(t, l.Output().Deliveries, 1, "no voters is taken as one")
	l = NewLearner(LearnerConfig{Voters: 1000}, nil)
	for v := range MaxVoters/2 + 1 {
		l.Observe(v, vote(1, 1, "a"))
	}
	assert.Len(t, l.Output().Deliveries, 1, "voters are capped at MaxVoters")
}

// TestLearnerAsksForASplitTailSlot: when the last chosen slot lost its
// single-ballot majority (new leaders re-proposed it, as P2c demands, to a
// minority each, then crashed) and no acceptor holds it decided, no learner
// can count it and nothing later is decided; the learner must still ask for
// it to be completed, or an idle cluster never learns it again (simulator
// seeds 10035 and 21647 once ended that way).
func TestLearnerAsksForASplitTailSlot(t *testing.T) {
	c := newCluster(t, 3)
	splitAChosenSlot(t, c) // x chosen in slot 1, now held at ballots 1, 3 and 2
	l := learnerReadingAll(t, c)
	require.Empty(t, l.Output().Deliveries, "no ballot holds a majority")
	slot, ok := l.Hole()
	assert.True(t, ok)
	assert.Equal(t, uint64(1), slot)
}
