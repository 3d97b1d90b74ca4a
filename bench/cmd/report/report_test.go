package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mjpitz/myago/paxos/bench/consensus"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{3, 1}, 2},
		{[]float64{5, 1, 3}, 3},
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func result(system string, rep int, ops, p99 float64) consensus.Result {
	return consensus.Result{
		System: system, Members: 3, Clients: 64, ValueBytes: 128, Durable: true,
		Run: "r", Rep: rep, OpsPerSec: ops, P50Micros: p99 / 2, P99Micros: p99,
	}
}

func TestPairedRatioPairsByRepetition(t *testing.T) {
	tb := newTable([]consensus.Result{
		result("paxos", 1, 200, 10), result("etcd-raft", 1, 100, 20),
		result("paxos", 2, 300, 10), result("etcd-raft", 2, 100, 40),
		// Unpaired: no etcd-raft result in repetition 3.
		result("paxos", 3, 1e9, 1),
	})
	p := point{Members: 3, Clients: 64, ValueBytes: 128, Durable: true}
	c, _ := tb.cell("paxos", p)
	base, _ := tb.cell("etcd-raft", p)
	r := pairedRatio(c, base)
	if r.N != 2 || r.OpsPerSec != 2.5 || r.P99Micros != 0.375 {
		t.Fatalf("pairedRatio = %+v, want 2 pairs, ops 2.5, p99 0.375", r)
	}
}

func TestRunWritesReportAndPlots(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "run.jsonl")
	var lines []string
	for rep := 1; rep <= 3; rep++ {
		for _, clients := range []int{1, 64} {
			for _, sys := range []string{"etcd-raft", "hashicorp-raft"} {
				r := result(sys, rep, float64(1000*clients*rep), 500)
				r.Clients = clients
				b, err := json.Marshal(r)
				if err != nil {
					t.Fatal(err)
				}
				lines = append(lines, string(b))
			}
		}
	}
	floor := consensus.Result{System: "floor-rtt", Members: 1, Clients: 1, ValueBytes: 128, Rep: 1, P50Micros: 18, P99Micros: 40}
	b, _ := json.Marshal(floor)
	lines = append(lines, string(b), "")
	if err := os.WriteFile(in, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if err := run([]string{"-out", out, in}, os.Stderr); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| true | 3 | 128 | 64 | hashicorp-raft | 3 | 128000 |",
		"| floor-rtt | 128 | 1 | 1 | 18 |",
		"throughput-m3-v128-durable.png",
	} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	for _, name := range []string{"throughput-m3-v128-durable.png", "p99-m3-v128-durable.png"} {
		if st, err := os.Stat(filepath.Join(out, name)); err != nil || st.Size() == 0 {
			t.Errorf("plot %s: %v", name, err)
		}
	}
}

// TestBaselinesAreThoseInTheResults: the ratio columns follow the baselines
// the results hold, so an in-process run is compared with hashicorp/raft's
// in-memory cluster and a TCP run has no empty in-memory columns.
func TestBaselinesAreThoseInTheResults(t *testing.T) {
	for _, tc := range []struct {
		systems    []string
		want, lack []string
	}{
		{[]string{"paxos", "etcd-raft", "hashicorp-raft"},
			[]string{"ops ×etcd-raft", "ops ×hashicorp-raft"}, []string{"ops ×hashicorp-raft-inmem"}},
		{[]string{"paxos-inprocess", "hashicorp-raft-inmem"},
			[]string{"ops ×hashicorp-raft-inmem", "| false | 3 | 128 | 64 | paxos-inprocess | 1 | 200 | 0.01 | 0.01 | 0.0 | 0 | 2.00 | 0.50 |"},
			[]string{"ops ×etcd-raft", "ops ×hashicorp-raft |"}},
	} {
		var rs []consensus.Result
		for _, sys := range tc.systems {
			r := result(sys, 1, 100, 20)
			if strings.HasPrefix(sys, "paxos") {
				r = result(sys, 1, 200, 10)
			}
			r.Durable = false
			rs = append(rs, r)
		}
		var md strings.Builder
		if err := writeMarkdown(&md, newTable(rs), nil); err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(md.String(), w) {
				t.Errorf("%v: report lacks %q:\n%s", tc.systems, w, md.String())
			}
		}
		for _, l := range tc.lack {
			if strings.Contains(md.String(), l) {
				t.Errorf("%v: report has %q:\n%s", tc.systems, l, md.String())
			}
		}
	}
}

func TestRunRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(bad, []byte("{not json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"-out", dir, bad}, os.Stderr); err == nil || !strings.Contains(err.Error(), "bad.jsonl:1") {
		t.Fatalf("run on bad JSON = %v, want an error naming bad.jsonl:1", err)
	}
	if err := run([]string{"-out", dir}, os.Stderr); err == nil {
		t.Fatal("run without inputs succeeded")
	}
}
