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
