package core

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	hour       = int64(3600e9)
	testBase   = int64(5e6)
	testCap    = int64(80e6)
	testExpire = int64(1e9)
)

func newTestProposer(seed uint64, cfg ProposerConfig) *Proposer {
	if cfg.Self == "" && !cfg.Standalone {
		cfg.Self = "m1"
	}
	if cfg.RetryNanos == 0 {
		cfg.RetryNanos = hour // keep session retries out of the way
	}
	cfg.LeaderTimeoutNanos = testExpire
	cfg.BackoffBaseNanos, cfg.BackoffMaxNanos = testBase, testCap
	if cfg.HeartbeatNanos == 0 {
		cfg.HeartbeatNanos = -1
	}
	return NewProposer(cfg, 77, rand.New(rand.NewPCG(seed, seed)))
}

// drive carries a proposer's Prepares and Accepts to every acceptor of c
// and answers WantBallot with ballot, until it asks for nothing more. It
// returns everything else the proposer asked for.
func (c *tcluster) drive(p *Proposer, ballot uint64, now int64) ProposerOutput {
	c.t.Helper()
	var rest ProposerOutput
	for range 1000 {
		o := p.Output()
		rest.Learned = append(rest.Learned, o.Learned...)
		rest.Forwards = append(rest.Forwards, o.Forwards...)
		rest.Resolved = append(rest.Resolved, o.Resolved...)
		if o.WantBallot {
			rest.WantBallot, rest.Above = true, o.Above
			p.Campaign(ballot, now)
			continue
		}
		if len(o.Prepares) == 0 && len(o.Accepts) == 0 {
			return rest
		}
		for _, m := range o.Prepares {
			if r, done := c.prepare(m, all(len(c.accs))...); done {
				p.PrepareDone(r, now)
			}
		}
		for _, m := range o.Accepts {
			if r, done := c.accept(m, all(len(c.accs))...); done {
				p.AcceptDone(r, now)
			}
		}
	}
	c.t.Fatal("the proposer never went quiet")
	return rest
}

func TestProposerRoutesToItsOwnLeaderWhenLeading(t *testing.T) {
	c := newCluster(t, 3)
	p := newTestProposer(1, ProposerConfig{})
	seq, ok := p.Propose([]byte("a"), 0)
	require.True(t, ok)
	o := c.drive(p, 5, 0)
	require.True(t, o.WantBallot, "no leader known: campaign")
	require.Len(t, o.Learned, 1)
	assert.Equal(t, "a", digestOf(o.Learned[0].Cmds))
	assert.Equal(t, uint64(77), o.Learned[0].Cmds[0].Session)
	assert.Equal(t, seq, o.Learned[0].Cmds[0].Seq)
	assert.Empty(t, o.Resolved, "a member resolves on delivery, not on the slot being chosen")
	// A fresh hint elsewhere does not matter while we lead.
	p.SetHint(Hint{Proposer: "m2", Ballot: 5, SeenAt: 0})
	_, ok = p.Propose([]byte("b"), 1)
	require.True(t, ok)
	o2 := p.Output()
	assert.False(t, o2.WantBallot)
	assert.Empty(t, o2.Forwards)
	require.Len(t, o2.Accepts, 1)
	assert.Equal(t, "b", digestOf(o2.Accepts[0].Cmds))
}

func TestProposerForwardsToAFreshLeaderHint(t *testing.T) {
	p := newTestProposer(1, ProposerConfig{})
	p.SetHint(Hint{Proposer: "m2", Ballot: 9, SeenAt: 100})
	seq, ok := p.Propose([]byte("a"), 100+testExpire-1)
	require.True(t, ok)
	o := p.Output()
	assert.False(t, o.WantBallot)
	require.Len(t, o.Forwards, 1)
	assert.Equal(t, "m2", o.Forwards[0].To)
	assert.Equal(t, 0, o.Forwards[0].Hops)
	require.Len(t, o.Forwards[0].Cmds, 1)
	assert.Equal(t, seq, o.Forwards[0].Cmds[0].Seq)
	assert.Equal(t, uint64(9), p.Leader().MaxSeen(), "a hint's ballot counts as seen")
}

