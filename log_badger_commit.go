package paxos

import (
	"errors"
	"fmt"
	"sync"

	"github.com/dgraph-io/badger/v3"

	"github.com/mjpitz/myago/paxos/internal/journal"
)

// Group commit for Badger.
//
// badger batches concurrent transaction commits into one value-log write
// and sync, but then writes each transaction to the memtable and syncs the
// memtable's write-ahead log once per transaction, so N concurrent Records
// cost N syncs. The committer instead gathers concurrent writes into one
// transaction: one commit, one sync for all of them.
//
// It needs no goroutine of its own. The first writer to find no open batch
// opens one and becomes its leader; later writers join it and wait. The
// leader waits its turn to write (one batch is written at a time), seals the
// batch so that newcomers open the next one, writes it, and wakes the
// others. While one batch is being synced the next one fills up.

// badgerWrite is one Record or RecordBatch: its entries go into the same
// transaction.
type badgerWrite struct {
	keys, vals [][]byte
}

// size estimates the write's share of badger's transaction limits.
func (w *badgerWrite) size() int64 {
	var n int64
	for i := range w.keys {
		n += int64(len(w.keys[i])+len(w.vals[i])) + badgerEntryOverhead
	}
	return n
}

// badgerEntryOverhead over-estimates badger's per-entry accounting (about
// 12 bytes of metadata plus 10 per entry in a transaction).
const badgerEntryOverhead = 32

type badgerCommitter struct {
	mu      sync.Mutex
	open    *commitBatch // accepting writes; nil if none
	writeMu sync.Mutex   // held while a batch is written

	// With a journal (OpenBadgerLog), owned by the holder of writeMu.
	journal *journal.Journal
	jbuf    []byte
	broken  error // a batch is in the journal but not in badger
}

type commitBatch struct {
	writes []*badgerWrite
	count  int64
	size   int64
	done   chan struct{}
	err    error
}

// commit writes w, together with concurrent writes, in one transaction and
// returns once that transaction is committed.
func (c *badgerCommitter) commit(db *badger.DB, w *badgerWrite) error {
	// Half of badger's limits leaves room for estimation error.
	maxCount, maxSize := db.MaxBatchCount()/2, db.MaxBatchSize()/2
	n, size := int64(len(w.keys)), w.size()

	c.mu.Lock()
	b := c.open
	leader := false
	if b == nil || b.count+n > maxCount || b.size+size > maxSize {
		// A write that does not fit opens the next batch (alone, if it is too
		// big for any: badger then reports ErrTxnTooBig to it alone).
		b = &commitBatch{done: make(chan struct{})}
		c.open = b
		leader = true
	}
	b.writes = append(b.writes, w)
	b.count += n
	b.size += size
	c.mu.Unlock()

	if !leader {
		<-b.done
		return b.err
	}

	c.writeMu.Lock()
	c.mu.Lock()
	if c.open == b {
		c.open = nil // sealed: writers from now on open the next batch
	}
	c.mu.Unlock()
	b.err = c.write(db, b)
	c.writeMu.Unlock()
	close(b.done)
	return b.err
}

// write makes writes durable: badger syncs them, or the journal does and
// badger then takes them unsynced. Called with writeMu held.
func (c *badgerCommitter) write(db *badger.DB, b *commitBatch) error {
	writes := b.writes
	if c.journal == nil {
		return writeBatch(db, writes)
	}
	if c.broken != nil {
		return c.broken
	}
	// What badger would refuse must not reach the journal, which would
	// bring it back at the next open. The estimate over-counts badger's.
	if b.count >= db.MaxBatchCount() || b.size >= db.MaxBatchSize() {
		return badger.ErrTxnTooBig
	}
	c.jbuf = appendJournalRecord(c.jbuf[:0], writes)
	err := c.journal.Append(c.jbuf)
	if cap(c.jbuf) > maxKeptJournalBuffer {
		c.jbuf = nil
	}
	if errors.Is(err, journal.ErrClosed) {
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	if err != nil {
		return fmt.Errorf("paxos: journal: %w", err)
	}
	if err := writeBatch(db, writes); err != nil {
		// Reads would miss a write that a restart brings back: refuse every
		// write until the Log is opened again and replays it.
		c.broken = fmt.Errorf("paxos: badger write after the journal's (reopen the Log to replay it): %w", err)
		return c.broken
	}
	return nil
}

// maxKeptJournalBuffer bounds the encoding buffer kept between batches.
const maxKeptJournalBuffer = 1 << 20

// writeBatch writes every entry of writes in one transaction. A panic inside
// badger (e.g. on a DB closed meanwhile) becomes an error, so that the
// writers waiting on the batch are always woken.
func writeBatch(db *badger.DB, writes []*badgerWrite) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("badger panicked: %v", r)
		}
	}()
	return db.Update(func(txn *badger.Txn) error {
		for _, w := range writes {
			for i := range w.keys {
				if err := txn.Set(w.keys[i], w.vals[i]); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
