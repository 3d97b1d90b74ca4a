package main

import (
	"cmp"
	"slices"

	"github.com/mjpitz/myago/paxos/bench/consensus"
)

// point is one cell of the matrix.
type point struct {
	Members    int
	Clients    int
	ValueBytes int
	Durable    bool
}

func pointOf(r consensus.Result) point {
	return point{Members: r.Members, Clients: r.Clients, ValueBytes: r.ValueBytes, Durable: r.Durable}
}

// comparePoints orders durable first, then by members, value size, clients.
func comparePoints(a, b point) int {
	if a.Durable != b.Durable {
		if a.Durable {
			return -1
		}
		return 1
	}
	return cmp.Or(
		cmp.Compare(a.Members, b.Members),
		cmp.Compare(a.ValueBytes, b.ValueBytes),
		cmp.Compare(a.Clients, b.Clients),
	)
}

// pairKey identifies one repetition of one benchmark run: results sharing it
// ran back to back and are compared as pairs.
type pairKey struct {
	Run string
	Rep int
}

// cell is every result of one system at one point.
type cell struct {
	System  string
	Point   point
	Results []consensus.Result
}

// summary is a cell's medians.
type summary struct {
	N              int
	OpsPerSec      float64
	P50Micros      float64
	P90Micros      float64
	P99Micros      float64
	CPUMicrosPerOp float64
	Errors         float64
}

func (c cell) summary() summary {
	pick := func(f func(consensus.Result) float64) float64 {
		v := make([]float64, len(c.Results))
		for i, r := range c.Results {
			v[i] = f(r)
		}
		return median(v)
	}
	return summary{
		N:              len(c.Results),
		OpsPerSec:      pick(func(r consensus.Result) float64 { return r.OpsPerSec }),
		P50Micros:      pick(func(r consensus.Result) float64 { return r.P50Micros }),
		P90Micros:      pick(func(r consensus.Result) float64 { return r.P90Micros }),
		P99Micros:      pick(func(r consensus.Result) float64 { return r.P99Micros }),
		CPUMicrosPerOp: pick(func(r consensus.Result) float64 { return r.CPUMicrosPerOp }),
		Errors:         pick(func(r consensus.Result) float64 { return float64(r.Errors) }),
	}
}

// ratio is the median over paired repetitions of system/baseline.
type ratio struct {
	N         int // pairs
	OpsPerSec float64
	P99Micros float64
}

// pairedRatio pairs c's results with base's by run and repetition.
func pairedRatio(c, base cell) ratio {
	byKey := make(map[pairKey]consensus.Result)
	for _, r := range base.Results {
		byKey[pairKey{r.Run, r.Rep}] = r
	}
	var ops, p99 []float64
	for _, r := range c.Results {
		b, ok := byKey[pairKey{r.Run, r.Rep}]
		if !ok || b.OpsPerSec <= 0 || b.P99Micros <= 0 {
			continue
		}
		ops = append(ops, r.OpsPerSec/b.OpsPerSec)
		p99 = append(p99, r.P99Micros/b.P99Micros)
	}
	return ratio{N: len(ops), OpsPerSec: median(ops), P99Micros: median(p99)}
}

// median returns the middle of v (the mean of the two middles for an even
// count), or 0 for none. It sorts v.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	if n := len(v); n%2 == 1 {
		return v[n/2]
	} else {
		return (v[n/2-1] + v[n/2]) / 2
	}
}

// table holds every cell, indexed by system and point.
type table struct {
	cells map[string]map[point]*cell
}

func newTable(results []consensus.Result) *table {
	t := &table{cells: make(map[string]map[point]*cell)}
	for _, r := range results {
		byPoint, ok := t.cells[r.System]
		if !ok {
			byPoint = make(map[point]*cell)
			t.cells[r.System] = byPoint
		}
		p := pointOf(r)
		c, ok := byPoint[p]
		if !ok {
			c = &cell{System: r.System, Point: p}
			byPoint[p] = c
		}
		c.Results = append(c.Results, r)
	}
	return t
}

func (t *table) cell(system string, p point) (cell, bool) {
	c, ok := t.cells[system][p]
	if !ok {
		return cell{}, false
	}
	return *c, true
}

// systems returns the systems present, in consensus.Names order, then any
// others by name.
func (t *table) systems(keep func(string) bool) []string {
	var out []string
	for _, name := range consensus.Names() {
		if _, ok := t.cells[name]; ok && keep(name) {
			out = append(out, name)
		}
	}
	var rest []string
	for name := range t.cells {
		if !slices.Contains(consensus.Names(), name) && keep(name) {
			rest = append(rest, name)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}

// points returns the points any of systems has, ordered.
func (t *table) points(systems []string) []point {
	seen := make(map[point]bool)
	var out []point
	for _, s := range systems {
		for p := range t.cells[s] {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	slices.SortFunc(out, comparePoints)
	return out
}

func isFloor(system string) bool {
	return system == consensus.NameFloorFsync || system == consensus.NameFloorDirect || system == consensus.NameFloorRTT
}

// each calls fn for every cell of systems, by point, then in systems' order.
func (t *table) each(systems []string, fn func(point, cell)) {
	for _, p := range t.points(systems) {
		for _, s := range systems {
			if c, ok := t.cell(s, p); ok {
				fn(p, c)
			}
		}
	}
}
