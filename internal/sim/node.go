package sim

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/mjpitz/myago/paxos/internal/core"
)

type coreCommand = core.Command

// Timing of the simulated members (virtual nanoseconds).
const (
	tickEvery    = 10 * ms
	pullEvery    = 100 * ms
	holeTimeout  = 300 * ms
	pageLimit    = 16 // small, so that phase 1 pages in every run
	observeLimit = 64
)

// node is one simulated member: the core's Acceptor, Proposer and Learner
// over a simulated disk, wired the way the library's drivers wire them.
type node struct {
	w           *world
	id          int
	name        string
	up, paused  bool
	incarnation int
	clockOffset int64
	disk        *disk

	acc           *core.Acceptor
	durableChosen uint64 // the acceptor's watermark as far as its disk knows
	prop          *core.Proposer
	learner       *core.Learner
	hint          core.Hint

	ops      map[uint64]*op // pending client ops by session seq
	inbox    []func(*node)  // held while paused
	holeSlot uint64
	holeAt   int64
	lastPull int64
}

func newNode(w *world, id int) *node {
	return &node{w: w, id: id, name: w.names[id], disk: newDisk()}
}

// now is the member's monotonic clock, which the core's timers run on: a
// process's monotonic clock never jumps. Clock jumps move its wall clock
// (clockOffset), which only the ballots read, as ServerIDGenerator does.
func (n *node) now() int64 { return n.w.sched.now }

// wallMillis is the member's wall clock in milliseconds.
func (n *node) wallMillis() int64 { return (n.w.sched.now + n.clockOffset) / ms }

// start (re)builds the member from its disk, as New + Start do.
func (n *node) start() {
	n.up, n.paused = true, false
	n.incarnation++
	n.inbox = nil
	n.ops = map[uint64]*op{}
	n.acc = n.disk.restoreAcceptor()
	n.durableChosen = n.acc.Chosen()
	n.learner = core.NewLearner(core.LearnerConfig{Voters: len(n.w.names)}, n.disk.checkpoint)
	n.prop = core.NewProposer(core.ProposerConfig{
		Self: n.name,
		Leader: core.LeaderConfig{WindowSlots: n.w.window, MaxBatchCommands: 4, CommitDelayNanos: n.w.commitDelay,
			BatchHoldPercent: n.w.batchHold},
	}, n.w.rnd.Uint64()|1, rand.New(rand.NewPCG(n.w.rnd.Uint64(), n.w.rnd.Uint64())))
	n.prop.Leader().Observe(n.disk.ballotMax)
	pb, pp := n.acc.Promised()
	n.hint = core.Hint{Proposer: pp, Ballot: pb, SeenAt: math.MinInt64 / 2}
	n.prop.SetHint(n.hint)
	n.prop.LearnedThrough(n.learner.Next() - 1)
	n.w.note("%s start #%d promised=%d chosen=%d learner.next=%d recorded=%d",
		n.name, n.incarnation, pb, n.acc.Chosen(), n.learner.Next(), len(n.disk.recorded))
	inc := n.incarnation
	n.w.sched.after(n.w.rnd.Int64N(tickEvery), func() { n.tick(inc) })
}

func (n *node) crash() {
	if !n.up {
		return
	}
	n.w.note("%s crash", n.name)
	n.up = false
	n.disk.epoch++
	n.disk.queue, n.disk.syncing = nil, false
	seqs := make([]uint64, 0, len(n.ops))
	for seq := range n.ops {
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs) // a run depends only on its seed, never on map order
	for _, seq := range seqs {
		n.w.finish(n.ops[seq], outcomeUnknown, 0)
	}
	n.ops = nil
	n.inbox = nil
}

func (n *node) pause() { n.paused = true; n.w.note("%s pause", n.name) }

func (n *node) resume() {
	if !n.up || !n.paused {
		return
	}
	n.paused = false
	n.w.note("%s resume", n.name)
	inbox := n.inbox
	n.inbox = nil
	for _, fn := range inbox {
		if !n.up {
			return
		}
		fn(n)
		n.flush()
	}
}

// deliver runs fn on the member if it is up; a paused member runs it when
// it resumes.
func (n *node) deliver(fn func(*node)) {
	if !n.up {
		return
	}
	if n.paused {
		n.inbox = append(n.inbox, fn)
		return
	}
	fn(n)
	n.flush()
}

