//go:build unix

package robustness

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/require"
)

var (
	flagEnabled      = flag.Bool("robustness", false, "run the multi-process fault test (builds examples/kvstore and runs five members)")
	flagDuration     = flag.Duration("robustness.duration", 60*time.Second, "length of the minority-faults run (a soak test: 30m, with -timeout 0)")
	flagHold         = flag.Duration("robustness.majority-hold", 3*time.Second, "how long each loss of the majority lasts in the majority-loss run")
	flagOut          = flag.String("robustness.out", "", "directory for the artifacts, kept (default: a temporary directory, removed when every run passes)")
	flagClients      = flag.Int("robustness.clients", 8, "concurrent clients")
	flagKeys         = flag.Int("robustness.keys", 10, "keys the clients share")
	flagOpTimeout    = flag.Duration("robustness.op-timeout", 2*time.Second, "each client operation's deadline")
	flagSeed         = flag.Uint64("robustness.seed", 0, "seed of the clients' and the nemesis's choices (0: from the clock); timing still varies")
	flagCheckTimeout = flag.Duration("robustness.check-timeout", 5*time.Minute, "bound on the linearizability check (an unfinished check fails the run)")
	flagRace         = flag.Bool("robustness.race", false, "build the members with -race")
	flagFaults       = flag.String("robustness.faults", "", "comma-separated fault kinds for the minority-faults run (default all: "+strings.Join(faultKinds, ",")+")")
)

const clusterSize = 5

// TestRobustness runs the kvstore as five processes under faults and checks
// what its clients saw for linearizability and the members' logs for
// agreement and durability. Two runs: minority faults (kills, pauses and
// partitions of at most two members, for -robustness.duration), then
// majority loss (three members cut, blackholed, paused, then killed, one
// after the other).
func TestRobustness(t *testing.T) {
	if !*flagEnabled {
		t.Skip("the multi-process fault test runs with -robustness")
	}
	if d, ok := t.Deadline(); ok && time.Until(d) < *flagDuration+3*time.Minute {
		t.Fatalf("-robustness.duration=%v needs a longer -timeout (%v left)", *flagDuration, time.Until(d).Round(time.Second))
	}
	base, keep := *flagOut, *flagOut != ""
	if base == "" {
		var err error
		base, err = os.MkdirTemp("", "robustness-")
		require.NoError(t, err)
	}
	require.NoError(t, os.MkdirAll(base, 0o755))
	kinds := split(*flagFaults)
	for _, k := range kinds {
		if !slices.Contains(faultKinds, k) {
			t.Fatalf("-robustness.faults: unknown kind %q (kinds: %s)", k, strings.Join(faultKinds, ", "))
		}
	}
	seed := *flagSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (-robustness.seed); artifacts, kept if a run fails, in %s", seed, base)
	bin := buildKVStore(t, base)

	t.Run("minority-faults", func(t *testing.T) {
		runScenario(t, bin, filepath.Join(base, "minority-faults"), scenario{seed: seed, duration: *flagDuration, kinds: kinds})
	})
	t.Run("majority-loss", func(t *testing.T) {
		runScenario(t, bin, filepath.Join(base, "majority-loss"), scenario{seed: seed + 1, majority: true})
	})
	if t.Failed() || keep {
		t.Logf("artifacts kept in %s", base)
		return
	}
	_ = os.RemoveAll(base)
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func buildKVStore(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "kvstore")
	args := []string{"build", "-o", bin}
	if *flagRace {
		args = append(args, "-race")
	}
	start := time.Now()
	out, err := exec.Command("go", append(args, "github.com/mjpitz/myago/paxos/examples/kvstore")...).CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	t.Logf("built the kvstore in %v", time.Since(start).Round(time.Millisecond))
	return bin
}

type scenario struct {
	seed     uint64
	duration time.Duration // the minority-faults run
	majority bool          // the majority-loss run instead
	kinds    []string      // the minority faults to draw from (nil: all)
}

