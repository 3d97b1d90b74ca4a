package yarpc

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeLog records every Write of the server's connections.
type writeLog struct {
	mu     sync.Mutex
	writes [][]byte
}

func (w *writeLog) frames(t *testing.T) [][]frameHeader {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	var out [][]frameHeader
	for _, b := range w.writes {
		var hs []frameHeader
		for len(b) > 0 {
			h, err := parseFrameHeader(b)
			require.NoError(t, err)
			hs = append(hs, h)
			b = b[frameHeaderBytes+int(h.length):]
		}
		out = append(out, hs)
	}
	return out
}

type loggedConn struct {
	net.Conn
	log *writeLog
}

func (c loggedConn) Write(b []byte) (int, error) {
	c.log.mu.Lock()
	c.log.writes = append(c.log.writes, append([]byte(nil), b...))
	c.log.mu.Unlock()
	return c.Conn.Write(b)
}

type loggedListener struct {
	net.Listener
	log *writeLog
}

func (l loggedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return loggedConn{c, l.log}, nil
}

func TestSendAndCloseEndsTheStreamInTheSameWrite(t *testing.T) {
	log := &writeLog{}
	afterLast := make(chan error, 1)
	svr := &Server{}
	svr.HandleFunc("last", func(s Stream) error {
		var m binMsg
		if err := s.ReadMsg(&m); err != nil {
			return err
		}
		m.N++
		if err := SendAndClose(s, &m); err != nil {
			return err
		}
		afterLast <- s.WriteMsg(&m)
		return nil
	})
	l := mustListen(t)
	done := make(chan error, 1)
	go func() { done <- svr.Serve(loggedListener{l, log}) }()
	defer func() {
		require.NoError(t, svr.Shutdown())
		require.ErrorIs(t, <-done, ErrServerClosed)
	}()
	cc := DialContext(context.Background(), "tcp", l.Addr().String())
	defer cc.Close()

	s, err := cc.OpenStream(context.Background(), "last")
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.WriteMsg(&binMsg{N: 41}))
	var out binMsg
	require.NoError(t, s.ReadMsg(&out))
	assert.Equal(t, uint64(42), out.N)
	assert.ErrorIs(t, s.ReadMsg(&out), io.EOF, "the stream ended successfully after the message")
	assert.ErrorIs(t, recvWithin(t, afterLast, "the handler's next write"), ErrStreamClosed)

	id := s.(*stream).id
	var found bool
	ends := 0
	for _, w := range log.frames(t) {
		for i, h := range w {
			if h.stream != id {
				continue
			}
			switch h.kind {
			case kindMessage:
				require.Less(t, i+1, len(w), "the end did not leave with the message")
				assert.Equal(t, frameHeader{kind: kindCloseSend, stream: id}, w[i+1])
				found = true
			case kindCloseSend, kindError:
				ends++
			}
		}
	}
	assert.True(t, found, "no message frame for the stream")
	assert.Equal(t, 1, ends, "the stream was ended once")
}

// Returning an error after SendAndClose changes nothing for the client:
// the stream already ended successfully.
func TestSendAndCloseThenHandlerError(t *testing.T) {
	svr := &Server{}
	svr.HandleFunc("last", func(s Stream) error {
		if err := SendAndClose(s, &binMsg{N: 7}); err != nil {
			return err
		}
		return errors.New("too late to matter")
	})
	ts := startServer(t, svr)
	cc := ts.dial(t)
	s := open(t, cc, "last")
	defer s.Close()
	var out binMsg
	require.NoError(t, s.ReadMsg(&out))
	assert.Equal(t, uint64(7), out.N)
	assert.ErrorIs(t, s.ReadMsg(&out), io.EOF)
}

// On a client stream SendAndClose is WriteMsg: the stream stays open.
func TestSendAndCloseOnAClientStreamIsWriteMsg(t *testing.T) {
	ts := startServer(t, echoServer())
	cc := ts.dial(t)
	s := open(t, cc, "echo")
	defer s.Close()
	require.NoError(t, SendAndClose(s, &binMsg{N: 1}))
	require.NoError(t, s.WriteMsg(&binMsg{N: 2}))
	var out binMsg
	require.NoError(t, s.ReadMsg(&out))
	assert.Equal(t, uint64(1), out.N)
	require.NoError(t, s.ReadMsg(&out))
	assert.Equal(t, uint64(2), out.N)
}
