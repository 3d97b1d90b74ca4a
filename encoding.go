package paxos

import (
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/mjpitz/myago/paxos/internal/codec"
)

// The binary encoding of the wire types (format version 1; docs/FORMAT.md is
// the reference). Every encoded message starts with two bytes: the format
// version and a type tag. Fields follow in declaration order:
//
//   - integers are uvarints (uint32 fields must fit in 32 bits);
//   - strings are uvarint(len) + bytes;
//   - byte slices are 0 for nil, or uvarint(len+1) + bytes, so nil and empty
//     round-trip exactly;
//   - slices of messages are 0 for nil, or uvarint(n+1) + n elements;
//   - optional (pointer) messages are a presence byte 0 or 1, then the body;
//   - bools are one byte, 0 or 1.
//
// Nested messages are encoded without the two header bytes. A decoder
// rejects unknown versions, other tags, truncated input and trailing bytes.

// FormatVersion is the version byte that starts every encoded message and
// Log record written by this release.
const FormatVersion byte = 1

// Type tags, the second byte of an encoded message.
const (
	tagRequest  byte = 1
	tagPromise  byte = 2
	tagProposal byte = 3
	tagCommand  byte = 4
	tagBytes    byte = 5
	// tagJSON marks a Log record of a type without a binary encoding: the
	// rest of the record is its encoding/json document.
	tagJSON byte = 0xff
)

// Minimum encoded sizes of nested bodies, used to bound counts read from
// untrusted input before allocating.
const (
	minCommandSize  = 4 // four one-byte uvarints (Value nil)
	minProposalSize = 7 // ID, Value, Slot, Offset, Chosen, Commands, Decided
)

// maxUvarint is the longest encoding of a uvarint, used to size buffers.
const maxUvarint = binary.MaxVarintLen64

// ErrNilMessage is returned when encoding a nil message.
var ErrNilMessage = errors.New("paxos: nil message")

var (
	_ encoding.BinaryAppender    = (*Proposal)(nil)
	_ encoding.BinaryMarshaler   = (*Proposal)(nil)
	_ encoding.BinaryUnmarshaler = (*Proposal)(nil)
	_ wireMessage                = (*Request)(nil)
	_ wireMessage                = (*Promise)(nil)
	_ wireMessage                = (*Proposal)(nil)
	_ wireMessage                = (*Command)(nil)
	_ wireMessage                = (*Bytes)(nil)
)

// wireMessage is a type of this package with a binary encoding of its own.
// The unexported method keeps other types that happen to implement the
// encoding interfaces out: their records go through the JSON fallback.
type wireMessage interface {
	encoding.BinaryAppender
	encoding.BinaryMarshaler
	encoding.BinaryUnmarshaler
	wireTag() byte
}

func (*Request) wireTag() byte  { return tagRequest }
func (*Promise) wireTag() byte  { return tagPromise }
func (*Proposal) wireTag() byte { return tagProposal }
func (*Command) wireTag() byte  { return tagCommand }
func (*Bytes) wireTag() byte    { return tagBytes }

func tagName(tag byte) string {
	switch tag {
	case tagRequest:
		return "Request"
	case tagPromise:
		return "Promise"
	case tagProposal:
		return "Proposal"
	case tagCommand:
		return "Command"
	case tagBytes:
		return "Bytes"
	case tagJSON:
		return "JSON"
	}
	return fmt.Sprintf("unknown tag %#x", tag)
}

func appendHeader(b []byte, tag byte) []byte {
	return append(b, FormatVersion, tag)
}

// readHeader checks the version and tag of an encoded message.
func readHeader(r *codec.Reader, want byte) {
	v, tag := r.Byte(), r.Byte()
	switch {
	case r.Err() != nil:
	case v != FormatVersion:
		r.Fail("unsupported format version %d", v)
	case tag != want:
		r.Fail("holds a %s, not a %s", tagName(tag), tagName(want))
	}
}

func decodeErr(what string, err error) error {
	return fmt.Errorf("paxos: decode %s: %w", what, err)
}

func nilReceiver(what string) error {
	return fmt.Errorf("paxos: encode nil *%s: %w", what, ErrNilMessage)
}

// AppendBinary implements encoding.BinaryAppender.
func (m *Request) AppendBinary(b []byte) ([]byte, error) {
	if m == nil {
		return b, nilReceiver("Request")
	}
	b = appendHeader(b, tagRequest)
	b = codec.AppendUvarint(b, m.ID)
	b = codec.AppendUvarint(b, m.Attempt)
	b = codec.AppendUvarint(b, m.Slot)
	b = codec.AppendString(b, m.Proposer)
	return codec.AppendBool(b, m.ChosenOnly), nil
}

// MarshalBinary implements encoding.BinaryMarshaler.
func (m *Request) MarshalBinary() ([]byte, error) {
	if m == nil {
		return m.AppendBinary(nil)
	}
	return m.AppendBinary(make([]byte, 0, 3+4*maxUvarint+len(m.Proposer)))
}

