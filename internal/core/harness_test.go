package core

import (
	"slices"
	"strings"
	"testing"
)

// This file is a tiny in-test cluster: acceptors over in-memory "disks" that
// apply their Writes, and helpers that carry a Leader's messages to a chosen
// subset of them by hand, so that scenario tests can stage exactly the
// interleavings the papers describe. It also keeps an oracle of what is
// chosen: a value is chosen in a slot once a majority of acceptors has
// accepted it at one ballot (Lamport, "Paxos Made Simple", §2.2), and no slot
// may ever have two chosen values.

// memAcceptor is an acceptor whose Writes land on a durable store at once
// (the tests decide what is durable by choosing when to restart).
type memAcceptor struct {
	acc       *Acceptor
	promise   PromiseRecord
	entries   map[uint64]Entry
	stamps    map[uint64]uint64
	watermark uint64 // the last Watermark write
	writes    int
}

func newMemAcceptor() *memAcceptor {
	return &memAcceptor{acc: NewAcceptor(), entries: map[uint64]Entry{}, stamps: map[uint64]uint64{}}
}

// apply makes ws durable.
func (m *memAcceptor) apply(ws []Write) {
	for _, w := range ws {
		m.writes++
		if w.Promise != nil {
			m.promise = *w.Promise
		}
		if w.Entry != nil {
			m.entries[w.Entry.Slot] = *w.Entry
			m.stamps[w.Entry.Slot] = w.Chosen
		}
		if w.Watermark {
			m.watermark = max(m.watermark, w.Chosen)
		}
	}
}

// Entries implements EntryReader over the durable entries.
func (m *memAcceptor) Entries(from uint64, fn func(Entry) bool) error {
	slots := make([]uint64, 0, len(m.entries))
	for s := range m.entries {
		if s >= from {
			slots = append(slots, s)
		}
	}
	slices.Sort(slots)
	for _, s := range slots {
		if !fn(m.entries[s]) {
			break
		}
	}
	return nil
}

// restart rebuilds the acceptor from its durable state, the way a driver
// does: the promise, the higher of the stamp of the highest entry and the
// last Watermark write, and every entry above it.
func (m *memAcceptor) restart() {
	var top, stamp uint64
	for s := range m.entries {
		if s >= top {
			top, stamp = s, m.stamps[s]
		}
	}
	stamp = max(stamp, m.watermark)
	var above []Entry
	var stamps []uint64
	_ = m.Entries(stamp+1, func(e Entry) bool {
		above = append(above, e)
		stamps = append(stamps, m.stamps[e.Slot])
		return true
	})
	m.acc = RestoreAcceptor(m.promise, stamp, above, stamps)
}

// tcluster is n acceptors, a learner that sees every acceptance, and the
// oracle of chosen values.
type tcluster struct {
	t       testing.TB
	accs    []*memAcceptor
	learner *Learner
	// votes[slot][ballot] is the set of acceptors that accepted at that
	// ballot, and the value they accepted.
	votes  map[uint64]map[uint64]*oracleVotes
	chosen map[uint64]string // slot -> digest of the chosen batch
	page   int
}

type oracleVotes struct {
	voters map[int]bool
	value  string
}

func newCluster(t testing.TB, n int) *tcluster {
	c := &tcluster{t: t, votes: map[uint64]map[uint64]*oracleVotes{}, chosen: map[uint64]string{}, page: 1 << 20,
		learner: NewLearner(LearnerConfig{Voters: n}, nil)}
	for range n {
		c.accs = append(c.accs, newMemAcceptor())
	}
	return c
}

