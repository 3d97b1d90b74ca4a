package paxos

import (
	"encoding/binary"

	"github.com/mjpitz/myago/paxos/internal/codec"
)

// Keys of records in a key-value store (docs/FORMAT.md):
//
//	key     = keyFormatVersion path markRecord id
//	path    = *(markSegment uvarint(len(segment)) segment)
//	id      = 8 bytes, big-endian
//
// One path segment per WithPrefix call, outermost first. The encoding is
// prefix-free: a reader can always tell where a segment ends and whether a
// record follows, so every sequence of strings (empty ones and ones holding
// 0x00 or 0xff bytes included) is its own namespace, "a" then "b" differs
// from "ab", and the records of one view are exactly the keys that start
// with keyFormatVersion path markRecord. Big-endian ids make byte order id
// order.
const (
	keyFormatVersion byte = 1
	markRecord       byte = 0x00
	markSegment      byte = 0x01
)

// appendSegment returns path extended by one WithPrefix segment.
func appendSegment(path, segment string) string {
	b := make([]byte, 0, len(path)+1+binary.MaxVarintLen64+len(segment))
	b = append(b, path...)
	b = append(b, markSegment)
	b = codec.AppendString(b, segment)
	return string(b)
}

// recordKeyPrefix returns the prefix shared by every key of the view at path.
func recordKeyPrefix(path string) []byte {
	b := make([]byte, 0, len(path)+2+8)
	b = append(b, keyFormatVersion)
	b = append(b, path...)
	return append(b, markRecord)
}

// appendID appends the 8-byte big-endian id.
func appendID(b []byte, id uint64) []byte {
	return binary.BigEndian.AppendUint64(b, id)
}
