package core

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Scenario tests for the classic cases, in the manner of etcd's
// raft_paper_test.go: each cites the passage of the paper it checks.
//
//   [PMS]  Leslie Lamport, "Paxos Made Simple", ACM SIGACT News 32(4), 2001.
//   [PMMC] Robbert van Renesse and Deniz Altinbuken, "Paxos Made Moderately
//          Complex", ACM Computing Surveys 47(3), 2015.
//
// Ballots play the role of proposal numbers; a slot is one instance of the
// single-decree protocol ([PMS] §3, [PMMC] §2).

// campaignOn runs phase 1 of a new leader at ballot on the acceptors in to
// and returns it with the Accepts it then asks for (not yet sent).
func campaignOn(t *testing.T, c *tcluster, cfg LeaderConfig, ballot uint64, to ...int) (*Leader, []Accept) {
	t.Helper()
	l := NewLeader(cfg)
	require.True(t, l.Campaign(ballot, 0))
	var accepts []Accept
	for range 100 {
		o := l.Output()
		accepts = append(accepts, o.Accepts...)
		if len(o.Prepares) == 0 {
			return l, accepts
		}
		for _, m := range o.Prepares {
			r, done := c.prepare(m, to...)
			require.True(t, done, "phase 1 at %d on %v", ballot, to)
			l.PrepareDone(r, 0)
		}
	}
	t.Fatal("phase 1 never ended")
	return nil, nil
}

// sendTo sends accepts to the acceptors in to and feeds the results back to
// l when they are decided.
func sendTo(c *tcluster, l *Leader, as []Accept, to ...int) {
	for _, m := range as {
		if r, done := c.accept(m, to...); done && l != nil {
			l.AcceptDone(r, 0)
		}
	}
}

// TestPMSP2cProposeTheHighestNumberedAcceptedValue checks [PMS] §2.2, P2c:
// "there is a set S consisting of a majority of acceptors such that ... v is
// the value of the highest-numbered proposal among all proposals numbered
// less than n accepted by the acceptors in S."
func TestPMSP2cProposeTheHighestNumberedAcceptedValue(t *testing.T) {
	c := newCluster(t, 5)
	// Ballot 1 got "x" accepted by acceptor 0 only.
	l1, as := campaignOn(t, c, LeaderConfig{}, 1, 0, 1, 2)
	require.True(t, l1.Propose(cmd(1, 1, "x"), 0))
	as = append(as, l1.Output().Accepts...)
	sendTo(c, nil, as, 0)
	// Ballot 2 (phase 1 on 1, 2, 3 — it never heard of x) chose "y".
	l2, _ := campaignOn(t, c, LeaderConfig{}, 2, 1, 2, 3)
	require.True(t, l2.Propose(cmd(2, 1, "y"), 0))
	sendTo(c, l2, l2.Output().Accepts, 1, 2, 3)
	require.Equal(t, "y", c.chosenValue(1))
	// Ballot 3's phase 1 on {0, 1, 4} sees x at 1 and y at 2: it must
	// propose y, the value of the highest-numbered proposal.
	l3, as3 := campaignOn(t, c, LeaderConfig{}, 3, 0, 1, 4)
	require.Len(t, as3, 1)
	assert.Equal(t, "y", digestOf(as3[0].Cmds))
	sendTo(c, l3, as3, 0, 1, 4)
	assert.Equal(t, "y", c.chosenValue(1), "P2: every higher-numbered chosen proposal has value y")
	assert.Equal(t, uint64(1), l3.Chosen())
}

