package paxostest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestClusterProposeAndConverge(t *testing.T) {
	c := NewCluster(t, Options{Members: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := 0; i < 20; i++ {
		m := c.Members[i%3].Paxos()
		v := []byte(fmt.Sprintf("v%d", i))
		pos, err := m.ProposeIndex(ctx, v)
		require.NoError(t, err)
		require.Equal(t, uint64(i+1), pos)
	}
	log, err := c.WaitConverged(ctx, 20)
	require.NoError(t, err)
	for i, r := range log {
		require.Equal(t, fmt.Sprintf("v%d", i), string(r.Value))
	}
}

func TestClusterConcurrentWithFaults(t *testing.T) {
	c := NewCluster(t, Options{Members: 5, Seed: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const workers, each = 50, 20
	type result struct {
		v   string
		pos uint64
		err error
	}
	results := make(chan result, workers*each)
	stop := make(chan struct{})
	go func() { // nemesis
		i := 0
		for {
			select {
			case <-stop:
				c.Net.Heal()
				return
			case <-time.After(50 * time.Millisecond):
			}
			i++
			switch i % 4 {
			case 0:
				c.Net.Drop(0.05)
			case 1:
				c.Net.Cut(c.Members[i%5].Name, c.Members[(i+1)%5].Name)
			case 2:
				m := c.Members[i%5]
				m.Stop()
				require.NoError(t, m.Start())
			case 3:
				c.Net.Heal()
			}
		}
	}()
	done := make(chan struct{})
	for w := 0; w < workers; w++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for k := 0; k < each; k++ {
				v := fmt.Sprintf("w%d-%d", w, k)
				var p interface {
					ProposeIndex(context.Context, []byte) (uint64, error)
				}
				for p == nil {
					if m := c.Members[(w+k)%5].Paxos(); m != nil {
						p = m
					}
				}
				cctx, ccancel := context.WithTimeout(ctx, 3*time.Second)
				pos, err := p.ProposeIndex(cctx, []byte(v))
				ccancel()
				results <- result{v, pos, err}
			}
		}()
	}
	for w := 0; w < workers; w++ {
		<-done
	}
	close(stop)
	close(results)
	acked := map[string]uint64{}
	failed := 0
	for r := range results {
		if r.err != nil {
			failed++
			continue
		}
		acked[r.v] = r.pos
	}
	t.Logf("acknowledged %d, failed %d", len(acked), failed)
	var maxPos uint64
	for _, p := range acked {
		maxPos = max(maxPos, p)
	}
	log, err := c.WaitConverged(ctx, maxPos)
	require.NoError(t, err)
	seen := map[string]uint64{}
	for i, r := range log {
		require.Equal(t, uint64(i+1), r.ID)
		_, dup := seen[string(r.Value)]
		require.False(t, dup, "value %q recorded twice", r.Value)
		seen[string(r.Value)] = r.ID
	}
	for v, p := range acked {
		require.Equal(t, p, seen[v], "acknowledged %q at %d", v, p)
	}
}

func TestBarrierAndStatus(t *testing.T) {
	c := NewCluster(t, Options{Members: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := c.Members[0].Paxos()
	for i := 0; i < 5; i++ {
		_, err := a.ProposeIndex(ctx, []byte(fmt.Sprintf("v%d", i)))
		require.NoError(t, err)
	}
	b := c.Members[2].Paxos()
	pos, err := b.Barrier(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(5), pos)
	require.NoError(t, b.WaitRecorded(ctx, pos))
	st := b.Status()
	require.True(t, st.Running)
	require.Equal(t, []string{"m0", "m1", "m2"}, st.Voters)
	require.Equal(t, uint64(5), st.Recorded)
	// A barrier takes no position: the next value is at 6.
	p6, err := b.ProposeIndex(ctx, []byte("v5"))
	require.NoError(t, err)
	require.Equal(t, uint64(6), p6)
}
