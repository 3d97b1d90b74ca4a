//go:build !linux

package journal

import (
	"errors"
	"os"
)

var errNoDirect = errors.New("journal: direct I/O is only used on Linux")

func openDirect(string) (*os.File, error) { return nil, errNoDirect }

func directRefused(error) bool { return false }
