package paxos

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"sync"

	"github.com/dgraph-io/badger/v3"

	"github.com/mjpitz/myago/paxos/internal/journal"
)

// A journaled Badger.
//
// A synced badger v3 write msyncs two memory-mapped files (the value log
// and the memtable's write-ahead log): two device flushes, and every page
// it cleans faults again at the next write. OpenBadgerLog opens the DB
// without SyncWrites and puts a journal in front of it: each group commit
// is one record appended to a journal file and fdatasync'd (one flush, a
// plain write), then written to badger unsynced. The journal reuses its
// space once badger's files have been synced (a checkpoint, on the
// journal's own goroutine); after a crash, opening replays what badger may
// have lost. The record layout is in docs/FORMAT.md ("Journal").

// journalDir is the journal's directory inside the badger directory (badger
// ignores entries that are not its own files).
const journalDir = "paxos-journal"

// The journal's two files hold 8 MiB each, more than the largest batch
// write refuses to journal (badger's transaction limit, about 4.8 MiB with
// BadgerOptions; TestJournalFileHoldsBadgersLargestBatch), and badger is
// checkpointed (its files synced) every 2 MiB of journal: a checkpoint
// holds up badger's writes for about as long as it takes to write out what
// accumulated since the last one (measured, 3 members at 64 clients,
// durable, checkpoints every 32 MiB: writes paused up to 180 ms; every
// 4 MiB: 65 ms; every 2 MiB: 30 ms).
const (
	badgerJournalFileBytes       = 8 << 20
	badgerJournalCheckpointBytes = 2 << 20
)

// journalRecordVersion is the first byte of every journal record's payload.
const journalRecordVersion = 1

// OpenBadgerLog opens (creating it if needed) a durable Log stored in dir:
// a badger DB with BadgerOptions(dir, logger) but SyncWrites off, and a
// journal in dir/paxos-journal that makes each write durable before it
// returns. Writes cost one fdatasync of a plain file instead of badger's
// two msyncs.
//
// Everything written to the DB must go through the returned Log and its
// views (the journal only knows those writes), and nothing may run badger's
// value-log GC on it. Open the directory with OpenBadgerLog again, never
// with OpenBadger: opening replays the journal into the DB. Close the Log
// (which closes the DB) when done.
func OpenBadgerLog(dir string, logger *slog.Logger) (*Badger, error) {
	db, err := badger.Open(BadgerOptions(dir, logger).WithSyncWrites(false))
	if err != nil {
		return nil, fmt.Errorf("paxos: open badger in %q: %w", dir, err)
	}
	jdir := filepath.Join(dir, journalDir)
	if err := os.MkdirAll(jdir, 0o755); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("paxos: %w", err)
	}
	ck := newBadgerCheckpointer(db.Opts())
	r := &journalReplay{db: db}
	j, err := journal.Open(jdir, journal.Options{
		// The checkpoint that ends the replay needs every replayed write
		// in badger first; the later ones find nothing pending.
		Checkpoint:      func() error { return errors.Join(r.flush(), ck.sync()) },
		FileBytes:       badgerJournalFileBytes,
		CheckpointBytes: badgerJournalCheckpointBytes,
	}, r.add)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("paxos: opening the journal of %q: %w", dir, err)
	}
	return &Badger{DB: db, committer: &badgerCommitter{journal: j}}, nil
}

// journalReplay writes replayed records to badger many at a time: one
// transaction per record made opening after a crash take seconds.
type journalReplay struct {
	db      *badger.DB
	mu      sync.Mutex
	pending []*badgerWrite
	size    int64
	count   int64
}

