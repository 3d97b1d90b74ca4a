package sim

import (
	"flag"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// defaultOps is -ops's default: the proposals of one run.
const defaultOps = 200

var (
	seedFlag  = flag.Uint64("seed", 0, "replay only this seed (with its trace on failure)")
	seedsFlag = flag.Int("seeds", 0, "how many seeds TestSimulation runs (default 200; 50 under -race; 40 with -short)")
	firstFlag = flag.Uint64("first", 1, "the first seed TestSimulation runs")
	opsFlag   = flag.Int("ops", defaultOps, "proposals per run")
	traceFlag = flag.Bool("simtrace", false, "print the trace of a -seed run")
)

// configFor derives a run from its seed: members alternate 3 and 5, and
// half the seeds run in liveness mode.
func configFor(seed uint64) Config {
	nodes := 3
	if seed%2 == 1 {
		nodes = 5
	}
	return Config{Seed: seed, Nodes: nodes, Clients: 8, Ops: *opsFlag, Liveness: (seed/2)%2 == 1}
}

func TestSimulation(t *testing.T) {
	if *seedFlag != 0 {
		cfg := configFor(*seedFlag)
		cfg.Trace = *traceFlag
		r := Run(cfg)
		t.Logf("%s", summary(r))
		if r.Violation != "" {
			if *traceFlag {
				t.Logf("trace:\n%s", strings.Join(r.Trace, "\n"))
			}
			t.Fatalf("seed %d: %s", r.Seed, r.Violation)
		}
		return
	}
	n := *seedsFlag
	if n == 0 {
		n = 200
		if raceEnabled {
			n = 50
		}
		if testing.Short() {
			n = 40
		}
	}
	start := time.Now()
	var (
		mu       sync.Mutex
		failures []Result
		totals   Result
	)
	seeds := make(chan uint64)
	var wg sync.WaitGroup
	for i := 0; i < runtime.GOMAXPROCS(0); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seed := range seeds {
				r := Run(configFor(seed))
				mu.Lock()
				if r.Violation != "" {
					failures = append(failures, r)
				}
				totals.Ops += r.Ops
				totals.OK += r.OK
				totals.Unknown += r.Unknown
				totals.Positions += r.Positions
				totals.Crashes += r.Crashes
				totals.Pauses += r.Pauses
				totals.Partitions += r.Partitions
				totals.Messages += r.Messages
				mu.Unlock()
			}
		}()
	}
	for seed := *firstFlag; seed < *firstFlag+uint64(n); seed++ {
		seeds <- seed
	}
	close(seeds)
	wg.Wait()
	t.Logf("%d seeds in %v: %d proposals (%d ok, %d unknown), %d positions, %d crashes, %d pauses, %d partitions, %d messages",
		n, time.Since(start).Round(time.Millisecond), totals.Ops, totals.OK, totals.Unknown, totals.Positions,
		totals.Crashes, totals.Pauses, totals.Partitions, totals.Messages)
	// Report the lowest seeds first: the order workers finish in varies.
	sort.Slice(failures, func(i, j int) bool { return failures[i].Seed < failures[j].Seed })
	if len(failures) > 0 {
		t.Errorf("%d of %d seeds failed; the first is %d", len(failures), n, failures[0].Seed)
	}
	for i, r := range failures {
		if i == 10 {
			t.Errorf("... and %d more failing seeds", len(failures)-10)
			break
		}
		ops := "" // a run depends on its length: replay with the same -ops
		if *opsFlag != defaultOps {
			ops = fmt.Sprintf(" -ops=%d", *opsFlag)
		}
		t.Errorf("seed %d (%d members, liveness=%v): %s\n\treplay: go test ./internal/sim -run 'TestSimulation$' -seed=%d%s -simtrace",
			r.Seed, r.Nodes, r.Liveness, r.Violation, r.Seed, ops)
	}
}

// TestSimulationDeterminism runs a sample of seeds twice: the same seed must
// give the same run, event for event.
func TestSimulationDeterminism(t *testing.T) {
	for seed := uint64(1); seed <= 10; seed++ {
		a, b := Run(configFor(seed)), Run(configFor(seed))
		if a.TraceHash != b.TraceHash || a.Messages != b.Messages {
			t.Errorf("seed %d is not deterministic: trace %x/%x, messages %d/%d", seed, a.TraceHash, b.TraceHash, a.Messages, b.Messages)
		}
	}
}

func summary(r Result) string {
	return fmt.Sprintf("seed %d: %d members, liveness=%v, %d ops (%d ok, %d unknown, %d failed), %d positions, %d crashes, %d pauses, %d partitions, %d msgs (%d dropped), %.1fs virtual",
		r.Seed, r.Nodes, r.Liveness, r.Ops, r.OK, r.Unknown, r.Failed, r.Positions, r.Crashes, r.Pauses, r.Partitions, r.Messages, r.Dropped, float64(r.VirtualNs)/1e9)
}
