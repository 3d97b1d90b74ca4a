package consensus

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// NameEtcdRaft selects go.etcd.io/raft/v3.
const NameEtcdRaft = "etcd-raft"

// Settings as etcd's server uses them.
const (
	etcdTickInterval    = 100 * time.Millisecond
	etcdElectionTicks   = 10
	etcdHeartbeatTicks  = 1
	etcdMaxSizePerMsg   = 1 << 20
	etcdMaxInflightMsgs = 512
	etcdMaxUncommitted  = 1 << 30
	// etcdSnapshotEntries applied entries trigger an (empty) snapshot of
	// the MemoryStorage, which then keeps etcdCatchUpEntries behind it.
	etcdSnapshotEntries = 10_000
	etcdCatchUpEntries  = 5_000
)

// proposalIDBytes prefix every proposal's data: the id its waiter is
// registered under.
const proposalIDBytes = 8

// Errors a waiting etcd-raft proposal can end with.
var (
	errEtcdLeaderChanged = errors.New("etcd-raft: leadership changed before the proposal was applied")
	errEtcdStopped       = errors.New("etcd-raft: member stopped")
)

// EtcdRaft runs go.etcd.io/raft/v3 with its standard node loop (StartNode,
// Ready, Advance), a TCP transport (etcdTransport), a raft.MemoryStorage and,
// when durable, a write-ahead log synced once per Ready before the Ready's
// messages are sent. A proposal is acknowledged when the proposing member
// applies it, which is after a quorum synced it.
type EtcdRaft struct{}

// Name returns NameEtcdRaft.
func (EtcdRaft) Name() string { return NameEtcdRaft }

// Start starts cfg.Members members; the first campaigns as soon as it has
// applied the bootstrap configuration.
func (EtcdRaft) Start(_ context.Context, cfg Config) (Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &etcdCluster{}
	addrs := make(map[uint64]string)
	var peers []raft.Peer
	for i := range cfg.Members {
		m, err := newEtcdMember(c, cfg, uint64(i+1))
		if err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("%s: member %d: %w", NameEtcdRaft, i+1, err)
		}
		c.members = append(c.members, m)
		addrs[m.id] = m.trans.addr()
		peers = append(peers, raft.Peer{ID: m.id})
	}
	for _, m := range c.members {
		others := make(map[uint64]string)
		for id, addr := range addrs {
			if id != m.id {
				others[id] = addr
			}
		}
		m.start(peers, others)
	}
	return c, nil
}

type etcdCluster struct {
	members []*etcdMember
	leader  atomic.Pointer[etcdMember]
	nextID  atomic.Uint64
}

func (c *etcdCluster) Propose(ctx context.Context, value []byte) error {
	m := c.leader.Load()
	if m == nil {
		return fmt.Errorf("%s: %w", NameEtcdRaft, raft.ErrProposalDropped)
	}
	id := c.nextID.Add(1)
	data := make([]byte, proposalIDBytes+len(value))
	binary.BigEndian.PutUint64(data, id)
	copy(data[proposalIDBytes:], value)

	done := m.register(id)
	if err := m.node.Propose(ctx, data); err != nil {
		m.cancel(id)
		return fmt.Errorf("%s: %w", NameEtcdRaft, err)
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		m.cancel(id)
		return ctx.Err()
	}
}

func (c *etcdCluster) Close() error {
	var errs []error
	for _, m := range c.members {
		errs = append(errs, m.close())
	}
	return errors.Join(errs...)
}

type etcdMember struct {
	id      uint64
	cluster *etcdCluster
	log     *slog.Logger
	node    raft.Node
	storage *raft.MemoryStorage
	wal     *wal // nil unless durable
	trans   *etcdTransport

	stop chan struct{}
	wg   sync.WaitGroup

	// Owned by the ready loop.
	campaignAt uint64 // campaign once this index is applied; 0: never
	leading    bool
	confState  *pb.ConfState
	applied    uint64
	snapIndex  uint64

	mu      sync.Mutex
	waiters map[uint64]chan error
	stopped bool
}

