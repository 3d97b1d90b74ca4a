package core

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAcceptorPrepare(t *testing.T) {
	type step struct {
		m         Prepare
		want      Promise
		wantErr   error
		wantWrite *PromiseRecord // nil: no write
	}
	promise := func(b uint64, p string) *PromiseRecord { return &PromiseRecord{Ballot: b, Proposer: p} }
	tests := []struct {
		name  string
		steps []step
	}{
		{"a strictly greater ballot is granted and written", []step{
			{m: Prepare{Ballot: 5, From: 1, Proposer: "a"}, want: Promise{Ballot: 5}, wantWrite: promise(5, "a")},
			{m: Prepare{Ballot: 9, From: 1, Proposer: "b"}, want: Promise{Ballot: 9}, wantWrite: promise(9, "b")},
		}},
		{"a lower ballot is refused with the promised ballot and no write", []step{
			{m: Prepare{Ballot: 5, Proposer: "a"}, want: Promise{Ballot: 5}, wantWrite: promise(5, "a")},
			{m: Prepare{Ballot: 4, Proposer: "b"}, want: Promise{Ballot: 5}},
			{m: Prepare{Ballot: 1, Proposer: "a"}, want: Promise{Ballot: 5}},
		}},
		{"the same ballot from the same proposer is granted again without a write", []step{
			{m: Prepare{Ballot: 5, From: 1, Proposer: "a"}, want: Promise{Ballot: 5}, wantWrite: promise(5, "a")},
			{m: Prepare{Ballot: 5, From: 17, Proposer: "a"}, want: Promise{Ballot: 5}},
			{m: Prepare{Ballot: 5, From: 33, Proposer: ""}, want: Promise{Ballot: 5}},
		}},
		{"the same ballot from another proposer is a conflict", []step{
			{m: Prepare{Ballot: 5, Proposer: "a"}, want: Promise{Ballot: 5}, wantWrite: promise(5, "a")},
			{m: Prepare{Ballot: 5, Proposer: "b"}, wantErr: ErrBallotConflict},
			// ...and the promise still belongs to a.
			{m: Prepare{Ballot: 5, Proposer: "a"}, want: Promise{Ballot: 5}},
		}},
		{"ballot zero is not a ballot", []step{
			{m: Prepare{Ballot: 0, Proposer: "a"}, wantErr: ErrZeroBallot},
			{m: Prepare{Ballot: 1, Proposer: "a"}, want: Promise{Ballot: 1}, wantWrite: promise(1, "a")},
			{m: Prepare{Ballot: 0, Proposer: "a"}, wantErr: ErrZeroBallot},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := NewAcceptor()
			for i, st := range tt.steps {
				before, _ := a.Promised()
				p, ws, err := a.Prepare(st.m)
				if st.wantErr != nil {
					require.ErrorIs(t, err, st.wantErr, "step %d", i)
					assert.Empty(t, ws, "step %d: an error makes no write", i)
					after, _ := a.Promised()
					assert.Equal(t, before, after, "step %d: an error changes no promise", i)
					continue
				}
				require.NoError(t, err, "step %d", i)
				assert.Equal(t, st.want, p, "step %d", i)
				if st.wantWrite == nil {
					assert.Empty(t, ws, "step %d", i)
				} else {
					require.Len(t, ws, 1, "step %d", i)
					assert.Equal(t, st.wantWrite, ws[0].Promise, "step %d", i)
					assert.Nil(t, ws[0].Entry, "step %d", i)
				}
			}
		})
	}
}

func TestAcceptorPromisedProposerLearnedFromEqualPrepare(t *testing.T) {
	a := NewAcceptor()
	_, _, err := a.Accept(Accept{Ballot: 7, Slot: 1, Cmds: cmds("x")})
	require.NoError(t, err)
	_, who := a.Promised()
	assert.Equal(t, "", who, "an accept does not say who leads")
	p, ws, err := a.Prepare(Prepare{Ballot: 7, Proposer: "a"})
	require.NoError(t, err)
	assert.Equal(t, uint64(7), p.Ballot)
	assert.Empty(t, ws, "the proposer is a hint only: no write")
	_, who = a.Promised()
	assert.Equal(t, "a", who)
}

