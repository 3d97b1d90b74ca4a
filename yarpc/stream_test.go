package yarpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestUnary(t *testing.T) {
	ts := startServer(t, echoServer())
	cc := ts.dial(t)
	for i := range 3 {
		out, err := unary(context.Background(), cc, "unary", &binMsg{N: uint64(i), Payload: []byte("hi")})
		require.NoError(t, err)
		require.Equal(t, uint64(i+1), out.N)
		require.Equal(t, "hi", string(out.Payload))
	}
}

func TestEOFAfterMessages(t *testing.T) {
	svr := &Server{}
	svr.HandleFunc("count", func(s Stream) error {
		var req binMsg
		if err := s.ReadMsg(&req); err != nil {
			return err
		}
		for i := range req.N {
			if err := s.WriteMsg(&binMsg{N: i}); err != nil {
				return err
			}
		}
		return nil
	})
	ts := startServer(t, svr)
	cc := ts.dial(t)
	s := open(t, cc, "count")
	const n = 5000 // several flow-control windows
	require.NoError(t, s.WriteMsg(&binMsg{N: n, Payload: make([]byte, 100)}))
	for i := range uint64(n) {
		var m binMsg
		require.NoError(t, s.ReadMsg(&m))
		require.Equal(t, i, m.N)
	}
	var m binMsg
	require.ErrorIs(t, s.ReadMsg(&m), io.EOF)
	require.ErrorIs(t, s.ReadMsg(&m), io.EOF, "EOF is sticky")
	require.ErrorIs(t, s.WriteMsg(&m), io.EOF, "writing after the handler finished")
}

func TestHalfClose(t *testing.T) {
	svr := &Server{}
	svr.HandleFunc("sum", func(s Stream) error {
		var sum uint64
		for {
			var m binMsg
			err := s.ReadMsg(&m)
			if errors.Is(err, io.EOF) {
				return s.WriteMsg(&binMsg{N: sum})
			}
			if err != nil {
				return err
			}
			sum += m.N
		}
	})
	ts := startServer(t, svr)
	cc := ts.dial(t)
	s := open(t, cc, "sum")
	for i := range 10 {
		require.NoError(t, s.WriteMsg(&binMsg{N: uint64(i)}))
	}
	require.NoError(t, CloseSend(s))
	require.ErrorIs(t, s.WriteMsg(&binMsg{}), ErrStreamClosed)
	var m binMsg
	require.NoError(t, s.ReadMsg(&m))
	require.Equal(t, uint64(45), m.N)
	require.ErrorIs(t, s.ReadMsg(&m), io.EOF)
}

func TestCloseSendWithoutMessages(t *testing.T) {
	ts := startServer(t, echoServer())
	cc := ts.dial(t)
	s := open(t, cc, "echo")
	require.NoError(t, CloseSend(s))
	var m binMsg
	require.ErrorIs(t, s.ReadMsg(&m), io.EOF)
}

func TestHandlerErrorIsStatus(t *testing.T) {
	svr := &Server{}
	svr.HandleFunc("fail", func(s Stream) error {
		if err := s.WriteMsg(&binMsg{N: 1}); err != nil {
			return err
		}
		return errors.New("boom")
	})
	svr.HandleFunc("status", func(s Stream) error {
		return fmt.Errorf("wrapped: %w", Errorf(CodeInvalidArgument, "bad %d", 7))
	})
	svr.HandleFunc("panic", func(s Stream) error { panic("kaboom") })
	ts := startServer(t, svr)
	cc := ts.dial(t)

	read := func(method string) (*Status, int) {
		s, err := cc.OpenStream(context.Background(), method)
		require.NoError(t, err)
		defer s.Close()
		n := 0
		for {
			var m binMsg
			err := s.ReadMsg(&m)
			if err == nil {
				n++
				continue
			}
			st, ok := err.(*Status)
			require.True(t, ok, "want *Status, got %T %v", err, err)
			return st, n
		}
	}
	st, n := read("fail")
	require.Equal(t, 1, n, "the message before the error arrives")
	require.Equal(t, &Status{Code: CodeUnknown, Message: "boom"}, st)

	st, _ = read("status")
	require.Equal(t, &Status{Code: CodeInvalidArgument, Message: "bad 7"}, st)
	require.ErrorIs(t, st, &Status{Code: CodeInvalidArgument})

	st, _ = read("panic")
	require.Equal(t, CodeInternal, st.Code)
	require.Contains(t, st.Message, "kaboom")

	st, _ = read("nope")
	require.Equal(t, CodeNotFound, st.Code)
	require.Contains(t, st.Message, `"nope"`)

	// The connection survived all of that.
	_, err := unary(context.Background(), cc, "unary", &binMsg{})
	require.ErrorIs(t, err, &Status{Code: CodeNotFound})
}

