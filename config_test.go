package paxos_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/mjpitz/myago/paxos"
	"github.com/mjpitz/myago/paxos/paxostest"
)

func TestConfigValidate(t *testing.T) {
	net := paxostest.NewNetwork(1)
	shared := &paxos.Memory{}
	tests := []struct {
		name   string
		change func(*paxos.Config)
		want   []string // every one must appear in the error
	}{
		{"complete", func(*paxos.Config) {}, nil},
		{"no Clock is fine", func(c *paxos.Config) { c.Clock = nil }, nil},
		{"missing IDGenerator", func(c *paxos.Config) { c.IDGenerator = nil }, []string{"IDGenerator is missing"}},
		{"missing PromiseLog", func(c *paxos.Config) { c.PromiseLog = nil }, []string{"PromiseLog is missing"}},
		{"missing AcceptedLog", func(c *paxos.Config) { c.AcceptedLog = nil }, []string{"AcceptedLog is missing"}},
		{"missing RecordedLog", func(c *paxos.Config) { c.RecordedLog = nil }, []string{"RecordedLog is missing"}},
		{"missing AcceptorDialer", func(c *paxos.Config) { c.AcceptorDialer = nil }, []string{"AcceptorDialer is missing"}},
		{"missing ObserverDialer", func(c *paxos.Config) { c.ObserverDialer = nil }, []string{"ObserverDialer is missing"}},
		{"every missing field at once", func(c *paxos.Config) { *c = paxos.Config{} }, []string{
			"IDGenerator", "PromiseLog", "AcceptedLog", "RecordedLog", "AcceptorDialer", "ObserverDialer"}},
		{"promise and accepted the same Log", func(c *paxos.Config) { c.AcceptedLog = c.PromiseLog },
			[]string{"must be distinct"}},
		{"promise and recorded the same Log", func(c *paxos.Config) { c.RecordedLog = c.PromiseLog },
			[]string{"must be distinct"}},
		{"accepted and recorded the same Log", func(c *paxos.Config) { c.RecordedLog = c.AcceptedLog },
			[]string{"must be distinct"}},
		{"one storage, three prefixes is fine", func(c *paxos.Config) {
			c.PromiseLog, c.AcceptedLog, c.RecordedLog = shared.WithPrefix("p"), shared.WithPrefix("a"), shared.WithPrefix("r")
		}, nil},
		{"negative RetryTimeout", func(c *paxos.Config) { c.RetryTimeout = -1 }, []string{"RetryTimeout is negative"}},
		{"negative RequestTimeout", func(c *paxos.Config) { c.RequestTimeout = -1 }, []string{"RequestTimeout is negative"}},
		{"negative LeaderTimeout", func(c *paxos.Config) { c.LeaderTimeout = -1 }, []string{"LeaderTimeout is negative"}},
		{"negative MaxBackoff", func(c *paxos.Config) { c.MaxBackoff = -1 }, []string{"MaxBackoff is negative"}},
		{"negative HeartbeatInterval disables", func(c *paxos.Config) { c.HeartbeatInterval = -1 }, nil},
		{"negative CommitDelay tells at once", func(c *paxos.Config) { c.CommitDelay = -1 }, nil},
		{"negative ExpectedVoters", func(c *paxos.Config) { c.ExpectedVoters = -1 }, []string{"ExpectedVoters is negative"}},
		{"negative WindowSlots", func(c *paxos.Config) { c.WindowSlots = -1 }, []string{"WindowSlots is negative"}},
		{"negative MaxBatchValues", func(c *paxos.Config) { c.MaxBatchValues = -1 }, []string{"MaxBatchValues is negative"}},
		{"negative MaxBatchBytes", func(c *paxos.Config) { c.MaxBatchBytes = -1 }, []string{"MaxBatchBytes is negative"}},
		{"negative MaxValueBytes", func(c *paxos.Config) { c.MaxValueBytes = -1 }, []string{"MaxValueBytes is negative"}},
		{"negative MaxPendingProposals", func(c *paxos.Config) { c.MaxPendingProposals = -1 },
			[]string{"MaxPendingProposals is negative"}},
		{"negative BatchHoldPercent disables", func(c *paxos.Config) { c.BatchHoldPercent = -1 }, nil},
		{"BatchHoldPercent 1000 is fine", func(c *paxos.Config) { c.BatchHoldPercent = 1000 }, nil},
		{"BatchHoldPercent over 1000", func(c *paxos.Config) { c.BatchHoldPercent = 1001 },
			[]string{"BatchHoldPercent is 1001, at most 1000"}},
		{"ExpectedVoters over 64", func(c *paxos.Config) { c.ExpectedVoters = 65 }, []string{"ExpectedVoters is 65, at most 64"}},
		{"ExpectedVoters 64 is fine", func(c *paxos.Config) { c.ExpectedVoters = 64 }, nil},
		{"MaxPendingProposals over the session window", func(c *paxos.Config) { c.MaxPendingProposals = 1<<16 + 1 },
			[]string{"MaxPendingProposals is 65537"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := memberConfig(net, "m0", 1)
			tt.change(cfg)
			err := cfg.Validate()
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.ErrorIs(t, err, paxos.ErrInvalidConfig)
			for _, w := range tt.want {
				require.Contains(t, err.Error(), w)
			}
			// New reports the same error and builds nothing.
			p, nerr := paxos.New(cfg)
			require.Nil(t, p)
			require.ErrorIs(t, nerr, paxos.ErrInvalidConfig)
		})
	}
}

