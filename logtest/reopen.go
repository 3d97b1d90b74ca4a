package logtest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mjpitz/myago/paxos"
)

// testReopen writes through several views, reopens the storage twice and
// checks that everything is still there and still isolated.
func testReopen(t *testing.T, l paxos.Log, reopen func(t *testing.T, l paxos.Log) paxos.Log) {
	ids := []uint64{0, 1, 42, maxID}
	for _, v := range trickyViews {
		record(t, v.open(l), v.tag(), ids...)
	}
	require.NoError(t, l.WithPrefix("notes").Record(5, &note{Name: "n", N: 5, Data: []byte{1}}))
	batchIDs := []uint64{7, 8, 9}
	if bl, ok := l.WithPrefix("batch").(paxos.BatchLog); ok {
		err := bl.RecordBatch(batchIDs, []interface{}{proposal(7, "batch"), proposal(8, "batch"), proposal(9, "batch")})
		require.NoError(t, err)
	} else {
		record(t, l.WithPrefix("batch"), "batch", batchIDs...)
	}

	check := func(l paxos.Log) {
		t.Helper()
		for _, v := range trickyViews {
			requireContents(t, v.open(l), v.tag(), ids...)
		}
		var n note
		require.NoError(t, l.WithPrefix("notes").Last(&n))
		require.Equal(t, note{Name: "n", N: 5, Data: []byte{1}}, n)
		requireContents(t, l.WithPrefix("batch"), "batch", batchIDs...)
	}

	l = reopen(t, l)
	check(l)

	// Writes after a reopen land, replace, and survive the next one.
	record(t, l.WithPrefix("after"), "after", 3)
	record(t, l.WithPrefix("after"), "after", 3)
	l = reopen(t, l)
	check(l)
	requireContents(t, l.WithPrefix("after"), "after", 3)
}
