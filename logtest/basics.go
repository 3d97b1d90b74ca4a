package logtest

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mjpitz/myago/paxos"
)

func testEmpty(t *testing.T, l paxos.Log) {
	last := paxos.Proposal{ID: 99, Value: []byte("untouched")}
	require.NoError(t, l.Last(&last))
	require.Equal(t, paxos.Proposal{ID: 99, Value: []byte("untouched")}, last, "Last on an empty log must leave msg untouched")
	require.Empty(t, rangeProposals(t, l, 0, maxID))
	require.Empty(t, rangeProposals(t, l, 0, 0))
	require.Empty(t, rangeProposals(t, l, maxID, maxID))
}

func testOrder(t *testing.T, l paxos.Log) {
	// Recorded out of order, including both ends of the id space and ids
	// whose bytes would sort differently in little-endian.
	record(t, l, "o", 256, maxID, 1, 0, 255, 1<<32, 2, maxID-1, 65536, 257)
	requireContents(t, l, "o", 0, 1, 2, 255, 256, 257, 65536, 1<<32, maxID-1, maxID)
}

func testRangeBounds(t *testing.T, l paxos.Log) {
	record(t, l, "b", 0, 1, 2, 5, 10, maxID-1, maxID)
	for _, c := range []struct {
		start, stop uint64
		want        []uint64
	}{
		{0, maxID, []uint64{0, 1, 2, 5, 10, maxID - 1, maxID}},
		{0, 0, []uint64{0}},
		{maxID, maxID, []uint64{maxID}},
		{1, 1, []uint64{1}},
		{2, 5, []uint64{2, 5}},
		{3, 4, []uint64{}},
		{6, 9, []uint64{}},
		{3, 10, []uint64{5, 10}},
		{11, maxID - 2, []uint64{}},
		{maxID - 1, maxID, []uint64{maxID - 1, maxID}},
		{1, maxID - 1, []uint64{1, 2, 5, 10, maxID - 1}},
		{5, 2, []uint64{}},             // start > stop
		{maxID, 0, []uint64{}},         // start > stop
		{maxID, maxID - 1, []uint64{}}, // start > stop
		{10, maxID, []uint64{10, maxID - 1, maxID}},
	} {
		got := ids(rangeProposals(t, l, c.start, c.stop))
		require.ElementsMatch(t, c.want, got, "Range(%d, %d)", c.start, c.stop)
		require.Equal(t, len(c.want), len(got))
	}
}

func testLast(t *testing.T, l paxos.Log) {
	record(t, l, "l", 5)
	var p paxos.Proposal
	require.NoError(t, l.Last(&p))
	require.Equal(t, proposal(5, "l"), &p)

	record(t, l, "l", 3)
	require.NoError(t, l.Last(&p))
	require.Equal(t, proposal(5, "l"), &p, "Last is the highest id, not the latest write")

	record(t, l, "l", maxID)
	p = paxos.Proposal{}
	require.NoError(t, l.Last(&p))
	require.Equal(t, proposal(maxID, "l"), &p)
}

func testReplace(t *testing.T, l paxos.Log) {
	record(t, l, "old", 1, 2, 3)
	record(t, l, "new", 2)
	got := rangeProposals(t, l, 0, maxID)
	require.Equal(t, []*paxos.Proposal{proposal(1, "old"), proposal(2, "new"), proposal(3, "old")}, got)

	record(t, l, "new", 3)
	var p paxos.Proposal
	require.NoError(t, l.Last(&p))
	require.Equal(t, proposal(3, "new"), &p)
}

