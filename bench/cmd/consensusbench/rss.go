package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// sampleMemory prints, every interval, the process's resident set (Linux
// /proc/self/status VmRSS; 0 elsewhere) and the Go heap in use, so that a
// long run shows whether memory stays flat as the log grows.
func sampleMemory(every time.Duration, w io.Writer) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				fmt.Fprintf(w, "memory t=%.0fs rss_mb=%.1f heap_inuse_mb=%.1f\n",
					time.Since(start).Seconds(), float64(residentBytes())/(1<<20), float64(ms.HeapInuse)/(1<<20))
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

func residentBytes() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