func TestAcceptorAccept(t *testing.T) {
	t.Run("an accept at a higher ballot raises the promise and writes it", func(t *testing.T) {
		a := NewAcceptor()
		_, _, err := a.Prepare(Prepare{Ballot: 3, Proposer: "a"})
		require.NoError(t, err)
		r, ws, err := a.Accept(Accept{Ballot: 5, Slot: 1, Cmds: cmds("x")})
		require.NoError(t, err)
		assert.Equal(t, Accepted{Ballot: 5, Slot: 1}, r)
		require.Len(t, ws, 2)
		assert.Equal(t, &PromiseRecord{Ballot: 5}, ws[0].Promise, "the promise is written first")
		require.NotNil(t, ws[1].Entry)
		assert.Equal(t, Entry{Slot: 1, Ballot: 5, Cmds: cmds("x")}, *ws[1].Entry)
		b, _ := a.Promised()
		assert.Equal(t, uint64(5), b)
		// A Prepare between the old promise and the accepted ballot is refused.
		p, ws, err := a.Prepare(Prepare{Ballot: 4, Proposer: "b"})
		require.NoError(t, err)
		assert.Equal(t, uint64(5), p.Ballot)
		assert.Empty(t, ws)
	})
	t.Run("an accept at the promised ballot writes only the entry", func(t *testing.T) {
		a := NewAcceptor()
		_, _, _ = a.Prepare(Prepare{Ballot: 5, Proposer: "a"})
		r, ws, err := a.Accept(Accept{Ballot: 5, Slot: 2, Cmds: cmds("y")})
		require.NoError(t, err)
		assert.Equal(t, Accepted{Ballot: 5, Slot: 2}, r)
		require.Len(t, ws, 1)
		assert.Nil(t, ws[0].Promise)
		assert.Equal(t, uint64(2), ws[0].Entry.Slot)
		assert.Equal(t, uint64(2), a.MaxSlot())
	})
	t.Run("a refusal carries the promised ballot and writes nothing", func(t *testing.T) {
		a := NewAcceptor()
		_, _, _ = a.Prepare(Prepare{Ballot: 9, Proposer: "a"})
		r, ws, err := a.Accept(Accept{Ballot: 4, Slot: 1, Cmds: cmds("x"), Chosen: 0})
		require.NoError(t, err, "a refusal is not an error")
		assert.Equal(t, Accepted{Ballot: 9, Slot: 1}, r)
		assert.Empty(t, ws)
		assert.Equal(t, uint64(0), a.MaxSlot(), "nothing was accepted")
	})
	t.Run("an accept for a decided slot is acked without a write", func(t *testing.T) {
		a := NewAcceptor()
		_, ws, err := a.Accept(Accept{Ballot: 5, Slot: 1, Cmds: cmds("x")})
		require.NoError(t, err)
		require.Len(t, ws, 2)
		// The leader's next accept says slot 1 is chosen.
		_, _, err = a.Accept(Accept{Ballot: 5, Slot: 2, Cmds: cmds("y"), Chosen: 1})
		require.NoError(t, err)
		require.Equal(t, uint64(1), a.Chosen())
		r, ws, err := a.Accept(Accept{Ballot: 5, Slot: 1, Cmds: cmds("other")})
		require.NoError(t, err)
		assert.Equal(t, uint64(5), r.Ballot, "acked")
		assert.Empty(t, ws, "a decided entry is never rewritten")
		// Also at a higher ballot: the promise is raised, the entry stays.
		r, ws, err = a.Accept(Accept{Ballot: 6, Slot: 1, Cmds: cmds("other")})
		require.NoError(t, err)
		assert.Equal(t, uint64(6), r.Ballot)
		require.Len(t, ws, 1)
		assert.NotNil(t, ws[0].Promise)
		assert.Nil(t, ws[0].Entry)
	})
	t.Run("an accept for a slot at or below its own watermark is written decided", func(t *testing.T) {
		a := NewAcceptor()
		_, ws, err := a.Accept(Accept{Ballot: 5, Slot: 3, Cmds: cmds("z"), Chosen: 3})
		require.NoError(t, err)
		require.Len(t, ws, 2)
		assert.True(t, ws[1].Entry.Decided)
		assert.Equal(t, uint64(0), a.Chosen(), "slots 1 and 2 are still unknown here")
	})
	t.Run("slot 0 carries only the watermark", func(t *testing.T) {
		a := NewAcceptor()
		_, _, _ = a.Accept(Accept{Ballot: 5, Slot: 1, Cmds: cmds("x")})
		r, ws, err := a.Accept(Accept{Ballot: 5, Chosen: 1})
		require.NoError(t, err)
		assert.Equal(t, Accepted{Ballot: 5, Chosen: 1}, r)
		assert.Empty(t, ws, "a small move is knowledge, not worth a sync")
		assert.Equal(t, uint64(1), a.Chosen())
	})
	t.Run("a commit that moves the watermark far records it", func(t *testing.T) {
		a := NewAcceptor()
		for slot := uint64(1); slot <= WatermarkStampSlots; slot++ {
			_, _, err := a.Accept(Accept{Ballot: 5, Slot: slot, Cmds: cmds("x")})
			require.NoError(t, err)
		}
		_, ws, err := a.Accept(Accept{Ballot: 5, Chosen: WatermarkStampSlots})
		require.NoError(t, err)
		assert.Equal(t, []Write{{Chosen: WatermarkStampSlots, Watermark: true}}, ws)
		_, ws, _ = a.Accept(Accept{Ballot: 5, Chosen: WatermarkStampSlots})
		assert.Empty(t, ws, "a watermark already recorded is not written again")
	})
}

