package yarpc

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
)

// The wire format. A connection carries frames in both directions, each a
// fixed 10-byte header followed by its payload:
//
//	byte 0     protocol version (ProtocolVersion)
//	byte 1     kind (see the kind constants)
//	bytes 2-5  stream id, big endian
//	bytes 6-9  payload length in bytes, big endian
//
// The client sends kindHello as the first frame of every connection and
// opens streams with kindInvoke. It hands out stream ids in increasing order
// and never reuses one on a connection; as a stream's invoke travels with its
// first message, invokes of concurrent streams may arrive out of order. A
// frame for an id above every id invoked so far breaks the protocol; one for
// an id that has ended is dropped (the peer had not seen the end yet).

// ProtocolVersion is the version byte of every frame this release sends. A
// peer that receives another version closes the connection, so releases that
// cannot talk to each other tell so at once instead of misreading frames.
const ProtocolVersion = 1

// frameHeaderBytes is the size of a frame header on the wire.
const frameHeaderBytes = 10

// frameKind says what a frame carries.
type frameKind uint8

const (
	// kindHello is the client's first frame on a connection. Empty payload.
	kindHello frameKind = 1 + iota
	// kindInvoke opens a stream (client to server). Payload: the method name.
	kindInvoke
	// kindMessage carries one encoded message (both directions).
	kindMessage
	// kindCloseSend says the sender will send no more messages on the
	// stream. From the server it ends the stream successfully: the client
	// reads io.EOF after the messages before it. Empty payload.
	kindCloseSend
	// kindError ends a stream with a Status (server to client). Payload: a
	// 4-byte big-endian code followed by the message text.
	kindError
	// kindCancel abandons a stream (client to server); the handler's context
	// is cancelled. Empty payload.
	kindCancel
	// kindWindow returns flow-control credit for a stream (both directions).
	// Payload: a 4-byte big-endian number of bytes.
	kindWindow
	// kindGoAway tells the client that the server opens no more streams on
	// this connection (it is shutting down). Stream id 0, empty payload.
	kindGoAway

	kindLast = kindGoAway
)

var kindNames = [...]string{
	kindHello:     "hello",
	kindInvoke:    "invoke",
	kindMessage:   "message",
	kindCloseSend: "close-send",
	kindError:     "error",
	kindCancel:    "cancel",
	kindWindow:    "window",
	kindGoAway:    "go-away",
}

func (k frameKind) String() string {
	if k >= 1 && k <= kindLast {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// maxMethodBytes limits the method name of an Invoke frame.
const maxMethodBytes = 1 << 10

// windowPayloadBytes is the payload size of a kindWindow frame.
const windowPayloadBytes = 4

// frameHeader is a decoded frame header.
type frameHeader struct {
	kind   frameKind
	stream uint32
	length uint32
}

// appendFrameHeader appends a header to b.
func appendFrameHeader(b []byte, kind frameKind, stream uint32, length int) []byte {
	b = append(b, ProtocolVersion, byte(kind))
	b = binary.BigEndian.AppendUint32(b, stream)
	return binary.BigEndian.AppendUint32(b, uint32(length))
}

// setFrameLength patches the length of the frame whose header starts at
// b[start] to cover everything after that header.
func setFrameLength(b []byte, start int) {
	binary.BigEndian.PutUint32(b[start+6:], uint32(len(b)-start-frameHeaderBytes))
}

// parseFrameHeader decodes and checks a header: the version, the kind and,
// for kinds whose payload has a fixed or small size, the length. The length
// of a message or error frame is checked by the caller against its limit.
func parseFrameHeader(b []byte) (frameHeader, error) {
	if len(b) < frameHeaderBytes {
		return frameHeader{}, fmt.Errorf("%w: short frame header (%d bytes)", ErrProtocol, len(b))
	}
	if b[0] != ProtocolVersion {
		return frameHeader{}, fmt.Errorf("%w: unsupported protocol version %d (want %d)", ErrProtocol, b[0], ProtocolVersion)
	}
	h := frameHeader{
		kind:   frameKind(b[1]),
		stream: binary.BigEndian.Uint32(b[2:]),
		length: binary.BigEndian.Uint32(b[6:]),
	}
	var ok bool
	switch h.kind {
	case kindHello, kindGoAway:
		ok = h.length == 0 && h.stream == 0
	case kindCloseSend, kindCancel:
		ok = h.length == 0 && h.stream != 0
	case kindWindow:
		ok = h.length == windowPayloadBytes && h.stream != 0
	case kindInvoke:
		ok = h.length > 0 && h.length <= maxMethodBytes && h.stream != 0
	case kindMessage, kindError:
		ok = h.stream != 0
	default:
		return frameHeader{}, fmt.Errorf("%w: unknown frame kind %d", ErrProtocol, b[1])
	}
	if !ok {
		return frameHeader{}, fmt.Errorf("%w: bad %v frame (stream %d, %d bytes)", ErrProtocol, h.kind, h.stream, h.length)
	}
	return h, nil
}

// errFrameTooLarge is returned by readFrame for a message or error frame
// whose length is over the limit; the payload has been skipped and the
// connection is still in sync.
var errFrameTooLarge = errors.New("yarpc: frame too large")

// frameReader reads frames from a connection. Not safe for concurrent use.
type frameReader struct {
	r        *bufio.Reader
	maxBytes int // limit on a message or error payload
	hdr      [frameHeaderBytes]byte
}

// readFrame reads the next frame. The payload is read into a buffer from
// getBuffer (nil when empty) that the caller owns. A message or error frame
// longer than maxBytes is skipped without allocating its claimed size and
// returned with errFrameTooLarge; every other error leaves the connection
// unusable.
func (fr *frameReader) readFrame() (frameHeader, *[]byte, error) {
	if _, err := readFull(fr.r, fr.hdr[:]); err != nil {
		return frameHeader{}, nil, err
	}
	h, err := parseFrameHeader(fr.hdr[:])
	if err != nil {
		return h, nil, err
	}
	if h.length == 0 {
		return h, nil, nil
	}
	if (h.kind == kindMessage || h.kind == kindError) && uint64(h.length) > uint64(fr.maxBytes) {
		if _, err := fr.r.Discard(int(h.length)); err != nil {
			return h, nil, fmt.Errorf("yarpc: skipping an oversized frame: %w", err)
		}
		return h, nil, errFrameTooLarge
	}
	buf := getBuffer(int(h.length))
	if _, err := readFull(fr.r, *buf); err != nil {
		putBuffer(buf)
		return h, nil, err
	}
	return h, buf, nil
}

// Invoke is what the frame that opens a stream carries: the method the
// stream is for. On the wire it is the method name's bytes, at most 1 KiB.
type Invoke struct {
	Method string
}

// AppendBinary implements encoding.BinaryAppender.
func (i *Invoke) AppendBinary(b []byte) ([]byte, error) {
	if err := checkMethod(i.Method); err != nil {
		return b, err
	}
	return append(b, i.Method...), nil
}

// checkMethod checks a method name's length.
func checkMethod(method string) error {
	if method == "" || len(method) > maxMethodBytes {
		return fmt.Errorf("yarpc: bad method name %q: want 1 to %d bytes", method, maxMethodBytes)
	}
	return nil
}

// UnmarshalBinary implements encoding.BinaryUnmarshaler.
func (i *Invoke) UnmarshalBinary(b []byte) error {
	if len(b) == 0 || len(b) > maxMethodBytes {
		return fmt.Errorf("%w: method name of %d bytes", ErrProtocol, len(b))
	}
	i.Method = string(b)
	return nil
}