func (r *journalReplay) add(seq uint64, p []byte) error {
	w, err := decodeJournalRecord(bytes.Clone(p)) // p is only valid during the call
	if err != nil {
		return fmt.Errorf("journal record %d: %w", seq, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.count+int64(len(w.keys)) >= r.db.MaxBatchCount()/2 || r.size+w.size() >= r.db.MaxBatchSize()/2 {
		if err := r.flushLocked(); err != nil {
			return err
		}
	}
	r.pending = append(r.pending, w)
	r.count += int64(len(w.keys))
	r.size += w.size()
	return nil
}

func (r *journalReplay) flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.flushLocked()
}

func (r *journalReplay) flushLocked() error {
	if len(r.pending) == 0 {
		return nil
	}
	err := writeBatch(r.db, r.pending)
	r.pending, r.size, r.count = nil, 0, 0
	return err
}

// Close closes the DB, and first the journal of a Log opened by
// OpenBadgerLog. Views share both: closing one closes them all.
func (l *Badger) Close() error {
	var errs []error
	if c := l.init(); c.journal != nil {
		c.writeMu.Lock()
		errs = append(errs, c.journal.Close())
		c.writeMu.Unlock()
	}
	if l.DB != nil {
		errs = append(errs, l.DB.Close())
	}
	return errors.Join(errs...)
}

// badgerCheckpointer makes everything written to badger so far durable.
// badger v3's DB.Sync syncs the value log but not the memtable's
// write-ahead log, so it syncs the files badger writes without syncing:
// the memtables' logs (*.mem), the value logs (*.vlog) and anything it does
// not know. Tables (*.sst), the MANIFEST and the KEYREGISTRY are synced by
// badger when written. A memtable log or value log with a newer one beside
// it is no longer written: it is synced once more, then left alone (a clean
// file's fsync can still cost a device flush). The directory is synced when
// its files changed.
type badgerCheckpointer struct {
	opts  badger.Options
	fsync func(path string) error
	done  map[string]bool // synced since a newer file of its kind appeared
	names map[string]bool // the regular files at the last checkpoint
}

func newBadgerCheckpointer(opts badger.Options) *badgerCheckpointer {
	return &badgerCheckpointer{opts: opts, fsync: syncFile, done: map[string]bool{}}
}

func (c *badgerCheckpointer) sync() error {
	dirs := []string{c.opts.Dir}
	if c.opts.ValueDir != c.opts.Dir {
		dirs = append(dirs, c.opts.ValueDir)
	}
	names := map[string]bool{}
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		newest := map[string]string{} // per kind, the file with the highest number
		for _, e := range entries {
			if !e.Type().IsRegular() {
				continue
			}
			if ext := filepath.Ext(e.Name()); ext == ".mem" || ext == ".vlog" {
				if n := newest[ext]; n == "" || fileNumberLess(n, e.Name()) {
					newest[ext] = e.Name()
				}
			}
		}
		for _, e := range entries {
			if !e.Type().IsRegular() {
				continue
			}
			name, path := e.Name(), filepath.Join(dir, e.Name())
			names[path] = true
			ext := filepath.Ext(name)
			switch {
			case ext == ".sst" || name == "MANIFEST" || name == "KEYREGISTRY" || name == "LOCK":
				continue
			case (ext == ".mem" || ext == ".vlog") && name != newest[ext]:
				if c.done[path] {
					continue
				}
				c.done[path] = true
			}
			if err := c.fsync(path); err != nil {
				return err
			}
		}
	}
	if !maps.Equal(names, c.names) {
		for _, dir := range dirs {
			if err := c.fsync(dir); err != nil {
				return err
			}
		}
		for path := range c.done {
			if !names[path] {
				delete(c.done, path)
			}
		}
	}
	c.names = names
	return nil
}

// fileNumberLess orders badger's numbered file names (000009.vlog before
// 000010.vlog, and 999999.vlog before 1000000.vlog).
func fileNumberLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // badger removed it meanwhile (a flushed memtable's log)
	}
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// appendJournalRecord encodes writes as one journal record:
// version, uvarint(count), then per entry bytes(key) bytes(value), with
// bytes = uvarint(len) followed by the bytes.
func appendJournalRecord(b []byte, writes []*badgerWrite) []byte {
	n := 0
	for _, w := range writes {
		n += len(w.keys)
	}
	b = append(b, journalRecordVersion)
	b = binary.AppendUvarint(b, uint64(n))
	for _, w := range writes {
		for i := range w.keys {
			b = binary.AppendUvarint(b, uint64(len(w.keys[i])))
			b = append(b, w.keys[i]...)
			b = binary.AppendUvarint(b, uint64(len(w.vals[i])))
			b = append(b, w.vals[i]...)
		}
	}
	return b
}

var errBadJournalRecord = errors.New("paxos: malformed journal record")

// decodeJournalRecord decodes a record; the write aliases p.
func decodeJournalRecord(p []byte) (*badgerWrite, error) {
	if len(p) == 0 || p[0] != journalRecordVersion {
		return nil, fmt.Errorf("%w: unknown version", errBadJournalRecord)
	}
	p = p[1:]
	n, k := binary.Uvarint(p)
	if k <= 0 || n > uint64(len(p)) {
		return nil, fmt.Errorf("%w: entry count", errBadJournalRecord)
	}
	p = p[k:]
	w := &badgerWrite{keys: make([][]byte, 0, n), vals: make([][]byte, 0, n)}
	field := func() ([]byte, bool) {
		l, k := binary.Uvarint(p)
		if k <= 0 || l > uint64(len(p)-k) {
			return nil, false
		}
		b := p[k : k+int(l)]
		p = p[k+int(l):]
		return b, true
	}
	for range n {
		key, ok := field()
		if !ok {
			return nil, fmt.Errorf("%w: truncated key", errBadJournalRecord)
		}
		val, ok := field()
		if !ok {
			return nil, fmt.Errorf("%w: truncated value", errBadJournalRecord)
		}
		w.keys, w.vals = append(w.keys, key), append(w.vals, val)
	}
	if len(p) != 0 {
		return nil, fmt.Errorf("%w: trailing bytes", errBadJournalRecord)
	}
	return w, nil
}