func TestProposerCampaignsOnAStaleHint(t *testing.T) {
	p := newTestProposer(1, ProposerConfig{})
	p.SetHint(Hint{Proposer: "m2", Ballot: 9, SeenAt: 100})
	_, ok := p.Propose([]byte("a"), 100+testExpire)
	require.True(t, ok)
	o := p.Output()
	assert.Empty(t, o.Forwards)
	require.True(t, o.WantBallot)
	assert.Equal(t, uint64(9), o.Above, "the new ballot must step over the hint's")
	// A hint naming ourselves is no reason to forward either.
	q := newTestProposer(1, ProposerConfig{})
	q.SetHint(Hint{Proposer: "m1", Ballot: 9, SeenAt: 100})
	_, _ = q.Propose([]byte("a"), 101)
	assert.True(t, q.Output().WantBallot)
}

func TestProposerForwardFailedReroutes(t *testing.T) {
	p := newTestProposer(1, ProposerConfig{})
	p.SetHint(Hint{Proposer: "m2", Ballot: 9, SeenAt: 0})
	seq, _ := p.Propose([]byte("a"), 1)
	fs := p.Output().Forwards
	require.Len(t, fs, 1)
	p.ForwardFailed("m2", fs[0].Cmds, 2)
	o := p.Output()
	assert.Empty(t, o.Forwards, "m2 failed: not used again until the hint changes")
	require.True(t, o.WantBallot)
	// The campaign is won: the held command goes to our own leader.
	c := newCluster(t, 3)
	p.Campaign(10, 3)
	o = c.drive(p, 11, 3)
	require.Len(t, o.Learned, 1)
	assert.Equal(t, seq, o.Learned[0].Cmds[0].Seq, "the command was re-routed and chosen")
}

func TestProposerForwardFailedThenNewHint(t *testing.T) {
	p := newTestProposer(1, ProposerConfig{})
	p.SetHint(Hint{Proposer: "m2", Ballot: 9, SeenAt: 0})
	_, _ = p.Propose([]byte("a"), 1)
	fs := p.Output().Forwards
	p.ForwardFailed("m2", fs[0].Cmds, 2)
	require.True(t, p.Output().WantBallot)
	p.BallotFailed(3) // say the ballot never came
	p.SetHint(Hint{Proposer: "m3", Ballot: 12, SeenAt: 3})
	p.Tick(4)
	o := p.Output()
	require.Len(t, o.Forwards, 1, "a new leader: held commands go there")
	assert.Equal(t, "m3", o.Forwards[0].To)
}

// TestProposerHeldForwardFailedReroutes: a command held while no leader
// was known goes to a new leader hint from Tick; when that forward fails, it
// comes back at once, not after RetryNanos (in the simulation, 5 members
// without forwarding left such a command waiting for its retries while
// every other command was chosen).
func TestProposerHeldForwardFailedReroutes(t *testing.T) {
	p := newTestProposer(1, ProposerConfig{})
	seq, _ := p.Propose([]byte("a"), 1)
	require.True(t, p.Output().WantBallot, "no leader known: held, and a campaign asked for")
	p.BallotFailed(2)
	p.SetHint(Hint{Proposer: "m3", Ballot: 12, SeenAt: 3})
	p.Tick(4)
	o := p.Output()
	require.Len(t, o.Forwards, 1)
	require.Equal(t, "m3", o.Forwards[0].To)
	p.ForwardFailed("m3", o.Forwards[0].Cmds, 5)
	at := p.NextDeadline()
	require.Less(t, at, 5+testCap, "the command is due again within a back-off, not after RetryNanos")
	p.Tick(at)
	require.True(t, p.Output().WantBallot, "with m3 failed, the command makes us campaign")
	c := newCluster(t, 3)
	p.Campaign(13, at)
	o = c.drive(p, 14, at)
	require.Len(t, o.Learned, 1)
	assert.Equal(t, seq, o.Learned[0].Cmds[0].Seq, "the command was re-routed and chosen")
}

