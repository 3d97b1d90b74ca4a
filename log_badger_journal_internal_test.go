package paxos

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/dgraph-io/badger/v3"

	"github.com/stretchr/testify/require"
)

func TestJournalRecordEncoding(t *testing.T) {
	writes := []*badgerWrite{
		{keys: [][]byte{[]byte("a"), []byte("bb")}, vals: [][]byte{[]byte("1"), {}}},
		{keys: [][]byte{[]byte("c")}, vals: [][]byte{make([]byte, 300)}},
	}
	p := appendJournalRecord(nil, writes)
	w, err := decodeJournalRecord(p)
	require.NoError(t, err)
	require.Equal(t, [][]byte{[]byte("a"), []byte("bb"), []byte("c")}, w.keys)
	require.Equal(t, [][]byte{[]byte("1"), {}, make([]byte, 300)}, w.vals)

	for name, bad := range map[string][]byte{
		"empty":           nil,
		"unknown version": append([]byte{9}, p[1:]...),
		"no count":        p[:1],
		"huge count":      {journalRecordVersion, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"truncated":       p[:len(p)-1],
		"trailing":        append(append([]byte{}, p...), 0),
	} {
		_, err := decodeJournalRecord(bad)
		require.ErrorIs(t, err, errBadJournalRecord, name)
	}
}

func TestBadgerCheckpointerSyncsWhatBadgerLeavesUnsynced(t *testing.T) {
	dir := t.TempDir()
	touch := func(names ...string) {
		for _, n := range names {
			require.NoError(t, os.WriteFile(filepath.Join(dir, n), nil, 0o644))
		}
	}
	touch("000001.sst", "MANIFEST", "KEYREGISTRY", "LOCK", "DISCARD", "000001.vlog", "000001.mem", "000002.mem")
	require.NoError(t, os.Mkdir(filepath.Join(dir, journalDir), 0o755))
	var synced []string
	c := newBadgerCheckpointer(badger.DefaultOptions(dir))
	c.fsync = func(path string) error {
		rel, err := filepath.Rel(dir, path)
		require.NoError(t, err)
		synced = append(synced, rel)
		return nil
	}
	checkpoint := func() []string {
		synced = nil
		require.NoError(t, c.sync())
		slices.Sort(synced)
		return synced
	}
	// The first time: every file badger writes unsynced, and the directory.
	require.Equal(t, []string{".", "000001.mem", "000001.vlog", "000002.mem", "DISCARD"}, checkpoint())
	// Nothing new: the files being written, not the full memtable's log.
	require.Equal(t, []string{"000001.vlog", "000002.mem", "DISCARD"}, checkpoint())
	// A new value log: the old one once more, the directory for the new name.
	touch("000002.vlog", "000002.sst")
	require.Equal(t, []string{".", "000001.vlog", "000002.mem", "000002.vlog", "DISCARD"}, checkpoint())
	require.Equal(t, []string{"000002.mem", "000002.vlog", "DISCARD"}, checkpoint())
	// A flushed memtable's log removed: the directory again.
	require.NoError(t, os.Remove(filepath.Join(dir, "000001.mem")))
	require.Equal(t, []string{".", "000002.mem", "000002.vlog", "DISCARD"}, checkpoint())
	// Numbers past six digits still order by value.
	touch("1000000.vlog")
	require.Equal(t, []string{".", "000002.mem", "000002.vlog", "1000000.vlog", "DISCARD"}, checkpoint())

	c.fsync = func(string) error { return errors.New("disk gone") }
	require.ErrorContains(t, c.sync(), "disk gone")
}

// TestJournalFileHoldsBadgersLargestBatch: write refuses to journal a batch
// badger would refuse, so a journal file must hold any batch badger takes.
func TestJournalFileHoldsBadgersLargestBatch(t *testing.T) {
	l, err := OpenBadgerLog(t.TempDir(), nil)
	require.NoError(t, err)
	defer l.Close()
	// Per entry the record spends at most two 10-byte lengths, the size
	// estimate counts badgerEntryOverhead: the estimate bounds the record.
	require.Less(t, l.DB.MaxBatchSize()+64, int64(badgerJournalFileBytes))
}
