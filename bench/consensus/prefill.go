package consensus

import (
	"fmt"
	"os"
)

// createPrefilled creates path holding size zero bytes, synced, so that later
// overwrites inside it change no file size or extent and a data sync flushes
// data only: the cheapest sync a log can arrange, given to every baseline.
func createPrefilled(path string, size int64) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	zeros := make([]byte, 1<<20)
	for off := int64(0); off < size; off += int64(len(zeros)) {
		n := min(int64(len(zeros)), size-off)
		if _, err := f.WriteAt(zeros[:n], off); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("prefill %s: %w", path, err)
		}
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("prefill %s: %w", path, err)
	}
	return f, nil
}