func TestConfigValidateNil(t *testing.T) {
	var cfg *paxos.Config
	err := cfg.Validate()
	require.ErrorIs(t, err, paxos.ErrInvalidConfig)
	require.Contains(t, err.Error(), "nil Config")

	p, err := paxos.New(nil)
	require.Nil(t, p)
	require.ErrorIs(t, err, paxos.ErrInvalidConfig)
}

// A Log whose values cannot be compared (a func field makes == panic) is
// taken as distinct from the others rather than crashing Validate.
type incomparableLog struct {
	paxos.Log
	_ func()
}

func TestConfigValidateIncomparableLogs(t *testing.T) {
	cfg := memberConfig(paxostest.NewNetwork(1), "m0", 1)
	cfg.PromiseLog = incomparableLog{Log: cfg.PromiseLog}
	cfg.AcceptedLog = incomparableLog{Log: cfg.AcceptedLog}
	require.NoError(t, cfg.Validate())
}

// New reads the acceptor's state back and fails clearly when it cannot.
func TestNewFailsOnUnreadableLogs(t *testing.T) {
	cfg := memberConfig(paxostest.NewNetwork(1), "m0", 1)
	boom := errors.New("disk on fire")
	cfg.PromiseLog = failingLastLog{Log: cfg.PromiseLog, err: boom}
	p, err := paxos.New(cfg)
	require.Nil(t, p)
	require.ErrorIs(t, err, boom)
	require.Contains(t, err.Error(), "promise log")
}

type failingLastLog struct {
	paxos.Log
	err error
}

func (l failingLastLog) Last(interface{}) error { return l.err }

func TestNewStartsNoGoroutines(t *testing.T) {
	before := goleak.IgnoreCurrent()
	cfg := memberConfig(paxostest.NewNetwork(1), "m0", 1)
	p, err := paxos.New(cfg)
	require.NoError(t, err)
	require.NotNil(t, p)
	// Prepare works before Start, still on the caller's goroutine only.
	promise, err := p.Prepare(testContext(t), &paxos.Request{ID: 7})
	require.NoError(t, err)
	require.Equal(t, uint64(7), promise.ID)
	goleak.VerifyNone(t, before)

	acc, err := paxos.NewAcceptor(cfg.PromiseLog.WithPrefix("x"), cfg.AcceptedLog.WithPrefix("x"))
	require.NoError(t, err)
	require.NotNil(t, acc)
	goleak.VerifyNone(t, before)
}

func TestNewAcceptorNeedsTwoLogs(t *testing.T) {
	_, err := paxos.NewAcceptor(nil, &paxos.Memory{})
	require.ErrorIs(t, err, paxos.ErrInvalidConfig)
	_, err = paxos.NewAcceptor(&paxos.Memory{}, nil)
	require.ErrorIs(t, err, paxos.ErrInvalidConfig)
}
