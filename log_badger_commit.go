package paxos

import (
	"fmt"
	"sync"

	"github.com/dgraph-io/badger/v3"
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
	b.err = writeBatch(db, b.writes)
	c.writeMu.Unlock()
	close(b.done)
	return b.err
}

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
