package paxos

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"sync"

	"github.com/dgraph-io/badger/v3"
)

// ErrNotDurable is returned by Badger's writes when its DB was opened
// without SyncWrites, it has no journal (OpenBadgerLog) and AllowNotDurable
// is not set: badger v3 cannot sync such a DB's write-ahead log on demand,
// so a Record could be lost after it returned.
var ErrNotDurable = errors.New("paxos: badger DB not opened with SyncWrites(true); set Badger.AllowNotDurable to write anyway")

var errNilDB = errors.New("paxos: Badger.DB is nil")

// Badger implements a Log that wraps an underlying badgerdb instance.
//
// &Badger{DB: db} is ready to use. Record and RecordBatch return only once
// the write is durable, which needs a DB opened with SyncWrites(true) (use
// OpenBadger or BadgerOptions); on any other DB they fail with ErrNotDurable
// unless AllowNotDurable is set. OpenBadgerLog returns a Badger made durable
// by a journal instead, which costs less per write. Concurrent writes
// through one Badger and the views it returns are committed together, in
// one badger transaction and one sync (group commit); use one Badger per
// DB, and its views, to get the most of it.
//
// Range iterates a snapshot taken when it starts; fn may call back into the
// Log, and writes made meanwhile are not visited. After DB.Close every
// method returns an error wrapping ErrClosed.
//
// The Log owns every key of the DB that starts with byte 0x01 (keys and
// values are described in docs/FORMAT.md); keep other data out of that
// range.
type Badger struct {
	DB *badger.DB
	// AllowNotDurable lets the Log write to a DB opened without SyncWrites,
	// such as badger's InMemory mode. Records may then be lost in a crash
	// after Record returned; do not use it for acceptors that must survive
	// one. Views copy it (and DB) when WithPrefix creates them.
	AllowNotDurable bool

	once      sync.Once
	committer *badgerCommitter // shared by every view; created lazily
	path      string           // this view's encoded WithPrefix path
}

var (
	_ Log      = (*Badger)(nil)
	_ BatchLog = (*Badger)(nil)
)

// badgerMaxPrefetch caps how many values Range fetches ahead.
const badgerMaxPrefetch = 100

func (l *Badger) init() *badgerCommitter {
	l.once.Do(func() {
		if l.committer == nil {
			l.committer = new(badgerCommitter)
		}
	})
	return l.committer
}

// WithPrefix returns a view of the same DB whose ids are isolated from l's
// and from every other prefix's. Prefixes nest; any string is a valid
// prefix.
func (l *Badger) WithPrefix(prefix string) Log {
	return &Badger{
		DB:              l.DB,
		AllowNotDurable: l.AllowNotDurable,
		committer:       l.init(),
		path:            appendSegment(l.path, prefix),
	}
}

// writable checks the DB before a write.
func (l *Badger) writable() error {
	if err := l.readable(); err != nil {
		return err
	}
	if !l.AllowNotDurable && !l.DB.Opts().SyncWrites && l.init().journal == nil {
		return ErrNotDurable
	}
	return nil
}

// readable checks the DB before a read.
func (l *Badger) readable() error {
	switch {
	case l.DB == nil:
		return errNilDB
	case l.DB.IsClosed():
		return fmt.Errorf("%w: %w", ErrClosed, badger.ErrDBClosed)
	}
	return nil
}

