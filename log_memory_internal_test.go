package paxos

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMemoryRecordAllocations(t *testing.T) {
	m := &Memory{}
	p := &Proposal{ID: 1, Value: make([]byte, 128)}
	id := uint64(0)
	allocs := testing.AllocsPerRun(1000, func() {
		id++
		if err := m.Record(id, p); err != nil {
			panic(err)
		}
	})
	require.LessOrEqual(t, allocs, 2.0)
}

// TestMemoryRangeChunks checks Range across chunk boundaries, up to the end
// of the id space (where the next chunk's start would wrap around).
func TestMemoryRangeChunks(t *testing.T) {
	m := &Memory{}
	const n = 3 * memRangeChunk
	first := uint64(math.MaxUint64 - n + 1)
	for i := uint64(0); i < n; i++ {
		require.NoError(t, m.Record(first+i, &Proposal{ID: first + i}))
	}
	for _, c := range []struct{ start, stop, want uint64 }{
		{0, math.MaxUint64, n},
		{first, math.MaxUint64, n},
		{first + memRangeChunk, math.MaxUint64, n - memRangeChunk},
		{first, first + memRangeChunk - 1, memRangeChunk},
		{first, first + memRangeChunk, memRangeChunk + 1},
		{first + 1, first + 2*memRangeChunk, 2 * memRangeChunk},
	} {
		next, got := max(c.start, first), uint64(0)
		require.NoError(t, m.Range(c.start, c.stop, Proposal{}, func(msg interface{}) error {
			require.Equal(t, next, msg.(*Proposal).ID)
			next++
			got++
			return nil
		}))
		require.Equal(t, c.want, got, "Range(%d, %d)", c.start, c.stop)
	}
}

// TestMemoryRangeWritesAhead checks what Range sees of writes made by fn
// just ahead of it: no deadlock, ascending ids, and every record that
// existed when Range started visited exactly once. (The new records may or
// may not be visited.)
func TestMemoryRangeWritesAhead(t *testing.T) {
	m := &Memory{}
	const n = 3 * memRangeChunk
	for i := uint64(0); i < n; i++ {
		require.NoError(t, m.Record(2*i, &Proposal{ID: 2 * i}))
	}
	var visited []uint64
	err := m.Range(0, math.MaxUint64, Proposal{}, func(msg interface{}) error {
		id := msg.(*Proposal).ID
		if len(visited) > 0 {
			require.Greater(t, id, visited[len(visited)-1])
		}
		visited = append(visited, id)
		if id%2 == 0 {
			return m.Record(id+1, &Proposal{ID: id + 1})
		}
		return nil
	})
	require.NoError(t, err)
	evens := 0
	for _, id := range visited {
		if id%2 == 0 {
			require.Equal(t, uint64(2*evens), id)
			evens++
		}
	}
	require.Equal(t, n, evens)
}

func TestMemoryDecodeErrorNamesID(t *testing.T) {
	m := &Memory{}
	require.NoError(t, m.Record(12345, &Bytes{Value: []byte("b")}))
	err := m.Range(0, math.MaxUint64, Request{}, func(interface{}) error { return nil })
	var re *RecordError
	require.True(t, errors.As(err, &re), "got %v", err)
	require.Equal(t, uint64(12345), re.ID)
	require.ErrorIs(t, err, ErrDecode)
	require.ErrorContains(t, err, "holds a Bytes, not a Request")

	err = m.Last(&Request{})
	require.ErrorIs(t, err, ErrDecode)
	require.ErrorContains(t, err, "12345")

	// A binary record cannot be read as a type of the user's own either.
	err = m.Last(&struct{ Value []byte }{})
	require.ErrorIs(t, err, ErrDecode)
	require.ErrorContains(t, err, "holds a Bytes")
}

func TestMemoryEncodeErrors(t *testing.T) {
	m := &Memory{}
	err := m.Record(9, make(chan int))
	require.ErrorIs(t, err, ErrEncode)
	var re *RecordError
	require.True(t, errors.As(err, &re))
	require.Equal(t, RecordError{Op: "record", ID: 9, Err: re.Err}, *re)

	require.ErrorIs(t, m.Record(10, nil), ErrNilMessage)
	require.ErrorIs(t, m.Record(11, (*Proposal)(nil)), ErrNilMessage)
	require.ErrorIs(t, m.Record(12, (*struct{ A int })(nil)), ErrNilMessage)
}

func TestMemoryInvalidArguments(t *testing.T) {
	m := &Memory{}
	require.ErrorIs(t, m.Range(0, 1, nil, nil), ErrInvalidProto)
	require.ErrorIs(t, m.Range(0, 1, 5, nil), ErrInvalidProto)
	require.ErrorIs(t, m.Last(nil), ErrInvalidProto)
	require.ErrorIs(t, m.Last(Proposal{}), ErrInvalidProto)
	require.Error(t, m.RecordBatch([]uint64{1}, nil))
}
