//go:build !unix

package paxos_test

import "time"

// processCPU: no getrusage here.
func processCPU() (time.Duration, bool) { return 0, false }
