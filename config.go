package paxos

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/mjpitz/myago/paxos/internal/core"
)

// Config contains configurable elements of Paxos.
//
// The documented fields are required, except Clock (the real clock by
// default). The added fields are optional; zero values take the defaults
// listed on each. The dialers are called once per voter per Start (again
// only after they returned an error); the ObserverDialer is not called for
// Self, whose acceptor the member observes in process.
type Config struct {
	Clock          clockwork.Clock
	IDGenerator    IDGenerator
	PromiseLog     Log
	AcceptedLog    Log
	RecordedLog    Log
	AcceptorDialer func(ctx context.Context, member string) (AcceptorClient, error)
	ObserverDialer func(ctx context.Context, member string) (ObserverClient, error)

	// Logger receives what the member wants an operator to know; nil is
	// silent.
	Logger *slog.Logger
	// Self is this member's name as the Membership lists it (its RPC
	// address). It lets the others forward proposals to this member while
	// it leads; without it every member takes leadership for its own
	// proposals, which is correct but slower under contention.
	Self string
	// ExpectedVoters, when set, makes Start wait until the Membership lists
	// that many members and freeze them as the voters (discovery by gossip
	// fills the Membership over time). When zero, the voters are the
	// members listed when Start is called.
	ExpectedVoters int
	// RetryTimeout is how long a proposal waits to be chosen before it is
	// sent again, under the same request id (default 500 ms).
	RetryTimeout time.Duration
	// RequestTimeout bounds one Prepare or Accept round before it is sent
	// again (default 200 ms).
	RequestTimeout time.Duration
	// LeaderTimeout is how long this member keeps forwarding to a leader it
	// has not heard from (default 1 s).
	LeaderTimeout time.Duration
	// HeartbeatInterval is how often an idle leader tells the others it is
	// alive (default 100 ms; negative disables).
	HeartbeatInterval time.Duration
	// MaxBackoff caps the back-off of every retry loop (default 1 s).
	MaxBackoff time.Duration
	// CommitDelay is how long a leader with nothing in flight may wait
	// before telling the other members that values only its own callers
	// proposed are chosen, hoping the next proposal carries it: at one
	// caller that halves the messages per value. Values forwarded by other
	// members are told at once. The other members record such values up to
	// this much later (default 1 ms; negative tells at once).
	CommitDelay time.Duration
	// WindowSlots bounds the slots a leader has in flight (default 1): one
	// slot at a time carries every value that arrived while the previous
	// one was out, so each round of RPCs and syncs carries the most. More
	// slots help only where the network round trip, not the acceptors'
	// sync, dominates (measured on loopback with Badger: 1 slot gave 20–40%
	// more commits/s than 2 at 16–256 clients).
	WindowSlots int
	// BatchHoldPercent is how long a leader may hold a batch smaller than
	// its last one, waiting for more values, in percent of a recent round
	// (an Accept's way to a majority and back; at most 1000). Closed-loop
	// callers propose again a moment after their values are chosen; a
	// leader that sent the next slot at once would carry only what arrived
	// meanwhile, and the load would split into two half batches taking
	// turns, each paying a round of syncs, or, without syncs, of messages
	// and wake-ups (default 100; over loopback TCP with Memory Logs, 16 and
	// 64 callers, it gave 7-10% more values/s than no hold and no change at
	// one). Negative disables.
	BatchHoldPercent int
	// MaxBatchValues and MaxBatchBytes bound one slot's batch (defaults 1024
	// values, 1 MiB).
	MaxBatchValues int
	MaxBatchBytes  int
	// MaxValueBytes bounds one proposed value (default 1 MiB).
	MaxValueBytes int
	// MaxPendingProposals bounds the proposals this member has in flight;
	// more wait for room (default 16384).
	MaxPendingProposals int
}

// maxBatchHoldPercent bounds Config.BatchHoldPercent: ten rounds.
const maxBatchHoldPercent = 1000

// Defaults of the optional Config fields.
const (
	DefaultRetryTimeout        = 500 * time.Millisecond
	DefaultRequestTimeout      = 200 * time.Millisecond
	DefaultLeaderTimeout       = time.Second
	DefaultHeartbeatInterval   = 100 * time.Millisecond
	DefaultCommitDelay         = time.Millisecond
	DefaultBatchHoldPercent    = 100
	DefaultMaxValueBytes       = 1 << 20
	DefaultMaxPendingProposals = core.DefaultSessionPending
)

