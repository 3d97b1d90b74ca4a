package yarpc

import (
	"errors"
	"fmt"
	"io"
	"sync"
)

// Buffers for frames, pooled so that a steady stream of small messages
// allocates nothing per message on the connection's side.

// maxPooledBytes keeps large one-off buffers out of the pool so that a single
// big message does not pin its memory for the life of the process.
const maxPooledBytes = 64 << 10

var bufferPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// getBuffer returns a buffer of length n.
func getBuffer(n int) *[]byte {
	b := bufferPool.Get().(*[]byte)
	if cap(*b) < n {
		if n > maxPooledBytes {
			bufferPool.Put(b)
			nb := make([]byte, n)
			return &nb
		}
		*b = make([]byte, n)
	}
	*b = (*b)[:n]
	return b
}

// putBuffer returns a buffer from getBuffer to the pool.
func putBuffer(b *[]byte) {
	if b == nil || cap(*b) > maxPooledBytes {
		return
	}
	*b = (*b)[:0]
	bufferPool.Put(b)
}

// readFull is io.ReadFull that reports a frame cut short as such.
func readFull(r io.Reader, b []byte) (int, error) {
	n, err := io.ReadFull(r, b)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = fmt.Errorf("%w: truncated frame: %w", ErrProtocol, err)
	}
	return n, err
}
