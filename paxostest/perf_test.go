package paxostest

import (
	"context"
	"flag"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mjpitz/myago/paxos"
)

var (
	perfClients = flag.Int("perf.clients", 0, "")
	perfWindow  = flag.Int("perf.window", 0, "")
)

func TestPerfKit(t *testing.T) {
	if *perfClients == 0 {
		t.Skip()
	}
	c := NewCluster(t, Options{Members: 3, Configure: func(i int, cfg *paxos.Config) { cfg.WindowSlots = *perfWindow }})
	ctx := context.Background()
	p := c.Members[0].Paxos()
	_, _ = p.ProposeIndex(ctx, []byte("warm"))
	var ops atomic.Int64
	var mu sync.Mutex
	var lats []time.Duration
	deadline := time.Now().Add(3 * time.Second)
	var wg sync.WaitGroup
	for i := 0; i < *perfClients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := make([]byte, 128)
			var mine []time.Duration
			for time.Now().Before(deadline) {
				s := time.Now()
				if _, err := p.ProposeIndex(ctx, v); err != nil {
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
	t.Logf("clients=%d window=%d ops/s=%.0f p50=%v p99=%v", *perfClients, *perfWindow, float64(ops.Load())/3, lats[len(lats)/2], lats[len(lats)*99/100])
}
