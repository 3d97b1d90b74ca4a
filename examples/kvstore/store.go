package main

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/mjpitz/myago/paxos"
)

// op is one write, as it travels through the log.
type op struct {
	Op    string `json:"op"` // "put" or "delete"
	Key   string `json:"key"`
	Value string `json:"value,omitempty"`
}

// In the log an op is a kind byte, the key's length (uvarint), the key and
// the value: every member decodes every write, and JSON there cost more
// than the rest of applying it. Records that earlier versions of this
// example wrote as JSON (they start with '{') are still read.
const (
	opPut    byte = 1
	opDelete byte = 2
)

func (o op) encode() []byte {
	kind := opPut
	if o.Op == "delete" {
		kind = opDelete
	}
	b := make([]byte, 0, 1+binary.MaxVarintLen64+len(o.Key)+len(o.Value))
	b = append(b, kind)
	b = binary.AppendUvarint(b, uint64(len(o.Key)))
	b = append(b, o.Key...)
	return append(b, o.Value...)
}

func decodeOp(b []byte) (op, error) {
	var o op
	if len(b) == 0 {
		return o, errors.New("empty op")
	}
	switch b[0] {
	case '{':
		err := json.Unmarshal(b, &o)
		return o, err
	case opPut:
		o.Op = "put"
	case opDelete:
		o.Op = "delete"
	default:
		return o, fmt.Errorf("unknown op kind %d", b[0])
	}
	n, k := binary.Uvarint(b[1:])
	if k <= 0 || n > uint64(len(b)-1-k) {
		return o, errors.New("truncated op")
	}
	key := b[1+k:]
	o.Key, o.Value = string(key[:n]), string(key[n:])
	return o, nil
}

// store is the replicated state machine: a map, applied from the member's
// RecordedLog in position order.
type store struct {
	mu      sync.RWMutex
	data    map[string]string
	applied uint64
}

func newStore() *store { return &store{data: map[string]string{}} }

func (s *store) get(key string) (string, bool, uint64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, ok := s.data[key]
	return v, ok, s.applied
}

// apply applies the record at position pos. A record that is not an op
// (nothing else is ever proposed) is skipped, never fatal.
func (s *store) apply(pos uint64, value []byte) {
	o, err := decodeOp(value)
	s.mu.Lock()
	defer s.mu.Unlock()
	if pos <= s.applied {
		return
	}
	s.applied = pos
	if err != nil {
		return
	}
	switch o.Op {
	case "put":
		s.data[o.Key] = o.Value
	case "delete":
		delete(s.data, o.Key)
	}
}

// replay rebuilds the map from what the log already holds.
func (s *store) replay(l paxos.Log) error {
	return l.Range(1, math.MaxUint64, paxos.Proposal{}, func(msg interface{}) error {
		p := msg.(*paxos.Proposal)
		s.apply(p.ID, p.Value)
		return nil
	})
}

// applyLog is the member's RecordedLog: every record is made durable, then
// applied to the store. Its prefixed views (the library's bookkeeping) are
// not applied.
type applyLog struct {
	paxos.Log
	s *store
}

var _ paxos.BatchLog = (*applyLog)(nil)

func (a *applyLog) Record(id uint64, msg interface{}) error {
	if err := a.Log.Record(id, msg); err != nil {
		return err
	}
	return a.applyMsg(id, msg)
}

func (a *applyLog) RecordBatch(ids []uint64, msgs []interface{}) error {
	if bl, ok := a.Log.(paxos.BatchLog); ok {
		if err := bl.RecordBatch(ids, msgs); err != nil {
			return err
		}
	} else {
		for i, id := range ids {
			if err := a.Log.Record(id, msgs[i]); err != nil {
				return err
			}
		}
	}
	var errs []error
	for i, id := range ids {
		errs = append(errs, a.applyMsg(id, msgs[i]))
	}
	return errors.Join(errs...)
}

func (a *applyLog) applyMsg(id uint64, msg interface{}) error {
	p, ok := msg.(*paxos.Proposal)
	if !ok {
		return fmt.Errorf("kvstore: unexpected record %T at %d", msg, id)
	}
	a.s.apply(id, p.Value)
	return nil
}
