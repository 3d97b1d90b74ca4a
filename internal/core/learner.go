package core

import (
	"math/bits"
	"slices"
)

// LearnerConfig holds the learner's limits. Zero fields take the defaults.
type LearnerConfig struct {
	// Voters is the number of voters (at most 64).
	Voters int
	// WindowSlots bounds how far beyond the next undelivered slot the
	// learner keeps votes and decided entries.
	WindowSlots uint64
	// CheckpointSlots is how often (in delivered slots) a checkpoint is
	// emitted.
	CheckpointSlots uint64
	// SessionExpirySlots and SessionWindow bound the Dedupe table.
	SessionExpirySlots uint64
	SessionWindow      int
}

// Learner defaults.
const (
	DefaultLearnerWindowSlots = 1 << 12
	DefaultCheckpointSlots    = 1 << 10
	MaxVoters                 = 64
)

// Delivery is one chosen command at its position in the log. A barrier
// occupies no position: its Pos is the last position before it, and it is
// not recorded.
type Delivery struct {
	Pos    uint64
	Slot   uint64
	Offset uint32
	Cmd    Command
}

// Checkpoint is the learner's state after delivering every slot <= Slot:
// enough to resume without replaying the log from the start.
type Checkpoint struct {
	Slot     uint64         `json:"slot"`
	Pos      uint64         `json:"pos"`
	Sessions []SessionState `json:"sessions,omitempty"`
}

// LearnerOutput is what a Learner asks its driver to do.
type LearnerOutput struct {
	// Deliveries are to be recorded in order (positions are consecutive).
	Deliveries []Delivery
	// Decided are slots that became known chosen, in any order: the member
	// gives them to its acceptor (catch-up) and its leader.
	Decided []Entry
	// Checkpoint, when set, may be stored once every delivery before it is
	// recorded.
	Checkpoint *Checkpoint
	// Resync lists voters whose Observe stream skipped data the learner
	// could not keep; they should be reopened from Next.
	Resync []int
}

type ballotVotes struct {
	voters uint64 // bit i: voter i reported this ballot
	cmds   []Command
}

type learnSlot struct {
	decided *Entry
	votes   map[uint64]*ballotVotes
}

// Learner learns which value each slot has chosen (from a majority of
// acceptors reporting the same ballot, or from an entry an acceptor or the
// leader knows is chosen) and hands out the chosen commands in slot order,
// one position per command, skipping no-ops and duplicates.
type Learner struct {
	cfg       LearnerConfig
	need      int
	next      uint64 // next slot to deliver
	pos       uint64 // last position delivered
	slots     map[uint64]*learnSlot
	maxSeen   uint64 // highest decided slot seen
	dedupe    *Dedupe
	lastCkpt  uint64
	delivered uint64 // commands delivered by this instance (for stats)
	out       LearnerOutput
}

// NewLearner returns a learner resuming from cp (nil: from the start).
func NewLearner(cfg LearnerConfig, cp *Checkpoint) *Learner {
	if cfg.WindowSlots == 0 {
		cfg.WindowSlots = DefaultLearnerWindowSlots
	}
	if cfg.CheckpointSlots == 0 {
		cfg.CheckpointSlots = DefaultCheckpointSlots
	}
	if cfg.Voters < 1 {
		cfg.Voters = 1
	}
	if cfg.Voters > MaxVoters {
		cfg.Voters = MaxVoters
	}
	l := &Learner{cfg: cfg, need: Majority(cfg.Voters), next: 1, slots: map[uint64]*learnSlot{},
		dedupe: NewDedupe(cfg.SessionExpirySlots, cfg.SessionWindow)}
	if cp != nil {
		l.next, l.pos, l.lastCkpt = cp.Slot+1, cp.Pos, cp.Slot
		l.dedupe.Restore(cp.Sessions)
	}
	return l
}

// Next returns the next slot to deliver: every slot below it is delivered.
func (l *Learner) Next() uint64 { return l.next }

// Pos returns the last position delivered.
func (l *Learner) Pos() uint64 { return l.pos }