// Validate ensures the configuration is valid. Every error wraps
// ErrInvalidConfig and names the field.
func (c *Config) Validate() error {
	if c == nil {
		return fmt.Errorf("%w: nil Config", ErrInvalidConfig)
	}
	var errs []error
	bad := func(field, why string) { errs = append(errs, fmt.Errorf("%w: %s %s", ErrInvalidConfig, field, why)) }
	if c.IDGenerator == nil {
		bad("IDGenerator", "is missing")
	}
	if c.PromiseLog == nil {
		bad("PromiseLog", "is missing")
	}
	if c.AcceptedLog == nil {
		bad("AcceptedLog", "is missing")
	}
	if c.RecordedLog == nil {
		bad("RecordedLog", "is missing")
	}
	if c.AcceptorDialer == nil {
		bad("AcceptorDialer", "is missing")
	}
	if c.ObserverDialer == nil {
		bad("ObserverDialer", "is missing")
	}
	sameLog := func(a, b Log) bool {
		defer func() { _ = recover() }() // incomparable Log values are distinct
		return a != nil && a == b
	}
	if sameLog(c.PromiseLog, c.AcceptedLog) || sameLog(c.PromiseLog, c.RecordedLog) || sameLog(c.AcceptedLog, c.RecordedLog) {
		bad("PromiseLog, AcceptedLog and RecordedLog", "must be distinct Logs (use WithPrefix to share storage)")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"RetryTimeout", c.RetryTimeout}, {"RequestTimeout", c.RequestTimeout}, {"LeaderTimeout", c.LeaderTimeout}, {"MaxBackoff", c.MaxBackoff}} {
		if d.v < 0 {
			bad(d.name, fmt.Sprintf("is negative (%v)", d.v))
		}
	}
	for _, n := range []struct {
		name string
		v    int
	}{{"ExpectedVoters", c.ExpectedVoters}, {"WindowSlots", c.WindowSlots}, {"MaxBatchValues", c.MaxBatchValues},
		{"MaxBatchBytes", c.MaxBatchBytes}, {"MaxValueBytes", c.MaxValueBytes}, {"MaxPendingProposals", c.MaxPendingProposals}} {
		if n.v < 0 {
			bad(n.name, fmt.Sprintf("is negative (%d)", n.v))
		}
	}
	if c.BatchHoldPercent > maxBatchHoldPercent {
		bad("BatchHoldPercent", fmt.Sprintf("is %d, at most %d", c.BatchHoldPercent, maxBatchHoldPercent))
	}
	if c.ExpectedVoters > core.MaxVoters {
		bad("ExpectedVoters", fmt.Sprintf("is %d, at most %d", c.ExpectedVoters, core.MaxVoters))
	}
	if c.MaxPendingProposals > core.DefaultSessionWindow {
		bad("MaxPendingProposals", fmt.Sprintf("is %d, at most %d", c.MaxPendingProposals, core.DefaultSessionWindow))
	}
	return errors.Join(errs...)
}

// withDefaults returns a copy with the optional fields filled in.
func (c Config) withDefaults() Config {
	if c.Clock == nil {
		c.Clock = clockwork.NewRealClock()
	}
	if c.RetryTimeout == 0 {
		c.RetryTimeout = DefaultRetryTimeout
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.LeaderTimeout == 0 {
		c.LeaderTimeout = DefaultLeaderTimeout
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if c.CommitDelay == 0 {
		c.CommitDelay = DefaultCommitDelay
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.BatchHoldPercent == 0 {
		c.BatchHoldPercent = DefaultBatchHoldPercent
	}
	if c.MaxValueBytes == 0 {
		c.MaxValueBytes = DefaultMaxValueBytes
	}
	if c.MaxPendingProposals == 0 {
		c.MaxPendingProposals = DefaultMaxPendingProposals
	}
	return c
}

// coreConfig maps a Config onto the core's knobs.
func (c Config) coreConfig() core.ProposerConfig {
	hb := int64(c.HeartbeatInterval)
	if c.HeartbeatInterval < 0 {
		hb = -1
	}
	return core.ProposerConfig{
		Self: c.Self,
		Leader: core.LeaderConfig{
			WindowSlots:      c.WindowSlots,
			MaxBatchCommands: c.MaxBatchValues,
			MaxBatchBytes:    c.MaxBatchBytes,
			RetryNanos:       int64(c.RequestTimeout),
			CommitDelayNanos: max(int64(c.CommitDelay), 0),
			BatchHoldPercent: max(c.BatchHoldPercent, 0),
		},
		RetryNanos:         int64(c.RetryTimeout),
		LeaderTimeoutNanos: int64(c.LeaderTimeout),
		HeartbeatNanos:     hb,
		BackoffMaxNanos:    int64(min(c.MaxBackoff, 500*time.Millisecond)),
		MaxPending:         c.MaxPendingProposals,
	}
}
