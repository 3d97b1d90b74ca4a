// Package sim is a deterministic simulator for the protocol core: N members
// built from the core's Acceptor, Proposer and Learner, wired as the
// library's drivers wire them, over a seeded network that drops, duplicates,
// delays and reorders messages and partitions members, with disks that lose
// unsynced writes when a member crashes, members that pause, and clocks that
// jump. A run is a pure function of its seed; every run checks the
// invariants of DESIGN.md.
package sim

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
)

// Config is one simulation run.
type Config struct {
	Seed     uint64
	Nodes    int // 3 or 5 in CI
	Clients  int
	Ops      int  // proposals to issue in all
	Liveness bool // faults first, then a healed cluster must finish everything
	// MaxTime bounds the virtual time of the run (default 120 s).
	MaxTime int64
	// Trace collects a readable trace of the run (slow; for debugging).
	Trace bool

	noFaults bool // tests of the simulator itself
}

// Result is what a run observed.
type Result struct {
	Seed       uint64
	Nodes      int
	Liveness   bool
	Ops        int
	OK         int
	Unknown    int
	Failed     int
	Positions  int    // length of the agreed log
	Crashes    int    // crash-restarts injected
	Pauses     int    //
	Partitions int    //
	Messages   uint64 // messages sent
	Dropped    uint64
	VirtualNs  int64
	TraceHash  uint64
	Violation  string // empty when every invariant held
	Trace      []string
}

// Failed reports whether an invariant was violated.
func (r *Result) FailedCheck() bool { return r.Violation != "" }

type world struct {
	cfg    Config
	rnd    *rand.Rand
	sched  scheduler
	f      faults
	nodes  []*node
	names  []string
	cut    map[[2]int]bool // cut[a,b]: messages from a to b are lost
	hasher interface{ Write([]byte) (int, error) }
	sum    func() uint64
	res    Result
	trace  []string

	clients []*client
	ops     []*op
	issued  int
	values  map[string]*op // every value ever proposed

	chosen    map[uint64]string // slot -> digest of the chosen batch
	ballots   map[uint64]string // ballot -> the leadership that used it
	positions map[uint64]string // position -> value
	failed    string
	healed    bool
	window    int // the leaders' WindowSlots in this run
	// commitDelay is the leaders' CommitDelayNanos in this run.
	commitDelay int64
	// batchHold is the leaders' BatchHoldPercent in this run.
	batchHold int
}

// Run runs one simulation and checks every invariant.
func Run(cfg Config) Result {
	if cfg.Nodes <= 0 {
		cfg.Nodes = 3
	}
	if cfg.Clients <= 0 {
		cfg.Clients = 8
	}
	if cfg.Ops <= 0 {
		cfg.Ops = 200
	}
	if cfg.MaxTime <= 0 {
		cfg.MaxTime = 120 * s
	}
	h := fnv.New64a()
	w := &world{
		cfg:       cfg,
		rnd:       rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		cut:       map[[2]int]bool{},
		hasher:    h,
		sum:       h.Sum64,
		values:    map[string]*op{},
		chosen:    map[uint64]string{},
		ballots:   map[uint64]string{},
		positions: map[uint64]string{},
	}
	w.res = Result{Seed: cfg.Seed, Nodes: cfg.Nodes, Liveness: cfg.Liveness}
	w.f = drawFaults(w.rnd)
	w.window = 1 + w.rnd.IntN(8)
	// Not drawn from rnd, so that adding it moved no seed's run.
	w.commitDelay = []int64{0, 2 * ms, 30 * ms}[(cfg.Seed/4)%3]
	w.batchHold = []int{0, 100, 400}[(cfg.Seed/12)%3]
	if cfg.noFaults {
		w.f.heal()
	}
	if cfg.Liveness {
		w.f.healedAt = 2*s + w.rnd.Int64N(8*s)
	}
	for i := 0; i < cfg.Nodes; i++ {
		w.names = append(w.names, fmt.Sprintf("m%d", i))
	}
	for i := 0; i < cfg.Nodes; i++ {
		n := newNode(w, i)
		w.nodes = append(w.nodes, n)
		n.start()
	}
	for i := 0; i < cfg.Clients; i++ {
		c := &client{w: w, id: i}
		w.clients = append(w.clients, c)
		w.sched.after(w.rnd.Int64N(10*ms), c.next)
	}
	w.scheduleFaults()
	w.run()
	w.res.TraceHash = w.sum()
	w.res.VirtualNs = w.sched.now
	w.res.Trace = w.trace
	return w.res
}

