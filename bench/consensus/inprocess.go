package consensus

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/mjpitz/myago/paxos/paxostest"
)

// The in-process systems: no sockets and no disk, every member in memory and
// messages passed between goroutines. They measure the libraries' own cost
// per value, the setting of the library's BenchmarkPropose (issue #6), and
// so give its numbers a scale measured on the same machine.

// NamePaxosInProcess selects paxos over its test kit, paxostest: in-memory
// members and Memory Logs, as BenchmarkPropose runs it.
const NamePaxosInProcess = "paxos-inprocess"

// NameHashicorpRaftInmem selects hashicorp/raft over its InmemTransport and
// InmemStore, the way its own tests build clusters.
const NameHashicorpRaftInmem = "hashicorp-raft-inmem"

var errInProcessDurable = errors.New("an in-process system has no disk: run it with -durable=false")

// checkInProcess validates cfg for the in-process system called name.
func checkInProcess(name string, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.Durable {
		return fmt.Errorf("%s: %w", name, errInProcessDurable)
	}
	return nil
}

// PaxosInProcess runs paxos members over paxostest. Every client proposes
// through member 0, as in BenchmarkPropose.
type PaxosInProcess struct{}

// Name returns NamePaxosInProcess.
func (PaxosInProcess) Name() string { return NamePaxosInProcess }

// Start starts cfg.Members members on one paxostest.Network.
func (PaxosInProcess) Start(_ context.Context, cfg Config) (Cluster, error) {
	if err := checkInProcess(NamePaxosInProcess, cfg); err != nil {
		return nil, err
	}
	c, err := paxostest.Start(paxostest.Options{Members: cfg.Members, Seed: 1, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", NamePaxosInProcess, err)
	}
	return paxosInProcess{c}, nil
}

type paxosInProcess struct{ c *paxostest.Cluster }

func (p paxosInProcess) Propose(ctx context.Context, value []byte) error {
	_, err := p.c.Members[0].Paxos().Propose(ctx, value)
	return err
}

func (p paxosInProcess) Close() error {
	p.c.Close()
	return nil
}

// HashicorpRaftInmem runs hashicorp/raft with its default Config over
// InmemTransport and InmemStore, and Apply on the leader, acknowledged as in
// HashicorpRaft.
type HashicorpRaftInmem struct{}

// Name returns NameHashicorpRaftInmem.
func (HashicorpRaftInmem) Name() string { return NameHashicorpRaftInmem }

// Start starts cfg.Members members with every transport connected to every
// other and bootstraps them as one configuration.
func (HashicorpRaftInmem) Start(_ context.Context, cfg Config) (Cluster, error) {
	if err := checkInProcess(NameHashicorpRaftInmem, cfg); err != nil {
		return nil, err
	}
	c := &hashiCluster{}
	trans := make([]*raft.InmemTransport, cfg.Members)
	var servers []raft.Server
	for i := range trans {
		var addr raft.ServerAddress
		addr, trans[i] = raft.NewInmemTransport("")
		servers = append(servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(fmt.Sprintf("m%d", i)), Address: addr})
	}
	for i, t := range trans {
		for j, u := range trans {
			if i != j {
				t.Connect(u.LocalAddr(), u)
			}
		}
	}
	for i, t := range trans {
		conf := raft.DefaultConfig()
		conf.LocalID = servers[i].ID
		conf.Logger = hclog.NewNullLogger()
		store := raft.NewInmemStore()
		r, err := raft.NewRaft(conf, &countingFSM{}, store, store, raft.NewInmemSnapshotStore(), t)
		if err != nil {
			_ = t.Close()
			_ = c.Close()
			return nil, fmt.Errorf("%s: member %d: %w", NameHashicorpRaftInmem, i, err)
		}
		c.members = append(c.members, &hashiMember{id: conf.LocalID, r: r, trans: t})
	}
	if err := c.members[0].r.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("%s: bootstrap: %w", NameHashicorpRaftInmem, err)
	}
	return c, nil
}
