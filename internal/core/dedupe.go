package core

import (
	"cmp"
	"slices"
)

// Dedupe is the learners' table of request ids, which makes proposing
// exactly-once: a command is delivered unless its session already had that
// sequence number delivered, or has moved its floor past it (the proposer
// gave up on it). Every learner applies the same table in slot order, so
// every learner skips the same commands. State per session is bounded by the
// session's window of commands in flight; sessions idle for ExpirySlots are
// dropped at fixed slot numbers, so that learners that started at different
// times decide alike.
type Dedupe struct {
	sessions    map[uint64]*dedupeSession
	expirySlots uint64
	maxWindow   int
}

type dedupeSession struct {
	floor    uint64
	applied  map[uint64]struct{} // delivered seqs (those below floor are garbage)
	lastSlot uint64
	pruneAt  int // prune garbage when applied grows past this
}

// SessionState is one session of a Dedupe snapshot.
type SessionState struct {
	Session  uint64   `json:"session"`
	Floor    uint64   `json:"floor"`
	LastSlot uint64   `json:"last_slot"`
	Applied  []uint64 `json:"applied,omitempty"`
}

// Dedupe defaults.
const (
	DefaultSessionExpirySlots = 1 << 20
	DefaultSessionWindow      = 1 << 16
	dedupeSweepSlots          = 1 << 12
)

// NewDedupe returns an empty table. Zero limits take the defaults.
func NewDedupe(expirySlots uint64, maxWindow int) *Dedupe {
	if expirySlots == 0 {
		expirySlots = DefaultSessionExpirySlots
	}
	if maxWindow <= 0 {
		maxWindow = DefaultSessionWindow
	}
	return &Dedupe{sessions: map[uint64]*dedupeSession{}, expirySlots: expirySlots, maxWindow: maxWindow}
}

// Apply decides whether command c, found in slot, is delivered.
func (d *Dedupe) Apply(c Command, slot uint64) bool {
	if c.Session == 0 {
		return true // no request id: nothing to deduplicate against
	}
	s := d.sessions[c.Session]
	if s == nil {
		s = &dedupeSession{floor: c.Floor, applied: map[uint64]struct{}{}}
		d.sessions[c.Session] = s
	}
	s.lastSlot = slot
	if c.Floor > s.floor {
		s.floor = c.Floor
	}
	if c.Seq < s.floor {
		return false
	}
	if _, dup := s.applied[c.Seq]; dup {
		return false
	}
	s.applied[c.Seq] = struct{}{}
	if len(s.applied) > s.pruneAt || len(s.applied) > d.maxWindow {
		// Pruning lazily keeps Apply O(1) amortized while the floor rises
		// with every command.
		s.prune()
	}
	if len(s.applied) > d.maxWindow {
		// A session may not have more than maxWindow commands in flight;
		// one that does loses its oldest, deterministically.
		low := uint64(0)
		first := true
		for seq := range s.applied {
			if seq >= s.floor && (first || seq < low) {
				low, first = seq, false
			}
		}
		delete(s.applied, low)
		s.floor = low + 1
	}
	return true
}

func (s *dedupeSession) prune() {
	for seq := range s.applied {
		if seq < s.floor {
			delete(s.applied, seq)
		}
	}
	s.pruneAt = max(64, 2*len(s.applied))
}

// EndSlot is called after every delivered slot; at fixed slot numbers it
// drops sessions idle for longer than the expiry.
func (d *Dedupe) EndSlot(slot uint64) {
	if slot%dedupeSweepSlots != 0 || slot < d.expirySlots {
		return
	}
	for id, s := range d.sessions {
		if s.lastSlot+d.expirySlots < slot {
			delete(d.sessions, id)
		}
	}
}

// Snapshot returns the table, sorted by session, for a checkpoint.
func (d *Dedupe) Snapshot() []SessionState {
	out := make([]SessionState, 0, len(d.sessions))
	for id, s := range d.sessions {
		st := SessionState{Session: id, Floor: s.floor, LastSlot: s.lastSlot}
		for seq := range s.applied {
			if seq >= s.floor {
				st.Applied = append(st.Applied, seq)
			}
		}
		slices.Sort(st.Applied)
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b SessionState) int { return cmp.Compare(a.Session, b.Session) })
	return out
}

// Restore replaces the table with a snapshot.
func (d *Dedupe) Restore(states []SessionState) {
	d.sessions = make(map[uint64]*dedupeSession, len(states))
	for _, st := range states {
		s := &dedupeSession{floor: st.Floor, lastSlot: st.LastSlot, applied: make(map[uint64]struct{}, len(st.Applied))}
		for _, seq := range st.Applied {
			if seq >= st.Floor {
				s.applied[seq] = struct{}{}
			}
		}
		d.sessions[st.Session] = s
	}
}

// Len returns the number of sessions in the table.
func (d *Dedupe) Len() int { return len(d.sessions) }