func TestProposerBallotFailedBacksOff(t *testing.T) {
	p := newTestProposer(3, ProposerConfig{})
	_, _ = p.Propose([]byte("a"), 0)
	require.True(t, p.Output().WantBallot)
	p.BallotFailed(1000)
	at := p.NextDeadline()
	require.GreaterOrEqual(t, at, int64(1000))
	require.Less(t, at, 1000+2*testBase, "first failure: below twice the base")
	if at > 1000 {
		p.Tick(at - 1)
		assert.False(t, p.Output().WantBallot, "no campaign during the back-off")
	}
	p.Tick(at)
	assert.True(t, p.Output().WantBallot)
}

// TestProposerBackoffIsRandomizedAndCapped fails the same number of
// campaigns on proposers seeded differently: the waits differ (duellers stop
// colliding), grow with failures, and never reach the cap.
func TestProposerBackoffIsRandomizedAndCapped(t *testing.T) {
	const failures = 12
	waits := make([][]int64, failures)
	for seed := range uint64(200) {
		p := newTestProposer(seed, ProposerConfig{})
		_, _ = p.Propose([]byte("a"), 0)
		now := int64(0)
		for k := range failures {
			require.True(t, p.Output().WantBallot, "seed %d failure %d", seed, k)
			p.BallotFailed(now)
			at := p.NextDeadline()
			w := at - now
			require.GreaterOrEqual(t, w, int64(0))
			require.Less(t, w, testCap, "seed %d failure %d: the back-off is capped", seed, k)
			require.Less(t, w, testBase<<(k+1), "seed %d failure %d: the ceiling doubles per failure", seed, k)
			waits[k] = append(waits[k], w)
			now = at
			p.Tick(now)
		}
	}
	for k, ws := range waits {
		distinct := map[int64]bool{}
		var maxW int64
		for _, w := range ws {
			distinct[w] = true
			maxW = max(maxW, w)
		}
		assert.Greater(t, len(distinct), 100, "failure %d: the back-off is random", k)
		if testBase<<(k+1) > testCap {
			assert.Greater(t, maxW, testCap/2, "failure %d: the cap is reached", k)
		}
	}
}

func TestProposerLostLeadershipBacksOffAndKeepsItsCommands(t *testing.T) {
	c := newCluster(t, 3)
	p := newTestProposer(5, ProposerConfig{Leader: LeaderConfig{WindowSlots: 1, MaxBatchCommands: 1}})
	_, _ = p.Propose([]byte("a"), 0)
	c.drive(p, 5, 0)
	// Slot 2 is in flight, 3 and 4 wait in the queue.
	for _, v := range []string{"b", "c", "d"} {
		_, ok := p.Propose([]byte(v), 10)
		require.True(t, ok)
	}
	o := p.Output()
	require.Len(t, o.Accepts, 1)
	p.AcceptDone(AcceptResult{Ballot: 5, Slot: o.Accepts[0].Slot, Higher: 40}, 20)
	o = p.Output()
	st, _ := p.Leader().State()
	require.Equal(t, Follower, st)
	assert.False(t, o.WantBallot, "back off before campaigning again")
	// A new leader shows up: the queued commands go there, and so does the
	// one left in an unchosen slot, at once (it may still be chosen there:
	// learners drop a second copy).
	p.SetHint(Hint{Proposer: "m2", Ballot: 40, SeenAt: 20})
	p.Tick(21)
	o = p.Output()
	var fwd []string
	for _, f := range o.Forwards {
		for _, cm := range f.Cmds {
			fwd = append(fwd, string(cm.Value))
		}
	}
	assert.Equal(t, []string{"c", "d", "b"}, fwd)
}