// runScenario runs one cluster, its clients and its nemesis, heals, and
// checks; failures leave the history, its visualization and the members'
// logs and data in dir.
func runScenario(t *testing.T, bin, dir string, sc scenario) {
	require.NoError(t, os.MkdirAll(dir, 0o755))
	ctx := context.Background()
	c, err := startCluster(ctx, bin, dir, clusterSize)
	require.NoError(t, err)
	defer c.close()

	start := time.Now()
	n := &nemesis{c: c, rng: rand.New(rand.NewPCG(sc.seed, 0x6e656d)), start: start,
		gapMin: 500 * time.Millisecond, gapMax: 2 * time.Second, holdMin: time.Second, holdMax: 3 * time.Second, kinds: sc.kinds}
	var addrs []string
	for _, p := range c.procs {
		addrs = append(addrs, p.http)
	}
	w := workload{clients: *flagClients, keys: *flagKeys, opTimeout: *flagOpTimeout, seed: sc.seed}
	clientsCtx, stopClients := context.WithCancel(ctx)
	defer stopClients()
	clientsDone := make(chan history, 1)
	go func() { clientsDone <- runClients(clientsCtx, w, addrs, start) }()
	samplesDone := make(chan []statusSample, 1)
	go func() { samplesDone <- sampleStatus(clientsCtx, c, n.since, 200*time.Millisecond) }()

	var faults []fault
	var probes history
	var nemesisErr error
	if sc.majority {
		faults, probes, nemesisErr = n.runMajority(ctx, *flagHold, w.clients, time.Second)
	} else {
		nctx, cancel := context.WithTimeout(ctx, sc.duration)
		faults, nemesisErr = n.runMinority(nctx)
		cancel()
	}
	sleep(ctx, 2*time.Second) // the clients see the last heal
	stopClients()
	h := <-clientsDone
	samples := <-samplesDone
	runEnd := n.since()

	var problems []string // liveness and harness failures; anomalies apart
	if nemesisErr != nil {
		problems = append(problems, fmt.Sprintf("nemesis: %v", nemesisErr))
	}
	if err := c.healAll(ctx); err != nil {
		problems = append(problems, fmt.Sprintf("healing: %v", err))
	}
	final, err := converge(ctx, c, n.since, w.clients+1, 60*time.Second)
	if err != nil {
		problems = append(problems, fmt.Sprintf("liveness: %v", err))
	}
	h = mergeHistories(h, probes, final)
	for _, p := range c.procs {
		if err := c.stopGracefully(p, 20*time.Second); err != nil {
			problems = append(problems, fmt.Sprintf("shutdown: %v", err))
		}
		crashes, err := crashReports(p.logPath)
		if err != nil {
			problems = append(problems, fmt.Sprintf("reading member %d's output: %v", p.id+1, err))
		}
		for _, r := range crashes {
			problems = append(problems, "crash report: "+r)
		}
	}
	var logs [][]recorded
	for _, p := range c.procs {
		l, err := readRecorded(p.dataDir)
		if err != nil {
			problems = append(problems, fmt.Sprintf("reading member %d's log: %v", p.id+1, err))
		}
		logs = append(logs, l)
	}

	anomalies := checkLogs(logs, h)
	anomalies = append(anomalies, checkMajorityWindows(h, faults)...)
	ops, pruned := porcupineHistory(h)
	checkStart := time.Now()
	res := porcupine.CheckOperationsTimeout(kvModel, ops, *flagCheckTimeout)
	checkTime := time.Since(checkStart)
	switch res {
	case porcupine.Illegal:
		anomalies = append(anomalies, "linearizability: porcupine found no linearization (see history.html)")
	case porcupine.Unknown:
		problems = append(problems, fmt.Sprintf("linearizability: the check did not finish within %v", *flagCheckTimeout))
	}

	t.Log("\n" + report(h, faults, logs, runEnd, res, len(ops), pruned, checkTime, anomalies, problems))
	failed := len(anomalies) > 0 || len(problems) > 0
	writeArtifacts(t, dir, h, faults, samples, ops, failed)
	if !failed {
		return
	}
	t.Errorf("%d anomalies, %d other problems; history, visualization and member logs in %s", len(anomalies), len(problems), dir)
}

// writeArtifacts keeps what a run needs to be diagnosed: the history, the
// faults, the members' statuses over time and, after a failure,
// porcupine's visualization.
func writeArtifacts(t *testing.T, dir string, h history, faults []fault, samples []statusSample, ops []porcupine.Operation, failed bool) {
	t.Helper()
	if err := writeJSONLines(filepath.Join(dir, "status.jsonl"), samples); err != nil {
		t.Logf("writing the statuses: %v", err)
	}
	if err := writeJSONLines(filepath.Join(dir, "history.jsonl"), h); err != nil {
		t.Logf("writing the history: %v", err)
	}
	if err := writeJSONLines(filepath.Join(dir, "faults.jsonl"), faults); err != nil {
		t.Logf("writing the faults: %v", err)
	}
	if !failed {
		return
	}
	if err := visualize(ops, faults, *flagCheckTimeout, filepath.Join(dir, "history.html")); err != nil {
		t.Logf("writing the visualization: %v", err)
	}
}

