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
// the write deadline. Close cancels the stream's context.
type MockStream struct {
	Ctx      context.Context
	Incoming chan interface{}
	Outgoing chan interface{}

	mu            sync.Mutex
	cancel        context.CancelFunc
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

// ReadMsg reads the next incoming value into i.
func (m *MockStream) ReadMsg(i interface{}) error {
	m.mu.Lock()
	dl := m.readDeadline
	m.mu.Unlock()
	timeout, stop := deadlineChan(dl)
	defer stop()
	select {
	case v, ok := <-m.Incoming:
		if !ok {
			return io.EOF
		}
		return assign(i, v)
	case <-m.Context().Done():
		return m.Context().Err()
	case <-timeout:
		return ErrDeadlineExceeded
	}
}

// WriteMsg sends i to Outgoing.
func (m *MockStream) WriteMsg(i interface{}) error {
	m.mu.Lock()
	dl := m.writeDeadline
	m.mu.Unlock()
	timeout, stop := deadlineChan(dl)
	defer stop()
	select {
	case m.Outgoing <- i:
		return nil
	case <-m.Context().Done():
		return m.Context().Err()
	case <-timeout:
		return ErrDeadlineExceeded
	}
}

// Close cancels the stream's context (when NewMockStream made it).
func (m *MockStream) Close() error {
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