// UnmarshalBinary implements encoding.BinaryUnmarshaler. It replaces every
// field of m, does not retain data, and leaves m untouched on error.
func (m *Request) UnmarshalBinary(data []byte) error {
	r := codec.NewReader(data)
	readHeader(&r, tagRequest)
	var t Request
	t.ID = r.Uvarint()
	t.Attempt = r.Uvarint()
	t.Slot = r.Uvarint()
	t.Proposer = r.String()
	t.ChosenOnly = r.Bool()
	if err := r.Finish(); err != nil {
		return decodeErr("Request", err)
	}
	*m = t
	return nil
}

// AppendBinary implements encoding.BinaryAppender.
func (m *Command) AppendBinary(b []byte) ([]byte, error) {
	if m == nil {
		return b, nilReceiver("Command")
	}
	b = slices.Grow(b, 2+m.sizeHint())
	return m.appendBody(appendHeader(b, tagCommand)), nil
}

func (m *Command) appendBody(b []byte) []byte {
	b = codec.AppendUvarint(b, m.Session)
	b = codec.AppendUvarint(b, m.Seq)
	b = codec.AppendUvarint(b, m.Floor)
	return codec.AppendBytes(b, m.Value)
}

func (m *Command) readBody(r *codec.Reader) {
	m.Session = r.Uvarint()
	m.Seq = r.Uvarint()
	m.Floor = r.Uvarint()
	m.Value = r.Bytes()
}

// MarshalBinary implements encoding.BinaryMarshaler.
func (m *Command) MarshalBinary() ([]byte, error) {
	if m == nil {
		return m.AppendBinary(nil)
	}
	return m.AppendBinary(make([]byte, 0, 2+m.sizeHint()))
}

// sizeHint bounds the size of the body.
func (m *Command) sizeHint() int { return 4*maxUvarint + len(m.Value) }

// UnmarshalBinary implements encoding.BinaryUnmarshaler. It replaces every
// field of m, does not retain data, and leaves m untouched on error.
func (m *Command) UnmarshalBinary(data []byte) error {
	r := codec.NewReader(data)
	readHeader(&r, tagCommand)
	var t Command
	t.readBody(&r)
	if err := r.Finish(); err != nil {
		return decodeErr("Command", err)
	}
	var d codec.Detacher
	d.Field(&t.Value)
	d.Alloc()
	d.Field(&t.Value)
	*m = t
	return nil
}

// AppendBinary implements encoding.BinaryAppender.
func (m *Proposal) AppendBinary(b []byte) ([]byte, error) {
	if m == nil {
		return b, nilReceiver("Proposal")
	}
	// One allocation for the whole message: a batch of large values would
	// otherwise be copied again at every doubling of the buffer.
	b = slices.Grow(b, 2+m.sizeHint())
	return m.appendBody(appendHeader(b, tagProposal)), nil
}

func (m *Proposal) appendBody(b []byte) []byte {
	b = codec.AppendUvarint(b, m.ID)
	b = codec.AppendBytes(b, m.Value)
	b = codec.AppendUvarint(b, m.Slot)
	b = codec.AppendUvarint(b, uint64(m.Offset))
	b = codec.AppendUvarint(b, m.Chosen)
	b = codec.AppendCount(b, len(m.Commands), m.Commands == nil)
	for i := range m.Commands {
		b = m.Commands[i].appendBody(b)
	}
	return codec.AppendBool(b, m.Decided)
}

func (m *Proposal) readBody(r *codec.Reader) {
	m.ID = r.Uvarint()
	m.Value = r.Bytes()
	m.Slot = r.Uvarint()
	m.Offset = r.Uint32()
	m.Chosen = r.Uvarint()
	if n := r.Count(minCommandSize); n >= 0 {
		m.Commands = make([]Command, n)
		for i := range m.Commands {
			m.Commands[i].readBody(r)
		}
	}
	m.Decided = r.Bool()
}

// detach visits every byte field of m (see codec.Detacher).
func (m *Proposal) detach(d *codec.Detacher) {
	d.Field(&m.Value)
	for i := range m.Commands {
		d.Field(&m.Commands[i].Value)
	}
}

// MarshalBinary implements encoding.BinaryMarshaler.
func (m *Proposal) MarshalBinary() ([]byte, error) {
	if m == nil {
		return m.AppendBinary(nil)
	}
	return m.AppendBinary(make([]byte, 0, 2+m.sizeHint()))
}

// sizeHint bounds the size of the body.
func (m *Proposal) sizeHint() int {
	n := 6*maxUvarint + 1 + len(m.Value)
	for i := range m.Commands {
		n += m.Commands[i].sizeHint()
	}
	return n
}

