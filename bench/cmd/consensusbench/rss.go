package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// sampleMemory prints, every interval, the process's resident set (Linux
// /proc/self/status; 0 elsewhere) with its anonymous and file-backed parts,
// and the Go heap in use, so that a long run shows whether memory stays
// flat as the log grows. The file-backed part is the page cache of mapped
// files (Badger maps its value log and tables): it grows with the data on
// disk and the kernel reclaims it under pressure.
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
				st := procStatus("VmRSS", "RssAnon", "RssFile")
				fmt.Fprintf(w, "memory t=%.0fs rss_mb=%.1f rss_anon_mb=%.1f rss_file_mb=%.1f heap_inuse_mb=%.1f\n",
					time.Since(start).Seconds(), mib(st["VmRSS"]), mib(st["RssAnon"]), mib(st["RssFile"]), mib(int64(ms.HeapInuse)))
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// procStatus returns the named kB fields of /proc/self/status in bytes
// (none where the file does not exist).
func procStatus(names ...string) map[string]int64 {
	out := map[string]int64{}
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || !slices.Contains(names, name) {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err == nil {
			out[name] = kb << 10
		}
	}
	return out
}
