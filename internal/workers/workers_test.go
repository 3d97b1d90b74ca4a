package workers

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRunsEveryTaskAndReusesWorkers(t *testing.T) {
	p := New(2)
	var ran atomic.Int32
	for i := 0; i < 1000; i++ {
		done := make(chan struct{})
		p.Go(func() { ran.Add(1); close(done) })
		<-done
	}
	require.Equal(t, int32(1000), ran.Load())
	p.mu.Lock()
	workers := p.workers
	p.mu.Unlock()
	// Tasks run one after another: a couple of workers served them all.
	require.LessOrEqual(t, workers, 2)
	p.Close()
}

func TestATaskNeverWaitsBehindABlockedOne(t *testing.T) {
	p := New(1)
	defer p.Close()
	block := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	p.Go(func() { defer wg.Done(); <-block })
	// The only worker is busy: these run on goroutines of their own.
	done := make(chan struct{})
	for i := 0; i < 10; i++ {
		wg.Add(1)
		p.Go(func() { defer wg.Done(); done <- struct{}{} })
	}
	for i := 0; i < 10; i++ {
		<-done
	}
	close(block)
	wg.Wait()
}

func TestCloseWaitsForRunningTasksAndLaterTasksStillRun(t *testing.T) {
	p := New(4)
	release := make(chan struct{})
	var finished atomic.Bool
	started := make(chan struct{})
	p.Go(func() { close(started); <-release; finished.Store(true) })
	<-started
	closed := make(chan struct{})
	go func() { p.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned while a task was running")
	default:
	}
	close(release)
	<-closed
	require.True(t, finished.Load())
	p.Close() // idempotent

	done := make(chan struct{})
	p.Go(func() { close(done) })
	<-done
}

func TestMaxIsAtLeastOne(t *testing.T) {
	p := New(0)
	done := make(chan struct{})
	p.Go(func() { close(done) })
	<-done
	p.Close()
}

func BenchmarkPoolVersusGo(b *testing.B) {
	// rec(20) uses about 16 KiB of stack, like an RPC's path through a
	// client, the codec and the acceptor.
	var rec func(int) int
	rec = func(n int) int {
		var buf [800]byte
		buf[n%len(buf)] = byte(n)
		if n == 0 {
			return int(buf[0])
		}
		return rec(n-1) + int(buf[n%len(buf)])
	}
	b.Run("go", func(b *testing.B) {
		b.ReportAllocs()
		done := make(chan struct{})
		for i := 0; i < b.N; i++ {
			go func() { rec(20); done <- struct{}{} }()
			<-done
		}
	})
	b.Run("pool", func(b *testing.B) {
		b.ReportAllocs()
		p := New(4)
		defer p.Close()
		done := make(chan struct{})
		for i := 0; i < b.N; i++ {
			p.Go(func() { rec(20); done <- struct{}{} })
			<-done
		}
	})
}
