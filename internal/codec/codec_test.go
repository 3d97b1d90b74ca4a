package codec

import (
	"math"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

func TestRoundTrip(t *testing.T) {
	var b []byte
	b = AppendUvarint(b, 0)
	b = AppendUvarint(b, math.MaxUint64)
	b = AppendBool(b, true)
	b = AppendBool(b, false)
	b = AppendString(b, "")
	b = AppendString(b, "s\x00\xff")
	b = AppendBytes(b, nil)
	b = AppendBytes(b, []byte{})
	b = AppendBytes(b, []byte("xyz"))
	b = AppendCount(b, 0, true)
	b = AppendCount(b, 0, false)
	b = AppendCount(b, 2, false)
	b = append(b, 9, 9)

	r := NewReader(b)
	require.Equal(t, uint64(0), r.Uvarint())
	require.Equal(t, uint64(math.MaxUint64), r.Uvarint())
	require.True(t, r.Bool())
	require.False(t, r.Bool())
	require.Equal(t, "", r.String())
	require.Equal(t, "s\x00\xff", r.String())
	require.Nil(t, r.Bytes())
	got := r.Bytes()
	require.NotNil(t, got)
	require.Empty(t, got)
	xyz := r.Bytes()
	require.Equal(t, []byte("xyz"), xyz)
	require.Equal(t, len(xyz), cap(xyz), "aliased fields are clipped")
	require.Equal(t, -1, r.Count(1))
	require.Equal(t, 0, r.Count(1))
	require.Equal(t, 2, r.Count(1))
	require.Equal(t, byte(9), r.Byte())
	require.Equal(t, byte(9), r.Byte())
	require.NoError(t, r.Finish())
}

func TestReaderErrorsStick(t *testing.T) {
	r := NewReader([]byte{0x80}) // a uvarint cut short
	require.Equal(t, uint64(0), r.Uvarint())
	require.ErrorIs(t, r.Err(), ErrTruncated)
	r.Fail("later failures do not replace the first")
	require.ErrorIs(t, r.Err(), ErrTruncated)
	require.Equal(t, byte(0), r.Byte())
	require.Nil(t, r.Bytes())
	require.ErrorIs(t, r.Finish(), ErrTruncated)
}

func TestReaderRejects(t *testing.T) {
	for name, c := range map[string]struct {
		data []byte
		read func(r *Reader)
		want error
	}{
		"non-minimal uvarint": {[]byte{0x80, 0x00}, func(r *Reader) { r.Uvarint() }, ErrMalformed},
		"uvarint overflow":    {[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, func(r *Reader) { r.Uvarint() }, ErrMalformed},
		"uint32 overflow":     {AppendUvarint(nil, math.MaxUint32+1), func(r *Reader) { r.Uint32() }, ErrMalformed},
		"bool 2":              {[]byte{2}, func(r *Reader) { r.Bool() }, ErrMalformed},
		"bytes past the end":  {[]byte{5, 1, 2}, func(r *Reader) { r.Bytes() }, ErrTruncated},
		"string past the end": {[]byte{5, 1, 2}, func(r *Reader) { _ = r.String() }, ErrTruncated},
		"count too large":     {[]byte{4, 0, 0}, func(r *Reader) { r.Count(1) }, ErrMalformed},
		"count of big elems":  {[]byte{3, 0, 0, 0, 0}, func(r *Reader) { r.Count(4) }, ErrMalformed},
		"trailing bytes":      {[]byte{1, 1}, func(r *Reader) { r.Byte() }, ErrMalformed},
		"empty":               {nil, func(r *Reader) { r.Byte() }, ErrTruncated},
	} {
		r := NewReader(c.data)
		c.read(&r)
		require.ErrorIs(t, r.Finish(), c.want, name)
	}
}

func TestDetacher(t *testing.T) {
	in := []byte("abcdef")
	fields := [][]byte{in[0:2], nil, in[2:2], in[2:6]}
	var d Detacher
	for i := range fields {
		d.Field(&fields[i])
	}
	d.Alloc()
	for i := range fields {
		d.Field(&fields[i])
	}
	copy(in, "XXXXXX")
	require.Equal(t, []byte("ab"), fields[0])
	require.Nil(t, fields[1])
	require.NotNil(t, fields[2])
	require.Empty(t, fields[2])
	require.Equal(t, []byte("cdef"), fields[3])
	require.Equal(t, 2, cap(fields[0]), "fields are clipped")
	require.Equal(t, unsafe.Add(unsafe.Pointer(unsafe.SliceData(fields[0])), 2), unsafe.Pointer(unsafe.SliceData(fields[3])), "one buffer for all fields")
}
