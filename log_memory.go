package paxos

import (
	"bytes"
	"fmt"
	"reflect"
	"sync"
)

// Memory is a Log that keeps its records in memory, for tests and for
// members that need no durability. The zero value is an empty Log ready to
// use; views returned by WithPrefix share its storage.
//
// Memory stores the encoded form of each message (the same encoding as
// Badger), so a message that Badger could not store fails here too, and
// neither the caller of Record nor the receiver of Range or Last can alias
// what is stored.
//
// Range holds no lock while fn runs, so fn may call back into the Log (a
// Record inside fn does not deadlock). Range reads the records in chunks: each
// record it passes to fn is the value stored at that id at some moment during
// the call, and a record written during the Range at an id above the last one
// visited may or may not be visited.
type Memory struct {
	once  sync.Once
	store *memStore // shared by every view; created lazily for the zero value
	path  string    // this view's encoded WithPrefix path (see log_keys.go)
	space *memSpace // this view's records
}

var (
	_ Log      = (*Memory)(nil)
	_ BatchLog = (*Memory)(nil)
)

// memRangeChunk is the number of records Range copies out per lock hold.
const memRangeChunk = 128

// memMaxPooledBuf caps the scratch buffers kept for encoding.
const memMaxPooledBuf = 64 << 10

type memStore struct {
	mu     sync.Mutex
	spaces map[string]*memSpace
	bufs   sync.Pool // *[]byte scratch buffers for encoding
}

type memSpace struct {
	mu    sync.RWMutex
	index *memIndex
}

type memItem struct {
	id  uint64
	val []byte // encoded record, never modified once stored
}

func (s *memStore) space(path string) *memSpace {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.spaces == nil {
		s.spaces = make(map[string]*memSpace)
	}
	sp, ok := s.spaces[path]
	if !ok {
		sp = &memSpace{index: newMemIndex()}
		s.spaces[path] = sp
	}
	return sp
}

// scratch returns a pooled encoding buffer, empty; release gives it back.
func (s *memStore) scratch() *[]byte {
	bp, _ := s.bufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	*bp = (*bp)[:0]
	return bp
}

// release returns b, grown from scratch bp, to the pool unless it grew too
// large to keep.
func (s *memStore) release(bp *[]byte, b []byte) {
	if cap(b) <= memMaxPooledBuf {
		*bp = b[:0]
		s.bufs.Put(bp)
	}
}

// encode returns the stored form of msg in a buffer of its own.
func (s *memStore) encode(msg interface{}) ([]byte, error) {
	bp := s.scratch()
	b, err := appendRecord(*bp, msg)
	var val []byte
	if err == nil {
		val = bytes.Clone(b)
	}
	s.release(bp, b)
	return val, err
}

// encodeBatch returns the stored forms of msgs, all in one allocation: a
// record per value was a tenth of a cluster's CPU in the Propose benchmark.
// The records of a batch share that memory until the last of them is
// replaced.
func (s *memStore) encodeBatch(ids []uint64, msgs []interface{}) ([]memItem, error) {
	bp := s.scratch()
	var endsBuf [64]int
	ends := endsBuf[:0]
	b := *bp
	for i, id := range ids {
		var err error
		if b, err = appendRecord(b, msgs[i]); err != nil {
			return nil, &RecordError{Op: "record", ID: id, Err: err}
		}
		ends = append(ends, len(b))
	}
	slab := bytes.Clone(b)
	s.release(bp, b)
	items := make([]memItem, len(ids))
	start := 0
	for i, id := range ids {
		items[i] = memItem{id: id, val: slab[start:ends[i]:ends[i]]}
		start = ends[i]
	}
	return items, nil
}

func (m *Memory) init() *memSpace {
	m.once.Do(func() {
		if m.store == nil {
			m.store = new(memStore)
		}
		m.space = m.store.space(m.path)
	})
	return m.space
}

// WithPrefix returns a view of the same storage whose ids are isolated from
// m's and from every other prefix's. Prefixes nest; any string is a valid
// prefix.
func (m *Memory) WithPrefix(prefix string) Log {
	m.init()
	return &Memory{store: m.store, path: appendSegment(m.path, prefix)}
}

// Record stores msg at id, replacing what was there.
func (m *Memory) Record(id uint64, msg interface{}) error {
	sp := m.init()
	val, err := m.store.encode(msg)
	if err != nil {
		return &RecordError{Op: "record", ID: id, Err: err}
	}
	sp.mu.Lock()
	sp.index.put(memItem{id: id, val: val})
	sp.mu.Unlock()
	return nil
}

// RecordBatch stores msgs[i] at ids[i], in order, all at once: if any
// message cannot be encoded, nothing is stored.
func (m *Memory) RecordBatch(ids []uint64, msgs []interface{}) error {
	if err := checkBatch(ids, msgs); err != nil {
		return err
	}
	sp := m.init()
	items, err := m.store.encodeBatch(ids, msgs)
	if err != nil {
		return err
	}
	sp.mu.Lock()
	for _, it := range items {
		sp.index.put(it)
	}
	sp.mu.Unlock()
	return nil
}

// Last decodes the record with the highest id into msg, a non-nil pointer.
// On an empty Log it leaves msg untouched and returns nil.
func (m *Memory) Last(msg interface{}) error {
	if err := checkTarget(msg); err != nil {
		return err
	}
	sp := m.init()
	sp.mu.RLock()
	it, ok := sp.index.max()
	sp.mu.RUnlock()
	if !ok {
		return nil
	}
	if err := decodeRecord(it.val, msg); err != nil {
		return &RecordError{Op: "last", ID: it.id, Err: err}
	}
	return nil
}

// Range calls fn with a new *T (T is proto's type; proto is a T or a *T and
// T a struct) for every record with start <= id <= end, in ascending id
// order, and returns the first error fn returns. See Memory for what fn may
// do and see.
func (m *Memory) Range(start, end uint64, proto interface{}, fn func(msg interface{}) error) error {
	t, err := protoType(proto)
	if err != nil {
		return fmt.Errorf("paxos: range [%d, %d]: %w", start, end, err)
	}
	if start > end {
		return nil
	}
	sp := m.init()
	size := memRangeChunk
	if end-start < memRangeChunk {
		size = int(end-start) + 1 // small ranges are common: do not over-allocate
	}
	chunk := make([]memItem, 0, size)
	for next := start; ; {
		chunk = sp.collect(next, end, chunk[:0])
		for _, it := range chunk {
			v := reflect.New(t).Interface()
			if err := decodeRecord(it.val, v); err != nil {
				return &RecordError{Op: "range", ID: it.id, Err: err}
			}
			if err := fn(v); err != nil {
				return err
			}
		}
		if len(chunk) < cap(chunk) {
			return nil
		}
		last := chunk[len(chunk)-1].id
		if last == end {
			return nil // also keeps next from wrapping past math.MaxUint64
		}
		next = last + 1
	}
}

// collect appends to items the records with from <= id <= to, at most
// cap(items) of them.
func (sp *memSpace) collect(from, to uint64, items []memItem) []memItem {
	sp.mu.RLock()
	defer sp.mu.RUnlock()
	sp.index.ascend(from, func(it memItem) bool {
		if it.id > to {
			return false
		}
		items = append(items, it)
		return len(items) < cap(items)
	})
	return items
}
