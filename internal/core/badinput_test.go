package core

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Bad input: every message here is one a correct peer never sends. Each must
// be ignored or refused with a reason — never a panic, never a change of a
// chosen value.

// chosenAcceptor returns an acceptor on which slot 1 holds "v", chosen and
// known chosen, and slot 2 holds "w" at the promised ballot 5.
func chosenAcceptor(t *testing.T) *memAcceptor {
	t.Helper()
	m := newMemAcceptor()
	for _, a := range []Accept{
		{Ballot: 5, Slot: 1, Cmds: cmds("v")},
		{Ballot: 5, Slot: 2, Cmds: cmds("w"), Chosen: 1},
	} {
		_, ws, err := m.acc.Accept(a)
		require.NoError(t, err)
		m.apply(ws)
	}
	require.Equal(t, uint64(1), m.acc.Chosen())
	return m
}

func TestBadInputAcceptor(t *testing.T) {
	tests := []struct {
		name    string
		prepare *Prepare
		accept  *Accept
		wantErr error
	}{
		{"prepare with ballot 0", &Prepare{Ballot: 0, From: 1, Proposer: "x"}, nil, ErrZeroBallot},
		{"accept with ballot 0", nil, &Accept{Ballot: 0, Slot: 1, Cmds: cmds("evil")}, ErrZeroBallot},
		{"accept with ballot 0 for slot 0", nil, &Accept{Ballot: 0, Slot: 0, Chosen: 99}, ErrZeroBallot},
		{"accept for slot 0 carrying commands", nil, &Accept{Ballot: 9, Slot: 0, Cmds: cmds("evil")}, ErrEmptyAcceptSlot},
		{"accept far beyond anything known", nil, &Accept{Ballot: 9, Slot: 1 + DefaultMaxSlotsAhead + 2, Cmds: cmds("evil")}, ErrSlotOutOfRange},
		{"accept at the last slot", nil, &Accept{Ballot: 9, Slot: math.MaxUint64, Cmds: cmds("evil")}, ErrSlotOutOfRange},
		{"prepare of the same ballot from another proposer", &Prepare{Ballot: 5, Proposer: "other"}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := chosenAcceptor(t)
			m.acc.proposer = "leader" // as if the promise came with a Prepare
			writes := m.writes
			var err error
			if tt.prepare != nil {
				var ws []Write
				_, ws, err = m.acc.Prepare(*tt.prepare)
				m.apply(ws)
			} else {
				var ws []Write
				_, ws, err = m.acc.Accept(*tt.accept)
				m.apply(ws)
			}
			want := tt.wantErr
			if want == nil {
				want = ErrBallotConflict
			}
			require.ErrorIs(t, err, want)
			assert.Equal(t, writes, m.writes, "refused: nothing written")
			b, who := m.acc.Promised()
			assert.Equal(t, uint64(5), b, "the promise is unchanged")
			assert.Equal(t, "leader", who)
			assert.Equal(t, uint64(1), m.acc.Chosen())
			assert.Equal(t, uint64(2), m.acc.MaxSlot())
			assert.Equal(t, "v", digestOf(m.entries[1].Cmds))
		})
	}
}

func TestBadInputAcceptorSlotRangeIsConfigurable(t *testing.T) {
	a := NewAcceptor()
	a.MaxSlotsAhead = 10
	_, _, err := a.Accept(Accept{Ballot: 1, Slot: 10, Cmds: cmds("ok")})
	require.NoError(t, err)
	_, ws, err := a.Accept(Accept{Ballot: 1, Slot: 11, Cmds: cmds("far")})
	require.ErrorIs(t, err, ErrSlotOutOfRange)
	assert.Empty(t, ws)
	assert.Equal(t, uint64(10), a.MaxSlot())
}

func TestBadInputAcceptorNeverOverwritesAChosenValue(t *testing.T) {
	m := chosenAcceptor(t)
	for _, a := range []Accept{
		{Ballot: 5, Slot: 1, Cmds: cmds("evil")},
		{Ballot: 6, Slot: 1, Cmds: cmds("evil")},
		{Ballot: 7, Slot: 1, Cmds: cmds("evil"), Chosen: 1},
		{Ballot: 8, Slot: 1, Cmds: nil, Chosen: 100}, // a no-op claimed chosen
	} {
		_, ws, err := m.acc.Accept(a)
		require.NoError(t, err)
		m.apply(ws)
	}
	m.apply(m.acc.Learn(Entry{Slot: 1, Ballot: 9, Cmds: cmds("evil")}))
	assert.Equal(t, "v", digestOf(m.entries[1].Cmds))
	m.restart()
	_, ws, _ := m.acc.Accept(Accept{Ballot: 10, Slot: 1, Cmds: cmds("evil")})
	m.apply(ws)
	assert.Equal(t, "v", digestOf(m.entries[1].Cmds), "also after a restart")
}

