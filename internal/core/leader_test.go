package core

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLeaderCampaignSendsPrepare(t *testing.T) {
	l := NewLeader(LeaderConfig{Proposer: "m1"})
	st, _ := l.State()
	require.Equal(t, Follower, st)
	assert.False(t, l.Campaign(0, 0), "ballot 0")
	l.Observe(9)
	assert.Equal(t, uint64(9), l.MaxSeen())
	assert.False(t, l.Campaign(9, 0), "a ballot must be above everything seen")
	assert.False(t, l.Campaign(8, 0))
	require.True(t, l.Campaign(10, 0))
	st, b := l.State()
	assert.Equal(t, Preparing, st)
	assert.Equal(t, uint64(10), b)
	o := l.Output()
	assert.Equal(t, []Prepare{{Ballot: 10, From: 1, Proposer: "m1"}}, o.Prepares)
	assert.Empty(t, o.Accepts)
	assert.Empty(t, l.Output().Prepares, "Output drains")
}

func TestLeaderPhaseOneStartsAfterWhatIsKnownChosen(t *testing.T) {
	l := NewLeader(LeaderConfig{})
	l.LearnedThrough(41)
	require.True(t, l.Campaign(5, 0))
	assert.Equal(t, uint64(42), l.Output().Prepares[0].From)
}

// seed gives acceptor i an accepted entry, as if an earlier leader had sent
// it only there (written directly, whatever the acceptor promised since, and
// the acceptor rebuilt from its store).
func (c *tcluster) seed(i int, slot, ballot uint64, v ...string) {
	c.t.Helper()
	a := c.accs[i]
	e := Entry{Slot: slot, Ballot: ballot, Cmds: cmds(v...)}
	a.apply([]Write{{Entry: &e, Chosen: a.acc.Chosen()}})
	if ballot > a.promise.Ballot {
		a.apply([]Write{{Promise: &PromiseRecord{Ballot: ballot}}})
	}
	a.restart()
	c.vote(i, e)
}

// acceptsBySlot indexes accepts by slot (the last one for each slot wins).
func acceptsBySlot(as []Accept) map[uint64]Accept {
	out := map[uint64]Accept{}
	for _, a := range as {
		out[a.Slot] = a
	}
	return out
}

func TestLeaderRecoversTheHighestBallotValueAndFillsHoles(t *testing.T) {
	c := newCluster(t, 3)
	c.seed(0, 1, 1, "x")
	c.seed(1, 1, 3, "y") // a later ballot re-proposed slot 1 with y
	c.seed(0, 3, 2, "z") // slot 2 is empty everywhere: a hole
	l := NewLeader(LeaderConfig{WindowSlots: 8})
	require.True(t, l.Campaign(7, 0))
	r, done := c.prepare(l.Output().Prepares[0], 0, 1)
	require.True(t, done)
	l.PrepareDone(r, 0)
	st, _ := l.State()
	require.Equal(t, Leading, st)
	as := acceptsBySlot(l.Output().Accepts)
	require.Len(t, as, 3)
	assert.Equal(t, "y", digestOf(as[1].Cmds), "the value of the highest ballot")
	assert.Nil(t, as[2].Cmds, "a hole is filled with a no-op")
	assert.Equal(t, "z", digestOf(as[3].Cmds))
	for _, a := range as {
		assert.Equal(t, uint64(7), a.Ballot)
	}
}

func TestLeaderLearnsDecidedPageEntriesInsteadOfReproposing(t *testing.T) {
	c := newCluster(t, 3)
	c.accs[0].apply(c.accs[0].acc.Learn(Entry{Slot: 1, Ballot: 2, Cmds: cmds("chosen")}))
	c.seed(1, 1, 4, "chosen") // a later, partial re-proposal of the same value
	c.seed(1, 2, 4, "w")
	l := NewLeader(LeaderConfig{})
	require.True(t, l.Campaign(7, 0))
	r, done := c.prepare(l.Output().Prepares[0], 0, 1)
	require.True(t, done)
	l.PrepareDone(r, 0)
	o := l.Output()
	require.Len(t, o.Learned, 1)
	assert.Equal(t, Entry{Slot: 1, Ballot: 2, Cmds: cmds("chosen"), Decided: true}, o.Learned[0])
	as := acceptsBySlot(o.Accepts)
	assert.NotContains(t, as, uint64(1), "a decided slot is not proposed again")
	assert.Equal(t, "w", digestOf(as[2].Cmds))
	assert.Equal(t, uint64(1), l.Chosen())
}

