package consensus

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"

	"github.com/mjpitz/myago/paxos"
)

// lastRecordLog is the benchmark's RecordedLog for paxos: the state machine
// the raft adapters have (a counter of applied entries), in the shape of a
// paxos.Log. It keeps only the record with the highest id of each prefix,
// which is all the learner reads back (Last, to resume; the checkpoint).
// Without it paxos would also write every value into a second database on
// every member, which neither raft adapter does. Messages without a binary
// encoding (the learner's checkpoint) are kept as JSON.
type lastRecordLog struct {
	mu       sync.Mutex
	has      bool
	id       uint64
	data     []byte
	prefixes map[string]*lastRecordLog
}

var (
	_ paxos.Log      = (*lastRecordLog)(nil)
	_ paxos.BatchLog = (*lastRecordLog)(nil)
)

func (l *lastRecordLog) WithPrefix(str string) paxos.Log {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.prefixes == nil {
		l.prefixes = map[string]*lastRecordLog{}
	}
	c := l.prefixes[str]
	if c == nil {
		c = &lastRecordLog{}
		l.prefixes[str] = c
	}
	return c
}

func (l *lastRecordLog) Record(id uint64, msg interface{}) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.has && id < l.id {
		return nil
	}
	var data []byte
	var err error
	if m, ok := msg.(encoding.BinaryMarshaler); ok {
		data, err = m.MarshalBinary()
	} else {
		data, err = json.Marshal(msg)
	}
	if err != nil {
		return fmt.Errorf("lastRecordLog: record %d: %w", id, err)
	}
	l.has, l.id, l.data = true, id, data
	return nil
}

// RecordBatch keeps the batch's highest record: a raft adapter's state
// machine, too, only counts what it is given.
func (l *lastRecordLog) RecordBatch(ids []uint64, msgs []interface{}) error {
	if len(ids) != len(msgs) {
		return fmt.Errorf("lastRecordLog: %d ids for %d messages", len(ids), len(msgs))
	}
	top := -1
	for i, id := range ids {
		if top < 0 || id >= ids[top] {
			top = i
		}
	}
	if top < 0 {
		return nil
	}
	return l.Record(ids[top], msgs[top])
}

func (l *lastRecordLog) Last(msg interface{}) error {
	l.mu.Lock()
	has, id, data := l.has, l.id, l.data
	l.mu.Unlock()
	if !has {
		return nil
	}
	return decodeInto(id, data, msg)
}

func (l *lastRecordLog) Range(start, stop uint64, proto interface{}, fn func(msg interface{}) error) error {
	l.mu.Lock()
	has, id, data := l.has, l.id, l.data
	l.mu.Unlock()
	if !has || id < start || id > stop {
		return nil
	}
	t := reflect.TypeOf(proto)
	if t == nil {
		return fmt.Errorf("lastRecordLog: range: nil proto")
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	msg := reflect.New(t).Interface()
	if err := decodeInto(id, data, msg); err != nil {
		return err
	}
	return fn(msg)
}

func decodeInto(id uint64, data []byte, msg interface{}) error {
	var err error
	if u, ok := msg.(encoding.BinaryUnmarshaler); ok {
		err = u.UnmarshalBinary(data)
	} else {
		err = json.Unmarshal(data, msg)
	}
	if err != nil {
		return fmt.Errorf("lastRecordLog: record %d: %w", id, err)
	}
	return nil
}
