package logtest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mjpitz/myago/paxos"
)

// unencodable cannot be encoded by encoding/json (nor sensibly by anything
// else): it holds a channel.
type unencodable struct {
	C chan int
}

func testEncodeErrors(t *testing.T, l paxos.Log) {
	const id = 424242
	record(t, l, "kept", id)
	for _, msg := range []interface{}{
		nil,
		(*paxos.Proposal)(nil),
		(*note)(nil),
		unencodable{C: make(chan int)},
		&unencodable{C: make(chan int)},
	} {
		err := l.Record(id, msg)
		requireNamesID(t, err, id)
	}
	requireContents(t, l, "kept", id)
}

func testDecodeErrors(t *testing.T, l paxos.Log) {
	const id = 777
	require.NoError(t, l.Record(id, &note{Name: "not a number"}))

	err := l.Range(0, maxID, otherNote{}, func(interface{}) error {
		t.Fatal("fn called for a record that cannot be decoded")
		return nil
	})
	requireNamesID(t, err, id)

	var other otherNote
	requireNamesID(t, l.Last(&other), id)

	// The record itself is intact.
	var n note
	require.NoError(t, l.Last(&n))
	require.Equal(t, note{Name: "not a number"}, n)
}

func testBatch(t *testing.T, l paxos.Log) {
	bl, ok := l.(paxos.BatchLog)
	if !ok {
		t.Skipf("%T does not implement paxos.BatchLog", l)
	}
	require.NoError(t, bl.RecordBatch(nil, nil), "an empty batch")

	// A later id equal to an earlier one replaces it.
	err := bl.RecordBatch(
		[]uint64{3, 1, 2, 1, maxID},
		[]interface{}{proposal(3, "b"), proposal(1, "first"), proposal(2, "b"), proposal(1, "b"), proposal(maxID, "b")},
	)
	require.NoError(t, err)
	requireContents(t, l, "b", 1, 2, 3, maxID)

	require.Error(t, bl.RecordBatch([]uint64{1, 2}, []interface{}{proposal(1, "x")}), "lengths differ")

	// A batch with a message that cannot be encoded stores nothing.
	err = bl.RecordBatch([]uint64{10, 11}, []interface{}{proposal(10, "b"), unencodable{C: make(chan int)}})
	requireNamesID(t, err, 11)
	requireContents(t, l, "b", 1, 2, 3, maxID)

	// Batches go to the view they are made on.
	v, ok := l.WithPrefix("v").(paxos.BatchLog)
	require.True(t, ok, "views of a BatchLog should be BatchLogs too")
	require.NoError(t, v.RecordBatch([]uint64{5}, []interface{}{proposal(5, "v")}))
	requireContents(t, v, "v", 5)
	requireContents(t, l, "b", 1, 2, 3, maxID)
}
