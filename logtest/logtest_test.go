package logtest_test

import (
	"testing"

	"github.com/mjpitz/myago/paxos"
	"github.com/mjpitz/myago/paxos/logtest"
)

// TestRunMemory is how a user runs the suite on their own Log; here on
// paxos.Memory, so that the suite's own changes are checked in this package
// too (package paxos runs it on every Log it ships).
func TestRunMemory(t *testing.T) {
	logtest.Run(t, func(*testing.T) paxos.Log { return &paxos.Memory{} })
}
