package paxostest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mjpitz/myago/paxos"
)

// load runs concurrent proposers over every member of a cluster until
// stopped, and keeps what each Propose returned.
type load struct {
	c       *Cluster
	stopped chan struct{}
	once    sync.Once
	wg      sync.WaitGroup

	mu      sync.Mutex
	acked   map[string]uint64 // value -> position Propose returned
	tried   map[string]bool   // every value ever proposed
	failed  int
	badErrs []error
}

// startLoad starts workers proposers; worker w proposes on member
// (w+k) mod n for its k-th value, or on the next running member.
func startLoad(c *Cluster, workers int, timeout time.Duration) *load {
	l := &load{c: c, stopped: make(chan struct{}), acked: map[string]uint64{}, tried: map[string]bool{}}
	for w := range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for k := 0; ; k++ {
				select {
				case <-l.stopped:
					return
				default:
				}
				v := fmt.Sprintf("w%02d-%05d", w, k)
				p := l.member(w + k)
				if p == nil {
					time.Sleep(time.Millisecond) // all down: nothing to wait on but time
					continue
				}
				l.propose(p, v, timeout)
			}
		}()
	}
	return l
}

func (l *load) member(i int) *paxos.Paxos {
	n := len(l.c.Members)
	for d := range n {
		if p := l.c.Members[(i+d)%n].Paxos(); p != nil {
			return p
		}
	}
	return nil
}

func (l *load) propose(p *paxos.Paxos, v string, timeout time.Duration) (uint64, error) {
	l.mu.Lock()
	l.tried[v] = true
	l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	pos, err := p.ProposeIndex(ctx, []byte(v))
	cancel()
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err == nil:
		l.acked[v] = pos
	case errors.Is(err, paxos.ErrOutcomeUnknown), errors.Is(err, paxos.ErrStopped):
		l.failed++
	default:
		l.badErrs = append(l.badErrs, err)
	}
	return pos, err
}

func (l *load) stop() {
	l.once.Do(func() { close(l.stopped) })
	l.wg.Wait()
}

// maxAcked returns the highest acknowledged position.
func (l *load) maxAcked() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var m uint64
	for _, p := range l.acked {
		m = max(m, p)
	}
	return m
}

func (l *load) ackedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// check verifies a converged log against what the proposers saw:
// positions 1..n, no value twice (exactly once), every value proposed by
// someone (validity), every acknowledged value at its acknowledged position
// (nothing acknowledged lost), and only the documented errors.
func (l *load) check(t *testing.T, log []paxos.Proposal) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	require.Empty(t, l.badErrs, "Propose failed with an undocumented error")
	at := make(map[string]uint64, len(log))
	for i, r := range log {
		require.Equal(t, uint64(i+1), r.ID, "record %d has the wrong position", i)
		v := string(r.Value)
		prev, dup := at[v]
		require.False(t, dup, "%q recorded at %d and %d", v, prev, r.ID)
		require.True(t, l.tried[v], "%q was never proposed", v)
		at[v] = r.ID
	}
	for v, p := range l.acked {
		require.Equal(t, p, at[v], "%q acknowledged at %d", v, p)
	}
}

// requireSameEverywhere checks that every member recorded exactly log.
func requireSameEverywhere(t *testing.T, c *Cluster, log []paxos.Proposal) {
	t.Helper()
	for _, m := range c.Members {
		recs, err := m.Records()
		require.NoError(t, err)
		require.Equal(t, len(log), len(recs), "%s", m.Name)
		for i := range recs {
			require.Equal(t, log[i], recs[i], "%s position %d", m.Name, i+1)
		}
	}
}
