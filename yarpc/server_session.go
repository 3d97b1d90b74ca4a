package yarpc

import (
	"context"
	"fmt"
	"runtime/debug"
)

// The server's side of a session: opening streams for invoke frames and
// running their handlers.

// invoke opens the stream an invoke frame asks for and starts its handler,
// or refuses it with a Status.
func (s *session) invoke(id uint32, buf *[]byte) error {
	h := s.srv.mux.lookup(*buf)
	method := ""
	if h == nil {
		method = string(*buf)
	}
	putBuffer(buf)

	s.mu.Lock()
	if s.streams[id] != nil {
		s.mu.Unlock()
		return fmt.Errorf("%w: invoke for stream %d, which is open", ErrProtocol, id)
	}
	// Ids are handed out in order but a stream's invoke goes with its first
	// frame, so invokes of concurrent streams may arrive out of order.
	s.lastID = max(s.lastID, id)
	var refuse *Status
	switch {
	case s.closed:
		s.mu.Unlock()
		return nil
	case s.draining:
		refuse = &Status{Code: CodeUnavailable, Message: "yarpc: server shutting down"}
	case h == nil:
		refuse = &Status{Code: CodeNotFound, Message: "yarpc: unknown method " + fmt.Sprintf("%q", method)}
	case s.active >= s.cfg.maxConcurrentStreams:
		refuse = &Status{Code: CodeResourceExhausted, Message: fmt.Sprintf("yarpc: more than %d concurrent streams", s.cfg.maxConcurrentStreams)}
	}
	if refuse != nil {
		s.mu.Unlock()
		s.sendStatus(id, refuse)
		return nil
	}
	ctx, cancel := context.WithCancel(s.ctx)
	st := newStream(s, id, ctx)
	st.cancelCtx = cancel
	st.invokeSent = true
	s.streams[id] = st
	s.active++
	s.srv.handlers.Add(1) // under s.mu: ordered before Shutdown's wait (see goAway)
	s.mu.Unlock()

	s.pool.Go(func() { s.runHandler(st, h) })
	return nil
}

// runHandler runs a handler and ends its stream with the outcome.
func (s *session) runHandler(st *stream, h Handler) {
	defer s.srv.handlers.Done()
	err := s.callHandler(st, h)
	st.finish(err, ErrStreamClosed)
	s.mu.Lock()
	s.active--
	s.mu.Unlock()
}

// callHandler calls the handler, turning a panic into a Status.
func (s *session) callHandler(st *stream, h Handler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			s.cfg.logger.Error("yarpc: handler panicked", "stream", st.id, "panic", p, "stack", string(debug.Stack()))
			err = &Status{Code: CodeInternal, Message: fmt.Sprintf("yarpc: handler panicked: %v", p)}
		}
	}()
	return h.Handle(st)
}

// finish ends a server stream: unless the client already knows it ended
// (it cancelled, the connection is gone, Close ran), it gets io.EOF for a
// nil handlerErr and a Status otherwise; this includes a stream whose
// context the server ended (base context, Shutdown). The stream is then
// released with abortErr.
func (st *stream) finish(handlerErr, abortErr error) {
	st.rd.stop()
	st.wd.stop()
	st.mu.Lock()
	live := !st.endSent
	st.endSent = true
	st.sendClosed = true
	st.mu.Unlock()
	st.sess.unregister(st)
	if live {
		if handlerErr == nil {
			var b [frameHeaderBytes]byte
			st.sess.sendControl(appendFrameHeader(b[:0], kindCloseSend, st.id, 0))
		} else {
			st.sess.sendStatus(st.id, statusOf(handlerErr))
		}
	}
	st.abortWith(abortErr)
}

// goAway stops the session from opening streams and tells the client so.
func (s *session) goAway() {
	s.mu.Lock()
	already := s.draining || s.closed
	s.draining = true
	s.mu.Unlock()
	if !already {
		var b [frameHeaderBytes]byte
		s.sendControl(appendFrameHeader(b[:0], kindGoAway, 0, 0))
	}
}
