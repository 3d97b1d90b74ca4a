// Package core is the Multi-Paxos protocol as pure state machines: an
// Acceptor, a Leader (the proposer), a Learner and a Session (request ids for
// exactly-once). Inputs are method calls (messages, time as a number), outputs
// are return values and drained outboxes (messages to send, Log writes to make
// durable, values to deliver). Nothing here starts a goroutine, reads a clock,
// draws unseeded randomness or does I/O, so a seeded simulation can drive the
// exact code the library runs. DESIGN.md at the repository root describes the
// protocol and its invariants.
package core

// Command is one proposed value with its request id.
type Command struct {
	Session uint64
	Seq     uint64
	Floor   uint64
	Value   []byte
}

// IsBarrier reports whether c is a read barrier: a command with no value,
// which takes a slot (so that it is ordered after everything chosen before
// it was proposed) but no position. User values are never empty.
func (c Command) IsBarrier() bool { return len(c.Value) == 0 }

// ID is the request id of a command.
func (c Command) ID() RequestID { return RequestID{Session: c.Session, Seq: c.Seq} }

// RequestID identifies a command across retries.
type RequestID struct {
	Session uint64
	Seq     uint64
}

// Entry is an acceptor's record for one slot: the batch of commands it
// accepted and the ballot it accepted them at. A nil Cmds is a no-op.
type Entry struct {
	Slot    uint64
	Ballot  uint64
	Cmds    []Command
	Decided bool // the entry is known to hold the chosen value
}

// Prepare is phase 1a: a request for a promise on Ballot and for the accepted
// entries from slot From on.
type Prepare struct {
	Ballot   uint64
	From     uint64
	Proposer string
}

// Promise is phase 1b. It is granted iff Ballot equals the requested ballot;
// otherwise Ballot is the higher promised ballot. Entries is a page of the
// acceptor's entries from the requested slot on, in ascending slot order; More
// says the page was cut short. Chosen is the acceptor's chosen watermark.
type Promise struct {
	Ballot  uint64
	Chosen  uint64
	Entries []Entry
	More    bool
}

// Accept is phase 2a for one slot. Slot 0 carries only the leader's chosen
// watermark.
type Accept struct {
	Ballot uint64
	Slot   uint64
	Cmds   []Command
	Chosen uint64
}

// Accepted is phase 2b: accepted iff Ballot equals the ballot sent;
// otherwise Ballot is the higher promised ballot.
type Accepted struct {
	Ballot uint64
	Slot   uint64
	Chosen uint64
}

// PromiseRecord is what an acceptor keeps in its promise Log.
type PromiseRecord struct {
	Ballot   uint64
	Proposer string
}

// Write is one durable change an acceptor makes: a new promise, an entry
// (stamped with the acceptor's chosen watermark at the time of the write), or
// the watermark alone (Watermark set) when it moved with no entry to carry
// it. Replies that depend on a write must not leave before it is synced.
type Write struct {
	Promise   *PromiseRecord
	Entry     *Entry
	Chosen    uint64 // the watermark stamped on an entry write, or recorded
	Watermark bool   // record Chosen on its own
}

// Majority is the quorum size for n voters.
func Majority(n int) int { return n/2 + 1 }