func TestAcceptorWatermarkMarksOnlySameBallotEntries(t *testing.T) {
	a := NewAcceptor()
	mustAccept := func(m Accept) Accepted {
		t.Helper()
		r, _, err := a.Accept(m)
		require.NoError(t, err)
		return r
	}
	mustAccept(Accept{Ballot: 1, Slot: 1, Cmds: cmds("old")}) // may have lost
	mustAccept(Accept{Ballot: 2, Slot: 2, Cmds: cmds("b")})
	// The leader of ballot 2 says slots <= 2 are chosen: it chose slot 1
	// too, but not necessarily with the value this acceptor holds at
	// ballot 1, so slot 1 stays undecided here and the watermark stops.
	r := mustAccept(Accept{Ballot: 2, Slot: 3, Cmds: cmds("c"), Chosen: 2})
	assert.Equal(t, uint64(0), r.Chosen)
	assert.Equal(t, uint64(0), a.Chosen())
	// Learning slot 1 at ballot 2 rewrites it and lets the watermark move
	// over slot 2 (marked); slot 3 is not chosen yet.
	ws := a.Learn(Entry{Slot: 1, Ballot: 2, Cmds: cmds("a")})
	require.Len(t, ws, 1)
	assert.True(t, ws[0].Entry.Decided)
	assert.Equal(t, uint64(2), ws[0].Chosen, "the write carries the new watermark")
	assert.Equal(t, uint64(2), a.Chosen())
}

