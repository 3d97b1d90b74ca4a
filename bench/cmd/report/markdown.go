package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/mjpitz/myago/paxos/bench/consensus"
)

// baselineCandidates are the systems every other one is compared with, in
// the columns' order, when the results hold them: the raft libraries over
// TCP and, for the in-process runs, hashicorp/raft over its InmemTransport.
var baselineCandidates = []string{consensus.NameEtcdRaft, consensus.NameHashicorpRaft, consensus.NameHashicorpRaftInmem}

// writeMarkdown writes the medians table, the paired ratios and the floors.
func writeMarkdown(w io.Writer, t *table, plots []string) error {
	var b strings.Builder
	systems := t.systems(func(s string) bool { return !isFloor(s) })
	baselines := t.systems(func(s string) bool { return slices.Contains(baselineCandidates, s) })
	b.WriteString("## Consensus systems (medians)\n\n")
	b.WriteString("Ratios are medians of per-repetition ratios against the baseline run in the same repetition (throughput: higher is better; p99: lower is better).\n\n")
	b.WriteString("| durable | members | value B | clients | system | n | ops/s | p50 ms | p99 ms | CPU µs/op | errors |")
	for _, base := range baselines {
		fmt.Fprintf(&b, " ops ×%s | p99 ×%s |", base, base)
	}
	b.WriteString("\n|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|")
	b.WriteString(strings.Repeat("---:|---:|", len(baselines)))
	b.WriteString("\n")
	t.each(systems, func(p point, c cell) {
		sum := c.summary()
		fmt.Fprintf(&b, "| %v | %d | %d | %d | %s | %d | %.0f | %.2f | %.2f | %.1f | %.0f |",
			p.Durable, p.Members, p.ValueBytes, p.Clients, c.System, sum.N,
			sum.OpsPerSec, sum.P50Micros/1000, sum.P99Micros/1000, sum.CPUMicrosPerOp, sum.Errors)
		for _, base := range baselines {
			bc, ok := t.cell(base, p)
			if !ok || base == c.System {
				b.WriteString(" | |")
				continue
			}
			r := pairedRatio(c, bc)
			if r.N == 0 {
				b.WriteString(" | |")
				continue
			}
			fmt.Fprintf(&b, " %.2f | %.2f |", r.OpsPerSec, r.P99Micros)
		}
		b.WriteString("\n")
	})

	floors := t.systems(isFloor)
	if len(floors) > 0 {
		b.WriteString("\n## Physical floor (medians)\n\n")
		b.WriteString("| floor | value B | clients | n | p50 µs | p90 µs | p99 µs | ops/s |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
		t.each(floors, func(p point, c cell) {
			sum := c.summary()
			fmt.Fprintf(&b, "| %s | %d | %d | %d | %.0f | %.0f | %.0f | %.0f |\n",
				c.System, p.ValueBytes, p.Clients, sum.N, sum.P50Micros, sum.P90Micros, sum.P99Micros, sum.OpsPerSec)
		})
	}

	if len(plots) > 0 {
		b.WriteString("\n## Plots\n\n")
		for _, p := range plots {
			fmt.Fprintf(&b, "![%s](%s)\n", strings.TrimSuffix(p, ".png"), p)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
