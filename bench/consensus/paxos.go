package consensus

import (
	"context"
	"fmt"
)

// NamePaxos selects this repository's Multi-Paxos library.
const NamePaxos = "paxos"

// Paxos will run github.com/mjpitz/myago/paxos over yarpc/TCP (Badger Logs
// when durable, Memory Logs otherwise). It is a placeholder until the
// library's network layer lands: Start returns ErrNotWired.
type Paxos struct{}

// Name returns NamePaxos.
func (Paxos) Name() string { return NamePaxos }

// Start returns ErrNotWired.
func (Paxos) Start(_ context.Context, cfg Config) (Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%s: %w", NamePaxos, ErrNotWired)
}
