package yarpc

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/mjpitz/myago/paxos/internal/workers"
)

// readBufferBytes is the size of a connection's read buffer.
const readBufferBytes = 32 << 10

// session is one connection, client or server side: a reader goroutine that
// routes frames to streams, a writer goroutine (connWriter) and the streams
// in between.
type session struct {
	conn   net.Conn
	cfg    *config
	client bool
	w      *connWriter
	fr     frameReader

	mu       sync.Mutex
	streams  map[uint32]*stream
	lastID   uint32 // client: the last id handed out; server: the highest id seen
	draining bool   // no new streams (a go-away was sent or received)
	closed   bool

	// Client side.
	cc *ClientConn

	// Server side.
	srv    *Server
	ctx    context.Context // parent of the handlers' contexts
	cancel context.CancelFunc
	active int           // handlers running
	pool   *workers.Pool // runs the handlers
}

func newSession(conn net.Conn, cfg *config) *session {
	return &session{
		conn:    conn,
		cfg:     cfg,
		w:       newConnWriter(conn),
		fr:      frameReader{r: bufio.NewReaderSize(conn, readBufferBytes), maxBytes: cfg.maxMessageBytes},
		streams: make(map[uint32]*stream),
	}
}

// start runs the reader and the writer, counted in wg.
func (s *session) start(wg *sync.WaitGroup) {
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := s.w.run(); err != nil {
			s.close(fmt.Errorf("write: %w", err))
		}
	}()
	go func() {
		defer wg.Done()
		s.close(s.readLoop())
	}()
}

// readLoop reads and routes frames until the connection fails or the peer
// breaks the protocol, and returns why it stopped.
func (s *session) readLoop() error {
	if !s.client {
		// A server waits a bounded time for the TLS handshake and the
		// hello, so that silent or foreign clients cannot pile up.
		_ = s.conn.SetReadDeadline(time.Now().Add(s.cfg.handshakeTimeout))
		h, buf, err := s.fr.readFrame()
		putBuffer(buf)
		if err != nil {
			return fmt.Errorf("reading hello: %w", err)
		}
		if h.kind != kindHello {
			return fmt.Errorf("%w: first frame is %v, want hello", ErrProtocol, h.kind)
		}
		_ = s.conn.SetReadDeadline(time.Time{})
	}
	for {
		h, buf, err := s.fr.readFrame()
		if errors.Is(err, errFrameTooLarge) {
			s.tooLarge(h)
			continue
		}
		if err != nil {
			return err
		}
		if err := s.route(h, buf); err != nil {
			return err
		}
	}
}

// route hands one frame to its stream. It owns buf.
func (s *session) route(h frameHeader, buf *[]byte) error {
	if h.kind == kindInvoke && !s.client {
		return s.invoke(h.stream, buf)
	}
	if h.kind == kindGoAway && s.client {
		s.goAwayReceived()
		return nil
	}
	st, err := s.lookup(h)
	if err != nil || st == nil {
		putBuffer(buf)
		return err
	}
	switch {
	case h.kind == kindMessage:
		return st.deliver(buf, frameHeaderBytes+int(h.length))
	case h.kind == kindWindow:
		st.addCredit(int(binary.BigEndian.Uint32(*buf)))
		putBuffer(buf)
	case h.kind == kindCloseSend && s.client:
		s.unregister(st)
		st.endRemote(io.EOF)
	case h.kind == kindCloseSend:
		st.endRemote(io.EOF)
	case h.kind == kindError && s.client:
		status, err := parseStatus(*buf)
		putBuffer(buf)
		if err != nil {
			return err
		}
		s.unregister(st)
		st.endRemote(status)
	case h.kind == kindCancel && !s.client:
		s.unregister(st)
		st.peerGone(fmt.Errorf("%w: cancelled by the client", context.Canceled))
	default:
		putBuffer(buf)
		return fmt.Errorf("%w: unexpected %v frame", ErrProtocol, h.kind)
	}
	return nil
}

