package core

import "math"

// Quorum counting. A request goes to every voter; its tally is done as soon
// as a majority agreed, or as soon as enough voters refused or failed that a
// majority can no longer agree. Both the simulator and the network driver
// (MultiAcceptorClient) count with these types, so the simulation covers the
// counting the library does.

// PrepareResult is the outcome of phase 1 for one page.
type PrepareResult struct {
	Ballot  uint64
	From    uint64
	Granted bool
	Higher  uint64 // the highest promised ballot among refusals
	Chosen  uint64 // the highest chosen watermark among the granted promises
	Entries []Entry
	// Through is the last slot the merged page speaks for: every slot in
	// [From, Through] was reported on by the granting majority.
	// math.MaxUint64 when the page is complete.
	Through uint64
}

// PrepareTally collects phase 1b replies to one Prepare.
type PrepareTally struct {
	n, need  int
	ballot   uint64
	from     uint64
	granted  []Promise
	seen     map[int]bool
	rejected int
	higher   uint64
}

// NewPrepareTally starts a tally for a Prepare of ballot from slot from
// sent to n voters.
func NewPrepareTally(n int, ballot, from uint64) *PrepareTally {
	return &PrepareTally{n: n, need: Majority(n), ballot: ballot, from: from, seen: map[int]bool{}}
}

// Add counts voter's reply. Duplicates and replies after Done are ignored.
func (t *PrepareTally) Add(voter int, p Promise) {
	if t.Done() || t.seen[voter] || voter < 0 || voter >= t.n {
		return
	}
	t.seen[voter] = true
	if p.Ballot == t.ballot {
		t.granted = append(t.granted, p)
		return
	}
	t.rejected++
	if p.Ballot > t.higher {
		t.higher = p.Ballot
	}
}

// Fail counts a voter that could not answer.
func (t *PrepareTally) Fail(voter int) {
	if t.Done() || t.seen[voter] || voter < 0 || voter >= t.n {
		return
	}
	t.seen[voter] = true
	t.rejected++
}

// Done reports whether the outcome is known.
func (t *PrepareTally) Done() bool {
	return len(t.granted) >= t.need || t.rejected > t.n-t.need
}

// Result merges the granted promises. It is meaningful once Done.
func (t *PrepareTally) Result() PrepareResult {
	r := PrepareResult{Ballot: t.ballot, From: t.from, Higher: t.higher}
	if len(t.granted) < t.need {
		return r
	}
	r.Granted = true
	r.Chosen, r.Entries, r.Through = MergePromises(t.from, t.granted)
	return r
}

// MergePromises merges the pages of granted promises: per slot the decided
// entry if any reported one, else the entry with the highest ballot; cut at
// the last slot of the shortest page that has more to come. Pages are read
// in slot order by ReadPage, but a page is input from the network: entries
// out of order are sorted, not dropped (dropping one could hide the only
// report of a chosen value), and a slot reported twice counts at its highest
// ballot.
func MergePromises(from uint64, ps []Promise) (chosen uint64, entries []Entry, through uint64) {
	through = math.MaxUint64
	for _, p := range ps {
		if p.Chosen > chosen {
			chosen = p.Chosen
		}
		if !p.More {
			continue
		}
		var last uint64
		for _, e := range p.Entries {
			last = max(last, e.Slot)
		}
		if len(p.Entries) == 0 || last < from {
			// A page with more to come that speaks for nothing.
			if from > 0 && from-1 < through {
				through = from - 1
			}
			continue
		}
		through = min(through, last)
	}
	best := map[uint64]Entry{}
	for _, p := range ps {
		for _, e := range p.Entries {
			if e.Slot < from || e.Slot > through || e.Slot == 0 {
				continue // outside the page
			}
			cur, ok := best[e.Slot]
			switch {
			case !ok:
				best[e.Slot] = e
			case cur.Decided:
			case e.Decided || e.Ballot > cur.Ballot:
				best[e.Slot] = e
			}
		}
	}
	entries = make([]Entry, 0, len(best))
	for _, e := range best {
		entries = append(entries, e)
	}
	sortEntries(entries)
	return chosen, entries, through
}

// AcceptResult is the outcome of phase 2 for one slot.
type AcceptResult struct {
	Ballot   uint64
	Slot     uint64
	Accepted bool
	Higher   uint64
	Chosen   uint64 // the lowest watermark among the voters that accepted
}

// AcceptTally collects phase 2b replies to one Accept.
type AcceptTally struct {
	n, need  int
	ballot   uint64
	slot     uint64
	accepted int
	seen     map[int]bool
	rejected int
	higher   uint64
	chosen   uint64
}

// NewAcceptTally starts a tally for an Accept of ballot for slot sent to n
// voters.
func NewAcceptTally(n int, ballot, slot uint64) *AcceptTally {
	return &AcceptTally{n: n, need: Majority(n), ballot: ballot, slot: slot, seen: map[int]bool{}, chosen: math.MaxUint64}
}

// Add counts voter's reply. Duplicates and replies after Done are ignored.
func (t *AcceptTally) Add(voter int, a Accepted) {
	if t.Done() || t.seen[voter] || voter < 0 || voter >= t.n {
		return
	}
	t.seen[voter] = true
	if a.Ballot == t.ballot {
		t.accepted++
		if a.Chosen < t.chosen {
			t.chosen = a.Chosen
		}
		return
	}
	t.rejected++
	if a.Ballot > t.higher {
		t.higher = a.Ballot
	}
}

// Fail counts a voter that could not answer.
func (t *AcceptTally) Fail(voter int) {
	if t.Done() || t.seen[voter] || voter < 0 || voter >= t.n {
		return
	}
	t.seen[voter] = true
	t.rejected++
}

// Done reports whether the outcome is known.
func (t *AcceptTally) Done() bool {
	return t.accepted >= t.need || t.rejected > t.n-t.need
}

// Result is the outcome. It is meaningful once Done.
func (t *AcceptTally) Result() AcceptResult {
	r := AcceptResult{Ballot: t.ballot, Slot: t.slot, Higher: t.higher}
	if t.accepted >= t.need {
		r.Accepted = true
		r.Chosen = t.chosen
	}
	return r
}
