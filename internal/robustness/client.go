//go:build unix

package robustness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// workload is what the clients send.
type workload struct {
	clients   int
	keys      int
	opTimeout time.Duration // each operation's deadline
	seed      uint64
}

// runClients runs w.clients clients against the members' HTTP addresses
// until ctx ends, and returns every operation they made. start is the
// run's time origin.
func runClients(ctx context.Context, w workload, members []string, start time.Time) history {
	out := make([][]operation, w.clients)
	done := make(chan int)
	for c := 0; c < w.clients; c++ {
		go func(c int) {
			out[c] = runClient(ctx, c, w, members, start)
			done <- c
		}(c)
	}
	for range w.clients {
		<-done
	}
	return mergeHistories(out...)
}

// runClient sends random operations, one at a time: 45% PUT (a value
// unique in the run), 45% GET, 10% DELETE. Like a real client it sticks to
// one member and moves to another at random when an operation does not
// succeed there; 5% of its operations go to any member, so members under a
// fault keep being asked. (A client that picked a member at random for
// every operation would soon be stuck waiting on a paused or partitioned
// member, and the rest of the cluster would look unavailable.)
func runClient(ctx context.Context, c int, w workload, members []string, start time.Time) []operation {
	rng := rand.New(rand.NewPCG(w.seed, uint64(c)))
	// No keep-alive: each operation dials, so a dead member is a refused
	// connection (a definite failure), not a reset pooled connection (an
	// unknown outcome).
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	defer hc.CloseIdleConnections()
	var ops []operation
	home := c % len(members)
	for seq := 0; ctx.Err() == nil; seq++ {
		o := operation{Client: c, Member: home, Key: fmt.Sprintf("k%d", rng.IntN(w.keys))}
		if rng.IntN(100) < 5 {
			o.Member = rng.IntN(len(members))
		}
		switch r := rng.IntN(100); {
		case r < 45:
			o.Kind, o.Value = opPut, fmt.Sprintf("c%d-%d", c, seq)
		case r < 90:
			o.Kind = opGet
		default:
			o.Kind = opDelete
		}
		o.Call = time.Since(start)
		do(ctx, hc, members[o.Member], w.opTimeout, &o)
		o.Return = time.Since(start)
		ops = append(ops, o)
		if o.Outcome != ok && o.Member == home {
			home = (home + 1 + rng.IntN(len(members)-1)) % len(members)
		}
		if o.Outcome == failed {
			// Every member may be down: do not spin on refused connections.
			sleep(ctx, 20*time.Millisecond)
		}
	}
	return ops
}

// do sends o to the member at addr and fills in its outcome.
func do(ctx context.Context, hc *http.Client, addr string, timeout time.Duration, o *operation) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var body io.Reader
	method := http.MethodGet
	switch o.Kind {
	case opPut:
		method = http.MethodPut
		b, _ := json.Marshal(map[string]string{"value": o.Value})
		body = bytes.NewReader(b)
	case opDelete:
		method = http.MethodDelete
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+"/kv/"+o.Key, body)
	if err != nil {
		o.Outcome, o.Err = failed, err.Error()
		return
	}
	resp, err := hc.Do(req)
	if err != nil {
		o.Outcome, o.Err = transportOutcome(err), err.Error()
		return
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		o.Outcome, o.Err = unknown, fmt.Sprintf("%s, reading the body: %v", resp.Status, err)
		return
	}
	var reply struct {
		Value    string `json:"value"`
		Position uint64 `json:"position"`
		Error    string `json:"error"`
	}
	jsonErr := json.Unmarshal(b, &reply)
	switch {
	case resp.StatusCode == http.StatusOK && jsonErr == nil:
		o.Outcome = ok
		switch o.Kind {
		case opGet:
			o.Value, o.Found = reply.Value, true
		default:
			o.Position = reply.Position
		}
	case resp.StatusCode == http.StatusNotFound && o.Kind == opGet && jsonErr == nil:
		o.Outcome = ok
	case resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusRequestEntityTooLarge:
		// Rejected before anything was proposed; this workload never
		// sends such requests, so the report shows them.
		o.Outcome, o.Err = failed, fmt.Sprintf("%s: %s", resp.Status, strings.TrimSpace(string(b)))
	default:
		// 503, 504 ("may or may not have happened"), or anything else.
		o.Outcome, o.Err = unknown, fmt.Sprintf("%s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
}

// transportOutcome classifies an HTTP client error: a refused connection
// sent nothing, so the operation certainly did not happen; any other error
// may have come after the request left.
func transportOutcome(err error) outcome {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return failed
	}
	return unknown
}
