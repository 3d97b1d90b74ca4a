package paxos

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/dgraph-io/badger/v3"
	"github.com/dgraph-io/badger/v3/options"
)

// BadgerOptions returns the badger options for a durable Log stored in dir:
//
//   - SyncWrites on, so that a commit returns only once it is synced (the
//     only durable mode of badger v3, see Badger);
//   - conflict detection off: the Log only makes blind writes;
//   - values over 1 KiB (an acceptor's batch of commands, say) kept in the
//     value log, and no block compression: a batch is then written once,
//     not copied again by every memtable flush and compaction (measured:
//     3 members at 64 clients, about a third less CPU per value);
//   - a smaller memory footprint than badger's defaults (32 MiB memtables,
//     at most 3 of them, a 64 MiB block cache). The memtable size also
//     bounds one transaction, hence one RecordBatch, to about 4.8 MiB;
//   - 16 MiB value-log files. A synced write msyncs the whole mapping of
//     the current value-log file, and that grows more expensive the more
//     of the file is written: with 256 MiB files, one writer of 4.5 KB
//     records fell from 1,700 to 300 synced writes/s within 10 s and
//     stayed there, and 3 members at 64 clients sustained 7,000 values/s
//     over a minute against 18,000 with 16 MiB files. The cost is more
//     files: a log of 100 GiB keeps about 6,400 of them open, so raise the
//     open-files limit (or the file size) for logs that large;
//   - badger's log messages sent to logger: errors and warnings at their
//     level, its chatty info and debug messages at slog.LevelDebug and
//     below. A nil logger discards them.
//
// Adjust the returned options as needed before badger.Open, but keep
// SyncWrites.
func BadgerOptions(dir string, logger *slog.Logger) badger.Options {
	opts := badger.DefaultOptions(dir).
		WithSyncWrites(true).
		WithDetectConflicts(false).
		WithMemTableSize(32 << 20).
		WithNumMemtables(3).
		WithBlockCacheSize(64 << 20).
		WithValueLogFileSize(16 << 20).
		WithNumCompactors(2).
		WithValueThreshold(1 << 10).
		WithCompression(options.None)
	opts.Logger = nil
	if logger != nil {
		opts.Logger = badgerLogger{logger}
	}
	return opts
}

// OpenBadger opens (creating it if needed) the badger DB in dir with
// BadgerOptions(dir, logger). Wrap it with &Badger{DB: db}; close it with
// db.Close when done.
func OpenBadger(dir string, logger *slog.Logger) (*badger.DB, error) {
	db, err := badger.Open(BadgerOptions(dir, logger))
	if err != nil {
		return nil, fmt.Errorf("paxos: open badger in %q: %w", dir, err)
	}
	return db, nil
}

// badgerLogger adapts a *slog.Logger to badger.Logger.
type badgerLogger struct{ l *slog.Logger }

// levelBadgerDebug is below slog.LevelDebug: badger logs at debug level on
// every write.
const levelBadgerDebug = slog.LevelDebug - 4

func (a badgerLogger) log(level slog.Level, format string, args []interface{}) {
	ctx := context.Background()
	if !a.l.Enabled(ctx, level) {
		return
	}
	a.l.Log(ctx, level, strings.TrimSpace(fmt.Sprintf(format, args...)), "component", "badger")
}

func (a badgerLogger) Errorf(f string, args ...interface{})   { a.log(slog.LevelError, f, args) }
func (a badgerLogger) Warningf(f string, args ...interface{}) { a.log(slog.LevelWarn, f, args) }
func (a badgerLogger) Infof(f string, args ...interface{})    { a.log(slog.LevelDebug, f, args) }
func (a badgerLogger) Debugf(f string, args ...interface{})   { a.log(levelBadgerDebug, f, args) }
