package core

// Session issues request ids for one proposer instance and remembers the
// commands that have not been delivered yet, so that they can be sent again
// (under the same id) until they are.
type Session struct {
	id      uint64
	nextSeq uint64
	max     int
	pending map[uint64]*pendingCmd
	floor   uint64 // lowest pending seq (nextSeq when none); updated lazily
	due     dueQueue
}

type pendingCmd struct {
	cmd      Command
	sentAt   int64
	attempts int
	gen      uint64 // bumped at every send; older queued sends are stale
	via      string // where it was last forwarded ("" = our own leader)
}

// dueItem is a pending command's send.
type dueItem struct {
	at       int64
	seq, gen uint64
}

// dueQueue holds the sends in the order they were made. The driver's clock
// never goes back, so that order is time order, and a FIFO does what a heap
// would in constant time. A time below the last one (a clock that stepped
// back) is raised to it: the order holds, and that resend is only later.
type dueQueue struct {
	items []dueItem
	head  int
}

func (q *dueQueue) len() int      { return len(q.items) - q.head }
func (q *dueQueue) peek() dueItem { return q.items[q.head] }

func (q *dueQueue) push(it dueItem) {
	if n := len(q.items); n > q.head && it.at < q.items[n-1].at {
		it.at = q.items[n-1].at
	}
	if len(q.items) == cap(q.items) && q.head >= len(q.items)/2 {
		// Reuse the popped half rather than grow: copies stay amortized
		// constant per item.
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	q.items = append(q.items, it)
}

func (q *dueQueue) pop() dueItem {
	it := q.items[q.head]
	q.head++
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	}
	return it
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

// clean drops queued sends of commands done or sent again since.
func (s *Session) clean() {
	for s.due.len() > 0 {
		top := s.due.peek()
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
		if s.due.len() == 0 || now-s.due.peek().at < retry {
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
	if s.due.len() == 0 {
		return 0, false
	}
	return s.due.peek().at + retry, true
}

// DueCmd is a pending command due for another attempt.
type DueCmd struct {
	Seq      uint64
	Attempts int
	Via      string
}