// A commit can overtake the accept of a slot it covers (they travel on
// separate calls). The accept that arrives later, at the same ballot,
// holds the chosen value: it is taken as decided, or the slot would wait
// for a commit that may never come again.
func TestAcceptorTakesAnAcceptBehindItsBallotsCommitAsDecided(t *testing.T) {
	a := NewAcceptor()
	mustAccept := func(m Accept) (Accepted, []Write) {
		t.Helper()
		r, ws, err := a.Accept(m)
		require.NoError(t, err)
		return r, ws
	}
	mustAccept(Accept{Ballot: 5, Slot: 1, Cmds: cmds("a")})
	r, _ := mustAccept(Accept{Ballot: 5, Chosen: 2}) // slot 2's accept is still on its way
	assert.Equal(t, uint64(1), r.Chosen)
	r, ws := mustAccept(Accept{Ballot: 5, Slot: 2, Cmds: cmds("b"), Chosen: 1})
	assert.Equal(t, uint64(2), r.Chosen)
	require.Len(t, ws, 1)
	assert.True(t, ws[0].Entry.Decided)
	assert.Equal(t, uint64(2), ws[0].Chosen, "the write carries the new watermark")

	// Not from another ballot: that commit says nothing of this value.
	r, _ = mustAccept(Accept{Ballot: 7, Slot: 4, Cmds: cmds("d"), Chosen: 3}) // slot 3 unknown here
	assert.Equal(t, uint64(2), r.Chosen)
	r, ws = mustAccept(Accept{Ballot: 8, Slot: 3, Cmds: cmds("c")})
	assert.Equal(t, uint64(2), r.Chosen)
	require.Len(t, ws, 2) // the promise of ballot 8 and the entry
	assert.False(t, ws[1].Entry.Decided, "ballot 7's commit does not cover ballot 8's value")
}

func TestAcceptorLearn(t *testing.T) {
	t.Run("same ballot: marked decided without a write", func(t *testing.T) {
		a := NewAcceptor()
		_, _, _ = a.Accept(Accept{Ballot: 4, Slot: 1, Cmds: cmds("x")})
		ws := a.Learn(Entry{Slot: 1, Ballot: 4, Cmds: cmds("x")})
		assert.Empty(t, ws)
		assert.Equal(t, uint64(1), a.Chosen())
	})
	t.Run("other ballot: written decided", func(t *testing.T) {
		a := NewAcceptor()
		_, _, _ = a.Accept(Accept{Ballot: 4, Slot: 1, Cmds: cmds("x")})
		ws := a.Learn(Entry{Slot: 1, Ballot: 6, Cmds: cmds("x")})
		require.Len(t, ws, 1)
		assert.Equal(t, Entry{Slot: 1, Ballot: 6, Cmds: cmds("x"), Decided: true}, *ws[0].Entry)
	})
	t.Run("missing entry: written decided", func(t *testing.T) {
		a := NewAcceptor()
		ws := a.Learn(Entry{Slot: 3, Ballot: 6, Cmds: cmds("x")})
		require.Len(t, ws, 1)
		assert.True(t, ws[0].Entry.Decided)
		assert.Equal(t, uint64(3), a.MaxSlot())
		assert.Equal(t, uint64(0), a.Chosen(), "slots 1 and 2 are not known")
	})
	t.Run("already decided or slot 0: nothing", func(t *testing.T) {
		a := NewAcceptor()
		require.Len(t, a.Learn(Entry{Slot: 1, Ballot: 6, Cmds: cmds("x")}), 1)
		assert.Empty(t, a.Learn(Entry{Slot: 1, Ballot: 7, Cmds: cmds("x")}))
		assert.Empty(t, a.Learn(Entry{Slot: 0, Ballot: 7}))
	})
}

// TestRestoreAcceptorWatermarkBound: a restart brings the watermark back at
// most WatermarkStampSlots behind what an idle leader's commits told the
// acceptor, and never ahead.
func TestRestoreAcceptorWatermarkBound(t *testing.T) {
	m := newMemAcceptor()
	const n = 3*WatermarkStampSlots + 17
	for slot := uint64(1); slot <= n; slot++ {
		_, ws, err := m.acc.Accept(Accept{Ballot: 5, Slot: slot, Cmds: cmds("a")})
		require.NoError(t, err)
		m.apply(ws)
		if slot%100 == 0 || slot == n {
			_, ws, err = m.acc.Accept(Accept{Ballot: 5, Chosen: slot}) // a commit
			require.NoError(t, err)
			m.apply(ws)
		}
	}
	require.Equal(t, uint64(n), m.acc.Chosen())
	m.restart()
	assert.LessOrEqual(t, m.acc.Chosen(), uint64(n))
	assert.Greater(t, m.acc.Chosen()+WatermarkStampSlots, uint64(n))
}

