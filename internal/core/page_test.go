package core

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadPage(t *testing.T) {
	m := newMemAcceptor()
	for _, slot := range []uint64{2, 3, 5, 8, 13} {
		m.apply([]Write{{Entry: &Entry{Slot: slot, Ballot: 1, Cmds: cmds("v")}}})
	}
	slotsOf := func(es []Entry) []uint64 {
		out := []uint64{}
		for _, e := range es {
			out = append(out, e.Slot)
		}
		return out
	}
	tests := []struct {
		name        string
		from        uint64
		chosen      uint64
		limit       int
		wantSlots   []uint64
		wantMore    bool
		wantDecided []uint64
	}{
		{"whole log", 1, 0, 10, []uint64{2, 3, 5, 8, 13}, false, nil},
		{"exactly the limit is not more", 1, 0, 5, []uint64{2, 3, 5, 8, 13}, false, nil},
		{"cut short", 1, 0, 2, []uint64{2, 3}, true, nil},
		{"from the middle", 4, 0, 2, []uint64{5, 8}, true, nil},
		{"from past the end", 14, 0, 2, []uint64{}, false, nil},
		{"entries at or below chosen are decided", 1, 5, 10, []uint64{2, 3, 5, 8, 13}, false, []uint64{2, 3, 5}},
		{"a limit below one reads one", 1, 0, 0, []uint64{2}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, more, err := ReadPage(m, tt.from, tt.chosen, tt.limit)
			require.NoError(t, err)
			assert.Equal(t, tt.wantSlots, slotsOf(page))
			assert.Equal(t, tt.wantMore, more)
			var decided []uint64
			for _, e := range page {
				if e.Decided {
					decided = append(decided, e.Slot)
				}
			}
			assert.Equal(t, tt.wantDecided, decided)
		})
	}
	// ReadPage marks copies: the store is untouched.
	assert.False(t, m.entries[2].Decided)
}

type failingReader struct{ after int }

var errDisk = errors.New("disk on fire")

func (f failingReader) Entries(from uint64, fn func(Entry) bool) error {
	for i := range f.after {
		if !fn(Entry{Slot: from + uint64(i), Ballot: 1}) {
			return nil
		}
	}
	return errDisk
}

func TestReadPageReturnsStorageErrors(t *testing.T) {
	_, _, err := ReadPage(failingReader{after: 1}, 1, 0, 10)
	require.ErrorIs(t, err, errDisk)
}
