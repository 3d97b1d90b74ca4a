package main

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// group is the set of points one figure shows: clients vary along x.
type group struct {
	Members    int
	ValueBytes int
	Durable    bool
}

func (g group) String() string {
	mode := "memory"
	if g.Durable {
		mode = "durable"
	}
	return fmt.Sprintf("m%d-v%d-%s", g.Members, g.ValueBytes, mode)
}

// writePlots writes a throughput and a p99 figure per group into dir and
// returns their file names.
func writePlots(dir string, t *table) ([]string, error) {
	systems := t.systems(func(s string) bool { return !isFloor(s) })
	groups := make(map[group]bool)
	for _, p := range t.points(systems) {
		groups[group{p.Members, p.ValueBytes, p.Durable}] = true
	}
	ordered := make([]group, 0, len(groups))
	for g := range groups {
		ordered = append(ordered, g)
	}
	slices.SortFunc(ordered, func(a, b group) int {
		return comparePoints(point{Members: a.Members, ValueBytes: a.ValueBytes, Durable: a.Durable},
			point{Members: b.Members, ValueBytes: b.ValueBytes, Durable: b.Durable})
	})

	var files []string
	for _, g := range ordered {
		for _, m := range []struct {
			name, label string
			value       func(summary) float64
		}{
			{"throughput", "commits/s", func(s summary) float64 { return s.OpsPerSec }},
			{"p99", "p99 latency (ms)", func(s summary) float64 { return s.P99Micros / 1000 }},
		} {
			name := fmt.Sprintf("%s-%s.png", m.name, g)
			if err := plotGroup(filepath.Join(dir, name), t, systems, g, m.label, m.value); err != nil {
				return files, fmt.Errorf("plot %s: %w", name, err)
			}
			files = append(files, name)
		}
	}
	return files, nil
}

func plotGroup(path string, t *table, systems []string, g group, label string, value func(summary) float64) error {
	p := plot.New()
	mode := "in memory"
	if g.Durable {
		mode = "durable"
	}
	p.Title.Text = fmt.Sprintf("%d members, %d-byte values, %s", g.Members, g.ValueBytes, mode)
	p.X.Label.Text = "closed-loop clients"
	p.Y.Label.Text = label
	// Clients grow geometrically (1, 16, 64, 256).
	p.X.Scale = plot.LogScale{}
	p.Y.Min = 0
	p.Legend.Top = true
	p.Legend.Left = true

	var (
		lines   []any
		ticks   plot.ConstantTicks
		clients = make(map[int]bool)
	)
	for _, s := range systems {
		var xys plotter.XYs
		for pt, c := range t.cells[s] {
			if pt.Members != g.Members || pt.ValueBytes != g.ValueBytes || pt.Durable != g.Durable {
				continue
			}
			xys = append(xys, plotter.XY{X: float64(pt.Clients), Y: value(c.summary())})
			if !clients[pt.Clients] {
				clients[pt.Clients] = true
				ticks = append(ticks, plot.Tick{Value: float64(pt.Clients), Label: strconv.Itoa(pt.Clients)})
			}
		}
		if len(xys) == 0 {
			continue
		}
		slices.SortFunc(xys, func(a, b plotter.XY) int { return cmp.Compare(a.X, b.X) })
		lines = append(lines, s, xys)
	}
	if err := plotutil.AddLinePoints(p, lines...); err != nil {
		return err
	}
	// Tick exactly the client counts measured, with some room either side
	// so the end points are not on the frame.
	p.X.Tick.Marker = ticks
	p.X.Min /= 1.5
	p.X.Max *= 1.5
	return p.Save(6*vg.Inch, 4*vg.Inch, path)
}
