// Package paxostest is an in-memory world for testing code that embeds
// paxos: members over real *paxos.Paxos values and Memory Logs, talking
// through a seeded in-process network that can drop messages, cut links,
// isolate members and heal, and members that crash and restart over the
// same Logs. It is to this library what hashicorp/raft's in-memory
// transport and MakeCluster are to raft.
package paxostest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/mjpitz/myago/paxos"
)

// ErrUnreachable is returned by calls the network did not deliver.
var ErrUnreachable = errors.New("paxostest: unreachable")

// Server is what a member serves on the network.
type Server interface {
	paxos.AcceptorServer
	paxos.ObserverServer
	paxos.ForwardServer
}

// Network connects in-process members. The zero value is not usable; use
// NewNetwork. It is safe for concurrent use.
type Network struct {
	mu       sync.Mutex
	rnd      *rand.Rand
	servers  map[string]Server
	drop     float64
	cut      map[[2]string]bool
	isolated map[string]bool
}

// NewNetwork returns a network whose random choices (which messages to
// drop) follow seed.
func NewNetwork(seed uint64) *Network {
	return &Network{rnd: rand.New(rand.NewPCG(seed, seed^0x5bd1e995)), servers: map[string]Server{},
		cut: map[[2]string]bool{}, isolated: map[string]bool{}}
}

// Register makes srv reachable as name (replacing a previous server, as a
// restarted member does); nil unregisters it, as a crash does.
func (n *Network) Register(name string, srv Server) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if srv == nil {
		delete(n.servers, name)
		return
	}
	n.servers[name] = srv
}

// Drop makes the network lose each call or stream with probability p.
func (n *Network) Drop(p float64) {
	n.mu.Lock()
	n.drop = p
	n.mu.Unlock()
}

// Cut cuts the link between a and b in both directions.
func (n *Network) Cut(a, b string) {
	n.mu.Lock()
	n.cut[[2]string{a, b}], n.cut[[2]string{b, a}] = true, true
	n.mu.Unlock()
}

// Isolate cuts every link of a.
func (n *Network) Isolate(a string) {
	n.mu.Lock()
	n.isolated[a] = true
	n.mu.Unlock()
}

// Heal restores every link and stops dropping.
func (n *Network) Heal() {
	n.mu.Lock()
	n.drop = 0
	n.cut = map[[2]string]bool{}
	n.isolated = map[string]bool{}
	n.mu.Unlock()
}

// route returns the server reachable from from as to, or an error.
func (n *Network) route(from, to string) (Server, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	s, ok := n.servers[to]
	if !ok {
		return nil, fmt.Errorf("%w: %s is down", ErrUnreachable, to)
	}
	if err := n.link(from, to); err != nil {
		return nil, err
	}
	return s, nil
}

// reply reports whether a reply from to reaches from. The caller need not
// be a registered server: clients that are not members (a standalone
// proposer, an observer) get replies too.
func (n *Network) reply(to, from string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.link(to, from)
}

// link applies cuts, isolation and drops to one message. Called with mu
// held.
func (n *Network) link(from, to string) error {
	switch {
	case from == to:
		return nil
	case n.cut[[2]string{from, to}] || n.isolated[from] || n.isolated[to]:
		return fmt.Errorf("%w: %s -> %s is cut", ErrUnreachable, from, to)
	case n.drop > 0 && n.rnd.Float64() < n.drop:
		return fmt.Errorf("%w: %s -> %s dropped", ErrUnreachable, from, to)
	}
	return nil
}

// linked reports whether from still reaches to (for open streams).
func (n *Network) linked(from, to string, srv Server) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.servers[to] != srv {
		return false
	}
	return from == to || !(n.cut[[2]string{from, to}] || n.isolated[from] || n.isolated[to])
}

// AcceptorDialer returns the Config.AcceptorDialer of member from. Its
// clients also forward (paxos.Forwarder).
func (n *Network) AcceptorDialer(from string) func(ctx context.Context, member string) (paxos.AcceptorClient, error) {
	return func(ctx context.Context, member string) (paxos.AcceptorClient, error) {
		return &client{net: n, from: from, to: member}, nil
	}
}

// ObserverDialer returns the Config.ObserverDialer of member from.
func (n *Network) ObserverDialer(from string) func(ctx context.Context, member string) (paxos.ObserverClient, error) {
	return func(ctx context.Context, member string) (paxos.ObserverClient, error) {
		return &client{net: n, from: from, to: member}, nil
	}
}

// client is a connection from one member to another; like a real RPC
// client it reconnects by itself: every call looks the target up again.
type client struct {
	net      *Network
	from, to string
}

var (
	_ paxos.AcceptorClient = (*client)(nil)
	_ paxos.ObserverClient = (*client)(nil)
	_ paxos.Forwarder      = (*client)(nil)
)

func (c *client) Prepare(ctx context.Context, req *paxos.Request) (*paxos.Promise, error) {
	s, err := c.net.route(c.from, c.to)
	if err != nil {
		return nil, err
	}
	p, err := s.Prepare(ctx, req)
	if err == nil {
		// The reply can be lost too.
		if lost := c.net.reply(c.to, c.from); lost != nil {
			return nil, lost
		}
	}
	return p, err
}

func (c *client) Accept(ctx context.Context, in *paxos.Proposal) (*paxos.Proposal, error) {
	s, err := c.net.route(c.from, c.to)
	if err != nil {
		return nil, err
	}
	p, err := s.Accept(ctx, in)
	if err == nil {
		if lost := c.net.reply(c.to, c.from); lost != nil {
			return nil, lost
		}
	}
	return p, err
}

func (c *client) Forward(ctx context.Context, in *paxos.Proposal) (*paxos.Proposal, error) {
	s, err := c.net.route(c.from, c.to)
	if err != nil {
		return nil, err
	}
	return s.Forward(ctx, in)
}

// Observe opens an in-memory stream to the target's Observe.
func (c *client) Observe(ctx context.Context, req *paxos.Request) (*paxos.ObserveClientStream, error) {
	s, err := c.net.route(c.from, c.to)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	cs, ss := newPipe(ctx, cancel, func() bool { return c.net.linked(c.from, c.to, s) })
	if err := cs.WriteMsg(req); err != nil {
		cancel()
		return nil, err
	}
	go func() {
		err := s.Observe(&paxos.ObserveServerStream{Stream: ss})
		ss.closeWith(err)
	}()
	return &paxos.ObserveClientStream{Stream: cs}, nil
}
