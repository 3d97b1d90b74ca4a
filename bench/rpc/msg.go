// Package rpcbench compares yarpc with grpc-go, net/rpc and a yamux
// stream-per-call design on loopback TCP. The servers run in a child
// process (the test binary started again with BENCH_SERVER set), so that
// the client's allocations (-benchmem) and the server's (srv-allocs/op,
// counted by the child) are reported apart. See ../README.md.
package rpcbench

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// PayloadBytes is the size of every benchmark message's payload.
const PayloadBytes = 128

// Msg is the benchmark message, encoded the same way for every framework:
// an 8-byte sequence number and the payload.
type Msg struct {
	Seq     uint64
	Payload []byte
}

// AppendBinary implements encoding.BinaryAppender.
func (m *Msg) AppendBinary(b []byte) ([]byte, error) {
	b = binary.BigEndian.AppendUint64(b, m.Seq)
	return append(b, m.Payload...), nil
}

// MarshalBinary implements encoding.BinaryMarshaler (net/rpc's gob uses
// it, so that every framework sends the same bytes).
func (m *Msg) MarshalBinary() ([]byte, error) {
	return m.AppendBinary(make([]byte, 0, 8+len(m.Payload)))
}

// UnmarshalBinary implements encoding.BinaryUnmarshaler.
func (m *Msg) UnmarshalBinary(b []byte) error {
	if len(b) < 8 {
		return errors.New("rpcbench: short message")
	}
	m.Seq = binary.BigEndian.Uint64(b)
	m.Payload = append(m.Payload[:0], b[8:]...)
	return nil
}

// grpcCodec is a gRPC codec for *Msg, so that no protobuf code generation is
// needed and gRPC encodes exactly the bytes the others do.
type grpcCodec struct{}

func (grpcCodec) Name() string { return "rpcbench" }

func (grpcCodec) Marshal(v any) ([]byte, error) {
	m, ok := v.(*Msg)
	if !ok {
		return nil, fmt.Errorf("rpcbench: cannot marshal %T", v)
	}
	return m.AppendBinary(make([]byte, 0, 8+len(m.Payload)))
}

func (grpcCodec) Unmarshal(data []byte, v any) error {
	m, ok := v.(*Msg)
	if !ok {
		return fmt.Errorf("rpcbench: cannot unmarshal into %T", v)
	}
	return m.UnmarshalBinary(data)
}
