package consensus

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// NameHashicorpRaft selects github.com/hashicorp/raft.
const NameHashicorpRaft = "hashicorp-raft"

// HashicorpRaft runs github.com/hashicorp/raft as its users do: default
// Config, the TCP NetworkTransport on 127.0.0.1, raft-boltdb/v2 as log and
// stable store when durable (the in-memory store otherwise), and Apply on the
// leader, acknowledged when ApplyFuture.Error returns (committed on a quorum
// and applied to the leader's FSM).
type HashicorpRaft struct{}

// Name returns NameHashicorpRaft.
func (HashicorpRaft) Name() string { return NameHashicorpRaft }

// Start starts cfg.Members members and bootstraps them as one configuration.
func (HashicorpRaft) Start(_ context.Context, cfg Config) (Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &hashiCluster{}
	var servers []raft.Server
	for i := range cfg.Members {
		m, err := startHashiMember(cfg, i)
		if err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("%s: member %d: %w", NameHashicorpRaft, i, err)
		}
		c.members = append(c.members, m)
		servers = append(servers, raft.Server{
			Suffrage: raft.Voter,
			ID:       m.id,
			Address:  m.trans.LocalAddr(),
		})
	}
	// Bootstrapping one member is enough: it elects itself and brings the
	// others in with the configuration entry.
	if err := c.members[0].r.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("%s: bootstrap: %w", NameHashicorpRaft, err)
	}
	return c, nil
}

// hashiTransport is a raft transport that can be closed: the TCP one or,
// in process, the in-memory one.
type hashiTransport interface {
	raft.Transport
	Close() error
}

type hashiMember struct {
	id      raft.ServerID
	r       *raft.Raft
	trans   hashiTransport
	closers []io.Closer // stores, closed after raft shuts down
}

func startHashiMember(cfg Config, i int) (*hashiMember, error) {
	m := &hashiMember{id: raft.ServerID(fmt.Sprintf("m%d", i))}
	conf := raft.DefaultConfig()
	conf.LocalID = m.id
	conf.Logger = hclog.NewNullLogger()

	var (
		logs   raft.LogStore
		stable raft.StableStore
		snaps  raft.SnapshotStore
	)
	if cfg.Durable {
		dir := filepath.Join(cfg.Dir, fmt.Sprintf("hashicorp-raft-%d", i))
		if err := os.Mkdir(dir, 0o700); err != nil {
			return nil, err
		}
		store, err := raftboltdb.NewBoltStore(filepath.Join(dir, "raft.db"))
		if err != nil {
			return nil, err
		}
		m.closers = append(m.closers, store)
		logs, stable = store, store
		if snaps, err = raft.NewFileSnapshotStoreWithLogger(dir, 1, conf.Logger); err != nil {
			_ = store.Close()
			return nil, err
		}
	} else {
		store := raft.NewInmemStore()
		logs, stable, snaps = store, store, raft.NewInmemSnapshotStore()
	}

	// Pool and timeout as Consul and Nomad configure them.
	trans, err := raft.NewTCPTransportWithLogger("127.0.0.1:0", nil, 3, 10*time.Second, conf.Logger)
	if err != nil {
		m.closeStores()
		return nil, err
	}
	m.trans = trans
	r, err := raft.NewRaft(conf, &countingFSM{}, logs, stable, snaps, trans)
	if err != nil {
		_ = trans.Close()
		m.closeStores()
		return nil, err
	}
	m.r = r
	return m, nil
}

func (m *hashiMember) closeStores() error {
	var errs []error
	for _, c := range m.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

func (m *hashiMember) close() error {
	var errs []error
	if m.r != nil {
		errs = append(errs, m.r.Shutdown().Error())
	}
	errs = append(errs, m.trans.Close(), m.closeStores())
	return errors.Join(errs...)
}

type hashiCluster struct {
	members []*hashiMember
	leader  atomic.Pointer[hashiMember]
}

// leaderMember returns the member that believes it leads, if any.
func (c *hashiCluster) leaderMember() *hashiMember {
	if m := c.leader.Load(); m != nil && m.r.State() == raft.Leader {
		return m
	}
	for _, m := range c.members {
		if m.r.State() == raft.Leader {
			c.leader.Store(m)
			return m
		}
	}
	return nil
}

func (c *hashiCluster) Propose(ctx context.Context, value []byte) error {
	m := c.leaderMember()
	if m == nil {
		return fmt.Errorf("%s: %w", NameHashicorpRaft, raft.ErrNotLeader)
	}
	var timeout time.Duration // 0: Apply waits as long as it takes
	if deadline, ok := ctx.Deadline(); ok {
		if timeout = time.Until(deadline); timeout <= 0 {
			return ctx.Err()
		}
	}
	if err := m.r.Apply(value, timeout).Error(); err != nil {
		return fmt.Errorf("%s: %w", NameHashicorpRaft, err)
	}
	return nil
}

func (c *hashiCluster) Close() error {
	var errs []error
	for _, m := range c.members {
		errs = append(errs, m.close())
	}
	return errors.Join(errs...)
}

// countingFSM counts applied entries: the state machine is not what is being
// measured.
type countingFSM struct{ applied atomic.Uint64 }

func (f *countingFSM) Apply(*raft.Log) any {
	f.applied.Add(1)
	return nil
}

func (f *countingFSM) Snapshot() (raft.FSMSnapshot, error) {
	return countSnapshot(f.applied.Load()), nil
}

func (f *countingFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var buf [8]byte
	if _, err := io.ReadFull(rc, buf[:]); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	f.applied.Store(binary.BigEndian.Uint64(buf[:]))
	return nil
}

type countSnapshot uint64

func (s countSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(binary.BigEndian.AppendUint64(nil, uint64(s))); err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

func (countSnapshot) Release() {}
