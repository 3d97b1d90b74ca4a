package paxos_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mjpitz/myago/paxos"
	"github.com/mjpitz/myago/paxos/paxostest"
)

// benchValueBytes is the size of the benchmarks' values (as in the
// hashicorp/raft and etcd raft comparisons of the issue).
const benchValueBytes = 128

// proposeParallel makes n proposals of 128-byte values on p from
// proposers goroutines and returns how long they took.
func proposeParallel(tb testing.TB, p *paxos.Paxos, proposers int, n int64, base uint64) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	ctx := context.Background()
	begin := time.Now()
	for w := 0; w < proposers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := make([]byte, benchValueBytes)
			for {
				i := next.Add(1)
				if i > n {
					return
				}
				binary.BigEndian.PutUint64(v, base+uint64(i)) // distinct values
				if _, err := p.Propose(ctx, v); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(begin)
	if err, _ := failed.Load().(error); err != nil {
		tb.Fatalf("Propose: %v", err)
	}
	return elapsed
}

// BenchmarkPropose measures Propose on one member of a 3-member in-process
// cluster (paxostest, Memory Logs) with 1 and 64 concurrent proposers.
// allocs/op counts every allocation of the cluster per Propose.
func BenchmarkPropose(b *testing.B) {
	for _, proposers := range []int{1, 64} {
		b.Run(fmt.Sprintf("proposers=%d", proposers), func(b *testing.B) {
			c, err := paxostest.Start(paxostest.Options{Members: 3, Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			p := c.Members[0].Paxos()
			proposeParallel(b, p, proposers, 1000, 1<<62) // elect m0, warm up
			b.ReportAllocs()
			cpu0, cpuOK := processCPU()
			b.ResetTimer()
			elapsed := proposeParallel(b, p, proposers, int64(b.N), 0)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "proposals/s")
			if cpu1, ok := processCPU(); ok && cpuOK {
				// The whole cluster's CPU per Propose: steadier than wall
				// time on a shared machine, where others take cores away.
				b.ReportMetric(float64((cpu1-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
			}
		})
	}
}