func (n *node) tick(inc int) {
	if n.incarnation != inc || !n.up {
		return
	}
	next := func() { n.w.sched.after(tickEvery, func() { n.tick(inc) }) }
	if n.paused {
		next()
		return
	}
	now := n.now()
	n.prop.Tick(now)
	if slot, ok := n.learner.Hole(); ok {
		if slot != n.holeSlot {
			n.holeSlot, n.holeAt = slot, now
		} else if now-n.holeAt >= holeTimeout {
			n.holeAt = now
			n.prop.FillHole(now)
		}
	}
	if now-n.lastPull >= pullEvery || now < n.lastPull {
		n.lastPull = now
		n.pull()
	}
	n.flush()
	next()
}

// write queues writes on the disk; done runs once they are durable (never,
// if the member crashes first).
func (n *node) write(apply func(*disk), done func()) {
	d := n.disk
	d.queue = append(d.queue, pendingWrite{apply: apply, done: done})
	if !d.syncing {
		n.startSync()
	}
}

func (n *node) startSync() {
	d := n.disk
	batch := d.queue
	d.queue = nil
	d.syncing = true
	epoch := d.epoch
	n.w.sched.after(n.w.syncDelay(), func() {
		if d.epoch != epoch {
			return // crashed meanwhile: lost
		}
		for _, b := range batch {
			if b.apply != nil {
				b.apply(d)
			}
		}
		d.syncing = false
		if len(d.queue) > 0 {
			n.startSync()
		}
		n.deliver(func(n *node) {
			for _, b := range batch {
				if b.done != nil {
					b.done()
				}
			}
		})
	})
}

// writeAcceptor makes an acceptor's writes durable, then advances the
// durable watermark, publishes the written entries to every learner (the
// live part of Observe), and runs done.
func (n *node) writeAcceptor(ws []core.Write, done func()) {
	cw := n.acc.Chosen()
	n.write(n.disk.applyWrites(ws), func() {
		if cw > n.durableChosen {
			n.durableChosen = cw
		}
		for _, wr := range ws {
			if wr.Entry != nil {
				e := *wr.Entry
				if e.Slot <= n.durableChosen {
					e.Decided = true
				}
				for j := range n.w.nodes {
					n.w.sendAfter(n.id, j, n.w.observeLag(), func(dst *node) { dst.learner.Observe(n.id, e) })
				}
			}
		}
		if done != nil {
			done()
		}
	})
}

func (n *node) seen(ballot uint64, proposer string) {
	pb, pp := n.acc.Promised()
	if ballot != pb {
		return
	}
	if proposer == "" {
		proposer = pp
	}
	n.hint = core.Hint{Proposer: proposer, Ballot: ballot, SeenAt: n.now()}
	n.prop.SetHint(n.hint)
}

// onPrepare is the acceptor's Prepare handler.
func (n *node) onPrepare(m core.Prepare, reply func(core.Promise, error)) {
	p, ws, err := n.acc.Prepare(m)
	if err != nil {
		reply(core.Promise{}, err)
		return
	}
	if p.Ballot == m.Ballot {
		n.seen(m.Ballot, m.Proposer)
	}
	n.writeAcceptor(ws, func() {
		if p.Ballot == m.Ballot {
			p.Entries, p.More, _ = core.ReadPage(n.disk, m.From, p.Chosen, pageLimit)
		}
		reply(p, nil)
	})
}

// onAccept is the acceptor's Accept handler.
func (n *node) onAccept(m core.Accept, reply func(core.Accepted, error)) {
	a, ws, err := n.acc.Accept(m)
	if err != nil {
		reply(core.Accepted{}, err)
		return
	}
	if a.Ballot == m.Ballot {
		n.seen(m.Ballot, "")
	}
	n.writeAcceptor(ws, func() { reply(a, nil) })
}

// pull is the catch-up part of Observe: every acceptor sends the entries it
// holds from the learner's next slot on.
func (n *node) pull() {
	from := n.learner.Next()
	for j := range n.w.nodes {
		n.w.send(n.id, j, func(dst *node) {
			page, _, _ := core.ReadPage(dst.disk, from, dst.durableChosen, observeLimit)
			n.w.send(dst.id, n.id, func(n *node) {
				for _, e := range page {
					n.learner.Observe(dst.id, e)
				}
			})
		})
	}
}

// flush carries out what the core asked for until it asks for nothing more.
func (n *node) flush() {
	for n.up {
		po := n.prop.Output()
		lo := n.learner.Output()
		if isEmptyProp(po) && isEmptyLearn(lo) {
			return
		}
		n.handleProposer(po)
		n.handleLearner(lo)
	}
}

func isEmptyProp(o core.ProposerOutput) bool {
	return len(o.Prepares) == 0 && len(o.Accepts) == 0 && len(o.Learned) == 0 &&
		len(o.Forwards) == 0 && !o.WantBallot && len(o.Resolved) == 0
}

