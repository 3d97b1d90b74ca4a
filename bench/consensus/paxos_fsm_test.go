package consensus

import (
	"errors"
	"testing"

	"github.com/mjpitz/myago/paxos"
)

type checkpointLike struct {
	Slot     uint64
	Sessions []uint64
}

func TestLastRecordLogKeepsTheHighestRecordPerPrefix(t *testing.T) {
	l := &lastRecordLog{}
	var last paxos.Proposal
	if err := l.Last(&last); err != nil || last.ID != 0 {
		t.Fatalf("empty Last: %+v, %v", last, err)
	}
	for _, id := range []uint64{1, 2, 5, 3} { // 3 arrives late: ignored
		if err := l.Record(id, &paxos.Proposal{ID: id, Value: []byte{byte(id)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Last(&last); err != nil || last.ID != 5 || last.Value[0] != 5 {
		t.Fatalf("Last = %+v, %v; want id 5", last, err)
	}
	var seen []uint64
	collect := func(m interface{}) error { seen = append(seen, m.(*paxos.Proposal).ID); return nil }
	if err := l.Range(0, 4, paxos.Proposal{}, collect); err != nil || len(seen) != 0 {
		t.Fatalf("Range(0,4) saw %v, %v", seen, err)
	}
	if err := l.Range(5, 5, &paxos.Proposal{}, collect); err != nil || len(seen) != 1 || seen[0] != 5 {
		t.Fatalf("Range(5,5) saw %v, %v", seen, err)
	}
	stop := errors.New("stop")
	if err := l.Range(0, 10, paxos.Proposal{}, func(interface{}) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("Range error = %v", err)
	}

	// Prefixes are isolated, and a message without a binary encoding (the
	// learner's checkpoint) round-trips.
	meta := l.WithPrefix("meta")
	if meta != l.WithPrefix("meta") {
		t.Fatal("WithPrefix returned a different view for the same prefix")
	}
	var cp checkpointLike
	if err := meta.Last(&cp); err != nil || cp.Slot != 0 {
		t.Fatalf("fresh prefix Last = %+v, %v", cp, err)
	}
	if err := meta.Record(0, &checkpointLike{Slot: 7, Sessions: []uint64{1, 2}}); err != nil {
		t.Fatal(err)
	}
	if err := meta.Last(&cp); err != nil || cp.Slot != 7 || len(cp.Sessions) != 2 {
		t.Fatalf("checkpoint Last = %+v, %v", cp, err)
	}
	if err := l.Last(&last); err != nil || last.ID != 5 {
		t.Fatalf("parent Last after a prefix write = %+v, %v", last, err)
	}
}

func TestLastRecordLogBatchKeepsItsHighestRecord(t *testing.T) {
	l := &lastRecordLog{}
	p := func(id uint64) interface{} { return &paxos.Proposal{ID: id, Value: []byte{byte(id)}} }
	if err := l.RecordBatch([]uint64{4, 6, 5}, []interface{}{p(4), p(6), p(5)}); err != nil {
		t.Fatal(err)
	}
	var last paxos.Proposal
	if err := l.Last(&last); err != nil || last.ID != 6 || last.Value[0] != 6 {
		t.Fatalf("Last = %+v, %v; want id 6", last, err)
	}
	if err := l.RecordBatch([]uint64{2, 3}, []interface{}{p(2), p(3)}); err != nil {
		t.Fatal(err)
	}
	if err := l.Last(&last); err != nil || last.ID != 6 {
		t.Fatalf("Last after an older batch = %+v, %v; want id 6", last, err)
	}
	if err := l.RecordBatch(nil, nil); err != nil {
		t.Fatalf("empty batch: %v", err)
	}
	if err := l.RecordBatch([]uint64{1}, nil); err == nil {
		t.Fatal("a batch with fewer messages than ids was taken")
	}
}
