package paxos

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/dgraph-io/badger/v3"
	"github.com/jonboulle/clockwork"

	"github.com/mjpitz/myago/paxos/cluster"
	"github.com/mjpitz/myago/paxos/yarpc"
)

// NodeConfig configures NewNode: one call to a running member.
type NodeConfig struct {
	// DataDir is where the member keeps its Badger databases (required
	// unless InMemory): DataDir/consensus holds the acceptor's promises and
	// accepted entries, opened with OpenBadgerLog (every write durable in
	// its journal before the member replies); DataDir/recorded holds the
	// RecordedLog and the learner's checkpoint, written without a sync of
	// its own, because everything in it can be rebuilt from the acceptors'
	// durable entries (after a machine crash the learner replays what the
	// recorded log lost). Only one process may use DataDir at a time.
	DataDir string
	// InMemory keeps the member's Logs in memory (paxos.Memory) instead of
	// Badger: nothing survives the process, so a cluster of such members is
	// safe only while a majority of them lives. For tests and benchmarks.
	InMemory bool
	// Listen is the RPC listen address, e.g. "127.0.0.1:7000" (required;
	// port 0 lets the system choose).
	Listen string
	// Advertise is the RPC address the other members dial (default: the
	// address Listen bound). It is this member's name among the voters.
	Advertise string

	// Peers are the voters: every member's advertised RPC address, this
	// one included. Static membership; restart every member with the same
	// new list to change it.
	Peers []string

	// Gossip, when set, runs discovery by gossip (hashicorp/memberlist):
	// GossipListen is the gossip bind address and Join lists gossip
	// addresses to join through. Without Peers, ExpectedVoters is required:
	// Start waits until that many members are known and freezes them.
	GossipListen   string
	Join           []string
	ExpectedVoters int

	// ServerID is this member's byte in its ballots; members must have
	// distinct ones. Zero takes 1 + the index of Advertise among the sorted
	// Peers (required with gossip and no Peers).
	ServerID uint8

	// TLS, when set, secures the RPC listener and every connection to the
	// other members (set Certificates and RootCAs / ClientCAs as needed).
	TLS *tls.Config
	// Dial, when set, opens the connections to the other members (for
	// example through a proxy, or with custom socket options). It is given
	// the member's address.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
	// Logger receives the member's logs; nil is silent.
	Logger *slog.Logger
	// Configure, when set, adjusts the paxos Config before New (limits,
	// timeouts; the Logs, dialers, Self and IDGenerator are set already).
	Configure func(*Config)
	// RecordedLog, when set, wraps the member's RecordedLog: the hook an
	// application's state machine uses to apply values in order.
	RecordedLog func(Log) Log
}

// Node is a running member: a *Paxos over Badger, serving and dialling over
// yarpc, with discovery. Close stops it.
type Node struct {
	paxos    *Paxos
	db       *Badger    // consensus: durable through its journal
	recDB    *badger.DB // recorded: not synced
	server   *yarpc.Server
	listener net.Listener
	addr     string
	cancel   context.CancelFunc
	running  sync.WaitGroup // the member, its discovery
	serving  sync.WaitGroup // the RPC server

	mu    sync.Mutex
	conns map[string]*clientConn
	close sync.Once
	err   error
}

type clientConn struct {
	cc     *yarpc.ClientConn
	client *yarpcClient
}

// ErrNodeConfig wraps NodeConfig validation errors.
var ErrNodeConfig = fmt.Errorf("%w: node", ErrInvalidConfig)

func (c *NodeConfig) validate() error {
	var errs []error
	if c.DataDir == "" && !c.InMemory {
		errs = append(errs, fmt.Errorf("%w: DataDir is missing", ErrNodeConfig))
	}
	if c.Listen == "" {
		errs = append(errs, fmt.Errorf("%w: Listen is missing", ErrNodeConfig))
	}
	if len(c.Peers) == 0 && c.GossipListen == "" {
		errs = append(errs, fmt.Errorf("%w: set Peers, or GossipListen with ExpectedVoters", ErrNodeConfig))
	}
	if len(c.Peers) == 0 && c.GossipListen != "" && c.ExpectedVoters == 0 {
		errs = append(errs, fmt.Errorf("%w: gossip without Peers needs ExpectedVoters", ErrNodeConfig))
	}
	if len(c.Peers) == 0 && c.ServerID == 0 {
		errs = append(errs, fmt.Errorf("%w: gossip without Peers needs a ServerID", ErrNodeConfig))
	}
	for i, p := range c.Peers {
		if strings.TrimSpace(p) == "" {
			errs = append(errs, fmt.Errorf("%w: Peers[%d] is empty", ErrNodeConfig, i))
		}
	}
	return errors.Join(errs...)
}