// TestPMSP1aAnAcceptorIgnoresLowerProposals checks [PMS] §2.2, P1a: "An
// acceptor can accept a proposal numbered n iff it has not responded to a
// prepare request having a number greater than n." A leader whose accepts
// arrive after a rival's prepares cannot get its value chosen behind the
// rival's back, and the rival's phase 1, which saw no accepted value, may
// propose its own.
func TestPMSP1aAnAcceptorIgnoresLowerProposals(t *testing.T) {
	c := newCluster(t, 3)
	l1, _ := campaignOn(t, c, LeaderConfig{}, 1, all(3)...)
	require.True(t, l1.Propose(cmd(1, 1, "x"), 0))
	x := l1.Output().Accepts
	l2, _ := campaignOn(t, c, LeaderConfig{}, 2, 1, 2) // prepares overtake x
	sendTo(c, l1, x, all(3)...)
	st, _ := l1.State()
	assert.Equal(t, Follower, st, "refused by a majority: l1 is preempted")
	assert.Equal(t, "", c.chosenValue(1), "x reached acceptor 0 only")
	require.True(t, l2.Propose(cmd(2, 1, "y"), 0))
	sendTo(c, l2, l2.Output().Accepts, all(3)...)
	assert.Equal(t, "y", c.chosenValue(1))
	e, _ := c.acceptedAt(0, 1)
	assert.Equal(t, "y", digestOf(e.Cmds), "acceptor 0 accepted the higher proposal over x")
}

// TestPMSLeaderDiesBetweenPhaseTwoAndItsReply is the case [PMS] §2.2 builds
// P2c for: a value can be chosen without its proposer (or anyone) knowing.
// The leader sends accepts and dies before any reply reaches it. If they
// reached only a minority, the value may be lost; if they reached a
// majority, it was chosen, and every later leader, whichever majority
// answers its phase 1, must propose it.
func TestPMSLeaderDiesBetweenPhaseTwoAndItsReply(t *testing.T) {
	majorities := [][]int{{0, 1}, {0, 2}, {1, 2}, {0, 1, 2}}
	t.Run("accepted by a majority: chosen, and recovered by every successor", func(t *testing.T) {
		for _, s := range majorities {
			c := newCluster(t, 3)
			l1, _ := campaignOn(t, c, LeaderConfig{}, 1, all(3)...)
			require.True(t, l1.Propose(cmd(1, 1, "x"), 0))
			sendTo(c, nil, l1.Output().Accepts, 0, 1) // l1 dies: the replies go nowhere
			require.Equal(t, "x", c.chosenValue(1), "chosen, though nobody knows it")
			l2, as := campaignOn(t, c, LeaderConfig{}, 2, s...)
			require.NotEmpty(t, as, "majority %v", s)
			assert.Equal(t, "x", digestOf(as[0].Cmds), "phase 1 on %v must find x", s)
			sendTo(c, l2, as, s...)
			assert.Equal(t, "x", c.chosenValue(1))
			assert.Equal(t, uint64(1), l2.Chosen(), "majority %v", s)
		}
	})
	t.Run("accepted by a minority: lost or recovered, never both", func(t *testing.T) {
		for _, s := range majorities {
			c := newCluster(t, 3)
			l1, _ := campaignOn(t, c, LeaderConfig{}, 1, all(3)...)
			require.True(t, l1.Propose(cmd(1, 1, "x"), 0))
			sendTo(c, nil, l1.Output().Accepts, 0)
			l2, as := campaignOn(t, c, LeaderConfig{}, 2, s...)
			if slices.Contains(s, 0) {
				require.Len(t, as, 1)
				assert.Equal(t, "x", digestOf(as[0].Cmds), "phase 1 on %v saw x: it re-proposes it", s)
			} else {
				assert.Empty(t, as, "phase 1 on %v never saw x: nothing to recover", s)
				require.True(t, l2.Propose(cmd(2, 1, "y"), 0))
				as = l2.Output().Accepts
			}
			sendTo(c, l2, as, all(3)...)
			require.NotEmpty(t, c.chosenValue(1))
			// The late reply of l1's accept changes nothing now.
			r, _ := c.accept(Accept{Ballot: 1, Slot: 1, Cmds: cmds("x")}, all(3)...)
			assert.False(t, r.Accepted)
		}
	})
}

