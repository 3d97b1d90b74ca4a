package paxos

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if goroutines outlive them: the Logs
// start none, and every badger DB the tests open is closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
