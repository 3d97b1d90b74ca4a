package robustness

import "syscall"

// sysProcAttr makes a member die with the test: a test binary that crashes
// or times out leaves no member running.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
