package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDemo(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, runDemo(context.Background(), t.TempDir(), 1024, slog.New(slog.DiscardHandler), &out))
	require.Contains(t, out.String(), "every member returned every write: ok")
}

func TestRunRejectsIncompleteSingleMemberFlags(t *testing.T) {
	err := run([]string{"-rpc", "127.0.0.1:0"}, io.Discard, io.Discard)
	require.ErrorContains(t, err, "needs -data")
}

func localCluster(t *testing.T) []*member {
	t.Helper()
	ms, err := startLocal(t.TempDir(), "127.0.0.1", 0, 1024, nil)
	require.NoError(t, err)
	t.Cleanup(func() {
		// A connection the client dialed but never used is, to the server,
		// a request on its way: Shutdown waits up to 5 s for it (net/http
		// issue 22682), as long as the members' shutdown timeout.
		http.DefaultClient.CloseIdleConnections()
		require.NoError(t, closeAll(ms))
	})
	return ms
}

func do(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestHTTPBadInput(t *testing.T) {
	ms := localCluster(t)
	base := "http://" + ms[0].httpAddr()
	for _, tc := range []struct {
		name, method, path, body string
		code                     int
	}{
		{"malformed json", "PUT", "/kv/a", `{"value":`, http.StatusBadRequest},
		{"not an object", "PUT", "/kv/a", `"x"`, http.StatusBadRequest},
		{"missing value", "PUT", "/kv/a", `{}`, http.StatusBadRequest},
		{"unknown field", "PUT", "/kv/a", `{"value":"x","ttl":3}`, http.StatusBadRequest},
		{"key too long", "PUT", "/kv/" + strings.Repeat("k", maxKeyBytes+1), `{"value":"x"}`, http.StatusBadRequest},
		{"value over the limit", "PUT", "/kv/a", `{"value":"` + strings.Repeat("v", 1025) + `"}`, http.StatusRequestEntityTooLarge},
		{"body far over the limit", "PUT", "/kv/a", strings.Repeat("v", 1<<20), http.StatusRequestEntityTooLarge},
		{"missing key", "GET", "/kv/never-written", "", http.StatusNotFound},
		{"no such route", "GET", "/nope", "", http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := do(t, tc.method, base+tc.path, tc.body)
			require.Equal(t, tc.code, code, body)
		})
	}
	// Nothing of the above reached the log.
	st := ms[0].node.Status()
	require.Zero(t, st.Position)
}

func TestReadsAreLinearizableOnEveryMember(t *testing.T) {
	ms := localCluster(t)
	for i := 0; i < 20; i++ {
		w := ms[i%3]
		r := ms[(i+1)%3]
		v := fmt.Sprintf("v%d", i)
		code, body := do(t, "PUT", "http://"+w.httpAddr()+"/kv/k", `{"value":"`+v+`"}`)
		require.Equal(t, http.StatusOK, code, body)
		code, body = do(t, "GET", "http://"+r.httpAddr()+"/kv/k", "")
		require.Equal(t, http.StatusOK, code, body)
		require.Contains(t, body, `"value":"`+v+`"`)
	}
}

func TestConcurrentWritersAllVisible(t *testing.T) {
	ms := localCluster(t)
	var wg sync.WaitGroup
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				code, body := do(t, "PUT", fmt.Sprintf("http://%s/kv/c%d-%d", ms[(c+i)%3].httpAddr(), c, i), `{"value":"x"}`)
				if code != http.StatusOK {
					t.Errorf("PUT: %d %s", code, body)
				}
			}
		}()
	}
	wg.Wait()
	for c := 0; c < 8; c++ {
		for i := 0; i < 10; i++ {
			code, body := do(t, "GET", fmt.Sprintf("http://%s/kv/c%d-%d", ms[2].httpAddr(), c, i), "")
			require.Equal(t, http.StatusOK, code, body)
		}
	}
}

// A member whose peers are all gone fails requests with a clear error within
// their deadline; it never hangs.
func TestUnreachablePeersFailWithinTheDeadline(t *testing.T) {
	dir := t.TempDir()
	self, err := freePort("127.0.0.1")
	require.NoError(t, err)
	other1, err := freePort("127.0.0.1")
	require.NoError(t, err)
	other2, err := freePort("127.0.0.1")
	require.NoError(t, err)
	m, err := startMember(memberConfig{dataDir: filepath.Join(dir, "m"), rpc: self, http: "127.0.0.1:0",
		peers: []string{self, other1, other2}, maxValueBytes: 1024})
	require.NoError(t, err)
	defer func() { require.NoError(t, m.close()) }()
	start := time.Now()
	code, body := do(t, "PUT", "http://"+m.httpAddr()+"/kv/a", `{"value":"x"}`)
	took := time.Since(start)
	require.Contains(t, []int{http.StatusServiceUnavailable, http.StatusGatewayTimeout}, code, body)
	require.Contains(t, body, "may or may not have happened")
	require.Less(t, took, 30*time.Second, "the request deadline is %v", requestTimeout)
	t.Logf("a write with no quorum failed after %v: %s", took.Round(time.Millisecond), strings.TrimSpace(body))
	code, body = do(t, "GET", "http://"+m.httpAddr()+"/kv/a", "")
	require.Equal(t, http.StatusServiceUnavailable, code, body)
}

// Garbage on a member's RPC port is dropped (and logged by yarpc); the
// member keeps serving.
func TestGarbageOnTheRPCPort(t *testing.T) {
	ms := localCluster(t)
	conn, err := net.Dial("tcp", ms[1].node.Addr())
	require.NoError(t, err)
	_, _ = conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n\x00\xff garbage"))
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = io.ReadAll(conn)
	require.NoError(t, err, "the member closes the connection")
	require.NoError(t, conn.Close())
	code, body := do(t, "PUT", "http://"+ms[1].httpAddr()+"/kv/after", `{"value":"garbage"}`)
	require.Equal(t, http.StatusOK, code, body)
}

func TestOpEncoding(t *testing.T) {
	for _, o := range []op{
		{Op: "put", Key: "k", Value: "v"},
		{Op: "put", Key: "ключ", Value: ""},
		{Op: "put", Key: strings.Repeat("k", maxKeyBytes), Value: strings.Repeat("v", 4096)},
		{Op: "delete", Key: "gone"},
	} {
		got, err := decodeOp(o.encode())
		require.NoError(t, err)
		require.Equal(t, o, got)
	}

	// Records of earlier versions, in JSON, still apply.
	legacy, err := json.Marshal(op{Op: "put", Key: "old", Value: "json"})
	require.NoError(t, err)
	got, err := decodeOp(legacy)
	require.NoError(t, err)
	require.Equal(t, op{Op: "put", Key: "old", Value: "json"}, got)

	for name, b := range map[string][]byte{
		"empty":         nil,
		"unknown kind":  {9, 1, 'k'},
		"no length":     {opPut},
		"key past end":  {opPut, 5, 'k'},
		"huge length":   {opPut, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"broken legacy": []byte(`{"op":`),
	} {
		_, err := decodeOp(b)
		require.Error(t, err, name)
	}

	// A record that is not an op is skipped: the position still counts.
	s := newStore()
	s.apply(1, []byte{9})
	s.apply(2, op{Op: "put", Key: "a", Value: "1"}.encode())
	v, ok, applied := s.get("a")
	require.True(t, ok)
	require.Equal(t, "1", v)
	require.Equal(t, uint64(2), applied)
	s.apply(3, op{Op: "delete", Key: "a"}.encode())
	_, ok, _ = s.get("a")
	require.False(t, ok)
}