func TestBadInputPageOutOfOrderOrDuplicatedDoesNotPanic(t *testing.T) {
	e := func(slot, ballot uint64) Entry { return Entry{Slot: slot, Ballot: ballot, Cmds: cmds("v")} }
	for _, ps := range [][]Promise{
		{{Ballot: 9, Entries: []Entry{e(3, 1), e(2, 1), e(2, 1), e(1, 1)}, More: true}},
		{{Ballot: 9, Entries: []Entry{e(5, 1), e(5, 2)}, More: true}, {Ballot: 9, More: true}},
		{{Ballot: 9, Entries: []Entry{e(0, 0), e(math.MaxUint64, 1)}, More: true}},
		{{Ballot: 9, Entries: []Entry{e(1, 1)}, More: true}, {Ballot: 9, Entries: []Entry{e(1, 1)}, More: true}},
	} {
		for _, from := range []uint64{0, 1, 4, math.MaxUint64} {
			chosen, entries, through := MergePromises(from, ps)
			_ = chosen
			for i, x := range entries {
				assert.GreaterOrEqual(t, x.Slot, from)
				assert.LessOrEqual(t, x.Slot, through)
				if i > 0 {
					assert.Greater(t, x.Slot, entries[i-1].Slot, "merged entries are in order, once per slot")
				}
			}
		}
	}
}

func TestBadInputPageWithMoreButNoEntriesIsAskedAgain(t *testing.T) {
	l := NewLeader(LeaderConfig{})
	require.True(t, l.Campaign(5, 0))
	p := l.Output().Prepares[0]
	tl := NewPrepareTally(3, 5, p.From)
	tl.Add(0, Promise{Ballot: 5, More: true}) // "more to come", yet nothing
	tl.Add(1, Promise{Ballot: 5})
	l.PrepareDone(tl.Result(), 0)
	o := l.Output()
	assert.Empty(t, o.Accepts, "the page spoke for no slot: nothing to propose")
	require.Len(t, o.Prepares, 1, "the same page is asked for again")
	assert.Equal(t, p.From, o.Prepares[0].From)
}

func TestBadInputStalePrepareDone(t *testing.T) {
	c := newCluster(t, 3)
	c.seed(0, 1, 1, "x")
	c.seed(1, 1, 1, "x") // x is chosen at ballot 1
	l := NewLeader(LeaderConfig{})
	require.True(t, l.Campaign(5, 0))
	p := l.Output().Prepares[0]
	evil := []Entry{{Slot: 1, Ballot: 4, Cmds: cmds("evil")}}
	for _, r := range []PrepareResult{
		{Ballot: 4, From: 1, Granted: true, Entries: evil, Through: math.MaxUint64}, // a ballot never asked for
		{Ballot: 6, From: 1, Granted: true, Entries: evil, Through: math.MaxUint64}, // nor this one
		{Ballot: 5, From: 7, Granted: true, Entries: evil, Through: math.MaxUint64}, // a page never asked for
	} {
		l.PrepareDone(r, 0)
		st, _ := l.State()
		assert.Equal(t, Preparing, st, "%+v is ignored", r)
		assert.Empty(t, l.Output().Accepts)
	}
	r, done := c.prepare(p, 0, 1)
	require.True(t, done)
	l.PrepareDone(r, 0)
	as := l.Output().Accepts
	require.Len(t, as, 1)
	assert.Equal(t, "x", digestOf(as[0].Cmds))
	// The same result again (a duplicate) and a late one are ignored.
	l.PrepareDone(r, 0)
	l.PrepareDone(PrepareResult{Ballot: 5, From: 1, Granted: true, Entries: evil, Through: math.MaxUint64}, 0)
	assert.Empty(t, l.Output().Accepts)
	// A follower ignores them all.
	f := NewLeader(LeaderConfig{})
	f.PrepareDone(r, 0)
	st, _ := f.State()
	assert.Equal(t, Follower, st)
	assert.Empty(t, f.Output().Accepts)
}

func TestBadInputStaleAcceptDone(t *testing.T) {
	c := newCluster(t, 3)
	l := leadingLeader(t, c, LeaderConfig{}, 5)
	require.True(t, l.Propose(cmd(9, 1, "a"), 0))
	_ = l.Output()
	for _, r := range []AcceptResult{
		{Ballot: 4, Slot: 1, Accepted: true},  // another ballot
		{Ballot: 5, Slot: 99, Accepted: true}, // a slot never proposed
		{Ballot: 5, Slot: 0, Accepted: true},  // a commit never sent
	} {
		l.AcceptDone(r, 0)
		assert.Empty(t, l.Output().Learned, "%+v", r)
		assert.Equal(t, uint64(0), l.Chosen())
	}
}

func TestBadInputLeaderPageFarAhead(t *testing.T) {
	l := NewLeader(LeaderConfig{WindowSlots: 4})
	require.True(t, l.Campaign(5, 0))
	_ = l.Output()
	l.PrepareDone(PrepareResult{Ballot: 5, From: 1, Granted: true, Through: math.MaxUint64,
		Entries: []Entry{{Slot: 1 << 40, Ballot: 2, Cmds: cmds("far")}}}, 0)
	as := l.Output().Accepts
	assert.Len(t, as, 4, "no more than the window at once")
	for _, a := range as {
		assert.Nil(t, a.Cmds, "holes below it are no-ops")
	}
}

