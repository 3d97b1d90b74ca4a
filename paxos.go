package paxos

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mjpitz/myago/paxos/cluster"
	"github.com/mjpitz/myago/paxos/internal/core"
)

// Paxos defines the core elements of a paxos participant.
type Paxos struct {
	// Proposer contains the logic required to propose changes to the paxos state machine. Any member in paxos can act
	// as a proposer. Proposers communicate with all acceptor to propose changes to the log.
	Proposer

	// Observer contains the logic required to be an observer of the paxos protocol. Every member in paxos _must_ be an
	// observer. Observers watch all acceptor to learn about the records they've accepted.
	Observer

	// Acceptor must implement the functionality of an AcceptorServer and an ObserverServer. The ObserverServer is how
	// other members of the cluster learn about changes.
	Acceptor

	cfg     Config
	acc     *acceptor
	multi   *MultiAcceptorClient
	started atomic.Bool
	mu      sync.Mutex
	voters  []string
}

// Compile-time checks: promoted methods must stay unambiguous.
var (
	_ AcceptorServer    = (*Paxos)(nil)
	_ ObserverServer    = (*Paxos)(nil)
	_ ProposerServer    = (*Paxos)(nil)
	_ ForwardServer     = (*Paxos)(nil)
	_ cluster.Discovery = (*Paxos)(nil)
)

// ballotPrefix is where a member keeps the highest ballot it ever used,
// beside (and isolated from) its acceptor's promise.
const ballotPrefix = "\x00paxos.proposer"

// New constructs a new instance of paxos given the provided configuration. It
// returns an error should the provided configuration be invalid. It reads the
// acceptor's state back from its Logs and starts no goroutines: Prepare,
// Accept and Observe work as soon as it returns; Propose waits for Start.
func New(cfg *Config) (*Paxos, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := cfg.withDefaults()
	log := orDiscard(c.Logger)
	acc, err := newAcceptor(c.PromiseLog, c.AcceptedLog, c.Clock, log)
	if err != nil {
		return nil, err
	}
	multi := &MultiAcceptorClient{Dialer: c.AcceptorDialer, Logger: c.Logger, Clock: c.Clock, MaxBackoff: c.MaxBackoff}
	p := &Paxos{cfg: c, acc: acc, multi: multi}
	p.Acceptor = acc
	p.Proposer = Proposer{IDGenerator: c.IDGenerator, Acceptor: multi, MaxValueBytes: c.MaxValueBytes}
	mp := newMemberProposer(c.Clock, log, c.IDGenerator, c.PromiseLog.WithPrefix(ballotPrefix), multi, c.coreConfig())
	mp.hint = func() core.Hint {
		h := acc.leader()
		seen := int64(-1 << 62) // never
		if !h.seen.IsZero() {
			seen = int64(h.seen.Sub(mp.epoch))
		}
		return core.Hint{Proposer: h.proposer, Ballot: h.ballot, SeenAt: seen}
	}
	p.Proposer.member = mp
	p.Observer = Observer{Dialer: c.ObserverDialer, Log: c.RecordedLog, Logger: c.Logger, Clock: c.Clock, MaxBackoff: c.MaxBackoff}
	p.Observer.member = &observerHooks{
		self:  c.Self,
		local: acc.observeFor,
		heard: acc.heardChosen,
		leaderFresh: func() bool {
			h := acc.leader()
			return !h.seen.IsZero() && c.Clock.Since(h.seen) < c.LeaderTimeout
		},
		decided: func(es []core.Entry) {
			if err := acc.learn(es); err != nil && !errors.Is(err, ErrStopped) {
				log.Warn("paxos: recording learned entries in the acceptor", "err", err)
			}
			mp.learned(es)
		},
		delivered: mp.delivered,
		fillHole:  mp.fillHole,
		holeAfter: 2 * c.RequestTimeout,
	}
	return p, nil
}

// Voters returns the voters fixed by Start (nil before).
func (p *Paxos) Voters() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.voters)
}

// Start runs the member until ctx ends. It fixes the voters (see
// Config.ExpectedVoters; otherwise every member, active or left, listed in
// membership now), then runs the member's acceptor client, observer and
// proposer. Membership changes after that supply addresses and liveness
// only; they never change the quorum. When Start returns, nothing it started
// touches the Logs any more, the Observe streams it served have ended, and
// calls on the member fail with ErrStopped. It returns nil when ctx ended,
// or the error that stopped it.
func (p *Paxos) Start(ctx context.Context, membership *cluster.Membership) error {
	if !p.started.CompareAndSwap(false, true) {
		return ErrAlreadyStarted
	}
	defer p.stopMember()
	if membership == nil {
		return fmt.Errorf("%w: nil membership", ErrNoVoters)
	}
	voters, err := p.freezeVoters(ctx, membership)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.voters = voters
	p.mu.Unlock()
	if p.cfg.Self != "" && !slices.Contains(voters, p.cfg.Self) {
		orDiscard(p.cfg.Logger).Warn("paxos: Self is not among the voters; forwarding to this member will not work",
			"self", p.cfg.Self, "voters", voters)
	}

	run, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 3)
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); errs <- p.multi.run(run, voters) }()
	go func() { defer wg.Done(); errs <- p.Observer.run(run, voters) }()
	go func() {
		defer wg.Done()
		p.Proposer.member.run(run, p.Observer.decide)
		errs <- nil
	}()
	var first error
	select {
	case <-ctx.Done():
	case first = <-errs:
		// A part that stops before ctx ends failed at start.
	}
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		if first == nil {
			first = err
		}
	}
	return first
}

// stopMember ends the acceptor and makes Propose fail fast.
func (p *Paxos) stopMember() {
	p.acc.stop()
	mp := p.Proposer.member
	select {
	case <-mp.started:
	default:
		close(mp.started)
		close(mp.stopped)
	}
}

// freezeVoters fixes the voter set: the members listed now, or the first
// ExpectedVoters members once that many are listed.
func (p *Paxos) freezeVoters(ctx context.Context, m *cluster.Membership) ([]string, error) {
	if p.cfg.ExpectedVoters == 0 {
		v := votersOf(m)
		if len(v) == 0 {
			return nil, ErrNoVoters
		}
		return v, nil
	}
	changes, cancelWatch := m.Watch()
	defer cancelWatch()
	for {
		if v := votersOf(m); len(v) >= p.cfg.ExpectedVoters {
			if len(v) > p.cfg.ExpectedVoters {
				return nil, fmt.Errorf("%w: the membership lists %d members, more than ExpectedVoters %d: %v",
					ErrInvalidConfig, len(v), p.cfg.ExpectedVoters, v)
			}
			return v, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("paxos: waiting for %d voters: %w", p.cfg.ExpectedVoters, ctx.Err())
		case <-changes:
		case <-time.After(time.Second):
		}
	}
}
