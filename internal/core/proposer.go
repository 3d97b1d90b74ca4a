package core

import "math/rand/v2"

// ProposerConfig configures a Proposer. Zero fields take the defaults.
type ProposerConfig struct {
	Leader LeaderConfig
	// Self is this member's name; "" for a standalone proposer.
	Self string
	// Standalone proposers are not members: they have no learner, always
	// take leadership themselves, and resolve a command once its slot is
	// chosen (without a position).
	Standalone bool
	// RetryNanos is how long a command waits to be delivered before it is
	// sent again (under the same request id).
	RetryNanos int64
	// LeaderTimeoutNanos is how long a leader hint stays fresh after the
	// member's acceptor last heard from that leader.
	LeaderTimeoutNanos int64
	// HeartbeatNanos is how often an idle leader tells the acceptors it is
	// alive (and what is chosen). Negative disables heartbeats.
	HeartbeatNanos int64
	// BackoffBaseNanos and BackoffMaxNanos shape the randomized, capped
	// back-off between failed campaigns (against duelling proposers).
	BackoffBaseNanos int64
	BackoffMaxNanos  int64
	// MaxPending bounds the commands in flight (Session window).
	MaxPending int
}

// Proposer defaults.
const (
	DefaultProposerRetryNanos = int64(500e6)
	DefaultLeaderTimeoutNanos = int64(1e9)
	DefaultHeartbeatNanos     = int64(100e6)
	DefaultBackoffBaseNanos   = int64(5e6)
	DefaultBackoffMaxNanos    = int64(500e6)
)

func (c ProposerConfig) withDefaults() ProposerConfig {
	c.Leader.Proposer = c.Self
	if c.RetryNanos <= 0 {
		c.RetryNanos = DefaultProposerRetryNanos
	}
	if c.LeaderTimeoutNanos <= 0 {
		c.LeaderTimeoutNanos = DefaultLeaderTimeoutNanos
	}
	if c.HeartbeatNanos == 0 {
		c.HeartbeatNanos = DefaultHeartbeatNanos
	}
	if c.BackoffBaseNanos <= 0 {
		c.BackoffBaseNanos = DefaultBackoffBaseNanos
	}
	if c.BackoffMaxNanos <= 0 {
		c.BackoffMaxNanos = DefaultBackoffMaxNanos
	}
	return c
}

// Hint is what a member's acceptor knows of the current leader: the
// proposer its promise went to, that ballot, and when it last heard from it.
type Hint struct {
	Proposer string
	Ballot   uint64
	SeenAt   int64
}

// Forward asks another member to propose commands for us.
type Forward struct {
	To   string
	Cmds []Command
	Hops int
}

// Resolved says a command of this proposer's session is done: delivered at
// Pos (0 for a standalone proposer, which learns only that it was chosen).
type Resolved struct {
	Seq uint64
	Pos uint64
}

// ProposerOutput is what a Proposer asks its driver to do.
type ProposerOutput struct {
	Prepares []Prepare
	Accepts  []Accept
	Learned  []Entry // for the member's learner
	Forwards []Forward
	// WantBallot asks the driver for a ballot above Above, to be passed to
	// Campaign.
	WantBallot bool
	Above      uint64
	Resolved   []Resolved
}

// Proposer is a member's (or a standalone client's) proposing side: its
// Session of request ids, its Leader, and the routing between them: a
// command goes to our own leader when we lead, is forwarded to a fresh
// leader hint, or makes us campaign.
type Proposer struct {
	cfg     ProposerConfig
	rnd     *rand.Rand
	session *Session
	leader  *Leader

	hint       Hint
	badHint    string // a forward target that failed; not used again until the hint changes
	asked      bool   // a ballot is requested and not yet given
	campaignAt int64  // back-off: no campaign before this
	failures   int
	prevState  LeaderState
	lastBeat   int64
	now        int64     // the latest time any input carried
	held       []Command // waiting for our leadership
	out        ProposerOutput
}

// NewProposer returns a proposer whose session has id sessionID. rnd drives
// the back-off (seeded in simulations).
func NewProposer(cfg ProposerConfig, sessionID uint64, rnd *rand.Rand) *Proposer {
	cfg = cfg.withDefaults()
	cfg.Leader.Session = sessionID
	return &Proposer{cfg: cfg, rnd: rnd, session: NewSession(sessionID, cfg.MaxPending), leader: NewLeader(cfg.Leader)}
}

// Leader exposes the leader for inspection.
func (p *Proposer) Leader() *Leader { return p.leader }

// Session exposes the session for inspection.
func (p *Proposer) Session() *Session { return p.session }

// Output drains what the proposer asks the driver to do.
func (p *Proposer) Output() ProposerOutput {
	p.collect()
	o := p.out
	p.out = ProposerOutput{}
	return o
}

// Propose issues a command for value. It returns false when the session's
// window is full; the caller waits and tries again.
func (p *Proposer) Propose(value []byte, now int64) (uint64, bool) {
	now = p.at(now)
	if p.session.Full() {
		return 0, false
	}
	c := p.session.New(value, now)
	p.route(c.Seq, now)
	return c.Seq, true
}