func newEtcdMember(c *etcdCluster, cfg Config, id uint64) (*etcdMember, error) {
	m := &etcdMember{
		id:        id,
		cluster:   c,
		log:       cfg.logger().With("member", id),
		storage:   raft.NewMemoryStorage(),
		stop:      make(chan struct{}),
		confState: &pb.ConfState{},
		waiters:   make(map[uint64]chan error),
	}
	var err error
	if m.trans, err = listenEtcdTransport(m.log); err != nil {
		return nil, err
	}
	if cfg.Durable {
		if m.wal, err = openWAL(filepath.Join(cfg.Dir, fmt.Sprintf("etcd-raft-%d", id)), walSegmentBytes); err != nil {
			_ = m.trans.close()
			return nil, err
		}
	}
	return m, nil
}

func (m *etcdMember) start(peers []raft.Peer, others map[uint64]string) {
	m.node = raft.StartNode(&raft.Config{
		ID:                        m.id,
		ElectionTick:              etcdElectionTicks,
		HeartbeatTick:             etcdHeartbeatTicks,
		Storage:                   m.storage,
		MaxSizePerMsg:             etcdMaxSizePerMsg,
		MaxInflightMsgs:           etcdMaxInflightMsgs,
		MaxUncommittedEntriesSize: etcdMaxUncommitted,
		CheckQuorum:               true,
		PreVote:                   true,
		Logger:                    raftLogger{m.log},
	}, peers)
	if m.id == 1 {
		// Raft refuses to campaign before the bootstrap configuration
		// entries are applied; campaigning then spares an election
		// timeout.
		m.campaignAt = uint64(len(peers))
	}
	m.trans.start(m.node, others)
	m.wg.Go(m.run)
}

// run is the standard node loop: persist, send, apply, advance.
func (m *etcdMember) run() {
	ticker := time.NewTicker(etcdTickInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
			m.node.Tick()
		case rd := <-m.node.Ready():
			if err := m.handle(rd); err != nil {
				// A member that cannot persist must stop taking part.
				m.log.Error("etcd-raft: member failed", "err", err)
				m.failWaiters(err)
				return
			}
			m.node.Advance()
			if m.campaignAt != 0 && m.applied >= m.campaignAt {
				m.campaignAt = 0
				if err := m.node.Campaign(context.Background()); err != nil {
					m.log.Warn("etcd-raft: campaign failed", "err", err)
				}
			}
		case <-m.stop:
			return
		}
	}
}

func (m *etcdMember) handle(rd raft.Ready) error {
	if rd.SoftState != nil {
		m.observeLeadership(rd.SoftState.RaftState == raft.StateLeader)
	}
	var snap *pb.Snapshot
	if !raft.IsEmptySnap(rd.Snapshot) {
		snap = rd.Snapshot
	}
	if m.wal != nil {
		if err := m.wal.save(rd.HardState, rd.Entries, snap, rd.MustSync); err != nil {
			return err
		}
	}
	if snap != nil {
		if err := m.storage.ApplySnapshot(snap); err != nil {
			return fmt.Errorf("apply snapshot: %w", err)
		}
		m.confState = snap.GetMetadata().GetConfState()
		m.applied = snap.GetMetadata().GetIndex()
		m.snapIndex = m.applied
	}
	if rd.HardState != nil {
		if err := m.storage.SetHardState(rd.HardState); err != nil {
			return fmt.Errorf("set hard state: %w", err)
		}
	}
	if err := m.storage.Append(rd.Entries); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	m.trans.send(rd.Messages)
	if err := m.apply(rd.CommittedEntries); err != nil {
		return err
	}
	return m.maybeCompact()
}

func (m *etcdMember) observeLeadership(leading bool) {
	if leading {
		m.cluster.leader.Store(m)
	} else if m.leading {
		m.cluster.leader.CompareAndSwap(m, nil)
		// Proposals this member accepted as leader may never commit.
		m.failWaiters(errEtcdLeaderChanged)
	}
	m.leading = leading
}

func (m *etcdMember) apply(ents []*pb.Entry) error {
	for _, e := range ents {
		switch e.GetType() {
		case pb.EntryNormal:
			if data := e.GetData(); len(data) >= proposalIDBytes {
				m.signal(binary.BigEndian.Uint64(data))
			}
		case pb.EntryConfChange:
			var cc pb.ConfChange
			if err := proto.Unmarshal(e.GetData(), &cc); err != nil {
				return fmt.Errorf("decode conf change at %d: %w", e.GetIndex(), err)
			}
			m.confState = m.node.ApplyConfChange(&cc)
		}
		m.applied = e.GetIndex()
	}
	return nil
}

