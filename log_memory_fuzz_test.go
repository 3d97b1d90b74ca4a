package paxos

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"testing"
)

// fuzzInput hands out the fuzzer's bytes; past the end it returns zeros.
type fuzzInput struct{ data []byte }

func (in *fuzzInput) byte() byte {
	if len(in.data) == 0 {
		return 0
	}
	c := in.data[0]
	in.data = in.data[1:]
	return c
}

func (in *fuzzInput) id() uint64 {
	special := []uint64{0, 1, 2, 3, 255, 256, math.MaxUint64 - 1, math.MaxUint64}
	c := in.byte()
	if c < 0xf0 {
		return special[int(c)%len(special)]
	}
	var b [8]byte
	for i := range b {
		b[i] = in.byte()
	}
	return binary.BigEndian.Uint64(b[:])
}

func (in *fuzzInput) value() []byte {
	n := int(in.byte() % 6)
	v := make([]byte, n)
	for i := range v {
		v[i] = in.byte()
	}
	return v
}

// fuzzView is a view under test and its path in the model.
type fuzzView struct {
	log  Log
	path string
}

var fuzzSegments = []string{"", "\x00", "\xff", "a", "b", "ab", "\x01"}

// FuzzMemoryModel drives Memory with random operations over random nested
// views and ids and checks every read against a map model.
func FuzzMemoryModel(f *testing.F) {
	f.Add([]byte{0, 0, 0, 3, 'x', 'y', 'z', 2, 0, 7})
	f.Add([]byte{5, 0, 3, 0, 1, 2, 'a', 'b', 5, 1, 3, 0, 1, 1, 'c', 2, 0, 7, 3, 1})
	f.Add([]byte{1, 3, 7, 1, 'a', 7, 1, 'b', 0, 0, 2, 0, 6, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		in := &fuzzInput{data: data}
		root := &Memory{}
		views := []fuzzView{{log: root}}
		model := map[string]map[uint64][]byte{}
		put := func(path string, id uint64, v []byte) {
			if model[path] == nil {
				model[path] = map[uint64][]byte{}
			}
			model[path][id] = v
		}
		sortedIDs := func(path string, start, stop uint64) []uint64 {
			var ids []uint64
			for id := range model[path] {
				if start <= id && id <= stop {
					ids = append(ids, id)
				}
			}
			slices.Sort(ids)
			return ids
		}

		for ops := 0; len(in.data) > 0 && ops < 200; ops++ {
			v := views[int(in.byte())%len(views)]
			switch in.byte() % 6 {
			case 0: // Record
				id, val := in.id(), in.value()
				if err := v.log.Record(id, &Bytes{Value: val}); err != nil {
					t.Fatal(err)
				}
				put(v.path, id, val)
			case 1: // RecordBatch
				n := int(in.byte() % 4)
				ids, msgs := make([]uint64, n), make([]interface{}, n)
				for i := range ids {
					ids[i] = in.id()
					msgs[i] = &Bytes{Value: in.value()}
				}
				if err := v.log.(BatchLog).RecordBatch(ids, msgs); err != nil {
					t.Fatal(err)
				}
				for i, id := range ids {
					put(v.path, id, msgs[i].(*Bytes).Value)
				}
			case 2, 3: // Range, possibly stopped early by fn
				start, stop := in.id(), in.id()
				limit := -1
				if in.byte()%2 == 1 {
					limit = int(in.byte() % 4)
				}
				var gotIDs []uint64
				stopErr := errors.New("stop")
				err := v.log.Range(start, stop, &Bytes{}, func(msg interface{}) error {
					if len(gotIDs) == limit {
						return stopErr
					}
					b := msg.(*Bytes)
					gotIDs = append(gotIDs, 0)
					want := sortedIDs(v.path, start, stop)
					if i := len(gotIDs) - 1; i >= len(want) || !bytes.Equal(model[v.path][want[i]], b.Value) {
						t.Fatalf("Range(%d, %d) record %d: got %q, model has %v", start, stop, i, b.Value, want)
					}
					return nil
				})
				want := sortedIDs(v.path, start, stop)
				if limit >= 0 && limit < len(want) {
					if !errors.Is(err, stopErr) || len(gotIDs) != limit {
						t.Fatalf("Range(%d, %d) should stop after %d: err %v, got %d", start, stop, limit, err, len(gotIDs))
					}
				} else if err != nil || len(gotIDs) != len(want) {
					t.Fatalf("Range(%d, %d): err %v, got %d records, model has %d", start, stop, err, len(gotIDs), len(want))
				}
			case 4: // Last
				got := Bytes{Value: []byte("untouched")}
				if err := v.log.Last(&got); err != nil {
					t.Fatal(err)
				}
				ids := sortedIDs(v.path, 0, math.MaxUint64)
				want := []byte("untouched")
				if len(ids) > 0 {
					want = model[v.path][ids[len(ids)-1]]
				}
				if !bytes.Equal(got.Value, want) {
					t.Fatalf("Last: got %q, want %q", got.Value, want)
				}
			case 5: // a new view, possibly of a path seen before
				if len(views) < 16 {
					seg := fuzzSegments[int(in.byte())%len(fuzzSegments)]
					views = append(views, fuzzView{log: v.log.WithPrefix(seg), path: v.path + "/" + seg}) // no segment holds a "/"
				}
			}
		}
	})
}