// lookup finds the stream of a frame. A frame for a stream that has ended
// (ids at or below the last one opened) is dropped: the peer may not have
// seen the end yet. A frame for a stream never opened breaks the protocol.
func (s *session) lookup(h frameHeader) (*stream, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch h.kind {
	case kindHello, kindGoAway, kindInvoke:
		return nil, fmt.Errorf("%w: unexpected %v frame", ErrProtocol, h.kind)
	}
	if h.stream > s.lastID {
		return nil, fmt.Errorf("%w: %v frame for stream %d, which was never opened", ErrProtocol, h.kind, h.stream)
	}
	return s.streams[h.stream], nil
}

// tooLarge fails the stream of an oversized frame, whose payload was skipped.
func (s *session) tooLarge(h frameHeader) {
	err := fmt.Errorf("%w: received %d bytes, the limit is %d", ErrMessageTooLarge, h.length, s.cfg.maxMessageBytes)
	s.cfg.logger.Warn("yarpc: dropping an oversized frame", "stream", h.stream, "kind", h.kind.String(), "bytes", h.length, "remote", s.conn.RemoteAddr().String())
	s.mu.Lock()
	st := s.streams[h.stream]
	s.mu.Unlock()
	if st == nil {
		return
	}
	s.unregister(st)
	if s.client {
		st.abortWith(err)
		s.sendControl(appendFrameHeader(nil, kindCancel, st.id, 0))
		return
	}
	st.peerGone(err)
	s.sendStatus(st.id, &Status{Code: CodeResourceExhausted, Message: err.Error()})
}

// unregister removes a stream; frames for it are dropped from now on. A
// draining client session closes with its last stream.
func (s *session) unregister(st *stream) {
	s.mu.Lock()
	if s.streams[st.id] == st {
		delete(s.streams, st.id)
	}
	idle := s.client && s.draining && len(s.streams) == 0
	s.mu.Unlock()
	if idle {
		s.close(errors.New("drained after go-away"))
	}
}

// sendControl queues a control frame; a failure means the connection is
// gone, which the streams learn from the session.
func (s *session) sendControl(frame []byte) {
	_ = s.w.enqueue(frame, false, nil, nil)
}

// sendStatus ends a stream with an error frame.
func (s *session) sendStatus(id uint32, st *Status) {
	b := getBuffer(0)
	*b = appendFrameHeader(*b, kindError, id, 0)
	*b = appendStatus(*b, st)
	if len(*b)-frameHeaderBytes > s.cfg.maxMessageBytes {
		*b = appendStatus((*b)[:frameHeaderBytes], &Status{Code: st.Code, Message: "status message too long"})
	}
	setFrameLength(*b, 0)
	s.sendControl(*b)
	putBuffer(b)
}

// close ends the session: every stream fails, what is queued is flushed
// (bounded by flushTimeout) and the connection closed.
func (s *session) close(cause error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	streams := s.streams
	s.streams = nil
	s.mu.Unlock()

	if cause != nil && !errors.Is(cause, io.EOF) && !errors.Is(cause, net.ErrClosed) && !errors.Is(cause, ErrClientClosed) && !errors.Is(cause, ErrServerClosed) {
		s.cfg.logger.Info("yarpc: connection closed", "remote", s.conn.RemoteAddr().String(), "client", s.client, "err", cause)
	}
	err := fmt.Errorf("%w: %w", ErrConnectionLost, cause)
	for _, st := range streams {
		st.peerGone(err)
	}
	s.w.close()
	if s.cancel != nil {
		s.cancel()
	}
	if s.pool != nil {
		s.pool.Stop() // the workers exit as their handlers return
	}
	if s.cc != nil {
		s.cc.sessionClosed(s)
	}
	if s.srv != nil {
		s.srv.sessionClosed(s)
	}
}
