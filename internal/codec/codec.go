// Package codec holds the low-level pieces of the library's binary encoding:
// appending and reading uvarints, strings and length-prefixed byte fields, a
// Reader that remembers its first error, and a Detacher that moves the byte
// fields of a decoded message into one allocation of their own.
//
// The message layouts themselves live next to the message types (package
// paxos, encoding.go) and are documented in docs/FORMAT.md.
package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Errors a Reader reports. They are wrapped with the offset where decoding
// stopped.
var (
	// ErrTruncated means the input ended inside a field.
	ErrTruncated = errors.New("codec: truncated input")
	// ErrMalformed means a field holds a value no encoder produces (an
	// overlong uvarint, a bool that is neither 0 nor 1, a count larger than
	// the remaining input, trailing bytes, ...).
	ErrMalformed = errors.New("codec: malformed input")
)

// AppendUvarint appends v as an unsigned LEB128 varint (1 to 10 bytes).
func AppendUvarint(b []byte, v uint64) []byte {
	return binary.AppendUvarint(b, v)
}

// AppendBool appends 1 for true and 0 for false.
func AppendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// AppendString appends uvarint(len(s)) followed by the bytes of s.
func AppendString(b []byte, s string) []byte {
	b = AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// AppendBytes appends a byte field that keeps nil and empty apart: a nil
// slice is the single byte 0, any other slice is uvarint(len(p)+1) followed
// by its bytes.
func AppendBytes(b, p []byte) []byte {
	if p == nil {
		return append(b, 0)
	}
	b = AppendUvarint(b, uint64(len(p))+1)
	return append(b, p...)
}

// AppendCount appends the length of a slice field the same way AppendBytes
// does: 0 for a nil slice, n+1 for a slice of n elements.
func AppendCount(b []byte, n int, isNil bool) []byte {
	if isNil {
		return append(b, 0)
	}
	return AppendUvarint(b, uint64(n)+1)
}

// Reader reads fields from a byte slice. After the first failure every read
// returns a zero value and Err reports that failure, so decoders read a whole
// message and check once. A Reader never panics and never allocates.
type Reader struct {
	data []byte
	off  int // len(data) once err is set, so fast paths need not check err
	err  error
}

// NewReader returns a Reader over data. The Reader does not copy data: byte
// fields it returns alias it.
func NewReader(data []byte) Reader {
	return Reader{data: data}
}

// Err returns the first failure, or nil.
func (r *Reader) Err() error { return r.err }

// Len returns the number of unread bytes.
func (r *Reader) Len() int { return len(r.data) - r.off }

// Fail records err (wrapped with ErrMalformed and the offset) unless a
// failure is already recorded. Decoders use it for semantic checks.
func (r *Reader) Fail(format string, args ...interface{}) {
	if r.err == nil {
		r.err = fmt.Errorf("%w at offset %d: %s", ErrMalformed, r.off, fmt.Sprintf(format, args...))
		r.off = len(r.data)
	}
}

func (r *Reader) truncated(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s at offset %d", ErrTruncated, what, r.off)
		r.off = len(r.data)
	}
}

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if r.off >= len(r.data) {
		return r.byteSlow()
	}
	r.off++
	return r.data[r.off-1]
}

func (r *Reader) byteSlow() byte {
	r.truncated("byte")
	return 0
}

// Bool reads a byte that must be 0 or 1.
func (r *Reader) Bool() bool {
	c := r.Byte()
	if c > 1 {
		r.Fail("bool byte %#x", c)
		return false
	}
	return c == 1
}

// Uvarint reads an unsigned varint. Encodings that are not minimal (a
// trailing zero byte), longer than 10 bytes or overflowing 64 bits are
// malformed, so every value has exactly one encoding.
func (r *Reader) Uvarint() uint64 {
	// Fast path, inlined: small values are one byte.
	if r.off < len(r.data) && r.data[r.off] < 0x80 {
		r.off++
		return uint64(r.data[r.off-1])
	}
	return r.uvarintSlow()
}

func (r *Reader) uvarintSlow() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.data[r.off:])
	switch {
	case n == 0:
		r.truncated("uvarint")
		return 0
	case n < 0:
		r.Fail("uvarint overflows 64 bits")
		return 0
	case n > 1 && r.data[r.off+n-1] == 0:
		r.Fail("uvarint is not minimally encoded")
		return 0
	}
	r.off += n
	return v
}

// Uint32 reads a uvarint that must fit in 32 bits.
func (r *Reader) Uint32() uint32 {
	v := r.Uvarint()
	if v > math.MaxUint32 {
		r.Fail("value %d overflows uint32", v)
		return 0
	}
	return uint32(v)
}

// take returns the next n bytes, aliasing the input.
func (r *Reader) take(n uint64, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(r.Len()) {
		r.truncated(what)
		return nil
	}
	p := r.data[r.off : r.off+int(n) : r.off+int(n)]
	r.off += int(n)
	return p
}

// String reads a field written by AppendString. The returned string is a
// copy.
func (r *Reader) String() string {
	n := r.Uvarint()
	return string(r.take(n, "string"))
}

// Bytes reads a field written by AppendBytes. The returned slice aliases the
// input (capacity clipped to its length); use a Detacher to copy it out.
func (r *Reader) Bytes() []byte {
	n := r.Uvarint()
	if r.err != nil || n == 0 {
		return nil
	}
	return r.take(n-1, "bytes")
}

// Count reads a slice length written by AppendCount. It returns -1 for a nil
// slice. A count whose elements, at minSize encoded bytes each, would not fit
// in the remaining input is malformed, so callers may allocate count
// elements without trusting the input.
func (r *Reader) Count(minSize int) int {
	n := r.Uvarint()
	if r.err != nil || n == 0 {
		return -1
	}
	n--
	if minSize < 1 {
		minSize = 1
	}
	if n > uint64(r.Len()/minSize) {
		r.Fail("count %d exceeds the remaining %d bytes", n, r.Len())
		return -1
	}
	return int(n)
}

// Finish reports the first failure, or ErrMalformed if unread bytes remain.
func (r *Reader) Finish() error {
	if r.err == nil && r.Len() != 0 {
		r.Fail("%d trailing bytes", r.Len())
	}
	return r.err
}

// Detacher copies the byte fields of a decoded message, which alias the
// input, into one allocation, so that the message does not keep the input
// alive and later changes to the input do not show through. Use it in two
// passes over the same fields: first call Field on each to size the buffer,
// then Alloc, then Field on each again in the same order.
type Detacher struct {
	size  int
	buf   []byte
	ready bool
}

// Field sizes (first pass) or copies (second pass) *p. Nil stays nil and
// empty stays empty.
func (d *Detacher) Field(p *[]byte) {
	if !d.ready {
		d.size += len(*p)
		return
	}
	if *p == nil {
		return
	}
	if len(*p) == 0 {
		*p = []byte{}
		return
	}
	start := len(d.buf)
	d.buf = append(d.buf, *p...)
	*p = d.buf[start:len(d.buf):len(d.buf)]
}

// Alloc ends the sizing pass and allocates the buffer.
func (d *Detacher) Alloc() {
	d.ready = true
	if d.size > 0 {
		d.buf = make([]byte, 0, d.size)
	}
}
