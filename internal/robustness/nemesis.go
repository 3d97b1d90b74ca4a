//go:build unix

package robustness

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"syscall"
	"time"
)

// Fault kinds.
const (
	faultKill      = "kill"                // SIGKILL, restart over the data directory later
	faultPause     = "pause"               // SIGSTOP, SIGCONT later
	faultCut       = "partition-cut"       // links reset and refused
	faultBlackhole = "partition-blackhole" // links hold every byte
	faultDelay     = "partition-delay"     // links delay every byte
	// faultOneWay blackholes only the connections the members open to the
	// others: they cannot call out, though the others can call them.
	faultOneWay = "partition-oneway"
	// faultBridge splits the members into two pairs that only the fifth
	// member connects (Jepsen's bridge): two majorities that overlap in one
	// member.
	faultBridge = "partition-bridge"
	// faultRing connects each member only to its two neighbours on a ring:
	// every member sees a majority, no two see the same one.
	faultRing = "partition-ring"
)

var faultKinds = []string{faultKill, faultPause, faultCut, faultBlackhole, faultDelay, faultOneWay, faultBridge, faultRing}

// fault is one fault the nemesis injected. Times are since the start of the
// run: Start once the fault is in place, End once it is healed.
type fault struct {
	Kind     string        `json:"kind"`
	Members  []int         `json:"members"` // 0-based
	Leader   bool          `json:"leader"`  // the members included the leader
	Majority bool          `json:"majority"`
	Delay    time.Duration `json:"delay,omitempty"`
	Detail   string        `json:"detail,omitempty"`
	Start    time.Duration `json:"start"`
	End      time.Duration `json:"end"`
}

// ref is when recovery is measured from: the injection for a kill or pause
// of the leader (the cluster must replace it while it is down), the heal
// otherwise.
func (f fault) ref() time.Duration {
	if f.Leader && !f.Majority && (f.Kind == faultKill || f.Kind == faultPause) {
		return f.Start
	}
	return f.End
}

func (f fault) String() string {
	s := fmt.Sprintf("%s of members %v", f.Kind, plusOne(f.Members))
	if f.Leader {
		s += " (leader)"
	}
	if f.Delay > 0 {
		s += fmt.Sprintf(" by %v", f.Delay.Round(time.Millisecond))
	}
	if f.Detail != "" {
		s += " (" + f.Detail + ")"
	}
	return s + fmt.Sprintf(" [%v, %v]", f.Start.Round(time.Millisecond), f.End.Round(time.Millisecond))
}

// nemesis injects faults into a cluster.
type nemesis struct {
	c     *cluster
	rng   *rand.Rand
	start time.Time
	// gap and hold bound the pause between faults and a fault's length.
	gapMin, gapMax, holdMin, holdMax time.Duration
	// kinds are the faults runMinority draws from (default faultKinds).
	kinds []string
}

func (n *nemesis) since() time.Duration { return time.Since(n.start) }

func (n *nemesis) between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(n.rng.Int64N(int64(hi-lo)+1))
}

// sleep waits d or until ctx ends; false if ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// runMinority injects one fault at a time until ctx ends, each on one or
// two of the five members (a minority: a majority always stays up and
// connected), half of the time including the leader. It returns the faults
// injected and the first error healing one (a member that does not come
// back is a finding, not a test bug).
func (n *nemesis) runMinority(ctx context.Context) ([]fault, error) {
	var faults []fault
	for sleep(ctx, n.between(n.gapMin, n.gapMax)) {
		kinds := n.kinds
		if len(kinds) == 0 {
			kinds = faultKinds
		}
		kind := kinds[n.rng.IntN(len(kinds))]
		size := 1 + n.rng.IntN((len(n.c.procs)-1)/2)
		targets, leader := n.pick(ctx, size)
		f, err := n.inject(ctx, kind, targets, leader, false)
		if err != nil {
			return faults, err
		}
		sleep(ctx, n.between(n.holdMin, n.holdMax)) // heal even if ctx ended
		if err := n.heal(context.WithoutCancel(ctx), &f); err != nil {
			return append(faults, f), err
		}
		faults = append(faults, f)
	}
	return faults, nil
}

// pick chooses size members, the leader among them half of the time.
func (n *nemesis) pick(ctx context.Context, size int) ([]int, bool) {
	all := n.rng.Perm(len(n.c.procs))
	leader := -1
	if n.rng.IntN(2) == 0 {
		leader = n.c.leader(ctx)
	}
	if leader >= 0 {
		i := slices.Index(all, leader)
		all[0], all[i] = all[i], all[0]
	}
	targets := slices.Clone(all[:size])
	slices.Sort(targets)
	if leader < 0 {
		// Say whether chance picked the leader anyway.
		if l := n.c.leader(ctx); l >= 0 && slices.Contains(targets, l) {
			leader = l
		}
	}
	return targets, leader >= 0
}

