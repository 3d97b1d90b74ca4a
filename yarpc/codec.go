package yarpc

import (
	"encoding"
	"encoding/json"
	"fmt"
)

// Codec encodes and decodes messages. Both ends of a connection must use the
// same Codec (WithCodec); the wire does not say which one was used.
//
// Implementations must be safe for concurrent use. Unmarshal must not retain
// data after it returns: the buffer is reused for later frames.
type Codec interface {
	// Append appends the encoding of v to b and returns the extended slice.
	Append(b []byte, v any) ([]byte, error)
	// Unmarshal decodes data into v, which is a pointer.
	Unmarshal(data []byte, v any) error
}

// BinaryCodec is the default Codec. A value that implements
// encoding.BinaryAppender (or encoding.BinaryMarshaler) is encoded with it;
// any other value with encoding/json. The receiving type decodes with
// encoding.BinaryUnmarshaler or encoding/json to match. A one-byte tag in
// front of the payload records the choice, so a sender and a receiver that
// disagree (one type implements the binary interfaces, the other does not)
// get a clear error instead of a garbled message.
//
// UnmarshalBinary must copy what it keeps (encoding.BinaryUnmarshaler's own
// rule): the buffer is reused.
type BinaryCodec struct{}

const (
	tagBinary = 'b'
	tagJSON   = 'j'
)

// Append implements Codec.
func (BinaryCodec) Append(b []byte, v any) ([]byte, error) {
	switch m := v.(type) {
	case encoding.BinaryAppender:
		return m.AppendBinary(append(b, tagBinary))
	case encoding.BinaryMarshaler:
		data, err := m.MarshalBinary()
		if err != nil {
			return b, err
		}
		return append(append(b, tagBinary), data...), nil
	}
	return JSONCodec{}.Append(append(b, tagJSON), v)
}

// Unmarshal implements Codec.
func (BinaryCodec) Unmarshal(data []byte, v any) error {
	if len(data) == 0 {
		return fmt.Errorf("yarpc: empty message for %T", v)
	}
	m, binary := v.(encoding.BinaryUnmarshaler)
	switch data[0] {
	case tagBinary:
		if !binary {
			return fmt.Errorf("yarpc: binary-encoded message, but %T does not implement encoding.BinaryUnmarshaler", v)
		}
		return m.UnmarshalBinary(data[1:])
	case tagJSON:
		if binary {
			return fmt.Errorf("yarpc: JSON-encoded message, but %T decodes binary (the sender's type does not implement encoding.BinaryAppender)", v)
		}
		return JSONCodec{}.Unmarshal(data[1:], v)
	}
	return fmt.Errorf("yarpc: unknown message encoding tag %#x", data[0])
}

// JSONCodec encodes every message with encoding/json.
type JSONCodec struct{}

// Append implements Codec.
func (JSONCodec) Append(b []byte, v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return b, err
	}
	return append(b, data...), nil
}

// Unmarshal implements Codec.
func (JSONCodec) Unmarshal(data []byte, v any) error {
	return json.Unmarshal(data, v)
}
