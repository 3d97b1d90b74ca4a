package journal

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// directWorks reports whether dir's filesystem takes a direct write, checked
// apart from the journal.
func directWorks(t *testing.T, dir string) bool {
	t.Helper()
	name := filepath.Join(dir, "probe")
	require.NoError(t, os.WriteFile(name, make([]byte, DirectBlock), 0o644))
	d, err := OpenDirect(name)
	if err != nil {
		return false
	}
	defer d.Close()
	_, err = d.WriteAt(AlignedBuffer(DirectBlock), 0)
	return err == nil
}

// TestDirectWrites: where the filesystem takes direct I/O the journal uses
// it (on Linux), records of every size round-trip through it, and the file
// holds them back to back with zeros after the last, as buffered writes
// leave it.
func TestDirectWrites(t *testing.T) {
	dir := t.TempDir()
	j, s, _ := reopen(t, dir, 0, nil)
	if runtime.GOOS == "linux" && directWorks(t, t.TempDir()) {
		require.NotNil(t, j.direct[0], "the journal writes through the page cache where direct I/O works")
	} else {
		require.Nil(t, j.direct[0])
	}
	var sizes []int
	for i, n := range []int{1, 10, 4000, DirectBlock - headerBytes, 5, 3 * DirectBlock, 100, DirectBlock, 7} {
		appendApply(t, j, s, fmt.Sprintf("k%d=%s", i, make([]byte, n)))
		sizes = append(sizes, len(fmt.Sprintf("k%d=", i))+n)
	}
	require.NoError(t, j.Close())

	offs := recordOffsets(t, filepath.Join(dir, "journal-0"))
	require.Len(t, offs, len(sizes))
	var want int64
	for i, n := range sizes {
		require.Equal(t, want, offs[i], "record %d", i)
		want += int64(headerBytes + n)
	}
	b, err := os.ReadFile(filepath.Join(dir, "journal-0"))
	require.NoError(t, err)
	require.Equal(t, make([]byte, len(b)-int(want)), b[want:], "zeros after the last record")

	j, s2, seqs := reopen(t, dir, 0, nil)
	defer j.Close()
	require.Len(t, seqs, len(sizes))
	require.Equal(t, s.state, s2.state)
}

// TestBufferedOption: Options.Buffered keeps the journal off direct I/O,
// as do files that are not whole blocks.
func TestBufferedOption(t *testing.T) {
	j, _, _ := reopenWith(t, t.TempDir(), Options{Buffered: true}, nil)
	defer j.Close()
	require.Nil(t, j.direct[0])
	j2, _, _ := reopen(t, t.TempDir(), DirectBlock+1, nil)
	defer j2.Close()
	require.Nil(t, j2.direct[0])
}

// TestRefusedDirectWriteFallsBack: a direct write the kernel refuses (here
// from a buffer off alignment, as a filesystem without direct I/O would)
// writes nothing, so the journal writes that record and the next ones
// through the page cache instead, and loses none of them.
func TestRefusedDirectWriteFallsBack(t *testing.T) {
	dir := t.TempDir()
	if runtime.GOOS != "linux" || !directWorks(t, t.TempDir()) {
		t.Skip("direct I/O is not available here")
	}
	j, s, _ := reopen(t, dir, 0, nil)
	appendApply(t, j, s, "a=1")
	b := AlignedBuffer(2 * DirectBlock)
	copy(b[1:], j.dbuf[:headerBytes+3])
	j.dbuf = b[1 : 1+headerBytes+3 : len(b)] // the kernel refuses this address
	appendApply(t, j, s, "b=2")
	require.Nil(t, j.direct[0], "the journal went on through the page cache")
	appendApply(t, j, s, "c=3")
	require.NoError(t, j.Close())

	j, s2, seqs := reopen(t, dir, 0, nil)
	defer j.Close()
	require.Equal(t, []uint64{1, 2, 3}, seqs)
	require.Equal(t, s.state, s2.state)
}
