package core

import (
	"errors"
	"fmt"
)

// Errors an acceptor returns for input it cannot act on. Refusals (a ballot
// lower than the promise) are not errors: they are replies carrying the
// promised ballot.
var (
	ErrZeroBallot      = errors.New("paxos: ballot 0 is not a ballot")
	ErrSlotOutOfRange  = errors.New("paxos: slot out of range")
	ErrBallotConflict  = errors.New("paxos: ballot already promised to another proposer (are two members sharing a server id?)")
	ErrEmptyAcceptSlot = errors.New("paxos: an accept for slot 0 carries commands")
)

// WatermarkStampSlots is how far an acceptor's chosen watermark may move
// past the last one recorded (on an entry, or on its own) before a commit
// records it. A restart comes back at most this far behind; never ahead.
const WatermarkStampSlots = 1024

// DefaultMaxSlotsAhead bounds how far beyond its chosen watermark an acceptor
// accepts entries: a leader never runs more than its window ahead of what is
// chosen, so anything further is a bug or hostile input.
const DefaultMaxSlotsAhead = 1 << 24

// Acceptor is the acceptor role of one member: one promised ballot for all
// slots and an accepted entry per slot. Its durable state lives in two Logs
// (promises and entries); it keeps in memory only what it needs to answer
// quickly, all of it bounded by the leader's window except in pathological
// lag.
//
// Every method returns the Log writes the change needs; the caller must make
// them durable, in order, before any reply produced by the same or a later
// call leaves the member.
type Acceptor struct {
	promised uint64
	proposer string
	chosen   uint64 // every slot <= chosen holds its chosen value here

	undecided map[uint64]uint64   // slot -> ballot of entries above chosen not known chosen
	decided   map[uint64]struct{} // slots above chosen known to hold their chosen value
	maxSlot   uint64              // highest slot with an entry
	stamped   uint64              // the highest watermark written to the Log

	// watermark already applied for the promised ballot, to skip rescans
	markedBallot, markedThrough uint64

	MaxSlotsAhead uint64 // 0 means DefaultMaxSlotsAhead
}

// NewAcceptor returns an acceptor with no durable state.
func NewAcceptor() *Acceptor {
	return &Acceptor{undecided: map[uint64]uint64{}, decided: map[uint64]struct{}{}}
}

// RestoreAcceptor rebuilds an acceptor from its Logs: the last promise record
// and every entry above a recorded watermark (the higher of the stamp on the
// highest entry and the last Watermark write; stamps found on the entries
// passed are honoured too).
func RestoreAcceptor(p PromiseRecord, stamp uint64, above []Entry, stamps []uint64) *Acceptor {
	a := NewAcceptor()
	a.promised, a.proposer = p.Ballot, p.Proposer
	a.chosen = stamp
	for _, s := range stamps {
		if s > a.chosen {
			a.chosen = s
		}
	}
	for _, e := range above {
		if e.Slot > a.maxSlot {
			a.maxSlot = e.Slot
		}
		if e.Slot <= a.chosen {
			continue
		}
		if e.Decided {
			a.decided[e.Slot] = struct{}{}
		} else {
			a.undecided[e.Slot] = e.Ballot
		}
	}
	if stamp > a.maxSlot {
		a.maxSlot = stamp
	}
	a.stamped = a.chosen
	a.advance()
	return a
}

// Promised returns the promised ballot and the proposer that asked for it
// ("" when unknown).
func (a *Acceptor) Promised() (uint64, string) { return a.promised, a.proposer }

// Chosen returns the chosen watermark.
func (a *Acceptor) Chosen() uint64 { return a.chosen }

// MaxSlot returns the highest slot the acceptor holds an entry for.
func (a *Acceptor) MaxSlot() uint64 { return a.maxSlot }

// Prepare handles phase 1a. The returned Promise has no entries: when it is
// granted (Ballot == m.Ballot) the caller reads the page with ReadPage from
// m.From once the returned writes are durable, so that the page includes
// every entry accepted before the promise.
func (a *Acceptor) Prepare(m Prepare) (Promise, []Write, error) {
	if m.Ballot == 0 {
		return Promise{}, nil, ErrZeroBallot
	}
	switch {
	case m.Ballot > a.promised:
		a.promised, a.proposer = m.Ballot, m.Proposer
		return Promise{Ballot: m.Ballot, Chosen: a.chosen},
			[]Write{{Promise: &PromiseRecord{Ballot: a.promised, Proposer: a.proposer}}}, nil
	case m.Ballot == a.promised:
		// The same proposer paging through its phase 1, or a duplicate.
		if m.Proposer != "" && a.proposer != "" && m.Proposer != a.proposer {
			return Promise{}, nil, fmt.Errorf("%w: ballot %d promised to %q, asked by %q",
				ErrBallotConflict, m.Ballot, a.proposer, m.Proposer)
		}
		if a.proposer == "" {
			a.proposer = m.Proposer // a hint only; not worth a write
		}
		return Promise{Ballot: m.Ballot, Chosen: a.chosen}, nil, nil
	default:
		return Promise{Ballot: a.promised, Chosen: a.chosen}, nil, nil
	}
}