func TestAcceptorChosenAdvancesOverContiguousDecidedSlots(t *testing.T) {
	a := NewAcceptor()
	for _, slot := range []uint64{1, 2, 4, 5} {
		a.Learn(Entry{Slot: slot, Ballot: 1, Cmds: cmds("v")})
	}
	assert.Equal(t, uint64(2), a.Chosen(), "slot 3 is a gap")
	a.Learn(Entry{Slot: 3, Ballot: 1})
	assert.Equal(t, uint64(5), a.Chosen())
}

// TestRestoreAcceptorReplaysItsWrites drives acceptors with random messages,
// keeps only what their writes made durable, and checks that the acceptor
// rebuilt from that answers like the one that made them: same promise, same
// highest slot, a watermark no higher (decided marks that needed no write
// may be forgotten; they are knowledge, not votes), and the same reply to
// every Prepare and Accept.
func TestRestoreAcceptorReplaysItsWrites(t *testing.T) {
	for seed := range uint64(300) {
		rnd := rand.New(rand.NewPCG(seed, 1))
		m := newMemAcceptor()
		for range 60 {
			b := 1 + rnd.Uint64N(8)
			slot := 1 + rnd.Uint64N(12)
			switch rnd.IntN(4) {
			case 0:
				_, ws, err := m.acc.Prepare(Prepare{Ballot: b, From: 1, Proposer: "p"})
				if err == nil {
					m.apply(ws)
				}
			case 1, 2:
				ch := uint64(0)
				if rnd.IntN(2) == 0 {
					ch = rnd.Uint64N(slot) // a leader's watermark is below the slots it proposes
				}
				if rnd.IntN(4) == 0 {
					slot = 0
				}
				var cs []Command
				if slot > 0 {
					cs = cmds("v" + string(rune('a'+b)))
				}
				_, ws, err := m.acc.Accept(Accept{Ballot: b, Slot: slot, Cmds: cs, Chosen: ch})
				require.NoError(t, err)
				m.apply(ws)
			case 3:
				m.apply(m.acc.Learn(Entry{Slot: slot, Ballot: b, Cmds: cmds("l")}))
			}
		}
		live := m.acc
		m.restart()
		restored := m.acc
		lb, _ := live.Promised()
		rb, _ := restored.Promised()
		require.Equal(t, lb, rb, "seed %d: promise", seed)
		require.Equal(t, live.MaxSlot(), restored.MaxSlot(), "seed %d: max slot", seed)
		require.LessOrEqual(t, restored.Chosen(), live.Chosen(), "seed %d: chosen", seed)
		for b := uint64(1); b <= 9; b++ {
			lp, _, lerr := live.Prepare(Prepare{Ballot: b, Proposer: "p"})
			rp, _, rerr := restored.Prepare(Prepare{Ballot: b, Proposer: "p"})
			require.Equal(t, lerr == nil, rerr == nil, "seed %d ballot %d", seed, b)
			require.Equal(t, lp.Ballot, rp.Ballot, "seed %d ballot %d", seed, b)
		}
		// A slot the restored acceptor still treats as decided (no entry
		// write for a new value) is decided in the live one too.
		for slot := uint64(1); slot <= 13; slot++ {
			m := Accept{Ballot: 10, Slot: slot, Cmds: cmds("probe")}
			_, lws, lerr := live.Accept(m)
			_, rws, rerr := restored.Accept(m)
			require.NoError(t, lerr)
			require.NoError(t, rerr)
			if !hasEntry(rws) {
				require.False(t, hasEntry(lws), "seed %d slot %d: decided only after restore", seed, slot)
			}
		}
	}
}

func hasEntry(ws []Write) bool {
	for _, w := range ws {
		if w.Entry != nil {
			return true
		}
	}
	return false
}

func TestAcceptorErrorsAreSentinels(t *testing.T) {
	for _, err := range []error{ErrZeroBallot, ErrSlotOutOfRange, ErrBallotConflict, ErrEmptyAcceptSlot} {
		assert.True(t, strings.HasPrefix(err.Error(), "paxos: "), err.Error())
	}
}
