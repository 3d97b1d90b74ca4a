package consensus

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/mjpitz/myago/paxos/internal/journal"
)

// TestFloorDirectWritesWhereTheJournalWould: values land back to back, a
// value that would cross a block starts the next one, and what a block
// held before stays (the block is rewritten from memory, as the journal's).
func TestFloorDirectWritesWhereTheJournalWould(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("O_DIRECT floor is Linux only")
	}
	dir := t.TempDir()
	c, err := FloorDirect{}.Start(context.Background(), Config{Members: 1, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	a := bytes.Repeat([]byte{'a'}, 3000)
	b := bytes.Repeat([]byte{'b'}, 1000)
	d := bytes.Repeat([]byte{'d'}, 200) // does not fit after a and b
	for _, v := range [][]byte{a, b, d} {
		if err := c.Propose(context.Background(), v); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Propose(context.Background(), make([]byte, journal.DirectBlock+1)); err == nil {
		t.Fatal("a value over one block was accepted")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, NameFloorDirect, "0000"))
	if err != nil {
		t.Fatal(err)
	}
	want := append(append(append([]byte{}, a...), b...), make([]byte, journal.DirectBlock-4000)...)
	want = append(want, d...)
	if !bytes.Equal(got[:len(want)], want) {
		t.Fatalf("file starts %q…, want a×3000 b×1000 zeros d×200", got[:16])
	}
}
