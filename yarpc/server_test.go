package yarpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestShutdownLetsHandlersFinish(t *testing.T) {
	defer goleak.VerifyNone(t)
	svr := &Server{}
	started := make(chan struct{})
	release := make(chan struct{})
	svr.HandleFunc("work", func(s Stream) error {
		close(started)
		<-release
		return s.WriteMsg(&binMsg{N: 7})
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	served := make(chan error, 1)
	go func() { served <- svr.Serve(l, WithShutdownTimeout(time.Minute)) }()

	cc := DialContext(context.Background(), "tcp", addr)
	defer cc.Close()
	s, err := cc.OpenStream(context.Background(), "work")
	require.NoError(t, err)
	require.NoError(t, s.WriteMsg(&binMsg{}))
	recvWithin(t, started, "handler start")

	shut := make(chan error, 1)
	go func() { shut <- svr.Shutdown() }()
	require.ErrorIs(t, recvWithin(t, served, "Serve to return"), ErrServerClosed)

	// The port is free while the handler still runs.
	require.Eventually(t, func() bool {
		l2, err := net.Listen("tcp", addr)
		if err == nil {
			l2.Close()
		}
		return err == nil
	}, waitFor, 10*time.Millisecond)

	// New streams are refused (by the draining connection or, once the
	// client saw the go-away, by the closed listener).
	_, err = unary(context.Background(), cc, "work", &binMsg{})
	require.Error(t, err)

	close(release)
	require.NoError(t, recvWithin(t, shut, "Shutdown"))
	var m binMsg
	require.NoError(t, s.ReadMsg(&m), "the in-flight reply was delivered")
	require.Equal(t, uint64(7), m.N)
	require.NoError(t, s.Close())
	require.NoError(t, cc.Close())
	require.ErrorIs(t, svr.Serve(mustListen(t)), ErrServerClosed, "Serve after Shutdown")
}

func TestShutdownCancelsAfterTimeout(t *testing.T) {
	defer goleak.VerifyNone(t)
	svr := &Server{}
	started := make(chan struct{})
	cancelled := make(chan error, 1)
	svr.HandleFunc("stuck", func(s Stream) error {
		close(started)
		<-s.Context().Done()
		cancelled <- s.Context().Err()
		return s.Context().Err()
	})
	l := mustListen(t)
	served := make(chan error, 1)
	go func() { served <- svr.Serve(l, WithShutdownTimeout(50*time.Millisecond)) }()
	cc := DialContext(context.Background(), "tcp", l.Addr().String())
	defer cc.Close()
	s, err := cc.OpenStream(context.Background(), "stuck")
	require.NoError(t, err)
	require.NoError(t, s.WriteMsg(&binMsg{}))
	recvWithin(t, started, "handler start")

	require.NoError(t, svr.Shutdown())
	l2, err := net.Listen("tcp", l.Addr().String())
	require.NoError(t, err, "the port is free when Shutdown returns")
	require.NoError(t, l2.Close())
	require.ErrorIs(t, recvWithin(t, cancelled, "handler cancel"), context.Canceled)
	require.ErrorIs(t, recvWithin(t, served, "Serve"), ErrServerClosed)
	var m binMsg
	require.ErrorIs(t, s.ReadMsg(&m), &Status{Code: CodeCanceled}, "the handler's outcome still reaches the client")
	require.NoError(t, cc.Close())
}

func TestShutdownWithoutServe(t *testing.T) {
	svr := &Server{}
	require.NoError(t, svr.Shutdown())
	require.NoError(t, svr.Shutdown(), "twice")
	l := mustListen(t)
	require.ErrorIs(t, svr.Serve(l), ErrServerClosed)
	_, err := l.Accept()
	require.ErrorIs(t, err, net.ErrClosed, "Serve closes its listener")
}

func TestServeManyListeners(t *testing.T) {
	defer goleak.VerifyNone(t)
	svr := echoServer()
	l1, l2 := mustListen(t), mustListen(t)
	done := make(chan error, 2)
	go func() { done <- svr.Serve(l1) }()
	go func() { done <- svr.Serve(l2) }()
	for _, l := range []net.Listener{l1, l2} {
		cc := DialContext(context.Background(), "tcp", l.Addr().String())
		out, err := unary(context.Background(), cc, "unary", &binMsg{N: 1})
		require.NoError(t, err)
		require.Equal(t, uint64(2), out.N)
		require.NoError(t, cc.Close())
	}
	require.NoError(t, svr.Shutdown())
	require.ErrorIs(t, recvWithin(t, done, "Serve 1"), ErrServerClosed)
	require.ErrorIs(t, recvWithin(t, done, "Serve 2"), ErrServerClosed)
}

func TestBaseContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "v"))
	svr := &Server{}
	values := make(chan any, 1)
	svr.HandleFunc("ctx", func(s Stream) error {
		var m binMsg
		if err := s.ReadMsg(&m); err != nil {
			return err
		}
		values <- s.Context().Value(ctxKey{})
		err := s.ReadMsg(&m) // blocks until the base context ends
		if !errors.Is(err, context.Canceled) {
			return fmt.Errorf("want context.Canceled, got %v", err)
		}
		return errors.New("cancelled")
	})
	ts := startServer(t, svr, WithContext(ctx))
	cc := ts.dial(t)
	s, err := cc.OpenStream(context.Background(), "ctx")
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.WriteMsg(&binMsg{}))
	require.Equal(t, "v", recvWithin(t, values, "handler"))
	cancel()
	var m binMsg
	err = s.ReadMsg(&m)
	require.Equal(t, &Status{Code: CodeUnknown, Message: "cancelled"}, err)
}

type ctxKey struct{}

func TestMaxConcurrentStreams(t *testing.T) {
	svr := &Server{}
	release := make(chan struct{})
	svr.HandleFunc("hold", func(s Stream) error {
		<-release
		return nil
	})
	ts := startServer(t, svr, WithMaxConcurrentStreams(2))
	cc := ts.dial(t)
	var held []Stream
	for range 2 {
		s, err := cc.OpenStream(context.Background(), "hold")
		require.NoError(t, err)
		require.NoError(t, CloseSend(s))
		held = append(held, s)
	}
	// The third is refused once the first two run; they are started in
	// order on one connection, so the refusal is certain.
	s, err := cc.OpenStream(context.Background(), "hold")
	require.NoError(t, err)
	var m binMsg
	require.ErrorIs(t, s.ReadMsg(&m), &Status{Code: CodeResourceExhausted})
	s.Close()
	close(release)
	for _, s := range held {
		require.ErrorIs(t, s.ReadMsg(&m), io.EOF)
		s.Close()
	}
}

func TestDefaultServerFuncs(t *testing.T) {
	// A fresh DefaultServer, so that -count=N registers anew.
	saved := DefaultServer
	DefaultServer = &Server{}
	defer func() { DefaultServer = saved }()
	HandleFunc("yarpc.test.default", func(s Stream) error { return nil })
	require.NotNil(t, DefaultServer.mux.lookup([]byte("yarpc.test.default")))
	require.Panics(t, func() { HandleFunc("yarpc.test.default", func(s Stream) error { return nil }) })
	require.Panics(t, func() { Handle("", HandlerFunc(func(s Stream) error { return nil })) })
	require.Panics(t, func() { Handle("x", nil) })
	err := ListenAndServe("tcp", "256.0.0.1:bad")
	require.Error(t, err)
}

func mustListen(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	return l
}
