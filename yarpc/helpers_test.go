package yarpc

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// waitFor is the generous bound of every wait on a condition in these tests.
const waitFor = 20 * time.Second

// binMsg implements the binary interfaces, like the paxos wire types.
type binMsg struct {
	N       uint64
	Payload []byte
}

func (m *binMsg) AppendBinary(b []byte) ([]byte, error) {
	b = binary.BigEndian.AppendUint64(b, m.N)
	return append(b, m.Payload...), nil
}

func (m *binMsg) UnmarshalBinary(b []byte) error {
	if len(b) < 8 {
		return errors.New("binMsg: short")
	}
	m.N = binary.BigEndian.Uint64(b)
	m.Payload = append(m.Payload[:0], b[8:]...)
	return nil
}

// jsonMsg goes through the JSON fallback.
type jsonMsg struct {
	Text string `json:"text"`
	N    int    `json:"n"`
}

// testServer is a Server on a loopback TCP listener.
type testServer struct {
	*Server
	addr string
	done chan error
}

func startServer(t *testing.T, svr *Server, opts ...Option) *testServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ts := &testServer{Server: svr, addr: l.Addr().String(), done: make(chan error, 1)}
	go func() { ts.done <- svr.Serve(l, opts...) }()
	t.Cleanup(func() { ts.stop(t) })
	return ts
}

// stop shuts the server down and checks that Serve returned ErrServerClosed.
func (ts *testServer) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, ts.Shutdown())
	select {
	case err, ok := <-ts.done:
		if ok {
			require.ErrorIs(t, err, ErrServerClosed)
			close(ts.done)
		}
	case <-time.After(waitFor):
		t.Fatal("Serve did not return after Shutdown")
	}
}

func (ts *testServer) dial(t *testing.T, opts ...Option) *ClientConn {
	t.Helper()
	cc := DialContext(context.Background(), "tcp", ts.addr, opts...)
	t.Cleanup(func() { require.NoError(t, cc.Close()) })
	return cc
}

// echoServer registers "echo" (echoes every message until EOF) and others.
func echoServer() *Server {
	svr := &Server{}
	svr.HandleFunc("echo", func(s Stream) error {
		for {
			var m binMsg
			if err := s.ReadMsg(&m); err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
			if err := s.WriteMsg(&m); err != nil {
				return err
			}
		}
	})
	svr.HandleFunc("unary", func(s Stream) error {
		var m binMsg
		if err := s.ReadMsg(&m); err != nil {
			return err
		}
		m.N++
		return s.WriteMsg(&m)
	})
	return svr
}

// unary makes one request-reply call.
func unary(ctx context.Context, cc *ClientConn, method string, in *binMsg) (*binMsg, error) {
	s, err := cc.OpenStream(ctx, method)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if err := s.WriteMsg(in); err != nil {
		return nil, err
	}
	var out binMsg
	if err := s.ReadMsg(&out); err != nil {
		return nil, err
	}
	return &out, nil
}

// recvWithin waits for a value on ch.
func recvWithin[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitFor):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// open opens a stream that is closed when the test ends.
func open(t *testing.T, cc *ClientConn, method string) Stream {
	t.Helper()
	s, err := cc.OpenStream(context.Background(), method)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}