// Sessions returns the number of sessions in the dedupe table.
func (l *Learner) Sessions() int { return l.dedupe.Len() }

// Buffered returns how many slots the learner holds beyond Next.
func (l *Learner) Buffered() int { return len(l.slots) }

// Hole returns the next undelivered slot when something shows that it holds
// or will hold a chosen value the learner cannot learn by itself: a later
// slot is decided, or acceptors reported accepted entries for it without a
// majority at one ballot (after partial re-proposals no acceptor may ever
// mark it decided). The member asks for it to be completed once this has
// lasted a while; a new leader's phase 1 does.
func (l *Learner) Hole() (uint64, bool) {
	s, ok := l.slots[l.next]
	if ok && s.decided != nil {
		return 0, false
	}
	if l.maxSeen > l.next || (ok && len(s.votes) > 0) {
		return l.next, true
	}
	return 0, false
}

// Output drains what the learner asks the driver to do.
func (l *Learner) Output() LearnerOutput {
	o := l.out
	l.out = LearnerOutput{}
	return o
}

// Observe takes an entry reported by voter's acceptor: Decided entries are
// authoritative, others count as a vote for (slot, ballot).
func (l *Learner) Observe(voter int, e Entry) {
	if e.Slot == 0 || e.Slot < l.next || e.Ballot == 0 {
		return
	}
	if e.Slot-l.next >= l.cfg.WindowSlots {
		if e.Decided && voter >= 0 && voter < l.cfg.Voters {
			l.out.Resync = append(l.out.Resync, voter)
		}
		return
	}
	if e.Decided {
		l.Decide(e)
		return
	}
	if voter < 0 || voter >= l.cfg.Voters {
		return
	}
	s := l.slot(e.Slot)
	if s.decided != nil {
		return
	}
	if s.votes == nil {
		s.votes = map[uint64]*ballotVotes{}
	}
	v := s.votes[e.Ballot]
	if v == nil {
		v = &ballotVotes{cmds: e.Cmds}
		s.votes[e.Ballot] = v
	}
	v.voters |= 1 << uint(voter)
	if bits.OnesCount64(v.voters) >= l.need {
		l.Decide(Entry{Slot: e.Slot, Ballot: e.Ballot, Cmds: v.cmds, Decided: true})
	}
}

// Decide takes an entry known to hold its slot's chosen value.
func (l *Learner) Decide(e Entry) {
	if e.Slot == 0 || e.Slot < l.next || e.Slot-l.next >= l.cfg.WindowSlots {
		return
	}
	s := l.slot(e.Slot)
	if s.decided != nil {
		return
	}
	e.Decided = true
	s.decided = &e
	s.votes = nil
	if e.Slot > l.maxSeen {
		l.maxSeen = e.Slot
	}
	l.out.Decided = append(l.out.Decided, e)
	l.deliver()
}

func (l *Learner) slot(n uint64) *learnSlot {
	s := l.slots[n]
	if s == nil {
		s = &learnSlot{}
		l.slots[n] = s
	}
	return s
}

func (l *Learner) deliver() {
	for {
		s, ok := l.slots[l.next]
		if !ok || s.decided == nil {
			return
		}
		// One growth per slot, not a doubling per few commands: a slot
		// carries a whole batch.
		l.out.Deliveries = slices.Grow(l.out.Deliveries, len(s.decided.Cmds))
		for i, c := range s.decided.Cmds {
			if !l.dedupe.Apply(c, l.next) {
				continue
			}
			if !c.IsBarrier() {
				l.pos++
				l.delivered++
			}
			l.out.Deliveries = append(l.out.Deliveries, Delivery{Pos: l.pos, Slot: l.next, Offset: uint32(i), Cmd: c})
		}
		l.dedupe.EndSlot(l.next)
		delete(l.slots, l.next)
		l.next++
		if l.next-1-l.lastCkpt >= l.cfg.CheckpointSlots {
			l.lastCkpt = l.next - 1
			l.out.Checkpoint = &Checkpoint{Slot: l.next - 1, Pos: l.pos, Sessions: l.dedupe.Snapshot()}
		}
	}
}
