package paxos_test

import (
	"testing"

	"github.com/dgraph-io/badger/v3"
	"github.com/stretchr/testify/require"

	"github.com/mjpitz/myago/paxos"
	"github.com/mjpitz/myago/paxos/logtest"
)

// openBadger opens a durable DB in dir, closed when the test ends.
func openBadger(t testing.TB, dir string) *badger.DB {
	t.Helper()
	db, err := paxos.OpenBadger(dir, nil)
	require.NoError(t, err)
	t.Cleanup(func() {
		if !db.IsClosed() {
			require.NoError(t, db.Close())
		}
	})
	return db
}

func TestBadgerConformance(t *testing.T) {
	logtest.RunDurable(t,
		func(t *testing.T) paxos.Log {
			return &paxos.Badger{DB: openBadger(t, t.TempDir())}
		},
		func(t *testing.T, l paxos.Log) paxos.Log {
			db := l.(*paxos.Badger).DB
			dir := db.Opts().Dir
			require.NoError(t, db.Close())
			return &paxos.Badger{DB: openBadger(t, dir)}
		})
}

func TestBadgerInMemoryConformance(t *testing.T) {
	logtest.Run(t, func(t *testing.T) paxos.Log {
		db, err := badger.Open(badger.DefaultOptions("").WithInMemory(true).WithLogger(nil))
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, db.Close()) })
		return &paxos.Badger{DB: db, AllowNotDurable: true}
	})
}
