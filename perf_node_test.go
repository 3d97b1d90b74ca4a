package paxos_test

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestPerfNodes is a manual measurement (skipped unless -perf.clients > 0).
func TestPerfNodes(t *testing.T) {
	if *perfClients == 0 {
		t.Skip("set -perf.clients")
	}
	addrs := freeAddrs(t, 3)
	base := t.TempDir()
	dirs := []string{filepath.Join(base, "a"), filepath.Join(base, "b"), filepath.Join(base, "c")}
	nodes := startNodes(t, dirs, addrs)
	defer func() {
		for _, n := range nodes {
			n.Close()
		}
	}()
	ctx := context.Background()
	_, err := nodes[0].ProposeIndex(ctx, []byte("warm"))
	require.NoError(t, err)
	var ops atomic.Int64
	var mu sync.Mutex
	var lats []time.Duration
	deadline := time.Now().Add(*perfDuration)
	var wg sync.WaitGroup
	for c := 0; c < *perfClients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := make([]byte, 128)
			var mine []time.Duration
			for time.Now().Before(deadline) {
				rand.Read(v)
				s := time.Now()
				if _, err := nodes[0].ProposeIndex(ctx, v); err != nil {
					t.Error(err)
					return
				}
				mine = append(mine, time.Since(s))
				ops.Add(1)
			}
			mu.Lock()
			lats = append(lats, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	q := func(p float64) time.Duration { return lats[int(p*float64(len(lats)-1))] }
	t.Logf("clients=%d ops/s=%.0f p50=%v p99=%v", *perfClients, float64(ops.Load())/perfDuration.Seconds(), q(0.5), q(0.99))
}
