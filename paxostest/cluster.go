package paxostest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/mjpitz/myago/paxos"
	"github.com/mjpitz/myago/paxos/cluster"
)

// Options shape a Cluster. Zero fields take the defaults.
type Options struct {
	// Members is the number of members (default 3).
	Members int
	// Seed drives the network's random choices.
	Seed uint64
	// Configure, when set, adjusts each member's Config before New.
	Configure func(i int, cfg *paxos.Config)
	// Logger receives the members' logs (nil: silent).
	Logger *slog.Logger
}

// Cluster is a set of in-memory members on one Network.
type Cluster struct {
	Net     *Network
	Members []*Member

	opts   Options
	voters []string
}

// Member is one member of a Cluster: a *paxos.Paxos over Memory Logs that
// survive its crashes.
type Member struct {
	Name     string
	Storage  *paxos.Memory
	Promise  paxos.Log
	Accepted paxos.Log
	Recorded paxos.Log

	c      *Cluster
	index  int
	mu     sync.Mutex
	paxos  *paxos.Paxos
	cancel context.CancelFunc
	done   chan error
}

// NewCluster starts a cluster. It stops every member when the test ends.
func NewCluster(t testing.TB, opts Options) *Cluster {
	t.Helper()
	c, err := Start(opts)
	if err != nil {
		t.Fatalf("paxostest: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// Start starts a cluster outside of a test; Close stops it.
func Start(opts Options) (*Cluster, error) {
	if opts.Members <= 0 {
		opts.Members = 3
	}
	c := &Cluster{Net: NewNetwork(opts.Seed), opts: opts}
	for i := 0; i < opts.Members; i++ {
		c.voters = append(c.voters, fmt.Sprintf("m%d", i))
	}
	for i, name := range c.voters {
		mem := &paxos.Memory{}
		m := &Member{Name: name, Storage: mem, Promise: mem.WithPrefix("promise"),
			Accepted: mem.WithPrefix("accepted"), Recorded: mem.WithPrefix("recorded"), c: c, index: i}
		c.Members = append(c.Members, m)
	}
	for _, m := range c.Members {
		if err := m.Start(); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// Voters returns the members' names.
func (c *Cluster) Voters() []string { return append([]string(nil), c.voters...) }

// Close stops every member.
func (c *Cluster) Close() {
	for _, m := range c.Members {
		m.Stop()
	}
}

// Start (re)starts the member over its Logs, as a restarted process does.
func (m *Member) Start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.paxos != nil {
		return fmt.Errorf("paxostest: %s is running", m.Name)
	}
	cfg := &paxos.Config{
		Clock:          clockwork.NewRealClock(),
		IDGenerator:    paxos.ServerIDGenerator(uint8(m.index+1), clockwork.NewRealClock()),
		PromiseLog:     m.Promise,
		AcceptedLog:    m.Accepted,
		RecordedLog:    m.Recorded,
		AcceptorDialer: m.c.Net.AcceptorDialer(m.Name),
		ObserverDialer: m.c.Net.ObserverDialer(m.Name),
		Logger:         m.c.opts.Logger,
		Self:           m.Name,
	}
	if m.c.opts.Configure != nil {
		m.c.opts.Configure(m.index, cfg)
	}
	p, err := paxos.New(cfg)
	if err != nil {
		return err
	}
	membership := &cluster.Membership{}
	membership.Add(m.c.voters)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	m.c.Net.Register(m.Name, p)
	go func() { done <- p.Start(ctx, membership) }()
	m.paxos, m.cancel, m.done = p, cancel, done
	return nil
}

// Stop stops the member as a crash would: it disappears from the network
// and its Start returns; its Logs stay.
func (m *Member) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.paxos == nil {
		return
	}
	m.c.Net.Register(m.Name, nil)
	m.cancel()
	<-m.done
	m.paxos, m.cancel, m.done = nil, nil, nil
}

// Paxos returns the running member (nil while stopped).
func (m *Member) Paxos() *paxos.Paxos {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.paxos
}

// Records returns every value the member has recorded, by position.
func (m *Member) Records() ([]paxos.Proposal, error) {
	var out []paxos.Proposal
	err := m.Recorded.Range(1, math.MaxUint64, paxos.Proposal{}, func(msg interface{}) error {
		out = append(out, *msg.(*paxos.Proposal))
		return nil
	})
	return out, err
}

// ErrDiverged is returned by WaitConverged when two members recorded
// different values at one position.
var ErrDiverged = errors.New("paxostest: members recorded different values")

// WaitConverged waits until every running member has recorded the same
// positions, at least through pos, and returns that log. It fails at once if
// two members disagree anywhere.
func (c *Cluster) WaitConverged(ctx context.Context, pos uint64) ([]paxos.Proposal, error) {
	for {
		var (
			ref  []paxos.Proposal
			same = true
		)
		for _, m := range c.Members {
			if m.Paxos() == nil {
				continue
			}
			recs, err := m.Records()
			if err != nil {
				return nil, err
			}
			if ref == nil {
				ref = recs
				continue
			}
			n := min(len(ref), len(recs))
			for i := 0; i < n; i++ {
				if string(ref[i].Value) != string(recs[i].Value) || ref[i].ID != recs[i].ID {
					return nil, fmt.Errorf("%w: position %d: %q at %s, %q elsewhere", ErrDiverged, i+1, recs[i].Value, m.Name, ref[i].Value)
				}
			}
			if len(ref) != len(recs) {
				same = false
			}
		}
		if same && uint64(len(ref)) >= pos {
			return ref, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("paxostest: not converged through %d: %w", pos, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}