// TestProposerForwardFailedReturnsOthersCommands: a member that passed other members'
// commands on to the leader it knew, and whose forward failed, takes them
// back and campaigns for them; its own are re-routed by ForwardFailed and
// not taken twice.
func TestProposerForwardFailedReturnsOthersCommands(t *testing.T) {
	foreign := []Command{cmd(500, 1, "x"), cmd(501, 4, "y")}
	p := newTestProposer(1, ProposerConfig{})
	p.SetHint(Hint{Proposer: "m3", Ballot: 9, SeenAt: 0})
	p.Forwarded(foreign, 0, 1)
	own, _ := p.Propose([]byte("a"), 1)
	o := p.Output()
	require.Len(t, o.Forwards, 2)
	var sent []Command
	for _, f := range o.Forwards {
		require.Equal(t, "m3", f.To)
		sent = append(sent, f.Cmds...)
	}
	p.ForwardFailed("m3", sent, 2)
	o = p.Output()
	assert.Empty(t, o.Forwards, "m3 failed: nothing goes there again")
	require.True(t, o.WantBallot, "the returned commands make us campaign")
	c := newCluster(t, 3)
	p.Campaign(10, 3)
	o = c.drive(p, 11, 3)
	var chosen []string
	for _, e := range o.Learned {
		for _, cm := range e.Cmds {
			chosen = append(chosen, string(cm.Value))
		}
	}
	assert.ElementsMatch(t, []string{"x", "y", "a"}, chosen, "each chosen once: %v (own seq %d)", chosen, own)
}

func TestProposerForwardedCommands(t *testing.T) {
	foreign := []Command{cmd(500, 1, "x")}
	t.Run("a leader proposes them", func(t *testing.T) {
		c := newCluster(t, 3)
		p := newTestProposer(1, ProposerConfig{})
		_, _ = p.Propose([]byte("a"), 0)
		c.drive(p, 5, 0)
		p.Forwarded(foreign, 1, 1)
		o := p.Output()
		require.Len(t, o.Accepts, 1)
		assert.Equal(t, foreign, o.Accepts[0].Cmds)
	})
	t.Run("a follower passes them on once", func(t *testing.T) {
		p := newTestProposer(1, ProposerConfig{})
		p.SetHint(Hint{Proposer: "m3", Ballot: 9, SeenAt: 0})
		p.Forwarded(foreign, 0, 1)
		o := p.Output()
		require.Len(t, o.Forwards, 1)
		assert.Equal(t, Forward{To: "m3", Cmds: foreign, Hops: 1}, o.Forwards[0])
	})
	t.Run("a forwarded-again command makes us campaign instead of bouncing", func(t *testing.T) {
		p := newTestProposer(1, ProposerConfig{})
		p.SetHint(Hint{Proposer: "m3", Ballot: 9, SeenAt: 0})
		p.Forwarded(foreign, 1, 1)
		o := p.Output()
		assert.Empty(t, o.Forwards)
		assert.True(t, o.WantBallot)
	})
}

func TestProposerResolvesOnDelivery(t *testing.T) {
	p := newTestProposer(1, ProposerConfig{})
	seq, _ := p.Propose([]byte("a"), 0)
	p.Delivered(Delivery{Pos: 7, Slot: 3, Cmd: Command{Session: 999, Seq: seq}})
	assert.Empty(t, p.Output().Resolved, "another session's command")
	p.Delivered(Delivery{Pos: 8, Slot: 3, Cmd: Command{Session: 77, Seq: seq}})
	p.Delivered(Delivery{Pos: 9, Slot: 4, Cmd: Command{Session: 77, Seq: seq}})
	assert.Equal(t, []Resolved{{Seq: seq, Pos: 8}}, p.Output().Resolved, "once, at its first position")
	assert.Equal(t, 0, p.Session().Len())
}