// testRoundTrip checks that every exported field comes back, for the wire
// types and for a type of the user's own.
func testRoundTrip(t *testing.T, l paxos.Log) {
	prop := &paxos.Proposal{
		ID: 7, Value: []byte("v"), Slot: 3, Offset: 2, Chosen: 2,
		Commands: []paxos.Command{{Session: 1, Seq: 2, Floor: 1, Value: []byte("c1")}, {Session: 9, Seq: 1, Value: []byte("c2")}},
	}
	prom := &paxos.Promise{ID: 8, Chosen: 4, More: true, Entries: []*paxos.Proposal{prop, {ID: 1, Slot: 5, Value: []byte("e")}}}
	req := &paxos.Request{ID: 9, Attempt: 1, Slot: 10, Proposer: "10.0.0.1:7000"}
	bytesMsg := &paxos.Bytes{Value: []byte("bytes")}
	n := &note{Name: "user type", N: -3, Data: []byte{0, 1, 0xff}}

	for i, c := range []struct {
		msg, into interface{}
	}{
		{prop, &paxos.Proposal{}},
		{prom, &paxos.Promise{}},
		{req, &paxos.Request{}},
		{bytesMsg, &paxos.Bytes{}},
		{n, &note{}},
	} {
		view := l.WithPrefix(string(rune('a' + i)))
		require.NoError(t, view.Record(uint64(i), c.msg))
		require.NoError(t, view.Last(c.into))
		require.Equal(t, c.msg, c.into, "Last of a %T", c.msg)
		calls := 0
		require.NoError(t, view.Range(0, maxID, c.into, func(msg interface{}) error {
			calls++
			require.Equal(t, c.msg, msg, "Range of a %T", c.msg)
			return nil
		}))
		require.Equal(t, 1, calls)
	}

	// A message given by value is stored like one given by pointer.
	v := l.WithPrefix("by value")
	require.NoError(t, v.Record(1, *prop))
	var got paxos.Proposal
	require.NoError(t, v.Last(&got))
	require.Equal(t, prop, &got)
}

func testProtoForms(t *testing.T, l paxos.Log) {
	record(t, l, "p", 1, 2)
	for _, proto := range []interface{}{paxos.Proposal{}, &paxos.Proposal{}, (*paxos.Proposal)(nil)} {
		var got []*paxos.Proposal
		require.NoError(t, l.Range(0, maxID, proto, func(msg interface{}) error {
			p, ok := msg.(*paxos.Proposal)
			require.True(t, ok, "proto %T: fn got a %T, want *paxos.Proposal", proto, msg)
			got = append(got, p)
			return nil
		}), "proto %T", proto)
		require.Equal(t, []*paxos.Proposal{proposal(1, "p"), proposal(2, "p")}, got, "proto %T", proto)
		require.NotSame(t, got[0], got[1], "every call gets a fresh message")
	}
}

func testBadProto(t *testing.T, l paxos.Log) {
	record(t, l, "x", 1)
	n := 3
	for _, proto := range []interface{}{nil, 42, "string", &n, []paxos.Proposal{}} {
		err := l.Range(0, maxID, proto, func(interface{}) error {
			t.Fatalf("fn called for proto %T", proto)
			return nil
		})
		require.Error(t, err, "Range with proto %#v", proto)
	}
	for _, msg := range []interface{}{nil, paxos.Proposal{}, (*paxos.Proposal)(nil)} {
		require.Error(t, l.Last(msg), "Last(%#v)", msg)
	}
	requireContents(t, l, "x", 1)
}

// testFreshCopies checks that a message handed out by Range or Last belongs
// to the caller: changing it changes nothing stored.
func testFreshCopies(t *testing.T, l paxos.Log) {
	record(t, l, "f", 1)
	var p paxos.Proposal
	require.NoError(t, l.Last(&p))
	p.Value[0] = 'X'
	p.ID = 1000
	got := rangeProposals(t, l, 0, maxID)
	require.Equal(t, []*paxos.Proposal{proposal(1, "f")}, got)
	got[0].Value[0] = 'Y'
	requireContents(t, l, "f", 1)
}

func testFnError(t *testing.T, l paxos.Log) {
	record(t, l, "e", 1, 2, 3, 4, 5)
	stop := errors.New("stop here")
	var seen []uint64
	err := l.Range(0, maxID, paxos.Proposal{}, func(msg interface{}) error {
		seen = append(seen, msg.(*paxos.Proposal).ID)
		if len(seen) == 3 {
			return stop
		}
		return nil
	})
	require.ErrorIs(t, err, stop)
	require.Equal(t, []uint64{1, 2, 3}, seen, "Range must stop at the first error")
}

// testFnCallsBack checks that fn may use the Log it is called from.
func testFnCallsBack(t *testing.T, l paxos.Log) {
	record(t, l, "c", 1, 2, 3)
	err := l.Range(1, 3, paxos.Proposal{}, func(msg interface{}) error {
		id := msg.(*paxos.Proposal).ID
		var last paxos.Proposal
		if err := l.Last(&last); err != nil {
			return err
		}
		return l.Record(id+100, proposal(id+100, "c"))
	})
	require.NoError(t, err)
	requireContents(t, l, "c", 1, 2, 3, 101, 102, 103)
}
