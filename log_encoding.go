package paxos

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
)

// Errors of the Logs in this package. Failures are returned as a
// *RecordError (or, for a whole Range or Last, an error naming the bounds)
// that wraps one of these, so errors.Is works on all of them.
var (
	// ErrEncode is wrapped by a failure to encode a message for a Log.
	ErrEncode = errors.New("paxos: cannot encode message")
	// ErrDecode is wrapped by a failure to decode a stored record: corrupt
	// data, a format version this release does not know, or a record that
	// does not fit the type asked for.
	ErrDecode = errors.New("paxos: cannot decode record")
	// ErrInvalidProto is returned by Range for a proto that is nil or not a
	// struct (or pointer to struct), and by Last for a msg that is not a
	// non-nil pointer.
	ErrInvalidProto = errors.New("paxos: invalid message type")
	// ErrClosed is wrapped by every operation on a closed Log.
	ErrClosed = errors.New("paxos: log closed")
)

// RecordError is a Log failure on one record; it names the operation and the
// record's id.
type RecordError struct {
	Op  string // "record", "range", "last"
	ID  uint64
	Err error
}

// Error implements error.
func (e *RecordError) Error() string {
	return "paxos: " + e.Op + " id " + strconv.FormatUint(e.ID, 10) + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *RecordError) Unwrap() error { return e.Err }

// appendRecord appends the stored form of msg to b: the binary encoding for
// the wire types (given as T or *T), and for any other type the header
// FormatVersion, tagJSON followed by its encoding/json document.
func appendRecord(b []byte, msg interface{}) ([]byte, error) {
	var wm wireMessage
	switch m := msg.(type) {
	case nil:
		return b, ErrNilMessage
	case wireMessage:
		wm = m
	case Proposal:
		wm = &m
	case Promise:
		wm = &m
	case Request:
		wm = &m
	case Command:
		wm = &m
	case Bytes:
		wm = &m
	default:
		if v := reflect.ValueOf(msg); v.Kind() == reflect.Pointer && v.IsNil() {
			return b, fmt.Errorf("%w (%T)", ErrNilMessage, msg)
		}
		doc, err := json.Marshal(msg)
		if err != nil {
			return b, fmt.Errorf("%w %T: %w", ErrEncode, msg, err)
		}
		b = append(b, FormatVersion, tagJSON)
		return append(b, doc...), nil
	}
	return wm.AppendBinary(b) // a nil *T reports ErrNilMessage
}

// decodeRecord decodes a stored record into target, a non-nil pointer.
func decodeRecord(data []byte, target interface{}) error {
	switch {
	case len(data) < 2:
		return fmt.Errorf("%w: %d-byte record", ErrDecode, len(data))
	case data[0] != FormatVersion:
		return fmt.Errorf("%w: unsupported format version %d", ErrDecode, data[0])
	case data[1] == tagJSON:
		if err := json.Unmarshal(data[2:], target); err != nil {
			return fmt.Errorf("%w into %T: %w", ErrDecode, target, err)
		}
		return nil
	}
	wm, ok := target.(wireMessage)
	if !ok {
		return fmt.Errorf("%w: record holds a %s, cannot decode into %T", ErrDecode, tagName(data[1]), target)
	}
	if err := wm.UnmarshalBinary(data); err != nil {
		return fmt.Errorf("%w: %w", ErrDecode, err)
	}
	return nil
}

// checkTarget checks the msg given to Last.
func checkTarget(msg interface{}) error {
	v := reflect.ValueOf(msg)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return fmt.Errorf("%w: Last needs a non-nil pointer, got %T", ErrInvalidProto, msg)
	}
	return nil
}

// protoType returns T for a proto given as T or *T, where T must be a
// struct.
func protoType(proto interface{}) (reflect.Type, error) {
	t := reflect.TypeOf(proto)
	if t == nil {
		return nil, fmt.Errorf("%w: nil proto", ErrInvalidProto)
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%w: proto %T is not a struct or pointer to struct", ErrInvalidProto, proto)
	}
	return t, nil
}

// checkBatch checks the arguments of RecordBatch.
func checkBatch(ids []uint64, msgs []interface{}) error {
	if len(ids) != len(msgs) {
		return fmt.Errorf("paxos: record batch: %d ids but %d messages", len(ids), len(msgs))
	}
	return nil
}
