package paxos

import (
	"errors"
	"flag"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/dgraph-io/badger/v3"
)

var errBenchDone = errors.New("benchmark done")

// runWriters calls write(i) for i in [0, b.N) from the given number of
// goroutines and reports records/s.
func runWriters(b *testing.B, writers int, write func(i uint64) error) {
	b.Helper()
	var next atomic.Uint64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	b.ReportAllocs()
	b.ResetTimer()
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= uint64(b.N) {
					return
				}
				if err := write(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// benchBadgerDB opens a DB with BadgerOptions in a fresh directory,
// adjusted by adjust when given.
func benchBadgerDB(b *testing.B, adjust ...func(badger.Options) badger.Options) *badger.DB {
	b.Helper()
	opts := BadgerOptions(b.TempDir(), nil)
	for _, fn := range adjust {
		opts = fn(opts)
	}
	db, err := badger.Open(opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	return db
}

// BenchmarkBadgerRecord compares, in one run on the same disk, durable
// Records of a Proposal with a 128-byte value from one writer and from 64
// concurrent writers (group commit), and raw badger db.Update transactions
// with SyncWrites=true from 64 writers.
func BenchmarkBadgerRecord(b *testing.B) {
	p := benchProposal()
	val, _ := p.MarshalBinary()
	for _, writers := range []int{1, 64} {
		b.Run("log/writers="+itoa(writers), func(b *testing.B) {
			l := &Badger{DB: benchBadgerDB(b)}
			runWriters(b, writers, func(i uint64) error { return l.Record(i, p) })
		})
	}
	for _, writers := range []int{1, 64} {
		b.Run("raw-update/writers="+itoa(writers), func(b *testing.B) {
			db := benchBadgerDB(b)
			prefix := recordKeyPrefix("")
			runWriters(b, writers, func(i uint64) error {
				return db.Update(func(txn *badger.Txn) error {
					return txn.Set(appendID(append([]byte(nil), prefix...), i), val)
				})
			})
		})
	}
}

// BenchmarkBadgerRecordSustained records 4.5 KB values (an acceptor's batch
// of about 30 commands) from one writer, for the value log's sake: a synced
// write msyncs the current value-log file's whole mapping, which costs more
// the more of the file is written. Run it long enough to fill files, and
// compare value-log file sizes with -badger-vlog-mib:
//
//	go test -run '^$' -bench BadgerRecordSustained -benchtime 20s .
//	go test -run '^$' -bench BadgerRecordSustained -benchtime 20s . -badger-vlog-mib 256
func BenchmarkBadgerRecordSustained(b *testing.B) {
	l := &Badger{DB: benchBadgerDB(b, func(o badger.Options) badger.Options {
		if *benchVlogMiB > 0 {
			o = o.WithValueLogFileSize(int64(*benchVlogMiB) << 20)
		}
		return o
	})}
	p := &Proposal{ID: 1, Value: make([]byte, 4500)}
	runWriters(b, 1, func(i uint64) error { return l.Record(i, p) })
}

var benchVlogMiB = flag.Int("badger-vlog-mib", 0, "BenchmarkBadgerRecordSustained: value-log file size in MiB (0: BadgerOptions')")

// BenchmarkBadgerRange counts one op per record visited (see benchRange).
func BenchmarkBadgerRange(b *testing.B) {
	benchRange(b, &Badger{DB: benchBadgerDB(b)})
}

func itoa(n int) string {
	const digits = "0123456789"
	if n < 10 {
		return digits[n : n+1]
	}
	return itoa(n/10) + digits[n%10:n%10+1]
}
