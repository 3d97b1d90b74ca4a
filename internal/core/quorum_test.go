package core

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMajority(t *testing.T) {
	for n, want := range map[int]int{1: 1, 2: 2, 3: 2, 4: 3, 5: 3, 6: 4, 7: 4, 64: 33} {
		assert.Equal(t, want, Majority(n), "n=%d", n)
	}
}

// reply is one event fed to a tally.
type reply struct {
	voter  int
	ballot uint64 // the reply's ballot (ignored for fail)
	chosen uint64
	fail   bool
}

func grant(v int, b uint64) reply        { return reply{voter: v, ballot: b} }
func refuse(v int, b uint64) reply       { return reply{voter: v, ballot: b} }
func failed(v int) reply                 { return reply{voter: v, fail: true} }
func withChosen(r reply, c uint64) reply { r.chosen = c; return r }

func TestPrepareTally(t *testing.T) {
	const b = 10
	tests := []struct {
		name        string
		n           int
		replies     []reply
		wantDone    bool
		wantGranted bool
		wantHigher  uint64
		wantChosen  uint64
	}{
		{"no replies", 3, nil, false, false, 0, 0},
		{"one grant of three", 3, []reply{grant(0, b)}, false, false, 0, 0},
		{"a majority grants", 3, []reply{withChosen(grant(0, b), 4), withChosen(grant(2, b), 7)}, true, true, 0, 7},
		{"a refusal does not stop a majority", 3, []reply{grant(0, b), refuse(1, 12), grant(2, b)}, true, true, 12, 0},
		{"a majority refuses", 3, []reply{refuse(0, 12), refuse(1, 15)}, true, false, 15, 0},
		{"failures count against", 3, []reply{failed(0), failed(1)}, true, false, 0, 0},
		{"a failure and a refusal", 3, []reply{failed(0), refuse(2, 11)}, true, false, 11, 0},
		{"duplicates count once", 3, []reply{grant(1, b), grant(1, b), grant(1, b)}, false, false, 0, 0},
		{"a duplicate refusal counts once", 5, []reply{refuse(1, 11), refuse(1, 11), refuse(1, 11)}, false, false, 11, 0},
		{"a voter that failed cannot grant later", 3, []reply{failed(1), grant(1, b), grant(0, b)}, false, false, 0, 0},
		{"replies after done are ignored", 3, []reply{grant(0, b), grant(1, b), refuse(2, 99)}, true, true, 0, 0},
		{"voters out of range are ignored", 3, []reply{grant(-1, b), grant(3, b), grant(64, b), grant(0, b)}, false, false, 0, 0},
		{"five voters need three", 5, []reply{grant(0, b), grant(1, b), refuse(2, 11), refuse(3, 11)}, false, false, 11, 0},
		{"five voters: three refusals end it", 5, []reply{refuse(2, 11), refuse(3, 11), failed(4)}, true, false, 11, 0},
		{"a stale promise for a lower ballot is a refusal", 3, []reply{refuse(0, 3), refuse(1, 4)}, true, false, 4, 0},
		{"a single voter", 1, []reply{grant(0, b)}, true, true, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tl := NewPrepareTally(tt.n, b, 1)
			for _, r := range tt.replies {
				if r.fail {
					tl.Fail(r.voter)
				} else {
					tl.Add(r.voter, Promise{Ballot: r.ballot, Chosen: r.chosen})
				}
			}
			assert.Equal(t, tt.wantDone, tl.Done())
			res := tl.Result()
			assert.Equal(t, tt.wantGranted, res.Granted)
			assert.Equal(t, uint64(b), res.Ballot)
			assert.Equal(t, uint64(1), res.From)
			assert.Equal(t, tt.wantHigher, res.Higher)
			assert.Equal(t, tt.wantChosen, res.Chosen)
			if res.Granted {
				assert.Equal(t, uint64(math.MaxUint64), res.Through, "complete pages")
			}
		})
	}
}

func TestAcceptTally(t *testing.T) {
	const b = 10
	tests := []struct {
		name         string
		n            int
		replies      []reply
		wantDone     bool
		wantAccepted bool
		wantHigher   uint64
		wantChosen   uint64
	}{
		{"no replies", 3, nil, false, false, 0, 0},
		{"a majority accepts; chosen is the lowest of theirs", 3,
			[]reply{withChosen(grant(0, b), 9), withChosen(grant(1, b), 4)}, true, true, 0, 4},
		{"the refuser's watermark does not count", 3,
			[]reply{withChosen(refuse(2, 11), 1), withChosen(grant(0, b), 9), withChosen(grant(1, b), 8)}, true, true, 11, 8},
		{"a majority refuses", 3, []reply{refuse(0, 11), refuse(1, 12)}, true, false, 12, 0},
		{"failures", 5, []reply{failed(0), failed(1), failed(2)}, true, false, 0, 0},
		{"duplicates count once", 3, []reply{grant(0, b), grant(0, b)}, false, false, 0, 0},
		{"replies after done are ignored", 3, []reply{refuse(0, 11), refuse(1, 11), grant(2, b)}, true, false, 11, 0},
		{"voters out of range are ignored", 3, []reply{grant(5, b), grant(-2, b), grant(2, b)}, false, false, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tl := NewAcceptTally(tt.n, b, 7)
			for _, r := range tt.replies {
				if r.fail {
					tl.Fail(r.voter)
				} else {
					tl.Add(r.voter, Accepted{Ballot: r.ballot, Slot: 7, Chosen: r.chosen})
				}
			}
			assert.Equal(t, tt.wantDone, tl.Done())
			res := tl.Result()
			assert.Equal(t, tt.wantAccepted, res.Accepted)
			assert.Equal(t, uint64(7), res.Slot)
			assert.Equal(t, tt.wantHigher, res.Higher)
			assert.Equal(t, tt.wantChosen, res.Chosen)
		})
	}
}

