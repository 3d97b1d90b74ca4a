//go:build unix && !linux

package robustness

import "syscall"

// sysProcAttr: only Linux can tie a member's life to the test's.
func sysProcAttr() *syscall.SysProcAttr { return nil }
