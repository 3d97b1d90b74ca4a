package consensus

import (
	"fmt"
	"os"
	"syscall"
)

// datasync flushes f's data (and only the metadata needed to read it back)
// to stable storage, as fdatasync(2) does.
func datasync(f *os.File) error {
	if err := syscall.Fdatasync(int(f.Fd())); err != nil {
		return fmt.Errorf("fdatasync %s: %w", f.Name(), err)
	}
	return nil
}

// preallocate reserves size bytes for f without changing what reads return
// beyond its current end (fallocate(2) with mode 0 extends the size; etcd's
// WAL reserves its segments the same way).
func preallocate(f *os.File, size int64) error {
	if err := syscall.Fallocate(int(f.Fd()), 0, 0, size); err != nil {
		return fmt.Errorf("fallocate %s: %w", f.Name(), err)
	}
	return nil
}
