package paxostest

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// nemesisStats counts what the nemesis did.
type nemesisStats struct {
	crashes, restarts, cuts, isolations, drops, heals int
}

// nemesis (on a goroutine of its own, hence assert) breaks the cluster until stop closes, every 10-40 ms, choosing
// by seed: it crashes members (at most maxDown at once) and restarts them,
// cuts links, isolates members, drops messages and heals. It heals and
// restarts every member before it returns.
func nemesis(t *testing.T, c *Cluster, seed uint64, maxDown int, stop <-chan struct{}) nemesisStats {
	rnd := rand.New(rand.NewPCG(seed, seed+1))
	var st nemesisStats
	pick := func(running bool) *Member {
		var ms []*Member
		for _, m := range c.Members {
			if (m.Paxos() != nil) == running {
				ms = append(ms, m)
			}
		}
		if len(ms) == 0 {
			return nil
		}
		return ms[rnd.IntN(len(ms))]
	}
	down := func() int {
		n := 0
		for _, m := range c.Members {
			if m.Paxos() == nil {
				n++
			}
		}
		return n
	}
	for {
		select {
		case <-stop:
			c.Net.Heal()
			for _, m := range c.Members {
				if m.Paxos() == nil {
					assert.NoError(t, m.Start())
				}
			}
			return st
		case <-time.After(time.Duration(10+rnd.IntN(30)) * time.Millisecond):
		}
		n := len(c.Members)
		switch rnd.IntN(8) {
		case 0, 1:
			if m := pick(true); m != nil && down() < maxDown {
				assert.NoError(t, m.Stop())
				st.crashes++
			}
		case 2:
			if m := pick(false); m != nil {
				assert.NoError(t, m.Start())
				st.restarts++
			}
		case 3, 4:
			a := rnd.IntN(n)
			b := (a + 1 + rnd.IntN(n-1)) % n
			c.Net.Cut(c.Members[a].Name, c.Members[b].Name)
			st.cuts++
		case 5:
			c.Net.Isolate(c.Members[rnd.IntN(n)].Name)
			st.isolations++
		case 6:
			c.Net.Drop(rnd.Float64() * 0.1)
			st.drops++
		case 7:
			c.Net.Heal()
			st.heals++
		}
	}
}

// Five members over Memory Logs, 50 concurrent proposers spread over all
// of them, while a nemesis crashes and restarts members, cuts links,
// isolates members and drops messages for the whole run; then everything
// heals. Agreement, exactly-once, positions 1..n on every member, every
// acknowledged value at its acknowledged position, and convergence.
func TestClusterConcurrentWithFaults(t *testing.T) {
	run := 6 * time.Second
	if testing.Short() {
		run = 2 * time.Second
	}
	c := NewCluster(t, Options{Members: 5, Seed: 1})
	l := startLoad(c, 50, 2*time.Second)
	stop := make(chan struct{})
	stats := make(chan nemesisStats, 1)
	go func() { stats <- nemesis(t, c, 7, 2, stop) }()

	time.Sleep(run) // the length of the run, not a synchronization
	close(stop)
	st := <-stats
	l.stop()
	t.Logf("nemesis: %+v", st)
	t.Logf("acknowledged %d, failed %d (outcome unknown or stopped)", l.ackedCount(), l.failed)
	require.Positive(t, st.crashes)
	require.Positive(t, st.cuts)
	require.Positive(t, l.ackedCount())

	// Healed: every member makes progress again, and all converge.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, m := range c.Members {
		pos, err := l.propose(m.Paxos(), "after healing "+m.Name, 30*time.Second)
		require.NoError(t, err, "%s after healing", m.Name)
		require.Greater(t, pos, uint64(0))
	}
	log, err := c.WaitConverged(ctx, l.maxAcked())
	require.NoError(t, err)
	l.check(t, log)
	requireSameEverywhere(t, c, log)
	t.Logf("converged on %d positions", len(log))
}
