//go:build !linux

package consensus

import "os"

// datasync falls back to fsync where fdatasync(2) is not available.
func datasync(f *os.File) error { return f.Sync() }

// preallocate is a no-op where fallocate(2) is not available: the log
// appends instead.
func preallocate(*os.File, int64) error { return nil }
