package core

import (
	"math"
	"slices"
)

// LeaderConfig holds the leader's limits. Zero fields take the defaults.
type LeaderConfig struct {
	// Proposer is this member's name, sent with Prepare as a forwarding hint.
	Proposer string
	// WindowSlots bounds the slots in flight beyond the chosen prefix.
	WindowSlots int
	// MaxBatchCommands and MaxBatchBytes bound one slot's batch.
	MaxBatchCommands int
	MaxBatchBytes    int
	// MaxQueueCommands bounds the commands waiting for a slot.
	MaxQueueCommands int
	// RetryNanos is how long an unanswered Prepare or Accept waits before it
	// is sent again.
	RetryNanos int64
	// CommitDelayNanos is how long an idle leader holds back telling the
	// acceptors what is chosen when only its own member waits on it (its
	// learner hears from the leader directly). The next Accept usually
	// carries the watermark sooner, so a closed-loop client costs one round
	// per slot instead of two. Slots holding commands of other sessions
	// (forwarded, recovered) are told at once. 0 tells at once always.
	CommitDelayNanos int64
	// Session is the session id of this member's own commands (see
	// CommitDelayNanos).
	Session uint64
	// BatchHoldPercent is how long, in percent of a recent round (an
	// Accept's way to a majority and back), a batch smaller than the last
	// one may wait for more commands. Closed-loop callers propose again a
	// moment after their slot is chosen; a leader that sends the next slot
	// at once carries only the commands that arrived meanwhile, and the
	// load splits into two half batches that alternate, each paying a full
	// round of syncs. 0 never holds a batch.
	BatchHoldPercent int
}

// Defaults for LeaderConfig.
const (
	DefaultWindowSlots      = 1
	DefaultMaxBatchCommands = 1024
	DefaultMaxBatchBytes    = 1 << 20
	DefaultMaxQueueCommands = 1 << 16
	DefaultRetryNanos       = int64(200e6)
)