func TestProposerStandaloneResolvesOnLearned(t *testing.T) {
	c := newCluster(t, 3)
	p := newTestProposer(1, ProposerConfig{Standalone: true})
	p.SetHint(Hint{Proposer: "m2", Ballot: 9, SeenAt: 0})
	seq, _ := p.Propose([]byte("a"), 1)
	o := c.drive(p, 10, 1)
	assert.True(t, o.WantBallot, "a standalone proposer never forwards")
	assert.Empty(t, o.Forwards)
	assert.Equal(t, []Resolved{{Seq: seq, Pos: 0}}, o.Resolved)
	assert.Equal(t, "a", c.chosenValue(1))
}

func TestProposerCancel(t *testing.T) {
	p := newTestProposer(1, ProposerConfig{RetryNanos: 100})
	p.SetHint(Hint{Proposer: "m2", Ballot: 9, SeenAt: 0})
	seq, _ := p.Propose([]byte("a"), 0)
	require.Len(t, p.Output().Forwards, 1)
	p.Tick(100)
	require.Len(t, p.Output().Forwards, 1, "not delivered: sent again under the same id")
	p.Cancel(seq)
	p.Tick(1000)
	assert.Empty(t, p.Output().Forwards, "a cancelled command is never sent again")
}

func TestProposerFillHole(t *testing.T) {
	p := newTestProposer(1, ProposerConfig{})
	p.SetHint(Hint{Proposer: "m2", Ballot: 9, SeenAt: 0})
	p.FillHole(1)
	assert.False(t, p.Output().WantBallot, "a live leader completes it")
	p.FillHole(testExpire)
	assert.True(t, p.Output().WantBallot, "no live leader: campaign (phase 1 completes every slot)")
}

func TestProposerWindowFull(t *testing.T) {
	p := newTestProposer(1, ProposerConfig{MaxPending: 1})
	_, ok := p.Propose([]byte("a"), 0)
	require.True(t, ok)
	_, ok = p.Propose([]byte("b"), 0)
	assert.False(t, ok)
}

func TestProposerHeartbeat(t *testing.T) {
	c := newCluster(t, 3)
	p := newTestProposer(1, ProposerConfig{HeartbeatNanos: 100})
	_, _ = p.Propose([]byte("a"), 0)
	c.drive(p, 5, 0)
	p.Tick(50)
	assert.Empty(t, p.Output().Accepts)
	assert.Equal(t, int64(100), p.NextDeadline())
	p.Tick(100)
	assert.Equal(t, []Accept{{Ballot: 5, Chosen: 1}}, p.Output().Accepts)
}

// The core's clock must be monotonic (the drivers feed clock.Since(epoch));
// a time that steps back anyway is taken as the latest one seen: nothing
// fires early, and a member whose clock stepped back campaigns once the
// clock has passed where it was. (The simulator moves clock jumps onto the
// wall clock the ballots read, as a real process's monotonic clock never
// jumps.)
func TestProposerTimeNeverGoesBack(t *testing.T) {
	const before, after = int64(10e9), int64(1e9) // the clock steps back 9 s
	c := newCluster(t, 3)
	p := newTestProposer(1, ProposerConfig{})
	_, _ = p.Propose([]byte("a"), before)
	c.drive(p, 5, before)
	p.SetHint(Hint{Proposer: "m1", Ballot: 99, SeenAt: before}) // preempted
	_ = p.Output()
	_, ok := p.Propose([]byte("b"), after)
	require.True(t, ok)
	_ = p.Output()
	p.Tick(before + testCap)
	require.True(t, p.Output().WantBallot, "a campaign within the back-off cap of the latest time seen")
}

// A proposer that starts with a clock below zero still campaigns at once.
func TestProposerNegativeClockCampaigns(t *testing.T) {
	const now = int64(-4e9)
	p := newTestProposer(1, ProposerConfig{})
	_, ok := p.Propose([]byte("a"), now)
	require.True(t, ok)
	got := p.Output().WantBallot
	p.Tick(now + testCap)
	require.True(t, got || p.Output().WantBallot)
}