func TestLeaderPagesPhaseOneAndProposesNewCommandsOnlyAfterIt(t *testing.T) {
	c := newCluster(t, 3)
	c.page = 2
	for slot := uint64(1); slot <= 5; slot++ {
		c.seed(0, slot, 1, "old")
		c.seed(1, slot, 1, "old")
	}
	l := NewLeader(LeaderConfig{WindowSlots: 100})
	require.True(t, l.Campaign(7, 0))
	require.True(t, l.Propose(cmd(9, 1, "new"), 0), "a preparing leader queues")
	var froms []uint64
	newSlot := uint64(0)
	phase1Done := false
	for range 100 {
		o := l.Output()
		if len(o.Prepares) == 0 && len(o.Accepts) == 0 {
			break
		}
		for _, m := range o.Prepares {
			require.False(t, phase1Done)
			froms = append(froms, m.From)
			r, done := c.prepare(m, 0, 1, 2)
			require.True(t, done)
			if r.Through == math.MaxUint64 {
				phase1Done = true
			}
			l.PrepareDone(r, 0)
		}
		for _, m := range o.Accepts {
			if digestOf(m.Cmds) == "new" {
				require.True(t, phase1Done, "a new command is proposed before phase 1 completed")
				newSlot = m.Slot
			}
			r, done := c.accept(m, 0, 1, 2)
			require.True(t, done)
			l.AcceptDone(r, 0)
		}
	}
	assert.Equal(t, []uint64{1, 3, 5}, froms, "one page of two entries at a time; the third is complete")
	assert.Equal(t, uint64(6), newSlot, "the new command follows every recovered slot")
	for slot := uint64(1); slot <= 5; slot++ {
		assert.Equal(t, "old", c.chosenValue(slot), "slot %d", slot)
	}
	assert.Equal(t, uint64(6), l.Chosen())
}

func TestLeaderWindowLimitsSlotsInFlight(t *testing.T) {
	c := newCluster(t, 3)
	l := leadingLeader(t, c, LeaderConfig{WindowSlots: 2, MaxBatchCommands: 1}, 5)
	for i := uint64(1); i <= 5; i++ {
		require.True(t, l.Propose(cmd(9, i, "v"), 0))
	}
	o := l.Output()
	require.Len(t, o.Accepts, 2)
	assert.Equal(t, uint64(1), o.Accepts[0].Slot)
	assert.Equal(t, uint64(2), o.Accepts[1].Slot)
	assert.Equal(t, 5, l.Pending())
	// Slot 2 chosen first does not open the window: slot 1 still holds it.
	r, _ := c.accept(o.Accepts[1], all(3)...)
	l.AcceptDone(r, 0)
	assert.Empty(t, l.Output().Accepts)
	r, _ = c.accept(o.Accepts[0], all(3)...)
	l.AcceptDone(r, 0)
	o = l.Output()
	require.Len(t, o.Accepts, 2)
	assert.Equal(t, uint64(3), o.Accepts[0].Slot)
	assert.Equal(t, uint64(4), o.Accepts[1].Slot)
	assert.Equal(t, uint64(2), o.Accepts[0].Chosen, "accepts carry the watermark")
	assert.Equal(t, 3, l.Pending())
}

