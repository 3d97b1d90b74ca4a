package yarpc

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
)

// Status codes carried by a Status. The values follow gRPC's codes so that
// they read the same to people who know those.
const (
	CodeCanceled          = 1
	CodeUnknown           = 2
	CodeInvalidArgument   = 3
	CodeDeadlineExceeded  = 4
	CodeNotFound          = 5
	CodeResourceExhausted = 8
	CodeInternal          = 13
	CodeUnavailable       = 14
)

// Status is the error a client reads when the server ends a stream with an
// error: a handler returned an error or panicked, the method is unknown, or
// the server refused the stream. ReadMsg returns it as a *Status.
//
// A handler that returns a *Status (possibly wrapped) sends its Code and
// Message as they are; an error matching context.Canceled or
// context.DeadlineExceeded is sent as CodeCanceled or CodeDeadlineExceeded,
// any other as CodeUnknown, with the error's text. Codes travel as 32-bit
// integers.
type Status struct {
	Code    int
	Message string
}

// Error implements error.
func (s *Status) Error() string {
	return "yarpc: status " + strconv.Itoa(s.Code) + ": " + s.Message
}

// Is reports whether target is a *Status with the same code, so that
// errors.Is(err, &yarpc.Status{Code: yarpc.CodeNotFound}) tests the code.
func (s *Status) Is(target error) bool {
	t, ok := target.(*Status)
	return ok && t.Code == s.Code
}

// Errorf returns a *Status with the given code and a formatted message.
func Errorf(code int, format string, args ...any) *Status {
	return &Status{Code: code, Message: fmt.Sprintf(format, args...)}
}

// statusOf turns a handler's error into the Status sent to the client.
func statusOf(err error) *Status {
	var st *Status
	switch {
	case errors.As(err, &st):
		return st
	case errors.Is(err, context.Canceled):
		return &Status{Code: CodeCanceled, Message: err.Error()}
	case errors.Is(err, context.DeadlineExceeded):
		return &Status{Code: CodeDeadlineExceeded, Message: err.Error()}
	}
	return &Status{Code: CodeUnknown, Message: err.Error()}
}

// appendStatus encodes a status as an error frame's payload.
func appendStatus(b []byte, st *Status) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(int32(st.Code)))
	return append(b, st.Message...)
}

// parseStatus decodes an error frame's payload.
func parseStatus(b []byte) (*Status, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("%w: error frame of %d bytes", ErrProtocol, len(b))
	}
	return &Status{Code: int(int32(binary.BigEndian.Uint32(b))), Message: string(b[4:])}, nil
}

// Sentinel errors, for errors.Is.
var (
	// ErrServerClosed is returned by Serve after Shutdown.
	ErrServerClosed = errors.New("yarpc: server closed")
	// ErrClientClosed is returned by OpenStream after the ClientConn was
	// closed or its context ended, and by the streams it cut short.
	ErrClientClosed = errors.New("yarpc: client connection closed")
	// ErrStreamClosed is returned by ReadMsg and WriteMsg after Close, and by
	// WriteMsg after CloseSend.
	ErrStreamClosed = errors.New("yarpc: stream closed")
	// ErrConnectionLost is returned by the streams of a connection that
	// broke; the ClientConn dials again at the next OpenStream.
	ErrConnectionLost = errors.New("yarpc: connection lost")
	// ErrUnavailable is returned by OpenStream while the ClientConn waits
	// out its back-off after a failed dial; the dial error is wrapped too.
	ErrUnavailable = errors.New("yarpc: connection unavailable")
	// ErrMessageTooLarge is returned for a message over the size limit:
	// by WriteMsg before sending it, and by ReadMsg for one that arrived.
	ErrMessageTooLarge = errors.New("yarpc: message too large")
	// ErrProtocol marks a peer that broke the wire protocol (garbage,
	// another protocol version, a flow-control violation); the connection
	// is closed.
	ErrProtocol = errors.New("yarpc: protocol error")
)