// NewNode opens the member's database, starts its RPC server, its
// discovery and its paxos member, and returns once they run.
func NewNode(cfg NodeConfig) (*Node, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	log := orDiscard(cfg.Logger)
	n := &Node{conns: map[string]*clientConn{}}
	var store Log = &Memory{}
	recordedStore := store
	fail := func(err error) (*Node, error) {
		if n.listener != nil {
			_ = n.listener.Close()
		}
		_ = n.closeStores()
		return nil, err
	}
	if !cfg.InMemory {
		dir := filepath.Join(cfg.DataDir, "consensus")
		db, err := OpenBadgerLog(dir, cfg.Logger)
		if err != nil {
			return nil, fmt.Errorf("paxos: opening %s (is another process using it?): %w", dir, err)
		}
		n.db = db
		store = db
		dir = filepath.Join(cfg.DataDir, "recorded")
		rdb, err := badger.Open(BadgerOptions(dir, cfg.Logger).WithSyncWrites(false))
		if err != nil {
			return fail(fmt.Errorf("paxos: opening %s: %w", dir, err))
		}
		n.recDB = rdb
		recordedStore = &Badger{DB: rdb, AllowNotDurable: true}
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fail(fmt.Errorf("paxos: listening on %s: %w", cfg.Listen, err))
	}
	n.listener = ln
	n.addr = cfg.Advertise
	if n.addr == "" {
		n.addr = ln.Addr().String()
	}
	peers := slices.Clone(cfg.Peers)
	for i := range peers {
		peers[i] = strings.TrimSpace(peers[i])
	}
	slices.Sort(peers)
	peers = slices.Compact(peers)
	sid := cfg.ServerID
	if sid == 0 {
		i := slices.Index(peers, n.addr)
		if i < 0 {
			return fail(fmt.Errorf("%w: this member's address %s is not among Peers %v", ErrNodeConfig, n.addr, peers))
		}
		sid = uint8(i + 1)
	}
	recorded := recordedStore.WithPrefix("recorded")
	if cfg.RecordedLog != nil {
		recorded = cfg.RecordedLog(recorded)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	var rpcOpts []yarpc.Option
	if cfg.TLS != nil {
		rpcOpts = append(rpcOpts, yarpc.WithTLS(cfg.TLS))
	}
	if cfg.Logger != nil {
		rpcOpts = append(rpcOpts, yarpc.WithLogger(cfg.Logger))
	}
	dialOpts := rpcOpts
	if cfg.Dial != nil {
		dialOpts = append(slices.Clone(rpcOpts), yarpc.WithDialer(cfg.Dial))
	}
	clock := clockwork.NewRealClock()
	pc := &Config{
		Clock:       clock,
		IDGenerator: ServerIDGenerator(sid, clock),
		PromiseLog:  store.WithPrefix("promise"),
		AcceptedLog: store.WithPrefix("accepted"),
		RecordedLog: recorded,
		AcceptorDialer: func(_ context.Context, member string) (AcceptorClient, error) {
			if member == n.addr {
				return localClient{n.paxos}, nil // no round trip through the kernel to itself
			}
			return n.dial(ctx, member, dialOpts), nil
		},
		ObserverDialer: func(_ context.Context, member string) (ObserverClient, error) {
			return n.dial(ctx, member, dialOpts), nil
		},
		Logger:         cfg.Logger,
		Self:           n.addr,
		ExpectedVoters: cfg.ExpectedVoters,
	}
	if len(peers) > 0 {
		pc.ExpectedVoters = 0
	}
	if cfg.Configure != nil {
		cfg.Configure(pc)
	}
	p, err := New(pc)
	if err != nil {
		cancel()
		return fail(err)
	}
	n.paxos = p
	n.server = &yarpc.Server{}
	RegisterYarpcAcceptorServer(n.server, p)
	RegisterYarpcObserverServer(n.server, p)
	RegisterYarpcProposerServer(n.server, p)

	membership := &cluster.Membership{}
	membership.Add(peers)
	var discoveries []cluster.Option
	if cfg.GossipListen != "" {
		discoveries = append(discoveries, cluster.WithDiscovery(&cluster.GossipDiscovery{
			JoinAddress: strings.Join(cfg.Join, ","),
			BindAddress: cfg.GossipListen,
			RPCAddress:  n.addr,
			Logger:      cfg.Logger,
		}))
	}
	cl := cluster.New(discoveries...)
	n.serving.Add(1)
	go func() {
		defer n.serving.Done()
		if err := n.server.Serve(ln, rpcOpts...); err != nil && !errors.Is(err, yarpc.ErrServerClosed) {
			log.Error("paxos: RPC server stopped", "err", err)
		}
	}()
	n.running.Add(3)
	go func() {
		defer n.running.Done()
		// Gossip fills the cluster's Membership; the voters come from Peers
		// when given, or from gossip once ExpectedVoters are known.
		mirror(ctx, cl.Membership(), membership)
	}()
	go func() {
		defer n.running.Done()
		if err := cl.Start(ctx); err != nil {
			log.Error("paxos: discovery stopped", "err", err)
		}
	}()
	go func() {
		defer n.running.Done()
		if err := p.Start(ctx, membership); err != nil {
			log.Error("paxos: member stopped", "err", err)
		}
	}()
	return n, nil
}

// mirror copies active members from src into dst (never removing: the
// voters are fixed by paxos; dst only gains addresses).
func mirror(ctx context.Context, src, dst *cluster.Membership) {
	ch, cancel := src.Watch()
	defer cancel()
	for {
		select {
		case <-ctx.Done():
			return
		case ch, ok := <-ch:
			if !ok {
				return
			}
			dst.Add(ch.Active)
		}
	}
}

// localClient calls a member's own acceptor and proposer in process.
type localClient struct{ p *Paxos }

func (l localClient) Prepare(ctx context.Context, r *Request) (*Promise, error) {
	return l.p.Prepare(ctx, r)
}
func (l localClient) Accept(ctx context.Context, in *Proposal) (*Proposal, error) {
	return l.p.Accept(ctx, in)
}
func (l localClient) Forward(ctx context.Context, in *Proposal) (*Proposal, error) {
	return l.p.Forward(ctx, in)
}

// dial returns the one client connection this member keeps to a peer;
// acceptor, observer and forwarding clients share it.
func (n *Node) dial(ctx context.Context, member string, opts []yarpc.Option) *yarpcClient {
	n.mu.Lock()
	defer n.mu.Unlock()
	if c, ok := n.conns[member]; ok {
		return c.client
	}
	cc := yarpc.DialContext(ctx, "tcp", member, opts...)
	c := &clientConn{cc: cc, client: &yarpcClient{cc: cc}}
	n.conns[member] = c
	return c.client
}

// Addr returns the member's RPC address (its name among the voters).
func (n *Node) Addr() string { return n.addr }

// Paxos returns the member.
func (n *Node) Paxos() *Paxos { return n.paxos }

// Propose proposes value and returns it once chosen (see Proposer.Propose).
func (n *Node) Propose(ctx context.Context, value []byte) ([]byte, error) {
	return n.paxos.Propose(ctx, value)
}

// ProposeIndex proposes value and returns its position.
func (n *Node) ProposeIndex(ctx context.Context, value []byte) (uint64, error) {
	return n.paxos.ProposeIndex(ctx, value)
}

// Barrier returns a linearizable read position (see Paxos.Barrier).
func (n *Node) Barrier(ctx context.Context) (uint64, error) { return n.paxos.Barrier(ctx) }

// WaitRecorded waits until this member recorded position pos.
func (n *Node) WaitRecorded(ctx context.Context, pos uint64) error {
	return n.paxos.WaitRecorded(ctx, pos)
}

// Status returns the member's view of the cluster.
func (n *Node) Status() Status { return n.paxos.Status() }

// Close stops the member, its discovery, its RPC server and its client
// connections, then closes the database, in that order.
func (n *Node) Close() error {
	n.close.Do(func() {
		n.cancel()
		n.running.Wait()
		var errs []error
		if err := n.server.Shutdown(); err != nil {
			errs = append(errs, err)
		}
		n.serving.Wait()
		n.mu.Lock()
		for _, c := range n.conns {
			_ = c.cc.Close()
		}
		n.mu.Unlock()
		n.err = errors.Join(append(errs, n.closeStores())...)
	})
	return n.err
}

// closeStores closes the member's Badger databases, those it opened.
func (n *Node) closeStores() error {
	var errs []error
	if n.recDB != nil {
		errs = append(errs, n.recDB.Close())
	}
	if n.db != nil {
		errs = append(errs, n.db.Close())
	}
	return errors.Join(errs...)
}