func TestJSONFallback(t *testing.T) {
	svr := &Server{}
	svr.HandleFunc("json", func(s Stream) error {
		var m jsonMsg
		if err := s.ReadMsg(&m); err != nil {
			return err
		}
		m.N *= 2
		return s.WriteMsg(&m)
	})
	ts := startServer(t, svr)
	cc := ts.dial(t)
	s := open(t, cc, "json")
	require.NoError(t, s.WriteMsg(&jsonMsg{Text: "x", N: 21}))
	var m jsonMsg
	require.NoError(t, s.ReadMsg(&m))
	require.Equal(t, jsonMsg{Text: "x", N: 42}, m)
}

func TestManyConcurrentStreamsOneConnection(t *testing.T) {
	ts := startServer(t, echoServer())
	cc := ts.dial(t)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 64 {
		wg.Go(func() {
			for i := range 50 {
				in := &binMsg{N: uint64(g*1000 + i), Payload: []byte(fmt.Sprint(g, i))}
				out, err := unary(context.Background(), cc, "unary", in)
				if err != nil {
					errs <- err
					return
				}
				if out.N != in.N+1 || string(out.Payload) != string(in.Payload) {
					errs <- fmt.Errorf("got %d %q for %d %q", out.N, out.Payload, in.N, in.Payload)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	cc.mu.Lock()
	require.Len(t, cc.sessions, 1, "every stream shares one connection")
	cc.mu.Unlock()
}

// A stream whose reader stalls must not stall the others on the connection.
func TestSlowReaderDoesNotBlockOthers(t *testing.T) {
	svr := echoServer()
	svr.HandleFunc("flood", func(s Stream) error {
		for i := uint64(0); ; i++ {
			if err := s.WriteMsg(&binMsg{N: i, Payload: make([]byte, 1024)}); err != nil {
				return err
			}
		}
	})
	ts := startServer(t, svr)
	cc := ts.dial(t)
	flood, err := cc.OpenStream(context.Background(), "flood")
	require.NoError(t, err)
	require.NoError(t, CloseSend(flood))
	var first binMsg
	require.NoError(t, flood.ReadMsg(&first)) // the handler runs and fills its window

	// Unary calls keep working while nobody reads the flood.
	for i := range 100 {
		out, err := unary(context.Background(), cc, "unary", &binMsg{N: uint64(i)})
		require.NoError(t, err)
		require.Equal(t, uint64(i+1), out.N)
	}
	// The flood is held back by flow control, then resumes in order.
	for i := uint64(1); i < 2000; i++ {
		var m binMsg
		require.NoError(t, flood.ReadMsg(&m))
		require.Equal(t, i, m.N)
	}
	require.NoError(t, flood.Close())
}

func TestReadDeadline(t *testing.T) {
	svr := &Server{}
	release := make(chan struct{})
	svr.HandleFunc("slow", func(s Stream) error {
		<-release
		return s.WriteMsg(&binMsg{N: 9})
	})
	ts := startServer(t, svr)
	defer close(release)
	cc := ts.dial(t)
	s := open(t, cc, "slow")
	require.NoError(t, s.SetReadDeadline(time.Now().Add(50*time.Millisecond)))
	var m binMsg
	err := s.ReadMsg(&m)
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	require.ErrorIs(t, s.ReadMsg(&m), os.ErrDeadlineExceeded, "an expired deadline stays expired")

	// The stream is still usable with the deadline lifted.
	require.NoError(t, s.SetReadDeadline(time.Time{}))
	release <- struct{}{}
	require.NoError(t, s.ReadMsg(&m))
	require.Equal(t, uint64(9), m.N)
}

func TestWriteDeadlineWhenWindowFull(t *testing.T) {
	svr := &Server{}
	gotFirst := make(chan struct{})
	svr.HandleFunc("sink", func(s Stream) error {
		var m binMsg
		if err := s.ReadMsg(&m); err != nil {
			return err
		}
		close(gotFirst)
		<-s.Context().Done() // never reads again
		return nil
	})
	ts := startServer(t, svr)
	cc := ts.dial(t)
	s := open(t, cc, "sink")
	require.NoError(t, s.WriteMsg(&binMsg{}))
	recvWithin(t, gotFirst, "first message")
	require.NoError(t, s.SetWriteDeadline(time.Now().Add(100*time.Millisecond)))
	var werr error
	for i := 0; i < 10000 && werr == nil; i++ {
		werr = s.WriteMsg(&binMsg{Payload: make([]byte, 4096)})
	}
	require.ErrorIs(t, werr, os.ErrDeadlineExceeded, "flow control must stop the writer")
}

// However the client leaves a stream, the handler's context ends, and the
// client's stream reports why.
func TestClientLeavingEndsHandlerContext(t *testing.T) {
	cases := map[string]struct {
		leave   func(cancel context.CancelFunc, s Stream, cc *ClientConn) error
		wantErr []error
	}{
		"context cancelled": {
			leave:   func(cancel context.CancelFunc, _ Stream, _ *ClientConn) error { cancel(); return nil },
			wantErr: []error{context.Canceled},
		},
		"stream closed": {
			leave:   func(_ context.CancelFunc, s Stream, _ *ClientConn) error { return s.Close() },
			wantErr: []error{ErrStreamClosed},
		},
		"connection closed": {
			leave:   func(_ context.CancelFunc, _ Stream, cc *ClientConn) error { return cc.Close() },
			wantErr: []error{ErrConnectionLost, ErrClientClosed},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			svr := &Server{}
			started := make(chan struct{})
			ended := make(chan error, 1)
			svr.HandleFunc("wait", func(s Stream) error {
				close(started)
				<-s.Context().Done()
				ended <- s.Context().Err()
				return nil
			})
			ts := startServer(t, svr)
			cc := ts.dial(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			s, err := cc.OpenStream(ctx, "wait")
			require.NoError(t, err)
			require.NoError(t, s.WriteMsg(&binMsg{}))
			recvWithin(t, started, "handler start")
			require.NoError(t, tc.leave(cancel, s, cc))
			require.ErrorIs(t, recvWithin(t, ended, "handler context end"), context.Canceled)
			var m binMsg
			readErr, writeErr := s.ReadMsg(&m), s.WriteMsg(&m)
			for _, want := range tc.wantErr {
				require.ErrorIs(t, readErr, want)
				require.ErrorIs(t, writeErr, want)
			}
			require.NoError(t, s.Close(), "Close after the end")
		})
	}
}

func TestServerStreamCloseEndsStream(t *testing.T) {
	svr := &Server{}
	svr.HandleFunc("early", func(s Stream) error {
		if err := s.WriteMsg(&binMsg{N: 1}); err != nil {
			return err
		}
		if err := s.Close(); err != nil {
			return err
		}
		if err := s.WriteMsg(&binMsg{N: 2}); !errors.Is(err, ErrStreamClosed) {
			return fmt.Errorf("write after close: %v", err)
		}
		return errors.New("ignored: the stream already ended")
	})
	ts := startServer(t, svr)
	cc := ts.dial(t)
	s := open(t, cc, "early")
	require.NoError(t, CloseSend(s))
	var m binMsg
	require.NoError(t, s.ReadMsg(&m))
	require.Equal(t, uint64(1), m.N)
	require.ErrorIs(t, s.ReadMsg(&m), io.EOF)
}

func TestDecodeErrorKeepsStream(t *testing.T) {
	ts := startServer(t, echoServer())
	cc := ts.dial(t)
	s := open(t, cc, "echo")
	require.NoError(t, s.WriteMsg(&binMsg{N: 1}))
	var wrong jsonMsg
	err := s.ReadMsg(&wrong)
	require.ErrorContains(t, err, "binary-encoded message")
	require.NoError(t, s.WriteMsg(&binMsg{N: 2}))
	var m binMsg
	require.NoError(t, s.ReadMsg(&m))
	require.Equal(t, uint64(2), m.N)
}

func TestMessageTooLarge(t *testing.T) {
	svr := echoServer()
	svr.HandleFunc("big", func(s Stream) error {
		return s.WriteMsg(&binMsg{Payload: make([]byte, 800)})
	})
	ts := startServer(t, svr, WithMaxMessageBytes(1000))
	small := ts.dial(t, WithMaxMessageBytes(500))
	s, err := small.OpenStream(context.Background(), "echo")
	require.NoError(t, err)
	defer s.Close()
	err = s.WriteMsg(&binMsg{Payload: make([]byte, 500)})
	require.ErrorIs(t, err, ErrMessageTooLarge, "the sender checks its own limit")
	require.NoError(t, s.WriteMsg(&binMsg{N: 3}), "and the stream stays usable")
	var m binMsg
	require.NoError(t, s.ReadMsg(&m))

	// A sender with a larger limit: the server fails that stream only.
	big := ts.dial(t)
	_, err = unary(context.Background(), big, "echo", &binMsg{Payload: make([]byte, 5000)})
	require.ErrorIs(t, err, &Status{Code: CodeResourceExhausted})
	require.ErrorContains(t, err, "message too large")
	out, err := unary(context.Background(), big, "unary", &binMsg{N: 1})
	require.NoError(t, err, "the connection survives")
	require.Equal(t, uint64(2), out.N)

	// The client's receive limit.
	bs, err := small.OpenStream(context.Background(), "big")
	require.NoError(t, err)
	defer bs.Close()
	require.ErrorIs(t, bs.ReadMsg(&m), ErrMessageTooLarge)
	out, err = unary(context.Background(), small, "unary", &binMsg{N: 1})
	require.NoError(t, err, "the connection survives")
	require.Equal(t, uint64(2), out.N)
}

// A handler blocked in ReadMsg or WriteMsg returns when the client cancels.
func TestHandlerBlockedCallsEndOnCancel(t *testing.T) {
	svr := &Server{}
	errs := make(chan error, 2)
	started := make(chan struct{}, 2)
	svr.HandleFunc("read", func(s Stream) error {
		var m binMsg
		_ = s.ReadMsg(&m)
		started <- struct{}{}
		err := s.ReadMsg(&m)
		errs <- err
		return err
	})
	svr.HandleFunc("write", func(s Stream) error {
		started <- struct{}{}
		for {
			if err := s.WriteMsg(&binMsg{Payload: make([]byte, 4096)}); err != nil {
				errs <- err
				return err
			}
		}
	})
	ts := startServer(t, svr)
	cc := ts.dial(t)
	for _, method := range []string{"read", "write"} {
		s := open(t, cc, method)
		require.NoError(t, s.WriteMsg(&binMsg{}))
		recvWithin(t, started, method+" handler start")
		require.NoError(t, s.Close())
		require.ErrorIs(t, recvWithin(t, errs, method+" error"), context.Canceled)
	}
}

// When the connection's queue is full (the peer stopped reading the socket
// altogether), WriteMsg waits for room within its deadline.
func TestWriteWaitsForQueueRoom(t *testing.T) {
	svr := &Server{}
	const streams = 8 // their windows add up to more than the queue's limit
	errs := make(chan error, streams)
	svr.HandleFunc("flood", func(s Stream) error {
		_ = s.SetWriteDeadline(time.Now().Add(300 * time.Millisecond))
		for {
			if err := s.WriteMsg(&binMsg{Payload: make([]byte, 8192)}); err != nil {
				errs <- err
				return err
			}
		}
	})
	client, server := net.Pipe()
	defer client.Close()
	svr.mu.Lock()
	svr.sessions = make(map[*session]struct{})
	svr.mu.Unlock()
	svr.serveConn(server, newConfig([]Option{WithShutdownTimeout(time.Millisecond)}))
	go func() {
		_, _ = client.Write(hello())
		for id := uint32(1); id <= streams; id++ {
			_, _ = client.Write(frame(kindInvoke, id, []byte("flood")))
		}
		// and never read
	}()
	for range streams {
		require.ErrorIs(t, recvWithin(t, errs, "handler error"), os.ErrDeadlineExceeded)
	}
	require.NoError(t, svr.Shutdown())
}