// UnmarshalBinary implements encoding.BinaryUnmarshaler. It replaces every
// field of m, does not retain data (all byte fields share one new
// allocation), and leaves m untouched on error.
func (m *Proposal) UnmarshalBinary(data []byte) error {
	r := codec.NewReader(data)
	readHeader(&r, tagProposal)
	var t Proposal
	t.readBody(&r)
	if err := r.Finish(); err != nil {
		return decodeErr("Proposal", err)
	}
	var d codec.Detacher
	t.detach(&d)
	d.Alloc()
	t.detach(&d)
	*m = t
	return nil
}

// AppendBinary implements encoding.BinaryAppender.
func (m *Promise) AppendBinary(b []byte) ([]byte, error) {
	if m == nil {
		return b, nilReceiver("Promise")
	}
	b = slices.Grow(b, m.sizeHint())
	b = appendHeader(b, tagPromise)
	b = codec.AppendUvarint(b, m.ID)
	b = appendOptionalProposal(b, m.Accepted)
	b = codec.AppendUvarint(b, m.Chosen)
	b = codec.AppendCount(b, len(m.Entries), m.Entries == nil)
	for _, e := range m.Entries {
		b = appendOptionalProposal(b, e)
	}
	return codec.AppendBool(b, m.More), nil
}

func appendOptionalProposal(b []byte, p *Proposal) []byte {
	if p == nil {
		return append(b, 0)
	}
	return p.appendBody(append(b, 1))
}

// MarshalBinary implements encoding.BinaryMarshaler.
func (m *Promise) MarshalBinary() ([]byte, error) {
	if m == nil {
		return m.AppendBinary(nil)
	}
	return m.AppendBinary(make([]byte, 0, m.sizeHint()))
}

// sizeHint bounds the size of the encoded message.
func (m *Promise) sizeHint() int {
	n := 2 + 3*maxUvarint + 2
	if m.Accepted != nil {
		n += 1 + m.Accepted.sizeHint()
	}
	for _, e := range m.Entries {
		n++
		if e != nil {
			n += e.sizeHint()
		}
	}
	return n
}

// UnmarshalBinary implements encoding.BinaryUnmarshaler. It replaces every
// field of m, does not retain data (all byte fields share one new
// allocation, the entries another), and leaves m untouched on error.
func (m *Promise) UnmarshalBinary(data []byte) error {
	r := codec.NewReader(data)
	readHeader(&r, tagPromise)
	var t Promise
	t.ID = r.Uvarint()
	if r.Bool() {
		t.Accepted = new(Proposal)
		t.Accepted.readBody(&r)
	}
	t.Chosen = r.Uvarint()
	if n := r.Count(1); n >= 0 {
		// The entry structs share one allocation. A present entry takes at
		// least 1+minProposalSize bytes, which bounds the slab by the input
		// size; append keeps earlier pointers valid even if it ever grew.
		slab := make([]Proposal, 0, min(n, r.Len()/(1+minProposalSize)))
		t.Entries = make([]*Proposal, n)
		for i := range t.Entries {
			if r.Bool() {
				slab = append(slab, Proposal{})
				e := &slab[len(slab)-1]
				e.readBody(&r)
				t.Entries[i] = e
			}
		}
	}
	t.More = r.Bool()
	if err := r.Finish(); err != nil {
		return decodeErr("Promise", err)
	}
	var d codec.Detacher
	t.detach(&d)
	d.Alloc()
	t.detach(&d)
	*m = t
	return nil
}

func (m *Promise) detach(d *codec.Detacher) {
	if m.Accepted != nil {
		m.Accepted.detach(d)
	}
	for _, e := range m.Entries {
		if e != nil {
			e.detach(d)
		}
	}
}

// AppendBinary implements encoding.BinaryAppender.
func (m *Bytes) AppendBinary(b []byte) ([]byte, error) {
	if m == nil {
		return b, nilReceiver("Bytes")
	}
	b = slices.Grow(b, 2+maxUvarint+len(m.Value))
	b = appendHeader(b, tagBytes)
	return codec.AppendBytes(b, m.Value), nil
}

// MarshalBinary implements encoding.BinaryMarshaler.
func (m *Bytes) MarshalBinary() ([]byte, error) {
	if m == nil {
		return m.AppendBinary(nil)
	}
	return m.AppendBinary(make([]byte, 0, 2+maxUvarint+len(m.Value)))
}

// UnmarshalBinary implements encoding.BinaryUnmarshaler. It replaces every
// field of m, does not retain data, and leaves m untouched on error.
func (m *Bytes) UnmarshalBinary(data []byte) error {
	r := codec.NewReader(data)
	readHeader(&r, tagBytes)
	var t Bytes
	t.Value = r.Bytes()
	if err := r.Finish(); err != nil {
		return decodeErr("Bytes", err)
	}
	var d codec.Detacher
	d.Field(&t.Value)
	d.Alloc()
	d.Field(&t.Value)
	*m = t
	return nil
}
