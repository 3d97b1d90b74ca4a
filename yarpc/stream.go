package yarpc

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Stream is one call: a client's side from ClientConn.OpenStream, a server's
// side given to a Handler. It has the same methods as paxos.Stream.
//
// Messages arrive in the order they were written. One goroutine may read
// while another writes; Close may be called from any goroutine. ReadMsg
// returns io.EOF after the last message once the peer has finished sending
// (client side: the handler returned nil), and a *Status when the handler
// failed.
type Stream interface {
	// Context is the stream's context. Server side it ends when the client
	// cancels or goes away, when the handler returns, or when Shutdown's
	// timeout passes; client side it is the context given to OpenStream.
	Context() context.Context
	// SetReadDeadline makes ReadMsg fail with an error matching
	// os.ErrDeadlineExceeded once the deadline passes; the stream stays
	// usable. The zero time means no deadline.
	SetReadDeadline(deadline time.Time) error
	// ReadMsg decodes the next message into i, a pointer.
	ReadMsg(i interface{}) error
	// SetWriteDeadline bounds WriteMsg's wait for flow-control credit and
	// connection buffer space, like SetReadDeadline.
	SetWriteDeadline(deadline time.Time) error
	// WriteMsg encodes i and queues it for sending. It blocks while the
	// peer's window for this stream is full (flow control).
	WriteMsg(i interface{}) error
	// Close releases the stream. Client side, a stream whose handler is
	// still running is cancelled at the server. Server side, the client
	// reads io.EOF after the messages already written.
	Close() error
}

// CloseSender is implemented by the streams of this package: CloseSend tells
// the peer that no more messages follow (the server's ReadMsg returns
// io.EOF) while the stream can still be read.
type CloseSender interface {
	CloseSend() error
}

// CloseSend half-closes s if it implements CloseSender, and returns an error
// otherwise.
func CloseSend(s Stream) error {
	if cs, ok := s.(CloseSender); ok {
		return cs.CloseSend()
	}
	return fmt.Errorf("yarpc: %T cannot half-close", s)
}

// SendAndClose writes m as a handler's last message. On a server stream of
// this package the message and the stream's successful end leave in one
// frame write, so the client reads both at once (and a unary client that
// closes its stream after the reply has no handler left to cancel). The
// handler should return nil after it: later writes fail with
// ErrStreamClosed. On any other Stream it is WriteMsg.
func SendAndClose(s Stream, m interface{}) error {
	if st, ok := s.(*stream); ok && !st.sess.client {
		return st.writeMsg(m, true)
	}
	return s.WriteMsg(m)
}

// Flow control: a sender may start a message on a stream while it has
// credit left (bytes sent minus bytes credited back is below
// streamWindowBytes); a message may overdraw the credit, so the memory a
// stream can hold at the receiver is bounded by the window plus one maximum
// message. The receiver credits bytes back once the application has read
// half a window. A slow reader therefore stalls only its own stream; the
// connection's reader never blocks. Each frame costs its header plus payload.
const streamWindowBytes = 256 << 10

// inFrame is a received message waiting to be read.
type inFrame struct {
	buf  *[]byte
	cost int
}

// stream implements Stream for both sides.
type stream struct {
	sess      *session
	id        uint32
	ctx       context.Context
	cancelCtx context.CancelFunc // server: ends the handler's context
	stopWatch func() bool        // client: stops watching the context
	method    string             // client: sent in the invoke frame

	rd, wd deadline

	mu         sync.Mutex
	invokeSent bool
	sendClosed bool
	endSent    bool // server: the client was told the stream ended, or cannot be
	queue      []inFrame
	queueArr   [1]inFrame // queue's first backing array: a unary call allocates none
	head       int
	recvSignal chan struct{} // cap 1: something to read or an end
	remoteEnd  error         // io.EOF or *Status, after the queue drains
	abort      error         // at once: closed, cancelled, connection lost
	unacked    int           // received and not yet credited back
	consumed   int           // read and not yet credited back
	credit     int           // bytes we may still send (may go negative)
	sendSignal chan struct{} // cap 1, made on first wait: credit or an end
}

func newStream(sess *session, id uint32, ctx context.Context) *stream {
	s := &stream{sess: sess, id: id, ctx: ctx, credit: streamWindowBytes, recvSignal: make(chan struct{}, 1)}
	s.queue = s.queueArr[:0]
	return s
}

