package sim

import "fmt"

type outcome int

const (
	outcomePending outcome = iota
	outcomeOK              // chosen at pos
	outcomeUnknown         // may or may not have been chosen
	outcomeFailed          // never submitted
)

// op is one Propose call a client made.
type op struct {
	client  int
	node    int
	value   string
	inv     int64
	ret     int64
	outcome outcome
	pos     uint64
	seq     uint64
	barrier bool // a read barrier: no value, pos is the position it read at
}

// client issues proposals one at a time to random members, each with a
// deadline, the way an application would.
type client struct {
	w  *world
	id int
	n  int
}

const (
	opTimeout = 2 * s
	thinkMax  = 20 * ms
)

func (c *client) next() {
	w := c.w
	if w.issued >= w.cfg.Ops || w.failed != "" {
		return
	}
	w.issued++
	c.n++
	target := w.rnd.IntN(len(w.nodes))
	o := &op{client: c.id, node: target, value: fmt.Sprintf("c%d-%d", c.id, c.n), inv: w.sched.now}
	if w.rnd.IntN(10) == 0 {
		o.barrier, o.value = true, ""
	}
	w.ops = append(w.ops, o)
	if !o.barrier {
		w.values[o.value] = o
	}
	n := w.nodes[target]
	if !n.up {
		w.finish(o, outcomeFailed, 0) // connection refused
		return
	}
	inc := n.incarnation
	n.deliver(func(n *node) {
		if o.outcome != outcomePending {
			return
		}
		seq, ok := n.prop.Propose([]byte(o.value), n.now())
		if !ok {
			w.finish(o, outcomeFailed, 0)
			return
		}
		o.seq = seq
		n.ops[seq] = o
	})
	w.sched.after(opTimeout, func() {
		if o.outcome != outcomePending {
			return
		}
		if n.up && n.incarnation == inc && n.ops != nil {
			delete(n.ops, o.seq)
			if !n.paused {
				n.prop.Cancel(o.seq)
			}
		}
		w.finish(o, outcomeUnknown, 0)
	})
}

func (w *world) finish(o *op, out outcome, pos uint64) {
	if o.outcome != outcomePending {
		return
	}
	o.outcome, o.ret, o.pos = out, w.sched.now, pos
	w.note("op %s -> %d pos=%d", o.value, out, pos)
	if out == outcomeUnknown && w.cfg.Liveness && w.healed && o.inv >= w.f.healedAt+settle {
		w.fail("liveness: %s invoked at %.3fs, after the cluster healed, did not complete", o.value, float64(o.inv)/float64(s))
	}
	c := w.clients[o.client]
	w.sched.after(w.rnd.Int64N(thinkMax), c.next)
}

// settle is how long after healing a proposal may still time out.
const settle = 1 * s
