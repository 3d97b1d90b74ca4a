package paxos_test

import (
	"bytes"
	"errors"
	"sync"
	"testing"

	"github.com/dgraph-io/badger/v3"
	"github.com/stretchr/testify/require"

	"github.com/mjpitz/myago/paxos"
)

func TestBadgerRefusesNotDurableDB(t *testing.T) {
	inMemory, err := badger.Open(badger.DefaultOptions("").WithInMemory(true).WithLogger(nil))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, inMemory.Close()) })
	noSync, err := badger.Open(badger.DefaultOptions(t.TempDir()).WithLogger(nil)) // SyncWrites defaults to false
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, noSync.Close()) })

	for name, db := range map[string]*badger.DB{"in memory": inMemory, "no SyncWrites": noSync} {
		l := &paxos.Badger{DB: db}
		err := l.Record(31337, &paxos.Proposal{ID: 1})
		require.ErrorIs(t, err, paxos.ErrNotDurable, name)
		require.ErrorContains(t, err, "31337", name)
		require.ErrorIs(t, l.WithPrefix("p").(paxos.BatchLog).RecordBatch([]uint64{4}, []interface{}{&paxos.Bytes{}}), paxos.ErrNotDurable, name)

		// Nothing was written, and reads work.
		var p paxos.Proposal
		require.NoError(t, l.Last(&p), name)
		require.Equal(t, paxos.Proposal{}, p)

		// The opt-out field allows writes.
		l.AllowNotDurable = true
		require.NoError(t, l.Record(31337, &paxos.Proposal{ID: 1}), name)
		require.NoError(t, l.WithPrefix("p").Record(1, &paxos.Proposal{ID: 1}), name)
	}
}

func TestBadgerClosedDB(t *testing.T) {
	db := openBadger(t, t.TempDir())
	l := &paxos.Badger{DB: db}
	view := l.WithPrefix("v")
	require.NoError(t, view.Record(1, &paxos.Proposal{ID: 1}))
	require.NoError(t, db.Close())

	for _, log := range []paxos.Log{l, view} {
		err := log.Record(4242, &paxos.Proposal{ID: 1})
		require.ErrorIs(t, err, paxos.ErrClosed)
		require.ErrorContains(t, err, "4242")

		err = log.(paxos.BatchLog).RecordBatch([]uint64{4243}, []interface{}{&paxos.Proposal{}})
		require.ErrorIs(t, err, paxos.ErrClosed)
		require.ErrorContains(t, err, "4243")

		require.ErrorIs(t, log.Last(&paxos.Proposal{}), paxos.ErrClosed)
		err = log.Range(0, 10, paxos.Proposal{}, func(interface{}) error {
			t.Fatal("fn called on a closed DB")
			return nil
		})
		require.ErrorIs(t, err, paxos.ErrClosed)
	}
}

func TestBadgerNilDB(t *testing.T) {
	l := &paxos.Badger{}
	require.ErrorContains(t, l.Record(5, &paxos.Bytes{}), "5")
	require.Error(t, l.Last(&paxos.Bytes{}))
	require.Error(t, l.Range(0, 1, paxos.Bytes{}, func(interface{}) error { return nil }))
	require.Error(t, l.WithPrefix("x").Record(1, &paxos.Bytes{}))
}

func TestBadgerFnPanicIsNotSwallowed(t *testing.T) {
	l := &paxos.Badger{DB: openBadger(t, t.TempDir())}
	require.NoError(t, l.Record(1, &paxos.Bytes{Value: []byte("x")}))
	require.PanicsWithValue(t, "from fn", func() {
		_ = l.Range(0, 1, paxos.Bytes{}, func(interface{}) error { panic("from fn") })
	})
	// The Log still works.
	require.NoError(t, l.Record(2, &paxos.Bytes{Value: []byte("y")}))
}

// TestBadgerGroupCommitLimits writes more concurrently than one transaction
// holds: the committer must split the batches, and a single RecordBatch
// too large for any transaction fails alone.
func TestBadgerGroupCommitLimits(t *testing.T) {
	t.Run("synced", func(t *testing.T) { testGroupCommitLimits(t, &paxos.Badger{DB: openBadger(t, t.TempDir())}) })
	t.Run("journaled", func(t *testing.T) { testGroupCommitLimits(t, openBadgerLog(t, t.TempDir())) })
}

func testGroupCommitLimits(t *testing.T, l *paxos.Badger) {
	db := l.DB
	value := bytes.Repeat([]byte{7}, 64<<10)

	const writers, perWriter = 16, 8 // 8 MiB in all, more than one transaction
	var wg sync.WaitGroup
	errs := make(chan error, writers*perWriter+1)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWriter; i++ {
				errs <- l.Record(uint64(w*perWriter+i), &paxos.Bytes{Value: value})
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		n := int(db.MaxBatchCount()) + 1
		ids := make([]uint64, n)
		msgs := make([]interface{}, n)
		for i := range ids {
			ids[i], msgs[i] = uint64(i), &paxos.Bytes{}
		}
		err := l.WithPrefix("huge").(paxos.BatchLog).RecordBatch(ids, msgs)
		if !errors.Is(err, badger.ErrTxnTooBig) {
			errs <- errors.New("oversized batch: want ErrTxnTooBig")
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	n := 0
	require.NoError(t, l.Range(0, writers*perWriter, paxos.Bytes{}, func(msg interface{}) error {
		n++
		require.Equal(t, value, msg.(*paxos.Bytes).Value)
		return nil
	}))
	require.Equal(t, writers*perWriter, n)
	require.NoError(t, l.WithPrefix("huge").Range(0, ^uint64(0), paxos.Bytes{}, func(interface{}) error {
		return errors.New("the oversized batch must store nothing")
	}))
	require.NoError(t, l.Record(1<<20, &paxos.Bytes{Value: value}), "the refusal broke nothing")
}
