package paxos_test

import (
	"testing"

	"github.com/mjpitz/myago/paxos"
	"github.com/mjpitz/myago/paxos/logtest"
)

func TestMemoryConformance(t *testing.T) {
	logtest.Run(t, func(*testing.T) paxos.Log { return &paxos.Memory{} })
}

func TestMemoryViewConformance(t *testing.T) {
	// A view behaves like a root Log.
	logtest.Run(t, func(*testing.T) paxos.Log { return (&paxos.Memory{}).WithPrefix("view") })
}