// Cancel forgets a command whose caller gave up. It may still be chosen
// once; it is never sent again.
func (p *Proposer) Cancel(seq uint64) { p.session.Done(seq) }

// SetHint updates what the member's acceptor knows of the leader.
func (p *Proposer) SetHint(h Hint) {
	if h.Proposer != p.hint.Proposer || h.Ballot != p.hint.Ballot {
		p.badHint = ""
	}
	p.hint = h
	p.leader.Observe(h.Ballot)
}

// ForwardFailed reports that forwarding cmds to a member failed: our
// commands sent there are re-routed at once, and that member is not used
// again until the hint changes. Other members' commands among cmds are
// taken as if forwarded to us again with their hop spent: we propose them
// while leading, or hold them and campaign, rather than leave them to their
// origin's retry.
func (p *Proposer) ForwardFailed(to string, cmds []Command, now int64) {
	now = p.at(now)
	p.badHint = to
	for _, d := range p.session.Via(to) {
		p.route(d.Seq, now)
	}
	var foreign []Command
	for _, c := range cmds {
		if c.Session != p.session.ID() {
			foreign = append(foreign, c)
		}
	}
	if len(foreign) > 0 {
		p.Forwarded(foreign, 1, now)
	}
}

// Forwarded takes commands another member forwarded to us.
func (p *Proposer) Forwarded(cmds []Command, hops int, now int64) {
	now = p.at(now)
	if st, _ := p.leader.State(); st != Follower {
		for _, c := range cmds {
			if !p.leader.Propose(c, now) {
				break // queue full: the origin retries
			}
		}
		return
	}
	if to := p.forwardTarget(now); to != "" && hops == 0 {
		p.out.Forwards = append(p.out.Forwards, Forward{To: to, Cmds: cmds, Hops: hops + 1})
		return
	}
	p.held = append(p.held, cmds...)
	p.wantCampaign(now)
}

// Campaign starts a leadership with ballot (the driver's answer to
// WantBallot).
func (p *Proposer) Campaign(ballot uint64, now int64) {
	now = p.at(now)
	p.asked = false
	if !p.leader.Campaign(ballot, now) {
		p.wantCampaign(now)
		return
	}
	held := p.held
	p.held = nil
	for _, c := range held {
		if !p.leader.Propose(c, now) {
			p.held = append(p.held, c)
		}
	}
}

// BallotFailed reports that the driver could not produce the ballot asked
// for; the proposer backs off and asks again later.
func (p *Proposer) BallotFailed(now int64) {
	now = p.at(now)
	p.asked = false
	p.failures++
	p.campaignAt = now + p.backoff()
}

// PrepareDone takes the tallied outcome of a Prepare.
func (p *Proposer) PrepareDone(r PrepareResult, now int64) {
	now = p.at(now)
	p.leader.PrepareDone(r, now)
}

// AcceptDone takes the tallied outcome of an Accept.
func (p *Proposer) AcceptDone(r AcceptResult, now int64) {
	now = p.at(now)
	p.leader.AcceptDone(r, now)
}

// Learn takes a slot the member's learner knows is chosen.
func (p *Proposer) Learn(e Entry, now int64) {
	now = p.at(now)
	p.leader.Learn(e, now)
}

// LearnedThrough takes the member's delivered prefix.
func (p *Proposer) LearnedThrough(slot uint64) { p.leader.LearnedThrough(slot) }

// Delivered takes a delivery from the member's learner.
func (p *Proposer) Delivered(d Delivery) {
	if d.Cmd.Session == p.session.ID() && p.session.Done(d.Cmd.Seq) {
		p.out.Resolved = append(p.out.Resolved, Resolved{Seq: d.Cmd.Seq, Pos: d.Pos})
	}
}

// FillHole asks for a hole the learner sees to be completed: a member that
// does not lead and sees no live leader campaigns (phase 1 completes every
// slot from its chosen prefix on).
func (p *Proposer) FillHole(now int64) {
	now = p.at(now)
	if st, _ := p.leader.State(); st != Follower {
		return
	}
	if p.forwardTarget(now) != "" {
		return // a live leader will complete it
	}
	p.wantCampaign(now)
}

// Tick resends, resubmits and campaigns as time requires.
func (p *Proposer) Tick(now int64) {
	now = p.at(now)
	p.leader.Tick(now)
	p.collect()
	st, _ := p.leader.State()
	if st == Leading && p.cfg.HeartbeatNanos > 0 && now-p.lastBeat >= p.cfg.HeartbeatNanos {
		p.lastBeat = now
		p.leader.Heartbeat(now)
	}
	for _, d := range p.session.Due(now, p.cfg.RetryNanos) {
		p.route(d.Seq, now)
	}
	if len(p.held) > 0 && st == Follower {
		if to := p.forwardTarget(now); to != "" {
			held := p.held
			p.held = nil
			cmds := make([]Command, 0, len(held))
			for _, c := range held {
				if c.Session != p.session.ID() {
					cmds = append(cmds, c) // another member's: its origin retries
					continue
				}
				// Marked as sent there, so that a failed forward brings it
				// back at once (ForwardFailed) rather than after RetryNanos.
				if fresh, ok := p.session.Sent(c.Seq, to, now); ok {
					cmds = append(cmds, fresh)
				}
			}
			if len(cmds) > 0 {
				p.out.Forwards = append(p.out.Forwards, Forward{To: to, Cmds: cmds})
			}
		} else {
			p.wantCampaign(now)
		}
	}
}

