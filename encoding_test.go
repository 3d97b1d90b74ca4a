package paxos

import (
	"bytes"
	"encoding"
	"math"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mjpitz/myago/paxos/internal/codec"
)

// wireSamples are messages that exercise every field, nil and empty
// slices, and the largest values.
func wireSamples() []wireMessage {
	return []wireMessage{
		&Request{},
		&Request{ID: 1, Attempt: 2, Slot: 3, Proposer: "127.0.0.1:7000"},
		&Request{ID: math.MaxUint64, Attempt: math.MaxUint64, Slot: math.MaxUint64, Proposer: "\x00\xff"},
		&Proposal{},
		&Proposal{Value: []byte{}},
		&Proposal{ID: 7, Value: bytes.Repeat([]byte{0xab}, 300), Slot: 9, Offset: math.MaxUint32, Chosen: 8},
		&Proposal{Commands: []Command{}},
		&Proposal{Slot: 4, Commands: []Command{{Session: 1, Seq: 2, Floor: 1, Value: []byte("a")}, {Value: []byte{}}, {}}},
		&Promise{},
		&Promise{ID: 5, Accepted: &Proposal{ID: 4, Value: []byte("acc")}, Chosen: 3, More: true},
		&Promise{Entries: []*Proposal{}},
		&Promise{ID: 6, Entries: []*Proposal{{ID: 1, Slot: 1, Value: []byte("x")}, nil, {Commands: []Command{{Value: []byte("c")}}}}},
		&Command{},
		&Command{Session: math.MaxUint64, Seq: 1, Floor: 1, Value: []byte("cmd")},
		&Bytes{},
		&Bytes{Value: []byte{}},
		&Bytes{Value: []byte("hello")},
	}
}

// newLike returns a new zero message of m's type.
func newLike(m wireMessage) wireMessage {
	switch m.(type) {
	case *Request:
		return new(Request)
	case *Promise:
		return new(Promise)
	case *Proposal:
		return new(Proposal)
	case *Command:
		return new(Command)
	case *Bytes:
		return new(Bytes)
	}
	panic("unknown wire type")
}

func TestCodecRoundTrip(t *testing.T) {
	for _, m := range wireSamples() {
		data, err := m.MarshalBinary()
		require.NoError(t, err)
		require.Equal(t, FormatVersion, data[0])
		require.Equal(t, m.wireTag(), data[1])

		appended, err := m.AppendBinary([]byte("prefix"))
		require.NoError(t, err)
		require.Equal(t, append([]byte("prefix"), data...), appended)

		got := newLike(m)
		require.NoError(t, got.UnmarshalBinary(data))
		require.Equal(t, m, got, "round trip of %#v", m) // DeepEqual: nil and empty stay apart
	}
}

func TestCodecDoesNotRetainInput(t *testing.T) {
	for _, m := range wireSamples() {
		data, err := m.MarshalBinary()
		require.NoError(t, err)
		got := newLike(m)
		require.NoError(t, got.UnmarshalBinary(data))
		for i := range data {
			data[i] ^= 0xff
		}
		require.Equal(t, m, got, "decoded %T changed with its input", m)
	}
}

func TestCodecOneAllocationForBytes(t *testing.T) {
	p := &Proposal{ID: 1, Value: make([]byte, 128), Commands: []Command{{Value: []byte("a")}, {Value: []byte("b")}}}
	data, err := p.MarshalBinary()
	require.NoError(t, err)
	var got Proposal
	allocs := testing.AllocsPerRun(100, func() {
		if err := got.UnmarshalBinary(data); err != nil {
			panic(err)
		}
	})
	require.Equal(t, 2.0, allocs, "one for the Commands slice, one shared by all byte fields")
	require.Equal(t, cap(got.Value), len(got.Value), "byte fields are clipped: appending to one cannot clobber another")
}

