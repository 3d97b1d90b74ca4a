package consensus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"

	"github.com/mjpitz/myago/paxos"
)

// NamePaxos selects this repository's Multi-Paxos library.
const NamePaxos = "paxos"

// Paxos runs github.com/mjpitz/myago/paxos: one paxos.Node per member, each
// with its own 127.0.0.1 listener, talking yarpc over TCP, on Badger (its own
// data directory) when durable and Memory Logs otherwise. Every client
// proposes through member 0 (the others forward to whoever leads). The
// members' state machine is a lastRecordLog unless Config.PaxosRecordAll.
type Paxos struct{}

// Name returns NamePaxos.
func (Paxos) Name() string { return NamePaxos }

type paxosCluster struct{ nodes []*paxos.Node }

// Start starts the members.
func (Paxos) Start(ctx context.Context, cfg Config) (Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	addrs := make([]string, cfg.Members)
	for i := range addrs {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		addrs[i] = l.Addr().String()
		if err := l.Close(); err != nil {
			return nil, err
		}
	}
	c := &paxosCluster{}
	for i, addr := range addrs {
		nc := paxos.NodeConfig{Listen: addr, Peers: addrs, Logger: cfg.Logger, InMemory: !cfg.Durable}
		if cfg.Durable {
			nc.DataDir = filepath.Join(cfg.Dir, fmt.Sprintf("paxos-%d", i))
		}
		if !cfg.PaxosRecordAll {
			nc.RecordedLog = func(paxos.Log) paxos.Log { return &lastRecordLog{} }
		}
		n, err := paxos.NewNode(nc)
		if err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("%s: member %d: %w", NamePaxos, i, err)
		}
		c.nodes = append(c.nodes, n)
	}
	return c, nil
}

func (c *paxosCluster) Propose(ctx context.Context, value []byte) error {
	_, err := c.nodes[0].ProposeIndex(ctx, value)
	return err
}

func (c *paxosCluster) Close() error {
	var errs []error
	for _, n := range c.nodes {
		errs = append(errs, n.Close())
	}
	return errors.Join(errs...)
}