func TestBadInputLearner(t *testing.T) {
	l := NewLearner(LearnerConfig{Voters: 3, WindowSlots: 8}, nil)
	l.Decide(decided(1, 1, "v"))
	_ = l.Output()
	for _, in := range []voteIn{
		{0, vote(0, 1, "slot 0")},
		{0, vote(2, 0, "ballot 0")},
		{0, decided(2, 0, "ballot 0 decided")},
		{-1, vote(2, 1, "voter -1")},
		{3, vote(2, 1, "voter 3")},
		{64, vote(2, 1, "voter 64")},
		{1 << 30, vote(2, 1, "voter 2^30")},
		{0, vote(math.MaxUint64, 1, "the last slot")},
		{0, decided(1, 7, "a delivered slot again")},
	} {
		l.Observe(in.voter, in.e)
	}
	// Two in-range votes would decide slot 2 if any of the above counted.
	ok := Entry{Slot: 2, Ballot: 1, Cmds: []Command{cmd(5, 1, "ok")}}
	l.Observe(0, ok)
	o := l.Output()
	assert.Empty(t, o.Decided)
	assert.Empty(t, o.Deliveries)
	assert.Equal(t, uint64(2), l.Next())
	l.Observe(1, ok)
	assert.Equal(t, []string{"ok"}, values(l.Output().Deliveries))
}

func TestBadInputLearnerSlotZeroAndBehindAreIgnoredByDecide(t *testing.T) {
	l := NewLearner(LearnerConfig{Voters: 3}, nil)
	l.Decide(Entry{Slot: 0, Ballot: 1, Cmds: cmds("zero")})
	l.Decide(decided(1, 1, "a"))
	l.Decide(decided(1, 2, "evil"))
	assert.Equal(t, []string{"a"}, values(l.Output().Deliveries))
}

// An entry that comes after a higher slot in the same page is sorted, not
// dropped: it may be the only report of a chosen value in the new leader's
// majority (pages are read in slot order, but a page is input from the
// network, or from a user's Log).
func TestBadInputOutOfOrderPageKeepsTheChosenValue(t *testing.T) {
	c := newCluster(t, 3)
	// Slot 2 holds "v", chosen at ballot 1 on acceptors 0 and 1; slot 3
	// holds "x" on acceptor 0 only.
	c.seed(0, 2, 1, "v")
	c.seed(1, 2, 1, "v")
	c.seed(0, 3, 1, "x")
	require.Equal(t, "v", c.chosenValue(2))

	l := NewLeader(LeaderConfig{WindowSlots: 4}) // every recovered slot in flight at once
	require.True(t, l.Campaign(5, 0))
	p := l.Output().Prepares[0]
	tl := NewPrepareTally(3, 5, p.From)
	for _, i := range []int{0, 2} {
		pr, ws, err := c.accs[i].acc.Prepare(p)
		require.NoError(t, err)
		c.accs[i].apply(ws)
		pr.Entries, pr.More, err = ReadPage(c.accs[i], p.From, pr.Chosen, 16)
		require.NoError(t, err)
		if i == 0 {
			// Acceptor 0's page arrives reordered: [3, 2].
			pr.Entries[0], pr.Entries[1] = pr.Entries[1], pr.Entries[0]
		}
		tl.Add(i, pr)
	}
	require.True(t, tl.Done())
	l.PrepareDone(tl.Result(), 0)
	out := l.Output().Accepts
	as := acceptsBySlot(out)
	require.Contains(t, as, uint64(2))
	assert.Equal(t, "v", digestOf(as[2].Cmds), "slot 2 was chosen as v")
	sendTo(c, l, out, 0, 2) // the oracle checks agreement
	assert.Equal(t, "v", c.chosenValue(2))
}

// A page that reports a slot twice counts it at its highest ballot.
func TestBadInputDuplicatedPageEntryCountsAtItsHighestBallot(t *testing.T) {
	_, entries, _ := MergePromises(1, []Promise{
		{Ballot: 9, Entries: []Entry{
			{Slot: 1, Ballot: 1, Cmds: cmds("old")},
			{Slot: 1, Ballot: 3, Cmds: cmds("new")},
		}},
		{Ballot: 9},
	})
	require.Len(t, entries, 1)
	assert.Equal(t, "new", digestOf(entries[0].Cmds))
}

// A decided entry past the window from a voter out of range asks for no
// resync: drivers index their streams with the voters Resync names.
func TestBadInputResyncNamesOnlyVotersInRange(t *testing.T) {
	l := NewLearner(LearnerConfig{Voters: 3, WindowSlots: 4}, nil)
	l.Observe(7, decided(100, 1, "far"))
	l.Observe(1<<20, decided(100, 1, "far"))
	l.Observe(-1, decided(100, 1, "far"))
	l.Observe(2, decided(100, 1, "far"))
	assert.Equal(t, []int{2}, l.Output().Resync)
}
