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
	"time"
)

// runDemo starts a local cluster in dir, writes through one member, reads
// every key back from every member and prints what it did.
func runDemo(ctx context.Context, dir string, maxValue int, logger *slog.Logger, out io.Writer) error {
	start := time.Now()
	ms, err := startLocal(dir, "127.0.0.1", 0, maxValue, logger)
	if err != nil {
		return err
	}
	defer func() { _ = closeAll(ms) }()
	fmt.Fprintf(out, "started 3 members (Badger in %s) in %v\n", dir, time.Since(start).Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	c := &http.Client{Timeout: 10 * time.Second}
	kv := map[string]string{"hello": "world", "paxos": "agrees", "answer": "42"}
	for _, k := range []string{"hello", "paxos", "answer"} {
		m := ms[len(k)%3]
		var r kvReply
		if err := call(ctx, c, http.MethodPut, "http://"+m.httpAddr()+"/kv/"+k, map[string]string{"value": kv[k]}, &r); err != nil {
			return fmt.Errorf("PUT %s: %w", k, err)
		}
		fmt.Fprintf(out, "PUT %-6s = %-7q via member %d: position %d\n", k, kv[k], len(k)%3+1, r.Position)
	}
	var del kvReply
	if err := call(ctx, c, http.MethodDelete, "http://"+ms[0].httpAddr()+"/kv/answer", nil, &del); err != nil {
		return fmt.Errorf("DELETE answer: %w", err)
	}
	fmt.Fprintf(out, "DELETE answer via member 1: position %d\n", del.Position)
	delete(kv, "answer")
	for i, m := range ms {
		for _, k := range []string{"hello", "paxos", "answer"} {
			var r kvReply
			err := call(ctx, c, http.MethodGet, "http://"+m.httpAddr()+"/kv/"+k, nil, &r)
			want, exists := kv[k]
			switch {
			case !exists && err == errNotFound:
				fmt.Fprintf(out, "GET %-6s from member %d: not found (deleted), read at position %d\n", k, i+1, r.Position)
			case err != nil:
				return fmt.Errorf("GET %s from member %d: %w", k, i+1, err)
			case r.Value != want:
				return fmt.Errorf("GET %s from member %d: %q, want %q", k, i+1, r.Value, want)
			default:
				fmt.Fprintf(out, "GET %-6s from member %d: %q, read at position %d\n", k, i+1, r.Value, r.Position)
			}
		}
	}
	fmt.Fprintf(out, "every member returned every write: ok (%v)\n", time.Since(start).Round(time.Millisecond))
	return nil
}

var errNotFound = fmt.Errorf("not found")

func call(ctx context.Context, c *http.Client, method, url string, body, out interface{}) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode == http.StatusNotFound {
		_ = json.Unmarshal(b, out)
		return errNotFound
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(b))
	}
	return json.Unmarshal(b, out)
}

// freePort reserves a loopback port for a member's RPC listener.
func freePort(host string) (string, error) {
	l, err := net.Listen("tcp", host+":0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}