func (c LeaderConfig) withDefaults() LeaderConfig {
	if c.WindowSlots <= 0 {
		c.WindowSlots = DefaultWindowSlots
	}
	if c.MaxBatchCommands <= 0 {
		c.MaxBatchCommands = DefaultMaxBatchCommands
	}
	if c.MaxBatchBytes <= 0 {
		c.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if c.MaxQueueCommands <= 0 {
		c.MaxQueueCommands = DefaultMaxQueueCommands
	}
	if c.RetryNanos <= 0 {
		c.RetryNanos = DefaultRetryNanos
	}
	return c
}

// LeaderState is where a Leader stands.
type LeaderState int

// The leader states.
const (
	Follower  LeaderState = iota // not leading; commands go elsewhere
	Preparing                    // waiting for the first page of phase 1
	Leading                      // phase 1 granted; recovering, then proposing
)

func (s LeaderState) String() string {
	switch s {
	case Preparing:
		return "preparing"
	case Leading:
		return "leading"
	}
	return "follower"
}

// LeaderOutput is what a Leader asks its driver to do.
type LeaderOutput struct {
	Prepares []Prepare // send to every voter, tally with PrepareTally
	Accepts  []Accept  // send to every voter, tally with AcceptTally
	Learned  []Entry   // slots this leader learned are chosen (Decided)
	Dropped  []Command // queued commands given back when leadership ended
	// Uncertain are the commands of unchosen slots when leadership ended:
	// they may still be chosen there, and their sessions may send them
	// again at once (learners drop the second copy).
	Uncertain []Command
}

type leaderSlot struct {
	cmds    []Command
	chosen  bool
	sentAt  int64
	waiting bool // an Accept is out and unanswered
	fresh   bool // a batch from the queue, answered at its first send: its round is timed
}

// Leader is the proposer role of Multi-Paxos: phase 1 once per leadership
// (paged, from the first slot not known to be chosen), then phase 2 only,
// with a window of slots in flight, each carrying a batch of commands.
type Leader struct {
	cfg LeaderConfig

	state   LeaderState
	ballot  uint64
	maxSeen uint64 // highest ballot seen anywhere
	chosen  uint64 // every slot <= chosen is known chosen

	// phase 1
	p1Next    uint64 // next slot to page from
	p1Done    bool
	p1Waiting bool
	p1SentAt  int64
	recovered map[uint64]Entry // undecided entries found by phase 1, not yet re-proposed
	p1Max     uint64           // highest slot phase 1 has seen an entry for
	p1Through uint64           // every slot <= p1Through is covered by phase 1 pages

	fill  uint64 // next slot to assign
	slots map[uint64]*leaderSlot

	queue      []Command
	queueBytes int                    // batch bytes of the queue, as takeBatch counts them
	placed     map[RequestID]struct{} // in the queue or in a slot of this leadership

	resendAt      int64  // no slot needs resending before this (may be early)
	sentChosen    uint64 // watermark last sent to the acceptors
	commitWaiting bool
	commitSentAt  int64
	commitDue     int64  // when a held-back watermark goes out; 0: none held
	urgentSlot    uint64 // highest chosen slot another session waits on

	lastBatch int   // commands in the last batch sent
	round     int64 // recent time from a batch's Accept to its slot chosen (average)
	holdUntil int64 // when a held batch goes out; 0: none held

	out LeaderOutput
}

// NewLeader returns a follower that knows nothing chosen yet.
func NewLeader(cfg LeaderConfig) *Leader {
	return &Leader{cfg: cfg.withDefaults(), slots: map[uint64]*leaderSlot{},
		recovered: map[uint64]Entry{}, placed: map[RequestID]struct{}{}}
}

// State returns the leader's state and ballot.
func (l *Leader) State() (LeaderState, uint64) { return l.state, l.ballot }

// MaxSeen returns the highest ballot this leader has seen; a new ballot must
// be above it.
func (l *Leader) MaxSeen() uint64 { return l.maxSeen }

// Chosen returns the chosen prefix the leader knows.
func (l *Leader) Chosen() uint64 { return l.chosen }

// QueueFull reports whether Propose would refuse a new command.
func (l *Leader) QueueFull() bool { return len(l.queue) >= l.cfg.MaxQueueCommands }

// Output drains what the leader asks the driver to do.
func (l *Leader) Output() LeaderOutput {
	o := l.out
	l.out = LeaderOutput{}
	return o
}

// Observe notes a ballot seen elsewhere (a promise held by an acceptor, a
// refusal). A higher ballot than ours ends our leadership.
func (l *Leader) Observe(ballot uint64) {
	if ballot > l.maxSeen {
		l.maxSeen = ballot
	}
	if l.state != Follower && ballot > l.ballot {
		l.stepDown()
	}
}

// Campaign starts phase 1 with ballot, which must be above MaxSeen (the
// driver draws it from the ID generator). It returns false if the ballot is
// not high enough.
func (l *Leader) Campaign(ballot uint64, now int64) bool {
	if ballot <= l.maxSeen || ballot == 0 {
		return false
	}
	if l.state != Follower {
		l.stepDown()
	}
	l.maxSeen, l.ballot, l.state = ballot, ballot, Preparing
	l.p1Next, l.p1Done, l.p1Max, l.p1Through = l.chosen+1, false, l.chosen, l.chosen
	l.fill = l.chosen + 1
	l.sentChosen = 0
	l.resendAt = math.MaxInt64
	l.sendPrepare(now)
	return true
}

// Propose queues a command for a slot. It returns false when this leader is
// not leading or its queue is full; the caller routes the command elsewhere.
// A command already queued or placed by this leadership is not placed twice.
func (l *Leader) Propose(c Command, now int64) bool {
	if l.state == Follower || l.QueueFull() {
		return false
	}
	if _, ok := l.placed[c.ID()]; ok {
		return true
	}
	l.placed[c.ID()] = struct{}{}
	l.queue = append(l.queue, c)
	l.queueBytes += batchBytes(c)
	l.pump(now)
	return true
}

// PrepareDone takes the outcome of a Prepare this leader sent.
func (l *Leader) PrepareDone(r PrepareResult, now int64) {
	if r.Higher > 0 {
		l.Observe(r.Higher)
	}
	if l.state == Follower || r.Ballot != l.ballot || !l.p1Waiting || r.From != l.p1Next {
		return // stale
	}
	l.p1Waiting = false
	if !r.Granted {
		if r.Higher > l.ballot {
			return // stepped down above
		}
		l.p1SentAt = now // no majority reachable: retry after a full wait
		l.p1Waiting = true
		return
	}
	l.state = Leading
	through := r.Through
	for _, e := range r.Entries {
		if e.Slot < r.From || e.Slot > through {
			continue
		}
		if e.Ballot > l.ballot {
			l.Observe(e.Ballot) // someone is already ahead of us
			if l.state == Follower {
				return
			}
		}
		if e.Slot <= l.chosen {
			continue
		}
		if e.Slot > l.p1Max {
			l.p1Max = e.Slot
		}
		if e.Decided {
			l.learn(e, false)
			continue
		}
		l.recovered[e.Slot] = e
	}
	if through == math.MaxUint64 {
		l.p1Done = true
		l.p1Through = math.MaxUint64
	} else {
		l.p1Through = through
		l.p1Next = through + 1
		if l.p1Max < through {
			l.p1Max = through // the cut is at an entry some acceptor holds
		}
	}
	l.advance()
	l.pump(now)
}

// AcceptDone takes the outcome of an Accept this leader sent.
func (l *Leader) AcceptDone(r AcceptResult, now int64) {
	if r.Higher > 0 {
		l.Observe(r.Higher)
	}
	if l.state != Leading || r.Ballot != l.ballot {
		return
	}
	if r.Slot == 0 {
		l.commitWaiting = false
		if !r.Accepted {
			l.sentChosen = 0 // send it again
		}
		l.pump(now)
		return
	}
	s, ok := l.slots[r.Slot]
	if !ok || s.chosen {
		return
	}
	s.waiting = false
	if !r.Accepted {
		s.sentAt = now // no majority reachable: retry after a full wait
		s.waiting = true
		l.resendAt = min(l.resendAt, now+l.cfg.RetryNanos)
		return
	}
	s.chosen = true
	if s.fresh {
		if d := now - s.sentAt; l.round == 0 {
			l.round = d
		} else {
			l.round += (d - l.round) / 4
		}
	}
	l.noteChosen(r.Slot, s.cmds)
	l.out.Learned = append(l.out.Learned, Entry{Slot: r.Slot, Ballot: l.ballot, Cmds: s.cmds, Decided: true})
	l.advance()
	l.pump(now)
}

// Learn takes a slot the member's learner knows is chosen. A chosen entry
// at a higher ballot than ours means someone else leads now.
func (l *Leader) Learn(e Entry, now int64) {
	if e.Slot <= l.chosen {
		return
	}
	if l.state != Follower && e.Ballot > l.ballot {
		l.Observe(e.Ballot)
	}
	l.learn(e, true)
	l.advance()
	l.pump(now)
}

// LearnedThrough takes the learner's delivered prefix: every slot <= slot is
// chosen. A follower adopts it as the place its next phase 1 starts from; a
// leader learns about its own slots through Learn, which carries ballots.
func (l *Leader) LearnedThrough(slot uint64) {
	if l.state == Follower && slot > l.chosen {
		l.chosen = slot
	}
}

// Tick resends what has waited too long and proposes what the window allows.
func (l *Leader) Tick(now int64) {
	if l.state == Follower {
		return
	}
	if l.p1Waiting && now-l.p1SentAt >= l.cfg.RetryNanos {
		l.sendPrepare(now)
	}
	if l.state != Leading {
		return
	}
	if now >= l.resendAt {
		var due []uint64
		next := int64(math.MaxInt64)
		for slot, s := range l.slots {
			if !s.waiting || s.chosen {
				continue
			}
			if now-s.sentAt >= l.cfg.RetryNanos {
				due = append(due, slot)
			} else if s.sentAt+l.cfg.RetryNanos < next {
				next = s.sentAt + l.cfg.RetryNanos
			}
		}
		l.resendAt = next
		slices.Sort(due) // outputs never depend on map order
		for _, slot := range due {
			l.sendAccept(slot, l.slots[slot], now)
		}
	}
	if l.commitWaiting && now-l.commitSentAt >= l.cfg.RetryNanos {
		l.commitWaiting = false
		l.sentChosen = 0
	}
	l.pump(now)
}

// Heartbeat tells the acceptors that an idle leader is alive, and what is
// chosen. It does nothing while slots are in flight (their accepts say as
// much) or while phase 1 is still running.
func (l *Leader) Heartbeat(now int64) {
	if l.state != Leading || !l.p1Done || len(l.slots) > 0 || l.commitWaiting {
		return
	}
	l.sendCommit(now)
}

// NextDeadline returns the earliest time Tick has work to do, or
// math.MaxInt64 when nothing is waiting.
func (l *Leader) NextDeadline() int64 {
	d := int64(math.MaxInt64)
	if l.state == Follower {
		return d
	}
	if l.p1Waiting && l.p1SentAt+l.cfg.RetryNanos < d {
		d = l.p1SentAt + l.cfg.RetryNanos
	}
	if l.state == Leading && len(l.slots) > 0 && l.resendAt < d {
		d = l.resendAt
	}
	if l.commitWaiting && l.commitSentAt+l.cfg.RetryNanos < d {
		d = l.commitSentAt + l.cfg.RetryNanos
	}
	if l.commitDue != 0 && l.commitDue < d {
		d = l.commitDue
	}
	if l.holdUntil != 0 && l.holdUntil < d {
		d = l.holdUntil
	}
	return d
}

// Pending returns how many commands are queued or in unchosen slots.
func (l *Leader) Pending() int { return len(l.placed) }

func (l *Leader) learn(e Entry, external bool) {
	if l.state == Follower {
		if e.Slot == l.chosen+1 {
			l.chosen++ // followers track only the contiguous prefix
		}
		return
	}
	s, ok := l.slots[e.Slot]
	if !ok {
		// A chosen slot we have not assigned (phase 1 or the learner found
		// it decided): never assign it ourselves.
		s = &leaderSlot{}
		l.slots[e.Slot] = s
	}
	if s.chosen {
		return
	}
	s.chosen = true
	s.cmds = e.Cmds
	l.noteChosen(e.Slot, e.Cmds)
	delete(l.recovered, e.Slot)
	if !external {
		l.out.Learned = append(l.out.Learned, Entry{Slot: e.Slot, Ballot: e.Ballot, Cmds: e.Cmds, Decided: true})
	}
}

// advance moves the chosen prefix over contiguous chosen slots.
func (l *Leader) advance() {
	for {
		s, ok := l.slots[l.chosen+1]
		if !ok || !s.chosen {
			return
		}
		for _, c := range s.cmds {
			delete(l.placed, c.ID())
		}
		delete(l.slots, l.chosen+1)
		l.chosen++
		if l.fill <= l.chosen {
			l.fill = l.chosen + 1
		}
	}
}

// pump assigns slots while the window has room: recovered entries and
// no-op holes first, then queued commands once phase 1 is complete.
func (l *Leader) pump(now int64) {
	if l.state != Leading {
		return
	}
	limit := l.chosen + uint64(l.cfg.WindowSlots)
	for l.fill <= limit {
		if s, ok := l.slots[l.fill]; ok && s.chosen {
			l.fill++
			continue
		}
		if l.fill <= l.p1Max {
			var cmds []Command
			if e, ok := l.recovered[l.fill]; ok {
				cmds = e.Cmds
				delete(l.recovered, l.fill)
				for _, c := range cmds {
					l.placed[c.ID()] = struct{}{}
				}
			}
			l.propose(l.fill, cmds, now) // a hole: a no-op
			l.fill++
			continue
		}
		if !l.p1Done {
			if !l.p1Waiting && l.p1Next <= limit {
				l.sendPrepare(now)
			}
			break
		}
		if len(l.queue) == 0 || l.holding(now) {
			break
		}
		batch := l.takeBatch()
		l.lastBatch = len(batch)
		l.propose(l.fill, batch, now)
		l.slots[l.fill].fresh = true
		l.fill++
	}
	if l.urgentSlot > l.sentChosen && l.chosen >= l.urgentSlot && l.p1Done && !l.commitWaiting && len(l.recovered) == 0 {
		// Another member's callers wait on a chosen slot, and no Accept sent
		// since says so. They hear it only through that member's acceptor:
		// tell the acceptors now, not with the next batch, which may be
		// held or stuck behind a full window for a round.
		l.sendCommit(now)
		return
	}
	if l.holdUntil != 0 && len(l.slots) == 0 {
		return // the held batch will carry the watermark
	}
	if len(l.slots) == 0 && len(l.recovered) == 0 && l.p1Done && l.chosen > l.sentChosen && !l.commitWaiting {
		// Idle: tell the acceptors what is chosen so their Observe streams
		// and their phase 1 answers can say so too; unless only this
		// member waits on it, then a little later (an Accept may say it
		// first).
		if l.urgentSlot <= l.sentChosen && l.cfg.CommitDelayNanos > 0 {
			if l.commitDue == 0 {
				l.commitDue = now + l.cfg.CommitDelayNanos
			}
			if now < l.commitDue {
				return
			}
		}
		l.sendCommit(now)
	}
}

// holding reports whether the queued commands wait for more (see
// LeaderConfig.BatchHoldPercent): while they are fewer than the last batch
// carried, for at most BatchHoldPercent of a recent round.
func (l *Leader) holding(now int64) bool {
	if l.cfg.BatchHoldPercent <= 0 || l.round <= 0 || len(l.queue) >= l.lastBatch ||
		len(l.queue) >= l.cfg.MaxBatchCommands || l.queueBytes >= l.cfg.MaxBatchBytes {
		l.holdUntil = 0
		return false
	}
	if l.holdUntil == 0 {
		l.holdUntil = now + max(l.round*int64(l.cfg.BatchHoldPercent)/100, 1)
	}
	if now >= l.holdUntil {
		l.holdUntil = 0
		return false
	}
	return true
}

// noteChosen marks a slot chosen with cmds as one the acceptors must hear
// about at once if a command in it belongs to another session.
func (l *Leader) noteChosen(slot uint64, cmds []Command) {
	if slot <= l.urgentSlot {
		return
	}
	for _, c := range cmds {
		if c.Session != l.cfg.Session {
			l.urgentSlot = slot
			return
		}
	}
}

func (l *Leader) sendCommit(now int64) {
	l.sentChosen, l.commitDue = l.chosen, 0
	l.commitWaiting, l.commitSentAt = true, now
	l.out.Accepts = append(l.out.Accepts, Accept{Ballot: l.ballot, Chosen: l.chosen})
}

func (l *Leader) takeBatch() []Command {
	n, bytes := 0, 0
	for n < len(l.queue) && n < l.cfg.MaxBatchCommands {
		sz := batchBytes(l.queue[n])
		if n > 0 && bytes+sz > l.cfg.MaxBatchBytes {
			break
		}
		bytes += sz
		n++
	}
	l.queueBytes -= bytes
	batch := make([]Command, n)
	copy(batch, l.queue[:n])
	l.queue = append(l.queue[:0], l.queue[n:]...)
	return batch
}

// batchBytes is what a command counts against MaxBatchBytes.
func batchBytes(c Command) int { return len(c.Value) + 32 }

func (l *Leader) propose(slot uint64, cmds []Command, now int64) {
	s := &leaderSlot{cmds: cmds}
	l.slots[slot] = s
	l.sendAccept(slot, s, now)
}

func (l *Leader) sendAccept(slot uint64, s *leaderSlot, now int64) {
	if s.sentAt != 0 || s.waiting {
		s.fresh = false // sent again: its round says nothing of the cluster's
	}
	s.waiting, s.sentAt = true, now
	l.resendAt = min(l.resendAt, now+l.cfg.RetryNanos)
	if l.chosen > l.sentChosen {
		l.sentChosen = l.chosen
	}
	l.commitDue = 0 // this Accept says it
	l.out.Accepts = append(l.out.Accepts, Accept{Ballot: l.ballot, Slot: slot, Cmds: s.cmds, Chosen: l.chosen})
}

func (l *Leader) sendPrepare(now int64) {
	l.p1Waiting, l.p1SentAt = true, now
	l.out.Prepares = append(l.out.Prepares, Prepare{Ballot: l.ballot, From: l.p1Next, Proposer: l.cfg.Proposer})
}

// stepDown ends the leadership: queued commands go back to the caller;
// commands in unchosen slots stay uncertain (their sessions retry them, and
// learners drop duplicates).
func (l *Leader) stepDown() {
	l.out.Dropped = append(l.out.Dropped, l.queue...)
	l.queue, l.queueBytes = nil, 0
	slots := make([]uint64, 0, len(l.slots))
	for slot, s := range l.slots {
		if !s.chosen {
			slots = append(slots, slot)
		}
	}
	slices.Sort(slots) // outputs never depend on map order
	for _, slot := range slots {
		l.out.Uncertain = append(l.out.Uncertain, l.slots[slot].cmds...)
	}
	l.state = Follower
	l.slots = map[uint64]*leaderSlot{}
	l.recovered = map[uint64]Entry{}
	l.placed = map[RequestID]struct{}{}
	l.p1Waiting, l.commitWaiting = false, false
	l.commitDue, l.urgentSlot = 0, 0
	l.holdUntil, l.lastBatch = 0, 0
}
