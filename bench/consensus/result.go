package consensus

import (
	"slices"
	"time"
)

// Result is one measurement: the driver prints it as one JSON line.
type Result struct {
	System     string `json:"system"`
	Members    int    `json:"members"`
	Clients    int    `json:"clients"`
	ValueBytes int    `json:"value_bytes"`
	Durable    bool   `json:"durable"`

	// WarmupSeconds and WindowSeconds are the lengths of the unmeasured
	// warm-up and of the measured window.
	WarmupSeconds float64 `json:"warmup_s"`
	WindowSeconds float64 `json:"window_s"`

	// Ops counts proposals that completed successfully inside the window;
	// Errors counts those that failed there.
	Ops       int64   `json:"ops"`
	Errors    int64   `json:"errors"`
	OpsPerSec float64 `json:"ops_per_sec"`

	// Latencies of the successful proposals completed in the window, in
	// microseconds (nearest-rank percentiles).
	P50Micros float64 `json:"p50_us"`
	P90Micros float64 `json:"p90_us"`
	P99Micros float64 `json:"p99_us"`
	MaxMicros float64 `json:"max_us"`

	// CPUMicrosPerOp is the process's user+system CPU time during the window
	// divided by Ops (every member runs in this process).
	CPUMicrosPerOp float64 `json:"cpu_us_per_op"`

	// Provenance, filled in by the driver.
	Run        string `json:"run,omitempty"`
	Rep        int    `json:"rep"`
	GoMaxProcs int    `json:"gomaxprocs"`
	Time       string `json:"time,omitempty"`
}

// percentiles fills the latency fields of r from lat, which it sorts.
func (r *Result) percentiles(lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	at := func(q float64) float64 {
		// Nearest rank: the smallest value with at least q of the samples
		// at or below it.
		i := int(q*float64(len(lat))+0.999999999) - 1
		i = max(0, min(i, len(lat)-1))
		return micros(lat[i])
	}
	r.P50Micros = at(0.50)
	r.P90Micros = at(0.90)
	r.P99Micros = at(0.99)
	r.MaxMicros = micros(lat[len(lat)-1])
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
