package core

import "container/heap"

// Session issues request ids for one proposer instance and remembers the
// commands that have not been delivered yet, so that they can be sent again
// (under the same id) until they are.
type Session struct {
	id      uint64
	nextSeq uint64
	max     int
	pending map[uint64]*pendingCmd
	floor   uint64 // lowest pending seq (nextSeq when none); updated lazily
	due     dueHeap
}

type pendingCmd struct {
	cmd      Command
	sentAt   int64
	attempts int
	gen      uint64 // bumped at every send; older heap items are stale
	via      string // where it was last forwarded ("" = our own leader)
}

// dueItem is a pending command's last send, ordered by time then seq; the
// heap keeps Tick and NextDue logarithmic in the window size.
type dueItem struct {
	at       int64
	seq, gen uint64
}

func (a dueItem) before(b dueItem) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}

// dueHeap is a min-heap of dueItems on container/heap. push and pop go
// through heap.Fix rather than heap.Push and heap.Pop, which pass items as
// interface values: an allocation per proposal.
type dueHeap []dueItem

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].before(h[j]) }
func (h dueHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(any)          { panic("core: dueHeap: use push") }
func (h *dueHeap) Pop() any          { panic("core: dueHeap: use pop") }

func (h *dueHeap) push(it dueItem) {
	*h = append(*h, it)
	heap.Fix(h, len(*h)-1)
}

func (h *dueHeap) pop() dueItem {
	q := *h
	top, last := q[0], len(q)-1
	q[0] = q[last]
	*h = q[:last]
	if last > 0 {
		heap.Fix(h, 0)
	}
	return top
}

// DefaultSessionPending bounds the commands one session has in flight.
const DefaultSessionPending = 1 << 14

// NewSession returns a session with id (non-zero, unique per proposer
// instance: the driver draws it at random) and at most maxPending commands
// in flight.
func NewSession(id uint64, maxPending int) *Session {
	if maxPending <= 0 {
		maxPending = DefaultSessionPending
	}
	if maxPending > DefaultSessionWindow {
		maxPending = DefaultSessionWindow // learners keep at most this many per session
	}
	return &Session{id: id, nextSeq: 1, max: maxPending, pending: map[uint64]*pendingCmd{}, floor: 1}
}

// ID returns the session id.
func (s *Session) ID() uint64 { return s.id }

// Full reports whether a new command would exceed the window.
func (s *Session) Full() bool { return len(s.pending) >= s.max }

// Len returns the number of pending commands.
func (s *Session) Len() int { return len(s.pending) }

// New issues a command for value. The caller checks Full first.
func (s *Session) New(value []byte, now int64) Command {
	seq := s.nextSeq
	s.nextSeq++
	p := &pendingCmd{cmd: Command{Session: s.id, Seq: seq, Value: value}}
	s.pending[seq] = p
	p.cmd.Floor = s.Floor()
	s.stamp(p, now)
	return p.cmd
}

// Floor returns the lowest sequence number still pending.
func (s *Session) Floor() uint64 {
	for s.floor < s.nextSeq {
		if _, ok := s.pending[s.floor]; ok {
			break
		}
		s.floor++
	}
	return s.floor
}

// Done forgets seq: it was delivered, or its caller gave up on it.
func (s *Session) Done(seq uint64) bool {
	if _, ok := s.pending[seq]; !ok {
		return false
	}
	delete(s.pending, seq)
	return true
}

// Pending reports whether seq is still waited on.
func (s *Session) Pending(seq uint64) bool {
	_, ok := s.pending[seq]
	return ok
}

// Sent records that seq was sent now, via a forward target ("" for the
// member's own leader), and returns the command with a fresh floor.
func (s *Session) Sent(seq uint64, via string, now int64) (Command, bool) {
	p, ok := s.pending[seq]
	if !ok {
		return Command{}, false
	}
	p.via = via
	p.attempts++
	p.cmd.Floor = s.Floor()
	s.stamp(p, now)
	return p.cmd, true
}

func (s *Session) stamp(p *pendingCmd, now int64) {
	p.sentAt = now
	p.gen++
	s.due.push(dueItem{at: now, seq: p.cmd.Seq, gen: p.gen})
}

// clean drops heap items for commands done or sent again since.
func (s *Session) clean() {
	for len(s.due) > 0 {
		top := s.due[0]
		if p, ok := s.pending[top.seq]; ok && p.gen == top.gen {
			return
		}
		s.due.pop()
	}
}

// Due returns the pending commands sent at or before now-retry, oldest
// first, with how many times each was sent and where it went last. The
// caller sends each of them again (Sent).
func (s *Session) Due(now, retry int64) []DueCmd {
	var due []DueCmd
	for {
		s.clean()
		if len(s.due) == 0 || now-s.due[0].at < retry {
			break
		}
		it := s.due.pop()
		p := s.pending[it.seq]
		due = append(due, DueCmd{Seq: it.seq, Attempts: p.attempts, Via: p.via})
		p.gen++ // until it is sent again, no item speaks for it
	}
	return due
}

// Via returns the pending commands last forwarded to target.
func (s *Session) Via(target string) []DueCmd {
	var out []DueCmd
	for seq, p := range s.pending {
		if p.via == target {
			out = append(out, DueCmd{Seq: seq, Attempts: p.attempts, Via: p.via})
		}
	}
	sortDue(out)
	return out
}

// NextDue returns the earliest time a pending command becomes due, or
// false when none is pending.
func (s *Session) NextDue(retry int64) (int64, bool) {
	s.clean()
	if len(s.due) == 0 {
		return 0, false
	}
	return s.due[0].at + retry, true
}

// DueCmd is a pending command due for another attempt.
type DueCmd struct {
	Seq      uint64
	Attempts int
	Via      string
}
