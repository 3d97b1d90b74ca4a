//go:build !linux

package journal

import (
	"errors"
	"os"
)

var errNoDirect = errors.New("journal: direct I/O is only used on Linux")

// OpenDirect is Linux only: elsewhere it returns an error.
func OpenDirect(string) (*os.File, error) { return nil, errNoDirect }

func directRefused(error) bool { return false }