// TestPMSRecoveryOfAValueChosenAtAnOldBallot: x is chosen at ballot 1; two
// later leaders each re-propose it (as P2c demands) to a single acceptor
// and die, so that every acceptor now holds x at a different ballot and no
// ballot holds a majority. A learner that reads the acceptors now cannot
// count x as chosen; the next leader recovers it, and its chosen watermark
// ([PMMC] §3's "decision", carried on its next accept) lets a learner learn
// it from a single acceptor's page.
func TestPMSRecoveryOfAValueChosenAtAnOldBallot(t *testing.T) {
	c := newCluster(t, 3)
	splitAChosenSlot(t, c)
	fresh := learnerReadingAll(t, c)
	assert.Empty(t, fresh.Output().Deliveries, "no ballot holds a majority: tallies cannot learn x")

	l4, as := campaignOn(t, c, LeaderConfig{}, 4, 0, 2)
	require.Len(t, as, 1)
	assert.Equal(t, "x", digestOf(as[0].Cmds), "the value chosen at ballot 1 is recovered")
	sendTo(c, l4, as, 0, 2)
	require.Equal(t, uint64(1), l4.Chosen())
	// The next accept carries the watermark; acceptor 0 alone now reports
	// slot 1 as decided.
	require.True(t, l4.Propose(cmd(4, 1, "y"), 0))
	var next []Accept
	for _, a := range l4.Output().Accepts {
		if a.Slot == 2 { // (the other one is the idle leader's commit, slot 0)
			next = append(next, a)
		}
	}
	require.Len(t, next, 1)
	assert.Equal(t, uint64(1), next[0].Chosen)
	sendTo(c, l4, next, 0)
	page, _, err := ReadPage(c.accs[0], 1, c.accs[0].acc.Chosen(), 16)
	require.NoError(t, err)
	require.NotEmpty(t, page)
	require.True(t, page[0].Decided)
	single := NewLearner(LearnerConfig{Voters: 3}, nil)
	single.Observe(0, page[0])
	assert.Equal(t, []string{"x"}, values(single.Output().Deliveries))
	// Acceptor 1 holds x at ballot 3, not the leader's: the watermark does
	// not vouch for it.
	assert.Equal(t, uint64(0), c.accs[1].acc.Chosen())
}

// splitAChosenSlot chooses x in slot 1 at ballot 1 on acceptors 0 and 1;
// then two leaders each re-propose it (as P2c demands) to one acceptor and
// die: acceptor 0 holds x at 1, acceptor 1 at 3, acceptor 2 at 2.
func splitAChosenSlot(t *testing.T, c *tcluster) {
	t.Helper()
	l1, _ := campaignOn(t, c, LeaderConfig{}, 1, all(3)...)
	require.True(t, l1.Propose(cmd(1, 1, "x"), 0))
	sendTo(c, nil, l1.Output().Accepts, 0, 1)
	require.Equal(t, "x", c.chosenValue(1))
	_, as := campaignOn(t, c, LeaderConfig{}, 2, 1, 2)
	require.Equal(t, "x", digestOf(as[0].Cmds))
	sendTo(c, nil, as, 2)
	_, as = campaignOn(t, c, LeaderConfig{}, 3, 1, 2)
	require.Equal(t, "x", digestOf(as[0].Cmds))
	sendTo(c, nil, as, 1)
}

// learnerReadingAll returns a new learner that has read every acceptor's
// page from slot 1.
func learnerReadingAll(t *testing.T, c *tcluster) *Learner {
	t.Helper()
	l := NewLearner(LearnerConfig{Voters: len(c.accs)}, nil)
	for i, a := range c.accs {
		page, _, err := ReadPage(a, 1, a.acc.Chosen(), 16)
		require.NoError(t, err)
		for _, e := range page {
			l.Observe(i, e)
		}
	}
	return l
}

