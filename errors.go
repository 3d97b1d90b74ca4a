package paxos

import "errors"

// Errors callers test with errors.Is.
var (
	// ErrStopped is returned by calls on a member whose Start has returned.
	ErrStopped = errors.New("paxos: stopped")
	// ErrOutcomeUnknown is returned by Propose when it cannot know whether
	// its value was chosen (it was chosen at most once). When the context
	// ended the call, the error also matches the context's error.
	ErrOutcomeUnknown = errors.New("paxos: outcome unknown")
	// ErrEmptyValue is returned by Propose for an empty value.
	ErrEmptyValue = errors.New("paxos: empty value")
	// ErrValueTooLarge is returned by Propose for a value over the limit.
	ErrValueTooLarge = errors.New("paxos: value too large")
	// ErrAlreadyStarted is returned by a second Start.
	ErrAlreadyStarted = errors.New("paxos: already started")
	// ErrNoVoters is returned by Start when the membership lists nobody.
	ErrNoVoters = errors.New("paxos: no voters")
	// ErrInvalidConfig wraps every Config validation error.
	ErrInvalidConfig = errors.New("paxos: invalid config")
	// ErrBadMessage is returned for a nil or malformed message.
	ErrBadMessage = errors.New("paxos: bad message")
	// ErrNoQuorum is returned when a majority of voters could not be
	// reached before the context ended.
	ErrNoQuorum = errors.New("paxos: no quorum")
	// ErrNotStarted is returned by a MultiAcceptorClient used before Start.
	ErrNotStarted = errors.New("paxos: not started")
)
