package sim

import (
	"fmt"
	"sort"

	"github.com/mjpitz/myago/paxos/internal/core"
)

// checkChosen enforces agreement at the protocol level: a slot is never
// decided with two different batches, by any member, ever.
func (w *world) checkChosen(n *node, e core.Entry) {
	dg := digest(e.Cmds)
	if prev, ok := w.chosen[e.Slot]; ok {
		if prev != dg {
			w.fail("agreement: %s decided slot %d as %q, but it was decided as %q", n.name, e.Slot, dg, prev)
		}
		return
	}
	w.chosen[e.Slot] = dg
	w.note("chosen slot %d = %s (by %s)", e.Slot, dg, n.name)
}

// checkBallot enforces that a ballot leads at most one leadership, ever:
// proposal numbers are unique ("Paxos Made Simple" §2.2: "different
// proposals have different numbers"). Members differ in the low byte; a
// member's restarts are told apart only by the ballot it made durable
// before campaigning, so a member that forgot it may reuse one. Acceptors
// re-grant an equal ballot to the same proposer name, so the reused ballot
// is live, and the old leadership's accepts still in flight mix with the
// new one's at the same ballot.
func (w *world) checkBallot(n *node, b uint64) {
	if prev, ok := w.ballots[b]; ok {
		w.fail("ballot uniqueness: %s (incarnation %d) campaigns with ballot %d, already used by %s", n.name, n.incarnation, b, prev)
		return
	}
	w.ballots[b] = fmt.Sprintf("%s (incarnation %d)", n.name, n.incarnation)
}

// record is a member's RecordedLog write, checked as it lands: positions are
// written in order with no gaps, a replayed position holds the same value,
// every member agrees on every position, every value was proposed, and no
// value lands at two positions.
func (w *world) record(n *node, d *disk, dl core.Delivery) {
	v := string(dl.Cmd.Value)
	if _, ok := w.values[v]; !ok {
		w.fail("validity: %s recorded %q at %d, which nobody proposed", n.name, v, dl.Pos)
		return
	}
	switch {
	case dl.Pos == uint64(len(d.recorded))+1:
		d.recorded = append(d.recorded, recordedValue{value: v, slot: dl.Slot, offset: dl.Offset})
	case dl.Pos <= uint64(len(d.recorded)):
		if got := d.recorded[dl.Pos-1].value; got != v {
			w.fail("agreement: %s replayed position %d as %q, recorded %q before", n.name, dl.Pos, v, got)
		}
		return
	default:
		w.fail("order: %s recorded position %d after %d (a gap)", n.name, dl.Pos, len(d.recorded))
		return
	}
	if prev, ok := w.positions[dl.Pos]; ok {
		if prev != v {
			w.fail("agreement: position %d is %q at %s, %q elsewhere", dl.Pos, v, n.name, prev)
		}
		return
	}
	w.positions[dl.Pos] = v
	w.note("pos %d = %s", dl.Pos, v)
}

// finalCheck checks the whole history once the run is over.
func (w *world) finalCheck() {
	at := map[string]uint64{}
	for pos, v := range w.positions {
		if prev, ok := at[v]; ok {
			w.fail("exactly-once: %q recorded at positions %d and %d", v, prev, pos)
			return
		}
		at[v] = pos
	}
	for i := uint64(1); i <= uint64(len(w.positions)); i++ {
		if _, ok := w.positions[i]; !ok {
			w.fail("order: position %d missing below %d", i, len(w.positions))
			return
		}
	}
	for _, o := range w.ops {
		if o.barrier {
			continue
		}
		if o.outcome == outcomeFailed {
			if p, ok := at[o.value]; ok {
				w.fail("validity: %q failed before it was submitted, yet it is at position %d", o.value, p)
				return
			}
		}
		if o.outcome != outcomeOK {
			continue
		}
		if o.pos == 0 {
			w.fail("ok op %q has no position", o.value)
			return
		}
		if p, ok := at[o.value]; ok && p != o.pos {
			w.fail("position: %q acknowledged at %d but recorded at %d", o.value, o.pos, p)
			return
		}
		if v, ok := w.positions[o.pos]; ok && v != o.value {
			w.fail("durability: %q acknowledged at %d, which holds %q", o.value, o.pos, v)
			return
		}
		if w.cfg.Liveness {
			if _, ok := at[o.value]; !ok {
				w.fail("durability: %q acknowledged at %d but missing from the converged log", o.value, o.pos)
				return
			}
		}
	}
	if w.cfg.Liveness && !w.converged() {
		w.fail("liveness: members did not converge")
		return
	}
	w.checkLinearizable(at)
	if w.failed == "" {
		w.checkBarriers(at)
	}
}

// checkBarriers checks read barriers: a barrier returns a position at or
// above every write acknowledged before it started, and below every write
// proposed after it returned.
func (w *world) checkBarriers(at map[string]uint64) {
	for _, b := range w.ops {
		if !b.barrier || b.outcome != outcomeOK {
			continue
		}
		for _, o := range w.ops {
			if o.barrier {
				continue
			}
			if o.outcome == outcomeOK && o.ret < b.inv && o.pos > b.pos {
				w.fail("barrier: invoked at %.4fs it read position %d, but %q was acknowledged before at %d",
					float64(b.inv)/float64(s), b.pos, o.value, o.pos)
				return
			}
			if p, ok := at[o.value]; ok && o.inv > b.ret && p <= b.pos {
				w.fail("barrier: returned %d at %.4fs, but %q proposed after it sits at %d",
					b.pos, float64(b.ret)/float64(s), o.value, p)
				return
			}
		}
	}
}

// checkLinearizable checks real-time order directly: if a returned before b
// was invoked, a sits at a lower position than b. For a proposal whose
// outcome was unknown but whose value is in the log, its invocation still
// bounds it: it cannot sit below anything acknowledged before it started.
func (w *world) checkLinearizable(at map[string]uint64) {
	type done struct {
		ret int64
		pos uint64
	}
	var acked []done
	for _, o := range w.ops {
		if o.outcome == outcomeOK && !o.barrier {
			acked = append(acked, done{o.ret, o.pos})
		}
	}
	sort.Slice(acked, func(i, j int) bool { return acked[i].ret < acked[j].ret })
	prefixMax := make([]uint64, len(acked))
	var m uint64
	for i, a := range acked {
		if a.pos > m {
			m = a.pos
		}
		prefixMax[i] = m
	}
	for _, o := range w.ops {
		pos, ok := at[o.value]
		if !ok || o.barrier {
			continue
		}
		k := sort.Search(len(acked), func(i int) bool { return acked[i].ret >= o.inv })
		if k > 0 && prefixMax[k-1] >= pos {
			w.fail("linearizability: %q invoked at %.4fs sits at %d, below position %d acknowledged before it started",
				o.value, float64(o.inv)/float64(s), pos, prefixMax[k-1])
			return
		}
	}
}
