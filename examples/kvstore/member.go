package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/mjpitz/myago/paxos"
)

// memberConfig is one member of the store.
type memberConfig struct {
	dataDir       string
	rpc, http     string
	peers         []string
	gossip        string
	join          []string
	expect        int
	id            uint8
	maxValueBytes int
	logger        *slog.Logger
	via           map[string]string // member address -> address to dial instead
}

// member is a running member: its paxos node, its state machine and its
// HTTP API.
type member struct {
	node  *paxos.Node
	store *store
	srv   *http.Server
	ln    net.Listener
	done  chan error
}

func startMember(cfg memberConfig) (*member, error) {
	s := newStore()
	var dial func(ctx context.Context, network, address string) (net.Conn, error)
	if len(cfg.via) > 0 {
		var d net.Dialer
		dial = func(ctx context.Context, network, address string) (net.Conn, error) {
			if to, ok := cfg.via[address]; ok {
				address = to
			}
			return d.DialContext(ctx, network, address)
		}
	}
	var replayErr error
	node, err := paxos.NewNode(paxos.NodeConfig{
		DataDir:        cfg.dataDir,
		Listen:         cfg.rpc,
		Peers:          cfg.peers,
		GossipListen:   cfg.gossip,
		Join:           cfg.join,
		ExpectedVoters: cfg.expect,
		ServerID:       cfg.id,
		Logger:         cfg.logger,
		Dial:           dial,
		Configure: func(c *paxos.Config) {
			c.MaxValueBytes = cfg.maxValueBytes + 1024 // the op's own encoding
		},
		RecordedLog: func(l paxos.Log) paxos.Log {
			replayErr = s.replay(l)
			return &applyLog{Log: l, s: s}
		},
	})
	if err != nil {
		return nil, err
	}
	if replayErr != nil {
		_ = node.Close()
		return nil, replayErr
	}
	ln, err := net.Listen("tcp", cfg.http)
	if err != nil {
		_ = node.Close()
		return nil, err
	}
	a := &api{node: node, store: s, maxValueBytes: cfg.maxValueBytes}
	m := &member{node: node, store: s, ln: ln, done: make(chan error, 1),
		srv: &http.Server{Handler: a.handler(), ReadHeaderTimeout: 5 * time.Second}}
	go func() { m.done <- m.srv.Serve(ln) }()
	return m, nil
}

func (m *member) httpAddr() string { return m.ln.Addr().String() }

func (m *member) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := m.srv.Shutdown(ctx)
	if serr := <-m.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return errors.Join(err, m.node.Close())
}
