package core

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDedupeApply(t *testing.T) {
	type step struct {
		c    Command
		want bool
	}
	c := func(sess, seq, floor uint64) Command {
		return Command{Session: sess, Seq: seq, Floor: floor, Value: []byte("v")}
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"a duplicate seq is skipped", []step{
			{c(1, 1, 1), true}, {c(1, 2, 1), true}, {c(1, 1, 1), false}, {c(1, 2, 2), false},
		}},
		{"sessions are independent", []step{
			{c(1, 1, 1), true}, {c(2, 1, 1), true}, {c(2, 1, 1), false},
		}},
		{"a seq below the floor is skipped", []step{
			{c(1, 5, 5), true}, {c(1, 3, 3), false}, {c(1, 4, 3), false},
		}},
		{"a later command raises the floor over a given-up seq", []step{
			{c(1, 1, 1), true}, {c(1, 3, 2), true}, // 2 pending
			{c(1, 4, 4), true}, // 2 given up: floor 4
			{c(1, 2, 2), false},
		}},
		{"a lower floor never lowers it", []step{
			{c(1, 4, 4), true}, {c(1, 6, 1), true}, {c(1, 2, 1), false},
		}},
		{"out-of-order seqs above the floor are each delivered once", []step{
			{c(1, 3, 1), true}, {c(1, 1, 1), true}, {c(1, 2, 1), true}, {c(1, 3, 1), false}, {c(1, 1, 1), false},
		}},
		{"no request id: always delivered", []step{
			{c(0, 1, 0), true}, {c(0, 1, 0), true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDedupe(0, 0)
			for i, st := range tt.steps {
				assert.Equal(t, st.want, d.Apply(st.c, uint64(i+1)), "step %d: %+v", i, st.c)
			}
		})
	}
}

func TestDedupeWindowOverflowEvictsTheOldest(t *testing.T) {
	d := NewDedupe(0, 4)
	// Seqs 1..5 in flight at once (floor stays 1): one too many.
	for seq := uint64(1); seq <= 5; seq++ {
		require.True(t, d.Apply(Command{Session: 1, Seq: seq, Floor: 1}, seq))
	}
	snap := d.Snapshot()
	require.Len(t, snap, 1)
	assert.Equal(t, uint64(2), snap[0].Floor, "the oldest was evicted and the floor moved past it")
	assert.Equal(t, []uint64{2, 3, 4, 5}, snap[0].Applied)
	// Still no duplicates: 1 is below the floor now, the others are known.
	for seq := uint64(1); seq <= 5; seq++ {
		assert.False(t, d.Apply(Command{Session: 1, Seq: seq, Floor: 1}, 10), "seq %d", seq)
	}
}

func TestDedupeExpiryAtFixedSlots(t *testing.T) {
	const expiry = 100
	a := NewDedupe(expiry, 0)
	require.True(t, a.Apply(Command{Session: 1, Seq: 1, Floor: 1}, 10))
	for slot := uint64(10); slot < 2000; slot++ {
		a.EndSlot(slot)
	}
	// b starts late, from a checkpoint taken at slot 2000.
	b := NewDedupe(expiry, 0)
	b.Restore(a.Snapshot())
	for _, d := range []*Dedupe{a, b} {
		require.True(t, d.Apply(Command{Session: 2, Seq: 1, Floor: 1}, dedupeSweepSlots-50))
		for slot := uint64(2000); slot < dedupeSweepSlots; slot++ {
			d.EndSlot(slot)
		}
		assert.Equal(t, 2, d.Len(), "sessions expire only at a sweep slot, never in between")
		d.EndSlot(dedupeSweepSlots)
		assert.Equal(t, 1, d.Len(), "session 1, idle since slot 10, is gone; session 2 (50 slots ago) stays")
		assert.True(t, d.Apply(Command{Session: 1, Seq: 1, Floor: 1}, dedupeSweepSlots+1),
			"an expired session's old command is new again: the expiry must outlast any retry")
		assert.False(t, d.Apply(Command{Session: 2, Seq: 1, Floor: 1}, dedupeSweepSlots+1))
	}
	assert.Equal(t, a.Snapshot(), b.Snapshot(), "learners that started at different times decide alike")
}

func TestDedupeNoExpiryBeforeTheExpirySlots(t *testing.T) {
	d := NewDedupe(10*dedupeSweepSlots, 0)
	require.True(t, d.Apply(Command{Session: 1, Seq: 1, Floor: 1}, 1))
	for slot := uint64(1); slot <= 3*dedupeSweepSlots; slot++ {
		d.EndSlot(slot)
	}
	assert.Equal(t, 1, d.Len())
}

func TestDedupeSnapshotRestoreRoundTrip(t *testing.T) {
	d := NewDedupe(0, 0)
	for _, c := range []Command{
		{Session: 9, Seq: 3, Floor: 1}, {Session: 9, Seq: 1, Floor: 1}, {Session: 4, Seq: 7, Floor: 7},
		{Session: 9, Seq: 6, Floor: 2}, {Session: 4, Seq: 9, Floor: 8},
	} {
		require.True(t, d.Apply(c, 5))
	}
	snap := d.Snapshot()
	require.Len(t, snap, 2)
	assert.Equal(t, uint64(4), snap[0].Session, "sorted by session")
	assert.Equal(t, SessionState{Session: 9, Floor: 2, LastSlot: 5, Applied: []uint64{3, 6}}, snap[1],
		"seqs below the floor are not kept")
	r := NewDedupe(0, 0)
	r.Restore(snap)
	assert.Equal(t, snap, r.Snapshot())
	probes := []Command{
		{Session: 9, Seq: 1, Floor: 1}, {Session: 9, Seq: 3, Floor: 1}, {Session: 9, Seq: 4, Floor: 1},
		{Session: 4, Seq: 8, Floor: 1}, {Session: 4, Seq: 9, Floor: 1}, {Session: 5, Seq: 1, Floor: 1},
	}
	for _, c := range probes {
		assert.Equal(t, d.Apply(c, 6), r.Apply(c, 6), "%+v", c)
	}
	// Restore replaces, it does not merge.
	r.Restore(nil)
	assert.Equal(t, 0, r.Len())
}
