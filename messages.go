package paxos

// The wire types. Every message that crosses a member boundary or lands in a
// Log is one of these. The documented fields keep their names and JSON tags;
// the added fields carry what Multi-Paxos needs (slots, the chosen watermark,
// batches of commands). All added fields are of concrete types so that every
// message round-trips through encoding/json as well as through the binary
// codec in encoding.go. See DESIGN.md for the protocol that uses them.

// Request is used during the PREPARE and OBSERVE phases of the paxos
// algorithm.
//
// In Prepare, ID is the ballot the proposer asks the acceptor to promise and
// Slot is the first slot whose accepted entries the proposer wants back. In
// Observe, Slot is the first slot the observer wants to receive. Attempt is
// kept for compatibility with the seed and ignored.
type Request struct {
	ID      uint64 `json:"id,omitempty"`
	Attempt uint64 `json:"attempt,omitempty"`

	// Slot is the first slot of interest (Prepare: the first slot of the
	// returned page; Observe: the first slot to stream).
	Slot uint64 `json:"slot,omitempty"`
	// Proposer optionally names the member asking for the promise (its RPC
	// address), so that other members can forward proposals to it.
	Proposer string `json:"proposer,omitempty"`
	// ChosenOnly asks an Observe stream for only the entries known to be
	// chosen, without the votes (every other accepted entry) it carries by
	// default.
	ChosenOnly bool `json:"chosen_only,omitempty"`
}

// Promise is returned by Prepare.
//
// The promise is granted iff ID equals the ballot that was asked for;
// otherwise ID is the higher ballot the acceptor has already promised. A
// granted promise carries the acceptor's chosen watermark and a page of the
// entries it has accepted from the requested slot on; More says that the page
// was cut short and the proposer should ask again from the slot after the last
// entry.
type Promise struct {
	ID uint64 `json:"id,omitempty"`
	// Accepted is kept for compatibility with the seed and left nil; the
	// accepted entries travel in Entries.
	Accepted *Proposal `json:"accepted,omitempty"`

	// Chosen is the acceptor's chosen watermark: every slot at or below it is
	// known to be chosen, and the acceptor holds the chosen value for it.
	Chosen uint64 `json:"chosen,omitempty"`
	// Entries are accepted entries in ascending slot order, one per slot. For
	// each, ID is the ballot it was accepted at; an entry at or below Chosen
	// holds the chosen value.
	Entries []*Proposal `json:"entries,omitempty"`
	// More is set when the acceptor has entries beyond the last one in
	// Entries.
	More bool `json:"more,omitempty"`
}

// Proposal is used to propose a log value to the system, and to record one.
//
// In Accept, ID is the ballot, Slot the slot, Commands the batch of values the
// slot carries (none for a no-op) and Chosen the sender's chosen watermark. A
// Proposal with Slot 0 carries only the watermark. The reply to Accept is a
// Proposal whose ID is the ballot if it was accepted, or the higher promised
// ballot if it was refused, and whose Chosen is the acceptor's watermark.
//
// In a RecordedLog, ID is the position of the record (1, 2, 3, ...), Value is
// exactly the bytes that were proposed, and Slot and Offset say which slot and
// which command of its batch the value came from.
type Proposal struct {
	ID    uint64 `json:"id,omitempty"`
	Value []byte `json:"value,omitempty"`

	// Slot is the log slot the proposal is for (slots start at 1).
	Slot uint64 `json:"slot,omitempty"`
	// Offset is the index of the recorded value in its slot's batch.
	Offset uint32 `json:"offset,omitempty"`
	// Chosen is the sender's chosen watermark (see Promise.Chosen).
	Chosen uint64 `json:"chosen,omitempty"`
	// Commands is the batch of values the slot carries, in order.
	Commands []Command `json:"commands,omitempty"`
	// Decided marks an entry (in Promise.Entries, an Observe stream or an
	// AcceptedLog) known to hold its slot's chosen value.
	Decided bool `json:"decided,omitempty"`
}

// Command is one proposed value inside a slot's batch, together with the
// request id that makes proposing it exactly-once: a retried command that was
// already chosen in an earlier slot is recognised by every learner and not
// recorded again.
type Command struct {
	// Session identifies the proposer that issued the command (random per
	// proposer instance).
	Session uint64 `json:"session,omitempty"`
	// Seq is the command's sequence number within its session (from 1).
	Seq uint64 `json:"seq,omitempty"`
	// Floor is the lowest Seq its session still waits on: the session will
	// never again propose a command below it.
	Floor uint64 `json:"floor,omitempty"`
	// Value is the value given to Propose.
	Value []byte `json:"value,omitempty"`
}

// Bytes contains a value to be accepted via paxos.
type Bytes struct {
	Value []byte `json:"value,omitempty"`
}

// Vote is an internal structure used by multiple components to cast votes on
// behalf of the acceptor that they're communicating with.
type Vote struct {
	// Member contains which member of the cluster cast this vote.
	Member string
	// Payload contains the payload of the message we're voting on. This is
	// usually a Promise or Proposal.
	Payload interface{}
}