func signal(ch chan struct{}) {
	if ch == nil {
		return
	}
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Context implements Stream.
func (s *stream) Context() context.Context { return s.ctx }

// SetReadDeadline implements Stream.
func (s *stream) SetReadDeadline(t time.Time) error { s.rd.set(t); return nil }

// SetWriteDeadline implements Stream.
func (s *stream) SetWriteDeadline(t time.Time) error { s.wd.set(t); return nil }

// ReadMsg implements Stream.
func (s *stream) ReadMsg(v interface{}) error {
	if s.sess.client {
		s.sendInvoke()
	}
	for {
		s.mu.Lock()
		if s.abort != nil {
			err := s.abort
			s.mu.Unlock()
			return err
		}
		if s.head < len(s.queue) {
			f := s.queue[s.head]
			s.queue[s.head] = inFrame{}
			s.head++
			if s.head == len(s.queue) {
				s.head, s.queue = 0, s.queue[:0]
			}
			s.consumed += f.cost
			credit := 0
			if s.consumed >= streamWindowBytes/2 && s.remoteEnd == nil {
				credit = s.consumed
				s.unacked -= s.consumed
				s.consumed = 0
			}
			s.mu.Unlock()
			if credit > 0 {
				var b [frameHeaderBytes + windowPayloadBytes]byte
				s.sess.sendControl(binary.BigEndian.AppendUint32(appendFrameHeader(b[:0], kindWindow, s.id, windowPayloadBytes), uint32(credit)))
			}
			err := s.sess.cfg.codec.Unmarshal(*f.buf, v)
			putBuffer(f.buf)
			if err != nil {
				return fmt.Errorf("yarpc: decoding %T: %w", v, err)
			}
			return nil
		}
		if s.remoteEnd != nil {
			err := s.remoteEnd
			s.mu.Unlock()
			return err
		}
		s.mu.Unlock()
		select {
		case <-s.recvSignal:
		case <-s.ctx.Done():
			return s.contextEnded()
		case <-s.rd.wait():
			return fmt.Errorf("yarpc: read: %w", os.ErrDeadlineExceeded)
		}
	}
}

// WriteMsg implements Stream.
func (s *stream) WriteMsg(v interface{}) error { return s.writeMsg(v, false) }

// writeMsg sends v; with last (server streams only) the frame that ends the
// stream successfully follows it in the same write.
func (s *stream) writeMsg(v interface{}, last bool) error {
	if err := s.sendable(); err != nil {
		return err
	}
	b := getBuffer(0)
	defer putBuffer(b)
	frame, err := s.sess.cfg.codec.Append(appendFrameHeader(*b, kindMessage, s.id, 0), v)
	*b = frame[:0]
	if err != nil {
		return fmt.Errorf("yarpc: encoding %T: %w", v, err)
	}
	if n := len(frame) - frameHeaderBytes; n > s.sess.cfg.maxMessageBytes {
		return fmt.Errorf("%w: %T encodes to %d bytes, the limit is %d", ErrMessageTooLarge, v, n, s.sess.cfg.maxMessageBytes)
	}
	setFrameLength(frame, 0)
	cost := len(frame)
	if last {
		frame = appendFrameHeader(frame, kindCloseSend, s.id, 0)
		*b = frame[:0]
	}
	if err := s.takeCredit(cost); err != nil {
		return err
	}
	if last {
		// Claimed before the frames are queued, so that the handler's
		// return (finish) cannot send a second end.
		s.mu.Lock()
		if s.endSent {
			s.credit += cost
			s.mu.Unlock()
			return ErrStreamClosed
		}
		s.endSent, s.sendClosed = true, true
		s.mu.Unlock()
	}
	if err := s.enqueueMessage(frame); err != nil {
		s.mu.Lock()
		s.credit += cost
		if last {
			s.endSent = false // not sent: finish still tells the client
		}
		s.mu.Unlock()
		return s.mapWaitError(err, "write")
	}
	return nil
}

// sendable reports why nothing can be sent any more, if so.
func (s *stream) sendable() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.abort != nil:
		return s.abort
	case s.sendClosed:
		return ErrStreamClosed
	case s.sess.client && s.remoteEnd != nil:
		return io.EOF // the handler is done; ReadMsg tells how it ended
	}
	return nil
}

// takeCredit waits until the stream may send, then charges cost.
func (s *stream) takeCredit(cost int) error {
	for {
		if err := s.sendable(); err != nil {
			return err
		}
		s.mu.Lock()
		if s.credit > 0 {
			s.credit -= cost
			s.mu.Unlock()
			return nil
		}
		if s.sendSignal == nil {
			s.sendSignal = make(chan struct{}, 1)
		}
		ch := s.sendSignal
		s.mu.Unlock()
		select {
		case <-ch:
		case <-s.ctx.Done():
			return s.contextEnded()
		case <-s.wd.wait():
			return fmt.Errorf("yarpc: write: %w", os.ErrDeadlineExceeded)
		}
	}
}

// enqueueMessage queues a message frame, preceded by the invoke frame when it
// is the client's first.
func (s *stream) enqueueMessage(frame []byte) error {
	w := s.sess.w
	if s.sess.client {
		s.mu.Lock()
		if !s.invokeSent {
			// The invoke and the first message go out in one write. The
			// lock orders the invoke before any other frame of the stream.
			s.invokeSent = true
			var arr [invokeBufferBytes]byte
			inv := s.appendInvokeFrame(arr[:0])
			sent, err := w.tryEnqueue(inv, frame)
			if sent || err != nil {
				s.mu.Unlock()
				return err
			}
			_ = w.enqueue(inv, false, nil, nil)
		}
		s.mu.Unlock()
	}
	return w.enqueue(frame, true, s.ctx.Done(), s.wd.wait())
}

// invokeBufferBytes fits the invoke frame of most method names, so that it
// can be built on the stack.
const invokeBufferBytes = 96