// Accept handles phase 2a. An accept raises the promise to its ballot; an
// entry already known to hold the chosen value is never overwritten (a
// correct leader can only send that same value again).
func (a *Acceptor) Accept(m Accept) (Accepted, []Write, error) {
	if m.Ballot == 0 {
		return Accepted{}, nil, ErrZeroBallot
	}
	if m.Slot == 0 && len(m.Cmds) > 0 {
		return Accepted{}, nil, ErrEmptyAcceptSlot
	}
	if m.Slot > a.chosen && m.Slot-a.chosen > a.maxAhead() {
		return Accepted{}, nil, fmt.Errorf("%w: slot %d is more than %d beyond the chosen watermark %d",
			ErrSlotOutOfRange, m.Slot, a.maxAhead(), a.chosen)
	}
	if m.Ballot < a.promised {
		return Accepted{Ballot: a.promised, Slot: m.Slot, Chosen: a.chosen}, nil, nil
	}
	var writes []Write
	if m.Ballot > a.promised {
		a.promised, a.proposer = m.Ballot, ""
		writes = append(writes, Write{Promise: &PromiseRecord{Ballot: a.promised}})
	}
	if m.Slot != 0 && !a.isDecided(m.Slot) {
		e := &Entry{Slot: m.Slot, Ballot: m.Ballot, Cmds: m.Cmds}
		if m.Slot <= m.Chosen || (m.Ballot == a.markedBallot && m.Slot <= a.markedThrough) {
			// A leader re-sending a chosen slot to a lagging acceptor; or
			// this ballot's leader already said the slot is chosen, in a
			// commit that overtook this accept (markWatermark's argument:
			// the leader proposes one value per slot at its ballot).
			e.Decided = true
			a.decided[m.Slot] = struct{}{}
			delete(a.undecided, m.Slot)
		} else {
			a.undecided[m.Slot] = m.Ballot
		}
		if m.Slot > a.maxSlot {
			a.maxSlot = m.Slot
		}
		a.markWatermark(m.Ballot, m.Chosen)
		a.advance()
		writes = append(writes, Write{Entry: e, Chosen: a.chosen})
		a.stamped = a.chosen
	} else {
		a.markWatermark(m.Ballot, m.Chosen)
		a.advance()
		if m.Slot == 0 && a.chosen-a.stamped >= WatermarkStampSlots {
			// An idle leader's commit moved the watermark far past the last
			// stamp: record it, so that a restart does not come back far
			// behind. Not at every commit: the watermark is knowledge, not
			// a promise, and a sync per commit would double an idle
			// cluster's syncs.
			writes = append(writes, Write{Chosen: a.chosen, Watermark: true})
			a.stamped = a.chosen
		}
	}
	return Accepted{Ballot: m.Ballot, Slot: m.Slot, Chosen: a.chosen}, writes, nil
}

// Learn records that e holds the chosen value of its slot (learned by this
// member's learner from elsewhere). It lets an acceptor that missed accepts
// catch up, so that its Observe stream and its promises can serve every slot.
func (a *Acceptor) Learn(e Entry) []Write {
	if e.Slot == 0 || a.isDecided(e.Slot) {
		return nil
	}
	if b, ok := a.undecided[e.Slot]; ok && b == e.Ballot {
		// Same ballot, same value: nothing to write.
		delete(a.undecided, e.Slot)
		a.decided[e.Slot] = struct{}{}
		a.advance()
		return nil
	}
	delete(a.undecided, e.Slot)
	a.decided[e.Slot] = struct{}{}
	if e.Slot > a.maxSlot {
		a.maxSlot = e.Slot
	}
	a.advance()
	w := e
	w.Decided = true
	a.stamped = a.chosen
	return []Write{{Entry: &w, Chosen: a.chosen}}
}

func (a *Acceptor) maxAhead() uint64 {
	if a.MaxSlotsAhead == 0 {
		return DefaultMaxSlotsAhead
	}
	return a.MaxSlotsAhead
}

func (a *Acceptor) isDecided(slot uint64) bool {
	if slot <= a.chosen {
		return true
	}
	_, ok := a.decided[slot]
	return ok
}

// markWatermark marks every entry accepted at ballot b in slots <= through
// as decided. Only entries of the leader's own ballot qualify: the leader
// proposed exactly one value per slot at b, and it tells us those slots are
// chosen; an entry from an older ballot may hold a value that lost.
func (a *Acceptor) markWatermark(b, through uint64) {
	if through <= a.chosen {
		return
	}
	if b == a.markedBallot && through <= a.markedThrough {
		return
	}
	for slot, eb := range a.undecided {
		if eb == b && slot <= through {
			delete(a.undecided, slot)
			a.decided[slot] = struct{}{}
		}
	}
	a.markedBallot, a.markedThrough = b, through
}

// advance moves the chosen watermark over contiguous decided slots.
func (a *Acceptor) advance() {
	for {
		if _, ok := a.decided[a.chosen+1]; !ok {
			break
		}
		delete(a.decided, a.chosen+1)
		delete(a.undecided, a.chosen+1)
		a.chosen++
	}
}
