package paxostest

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mjpitz/myago/paxos"
)

// badgerStorage keeps member i's three Logs in one badger DB under dir,
// opened at every start and closed after every stop.
func badgerStorage(dir string) func(i int) (Logs, error) {
	return func(i int) (Logs, error) {
		db, err := paxos.OpenBadger(filepath.Join(dir, fmt.Sprintf("m%d", i)), nil)
		if err != nil {
			return Logs{}, err
		}
		b := &paxos.Badger{DB: db}
		return Logs{Promise: b.WithPrefix("promise"), Accepted: b.WithPrefix("accepted"),
			Recorded: b.WithPrefix("recorded"), Close: db.Close}, nil
	}
}

// Three members over Badger, with proposals running, all restarted at once
// (DBs closed and reopened) twice, then one at a time: nothing acknowledged
// is lost, and the log continues after each restart.
func TestClusterBadgerRestarts(t *testing.T) {
	c := NewCluster(t, Options{Members: 3, Seed: 2, Storage: badgerStorage(t.TempDir())})
	l := startLoad(c, 8, 3*time.Second)
	defer l.stop()
	grows := func(n int) {
		t.Helper()
		before, top := l.ackedCount(), l.maxAcked()
		require.Eventually(t, func() bool { return l.ackedCount() >= before+n && l.maxAcked() > top },
			60*time.Second, time.Millisecond, "the log stopped growing")
	}
	restartAll := func() {
		t.Helper()
		for _, m := range c.Members {
			require.NoError(t, m.Stop())
		}
		for _, m := range c.Members {
			require.NoError(t, m.Start())
		}
	}
	grows(100)
	restartAll()
	grows(100)
	restartAll()
	grows(100)
	for _, m := range c.Members {
		require.NoError(t, m.Stop())
		require.NoError(t, m.Start())
		grows(20)
	}
	l.stop()
	t.Logf("acknowledged %d, failed %d", l.ackedCount(), l.failed)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pos, err := l.propose(c.Members[0].Paxos(), "last", 30*time.Second)
	require.NoError(t, err)
	require.Greater(t, pos, l.maxAcked()-1)
	log, err := c.WaitConverged(ctx, pos)
	require.NoError(t, err)
	l.check(t, log)
	requireSameEverywhere(t, c, log)
}
