//go:build unix

package robustness

import (
	"bufio"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// echoServer answers every line with the same line.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
	})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func startProxy(t *testing.T) *proxy {
	t.Helper()
	p, err := newProxy(echoServer(t))
	require.NoError(t, err)
	t.Cleanup(p.close)
	return p
}

// roundTrip sends one line and waits (at most the deadline) for its echo.
func roundTrip(c net.Conn, r *bufio.Reader, line string, deadline time.Duration) (string, error) {
	_ = c.SetDeadline(time.Now().Add(deadline))
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", err
	}
	return r.ReadString('\n')
}

// connect dials addr and makes one round trip.
func connect(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	r := bufio.NewReader(c)
	got, err := roundTrip(c, r, "hello", 10*time.Second)
	require.NoError(t, err)
	require.Equal(t, "hello\n", got)
	return c, r
}

func TestProxyForwards(t *testing.T) {
	p := startProxy(t)
	c, r := connect(t, p.addr())
	for _, line := range []string{"a", "bb", "ccc"} {
		got, err := roundTrip(c, r, line, 10*time.Second)
		require.NoError(t, err)
		require.Equal(t, line+"\n", got)
	}
}

func TestProxyCutResetsOpenAndNewConnections(t *testing.T) {
	p := startProxy(t)
	c, r := connect(t, p.addr())

	p.set(cut, 0)
	_, err := roundTrip(c, r, "during", 10*time.Second)
	require.Error(t, err, "the open connection is reset")
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "reset, not a timeout: %v", err)

	require.Error(t, dialAndSend(p.addr()), "a new connection is reset")

	p.set(pass, 0)
	connect(t, p.addr())
}

func TestProxyBlackholeHoldsThenDelivers(t *testing.T) {
	p := startProxy(t)
	c, r := connect(t, p.addr())

	p.set(blackhole, 0)
	_, err := roundTrip(c, r, "held", 200*time.Millisecond)
	var ne net.Error
	require.True(t, errors.As(err, &ne) && ne.Timeout(), "nothing comes back while blackholed: %v", err)
	c2, err := net.Dial("tcp", p.addr())
	require.NoError(t, err, "new connections are accepted and held")
	defer c2.Close()
	r2 := bufio.NewReader(c2)
	_, err = roundTrip(c2, r2, "held2", 200*time.Millisecond)
	require.True(t, errors.As(err, &ne) && ne.Timeout(), "nothing comes back while blackholed: %v", err)

	p.set(pass, 0)
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	got, err := r.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "held\n", got, "what was held is delivered once healed")
	_ = c2.SetDeadline(time.Now().Add(10 * time.Second))
	got, err = r2.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "held2\n", got)
}

func TestProxyDelayKeepsOrder(t *testing.T) {
	p := startProxy(t)
	const delay = 50 * time.Millisecond
	p.set(pass, delay)
	c, err := net.Dial("tcp", p.addr())
	require.NoError(t, err)
	defer c.Close()
	start := time.Now()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	for _, line := range []string{"1", "2", "3"} {
		_, err := io.WriteString(c, line+"\n")
		require.NoError(t, err)
	}
	r := bufio.NewReader(c)
	for _, line := range []string{"1", "2", "3"} {
		got, err := r.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, line+"\n", got)
	}
	// Both directions are delayed: a round trip takes at least twice the
	// delay (a lower bound, which no scheduling can break).
	require.GreaterOrEqual(t, time.Since(start), 2*delay)
}

func TestProxyTargetDownResets(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	target := ln.Addr().String()
	require.NoError(t, ln.Close())
	p, err := newProxy(target)
	require.NoError(t, err)
	defer p.close()
	require.Error(t, dialAndSend(p.addr()))
}

// dialAndSend makes one round trip on a new connection. The proxy accepts
// before it resets, so the reset shows at the dial or at the round trip.
func dialAndSend(addr string) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = roundTrip(c, bufio.NewReader(c), "x", 10*time.Second)
	return err
}