func TestLeaderBatches(t *testing.T) {
	big := string(make([]byte, 100))
	tests := []struct {
		name  string
		cfg   LeaderConfig
		value string
		n     int
		want  []int // commands per slot
	}{
		{"by count", LeaderConfig{MaxBatchCommands: 3, WindowSlots: 8}, "v", 7, []int{3, 3, 1}},
		{"by bytes", LeaderConfig{MaxBatchBytes: 300, WindowSlots: 8}, big, 5, []int{2, 2, 1}},
		{"a command larger than the byte limit goes alone", LeaderConfig{MaxBatchBytes: 10, WindowSlots: 8}, big, 2, []int{1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCluster(t, 3)
			l := NewLeader(tt.cfg)
			require.True(t, l.Campaign(5, 0))
			p := l.Output().Prepares[0]
			for i := range tt.n {
				require.True(t, l.Propose(cmd(9, uint64(i+1), tt.value), 0))
			}
			r, _ := c.prepare(p, all(3)...)
			l.PrepareDone(r, 0)
			var got []int
			seq := uint64(0)
			for _, a := range l.Output().Accepts {
				got = append(got, len(a.Cmds))
				for _, cm := range a.Cmds {
					seq++
					assert.Equal(t, seq, cm.Seq, "batches keep the queue's order")
				}
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestLeaderQueueLimit(t *testing.T) {
	l := NewLeader(LeaderConfig{MaxQueueCommands: 2})
	assert.False(t, l.Propose(cmd(9, 1, "v"), 0), "a follower takes no commands")
	require.True(t, l.Campaign(5, 0))
	require.True(t, l.Propose(cmd(9, 1, "a"), 0))
	require.True(t, l.Propose(cmd(9, 1, "a"), 0), "the same request id is not queued twice")
	require.True(t, l.Propose(cmd(9, 2, "b"), 0))
	assert.True(t, l.QueueFull())
	assert.False(t, l.Propose(cmd(9, 3, "c"), 0))
	assert.Equal(t, 2, l.Pending())
}

func TestLeaderRefusalStepsDownAndGivesBackQueuedCommands(t *testing.T) {
	c := newCluster(t, 3)
	l := leadingLeader(t, c, LeaderConfig{WindowSlots: 1, MaxBatchCommands: 1}, 5)
	for i := uint64(1); i <= 3; i++ {
		require.True(t, l.Propose(cmd(9, i, "v"), 0))
	}
	a := l.Output().Accepts
	require.Len(t, a, 1)
	// A rival promised 8 at two acceptors.
	for _, i := range []int{1, 2} {
		_, ws, err := c.accs[i].acc.Prepare(Prepare{Ballot: 8, Proposer: "rival"})
		require.NoError(t, err)
		c.accs[i].apply(ws)
	}
	r, done := c.accept(a[0], all(3)...)
	require.True(t, done)
	require.False(t, r.Accepted)
	assert.Equal(t, uint64(8), r.Higher)
	l.AcceptDone(r, 0)
	st, _ := l.State()
	assert.Equal(t, Follower, st)
	assert.Equal(t, uint64(8), l.MaxSeen())
	o := l.Output()
	assert.Equal(t, []Command{cmd(9, 2, "v"), cmd(9, 3, "v")}, o.Dropped, "queued commands go back")
	assert.Equal(t, []Command{cmd(9, 1, "v")}, o.Uncertain, "the one in an unchosen slot may still be chosen there")
	assert.False(t, l.Propose(cmd(9, 4, "v"), 0))
	assert.Equal(t, 0, l.Pending())
	l.Tick(1 << 40)
	assert.Empty(t, l.Output().Accepts, "a follower resends nothing")
}

func TestLeaderRefusedPrepareStepsDown(t *testing.T) {
	c := newCluster(t, 3)
	for i := range 3 {
		_, ws, _ := c.accs[i].acc.Prepare(Prepare{Ballot: 20, Proposer: "rival"})
		c.accs[i].apply(ws)
	}
	l := NewLeader(LeaderConfig{})
	require.True(t, l.Campaign(5, 0))
	require.True(t, l.Propose(cmd(9, 1, "v"), 0))
	r, done := c.prepare(l.Output().Prepares[0], all(3)...)
	require.True(t, done)
	l.PrepareDone(r, 0)
	st, _ := l.State()
	assert.Equal(t, Follower, st)
	assert.Equal(t, uint64(20), l.MaxSeen())
	assert.Equal(t, []Command{cmd(9, 1, "v")}, l.Output().Dropped)
	assert.False(t, l.Campaign(20, 0))
	assert.True(t, l.Campaign(21, 0))
}

func TestLeaderRetriesOnTick(t *testing.T) {
	const retry = int64(1000)
	t.Run("prepare", func(t *testing.T) {
		l := NewLeader(LeaderConfig{RetryNanos: retry})
		require.True(t, l.Campaign(5, 100))
		p := l.Output().Prepares
		assert.Equal(t, 100+retry, l.NextDeadline())
		l.Tick(100 + retry - 1)
		assert.Empty(t, l.Output().Prepares)
		l.Tick(100 + retry)
		assert.Equal(t, p, l.Output().Prepares, "the same Prepare again")
	})
	t.Run("prepare without a reachable majority", func(t *testing.T) {
		l := NewLeader(LeaderConfig{RetryNanos: retry})
		require.True(t, l.Campaign(5, 0))
		p := l.Output().Prepares[0]
		tl := NewPrepareTally(3, 5, p.From)
		tl.Fail(0)
		tl.Fail(1)
		l.PrepareDone(tl.Result(), 50)
		st, _ := l.State()
		assert.Equal(t, Preparing, st, "failures are not a higher ballot")
		l.Tick(50 + retry - 1)
		assert.Empty(t, l.Output().Prepares)
		l.Tick(50 + retry)
		assert.Len(t, l.Output().Prepares, 1)
	})
	t.Run("accept", func(t *testing.T) {
		c := newCluster(t, 3)
		l := leadingLeader(t, c, LeaderConfig{RetryNanos: retry}, 5)
		require.True(t, l.Propose(cmd(9, 1, "v"), 10))
		a := l.Output().Accepts
		require.Len(t, a, 1)
		l.Tick(10 + retry - 1)
		assert.Empty(t, l.Output().Accepts)
		assert.Equal(t, 10+retry, l.NextDeadline())
		l.Tick(10 + retry)
		assert.Equal(t, a, l.Output().Accepts)
		// Without a reachable majority: again after a full wait.
		tl := NewAcceptTally(3, 5, 1)
		tl.Fail(1)
		tl.Fail(2)
		l.AcceptDone(tl.Result(), 2*retry)
		l.Tick(3*retry - 1)
		assert.Empty(t, l.Output().Accepts)
		l.Tick(3 * retry)
		assert.Equal(t, a, l.Output().Accepts)
	})
	t.Run("nothing waiting", func(t *testing.T) {
		c := newCluster(t, 3)
		l := leadingLeader(t, c, LeaderConfig{RetryNanos: retry}, 5)
		_ = l.Output()
		assert.Equal(t, int64(math.MaxInt64), l.NextDeadline())
		assert.Equal(t, int64(math.MaxInt64), NewLeader(LeaderConfig{}).NextDeadline())
	})
}

func TestLeaderTellsTheWatermarkWhenIdle(t *testing.T) {
	c := newCluster(t, 3)
	l := leadingLeader(t, c, LeaderConfig{}, 5)
	require.True(t, l.Propose(cmd(9, 1, "v"), 0))
	a := l.Output().Accepts
	require.Len(t, a, 1)
	l.Heartbeat(0)
	assert.Empty(t, l.Output().Accepts, "slots in flight say as much as a heartbeat")
	r, _ := c.accept(a[0], all(3)...)
	l.AcceptDone(r, 0)
	o := l.Output()
	require.Len(t, o.Learned, 1)
	require.Len(t, o.Accepts, 1, "the slot is chosen and nothing else is in flight")
	assert.Equal(t, Accept{Ballot: 5, Slot: 0, Chosen: 1}, o.Accepts[0])
	r, _ = c.accept(o.Accepts[0], all(3)...)
	require.True(t, r.Accepted)
	l.AcceptDone(r, 0)
	for i := range 3 {
		assert.Equal(t, uint64(1), c.accs[i].acc.Chosen(), "acceptor %d knows slot 1 is chosen", i)
	}
	assert.Empty(t, l.Output().Accepts, "once told, an idle leader is quiet")
	l.Heartbeat(10)
	assert.Equal(t, []Accept{{Ballot: 5, Chosen: 1}}, l.Output().Accepts)
	l.Heartbeat(11)
	assert.Empty(t, l.Output().Accepts, "one heartbeat at a time")
}

func TestLeaderHoldsBackAWatermarkOnlyItsOwnMemberWaitsOn(t *testing.T) {
	const own, delay = 9, 1000
	cfg := LeaderConfig{CommitDelayNanos: delay, Session: own}
	choose := func(t *testing.T, c *tcluster, l *Leader, now int64) {
		t.Helper()
		a := l.Output().Accepts
		require.Len(t, a, 1)
		r, _ := c.accept(a[0], all(3)...)
		l.AcceptDone(r, now)
	}
	// chosenOwn returns a leader of 3 acceptors whose slot 1, holding a
	// command of session s, was chosen at time 10.
	chosenOwn := func(t *testing.T, cfg LeaderConfig, s uint64) *Leader {
		t.Helper()
		c := newCluster(t, 3)
		l := leadingLeader(t, c, cfg, 5)
		require.True(t, l.Propose(cmd(s, 1, "a"), 0))
		choose(t, c, l, 10)
		return l
	}
	t.Run("own commands: after the delay", func(t *testing.T) {
		l := chosenOwn(t, cfg, own)
		o := l.Output()
		require.Len(t, o.Learned, 1, "the member's learner hears at once")
		assert.Empty(t, o.Accepts, "the acceptors hear later")
		assert.Equal(t, int64(10+delay), l.NextDeadline())
		l.Tick(10 + delay - 1)
		assert.Empty(t, l.Output().Accepts)
		l.Tick(10 + delay)
		assert.Equal(t, []Accept{{Ballot: 5, Chosen: 1}}, l.Output().Accepts)
	})
	t.Run("the next accept carries it", func(t *testing.T) {
		l := chosenOwn(t, cfg, own)
		_ = l.Output()
		require.True(t, l.Propose(cmd(own, 2, "b"), 20))
		a := l.Output().Accepts
		require.Len(t, a, 1)
		assert.Equal(t, uint64(1), a[0].Chosen)
		l.Tick(10 + delay)
		assert.Empty(t, l.Output().Accepts, "nothing held back any more")
		assert.Greater(t, l.NextDeadline(), int64(10+delay), "only the accept's retry is due")
	})
	t.Run("another session's command: at once", func(t *testing.T) {
		l := chosenOwn(t, cfg, own+1)
		assert.Equal(t, []Accept{{Ballot: 5, Chosen: 1}}, l.Output().Accepts)
	})
	t.Run("own command learned from the learner: after the delay", func(t *testing.T) {
		c := newCluster(t, 3)
		l := leadingLeader(t, c, cfg, 5)
		require.True(t, l.Propose(cmd(own, 1, "a"), 0))
		_ = l.Output()
		l.Learn(Entry{Slot: 1, Ballot: 5, Cmds: []Command{cmd(own, 1, "a")}, Decided: true}, 10)
		assert.Empty(t, l.Output().Accepts)
		l.Tick(10 + delay)
		assert.Equal(t, []Accept{{Ballot: 5, Chosen: 1}}, l.Output().Accepts)
	})
	t.Run("a value recovered in phase 1: at once", func(t *testing.T) {
		c := newCluster(t, 3)
		for i := range 3 {
			c.seed(i, 1, 3, "old") // session 1, not ours
		}
		l := NewLeader(cfg)
		require.True(t, l.Campaign(5, 0))
		p, _ := c.prepare(l.Output().Prepares[0], all(3)...)
		l.PrepareDone(p, 0)
		a := l.Output().Accepts
		require.Len(t, a, 1)
		require.Equal(t, "old", digestOf(a[0].Cmds))
		r, _ := c.accept(a[0], all(3)...)
		l.AcceptDone(r, 10)
		assert.Equal(t, []Accept{{Ballot: 5, Chosen: 1}}, l.Output().Accepts)
	})
	t.Run("no delay configured: at once", func(t *testing.T) {
		l := chosenOwn(t, LeaderConfig{Session: own}, own)
		assert.Equal(t, []Accept{{Ballot: 5, Chosen: 1}}, l.Output().Accepts)
	})
	t.Run("stepping down forgets it", func(t *testing.T) {
		l := chosenOwn(t, cfg, own)
		_ = l.Output()
		l.Observe(7)
		assert.Equal(t, int64(math.MaxInt64), l.NextDeadline())
	})
}

func TestLeaderHoldsASmallerBatchForTheCallersOfTheLastOne(t *testing.T) {
	const own = 9
	// started returns a leader whose last batch carried 3 commands of its
	// own session and took rounds of 100 ns, chosen at time 200. Commands
	// proposed at 150 wait behind that batch.
	started := func(t *testing.T, cfg LeaderConfig, at150 ...Command) *Leader {
		t.Helper()
		cfg.Session = own
		c := newCluster(t, 3)
		l := leadingLeader(t, c, cfg, 5)
		require.True(t, l.Propose(cmd(own, 1, "a"), 0))
		a := l.Output().Accepts
		require.Len(t, a, 1, "the first batch goes at once")
		for i := uint64(2); i <= 4; i++ {
			require.True(t, l.Propose(cmd(own, i, "b"), 50))
		}
		r, _ := c.accept(a[0], all(3)...)
		l.AcceptDone(r, 100)
		a = l.Output().Accepts
		require.Len(t, a, 1)
		require.Len(t, a[0].Cmds, 3, "as many as the last batch: no hold")
		for _, cm := range at150 {
			require.True(t, l.Propose(cm, 150))
		}
		r, _ = c.accept(a[0], all(3)...)
		l.AcceptDone(r, 200)
		return l
	}
	cfg := LeaderConfig{BatchHoldPercent: 100, CommitDelayNanos: 1000}
	t.Run("until as many as the last batch are queued", func(t *testing.T) {
		l := started(t, cfg)
		require.Empty(t, l.Output().Accepts, "the watermark waits for the next batch")
		require.True(t, l.Propose(cmd(own, 5, "c"), 210))
		require.True(t, l.Propose(cmd(own, 6, "c"), 220))
		assert.Empty(t, l.Output().Accepts)
		assert.Equal(t, int64(310), l.NextDeadline(), "at most a round")
		require.True(t, l.Propose(cmd(own, 7, "c"), 230))
		a := l.Output().Accepts
		require.Len(t, a, 1)
		assert.Len(t, a[0].Cmds, 3)
		assert.Equal(t, uint64(2), a[0].Chosen, "the batch carries the watermark")
	})
	t.Run("at most a round", func(t *testing.T) {
		l := started(t, cfg)
		require.True(t, l.Propose(cmd(own, 5, "c"), 210))
		l.Tick(309)
		assert.Empty(t, l.Output().Accepts)
		l.Tick(310)
		a := l.Output().Accepts
		require.Len(t, a, 1)
		assert.Len(t, a[0].Cmds, 1)
		require.True(t, l.Propose(cmd(own, 6, "d"), 320))
		assert.Empty(t, l.Output().Accepts, "one slot in flight")
	})
	t.Run("from the moment the slot before is chosen", func(t *testing.T) {
		l := started(t, cfg, cmd(own, 5, "c"))
		assert.Empty(t, l.Output().Accepts)
		assert.Equal(t, int64(300), l.NextDeadline())
	})
	t.Run("no commit-only accept while a batch is held", func(t *testing.T) {
		l := started(t, LeaderConfig{BatchHoldPercent: 100}, cmd(own, 5, "c"))
		assert.Empty(t, l.Output().Accepts, "the held batch will carry the watermark")
		l.Tick(300)
		a := l.Output().Accepts
		require.Len(t, a, 1)
		assert.Equal(t, uint64(3), a[0].Slot)
		assert.Equal(t, uint64(2), a[0].Chosen)
	})
	t.Run("a queue that fills a batch by bytes goes at once", func(t *testing.T) {
		l := started(t, LeaderConfig{BatchHoldPercent: 100, MaxBatchBytes: 150})
		_ = l.Output()
		require.True(t, l.Propose(cmd(own, 5, string(make([]byte, 200))), 210))
		a := l.Output().Accepts
		require.Len(t, a, 1)
		assert.Len(t, a[0].Cmds, 1)
	})
	t.Run("off", func(t *testing.T) {
		l := started(t, LeaderConfig{CommitDelayNanos: 1000}, cmd(own, 5, "c"))
		a := l.Output().Accepts
		require.Len(t, a, 1)
		assert.Len(t, a[0].Cmds, 1)
	})
	t.Run("stepping down forgets it", func(t *testing.T) {
		l := started(t, cfg, cmd(own, 5, "c"))
		l.Observe(7)
		assert.Equal(t, int64(math.MaxInt64), l.NextDeadline())
	})
}

func TestLeaderLearnWithAHigherBallotStepsDown(t *testing.T) {
	c := newCluster(t, 3)
	l := leadingLeader(t, c, LeaderConfig{WindowSlots: 1, MaxBatchCommands: 1}, 5)
	require.True(t, l.Propose(cmd(9, 1, "a"), 0))
	require.True(t, l.Propose(cmd(9, 2, "b"), 0))
	_ = l.Output()
	l.Learn(Entry{Slot: 1, Ballot: 9, Cmds: cmds("other"), Decided: true}, 0)
	st, _ := l.State()
	assert.Equal(t, Follower, st)
	assert.Equal(t, uint64(9), l.MaxSeen())
	o := l.Output()
	assert.Equal(t, []Command{cmd(9, 2, "b")}, o.Dropped)
	assert.Equal(t, uint64(1), l.Chosen(), "the follower still tracks the chosen prefix")
}

func TestLeaderLearnAtItsOwnBallotKeepsLeading(t *testing.T) {
	c := newCluster(t, 3)
	l := leadingLeader(t, c, LeaderConfig{}, 5)
	require.True(t, l.Propose(cmd(9, 1, "a"), 0))
	a := l.Output().Accepts[0]
	l.Learn(Entry{Slot: a.Slot, Ballot: 5, Cmds: a.Cmds, Decided: true}, 0)
	st, _ := l.State()
	assert.Equal(t, Leading, st)
	assert.Equal(t, uint64(1), l.Chosen())
	assert.Equal(t, 0, l.Pending())
	o := l.Output()
	assert.Empty(t, o.Learned, "what the learner told us is not echoed back")
	// A late, refused reply for that slot changes nothing.
	l.AcceptDone(AcceptResult{Ballot: 5, Slot: a.Slot}, 0)
	st, _ = l.State()
	assert.Equal(t, Leading, st)
}

func TestLeaderFollowerTracksTheChosenPrefix(t *testing.T) {
	l := NewLeader(LeaderConfig{})
	l.Learn(Entry{Slot: 2, Ballot: 1, Decided: true}, 0)
	assert.Equal(t, uint64(0), l.Chosen(), "slot 1 is not known")
	l.Learn(Entry{Slot: 1, Ballot: 1, Decided: true}, 0)
	assert.Equal(t, uint64(1), l.Chosen(), "a follower keeps only the contiguous prefix")
	l.LearnedThrough(5)
	assert.Equal(t, uint64(5), l.Chosen())
	l.LearnedThrough(3)
	assert.Equal(t, uint64(5), l.Chosen(), "never backwards")
}

func TestLeaderStateString(t *testing.T) {
	assert.Equal(t, "follower", Follower.String())
	assert.Equal(t, "preparing", Preparing.String())
	assert.Equal(t, "leading", Leading.String())
}

// A chosen slot holding another member's command is told to the acceptors
// at once, even while other slots are in flight: that member's callers hear
// of it only through its acceptor.
func TestLeaderTellsAChosenSlotOfAnotherSessionAtOnce(t *testing.T) {
	const own, other = 9, 10
	cfg := LeaderConfig{WindowSlots: 2, MaxBatchCommands: 1, CommitDelayNanos: 1000, Session: own}
	// twoInFlight returns a leader with slots 1 and 2 (holding first and
	// second) in flight, and their accepts.
	twoInFlight := func(t *testing.T, first, second Command) (*tcluster, *Leader, []Accept) {
		t.Helper()
		c := newCluster(t, 3)
		l := leadingLeader(t, c, cfg, 5)
		require.True(t, l.Propose(first, 0))
		require.True(t, l.Propose(second, 0))
		a := l.Output().Accepts
		require.Len(t, a, 2)
		return c, l, a
	}
	t.Run("another session: at once, one at a time", func(t *testing.T) {
		c, l, a := twoInFlight(t, cmd(other, 1, "a"), cmd(own, 1, "b"))
		r, _ := c.accept(a[0], all(3)...)
		l.AcceptDone(r, 10)
		commit := l.Output().Accepts
		assert.Equal(t, []Accept{{Ballot: 5, Chosen: 1}}, commit, "slot 2 is still in flight")

		require.True(t, l.Propose(cmd(other, 2, "c"), 20))
		a3 := l.Output().Accepts
		require.Len(t, a3, 1)
		assert.Equal(t, uint64(3), a3[0].Slot)
		r, _ = c.accept(a[1], all(3)...)
		l.AcceptDone(r, 30)
		r, _ = c.accept(a3[0], all(3)...)
		l.AcceptDone(r, 40)
		assert.Empty(t, l.Output().Accepts, "the first commit is not answered yet")
		r, _ = c.accept(commit[0], all(3)...)
		l.AcceptDone(r, 50)
		assert.Equal(t, []Accept{{Ballot: 5, Chosen: 3}}, l.Output().Accepts)
	})
	t.Run("own session: with the next accept", func(t *testing.T) {
		c, l, a := twoInFlight(t, cmd(own, 1, "a"), cmd(own, 2, "b"))
		r, _ := c.accept(a[0], all(3)...)
		l.AcceptDone(r, 10)
		assert.Empty(t, l.Output().Accepts)
	})
	t.Run("not past the chosen prefix", func(t *testing.T) {
		c, l, a := twoInFlight(t, cmd(own, 1, "a"), cmd(other, 1, "b"))
		r, _ := c.accept(a[1], all(3)...)
		l.AcceptDone(r, 10)
		assert.Empty(t, l.Output().Accepts, "slot 2 is chosen but slot 1 is not")
	})
}
