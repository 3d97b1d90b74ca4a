package sim

// scheduleFaults starts the fault loops of the run's profile.
func (w *world) scheduleFaults() {
	f := &w.f
	if f.crashEvery > 0 {
		w.loop(f.crashEvery, func() {
			n := w.nodes[w.rnd.IntN(len(w.nodes))]
			if !n.up {
				return
			}
			w.res.Crashes++
			n.crash()
			w.sched.after(1+w.rnd.Int64N(f.downMax), func() {
				if !n.up {
					n.start()
				}
			})
		})
	}
	if f.pauseEvery > 0 {
		w.loop(f.pauseEvery, func() {
			n := w.nodes[w.rnd.IntN(len(w.nodes))]
			if !n.up || n.paused {
				return
			}
			w.res.Pauses++
			n.pause()
			w.sched.after(1+w.rnd.Int64N(f.pauseMax), n.resume)
		})
	}
	if f.splitEvery > 0 {
		w.loop(f.splitEvery, func() {
			w.res.Partitions++
			w.partition()
			w.sched.after(1+w.rnd.Int64N(f.splitMax), func() {
				if !w.healed {
					w.cut = map[[2]int]bool{}
					w.note("partition healed")
				}
			})
		})
	}
	if f.jumpEvery > 0 {
		w.loop(f.jumpEvery, func() {
			n := w.nodes[w.rnd.IntN(len(w.nodes))]
			d := w.rnd.Int64N(2*f.jumpMax) - f.jumpMax
			n.clockOffset += d
			w.note("%s clock jumps %dms", n.name, d/ms)
		})
	}
	if w.cfg.Liveness {
		w.sched.at(f.healedAt, w.heal)
	}
}

// maybeCrashAfterCampaign crashes n soon after it started a campaign, as
// the run's profile says (targeted: the moments around a new leader's first
// writes are where durability and ballot bugs show).
func (w *world) maybeCrashAfterCampaign(n *node) {
	f := &w.f
	if f.campaignCrash == 0 || w.healed || w.rnd.Float64() >= f.campaignCrash {
		return
	}
	inc := n.incarnation
	w.sched.after(w.rnd.Int64N(f.campaignCrashMax), func() {
		if n.incarnation != inc || !n.up || w.healed {
			return
		}
		w.res.Crashes++
		n.crash()
		w.sched.after(1+w.rnd.Int64N(f.downMax+100*ms), func() {
			if !n.up {
				n.start()
			}
		})
	})
}

// loop runs fn at random intervals averaging every, until the run heals.
func (w *world) loop(every int64, fn func()) {
	var tick func()
	tick = func() {
		if w.healed {
			return
		}
		fn()
		w.sched.after(1+w.rnd.Int64N(2*every), tick)
	}
	w.sched.after(1+w.rnd.Int64N(2*every), tick)
}

// partition cuts links: a symmetric split into two sides, or some links in
// one direction only.
func (w *world) partition() {
	w.cut = map[[2]int]bool{}
	n := len(w.nodes)
	if w.rnd.Float64() < w.f.oneWayShare {
		for k := w.rnd.IntN(n) + 1; k > 0; k-- {
			a, b := w.rnd.IntN(n), w.rnd.IntN(n)
			if a != b {
				w.cut[[2]int{a, b}] = true
			}
		}
		w.note("one-way cuts %v", w.cut)
		return
	}
	side := make([]bool, n)
	for i := range side {
		side[i] = w.rnd.IntN(2) == 0
	}
	for a := 0; a < n; a++ {
		for b := 0; b < n; b++ {
			if side[a] != side[b] {
				w.cut[[2]int{a, b}] = true
			}
		}
	}
	w.note("split %v", side)
}

// heal ends every fault: from here on a stable cluster must finish every
// proposal and converge.
func (w *world) heal() {
	w.healed = true
	w.f.heal()
	w.cut = map[[2]int]bool{}
	for _, n := range w.nodes {
		if !n.up {
			n.start()
		} else if n.paused {
			n.resume()
		}
	}
	w.note("healed")
}
