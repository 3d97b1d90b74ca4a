package paxos_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mjpitz/myago/paxos"
	"github.com/mjpitz/myago/paxos/logtest"
)

// openBadgerLog opens a journaled Badger Log in dir, closed when the test
// ends.
func openBadgerLog(t testing.TB, dir string) *paxos.Badger {
	t.Helper()
	l, err := paxos.OpenBadgerLog(dir, nil)
	require.NoError(t, err)
	t.Cleanup(func() {
		if !l.DB.IsClosed() {
			require.NoError(t, l.Close())
		}
	})
	return l
}

func TestBadgerLogConformance(t *testing.T) {
	logtest.RunDurable(t,
		func(t *testing.T) paxos.Log { return openBadgerLog(t, t.TempDir()) },
		func(t *testing.T, l paxos.Log) paxos.Log {
			b := l.(*paxos.Badger)
			dir := b.DB.Opts().Dir
			require.NoError(t, b.Close())
			return openBadgerLog(t, dir)
		})
}

// TestBadgerLogReplaysWhatBadgerLost gives the journal of a Log to a DB
// that has none of its writes, as a crash that lost badger's unsynced
// files would: opening replays every write.
func TestBadgerLogReplaysWhatBadgerLost(t *testing.T) {
	src := t.TempDir()
	l := openBadgerLog(t, src)
	for i := uint64(1); i <= 50; i++ {
		require.NoError(t, l.Record(i, &paxos.Proposal{ID: i, Value: []byte{byte(i)}}))
	}
	ids := []uint64{3, 51, 52}
	msgs := []interface{}{&paxos.Proposal{ID: 300}, &paxos.Proposal{ID: 51}, &paxos.Proposal{ID: 52}}
	require.NoError(t, l.RecordBatch(ids, msgs))
	require.NoError(t, l.WithPrefix("promises").Record(0, &paxos.Request{ID: 7}))
	require.NoError(t, l.Close())

	dst := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dst, "paxos-journal"), 0o755))
	for _, name := range []string{"journal-0", "journal-1"} {
		b, err := os.ReadFile(filepath.Join(src, "paxos-journal", name))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, "paxos-journal", name), b, 0o644))
	}
	for range 2 { // and again: replay over its own result changes nothing
		got := openBadgerLog(t, dst)
		var seen []uint64
		require.NoError(t, got.Range(1, 100, paxos.Proposal{}, func(msg interface{}) error {
			seen = append(seen, msg.(*paxos.Proposal).ID)
			return nil
		}))
		want := []uint64{1, 2, 300}
		for i := uint64(4); i <= 52; i++ {
			want = append(want, i)
		}
		require.Equal(t, want, seen)
		var promise paxos.Request
		require.NoError(t, got.WithPrefix("promises").Last(&promise))
		require.Equal(t, uint64(7), promise.ID)
		require.NoError(t, got.Close())
	}
}

func TestBadgerLogAfterClose(t *testing.T) {
	l := openBadgerLog(t, t.TempDir())
	p := l.WithPrefix("x")
	require.NoError(t, p.Record(1, &paxos.Request{ID: 1}))
	require.NoError(t, l.Close())
	require.NoError(t, l.Close(), "a second Close")
	require.ErrorIs(t, p.Record(2, &paxos.Request{ID: 2}), paxos.ErrClosed)
	require.ErrorIs(t, l.Last(&paxos.Request{}), paxos.ErrClosed)
}

func TestOpenBadgerLogTwiceOnOneDirectoryFails(t *testing.T) {
	dir := t.TempDir()
	openBadgerLog(t, dir)
	_, err := paxos.OpenBadgerLog(dir, nil)
	require.Error(t, err)
}
