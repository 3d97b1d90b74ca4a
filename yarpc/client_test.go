package yarpc

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestLazyDial(t *testing.T) {
	defer goleak.VerifyNone(t)
	dials := make(chan struct{}, 10)
	l := mustListen(t)
	svr := echoServer()
	done := make(chan error, 1)
	go func() { done <- svr.Serve(l) }()
	dialer := func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials <- struct{}{}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	cc := DialContext(context.Background(), "tcp", l.Addr().String(), WithDialer(dialer))
	require.Len(t, dials, 0, "DialContext does not connect")
	for range 3 {
		_, err := unary(context.Background(), cc, "unary", &binMsg{})
		require.NoError(t, err)
	}
	require.Len(t, dials, 1, "one connection for every call")
	require.NoError(t, cc.Close())
	_, err := cc.OpenStream(context.Background(), "unary")
	require.ErrorIs(t, err, ErrClientClosed)
	require.NoError(t, svr.Shutdown())
	<-done
}

func TestRedialAfterServerRestart(t *testing.T) {
	defer goleak.VerifyNone(t)
	l := mustListen(t)
	addr := l.Addr().String()
	svr1 := echoServer()
	done := make(chan error, 1)
	go func() { done <- svr1.Serve(l) }()
	cc := DialContext(context.Background(), "tcp", addr, WithRedialBackoff(time.Millisecond, 20*time.Millisecond))
	defer cc.Close()
	_, err := unary(context.Background(), cc, "unary", &binMsg{})
	require.NoError(t, err)

	require.NoError(t, svr1.Shutdown())
	require.ErrorIs(t, <-done, ErrServerClosed)

	// While the server is down calls fail (connection refused, then the
	// back-off's ErrUnavailable), and nothing blocks.
	_, err = unary(context.Background(), cc, "unary", &binMsg{})
	require.Error(t, err)

	l2, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	svr2 := echoServer()
	go func() { done <- svr2.Serve(l2) }()
	require.Eventually(t, func() bool {
		out, err := unary(context.Background(), cc, "unary", &binMsg{N: 4})
		return err == nil && out.N == 5
	}, waitFor, 5*time.Millisecond)
	require.NoError(t, cc.Close())
	require.NoError(t, svr2.Shutdown())
	require.ErrorIs(t, <-done, ErrServerClosed)
}

func TestBackoffFailsFast(t *testing.T) {
	l := mustListen(t)
	addr := l.Addr().String()
	l.Close() // nobody listens
	cc := DialContext(context.Background(), "tcp", addr, WithRedialBackoff(time.Hour, time.Hour))
	defer cc.Close()
	_, err := cc.OpenStream(context.Background(), "x")
	require.Error(t, err)
	require.NotErrorIs(t, err, ErrUnavailable, "the first dial's own error")
	_, err = cc.OpenStream(context.Background(), "x")
	require.ErrorIs(t, err, ErrUnavailable, "then fail fast during the back-off")
	require.ErrorContains(t, err, "dial tcp")
}

func TestOpenStreamHonoursContextWhileDialing(t *testing.T) {
	defer goleak.VerifyNone(t)
	block := make(chan struct{})
	dialer := func(ctx context.Context, network, addr string) (net.Conn, error) {
		select {
		case <-block:
		case <-ctx.Done():
		}
		return nil, context.Cause(ctx)
	}
	cc := DialContext(context.Background(), "tcp", "x:1", WithDialer(dialer))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := cc.OpenStream(ctx, "m")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NoError(t, cc.Close(), "Close aborts the dial")
	close(block)
}

func TestDialContextBoundsClientConn(t *testing.T) {
	ts := startServer(t, echoServer())
	ctx, cancel := context.WithCancel(context.Background())
	cc := DialContext(ctx, "tcp", ts.addr)
	s, err := cc.OpenStream(context.Background(), "echo")
	require.NoError(t, err)
	require.NoError(t, s.WriteMsg(&binMsg{}))
	var m binMsg
	require.NoError(t, s.ReadMsg(&m))
	cancel()
	require.Eventually(t, func() bool {
		_, err := cc.OpenStream(context.Background(), "echo")
		return err == ErrClientClosed
	}, waitFor, time.Millisecond)
	require.ErrorIs(t, s.ReadMsg(&m), ErrClientClosed)
	require.NoError(t, cc.Close())
}

func TestBadMethodName(t *testing.T) {
	cc := DialContext(context.Background(), "tcp", "127.0.0.1:1")
	defer cc.Close()
	_, err := cc.OpenStream(context.Background(), "")
	require.Error(t, err)
	_, err = cc.OpenStream(context.Background(), string(make([]byte, maxMethodBytes+1)))
	require.Error(t, err)
}
