//go:build unix

package robustness

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var (
	flagKVBench   = flag.Bool("kvbench", false, "run TestKVBench: the kvstore's write throughput and its recovery from leader kills")
	flagKVClients = flag.Int("kvbench.clients", 64, "TestKVBench: concurrent HTTP clients")
	flagKVWindow  = flag.Duration("kvbench.duration", 10*time.Second, "TestKVBench: the measured window")
	flagKVKills   = flag.Int("kvbench.kills", 10, "TestKVBench: leader kills to time")
	flagKVProfile = flag.String("kvbench.cpuprofile", "", "TestKVBench: a directory where each member writes a CPU profile of its first run")
)

// TestKVBench measures the kvstore as a user runs it: three processes on
// loopback, Badger on disk, direct links. It reports numbers, it asserts
// none but "it works": this machine is shared.
//
//	go test -count=1 -run TestKVBench ./internal/robustness -kvbench -v
func TestKVBench(t *testing.T) {
	if !*flagKVBench {
		t.Skip("the kvstore benchmark runs with -kvbench")
	}
	base, err := os.MkdirTemp("", "kvbench-")
	require.NoError(t, err)
	defer os.RemoveAll(base)
	bin := buildKVStore(t, base)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	require.NoError(t, os.MkdirAll(filepath.Join(base, "cluster"), 0o755))
	c, err := startClusterWith(ctx, bin, filepath.Join(base, "cluster"), 3, false, *flagKVProfile)
	require.NoError(t, err)
	defer c.close()

	t.Run("throughput", func(t *testing.T) { kvThroughput(ctx, t, c) })
	t.Run("leader-kill", func(t *testing.T) { kvFailover(ctx, t, c) })
}

func kvPut(ctx context.Context, hc *http.Client, addr, key string, value []byte) error {
	body := append(append([]byte(`{"value":"`), value...), `"}`...)
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, "http://"+addr+"/kv/"+key, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s", resp.Status)
	}
	return nil
}

// rawPutter is one closed-loop writer's HTTP/1.1 connection. It writes the
// request and parses the reply on the writer's goroutine, as wrk does:
// net/http's client adds two goroutines and their hand-offs per request,
// and on this 2-core machine the load generator's CPU is taken from the
// cluster it measures.
type rawPutter struct {
	addr string
	conn net.Conn
	br   *bufio.Reader
	req  []byte
}

func (w *rawPutter) put(client, key int, value []byte) error {
	if w.conn == nil {
		conn, err := net.DialTimeout("tcp", w.addr, 10*time.Second)
		if err != nil {
			return err
		}
		w.conn, w.br = conn, bufio.NewReader(conn)
	}
	const bodyExtra = len(`{"value":""}`)
	r := append(w.req[:0], "PUT /kv/k"...)
	r = strconv.AppendInt(r, int64(client), 10)
	r = append(r, '-')
	r = strconv.AppendInt(r, int64(key), 10)
	r = append(r, " HTTP/1.1\r\nHost: "...)
	r = append(r, w.addr...)
	r = append(r, "\r\nContent-Type: application/json\r\nContent-Length: "...)
	r = strconv.AppendInt(r, int64(len(value)+bodyExtra), 10)
	r = append(r, "\r\n\r\n{\"value\":\""...)
	r = append(r, value...)
	r = append(r, "\"}"...)
	w.req = r
	err := w.conn.SetDeadline(time.Now().Add(10 * time.Second))
	if err == nil {
		_, err = w.conn.Write(r)
	}
	var resp *http.Response
	if err == nil {
		resp, err = http.ReadResponse(w.br, nil)
	}
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if err != nil || resp.Close {
		w.close()
	}
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s", resp.Status)
	}
	return err
}

func (w *rawPutter) close() {
	if w.conn != nil {
		_ = w.conn.Close()
		w.conn = nil
	}
}

