package yarpc

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// expectClosed reads until the server closes conn; a timeout fails.
func expectClosed(t *testing.T, conn net.Conn) {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(waitFor)))
	_, err := io.Copy(io.Discard, conn)
	require.False(t, errors.Is(err, os.ErrDeadlineExceeded), "the server did not close the connection")
}

func frame(kind frameKind, id uint32, payload []byte) []byte {
	return append(appendFrameHeader(nil, kind, id, len(payload)), payload...)
}

func hello() []byte { return frame(kindHello, 0, nil) }

func TestHostileInput(t *testing.T) {
	svr := echoServer()
	svr.HandleFunc("sink", func(s Stream) error { <-s.Context().Done(); return nil })
	ts := startServer(t, svr, WithMaxMessageBytes(1000), WithHandshakeTimeout(200*time.Millisecond))
	good := ts.dial(t, WithMaxMessageBytes(1000))

	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	msg := cat([]byte{tagBinary}, make([]byte, 8))
	flood := cat(hello(), frame(kindInvoke, 1, []byte("sink")))
	for range (streamWindowBytes+1000)/900 + 2 {
		flood = append(flood, frame(kindMessage, 1, make([]byte, 900))...)
	}
	cases := map[string][]byte{
		"garbage":            []byte("\x00\xff this is not a frame at all, not even close"),
		"http":               []byte("GET / HTTP/1.1\r\nHost: example\r\n\r\n"),
		"no hello":           frame(kindInvoke, 1, []byte("echo")),
		"truncated header":   cat(hello(), frame(kindInvoke, 1, []byte("echo"))[:5]),
		"truncated payload":  cat(hello(), frame(kindInvoke, 1, []byte("echo")), frame(kindMessage, 1, msg)[:12]),
		"other version":      cat(hello(), []byte{9, byte(kindInvoke), 0, 0, 0, 1, 0, 0, 0, 1, 'x'}),
		"unknown kind":       cat(hello(), []byte{ProtocolVersion, 99, 0, 0, 0, 1, 0, 0, 0, 0}),
		"unopened stream":    cat(hello(), frame(kindMessage, 7, msg)),
		"duplicate invoke":   cat(hello(), frame(kindInvoke, 1, []byte("sink")), frame(kindInvoke, 1, []byte("sink"))),
		"second hello":       cat(hello(), hello()),
		"error from client":  cat(hello(), frame(kindInvoke, 1, []byte("sink")), frame(kindError, 1, []byte{0, 0, 0, 1})),
		"bad window":         cat(hello(), frame(kindInvoke, 1, []byte("sink")), frame(kindWindow, 1, []byte{1})),
		"huge claim":         cat(hello(), frame(kindInvoke, 1, []byte("sink")), []byte{ProtocolVersion, byte(kindMessage), 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff}),
		"flow control":       flood,
		"silent":             nil,
		"hello then nothing": hello(),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			conn, err := net.Dial("tcp", ts.addr)
			require.NoError(t, err)
			defer conn.Close()
			if _, err := conn.Write(data); err != nil {
				t.Logf("write: %v", err) // the server may close first
			}
			if name == "hello then nothing" || name == "huge claim" || name == "truncated payload" || name == "truncated header" {
				// A valid idle connection is kept; these end when the client
				// goes away. Closing our side must not upset the server.
				conn.(*net.TCPConn).CloseWrite()
			}
			expectClosed(t, conn)
			out, err := unary(context.Background(), good, "unary", &binMsg{N: 1})
			require.NoError(t, err, "the server keeps serving others")
			require.Equal(t, uint64(2), out.N)
		})
	}
}

func TestTLSClientOnPlainListener(t *testing.T) {
	ts := startServer(t, echoServer())
	conn, err := net.Dial("tcp", ts.addr)
	require.NoError(t, err)
	defer conn.Close()
	tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true})
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.Error(t, tc.HandshakeContext(ctx))

	// And through the client: a clear error, no hang.
	cc := ts.dial(t, WithTLS(&tls.Config{InsecureSkipVerify: true}))
	_, err = cc.OpenStream(context.Background(), "unary")
	require.ErrorContains(t, err, "tls handshake")
	good := ts.dial(t)
	_, err = unary(context.Background(), good, "unary", &binMsg{})
	require.NoError(t, err)
}

// A server that sends garbage to a client fails that client's streams with
// a protocol error; the next OpenStream dials again.
func TestClientAgainstGarbageServer(t *testing.T) {
	l := mustListen(t)
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
				_, _ = io.Copy(io.Discard, c)
			}()
		}
	}()
	cc := DialContext(context.Background(), "tcp", l.Addr().String())
	defer cc.Close()
	s, err := cc.OpenStream(context.Background(), "x")
	require.NoError(t, err)
	defer s.Close()
	var m binMsg
	err = s.ReadMsg(&m)
	require.ErrorIs(t, err, ErrConnectionLost)
	require.ErrorIs(t, err, ErrProtocol)
}
