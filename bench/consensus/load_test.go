package consensus

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestPercentiles(t *testing.T) {
	for _, tc := range []struct {
		name               string
		lat                []time.Duration
		p50, p90, p99, max float64
	}{
		{"empty", nil, 0, 0, 0, 0},
		{"one", []time.Duration{7 * time.Microsecond}, 7, 7, 7, 7},
		{"two", []time.Duration{2 * time.Microsecond, time.Microsecond}, 1, 2, 2, 2},
		{"hundred", hundred(), 50, 90, 99, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r Result
			r.percentiles(tc.lat)
			got := [4]float64{r.P50Micros, r.P90Micros, r.P99Micros, r.MaxMicros}
			if want := [4]float64{tc.p50, tc.p90, tc.p99, tc.max}; got != want {
				t.Fatalf("p50/p90/p99/max = %v, want %v", got, want)
			}
		})
	}
}

// hundred returns 1..100 µs in reverse order.
func hundred() []time.Duration {
	lat := make([]time.Duration, 100)
	for i := range lat {
		lat[i] = time.Duration(100-i) * time.Microsecond
	}
	return lat
}

// fakeCluster commits instantly; every failEvery-th proposal fails.
type fakeCluster struct {
	size      int
	failEvery uint64
	n         atomic.Uint64
	badSize   atomic.Bool
}

func (f *fakeCluster) Propose(ctx context.Context, value []byte) error {
	if len(value) != f.size {
		f.badSize.Store(true)
	}
	if n := f.n.Add(1); f.failEvery > 0 && n%f.failEvery == 0 {
		return errors.New("fake failure")
	}
	return ctx.Err()
}

func (f *fakeCluster) Close() error { return nil }

func TestMeasureCountsOpsAndErrors(t *testing.T) {
	fc := &fakeCluster{size: 32, failEvery: 10}
	r, err := Measure(context.Background(), fc, Load{Clients: 4, ValueBytes: 32, Warmup: 20 * time.Millisecond, Window: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if fc.badSize.Load() {
		t.Error("a proposal had the wrong value size")
	}
	if r.Ops == 0 || r.Errors == 0 {
		t.Fatalf("ops=%d errors=%d, want both > 0", r.Ops, r.Errors)
	}
	// Warm-up and window proposals are all counted by the fake, only the
	// window's by Measure.
	if total := fc.n.Load(); uint64(r.Ops+r.Errors) > total {
		t.Fatalf("measured %d outcomes, more than the %d proposals made", r.Ops+r.Errors, total)
	}
	if r.Clients != 4 || r.ValueBytes != 32 || r.WindowSeconds != 0.1 {
		t.Errorf("shape = %+v", r)
	}
	if got := r.OpsPerSec; got != float64(r.Ops)/0.1 {
		t.Errorf("ops/s = %v, want %v", got, float64(r.Ops)/0.1)
	}
	if !(r.P50Micros <= r.P90Micros && r.P90Micros <= r.P99Micros && r.P99Micros <= r.MaxMicros) {
		t.Errorf("percentiles not ordered: %+v", r)
	}
}

func TestMeasureStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Measure(ctx, &fakeCluster{}, Load{Clients: 2, Window: time.Hour})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Measure = %v, want context.Canceled", err)
	}
}

// neverCluster fails every proposal until ready is set.
type neverCluster struct{ ready atomic.Bool }

func (n *neverCluster) Propose(ctx context.Context, _ []byte) error {
	if n.ready.Load() {
		return nil
	}
	return errors.New("no leader")
}

func (n *neverCluster) Close() error { return nil }

func TestWaitReady(t *testing.T) {
	nc := &neverCluster{}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := WaitReady(ctx, nc, 10*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitReady on a cluster that never commits = %v, want DeadlineExceeded", err)
	}
	nc.ready.Store(true)
	if err := WaitReady(context.Background(), nc, 10*time.Millisecond); err != nil {
		t.Fatalf("WaitReady on a ready cluster = %v", err)
	}
}

// slowEvery makes every every-th proposal take pause.
type slowEvery struct {
	every uint64
	pause time.Duration
	n     atomic.Uint64
}

func (s *slowEvery) Propose(ctx context.Context, value []byte) error {
	if s.n.Add(1)%s.every == 0 {
		time.Sleep(s.pause) // the slow proposal itself, not synchronization
	}
	return nil
}

func (s *slowEvery) Close() error { return nil }

func TestSlowReportsOnlyProposalsOverTheThreshold(t *testing.T) {
	c := &slowEvery{every: 50, pause: 20 * time.Millisecond}
	var slow, over atomic.Int64
	load := Load{Clients: 2, ValueBytes: 8, Window: 300 * time.Millisecond, SlowOver: 10 * time.Millisecond,
		Slow: func(at, took time.Duration) {
			slow.Add(1)
			if took <= 10*time.Millisecond || at < 0 || at > 300*time.Millisecond {
				over.Add(1)
			}
		}}
	r, err := Measure(context.Background(), c, load)
	if err != nil {
		t.Fatal(err)
	}
	if slow.Load() == 0 {
		t.Fatalf("no slow proposal reported in %d ops", r.Ops)
	}
	if over.Load() != 0 {
		t.Fatalf("%d reports outside the threshold or the window", over.Load())
	}
	// Every measured proposal over the threshold is reported, no other.
	if max := r.Ops / int64(c.every); slow.Load() > max+2 {
		t.Fatalf("%d slow reports for %d ops, at most about %d are slow", slow.Load(), r.Ops, max)
	}
}