func TestMergePromises(t *testing.T) {
	e := func(slot, ballot uint64, v string) Entry { return Entry{Slot: slot, Ballot: ballot, Cmds: cmds(v)} }
	d := func(slot, ballot uint64, v string) Entry {
		x := e(slot, ballot, v)
		x.Decided = true
		return x
	}
	tests := []struct {
		name        string
		from        uint64
		ps          []Promise
		wantChosen  uint64
		wantEntries []Entry
		wantThrough uint64
	}{
		{"empty pages", 1, []Promise{{Ballot: 9}, {Ballot: 9}}, 0, []Entry{}, math.MaxUint64},
		{"the highest ballot wins each slot", 1, []Promise{
			{Ballot: 9, Entries: []Entry{e(1, 3, "a"), e(2, 5, "b")}},
			{Ballot: 9, Entries: []Entry{e(1, 4, "c"), e(2, 2, "d"), e(3, 1, "e")}},
		}, 0, []Entry{e(1, 4, "c"), e(2, 5, "b"), e(3, 1, "e")}, math.MaxUint64},
		{"a decided entry wins over any ballot", 1, []Promise{
			{Ballot: 9, Entries: []Entry{d(1, 2, "chosen")}},
			{Ballot: 9, Entries: []Entry{e(1, 8, "later")}},
			{Ballot: 9, Entries: []Entry{e(1, 7, "other")}},
		}, 0, []Entry{d(1, 2, "chosen")}, math.MaxUint64},
		{"chosen is the highest watermark", 5, []Promise{{Ballot: 9, Chosen: 4}, {Ballot: 9, Chosen: 6}}, 6, []Entry{}, math.MaxUint64},
		{"cut at the last slot of the shortest page with more", 1, []Promise{
			{Ballot: 9, Entries: []Entry{e(1, 1, "a"), e(2, 1, "b")}, More: true},
			{Ballot: 9, Entries: []Entry{e(1, 1, "a"), e(4, 1, "x"), e(7, 1, "y")}, More: true},
			{Ballot: 9, Entries: []Entry{e(2, 1, "b"), e(3, 1, "c"), e(9, 1, "z")}},
		}, 0, []Entry{e(1, 1, "a"), e(2, 1, "b")}, 2},
		{"an empty page with more speaks for nothing", 5, []Promise{
			{Ballot: 9, More: true},
			{Ballot: 9, Entries: []Entry{e(5, 1, "a")}},
		}, 0, []Entry{}, 4},
		{"entries below from are ignored", 5, []Promise{
			{Ballot: 9, Entries: []Entry{e(3, 1, "old"), e(5, 1, "a")}},
		}, 0, []Entry{e(5, 1, "a")}, math.MaxUint64},
		{"a duplicated entry in one page counts once", 1, []Promise{
			{Ballot: 9, Entries: []Entry{e(1, 2, "a"), e(1, 2, "a"), e(2, 2, "b")}},
		}, 0, []Entry{e(1, 2, "a"), e(2, 2, "b")}, math.MaxUint64},
		{"a page out of order is sorted, and cut at its highest slot", 1, []Promise{
			{Ballot: 9, Entries: []Entry{e(3, 1, "c"), e(1, 1, "a"), e(2, 1, "b")}, More: true},
			{Ballot: 9, Entries: []Entry{e(4, 1, "d")}},
		}, 0, []Entry{e(1, 1, "a"), e(2, 1, "b"), e(3, 1, "c")}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chosen, entries, through := MergePromises(tt.from, tt.ps)
			assert.Equal(t, tt.wantChosen, chosen)
			assert.Equal(t, tt.wantEntries, entries)
			assert.Equal(t, tt.wantThrough, through)
		})
	}
}

func TestPrepareTallyMergesPagesOfTheGranters(t *testing.T) {
	tl := NewPrepareTally(3, 9, 1)
	tl.Add(0, Promise{Ballot: 9, Entries: []Entry{{Slot: 1, Ballot: 2, Cmds: cmds("a")}}})
	// A refusal's page (it should have none) is not merged.
	tl.Add(1, Promise{Ballot: 12, Entries: []Entry{{Slot: 1, Ballot: 11, Cmds: cmds("x")}}})
	tl.Add(2, Promise{Ballot: 9, Entries: []Entry{{Slot: 2, Ballot: 3, Cmds: cmds("b")}}})
	require.True(t, tl.Done())
	r := tl.Result()
	require.True(t, r.Granted)
	assert.Equal(t, uint64(12), r.Higher)
	require.Len(t, r.Entries, 2)
	assert.Equal(t, "a", digestOf(r.Entries[0].Cmds))
	assert.Equal(t, "b", digestOf(r.Entries[1].Cmds))
}