func (w *world) run() {
	deadline := w.cfg.MaxTime
	for w.failed == "" {
		if !w.sched.step(deadline) {
			break
		}
		if w.done() {
			break
		}
	}
	if w.failed == "" && w.cfg.Liveness && !w.done() {
		w.fail("liveness: not finished by %v s of virtual time (ops issued %d of %d, %d pending, converged=%v)",
			w.sched.now/s, w.issued, w.cfg.Ops, w.pendingOps(), w.converged())
	}
	if w.failed == "" {
		w.finalCheck()
	}
	w.res.Violation = w.failed
	for _, o := range w.ops {
		switch o.outcome {
		case outcomeOK:
			w.res.OK++
		case outcomeUnknown:
			w.res.Unknown++
		case outcomeFailed:
			w.res.Failed++
		}
	}
	w.res.Ops = len(w.ops)
	w.res.Positions = len(w.positions)
}

// done reports whether the run has finished: every op issued and returned,
// and (liveness mode) every member has recorded the same complete log.
func (w *world) done() bool {
	if w.issued < w.cfg.Ops || w.pendingOps() > 0 {
		return false
	}
	if !w.cfg.Liveness {
		return true
	}
	return w.healed && w.converged()
}

func (w *world) pendingOps() int {
	n := 0
	for _, o := range w.ops {
		if o.outcome == outcomePending {
			n++
		}
	}
	return n
}

// converged reports whether every member is up and has recorded every
// position any member has recorded.
func (w *world) converged() bool {
	var acked uint64
	for _, o := range w.ops {
		if o.outcome == outcomeOK && o.pos > acked {
			acked = o.pos
		}
	}
	for _, n := range w.nodes {
		if !n.up || n.paused || len(n.disk.recorded) != len(w.positions) ||
			uint64(len(n.disk.recorded)) < acked || n.learner.Pos() != uint64(len(n.disk.recorded)) {
			return false
		}
	}
	return true
}

func (w *world) fail(format string, args ...any) {
	if w.failed == "" {
		w.failed = fmt.Sprintf("t=%.3fs: ", float64(w.sched.now)/float64(s)) + fmt.Sprintf(format, args...)
	}
}

func (w *world) note(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	_, _ = w.hasher.Write([]byte(line))
	if w.cfg.Trace {
		w.trace = append(w.trace, fmt.Sprintf("%9.4f ", float64(w.sched.now)/float64(s))+line)
	}
}

// send delivers fn at node to after a network delay, unless the message is
// lost. Messages a member sends itself never leave the process.
func (w *world) send(from, to int, fn func(*node)) { w.sendAfter(from, to, 0, fn) }

// sendAfter is send with extra delay added to the network's.
func (w *world) sendAfter(from, to int, extra int64, fn func(*node)) {
	w.res.Messages++
	dst := w.nodes[to]
	if from == to {
		w.sched.after(1000+extra, func() { dst.deliver(fn) })
		return
	}
	if w.cut[[2]int{from, to}] || w.rnd.Float64() < w.f.dropRate {
		w.res.Dropped++
		return
	}
	copies := 1
	if w.rnd.Float64() < w.f.dupRate {
		copies = 2
	}
	for i := 0; i < copies; i++ {
		d := extra + w.f.delayMin + w.rnd.Int64N(w.f.delayJitter)
		if w.rnd.Float64() < w.f.tailRate {
			d += w.rnd.Int64N(w.f.tailMax)
		}
		w.sched.after(d, func() { dst.deliver(fn) })
	}
}

// observeLag draws the extra delay of one Observe message.
func (w *world) observeLag() int64 {
	if w.f.observeLagMax <= 0 {
		return 0
	}
	return w.rnd.Int64N(w.f.observeLagMax)
}

func (w *world) syncDelay() int64 {
	d := w.f.syncMin + w.rnd.Int64N(w.f.syncJitter)
	if w.rnd.Float64() < w.f.slowSync {
		d += w.rnd.Int64N(w.f.slowSyncMax)
	}
	return d
}

// digest identifies a slot's batch for the agreement check.
func digest(cmds []coreCommand) string {
	if len(cmds) == 0 {
		return "noop"
	}
	var b strings.Builder
	for _, c := range cmds {
		fmt.Fprintf(&b, "%x/%d:%s;", c.Session, c.Seq, c.Value)
	}
	return b.String()
}