// maybeCompact bounds the MemoryStorage as etcd's server does: an (empty)
// snapshot every etcdSnapshotEntries, keeping etcdCatchUpEntries for slow
// followers.
func (m *etcdMember) maybeCompact() error {
	if m.applied-m.snapIndex < etcdSnapshotEntries {
		return nil
	}
	if _, err := m.storage.CreateSnapshot(m.applied, m.confState, nil); err != nil {
		return fmt.Errorf("snapshot at %d: %w", m.applied, err)
	}
	m.snapIndex = m.applied
	if err := m.storage.Compact(m.applied - etcdCatchUpEntries); err != nil {
		return fmt.Errorf("compact to %d: %w", m.applied-etcdCatchUpEntries, err)
	}
	return nil
}

func (m *etcdMember) register(id uint64) <-chan error {
	ch := make(chan error, 1)
	m.mu.Lock()
	if m.stopped {
		ch <- errEtcdStopped
	} else {
		m.waiters[id] = ch
	}
	m.mu.Unlock()
	return ch
}

func (m *etcdMember) cancel(id uint64) {
	m.mu.Lock()
	delete(m.waiters, id)
	m.mu.Unlock()
}

func (m *etcdMember) signal(id uint64) {
	m.mu.Lock()
	ch, ok := m.waiters[id]
	delete(m.waiters, id)
	m.mu.Unlock()
	if ok {
		ch <- nil
	}
}

func (m *etcdMember) failWaiters(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, ch := range m.waiters {
		ch <- err
		delete(m.waiters, id)
	}
}

func (m *etcdMember) close() error {
	if m.node == nil { // never started
		return m.closeIO()
	}
	close(m.stop)
	m.wg.Wait()
	m.node.Stop()
	m.mu.Lock()
	m.stopped = true
	m.mu.Unlock()
	m.failWaiters(errEtcdStopped)
	return m.closeIO()
}

func (m *etcdMember) closeIO() error {
	err := m.trans.close()
	if m.wal != nil {
		err = errors.Join(err, m.wal.close())
	}
	return err
}

// raftLogger sends etcd raft's log lines to slog, formatting only those the
// handler keeps; Fatal and Panic, which raft uses for broken invariants only,
// panic.
type raftLogger struct{ l *slog.Logger }

func (r raftLogger) emit(level slog.Level, format string, v []any) {
	if !r.l.Enabled(context.Background(), level) {
		return
	}
	if format == "" {
		r.l.Log(context.Background(), level, fmt.Sprint(v...))
		return
	}
	r.l.Log(context.Background(), level, fmt.Sprintf(format, v...))
}

func (r raftLogger) Debug(v ...any)                   { r.emit(slog.LevelDebug, "", v) }
func (r raftLogger) Debugf(format string, v ...any)   { r.emit(slog.LevelDebug, format, v) }
func (r raftLogger) Info(v ...any)                    { r.emit(slog.LevelInfo, "", v) }
func (r raftLogger) Infof(format string, v ...any)    { r.emit(slog.LevelInfo, format, v) }
func (r raftLogger) Warning(v ...any)                 { r.emit(slog.LevelWarn, "", v) }
func (r raftLogger) Warningf(format string, v ...any) { r.emit(slog.LevelWarn, format, v) }
func (r raftLogger) Error(v ...any)                   { r.emit(slog.LevelError, "", v) }
func (r raftLogger) Errorf(format string, v ...any)   { r.emit(slog.LevelError, format, v) }
func (r raftLogger) Fatal(v ...any)                   { panic(fmt.Sprint(v...)) }
func (r raftLogger) Fatalf(format string, v ...any)   { panic(fmt.Sprintf(format, v...)) }
func (r raftLogger) Panic(v ...any)                   { panic(fmt.Sprint(v...)) }
func (r raftLogger) Panicf(format string, v ...any)   { panic(fmt.Sprintf(format, v...)) }