func all(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// prepare sends m to the acceptors in to and tallies their promises (each
// with its page). The result is Done only if the replies decided it.
func (c *tcluster) prepare(m Prepare, to ...int) (PrepareResult, bool) {
	c.t.Helper()
	t := NewPrepareTally(len(c.accs), m.Ballot, m.From)
	for _, i := range to {
		a := c.accs[i]
		p, ws, err := a.acc.Prepare(m)
		if err != nil {
			t.Fail(i)
			continue
		}
		a.apply(ws)
		if p.Ballot == m.Ballot {
			var perr error
			p.Entries, p.More, perr = ReadPage(a, m.From, p.Chosen, c.page)
			if perr != nil {
				c.t.Fatalf("ReadPage: %v", perr)
			}
		}
		t.Add(i, p)
	}
	return t.Result(), t.Done()
}

// accept sends m to the acceptors in to, records every acceptance in the
// oracle (and shows it to the learner), and tallies the replies.
func (c *tcluster) accept(m Accept, to ...int) (AcceptResult, bool) {
	c.t.Helper()
	t := NewAcceptTally(len(c.accs), m.Ballot, m.Slot)
	for _, i := range to {
		a := c.accs[i]
		r, ws, err := a.acc.Accept(m)
		if err != nil {
			t.Fail(i)
			continue
		}
		a.apply(ws)
		for _, w := range ws {
			if w.Entry != nil {
				c.vote(i, *w.Entry)
				c.learner.Observe(i, *w.Entry)
			}
		}
		t.Add(i, r)
	}
	return t.Result(), t.Done()
}

// vote records that acceptor i holds e, and checks that no slot ever gets
// two chosen values.
func (c *tcluster) vote(i int, e Entry) {
	c.t.Helper()
	if e.Slot == 0 {
		return
	}
	bs := c.votes[e.Slot]
	if bs == nil {
		bs = map[uint64]*oracleVotes{}
		c.votes[e.Slot] = bs
	}
	v := bs[e.Ballot]
	d := digestOf(e.Cmds)
	if v == nil {
		v = &oracleVotes{voters: map[int]bool{}, value: d}
		bs[e.Ballot] = v
	}
	if v.value != d {
		c.t.Fatalf("slot %d: ballot %d carries two values %q and %q", e.Slot, e.Ballot, v.value, d)
	}
	v.voters[i] = true
	if len(v.voters) >= Majority(len(c.accs)) {
		if prev, ok := c.chosen[e.Slot]; ok && prev != v.value {
			c.t.Fatalf("agreement: slot %d chosen as %q and as %q", e.Slot, prev, v.value)
		}
		c.chosen[e.Slot] = v.value
	}
}

// run carries a Leader's output by hand: every Prepare and Accept it asks for
// goes to the acceptors in to, and the tallied results go back to it, until
// it asks for nothing more. It returns every slot the leader learned.
func (c *tcluster) run(l *Leader, now int64, to ...int) []Entry {
	c.t.Helper()
	var learned []Entry
	for range 10000 {
		o := l.Output()
		learned = append(learned, o.Learned...)
		if len(o.Prepares) == 0 && len(o.Accepts) == 0 {
			return learned
		}
		for _, m := range o.Prepares {
			if r, done := c.prepare(m, to...); done {
				l.PrepareDone(r, now)
			}
		}
		for _, m := range o.Accepts {
			if r, done := c.accept(m, to...); done {
				l.AcceptDone(r, now)
			}
		}
	}
	c.t.Fatalf("the leader never went quiet")
	return nil
}

// chosenValue returns the oracle's chosen value of slot ("" if none).
func (c *tcluster) chosenValue(slot uint64) string { return c.chosen[slot] }

// acceptedAt returns what acceptor i durably holds in slot.
func (c *tcluster) acceptedAt(i int, slot uint64) (Entry, bool) {
	e, ok := c.accs[i].entries[slot]
	return e, ok
}

// cmd is a command with a readable value and a request id.
func cmd(session, seq uint64, value string) Command {
	return Command{Session: session, Seq: seq, Value: []byte(value)}
}

// cmds builds a batch of commands of session 1 from values.
func cmds(values ...string) []Command {
	out := make([]Command, len(values))
	for i, v := range values {
		out[i] = Command{Session: 1, Seq: uint64(i + 1), Value: []byte(v)}
	}
	return out
}

// digestOf names a batch by its values ("noop" for an empty batch).
func digestOf(cs []Command) string {
	if len(cs) == 0 {
		return "noop"
	}
	vs := make([]string, len(cs))
	for i, c := range cs {
		vs[i] = string(c.Value)
	}
	return strings.Join(vs, ",")
}

// values returns the values of deliveries, in order.
func values(ds []Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = string(d.Cmd.Value)
	}
	return out
}

// leadingLeader returns a leader that won phase 1 at ballot on the cluster
// (all acceptors), with nothing to recover.
func leadingLeader(t testing.TB, c *tcluster, cfg LeaderConfig, ballot uint64) *Leader {
	t.Helper()
	l := NewLeader(cfg)
	if !l.Campaign(ballot, 0) {
		t.Fatalf("Campaign(%d) refused", ballot)
	}
	c.run(l, 0, all(len(c.accs))...)
	if st, b := l.State(); st != Leading || b != ballot {
		t.Fatalf("leader is %v at %d, want leading at %d", st, b, ballot)
	}
	return l
}
