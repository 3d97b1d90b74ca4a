package consensus

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// proposalGrace is how long after the window Measure waits for proposals
// still in flight.
const proposalGrace = 30 * time.Second

// Load describes the closed-loop load Measure applies.
type Load struct {
	// Clients is the number of closed-loop clients (>= 1): each proposes a
	// fresh random value and waits for its commit before the next.
	Clients int
	// ValueBytes is the size of each value (>= 0).
	ValueBytes int
	// Warmup runs the load without measuring it.
	Warmup time.Duration
	// Window is the measured interval (> 0).
	Window time.Duration
	// Slow, when set, is told of every measured proposal that took longer
	// than SlowOver: when it ended (from the window's start) and how long it
	// took. It is called from the clients' goroutines, concurrently. It
	// shows stalls the percentiles hide, e.g. periodic ones.
	Slow     func(at, took time.Duration)
	SlowOver time.Duration
}

// Validate reports the first invalid field of l.
func (l Load) Validate() error {
	switch {
	case l.Clients < 1:
		return fmt.Errorf("consensus: Clients must be >= 1, got %d", l.Clients)
	case l.ValueBytes < 0:
		return fmt.Errorf("consensus: ValueBytes must be >= 0, got %d", l.ValueBytes)
	case l.Warmup < 0:
		return fmt.Errorf("consensus: Warmup must be >= 0, got %v", l.Warmup)
	case l.Window <= 0:
		return fmt.Errorf("consensus: Window must be > 0, got %v", l.Window)
	}
	return nil
}

// WaitReady proposes small probe values until one commits, each attempt
// bounded by attempt, or until ctx ends. Systems elect leaders on their own
// schedule; this is the one place that waits for it.
func WaitReady(ctx context.Context, c Cluster, attempt time.Duration) error {
	probe := []byte("probe")
	for {
		actx, cancel := context.WithTimeout(ctx, attempt)
		err := c.Propose(actx, probe)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("consensus: cluster never committed: %w (last error: %w)", ctx.Err(), err)
		}
		// A probe that failed fast (no leader yet) must not spin: wait for
		// the rest of its attempt before the next one.
		select {
		case <-actx.Done():
		case <-ctx.Done():
		}
	}
}

// clientStats is what one client measured inside the window.
type clientStats struct {
	lat    []time.Duration
	errors int64
}

// Measure runs load against c and returns the filled-in Result (without the
// System, Members and Durable fields, which the caller knows).
func Measure(ctx context.Context, c Cluster, load Load) (Result, error) {
	if err := load.Validate(); err != nil {
		return Result{}, err
	}
	start := time.Now()
	t0 := start.Add(load.Warmup)
	t1 := t0.Add(load.Window)

	// A proposal a system lost (say, to a leader change) must not hang
	// the run: clients give up proposalGrace after the window.
	cctx, cancel := context.WithDeadline(ctx, t1.Add(proposalGrace))
	defer cancel()
	stats := make([]clientStats, load.Clients)
	var wg sync.WaitGroup
	for i := range stats {
		wg.Go(func() { stats[i] = runClient(cctx, c, load, uint64(i), t0, t1) })
	}

	// Sample the process CPU clock at the window's edges.
	cpu0, cpu1, err := sampleCPU(ctx, t0, t1)
	wg.Wait()
	if err != nil {
		return Result{}, err
	}

	r := Result{
		Clients:       load.Clients,
		ValueBytes:    load.ValueBytes,
		WarmupSeconds: load.Warmup.Seconds(),
		WindowSeconds: load.Window.Seconds(),
	}
	var lat []time.Duration
	for _, s := range stats {
		lat = append(lat, s.lat...)
		r.Errors += s.errors
	}
	r.Ops = int64(len(lat))
	r.OpsPerSec = float64(r.Ops) / load.Window.Seconds()
	if r.Ops > 0 {
		r.CPUMicrosPerOp = micros(cpu1-cpu0) / float64(r.Ops)
	}
	r.percentiles(lat)
	return r, nil
}

// sampleCPU reads the process CPU clock at t0 and t1.
func sampleCPU(ctx context.Context, t0, t1 time.Time) (time.Duration, time.Duration, error) {
	var samples [2]time.Duration
	for i, at := range []time.Time{t0, t1} {
		timer := time.NewTimer(time.Until(at))
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return 0, 0, ctx.Err()
		}
		cpu, err := processCPU()
		if err != nil {
			return 0, 0, err
		}
		samples[i] = cpu
	}
	return samples[0], samples[1], nil
}

// runClient proposes fresh random values until t1 and records the outcomes
// that complete inside [t0, t1).
func runClient(ctx context.Context, c Cluster, load Load, seed uint64, t0, t1 time.Time) clientStats {
	size := load.ValueBytes
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), 1})
	s := clientStats{lat: make([]time.Duration, 0, 1024)}
	for ctx.Err() == nil {
		begin := time.Now()
		if !begin.Before(t1) {
			break
		}
		value := make([]byte, size)
		_, _ = rng.Read(value) // ChaCha8.Read never fails
		err := c.Propose(ctx, value)
		end := time.Now()
		if end.Before(t0) || !end.Before(t1) {
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			s.errors++
			continue
		}
		took := end.Sub(begin)
		s.lat = append(s.lat, took)
		if load.Slow != nil && took > load.SlowOver {
			load.Slow(end.Sub(t0), took)
		}
	}
	return s
}