// TestPMSDuelingProposers shows the livelock of [PMS] §2.4 ("two proposers
// each keep issuing a sequence of proposals with increasing numbers, none of
// which are ever chosen") and how randomized, capped back-off restores
// progress: "a distinguished proposer must be selected ... [it] can be
// chosen using randomness or timeouts".
func TestPMSDuelingProposers(t *testing.T) {
	t.Run("without back-off nothing is chosen", func(t *testing.T) {
		c := newCluster(t, 3)
		ballot := uint64(0)
		// prepare makes l campaign at a fresh ballot and win phase 1; its
		// accepts are returned, not yet sent.
		prepare := func(l *Leader, v string) []Accept {
			ballot++
			l.Observe(ballot - 1)
			require.True(t, l.Campaign(ballot, 0))
			require.True(t, l.Propose(cmd(1, 1, v), 0))
			for _, m := range l.Output().Prepares {
				r, done := c.prepare(m, all(3)...)
				require.True(t, done)
				l.PrepareDone(r, 0)
			}
			return l.Output().Accepts
		}
		a, b := NewLeader(LeaderConfig{}), NewLeader(LeaderConfig{})
		held := prepare(a, "a")
		for round := range 50 {
			// b prepares between a's phase 1 and a's accepts, then a does
			// the same to b.
			heldB := prepare(b, "b")
			sendTo(c, a, held, all(3)...)
			st, _ := a.State()
			require.Equal(t, Follower, st, "round %d: a preempted", round)
			held = prepare(a, "a")
			sendTo(c, b, heldB, all(3)...)
			st, _ = b.State()
			require.Equal(t, Follower, st, "round %d: b preempted", round)
		}
		assert.Empty(t, c.chosen, "every accept was preempted by the rival's next prepare")
	})
	t.Run("randomized back-off: both values are chosen", func(t *testing.T) {
		for seed := range uint64(20) {
			chosen, campaigns := duel(t, seed)
			assert.ElementsMatch(t, []string{"a", "b"}, chosen, "seed %d", seed)
			assert.Greater(t, campaigns, 2, "seed %d: there was a duel", seed)
		}
	})
}

// duel runs two Proposers that both want to lead, over a network with a
// fixed delay of one millisecond, in virtual time, and returns the values
// chosen in slots 1 and 2 and how many campaigns it took.
func duel(t *testing.T, seed uint64) ([]string, int) {
	const ms = int64(1e6)
	c := newCluster(t, 3)
	type msg struct {
		at int64
		fn func()
	}
	var queue []msg
	now := int64(0)
	campaigns := 0
	ps := []*Proposer{
		NewProposer(ProposerConfig{Self: "a", HeartbeatNanos: -1}, 1, rand.New(rand.NewPCG(seed, 1))),
		NewProposer(ProposerConfig{Self: "b", HeartbeatNanos: -1}, 2, rand.New(rand.NewPCG(seed, 2))),
	}
	var handle func(i int)
	handle = func(i int) {
		p := ps[i]
		o := p.Output()
		if o.WantBallot {
			campaigns++
			b := ((o.Above>>8)+1)<<8 | uint64(i+1)
			queue = append(queue, msg{now + ms, func() { p.Campaign(b, now); handle(i) }})
		}
		for _, m := range o.Prepares {
			queue = append(queue, msg{now + ms, func() {
				if r, done := c.prepare(m, all(3)...); done {
					queue = append(queue, msg{now + ms, func() { p.PrepareDone(r, now); handle(i) }})
				}
			}})
		}
		for _, m := range o.Accepts {
			queue = append(queue, msg{now + ms, func() {
				if r, done := c.accept(m, all(3)...); done {
					queue = append(queue, msg{now + ms, func() { p.AcceptDone(r, now); handle(i) }})
				}
			}})
		}
		for _, e := range o.Learned {
			for _, q := range ps {
				q.Learn(e, now)
			}
		}
	}
	_, _ = ps[0].Propose([]byte("a"), 0)
	_, _ = ps[1].Propose([]byte("b"), 0)
	handle(0)
	handle(1)
	both := func() bool {
		var got []string
		for _, v := range c.chosen {
			got = append(got, v)
		}
		return slices.Contains(got, "a") && slices.Contains(got, "b")
	}
	for now < 60*1000*ms && !both() {
		now += ms
		var due []msg
		rest := queue[:0]
		for _, m := range queue {
			if m.at <= now {
				due = append(due, m)
			} else {
				rest = append(rest, m)
			}
		}
		queue = append([]msg(nil), rest...)
		for _, m := range due {
			m.fn()
		}
		for i, p := range ps {
			p.Tick(now)
			handle(i)
		}
	}
	var got []string
	for _, v := range c.chosen {
		if !slices.Contains(got, v) {
			got = append(got, v) // a value chosen twice (retried) counts once
		}
	}
	return got, campaigns
}