// storageErr marks badger's errors on a closed DB with ErrClosed.
func (l *Badger) storageErr(err error) error {
	if errors.Is(err, badger.ErrDBClosed) || errors.Is(err, badger.ErrBlockedWrites) || l.DB.IsClosed() {
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return err
}

func (l *Badger) key(id uint64) []byte {
	return appendID(recordKeyPrefix(l.path), id)
}

// Record stores msg at id, replacing what was there, and returns once the
// record is synced.
func (l *Badger) Record(id uint64, msg interface{}) error {
	if err := l.writable(); err != nil {
		return &RecordError{Op: "record", ID: id, Err: err}
	}
	val, err := appendRecord(nil, msg)
	if err != nil {
		return &RecordError{Op: "record", ID: id, Err: err}
	}
	w := badgerWrite{keys: [][]byte{l.key(id)}, vals: [][]byte{val}}
	if err := l.init().commit(l.DB, &w); err != nil {
		return &RecordError{Op: "record", ID: id, Err: l.storageErr(err)}
	}
	return nil
}

// RecordBatch stores msgs[i] at ids[i], in order, in one badger transaction
// and one sync: after a crash either all of them or none are there. A batch
// too large for one transaction fails with badger.ErrTxnTooBig.
func (l *Badger) RecordBatch(ids []uint64, msgs []interface{}) error {
	if err := checkBatch(ids, msgs); err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	if err := l.writable(); err != nil {
		return &RecordError{Op: "record", ID: ids[0], Err: err}
	}
	w := badgerWrite{keys: make([][]byte, len(ids)), vals: make([][]byte, len(ids))}
	for i, id := range ids {
		val, err := appendRecord(nil, msgs[i])
		if err != nil {
			return &RecordError{Op: "record", ID: id, Err: err}
		}
		w.keys[i], w.vals[i] = l.key(id), val
	}
	if err := l.init().commit(l.DB, &w); err != nil {
		return fmt.Errorf("paxos: record batch of %d from id %d: %w", len(ids), ids[0], l.storageErr(err))
	}
	return nil
}

// Last decodes the record with the highest id into msg, a non-nil pointer.
// On an empty Log it leaves msg untouched and returns nil.
func (l *Badger) Last(msg interface{}) (err error) {
	if err := checkTarget(msg); err != nil {
		return err
	}
	if err := l.readable(); err != nil {
		return fmt.Errorf("paxos: last: %w", err)
	}
	prefix := recordKeyPrefix(l.path)
	defer l.recoverClosed(&err, nil, "last")
	err = l.DB.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Reverse, opts.Prefix, opts.PrefetchValues = true, prefix, false
		it := txn.NewIterator(opts)
		defer it.Close()
		it.Seek(appendID(bytes.Clone(prefix), ^uint64(0)))
		if !it.Valid() {
			return nil
		}
		item := it.Item()
		id, err := recordID(item.Key(), prefix)
		if err != nil {
			return err
		}
		if err := item.Value(func(val []byte) error { return decodeRecord(val, msg) }); err != nil {
			return &RecordError{Op: "last", ID: id, Err: err}
		}
		return nil
	})
	if err != nil && !isRecordError(err) {
		err = fmt.Errorf("paxos: last: %w", l.storageErr(err))
	}
	return err
}

// Range calls fn with a new *T (T is proto's type; proto is a T or a *T and
// T a struct) for every record with start <= id <= stop, in ascending id
// order, and returns the first error fn returns.
func (l *Badger) Range(start, stop uint64, proto interface{}, fn func(msg interface{}) error) (err error) {
	t, err := protoType(proto)
	if err != nil {
		return fmt.Errorf("paxos: range [%d, %d]: %w", start, stop, err)
	}
	if start > stop {
		return nil
	}
	if err := l.readable(); err != nil {
		return fmt.Errorf("paxos: range [%d, %d]: %w", start, stop, err)
	}
	prefix := recordKeyPrefix(l.path)
	var fnErr error
	inFn := false
	defer l.recoverClosed(&err, &inFn, fmt.Sprintf("range [%d, %d]", start, stop))
	err = l.DB.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = prefix
		opts.PrefetchSize = badgerMaxPrefetch
		if stop-start < badgerMaxPrefetch {
			opts.PrefetchSize = int(stop-start) + 1
		}
		it := txn.NewIterator(opts)
		defer it.Close()
		var val []byte // reused: decoding copies what it keeps
		for it.Seek(appendID(bytes.Clone(prefix), start)); it.Valid(); it.Next() {
			item := it.Item()
			id, err := recordID(item.Key(), prefix)
			if err != nil {
				return err
			}
			if id > stop {
				return nil
			}
			if val, err = item.ValueCopy(val[:0]); err != nil {
				return &RecordError{Op: "range", ID: id, Err: err}
			}
			v := reflect.New(t).Interface()
			if err := decodeRecord(val, v); err != nil {
				return &RecordError{Op: "range", ID: id, Err: err}
			}
			inFn = true
			fnErr = fn(v)
			inFn = false
			if fnErr != nil {
				return fnErr
			}
		}
		return nil
	})
	if err != nil && fnErr == nil && !isRecordError(err) {
		err = fmt.Errorf("paxos: range [%d, %d]: %w", start, stop, l.storageErr(err))
	}
	return err
}

// recoverClosed turns a panic inside badger (v3 panics when an iterator is
// opened on a DB closed under it) into an error. A panic raised by the
// user's fn (*inFn set) is not ours to hide and continues.
func (l *Badger) recoverClosed(err *error, inFn *bool, op string) {
	r := recover()
	if r == nil {
		return
	}
	if inFn != nil && *inFn {
		panic(r)
	}
	cause := fmt.Errorf("badger panicked: %v", r)
	if l.DB.IsClosed() {
		cause = fmt.Errorf("%w: %w", ErrClosed, cause)
	}
	*err = fmt.Errorf("paxos: %s: %w", op, cause)
}

// recordID returns the id of a key of the view whose keys start with prefix.
func recordID(key, prefix []byte) (uint64, error) {
	if len(key) != len(prefix)+8 {
		return 0, fmt.Errorf("%w: key %x is not a record key", ErrDecode, key)
	}
	return binary.BigEndian.Uint64(key[len(prefix):]), nil
}

func isRecordError(err error) bool {
	var re *RecordError
	return errors.As(err, &re)
}
