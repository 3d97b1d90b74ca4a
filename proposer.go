package paxos

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/mjpitz/myago/paxos/internal/core"
)

// Proposer can be run either as an embedded client, or as part of a
// standalone server. Proposers Propose additions to the paxos log and use the
// acceptors to get consensus on if the proposed value was accepted.
//
// Inside a *Paxos (from New), the Proposer is the member's proposing side:
// Propose waits until Start runs, batches concurrent calls and forwards to
// the leader. Used on its own, as Proposer{IDGenerator: g, Acceptor: m} with
// a started MultiAcceptorClient m, it is a low-throughput client of a cluster
// it is not a member of: each call takes leadership when it must, and
// ProposeIndex returns 0 because it learns no positions. A Proposer must not
// be copied after first use.
type Proposer struct {
	IDGenerator IDGenerator
	Acceptor    AcceptorClient

	// MaxValueBytes bounds one proposed value (DefaultMaxValueBytes when
	// zero); New sets it from Config.MaxValueBytes.
	MaxValueBytes int

	member *memberProposer
	alone  standalone
}

// Propose proposes value and returns it once it is chosen. The returned
// error matches ErrOutcomeUnknown (and the context's error, when the context
// ended the call) when the outcome cannot be known: the value was then
// chosen at most once.
func (p *Proposer) Propose(ctx context.Context, value []byte) (accepted []byte, err error) {
	if _, err := p.ProposeIndex(ctx, value); err != nil {
		return nil, err
	}
	return value, nil
}

// ProposeIndex is Propose, returning the position the value was recorded at
// (1, 2, 3, ... in every member's RecordedLog).
func (p *Proposer) ProposeIndex(ctx context.Context, value []byte) (uint64, error) {
	if len(value) == 0 {
		return 0, ErrEmptyValue
	}
	limit := p.MaxValueBytes
	if limit <= 0 {
		limit = DefaultMaxValueBytes
	}
	if len(value) > limit {
		return 0, fmt.Errorf("%w: %d bytes, at most %d", ErrValueTooLarge, len(value), limit)
	}
	if err := ctx.Err(); err != nil {
		return 0, err // nothing was proposed
	}
	// The value travels on after Propose returns (to lagging acceptors and
	// learners), so keep a copy: the caller may reuse its buffer.
	value = bytes.Clone(value)
	if p.member != nil {
		return p.member.propose(ctx, value)
	}
	return p.alone.propose(ctx, p, value)
}

// Forward takes commands another member forwarded to this one (see
// Forwarder). The ID of the Proposal counts how often they were forwarded.
func (p *Proposer) Forward(ctx context.Context, in *Proposal) (*Proposal, error) {
	if in == nil {
		return nil, fmt.Errorf("%w: nil Proposal", ErrBadMessage)
	}
	if p.member == nil {
		return nil, fmt.Errorf("%w: a standalone proposer takes no forwards", ErrBadMessage)
	}
	return &Proposal{}, p.member.forwarded(ctx, toCoreCmds(in.Commands), int(in.ID))
}

// nextBallot draws a ballot above above from g.
func nextBallot(g IDGenerator, above uint64) (uint64, error) {
	if na, ok := g.(NextAbover); ok {
		return na.NextAbove(above)
	}
	for i := 0; i < 1<<16; i++ {
		id, err := g.Next()
		if err != nil {
			return 0, err
		}
		if id > above {
			return id, nil
		}
	}
	return 0, fmt.Errorf("paxos: the IDGenerator gave no id above %d in 65536 calls (implement NextAbover)", above)
}

func randomSession() uint64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return binary.LittleEndian.Uint64(b[:]) | 1
}

func newRand() *mrand.Rand {
	return mrand.New(mrand.NewPCG(randomSession(), randomSession()))
}

// standalone drives a core.Proposer inside Propose calls (no goroutine
// outlives a call), one call at a time.
type standalone struct {
	mu    sync.Mutex
	core  *core.Proposer
	clock clockwork.Clock
	epoch time.Time
}

func (s *standalone) propose(ctx context.Context, p *Proposer, value []byte) (uint64, error) {
	if p.Acceptor == nil || p.IDGenerator == nil {
		return 0, fmt.Errorf("%w: a Proposer needs an IDGenerator and an Acceptor", ErrInvalidConfig)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.core == nil {
		s.clock = clockwork.NewRealClock()
		s.epoch = s.clock.Now()
		s.core = core.NewProposer(core.ProposerConfig{Standalone: true, HeartbeatNanos: -1}, randomSession(), newRand())
	}
	now := func() int64 { return int64(s.clock.Since(s.epoch)) }
	seq, ok := s.core.Propose(value, now())
	if !ok {
		return 0, fmt.Errorf("%w: too many proposals in flight", ErrOutcomeUnknown)
	}
	for {
		out := s.core.Output()
		for _, r := range out.Resolved {
			if r.Seq == seq {
				// The output that resolves the call also carries the
				// watermark that tells the acceptors the slot is chosen
				// (learners that take only decided entries wait for it):
				// send it before returning, as no goroutine outlives a call.
				s.accept(ctx, p, out.Accepts, now)
				return 0, nil
			}
		}
		busy := false
		if out.WantBallot {
			busy = true
			if b, err := nextBallot(p.IDGenerator, out.Above); err != nil {
				s.core.BallotFailed(now())
			} else {
				s.core.Campaign(b, now())
			}
		}
		for _, m := range out.Prepares {
			busy = true
			cctx, cancel := context.WithTimeout(ctx, time.Duration(core.DefaultRetryNanos))
			w, err := p.Acceptor.Prepare(cctx, prepareToWire(m))
			cancel()
			if err != nil {
				w = nil
			}
			s.core.PrepareDone(prepareResultFromWire(m, w), now())
		}
		if len(out.Accepts) > 0 {
			busy = true
			s.accept(ctx, p, out.Accepts, now)
		}
		if busy {
			continue
		}
		wait := time.Duration(s.core.NextDeadline() - now())
		if wait > time.Second {
			wait = time.Second
		}
		select {
		case <-ctx.Done():
			s.core.Cancel(seq)
			return 0, fmt.Errorf("%w: %w", ErrOutcomeUnknown, ctx.Err())
		case <-s.clock.After(max(wait, 0)):
			s.core.Tick(now())
		}
	}
}

// accept sends accepts in parallel, each bounded by the core's retry
// time, and hands the results to the core.
func (s *standalone) accept(ctx context.Context, p *Proposer, accepts []core.Accept, now func() int64) {
	if len(accepts) == 0 {
		return
	}
	results := make([]core.AcceptResult, len(accepts))
	var wg sync.WaitGroup
	for i, m := range accepts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, time.Duration(core.DefaultRetryNanos))
			defer cancel()
			w, err := p.Acceptor.Accept(cctx, acceptToWire(m))
			results[i] = acceptResultFromWire(m, w, err)
		}()
	}
	wg.Wait()
	for _, r := range results {
		s.core.AcceptDone(r, now())
	}
}

func acceptResultFromWire(m core.Accept, w *Proposal, err error) core.AcceptResult {
	r := core.AcceptResult{Ballot: m.Ballot, Slot: m.Slot}
	if err != nil || w == nil {
		return r
	}
	switch {
	case w.ID == m.Ballot:
		r.Accepted, r.Chosen = true, w.Chosen
	case w.ID > m.Ballot:
		r.Higher = w.ID
	}
	return r
}
