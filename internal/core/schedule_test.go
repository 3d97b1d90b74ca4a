package core

import (
	"flag"
	"math/rand/v2"
	"strconv"
	"testing"
)

var scheduleSeeds = flag.Int("schedule.seeds", 1000, "how many random schedules TestRandomSchedules runs")

// TestRandomSchedules drives three competing Leaders and a cluster of
// acceptors through random schedules: every message goes to every acceptor
// but is delivered (or lost) one acceptor at a time, in random order;
// replies are lost at random; acceptors restart; leaders campaign, propose,
// retry and get preempted whenever the dice say so. The oracle of the
// harness checks after every acceptance that no slot ever has two chosen
// values, and every slot any leader or the learner says is chosen must be
// chosen, with that value, by the oracle. It is the simulator's agreement
// check, on the core alone, without the driver.
func TestRandomSchedules(t *testing.T) {
	chosen := 0
	for seed := range uint64(*scheduleSeeds) {
		chosen += runSchedule(t, seed)
		if t.Failed() {
			t.Fatalf("seed %d failed (replay: go test ./internal/core -run TestRandomSchedules -schedule.seeds=%d)", seed, seed+1)
		}
	}
	t.Logf("%d schedules chose %d slots", *scheduleSeeds, chosen)
	if chosen < *scheduleSeeds {
		t.Errorf("the schedules hardly choose anything: they test little")
	}
}

type inflight struct {
	leader  int
	prepare *Prepare
	accept  *Accept
	pt      *PrepareTally
	at      *AcceptTally
	pending []int // acceptors it has not reached yet
}

func runSchedule(t *testing.T, seed uint64) int {
	rnd := rand.New(rand.NewPCG(seed, 0x5eed))
	n := 3 + 2*rnd.IntN(2)
	c := newCluster(t, n)
	c.page = 1 + rnd.IntN(4)
	leaders := make([]*Leader, 3)
	for i := range leaders {
		leaders[i] = NewLeader(LeaderConfig{WindowSlots: 1 + rnd.IntN(4), MaxBatchCommands: 1 + rnd.IntN(3), RetryNanos: 10})
	}
	var msgs []*inflight
	now := int64(0)
	nextCmd := uint64(0)
	learned := func(e Entry) {
		t.Helper()
		if got, want := digestOf(e.Cmds), c.chosenValue(e.Slot); got != want {
			t.Errorf("seed %d: slot %d said chosen as %q, the oracle has %q", seed, e.Slot, got, want)
		}
	}
	collect := func(i int) {
		o := leaders[i].Output()
		for _, m := range o.Prepares {
			m := m
			msgs = append(msgs, &inflight{leader: i, prepare: &m, pt: NewPrepareTally(n, m.Ballot, m.From), pending: rnd.Perm(n)})
		}
		for _, m := range o.Accepts {
			m := m
			msgs = append(msgs, &inflight{leader: i, accept: &m, at: NewAcceptTally(n, m.Ballot, m.Slot), pending: rnd.Perm(n)})
		}
		for _, e := range o.Learned {
			learned(e)
			for j, l := range leaders {
				if j != i && rnd.IntN(2) == 0 {
					l.Learn(e, now) // a learner told another member
				}
			}
		}
	}
	for step := 0; step < 600 && !t.Failed(); step++ {
		now++
		i := rnd.IntN(len(leaders))
		l := leaders[i]
		switch r := rnd.IntN(20); {
		case r == 0:
			st, _ := l.State()
			if st == Follower {
				b := ((l.MaxSeen()>>8)+1)<<8 | uint64(i+1)
				l.Campaign(b, now)
			}
		case r <= 2:
			nextCmd++
			l.Propose(cmd(uint64(i+1), nextCmd, "c"+strconv.FormatUint(nextCmd, 10)), now)
		case r == 3:
			l.Tick(now + 10)
		case r == 4:
			c.accs[rnd.IntN(n)].restart()
		case r == 5 && len(msgs) > 0:
			k := rnd.IntN(len(msgs)) // lost for good
			msgs = append(msgs[:k], msgs[k+1:]...)
		default:
			if len(msgs) == 0 {
				continue
			}
			k := rnd.IntN(len(msgs))
			m := msgs[k]
			a := m.pending[0]
			m.pending = m.pending[1:]
			if len(m.pending) == 0 {
				msgs = append(msgs[:k], msgs[k+1:]...)
			}
			if rnd.IntN(8) == 0 {
				continue // this copy lost
			}
			acc := c.accs[a]
			owner := leaders[m.leader]
			if m.prepare != nil {
				p, ws, err := acc.acc.Prepare(*m.prepare)
				acc.apply(ws)
				if err == nil && p.Ballot == m.prepare.Ballot {
					p.Entries, p.More, _ = ReadPage(acc, m.prepare.From, p.Chosen, c.page)
				}
				if rnd.IntN(8) == 0 {
					continue // the reply is lost
				}
				if err != nil {
					m.pt.Fail(a)
				} else {
					m.pt.Add(a, p)
				}
				if m.pt.Done() {
					owner.PrepareDone(m.pt.Result(), now)
				}
			} else {
				r, ws, err := acc.acc.Accept(*m.accept)
				acc.apply(ws)
				for _, w := range ws {
					if w.Entry != nil {
						c.vote(a, *w.Entry)
						c.learner.Observe(a, *w.Entry)
					}
				}
				if rnd.IntN(8) == 0 {
					continue
				}
				if err != nil {
					m.at.Fail(a)
				} else {
					m.at.Add(a, r)
				}
				if m.at.Done() {
					owner.AcceptDone(m.at.Result(), now)
				}
			}
			i = m.leader
		}
		collect(i)
		for _, e := range c.learner.Output().Decided {
			learned(e)
		}
	}
	return len(c.chosen)
}
