package yarpc

import (
	"net"
	"sync"
	"time"
)

// maxPendingBytes bounds the frames queued for a connection's writer. A
// message frame waits (honouring its stream's deadline and context) while
// the queue is over it; control frames never wait, so that credit, cancel and
// end-of-stream frames cannot deadlock behind data.
const maxPendingBytes = 1 << 20

// flushTimeout bounds how long a closing connection tries to flush the frames
// still queued for a peer that stopped reading.
const flushTimeout = time.Second

// connWriter owns the write side of a connection. Streams append whole
// frames to a queue; one goroutine (run) writes everything queued with one
// Write call, so concurrent streams share system calls and a frame is never
// split between writers.
type connWriter struct {
	conn net.Conn

	mu      sync.Mutex
	pending []byte        // frames waiting to be written
	spare   []byte        // the buffer being written, reused
	wake    chan struct{} // cap 1: pending is not empty, or closing
	space   chan struct{} // closed when pending drains; nil if nobody waits
	closing bool          // write what is pending, then stop
	err     error         // the first write error; the writer has stopped
	done    chan struct{} // closed when run returns
}

func newConnWriter(conn net.Conn) *connWriter {
	return &connWriter{conn: conn, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// enqueue appends a frame (or several) to the queue. A data frame first waits
// for room, until cancel or expired is closed (returning errWait), or the
// writer stops (returning its error).
func (w *connWriter) enqueue(frames []byte, data bool, cancel, expired <-chan struct{}) error {
	w.mu.Lock()
	for data && len(w.pending) >= maxPendingBytes && w.err == nil && !w.closing {
		if w.space == nil {
			w.space = make(chan struct{})
		}
		space := w.space
		w.mu.Unlock()
		select {
		case <-space:
		case <-cancel:
			return errCancelled
		case <-expired:
			return errExpired
		case <-w.done:
		}
		w.mu.Lock()
	}
	if err := w.stopped(); err != nil {
		w.mu.Unlock()
		return err
	}
	w.pending = append(w.pending, frames...)
	w.mu.Unlock()
	signal(w.wake)
	return nil
}

// stopped returns why the writer takes no more frames, if so. w.mu is held.
func (w *connWriter) stopped() error {
	switch {
	case w.err != nil:
		return w.err
	case w.closing:
		return ErrConnectionLost
	}
	return nil
}

// tryEnqueue queues prefix and frame together if there is room, and reports
// whether it did.
func (w *connWriter) tryEnqueue(prefix, frame []byte) (bool, error) {
	w.mu.Lock()
	if err := w.stopped(); err != nil || len(w.pending) >= maxPendingBytes {
		w.mu.Unlock()
		return false, err
	}
	w.pending = append(append(w.pending, prefix...), frame...)
	w.mu.Unlock()
	signal(w.wake)
	return true, nil
}

// Sentinels of enqueue's waits, mapped by the stream to its own errors.
var (
	errCancelled = &waitError{"cancelled"}
	errExpired   = &waitError{"deadline"}
)

type waitError struct{ s string }

func (e *waitError) Error() string { return "yarpc: wait ended: " + e.s }

// run writes until close is called (then flushes and closes the connection)
// or a write fails. It returns the error that stopped it, nil after close.
func (w *connWriter) run() error {
	defer close(w.done)
	for {
		w.mu.Lock()
		for len(w.pending) == 0 && !w.closing {
			w.mu.Unlock()
			<-w.wake
			w.mu.Lock()
		}
		if len(w.pending) == 0 { // closing, all flushed
			w.mu.Unlock()
			return w.conn.Close()
		}
		buf := w.pending
		w.pending, w.spare = w.spare[:0], nil
		if w.space != nil {
			close(w.space)
			w.space = nil
		}
		w.mu.Unlock()

		_, err := w.conn.Write(buf)
		if cap(buf) > 4*maxPendingBytes {
			buf = nil // do not keep a burst's memory
		}
		w.mu.Lock()
		w.spare = buf[:0]
		if err != nil {
			w.err = err
			w.pending = nil
			if w.space != nil {
				close(w.space)
				w.space = nil
			}
			w.mu.Unlock()
			w.conn.Close()
			return err
		}
		w.mu.Unlock()
	}
}

// close makes run flush what is queued, within flushTimeout, and then close
// the connection. It does not wait.
func (w *connWriter) close() {
	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		return
	}
	w.closing = true
	w.mu.Unlock()
	_ = w.conn.SetWriteDeadline(time.Now().Add(flushTimeout))
	signal(w.wake)
}
