package paxos_test

import (
	"flag"
	"time"
)

var (
	perfClients  = flag.Int("perf.clients", 0, "TestPerfNodes: concurrent proposers")
	perfDuration = flag.Duration("perf.duration", 5*time.Second, "TestPerfNodes: how long")
)
