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
}

type pendingCmd struct {
	cmd      Command
	sentAt   int64
	attempts int
	via      string // where it was last forwarded ("" = our own leader)
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
	p := &pendingCmd{cmd: Command{Session: s.id, Seq: seq, Value: value}, sentAt: now}
	s.pending[seq] = p
	p.cmd.Floor = s.Floor()
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
	p.sentAt, p.via = now, via
	p.attempts++
	p.cmd.Floor = s.Floor()
	return p.cmd, true
}

// Due returns the pending commands sent at or before now-retry, oldest
// first, with how many times each was sent and where it went last.
func (s *Session) Due(now, retry int64) []DueCmd {
	var due []DueCmd
	for seq, p := range s.pending {
		if now-p.sentAt >= retry {
			due = append(due, DueCmd{Seq: seq, Attempts: p.attempts, Via: p.via})
		}
	}
	sortDue(due)
	return due
}

// NextDue returns the earliest time a pending command becomes due, or
// false when none is pending.
func (s *Session) NextDue(retry int64) (int64, bool) {
	var (
		t  int64
		ok bool
	)
	for _, p := range s.pending {
		if !ok || p.sentAt+retry < t {
			t, ok = p.sentAt+retry, true
		}
	}
	return t, ok
}

// DueCmd is a pending command due for another attempt.
type DueCmd struct {
	Seq      uint64
	Attempts int
	Via      string
}
