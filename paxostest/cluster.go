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
	// Storage, when set, gives member i its Logs instead of Memory ones
	// (e.g. Badger). It is called every time the member starts, restarts
	// included, and the Logs' Close once that run's Start has returned: a
	// crash-restart closes and reopens the database, as a process would.
	Storage func(i int) (Logs, error)
}

// Logs are the Logs of one run of a member, and how to release them.
type Logs struct {
	Promise, Accepted, Recorded paxos.Log
	// Close, when set, is called once the run's Start has returned.
	Close func() error
}

// Cluster is a set of in-memory members on one Network.
type Cluster struct {
	Net     *Network
	Members []*Member

	opts   Options
	voters []string
}

// Member is one member of a Cluster: a *paxos.Paxos over Logs that survive
// its crashes.
//
// Without Options.Storage the Logs are views of one Memory (Storage) and
// never change. With it, Promise, Accepted and Recorded are replaced at
// every Start: read them only while the member is stopped, or use Records.
type Member struct {
	Name     string
	Storage  *paxos.Memory // nil with Options.Storage
	Promise  paxos.Log
	Accepted paxos.Log
	Recorded paxos.Log

	c      *Cluster
	index  int
	mu     sync.Mutex
	paxos  *paxos.Paxos
	cancel context.CancelFunc
	done   chan error
	close  func() error // the running Logs' Close
}

// NewCluster starts a cluster. It stops every member when the test ends.
func NewCluster(t testing.TB, opts Options) *Cluster {
	t.Helper()
	c, err := Start(opts)
	if err != nil {
		t.Fatalf("paxostest: %v", err)
	}
	t.Cleanup(func() {
		for _, m := range c.Members {
			if err := m.Stop(); err != nil {
				t.Errorf("paxostest: stopping %s: %v", m.Name, err)
			}
		}
	})
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
		m := &Member{Name: name, c: c, index: i}
		if opts.Storage == nil {
			mem := &paxos.Memory{}
			m.Storage, m.Promise, m.Accepted, m.Recorded = mem, mem.WithPrefix("promise"),
				mem.WithPrefix("accepted"), mem.WithPrefix("recorded")
		}
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

// Close stops every member. Errors closing Logs (see Options.Storage) are
// ignored; call Member.Stop to see them.
func (c *Cluster) Close() {
	for _, m := range c.Members {
		_ = m.Stop()
	}
}

// Start (re)starts the member over its Logs, as a restarted process does.
func (m *Member) Start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.paxos != nil {
		return fmt.Errorf("paxostest: %s is running", m.Name)
	}
	if m.c.opts.Storage != nil {
		logs, err := m.c.opts.Storage(m.index)
		if err != nil {
			return fmt.Errorf("paxostest: storage of %s: %w", m.Name, err)
		}
		m.Promise, m.Accepted, m.Recorded, m.close = logs.Promise, logs.Accepted, logs.Recorded, logs.Close
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
		return errors.Join(err, m.closeLogs())
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
// and its Start returns; its Logs stay (with Options.Storage they are
// closed, and Stop returns the error of their Close). Stopping a stopped
// member does nothing.
func (m *Member) Stop() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.paxos == nil {
		return nil
	}
	m.c.Net.Register(m.Name, nil)
	m.cancel()
	err := <-m.done
	m.paxos, m.cancel, m.done = nil, nil, nil
	return errors.Join(err, m.closeLogs())
}

// closeLogs closes the Logs of the run that ended. Called with mu held.
func (m *Member) closeLogs() error {
	closeFn := m.close
	m.close = nil
	if closeFn == nil {
		return nil
	}
	return closeFn()
}

// Paxos returns the running member (nil while stopped).
func (m *Member) Paxos() *paxos.Paxos {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.paxos
}

// Records returns every value the member has recorded, by position. With
// Options.Storage it needs the member running (its Logs are closed
// otherwise).
func (m *Member) Records() ([]paxos.Proposal, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.records()
}

// runningRecords is Records of a running member; false when it is stopped.
func (m *Member) runningRecords() ([]paxos.Proposal, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.paxos == nil {
		return nil, false, nil
	}
	recs, err := m.records()
	return recs, true, err
}

// records reads the RecordedLog. Called with mu held.
func (m *Member) records() ([]paxos.Proposal, error) {
	if m.Recorded == nil {
		return nil, fmt.Errorf("paxostest: %s has never started", m.Name)
	}
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
			ref   []paxos.Proposal
			first = true
			same  = true
		)
		for _, m := range c.Members {
			recs, running, err := m.runningRecords()
			if err != nil {
				return nil, err
			}
			if !running {
				continue
			}
			if first {
				// Not ref == nil: a member that recorded nothing counts.
				ref, first = recs, false
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
