package sim

import "math/rand/v2"

// faults is one run's fault profile, drawn from its seed.
type faults struct {
	dropRate    float64 // per message
	dupRate     float64
	delayMin    int64 // ns
	delayJitter int64
	tailRate    float64 // share of messages with a long delay
	tailMax     int64
	syncMin     int64
	syncJitter  int64
	slowSync    float64 // share of syncs that take long
	slowSyncMax int64

	crashEvery  int64 // mean time between crashes (0: none)
	downMax     int64 // longest a crashed member stays down
	pauseEvery  int64
	pauseMax    int64
	splitEvery  int64 // mean time between partition changes
	splitMax    int64
	jumpEvery   int64 // mean time between clock jumps
	jumpMax     int64
	oneWayShare float64 // share of partitions that cut one direction only
	healedAt    int64   // liveness mode: no faults from here on

	// noForward: members cannot forward commands to the leader (forwarding
	// is an optional optimisation, contract §2.8), so every member with a
	// command takes over itself: constant leader changes, duels, and slots
	// left half-accepted by the leader that lost.
	noForward bool
	// campaignCrash is the share of campaigns after which the member
	// crashes within campaignCrashMax: a new leader dying during its phase 1
	// or between its first accepts and their replies, often before its own
	// promise is durable.
	campaignCrash    float64
	campaignCrashMax int64
	// observeLagMax delays the live part of Observe streams (a slow
	// stream): learners, and so the acceptors they tell what is chosen,
	// hear of accepts late.
	observeLagMax int64
}

const (
	ms = int64(1e6)
	s  = int64(1e9)
)

func drawFaults(r *rand.Rand) faults {
	f := faults{
		dropRate:    r.Float64() * 0.15,
		dupRate:     r.Float64() * 0.05,
		delayMin:    50_000 + r.Int64N(ms),
		delayJitter: 1 + r.Int64N(2*ms),
		tailRate:    r.Float64() * 0.03,
		tailMax:     50*ms + r.Int64N(2*s),
		syncMin:     20_000 + r.Int64N(ms),
		syncJitter:  1 + r.Int64N(ms),
		slowSync:    r.Float64() * 0.02,
		slowSyncMax: 1 + r.Int64N(200*ms),
		oneWayShare: r.Float64() * 0.5,
	}
	// Not every run gets every fault: some runs isolate one kind.
	if r.IntN(4) != 0 {
		f.crashEvery = 300*ms + r.Int64N(3*s)
		f.downMax = 10*ms + r.Int64N(3*s)
	}
	if r.IntN(3) != 0 {
		f.pauseEvery = 300*ms + r.Int64N(3*s)
		f.pauseMax = 10*ms + r.Int64N(2*s)
	}
	if r.IntN(3) != 0 {
		f.splitEvery = 200*ms + r.Int64N(3*s)
		f.splitMax = 10*ms + r.Int64N(3*s)
	}
	if r.IntN(3) == 0 {
		f.jumpEvery = 500*ms + r.Int64N(5*s)
		f.jumpMax = 1 + r.Int64N(3*s)
	}
	f.noForward = r.IntN(2) == 0
	if r.IntN(4) != 0 {
		f.observeLagMax = 1 + r.Int64N(300*ms)
	}
	if r.IntN(4) == 0 {
		f.campaignCrash = 0.05 + r.Float64()*0.25
		f.campaignCrashMax = 1 + r.Int64N(5*ms)
	}
	return f
}

func (f *faults) heal() {
	f.dropRate, f.dupRate, f.tailRate, f.slowSync = 0, 0, 0, 0
	f.crashEvery, f.pauseEvery, f.splitEvery, f.jumpEvery = 0, 0, 0, 0
	f.campaignCrash, f.observeLagMax = 0, 0
}