func TestCodecRejectsTruncated(t *testing.T) {
	for _, m := range wireSamples() {
		data, err := m.MarshalBinary()
		require.NoError(t, err)
		for n := 0; n < len(data); n++ {
			got := newLike(m)
			require.Error(t, got.UnmarshalBinary(data[:n]), "%T truncated to %d of %d bytes", m, n, len(data))
			require.Equal(t, newLike(m), got, "a failed decode leaves the message untouched")
		}
		got := newLike(m)
		require.ErrorIs(t, got.UnmarshalBinary(append(bytes.Clone(data), 0)), codec.ErrMalformed, "trailing byte")
	}
}

func TestCodecRejectsBadHeaders(t *testing.T) {
	data, err := (&Proposal{ID: 1}).MarshalBinary()
	require.NoError(t, err)

	bad := bytes.Clone(data)
	bad[0] = 2
	require.ErrorContains(t, new(Proposal).UnmarshalBinary(bad), "version")

	var req Request
	err = req.UnmarshalBinary(data)
	require.ErrorContains(t, err, "holds a Proposal, not a Request")
}

func TestCodecRejectsGarbage(t *testing.T) {
	header := func(tag byte, rest ...byte) []byte { return append([]byte{FormatVersion, tag}, rest...) }
	for name, c := range map[string]struct {
		data []byte
		into encoding.BinaryUnmarshaler
	}{
		"huge byte length":    {header(tagBytes, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f), new(Bytes)},
		"1 GiB byte length":   {header(tagBytes, 0x81, 0x80, 0x80, 0x80, 0x04), new(Bytes)},
		"1 Gi commands":       {header(tagProposal, 0, 0, 0, 0, 0, 0x81, 0x80, 0x80, 0x80, 0x04, 0, 0, 0, 0), new(Proposal)},
		"max uvarint length":  {header(tagBytes, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), new(Bytes)},
		"overlong uvarint":    {header(tagBytes, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), new(Bytes)},
		"huge command count":  {header(tagProposal, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f), new(Proposal)},
		"huge entry count":    {header(tagPromise, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f), new(Promise)},
		"offset over uint32":  {header(tagProposal, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x10, 0, 0), new(Proposal)},
		"bool not 0 or 1":     {header(tagPromise, 0, 2, 0, 0, 0), new(Promise)},
		"more not 0 or 1":     {header(tagPromise, 0, 0, 0, 0, 7), new(Promise)},
		"string past the end": {header(tagRequest, 0, 0, 0, 5, 'a'), new(Request)},
		"empty":               {nil, new(Request)},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for i := 0; i < 10; i++ {
			require.Error(t, c.into.UnmarshalBinary(c.data), name)
		}
		runtime.ReadMemStats(&after)
		// Errors allocate a little; a claimed length must not.
		require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "%s: bytes allocated", name)
	}
}

func TestCodecNilReceiver(t *testing.T) {
	for _, m := range []encoding.BinaryAppender{(*Request)(nil), (*Promise)(nil), (*Proposal)(nil), (*Command)(nil), (*Bytes)(nil)} {
		_, err := m.AppendBinary(nil)
		require.ErrorIs(t, err, ErrNilMessage, "%T", m)
	}
}

// FuzzCodec checks that decoding arbitrary input never panics and that what
// decodes re-encodes to the same bytes (the encoding is canonical).
func FuzzCodec(f *testing.F) {
	for _, m := range wireSamples() {
		data, err := m.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, into := range []wireMessage{new(Request), new(Promise), new(Proposal), new(Command), new(Bytes)} {
			if err := into.UnmarshalBinary(data); err != nil {
				continue
			}
			again, err := into.MarshalBinary()
			if err != nil {
				t.Fatalf("re-encode %T: %v", into, err)
			}
			if !bytes.Equal(again, data) {
				t.Fatalf("%T: decoded %x, re-encoded %x", into, data, again)
			}
		}
	})
}
