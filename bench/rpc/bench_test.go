package rpcbench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	RunChildIfAsked()
	os.Exit(m.Run())
}

// child is the server process, started once per test binary run.
var child struct {
	once  sync.Once
	addrs Addrs
	in    io.Writer
	out   *bufio.Reader
	err   error
}

func servers(tb testing.TB) Addrs {
	tb.Helper()
	child.once.Do(func() {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "BENCH_SERVER=1")
		cmd.Stderr = os.Stderr
		in, err := cmd.StdinPipe()
		if err != nil {
			child.err = err
			return
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			child.err = err
			return
		}
		if err := cmd.Start(); err != nil {
			child.err = err
			return
		}
		// The child exits when its stdin closes, which happens when this
		// process exits.
		child.in, child.out = in, bufio.NewReader(out)
		line, err := child.out.ReadBytes('\n')
		if err == nil {
			err = json.Unmarshal(line, &child.addrs)
		}
		child.err = err
	})
	if child.err != nil {
		tb.Fatalf("starting the server process: %v", child.err)
	}
	return child.addrs
}

// serverAllocs sends a command to the child and returns its answer.
func serverAllocs(tb testing.TB, cmd string) uint64 {
	tb.Helper()
	if _, err := fmt.Fprintln(child.in, cmd); err != nil {
		tb.Fatal(err)
	}
	line, err := child.out.ReadString('\n')
	if err != nil {
		tb.Fatal(err)
	}
	n, err := strconv.ParseUint(line[:len(line)-1], 10, 64)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

var frameworks = []string{"yarpc", "grpc", "netrpc", "yamux"}

func dial(b *testing.B, framework string) Client {
	b.Helper()
	c, err := Dial(framework, servers(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	// Warm up: connect, and fill the pools.
	in, out := &Msg{Payload: make([]byte, PayloadBytes)}, &Msg{}
	for range 100 {
		if err := c.Unary(context.Background(), in, out); err != nil {
			b.Fatal(err)
		}
	}
	return c
}

// BenchmarkUnary: one client, calls one after another. Reports the median
// round trip (p50-ns), and the server's allocations per call.
func BenchmarkUnary(b *testing.B) {
	for _, fw := range frameworks {
		b.Run(fw, func(b *testing.B) {
			c := dial(b, fw)
			ctx := context.Background()
			in, out := &Msg{Payload: make([]byte, PayloadBytes)}, &Msg{Payload: make([]byte, 0, PayloadBytes)}
			lat := make([]time.Duration, b.N)
			serverAllocs(b, "reset")
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				in.Seq = uint64(i)
				start := time.Now()
				if err := c.Unary(ctx, in, out); err != nil {
					b.Fatal(err)
				}
				lat[i] = time.Since(start)
				if out.Seq != in.Seq {
					b.Fatalf("reply %d for %d", out.Seq, in.Seq)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(serverAllocs(b, "report"))/float64(b.N), "srv-allocs/op")
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
		})
	}
}

// BenchmarkUnary64: 64 goroutines share one client (one connection).
// Reports calls per second.
func BenchmarkUnary64(b *testing.B) {
	const clients = 64
	for _, fw := range frameworks {
		b.Run(fw, func(b *testing.B) {
			c := dial(b, fw)
			b.SetParallelism((clients + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			serverAllocs(b, "reset")
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				in, out := &Msg{Payload: make([]byte, PayloadBytes)}, &Msg{}
				for pb.Next() {
					if err := c.Unary(ctx, in, out); err != nil {
						b.Error(err)
						return
					}
				}
			})
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(serverAllocs(b, "report"))/float64(b.N), "srv-allocs/op")
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "calls/s")
		})
	}
}

// BenchmarkStream: one stream, b.N messages from client to server, then the
// server's count. Reports messages per second.
func BenchmarkStream(b *testing.B) {
	for _, fw := range frameworks {
		b.Run(fw, func(b *testing.B) {
			c := dial(b, fw)
			payload := make([]byte, PayloadBytes)
			serverAllocs(b, "reset")
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			n, err := c.Stream(context.Background(), b.N, payload)
			if errors.Is(err, ErrNoStreaming) {
				b.Skip(fw, "has no streams")
			}
			if err != nil {
				b.Fatal(err)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			if n != uint64(b.N) {
				b.Fatalf("server counted %d of %d", n, b.N)
			}
			b.ReportMetric(float64(serverAllocs(b, "report"))/float64(b.N), "srv-allocs/op")
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
		})
	}
}

// TestSmoke runs every framework's client against its server once, so that
// a plain go test catches a broken harness.
func TestSmoke(t *testing.T) {
	addrs := servers(t)
	for _, fw := range frameworks {
		c, err := Dial(fw, addrs)
		if err != nil {
			t.Fatal(err)
		}
		out := &Msg{}
		if err := c.Unary(context.Background(), &Msg{Seq: 7, Payload: []byte("x")}, out); err != nil || out.Seq != 7 || string(out.Payload) != "x" {
			t.Fatalf("%s unary: %v %+v", fw, err, out)
		}
		n, err := c.Stream(context.Background(), 1000, []byte("p"))
		if err != nil && !errors.Is(err, ErrNoStreaming) || err == nil && n != 1000 {
			t.Fatalf("%s stream: %d %v", fw, n, err)
		}
		_ = c.Close()
	}
}