// kvThroughput runs closed-loop writers (128-byte values, random keys) spread
// over every member.
func kvThroughput(ctx context.Context, t *testing.T, c *cluster) {
	warm, window := 2*time.Second, *flagKVWindow
	start := time.Now()
	var (
		mu   sync.Mutex
		lats []time.Duration
		errs int
		wg   sync.WaitGroup
	)
	var cpuFrom, cpuTo cpuTimes
	markTo := make(chan struct{})
	go func() {
		// The window's CPU, without the warm-up: read at its two ends.
		if sleep(ctx, warm) {
			cpuFrom = readCPU(c)
		}
		if sleep(ctx, window) {
			cpuTo = readCPU(c)
		}
		close(markTo)
	}()
	for i := 0; i < *flagKVClients; i++ {
		addr := c.procs[i%len(c.procs)].http
		wg.Add(1)
		go func() {
			defer wg.Done()
			raw := make([]byte, 64)
			w := &rawPutter{addr: addr}
			defer w.close()
			var mine []time.Duration
			bad := 0
			for n := 0; time.Since(start) < warm+window; n++ {
				_, _ = rand.Read(raw)
				v := []byte(hex.EncodeToString(raw)) // 128 bytes
				s := time.Now()
				err := w.put(i, n%100, v)
				if s.Sub(start) < warm {
					continue
				}
				if err != nil {
					bad++
					continue
				}
				mine = append(mine, time.Since(s))
			}
			mu.Lock()
			lats, errs = append(lats, mine...), errs+bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	<-markTo
	require.NotEmpty(t, lats)
	slices.Sort(lats)
	q := func(p float64) time.Duration { return lats[int(p*float64(len(lats)-1))].Round(10 * time.Microsecond) }
	t.Logf("kvstore, 3 processes, Badger, %d HTTP clients, 128-byte values: %.0f writes/s, p50 %v, p99 %v, max %v, %d errors (%d writes in %v)",
		*flagKVClients, float64(len(lats))/window.Seconds(), q(0.5), q(0.99), q(1), errs, len(lats), window)
	if self, members := cpuTo.perOp(cpuFrom, len(lats)); len(members) > 0 {
		var sum time.Duration
		for _, m := range members {
			sum += m
		}
		t.Logf("CPU per write: members %v in all %v, load generator %v (%.2f cores in all)",
			sum, members, self, float64((sum+self)*time.Duration(len(lats)))/float64(window))
	}
}

// kvFailover kills the leader (SIGKILL) again and again while a writer
// writes through another member, and times from the kill to the first
// acknowledged write that started after it.
func kvFailover(ctx context.Context, t *testing.T, c *cluster) {
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	var gaps []time.Duration
	for k := 0; k < *flagKVKills; k++ {
		lead := -1
		require.Eventually(t, func() bool {
			// Writes elect a leader if there is none.
			_ = kvPut(ctx, hc, c.procs[k%3].http, "warm", []byte("x"))
			lead = c.leader(ctx)
			return lead >= 0
		}, 30*time.Second, 20*time.Millisecond)
		via := c.procs[(lead+1)%len(c.procs)]
		killed := c.procs[lead]
		require.NoError(t, c.kill(killed))
		at := time.Now()
		for {
			s := time.Now()
			wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			err := kvPut(wctx, hc, via.http, fmt.Sprintf("fail%d", k), []byte("after the kill"))
			cancel()
			if err == nil && s.After(at) {
				gaps = append(gaps, time.Since(at))
				break
			}
			require.Less(t, time.Since(at), time.Minute, "no write within a minute of killing the leader")
		}
		require.NoError(t, c.restart(ctx, killed))
	}
	if len(gaps) == 0 {
		return
	}
	slices.Sort(gaps)
	t.Logf("writes resumed after a leader SIGKILL in %v (median of %d), min %v, max %v; all: %v",
		gaps[len(gaps)/2].Round(time.Millisecond), len(gaps), gaps[0].Round(time.Millisecond), gaps[len(gaps)-1].Round(time.Millisecond), gaps)
}
