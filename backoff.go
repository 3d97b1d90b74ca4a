package paxos

import (
	"math/rand/v2"
	"time"
)

// backoff is a capped exponential back-off with full jitter, for the
// drivers' retry loops (dialing, reopening streams, retrying a failed
// RecordedLog write). The protocol's own back-off lives in the core.
type backoff struct {
	min, max time.Duration
	n        int
}

// DefaultMaxBackoff caps every retry loop's back-off.
const DefaultMaxBackoff = time.Second

func (b *backoff) next() time.Duration {
	lo, hi := b.min, b.max
	if lo <= 0 {
		lo = 10 * time.Millisecond
	}
	if hi <= 0 {
		hi = DefaultMaxBackoff
	}
	d := lo << min(b.n, 16)
	if d > hi || d <= 0 {
		d = hi
	}
	b.n++
	return d/2 + rand.N(d/2+1)
}

func (b *backoff) reset() { b.n = 0 }