// inject puts a fault in place on targets.
func (n *nemesis) inject(ctx context.Context, kind string, targets []int, leader, majority bool) (fault, error) {
	f := fault{Kind: kind, Members: targets, Leader: leader, Majority: majority}
	var others []int
	for i := range n.c.procs {
		if !slices.Contains(targets, i) {
			others = append(others, i)
		}
	}
	var err error
	switch kind {
	case faultKill:
		for _, i := range targets {
			err = errors.Join(err, n.c.kill(n.c.procs[i]))
		}
	case faultPause:
		for _, i := range targets {
			err = errors.Join(err, n.c.procs[i].signal(syscall.SIGSTOP))
		}
	case faultCut, faultBlackhole:
		mode := cut
		if kind == faultBlackhole {
			mode = blackhole
		}
		if majority {
			// Every target alone: no side keeps a majority.
			for _, i := range targets {
				n.c.setLinks([]int{i}, allMembers(len(n.c.procs)), mode, 0)
			}
		} else {
			n.c.setLinks(targets, others, mode, 0)
		}
	case faultDelay:
		f.Delay = n.between(50*time.Millisecond, 500*time.Millisecond)
		n.c.setLinks(targets, others, pass, f.Delay)
	case faultOneWay:
		for _, i := range targets {
			for _, j := range others {
				n.c.proxies[i][j].set(blackhole, 0)
			}
		}
	case faultBridge, faultRing:
		mode := []linkMode{cut, blackhole}[n.rng.IntN(2)]
		order := n.rng.Perm(len(n.c.procs))
		if kind == faultBridge {
			a, b := order[:2], order[3:]
			n.c.setLinks(a, b, mode, 0)
			f.Leader = false // every member keeps a majority
			f.Members = append(slices.Clone(a), b...)
			slices.Sort(f.Members)
			f.Detail = fmt.Sprintf("%s, %v and %v bridged by %d", mode, plusOne(a), plusOne(b), order[2]+1)
		} else {
			// Cut each member from the two that are not its neighbours.
			for k, i := range order {
				n.c.setLinks([]int{i}, []int{order[(k+2)%len(order)]}, mode, 0)
			}
			f.Leader = false
			f.Members = allMembers(len(n.c.procs))
			f.Detail = fmt.Sprintf("%s, ring %v", mode, plusOne(order))
		}
	}
	f.Start = n.since()
	return f, err
}

// plusOne numbers members from 1, as the logs and the report do.
func plusOne(ms []int) []int {
	out := make([]int, len(ms))
	for i, m := range ms {
		out[i] = m + 1
	}
	return out
}

func allMembers(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// heal undoes f and stamps its end.
func (n *nemesis) heal(ctx context.Context, f *fault) error {
	f.End = n.since()
	var err error
	switch f.Kind {
	case faultKill:
		for _, i := range f.Members {
			if e := n.c.restart(ctx, n.c.procs[i]); e != nil {
				err = errors.Join(err, fmt.Errorf("restarting after %v: %w", f, e))
			}
		}
	case faultPause:
		for _, i := range f.Members {
			err = errors.Join(err, n.c.procs[i].signal(syscall.SIGCONT))
		}
	default:
		n.c.healLinks()
	}
	return err
}

// majorityFaults are the faults the majority-loss run takes the majority
// away with, in order: three of the five members cut, blackholed, paused,
// killed, then the whole cluster killed (every acknowledged write must
// survive it).
var majorityFaults = []struct {
	kind string
	all  bool
}{{faultCut, false}, {faultBlackhole, false}, {faultPause, false}, {faultKill, false}, {faultKill, true}}

// runMajority injects each of majorityFaults, holds it for hold, heals,
// and waits until a write is acknowledged again before the next. Probe writes go into probes (unique values, client id probeID).
func (n *nemesis) runMajority(ctx context.Context, hold time.Duration, probeID int, probeTimeout time.Duration) ([]fault, history, error) {
	var faults []fault
	var probes history
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	defer hc.CloseIdleConnections()
	seq := 0
	// probe writes until one is acknowledged, at most 60 s.
	probe := func() error {
		deadline := n.since() + 60*time.Second
		for n.since() < deadline {
			o := operation{Client: probeID, Member: n.rng.IntN(len(n.c.procs)), Kind: opPut,
				Key: "probe", Value: fmt.Sprintf("probe-%d", seq)}
			seq++
			o.Call = n.since()
			do(ctx, hc, n.c.procs[o.Member].http, probeTimeout, &o)
			o.Return = n.since()
			probes = append(probes, o)
			if o.Outcome == ok {
				return nil
			}
			if o.Outcome == failed {
				sleep(ctx, 50*time.Millisecond)
			}
		}
		return errors.New("no write was acknowledged within 60 s")
	}
	if err := probe(); err != nil {
		return nil, probes, fmt.Errorf("before any fault: %w", err)
	}
	for _, mf := range majorityFaults {
		if !sleep(ctx, time.Second) {
			break
		}
		targets := allMembers(len(n.c.procs))
		if !mf.all {
			targets = n.rng.Perm(len(n.c.procs))[:len(n.c.procs)/2+1]
			slices.Sort(targets)
		}
		l := n.c.leader(ctx)
		f, err := n.inject(ctx, mf.kind, targets, slices.Contains(targets, l), true)
		if err != nil {
			return faults, probes, err
		}
		sleep(ctx, hold)
		err = n.heal(context.WithoutCancel(ctx), &f)
		faults = append(faults, f)
		if err != nil {
			return faults, probes, err
		}
		if err := probe(); err != nil {
			return faults, probes, fmt.Errorf("after %v: %w", f, err)
		}
	}
	return faults, probes, nil
}
