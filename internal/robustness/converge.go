//go:build unix

package robustness

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// healAll undoes every fault: links pass, paused members resume, dead
// members restart.
func (c *cluster) healAll(ctx context.Context) error {
	c.healLinks()
	var errs []error
	for _, p := range c.procs {
		switch p.current() {
		case paused:
			errs = append(errs, p.signal(syscall.SIGCONT))
		case dead:
			errs = append(errs, c.restart(ctx, p))
		}
	}
	return errors.Join(errs...)
}

// converge writes a sentinel through the healed cluster and waits until
// every member recorded it and all record the same, unchanging, position:
// after healing, every member must catch up (liveness). It returns the
// sentinel writes (for the history) and an error saying which member did
// not converge. clientID names the writes in the history; within bounds
// everything.
func converge(ctx context.Context, c *cluster, since func() time.Duration, clientID int, within time.Duration) (history, error) {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	defer hc.CloseIdleConnections()
	var writes history
	var pos uint64
	for i := 0; pos == 0; i++ {
		if ctx.Err() != nil {
			return writes, fmt.Errorf("no write was acknowledged within %v of healing", within)
		}
		o := operation{Client: clientID, Member: i % len(c.procs), Kind: opPut, Key: "sentinel", Value: fmt.Sprintf("sentinel-%d", i)}
		o.Call = since()
		do(ctx, hc, c.procs[o.Member].http, 2*time.Second, &o)
		o.Return = since()
		writes = append(writes, o)
		if o.Outcome == ok {
			pos = o.Position
		}
	}
	var last []string
	stable := 0
	for {
		recorded := make([]uint64, len(c.procs))
		last = last[:0]
		same := true
		for i, p := range c.procs {
			st, err := c.memberStatus(ctx, p)
			if err != nil {
				last = append(last, fmt.Sprintf("member %d: %v", i+1, err))
				same = false
				continue
			}
			recorded[i] = st.Recorded
			last = append(last, fmt.Sprintf("member %d: recorded %d, position %d, state %s, leader %s", i+1, st.Recorded, st.Position, st.State, st.Leader))
			if recorded[i] < pos || recorded[i] != recorded[0] {
				same = false
			}
		}
		if same {
			stable++
		} else {
			stable = 0
		}
		if stable == 3 {
			return writes, nil
		}
		if !sleep(ctx, 300*time.Millisecond) {
			return writes, fmt.Errorf("members did not converge on position %d or beyond within %v of healing:\n  %s",
				pos, within, strings.Join(last, "\n  "))
		}
	}
}