// appendInvokeFrame appends the frame that opens the stream at the server.
// The method name was checked by OpenStream.
func (s *stream) appendInvokeFrame(b []byte) []byte {
	inv := Invoke{Method: s.method}
	b, _ = inv.AppendBinary(appendFrameHeader(b, kindInvoke, s.id, len(s.method)))
	return b
}

// sendInvoke opens the stream at the server if no message did yet.
func (s *stream) sendInvoke() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.invokeSent && s.abort == nil {
		s.invokeSent = true
		var arr [invokeBufferBytes]byte
		s.sess.sendControl(s.appendInvokeFrame(arr[:0]))
	}
}

// mapWaitError turns the writer's wait errors into the stream's.
func (s *stream) mapWaitError(err error, op string) error {
	switch {
	case errors.Is(err, errCancelled):
		return s.contextEnded()
	case errors.Is(err, errExpired):
		return fmt.Errorf("yarpc: %s: %w", op, os.ErrDeadlineExceeded)
	case errors.Is(err, ErrConnectionLost):
		return err
	}
	return fmt.Errorf("%w: %w", ErrConnectionLost, err)
}

// CloseSend implements CloseSender. Server side it ends the stream as if the
// handler had returned nil.
func (s *stream) CloseSend() error {
	if !s.sess.client {
		return s.Close()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.abort != nil {
		return s.abort
	}
	if s.sendClosed || s.remoteEnd != nil {
		return nil
	}
	s.sendClosed = true
	var arr [invokeBufferBytes + frameHeaderBytes]byte
	b := arr[:0]
	if !s.invokeSent {
		s.invokeSent = true
		b = s.appendInvokeFrame(b)
	}
	s.sess.sendControl(appendFrameHeader(b, kindCloseSend, s.id, 0))
	return nil
}

// Close implements Stream.
func (s *stream) Close() error {
	if s.sess.client {
		s.closeClient(ErrStreamClosed)
	} else {
		s.finish(nil, ErrStreamClosed)
	}
	return nil
}

// closeClient ends a client stream locally; if the server may still be
// running its handler, it is told to cancel.
func (s *stream) closeClient(err error) {
	s.mu.Lock()
	stop := s.stopWatch
	s.mu.Unlock()
	if stop != nil {
		stop()
	}
	s.rd.stop()
	s.wd.stop()
	s.mu.Lock()
	live := s.abort == nil && s.remoteEnd == nil && s.invokeSent
	s.mu.Unlock()
	s.abortWith(err)
	s.sess.unregister(s)
	if live {
		var b [frameHeaderBytes]byte
		s.sess.sendControl(appendFrameHeader(b[:0], kindCancel, s.id, 0))
	}
}

// contextEnded fails the stream because its context ended, and returns the
// error to report.
func (s *stream) contextEnded() error {
	if s.sess.client {
		s.closeClient(s.ctx.Err())
	} else {
		s.abortWith(s.ctx.Err())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.abort
}

// deliver queues a received message (called by the session's reader).
func (s *stream) deliver(buf *[]byte, cost int) error {
	s.mu.Lock()
	if s.abort != nil || s.remoteEnd != nil {
		s.mu.Unlock()
		putBuffer(buf)
		return nil
	}
	s.unacked += cost
	if s.unacked > streamWindowBytes+s.sess.cfg.maxMessageBytes+frameHeaderBytes {
		s.mu.Unlock()
		putBuffer(buf)
		return fmt.Errorf("%w: stream %d overran its flow-control window", ErrProtocol, s.id)
	}
	s.queue = append(s.queue, inFrame{buf: buf, cost: cost})
	s.mu.Unlock()
	signal(s.recvSignal)
	return nil
}

// addCredit records credit the peer gave back.
func (s *stream) addCredit(n int) {
	s.mu.Lock()
	s.credit += n
	ch := s.sendSignal
	s.mu.Unlock()
	signal(ch)
}

// endRemote records that the peer finished sending: io.EOF, or the *Status
// a handler ended with. Reads return it once the queue drains.
func (s *stream) endRemote(err error) {
	s.mu.Lock()
	if s.remoteEnd == nil && s.abort == nil {
		s.remoteEnd = err
	}
	ch := s.sendSignal
	s.mu.Unlock()
	signal(s.recvSignal)
	signal(ch)
}

// peerGone ends the stream at once because the peer ended it or cannot be
// reached: there is nobody to tell.
func (s *stream) peerGone(err error) {
	s.mu.Lock()
	s.endSent = true
	s.mu.Unlock()
	s.abortWith(err)
}

// abortWith ends the stream at once with err (the first reason wins) and
// drops what was not read.
func (s *stream) abortWith(err error) {
	s.mu.Lock()
	if s.abort == nil {
		s.abort = err
	}
	for i := s.head; i < len(s.queue); i++ {
		putBuffer(s.queue[i].buf)
	}
	s.queue, s.head = nil, 0
	ch := s.sendSignal
	s.mu.Unlock()
	signal(s.recvSignal)
	signal(ch)
	if s.cancelCtx != nil {
		s.cancelCtx()
	}
}
