package paxos

import (
	"context"
	"fmt"
	"io"
	"reflect"
	"sync"
	"time"
)

// Stream provides an abstract definition of the functionality the underlying
// stream needs to provide.
type Stream interface {
	Context() context.Context
	SetReadDeadline(deadline time.Time) error
	ReadMsg(i interface{}) error
	SetWriteDeadline(deadline time.Time) error
	WriteMsg(i interface{}) error
	Close() error
}

// MockStream is an in-memory Stream, useful for testing. ReadMsg takes the
// next value from Incoming and assigns it into its argument (a pointer to the
// same type as the value, or to the type the value points to; a mismatch is
// an error), returns io.EOF once Incoming is closed, and honours Ctx and the
// read deadline. WriteMsg sends its argument to Outgoing, honouring Ctx and
// the write deadline. Close ends pending and later ReadMsg and WriteMsg calls
// with io.ErrClosedPipe (and cancels the context NewMockStream made); it works
// on a plain literal too.
type MockStream struct {
	Ctx      context.Context
	Incoming chan interface{}
	Outgoing chan interface{}

	mu            sync.Mutex
	cancel        context.CancelFunc
	closed        chan struct{} // closed by Close; made lazily for literals
	readDeadline  time.Time
	writeDeadline time.Time
}

var _ Stream = (*MockStream)(nil)

// ErrDeadlineExceeded is returned by MockStream when a deadline passes.
var ErrDeadlineExceeded = fmt.Errorf("paxos: stream deadline exceeded: %w", context.DeadlineExceeded)

// NewMockStream provides a mock Stream implementation useful for testing.
// This could be yarpc or paxos related.
func NewMockStream(size int) *MockStream {
	ctx, cancel := context.WithCancel(context.Background())
	return &MockStream{Ctx: ctx, cancel: cancel,
		Incoming: make(chan interface{}, size), Outgoing: make(chan interface{}, size)}
}

// Context returns the stream's context (Ctx, or context.Background when nil).
func (m *MockStream) Context() context.Context {
	if m.Ctx == nil {
		return context.Background()
	}
	return m.Ctx
}

// SetReadDeadline sets the time after which ReadMsg fails; zero means none.
func (m *MockStream) SetReadDeadline(deadline time.Time) error {
	m.mu.Lock()
	m.readDeadline = deadline
	m.mu.Unlock()
	return nil
}

// SetWriteDeadline sets the time after which WriteMsg fails; zero means none.
func (m *MockStream) SetWriteDeadline(deadline time.Time) error {
	m.mu.Lock()
	m.writeDeadline = deadline
	m.mu.Unlock()
	return nil
}

func deadlineChan(d time.Time) (<-chan time.Time, func()) {
	if d.IsZero() {
		return nil, func() {}
	}
	t := time.NewTimer(time.Until(d))
	return t.C, func() { t.Stop() }
}

// closedChan returns the channel Close closes. Called with mu held.
func (m *MockStream) closedChan() chan struct{} {
	if m.closed == nil {
		m.closed = make(chan struct{})
	}
	return m.closed
}

// ended is the error of a call that found its context done: Close wins, so
// that the result does not depend on select's choice.
func (m *MockStream) ended(closed chan struct{}) error {
	select {
	case <-closed:
		return io.ErrClosedPipe
	default:
		return m.Context().Err()
	}
}

// ReadMsg reads the next incoming value into i.
func (m *MockStream) ReadMsg(i interface{}) error {
	m.mu.Lock()
	dl, closed := m.readDeadline, m.closedChan()
	m.mu.Unlock()
	select {
	case <-closed:
		return io.ErrClosedPipe
	default:
	}
	timeout, stop := deadlineChan(dl)
	defer stop()
	select {
	case v, ok := <-m.Incoming:
		if !ok {
			return io.EOF
		}
		return assign(i, v)
	case <-m.Context().Done():
		return m.ended(closed)
	case <-closed:
		return io.ErrClosedPipe
	case <-timeout:
		return ErrDeadlineExceeded
	}
}

// WriteMsg sends i to Outgoing.
func (m *MockStream) WriteMsg(i interface{}) error {
	m.mu.Lock()
	dl, closed := m.writeDeadline, m.closedChan()
	m.mu.Unlock()
	select {
	case <-closed:
		return io.ErrClosedPipe
	default:
	}
	timeout, stop := deadlineChan(dl)
	defer stop()
	select {
	case m.Outgoing <- i:
		return nil
	case <-m.Context().Done():
		return m.ended(closed)
	case <-closed:
		return io.ErrClosedPipe
	case <-timeout:
		return ErrDeadlineExceeded
	}
}

// Close ends the stream: pending and later ReadMsg and WriteMsg calls return
// io.ErrClosedPipe, and the context NewMockStream made is cancelled. Closing
// twice is harmless.
func (m *MockStream) Close() error {
	m.mu.Lock()
	closed := m.closedChan()
	select {
	case <-closed:
	default:
		close(closed)
	}
	m.mu.Unlock()
	if m.cancel != nil {
		m.cancel()
	}
	return nil
}

// assign stores v into the value dst points to.
func assign(dst, v interface{}) error {
	if err, ok := v.(error); ok {
		return err // a stream may carry an error for the reader, as yarpc does
	}
	d := reflect.ValueOf(dst)
	if d.Kind() != reflect.Pointer || d.IsNil() {
		return fmt.Errorf("%w: ReadMsg needs a non-nil pointer, got %T", ErrBadMessage, dst)
	}
	src := reflect.ValueOf(v)
	if !src.IsValid() {
		return fmt.Errorf("%w: nil message for %T", ErrBadMessage, dst)
	}
	if src.Type() == d.Type() {
		if src.IsNil() {
			return fmt.Errorf("%w: nil %T", ErrBadMessage, v)
		}
		src = src.Elem()
	}
	if src.Type() != d.Elem().Type() {
		return fmt.Errorf("%w: cannot read a %T into a %T", ErrBadMessage, v, dst)
	}
	d.Elem().Set(src)
	return nil
}