// NextDeadline returns when Tick next has work to do.
func (p *Proposer) NextDeadline() int64 {
	d := p.leader.NextDeadline()
	if t, ok := p.session.NextDue(p.cfg.RetryNanos); ok && t < d {
		d = t
	}
	st, _ := p.leader.State()
	if len(p.held) > 0 && st == Follower && !p.asked && p.campaignAt < d {
		d = p.campaignAt
	}
	if st == Leading && p.cfg.HeartbeatNanos > 0 && p.lastBeat+p.cfg.HeartbeatNanos < d {
		d = p.lastBeat + p.cfg.HeartbeatNanos
	}
	return d
}

func (p *Proposer) forwardTarget(now int64) string {
	h := p.hint
	if p.cfg.Standalone || h.Proposer == "" || h.Proposer == p.cfg.Self || h.Proposer == p.badHint {
		return ""
	}
	if now-h.SeenAt >= p.cfg.LeaderTimeoutNanos {
		return ""
	}
	return h.Proposer
}

// route sends pending command seq where it can be chosen.
func (p *Proposer) route(seq uint64, now int64) {
	if st, _ := p.leader.State(); st != Follower {
		c, ok := p.session.Sent(seq, "", now)
		if ok && !p.leader.Propose(c, now) {
			p.held = append(p.held, c)
		}
		return
	}
	if to := p.forwardTarget(now); to != "" {
		if c, ok := p.session.Sent(seq, to, now); ok {
			p.out.Forwards = append(p.out.Forwards, Forward{To: to, Cmds: []Command{c}})
		}
		return
	}
	if c, ok := p.session.Sent(seq, "", now); ok {
		p.held = append(p.held, c)
		p.wantCampaign(now)
	}
}

func (p *Proposer) wantCampaign(now int64) {
	if st, _ := p.leader.State(); st != Follower || p.asked || now < p.campaignAt {
		return
	}
	p.asked = true
	p.out.WantBallot, p.out.Above = true, p.leader.MaxSeen()
}

// collect moves the leader's output into ours and reacts to leadership
// changes.
func (p *Proposer) collect() {
	lo := p.leader.Output()
	p.out.Prepares = append(p.out.Prepares, lo.Prepares...)
	p.out.Accepts = append(p.out.Accepts, lo.Accepts...)
	p.out.Learned = append(p.out.Learned, lo.Learned...)
	if p.cfg.Standalone {
		for _, e := range lo.Learned {
			for _, c := range e.Cmds {
				if c.Session == p.session.ID() && p.session.Done(c.Seq) {
					p.out.Resolved = append(p.out.Resolved, Resolved{Seq: c.Seq})
				}
			}
		}
	}
	st, _ := p.leader.State()
	switch {
	case st == Leading && p.prevState != Leading:
		p.failures = 0
	case st == Follower && p.prevState != Follower:
		// Leadership lost or never won: back off before trying again, at
		// random so that duelling proposers stop colliding.
		p.failures++
		p.campaignAt = p.now + p.backoff()
	}
	p.prevState = st
	for _, c := range lo.Dropped {
		if c.Session == p.session.ID() && p.session.Pending(c.Seq) {
			p.held = append(p.held, c)
		}
	}
	// Our commands in slots the lost leadership left unchosen go out again
	// at once, rather than after RetryNanos: a change of leader should cost
	// a round trip, not a timeout.
	for _, c := range lo.Uncertain {
		if c.Session == p.session.ID() && p.session.Pending(c.Seq) {
			if fresh, ok := p.session.Sent(c.Seq, "", p.now); ok {
				p.held = append(p.held, fresh)
			}
		}
	}
}

// at records the time an input carried. The core's clock must be monotonic
// (the drivers feed clock.Since(epoch), which is); a time that steps back
// anyway is taken as the latest one seen, so that deadlines never move
// backwards and nothing fires early, at the cost of firing late.
func (p *Proposer) at(now int64) int64 {
	if now > p.now {
		p.now = now
	}
	return p.now
}

// backoff draws the wait before the next campaign: uniform in [0, ceiling),
// the ceiling doubling with every failure up to BackoffMaxNanos.
func (p *Proposer) backoff() int64 {
	ceil := p.cfg.BackoffBaseNanos << min(p.failures, 20)
	if ceil > p.cfg.BackoffMaxNanos || ceil <= 0 {
		ceil = p.cfg.BackoffMaxNanos
	}
	return p.rnd.Int64N(ceil)
}
