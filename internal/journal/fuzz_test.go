package journal

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
)

// FuzzOpen opens journals whose files hold arbitrary bytes, as a damaged
// disk could leave them: Open never panics, replays only whole records
// with a matching CRC in sequence order, and the journal takes appends
// after it.
func FuzzOpen(f *testing.F) {
	rec := func(seq uint64, p string) []byte {
		b := make([]byte, headerBytes+len(p))
		binary.LittleEndian.PutUint32(b[0:], uint32(len(p)))
		binary.LittleEndian.PutUint64(b[8:], seq)
		copy(b[headerBytes:], p)
		binary.LittleEndian.PutUint32(b[4:], crc32.Checksum(b[8:], castagnoli))
		return b
	}
	f.Add([]byte{}, []byte{})
	f.Add(append(rec(1, "a"), rec(2, "bb")...), rec(3, "c"))
	f.Add(rec(7, "x"), append(rec(5, "y"), rec(6, "z")...))
	f.Add(append(rec(1, "a"), 0xff, 0xff, 0xff, 0x7f), []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		dir := t.TempDir()
		for i, data := range [][]byte{a, b} {
			if err := os.WriteFile(filepath.Join(dir, []string{"journal-0", "journal-1"}[i]), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		var last uint64
		j, err := Open(dir, Options{FileBytes: 4096, Checkpoint: func() error { return nil }}, func(seq uint64, p []byte) error {
			if last != 0 && seq != last+1 {
				t.Fatalf("replayed %d after %d", seq, last)
			}
			if !bytes.Contains(a, p) && !bytes.Contains(b, p) {
				t.Fatalf("replayed a payload that is in neither file")
			}
			last = seq
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := j.Append([]byte("after")); err != nil {
			t.Fatal(err)
		}
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
	})
}
