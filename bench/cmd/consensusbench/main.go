// Command consensusbench starts an in-process cluster of one consensus
// system, drives it with closed-loop clients and prints one JSON line with
// the throughput, latency percentiles and CPU cost it measured.
//
//	consensusbench -system=etcd-raft -members=3 -clients=64 -value=128 -durable
//
// Systems: paxos (this library), etcd-raft, hashicorp-raft, and the
// physical floors floor-fsync (one small write + fdatasync in the data
// directory) and floor-rtt (a TCP round trip on 127.0.0.1).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"sync"
	"time"

	"github.com/mjpitz/myago/paxos/bench/consensus"
)

type options struct {
	system         string
	members        int
	clients        int
	value          int
	durable        bool
	warmup         time.Duration
	duration       time.Duration
	dir            string
	run            string
	rep            int
	readyWait      time.Duration
	cpuProfile     string
	traceFile      string
	memProfile     string
	rssEvery       time.Duration
	slowOver       time.Duration
	verbose        bool
	paxosRecordAll bool
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "consensusbench:", err)
		os.Exit(1)
	}
}

func parse(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("consensusbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.system, "system", consensus.NameEtcdRaft, "system to run: "+strings.Join(consensus.Names(), ", "))
	fs.IntVar(&o.members, "members", 3, "cluster members")
	fs.IntVar(&o.clients, "clients", 1, "closed-loop clients")
	fs.IntVar(&o.value, "value", 128, "value size in bytes")
	fs.BoolVar(&o.durable, "durable", true, "sync the log to disk before acknowledging")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured warm-up")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured window")
	fs.StringVar(&o.dir, "dir", "", "parent of the temporary data directory (default: the system temp dir)")
	fs.StringVar(&o.run, "run", "", "run label copied into the result (pairs results of one benchmark run)")
	fs.IntVar(&o.rep, "rep", 0, "repetition number copied into the result")
	fs.DurationVar(&o.readyWait, "ready-timeout", 30*time.Second, "how long to wait for the first commit")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the measured window to this file")
	fs.StringVar(&o.traceFile, "trace", "", "write an execution trace of the measured window's first second to this file")
	fs.StringVar(&o.memProfile, "memprofile", "", "write an allocation profile at the end to this file")
	fs.DurationVar(&o.rssEvery, "rss-every", 0, "print the process's resident memory and Go heap to stderr at this interval (0: never)")
	fs.DurationVar(&o.slowOver, "slow", 0, "print to stderr every measured proposal slower than this, as \"slow <ms into the window> <latency ms>\" (0: none)")
	fs.BoolVar(&o.verbose, "v", false, "log the systems' diagnostics to stderr")
	fs.BoolVar(&o.paxosRecordAll, "paxos-record-all", false, "paxos: every member keeps every value in its recorded log (default: a last-record log, like the raft adapters' counters)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	return o, nil
}

func run(args []string, stdout, stderr io.Writer) error {
	o, err := parse(args, stderr)
	if err != nil {
		return err
	}
	sys, err := consensus.Lookup(o.system)
	if err != nil {
		return err
	}
	load := consensus.Load{Clients: o.clients, ValueBytes: o.value, Warmup: o.warmup, Window: o.duration}
	if o.slowOver > 0 {
		var mu sync.Mutex
		load.SlowOver = o.slowOver
		load.Slow = func(at, took time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(stderr, "slow %.1f %.3f\n", float64(at.Microseconds())/1000, float64(took.Microseconds())/1000)
		}
	}
	if err := load.Validate(); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	dir, err := os.MkdirTemp(o.dir, "consensusbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	cfg := consensus.Config{Members: o.members, Durable: o.durable, Dir: dir, PaxosRecordAll: o.paxosRecordAll}
	if o.verbose {
		cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	cluster, err := sys.Start(ctx, cfg)
	if err != nil {
		return err
	}
	res, err := measure(ctx, cluster, load, o)
	if cerr := cluster.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close: %w", cerr))
	}
	if err != nil {
		return err
	}

	res.System = o.system
	res.Members = o.members
	res.Durable = o.durable
	res.Run = o.run
	res.Rep = o.rep
	res.GoMaxProcs = runtime.GOMAXPROCS(0)
	res.Time = time.Now().UTC().Format(time.RFC3339)
	return json.NewEncoder(stdout).Encode(res)
}

func measure(ctx context.Context, c consensus.Cluster, load consensus.Load, o options) (consensus.Result, error) {
	rctx, cancel := context.WithTimeout(ctx, o.readyWait)
	err := consensus.WaitReady(rctx, c, time.Second)
	cancel()
	if err != nil {
		return consensus.Result{}, err
	}
	if o.cpuProfile != "" {
		stopProfile, err := profileWindow(o.cpuProfile, load.Warmup, load.Window, pprof.StartCPUProfile, pprof.StopCPUProfile)
		if err != nil {
			return consensus.Result{}, err
		}
		defer stopProfile()
	}
	if o.traceFile != "" {
		stopTrace, err := profileWindow(o.traceFile, load.Warmup, min(load.Window, time.Second), trace.Start, trace.Stop)
		if err != nil {
			return consensus.Result{}, err
		}
		defer stopTrace()
	}
	if o.rssEvery > 0 {
		stopSampling := sampleMemory(o.rssEvery, os.Stderr)
		defer stopSampling()
	}
	res, err := consensus.Measure(ctx, c, load)
	if err != nil {
		return res, err
	}
	if o.memProfile != "" {
		if err := writeHeapProfile(o.memProfile); err != nil {
			return res, err
		}
	}
	return res, nil
}

// profileWindow runs a profile (start, stop) from the end of the warm-up for
// window.
func profileWindow(path string, warmup, window time.Duration, start func(io.Writer) error, stop func()) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		defer f.Close()
		select {
		case <-time.After(warmup):
		case <-done:
			return
		}
		if err := start(f); err != nil {
			fmt.Fprintln(os.Stderr, "consensusbench: profile:", err)
			return
		}
		select {
		case <-time.After(window):
		case <-done:
		}
		stop()
	}()
	return func() { close(done); <-stopped }, nil
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = pprof.Lookup("allocs").WriteTo(f, 0)
	return errors.Join(err, f.Close())
}
