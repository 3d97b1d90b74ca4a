package paxostest

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if goroutines outlive them: every
// cluster stops its members and every badger DB is closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