func isEmptyLearn(o core.LearnerOutput) bool {
	return len(o.Deliveries) == 0 && len(o.Decided) == 0 && o.Checkpoint == nil && len(o.Resync) == 0
}

func (n *node) handleProposer(o core.ProposerOutput) {
	now := n.now()
	inc := n.incarnation
	for _, m := range o.Prepares {
		n.fanPrepare(m, inc)
	}
	for _, m := range o.Accepts {
		n.fanAccept(m, inc)
	}
	for _, e := range o.Learned {
		n.w.checkChosen(n, e)
		n.learner.Decide(e)
	}
	for _, f := range o.Forwards {
		n.forward(f)
	}
	if o.WantBallot {
		// As ServerIDGenerator.NextAbove: the wall clock's milliseconds, but
		// above every ballot seen and every ballot this member ever used,
		// whatever the wall clock did meanwhile.
		above := max(o.Above, n.disk.ballotMax)
		millis := max(uint64(max(n.wallMillis(), 0)), (above>>8)+1)
		b := millis<<8 | uint64(n.id)
		n.write(func(d *disk) { d.ballotMax = max(d.ballotMax, b) }, func() {
			n.w.note("%s campaign %d", n.name, b)
			n.prop.Campaign(b, n.now())
			if st, lb := n.prop.Leader().State(); st != core.Follower && lb == b {
				n.w.checkBallot(n, b)
			}
			n.w.maybeCrashAfterCampaign(n)
		})
	}
	for _, r := range o.Resolved {
		if op := n.ops[r.Seq]; op != nil {
			delete(n.ops, r.Seq)
			n.w.finish(op, outcomeOK, r.Pos)
		}
	}
	_ = now
}

func (n *node) handleLearner(o core.LearnerOutput) {
	now := n.now()
	for _, e := range o.Decided {
		n.w.checkChosen(n, e)
		if ws := n.acc.Learn(e); len(ws) > 0 {
			n.writeAcceptor(ws, nil)
		}
		n.prop.Learn(e, now)
	}
	if len(o.Deliveries) > 0 {
		n.w.note("%s delivers %d (first pos %d)", n.name, len(o.Deliveries), o.Deliveries[0].Pos)
		ds := o.Deliveries
		for _, d := range ds {
			n.prop.Delivered(d)
		}
		n.write(func(d *disk) {
			for _, dl := range ds {
				if !dl.Cmd.IsBarrier() {
					n.w.record(n, d, dl)
				}
			}
		}, nil)
		n.prop.LearnedThrough(n.learner.Next() - 1)
	}
	if cp := o.Checkpoint; cp != nil {
		n.write(func(d *disk) { d.checkpoint = cp }, nil)
	}
}

// fanOut sends a request to every member as the MultiAcceptorClient does:
// serve runs at each member, and each reply goes back to be counted, until
// the tally is done.
func fanOut[R any](n *node, inc int, serve func(dst *node, reply func(R, error)),
	add func(voter int, r R), fail func(voter int), done func() bool, finish func(src *node)) {
	for j := range n.w.nodes {
		n.w.send(n.id, j, func(dst *node) {
			serve(dst, func(r R, err error) {
				n.w.send(j, n.id, func(src *node) {
					if src.incarnation != inc || done() {
						return
					}
					if err != nil {
						fail(j)
					} else {
						add(j, r)
					}
					if done() {
						finish(src)
					}
				})
			})
		})
	}
}

func (n *node) fanPrepare(m core.Prepare, inc int) {
	t := core.NewPrepareTally(len(n.w.nodes), m.Ballot, m.From)
	fanOut(n, inc, func(dst *node, reply func(core.Promise, error)) { dst.onPrepare(m, reply) },
		t.Add, t.Fail, t.Done, func(src *node) { src.prop.PrepareDone(t.Result(), src.now()) })
}

func (n *node) fanAccept(m core.Accept, inc int) {
	t := core.NewAcceptTally(len(n.w.nodes), m.Ballot, m.Slot)
	fanOut(n, inc, func(dst *node, reply func(core.Accepted, error)) { dst.onAccept(m, reply) },
		t.Add, t.Fail, t.Done, func(src *node) { src.prop.AcceptDone(t.Result(), src.now()) })
}

func (n *node) forward(f core.Forward) {
	to := -1
	for j, name := range n.w.names {
		if name == f.To {
			to = j
		}
	}
	if to < 0 || !n.w.nodes[to].up || n.w.f.noForward {
		// Connection refused (or no forwarding at all): the driver learns
		// it at once.
		n.prop.ForwardFailed(f.To, f.Cmds, n.now())
		return
	}
	n.w.send(n.id, to, func(dst *node) { dst.prop.Forwarded(f.Cmds, f.Hops, dst.now()) })
}