// TestPMMCLeaderReproposesPvaluesPerSlot checks [PMMC] §3 (Leader): when
// its scout is adopted, the leader proposes, for every slot, the command of
// the pvalue with the highest ballot among those the acceptors returned
// ("proposals := proposals ◁ pmax(pvals)"), and (Multi-Paxos practice) fills
// slots nobody accepted anything in with no-ops so that later slots can be
// delivered.
func TestPMMCLeaderReproposesPvaluesPerSlot(t *testing.T) {
	c := newCluster(t, 3)
	c.seed(0, 1, 2, "a@2")
	c.seed(1, 1, 3, "a@3")
	c.seed(1, 2, 1, "b@1")
	c.seed(0, 2, 4, "b@4")
	c.seed(0, 4, 1, "d@1")
	c.seed(1, 5, 2, "e@2")
	_, as := campaignOn(t, c, LeaderConfig{WindowSlots: 8}, 9, 0, 1)
	got := map[uint64]string{}
	for _, a := range as {
		got[a.Slot] = digestOf(a.Cmds)
		assert.Equal(t, uint64(9), a.Ballot, "re-proposed at the new ballot")
	}
	assert.Equal(t, map[uint64]string{1: "a@3", 2: "b@4", 3: "noop", 4: "d@1", 5: "e@2"}, got)
}

// TestPMMCPreemptedLeaderSuccessorReproposes follows [PMMC] §3: a leader
// preempted by a higher ballot stops proposing; its successor's scout
// collects the pvalues the preempted leader got accepted and proposes them
// again, in their slots, before anything new.
func TestPMMCPreemptedLeaderSuccessorReproposes(t *testing.T) {
	c := newCluster(t, 3)
	l1, _ := campaignOn(t, c, LeaderConfig{MaxBatchCommands: 1, WindowSlots: 8}, 1, all(3)...)
	for i := uint64(1); i <= 3; i++ {
		require.True(t, l1.Propose(cmd(1, i, fmt.Sprint("v", i)), 0))
	}
	as := l1.Output().Accepts
	require.Len(t, as, 3)
	sendTo(c, l1, as[:1], all(3)...) // slot 1 chosen
	sendTo(c, nil, as[1:], 0)        // slots 2 and 3 on acceptor 0 only
	l2, as2 := campaignOn(t, c, LeaderConfig{WindowSlots: 8}, 2, 0, 2)
	require.True(t, l2.Propose(cmd(2, 1, "new"), 0))
	as2 = append(as2, l2.Output().Accepts...)
	// l1 is preempted when it tries again.
	sendTo(c, l1, []Accept{{Ballot: 1, Slot: 2, Cmds: as[1].Cmds, Chosen: 1}}, 0, 2)
	st, _ := l1.State()
	assert.Equal(t, Follower, st)
	got := map[uint64]string{}
	for _, a := range as2 {
		got[a.Slot] = digestOf(a.Cmds)
	}
	assert.Equal(t, map[uint64]string{1: "v1", 2: "v2", 3: "v3", 4: "new"}, got,
		"slot 1 was chosen, but no acceptor of l2's majority knew it (l1's watermark never left): it is re-proposed with its value")
}

// TestPMMCReplicaSkipsDuplicateCommands checks [PMMC] §3 (Replica,
// "perform"): "if it has already performed the command in a lower slot, it
// does not perform it again" — here a retried command chosen again in a
// later slot is delivered once, at its first slot's position, on every
// learner, whatever order the slots are learned in.
func TestPMMCReplicaSkipsDuplicateCommands(t *testing.T) {
	x, y, z := cmd(7, 1, "x"), cmd(7, 2, "y"), cmd(8, 1, "z")
	slots := []Entry{
		{Slot: 1, Ballot: 1, Cmds: []Command{x}},
		{Slot: 2, Ballot: 2, Cmds: []Command{z}},
		{Slot: 3, Ballot: 2, Cmds: []Command{x, y}}, // x retried after a leader change
		{Slot: 4, Ballot: 3, Cmds: []Command{y}},    // and y too
	}
	var first []Delivery
	for _, order := range [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {2, 0, 3, 1}} {
		l := NewLearner(LearnerConfig{Voters: 3}, nil)
		for _, i := range order {
			l.Decide(slots[i])
		}
		ds := l.Output().Deliveries
		assert.Equal(t, []string{"x", "z", "y"}, values(ds))
		if first == nil {
			first = ds
		}
		assert.Equal(t, first, ds, "every learner delivers alike")
	}
}
