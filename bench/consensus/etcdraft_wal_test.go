package consensus

import (
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

type walRecord struct {
	typ     byte
	payload []byte
}

// readRecords decodes the records at the start of a segment, stopping at the
// first zero header (the preallocated tail).
func readRecords(t *testing.T, path string) []walRecord {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var recs []walRecord
	for len(data) >= walHeaderBytes {
		n := binary.LittleEndian.Uint32(data)
		if n == 0 {
			break
		}
		sum := binary.LittleEndian.Uint32(data[4:])
		if int(n) > len(data)-walHeaderBytes {
			t.Fatalf("record of %d bytes overruns the segment", n)
		}
		payload := data[walHeaderBytes : walHeaderBytes+n]
		if got := crc32.Checksum(payload, crcTable); got != sum {
			t.Fatalf("crc %x, want %x", got, sum)
		}
		recs = append(recs, walRecord{typ: payload[0], payload: payload[1:]})
		data = data[walHeaderBytes+n:]
	}
	return recs
}

func entry(index uint64, data string) *pb.Entry {
	return &pb.Entry{Term: new(uint64(1)), Index: new(index), Type: pb.EntryNormal.Enum(), Data: []byte(data)}
}

func TestWALSavesEntriesThenState(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "wal")
	w, err := openWAL(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	ents := []*pb.Entry{entry(1, "a"), entry(2, "bb")}
	hs := &pb.HardState{Term: new(uint64(1)), Vote: new(uint64(2)), Commit: new(uint64(1))}
	if err := w.save(hs, ents, nil, true); err != nil {
		t.Fatal(err)
	}
	// Nothing to write: no record, no error.
	if err := w.save(nil, nil, nil, true); err != nil {
		t.Fatal(err)
	}
	if err := w.save(nil, []*pb.Entry{entry(3, "ccc")}, nil, false); err != nil {
		t.Fatal(err)
	}
	if err := w.close(); err != nil {
		t.Fatal(err)
	}

	recs := readRecords(t, filepath.Join(dir, "0000000000000000.wal"))
	wantTypes := []byte{walEntry, walEntry, walState, walEntry}
	if len(recs) != len(wantTypes) {
		t.Fatalf("%d records, want %d", len(recs), len(wantTypes))
	}
	for i, r := range recs {
		if r.typ != wantTypes[i] {
			t.Errorf("record %d has type %d, want %d", i, r.typ, wantTypes[i])
		}
	}
	var got pb.Entry
	if err := proto.Unmarshal(recs[1].payload, &got); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(&got, ents[1]) {
		t.Errorf("record 1 = %v, want %v", &got, ents[1])
	}
	var gotHS pb.HardState
	if err := proto.Unmarshal(recs[2].payload, &gotHS); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(&gotHS, hs) {
		t.Errorf("record 2 = %v, want %v", &gotHS, hs)
	}
}

func TestWALCutsSegments(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "wal")
	const segment = 4 << 10
	w, err := openWAL(dir, segment)
	if err != nil {
		t.Fatal(err)
	}
	value := string(make([]byte, 1000))
	const saves = 20
	for i := range uint64(saves) {
		if err := w.save(nil, []*pb.Entry{entry(i+1, value)}, nil, true); err != nil {
			t.Fatal(err)
		}
	}
	last := w.f.Name()
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
	if filepath.Base(last) == "0000000000000000.wal" {
		t.Fatal("20 KB of records never left the first 4 KiB segment")
	}
	// The current segment holds the last record, at index saves.
	recs := readRecords(t, last)
	if len(recs) == 0 {
		t.Fatal("current segment is empty")
	}
	var e pb.Entry
	if err := proto.Unmarshal(recs[len(recs)-1].payload, &e); err != nil {
		t.Fatal(err)
	}
	if e.GetIndex() != saves {
		t.Fatalf("last record has index %d, want %d", e.GetIndex(), saves)
	}
}