func writeJSONLines[T any](path string, items []T) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	for _, it := range items {
		if err := enc.Encode(it); err != nil {
			_ = f.Close()
			return err
		}
	}
	return f.Close()
}

// report is the run's summary for the test log.
func report(h history, faults []fault, logs [][]recorded, runEnd time.Duration, res porcupine.CheckResult,
	checked, pruned int, checkTime time.Duration, anomalies, problems []string) string {
	var b strings.Builder
	total := map[outcome]int{}
	counts := h.counts()
	for _, byOutcome := range counts {
		for o, n := range byOutcome {
			total[o] += n
		}
	}
	fmt.Fprintf(&b, "run: %v\n", runEnd.Round(time.Millisecond))
	fmt.Fprintf(&b, "operations: %d (ok %d, unknown %d, failed %d)\n", len(h), total[ok], total[unknown], total[failed])
	for _, k := range []opKind{opPut, opGet, opDelete} {
		fmt.Fprintf(&b, "  %-6v ok %d, unknown %d, failed %d\n", k, counts[k][ok], counts[k][unknown], counts[k][failed])
	}
	byKind := map[string]int{}
	for _, f := range faults {
		byKind[f.Kind]++
	}
	fmt.Fprintf(&b, "faults: %d", len(faults))
	for _, k := range faultKinds {
		if byKind[k] > 0 {
			fmt.Fprintf(&b, ", %s %d", k, byKind[k])
		}
	}
	b.WriteString("\nrecovery: to the first acknowledged write invoked after the heal (after the kill or pause for a leader);" +
		" gap: the longest time without an acknowledged write from the fault's start to then\n")
	worst, worstGap := map[string]time.Duration{}, map[string]time.Duration{}
	for _, r := range recoveries(h, faults, runEnd) {
		class := "partition heal"
		switch {
		case r.fault.Majority:
			class = "majority back"
		case r.fault.ref() == r.fault.Start:
			class = "leader kill/pause"
		case r.fault.Kind == faultKill || r.fault.Kind == faultPause:
			class = "follower kill/pause"
		}
		worst[class] = max(worst[class], r.after)
		worstGap[class] = max(worstGap[class], r.gap)
		if !r.found {
			fmt.Fprintf(&b, "  %v: no write acknowledged after it\n", r.fault)
			continue
		}
		fmt.Fprintf(&b, "  %v: recovery %v, gap %v\n", r.fault, r.after.Round(time.Millisecond), r.gap.Round(time.Millisecond))
	}
	for _, class := range []string{"leader kill/pause", "follower kill/pause", "partition heal", "majority back"} {
		if d, in := worst[class]; in {
			fmt.Fprintf(&b, "longest after a %s: recovery %v, gap %v\n", class, d.Round(time.Millisecond), worstGap[class].Round(time.Millisecond))
		}
	}
	gap, at := h.longestWriteGap(0, runEnd)
	fmt.Fprintf(&b, "longest time without an acknowledged write: %v from %v\n", gap.Round(time.Millisecond), at.Round(time.Millisecond))
	fmt.Fprintf(&b, "linearizability: %s (%d operations checked, %d unacknowledged puts nobody read left out), checked in %v\n",
		res, checked, pruned, checkTime.Round(time.Millisecond))
	var sizes []string
	for _, l := range logs {
		sizes = append(sizes, fmt.Sprint(len(l)))
	}
	fmt.Fprintf(&b, "recorded logs: %s positions\n", strings.Join(sizes, ", "))
	fmt.Fprintf(&b, "anomalies: %d\n", len(anomalies))
	const shown = 20
	for i, a := range anomalies {
		if i == shown {
			fmt.Fprintf(&b, "  ... %d more\n", len(anomalies)-shown)
			break
		}
		fmt.Fprintf(&b, "  %s\n", a)
	}
	for _, p := range problems {
		fmt.Fprintf(&b, "problem: %s\n", p)
	}
	return b.String()
}
