//go:build unix

package robustness

import (
	"context"
	"time"
)

// statusSample is one member's /status at one moment of the run.
type statusSample struct {
	At       time.Duration `json:"at"`
	Member   int           `json:"member"` // 0-based
	State    string        `json:"state"`
	Ballot   uint64        `json:"ballot,omitempty"`
	Leader   string        `json:"leader,omitempty"`
	Recorded uint64        `json:"recorded"`
	Pending  int           `json:"pending,omitempty"`
}

// sampleStatus polls every running member's /status every interval until
// ctx ends: who led when, for the diagnosis of a failed run.
func sampleStatus(ctx context.Context, c *cluster, since func() time.Duration, interval time.Duration) []statusSample {
	var out []statusSample
	for sleep(ctx, interval) {
		for _, p := range c.procs {
			if p.current() != running {
				continue
			}
			pctx, cancel := context.WithTimeout(ctx, interval)
			st, err := c.memberStatus(pctx, p)
			cancel()
			if err != nil {
				continue
			}
			out = append(out, statusSample{At: since(), Member: p.id, State: st.State, Ballot: st.Ballot,
				Leader: st.Leader, Recorded: st.Recorded, Pending: st.Pending})
		}
	}
	return out
}
