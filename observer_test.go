package paxos_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mjpitz/myago/paxos"
	"github.com/mjpitz/myago/paxos/paxostest"
)

// userLog is a user's RecordedLog without RecordBatch: it records every
// Record call (failed ones too) and fails the first fail of them.
type userLog struct {
	paxos.Log // a Memory view; only Record, Last, Range and WithPrefix are promoted

	mu       sync.Mutex
	fail     int
	attempts []uint64 // every Record id, in call order
	failed   []uint64
}

var errDiskFull = errors.New("disk full")

func (l *userLog) Record(id uint64, msg interface{}) error {
	l.mu.Lock()
	l.attempts = append(l.attempts, id)
	if l.fail > 0 {
		l.fail--
		l.failed = append(l.failed, id)
		l.mu.Unlock()
		return errDiskFull
	}
	l.mu.Unlock()
	return l.Log.Record(id, msg)
}

func (l *userLog) calls() (attempts, failed []uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]uint64(nil), l.attempts...), append([]uint64(nil), l.failed...)
}

// batchUserLog is a user's RecordedLog with RecordBatch, failing the first
// fail batches.
type batchUserLog struct {
	*paxos.Memory

	mu      sync.Mutex
	fail    int
	batches [][]uint64
	failed  int
}

// Record takes single positions (the observer batches only two or more).
func (l *batchUserLog) Record(id uint64, msg interface{}) error {
	l.mu.Lock()
	l.batches = append(l.batches, []uint64{id})
	l.mu.Unlock()
	return l.Memory.Record(id, msg)
}

func (l *batchUserLog) RecordBatch(ids []uint64, msgs []interface{}) error {
	l.mu.Lock()
	l.batches = append(l.batches, append([]uint64(nil), ids...))
	if l.fail > 0 {
		l.fail--
		l.failed++
		l.mu.Unlock()
		return errDiskFull
	}
	l.mu.Unlock()
	return l.Memory.RecordBatch(ids, msgs)
}

// countingHandler counts the log messages that contain a phrase.
type countingHandler struct {
	slog.Handler
	phrase string
	mu     sync.Mutex
	n      int
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, h.phrase) {
		h.mu.Lock()
		h.n++
		h.mu.Unlock()
	}
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }
func (h *countingHandler) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// runObserver runs o.Start until stop is called (or the test ends).
func runObserver(t *testing.T, o *paxos.Observer, voters []string) (stop func() error) {
	return background(t, func(ctx context.Context) error { return o.Start(ctx, membershipOf(voters...)) })
}

func proposeAll(t *testing.T, c *paxostest.Cluster, from, to int) []string {
	t.Helper()
	ctx := testContext(t)
	var vs []string
	for i := from; i <= to; i++ {
		v := fmt.Sprintf("v%03d", i)
		_, err := c.Members[i%len(c.Members)].Paxos().Propose(ctx, []byte(v))
		require.NoError(t, err)
		vs = append(vs, v)
	}
	return vs
}

func values(from, to int) []string {
	var vs []string
	for i := from; i <= to; i++ {
		vs = append(vs, fmt.Sprintf("v%03d", i))
	}
	return vs
}

// requireInOrderOnce checks that the successful Record ids are 1, 2, 3, ...
// and that every failed id is tried again next.
func requireInOrderOnce(t *testing.T, attempts, failed []uint64) {
	t.Helper()
	var want uint64 = 1
	failedSet := map[int]bool{}
	fi := 0
	for i, id := range attempts {
		if fi < len(failed) && failed[fi] == id && id == want {
			failedSet[i] = true
			fi++
		}
	}
	require.Equal(t, len(failed), fi, "failed ids not in the attempts")
	for i, id := range attempts {
		require.Equal(t, want, id, "Record call %d: skipped or repeated a position", i)
		if !failedSet[i] {
			want++
		}
	}
}

func TestObserverRetriesFailedRecords(t *testing.T) {
	c := paxostest.NewCluster(t, paxostest.Options{Members: 3, Seed: 21})
	rec := &userLog{Log: (&paxos.Memory{}).WithPrefix("recorded"), fail: 5}
	h := &countingHandler{phrase: "retrying the same positions"}
	o := &paxos.Observer{Dialer: c.Net.ObserverDialer("obs"), Log: rec, Logger: slog.New(h), MaxBackoff: 5 * time.Millisecond}
	runObserver(t, o, c.Voters())

	want := proposeAll(t, c, 1, 30)
	require.NoError(t, o.WaitRecorded(testContext(t), 30))
	requireLog(t, want, records(t, rec.Log))
	attempts, failed := rec.calls()
	require.Len(t, failed, 5)
	requireInOrderOnce(t, attempts, failed)
	require.Equal(t, 5, h.count(), "each failure is logged")
	require.Equal(t, uint64(30), o.Recorded())
}

func TestObserverRetriesFailedBatches(t *testing.T) {
	c := paxostest.NewCluster(t, paxostest.Options{Members: 3, Seed: 22})
	rec := &batchUserLog{Memory: &paxos.Memory{}, fail: 3}
	o := &paxos.Observer{Dialer: c.Net.ObserverDialer("obs"), Log: rec, MaxBackoff: 5 * time.Millisecond}
	runObserver(t, o, c.Voters())

	// Concurrent proposals make multi-value slots, recorded as batches.
	ctx := testContext(t)
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Members[0].Paxos().Propose(ctx, fmt.Appendf(nil, "b%02d", i))
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	log, err := c.WaitConverged(ctx, 60)
	require.NoError(t, err)
	require.NoError(t, o.WaitRecorded(ctx, 60))
	got := records(t, rec.Memory)
	require.Equal(t, log, got)

	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.Equal(t, 3, rec.failed)
	// A failed batch is retried as it was; the others continue right after
	// the previous one. (Only batches of two or more can fail here, and the
	// first three do.)
	var next uint64 = 1
	failures := 0
	for i, b := range rec.batches {
		require.Equal(t, next, b[0], "write %d starts at the wrong position", i)
		for k, id := range b {
			require.Equal(t, b[0]+uint64(k), id, "write %d is not consecutive", i)
		}
		if len(b) > 1 && failures < 3 {
			failures++
			continue
		}
		next = b[len(b)-1] + 1
	}
	require.Equal(t, uint64(61), next)
}

// A member whose own RecordedLog fails keeps going and loses nothing.
func TestMemberRecordedLogFails(t *testing.T) {
	var rec *userLog
	c := paxostest.NewCluster(t, paxostest.Options{Members: 3, Seed: 23, Configure: func(i int, cfg *paxos.Config) {
		if i == 1 {
			rec = &userLog{Log: cfg.RecordedLog, fail: 4}
			cfg.RecordedLog = rec
			cfg.MaxBackoff = 5 * time.Millisecond
		}
	}})
	want := proposeAll(t, c, 1, 20)
	log, err := c.WaitConverged(testContext(t), 20)
	require.NoError(t, err)
	requireLog(t, want, log)
	attempts, failed := rec.calls()
	require.Len(t, failed, 4)
	requireInOrderOnce(t, attempts, failed)
}

// After a restart the observer resumes from RecordedLog.Last: no position
// is recorded twice and none is missing.
func TestObserverResumesAfterRestart(t *testing.T) {
	c := paxostest.NewCluster(t, paxostest.Options{Members: 3, Seed: 24})
	mem := (&paxos.Memory{}).WithPrefix("recorded")
	ctx := testContext(t)

	first := &userLog{Log: mem}
	o1 := &paxos.Observer{Dialer: c.Net.ObserverDialer("obs"), Log: first}
	stop := runObserver(t, o1, c.Voters())
	proposeAll(t, c, 1, 40)
	require.NoError(t, o1.WaitRecorded(ctx, 40))
	require.NoError(t, stop())
	require.ErrorIs(t, o1.Start(ctx, membershipOf(c.Voters()...)), paxos.ErrAlreadyStarted)

	proposeAll(t, c, 41, 70)
	second := &userLog{Log: mem}
	o2 := &paxos.Observer{Dialer: c.Net.ObserverDialer("obs"), Log: second}
	require.Equal(t, uint64(0), o2.Recorded())
	runObserver(t, o2, c.Voters())
	require.NoError(t, o2.WaitRecorded(ctx, 70))
	proposeAll(t, c, 71, 80)
	require.NoError(t, o2.WaitRecorded(ctx, 80))

	requireLog(t, values(1, 80), records(t, mem))
	attempts, _ := second.calls()
	require.Equal(t, uint64(41), attempts[0], "the restarted observer recorded again what it had")
	requireInOrderOnce(t, append(first.attempts, attempts...), nil)
}

func TestObserverWaitRecorded(t *testing.T) {
	c := paxostest.NewCluster(t, paxostest.Options{Members: 3, Seed: 25})
	o := &paxos.Observer{Dialer: c.Net.ObserverDialer("obs"), Log: &paxos.Memory{}}
	ctx := testContext(t)

	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, o.WaitRecorded(short, 1), context.DeadlineExceeded)
	require.NoError(t, o.WaitRecorded(ctx, 0))

	waited := make(chan error, 1)
	go func() { waited <- o.WaitRecorded(ctx, 5) }()
	runObserver(t, o, c.Voters())
	proposeAll(t, c, 1, 5)
	require.NoError(t, <-waited)
	require.GreaterOrEqual(t, o.Recorded(), uint64(5))
}

func TestObserverStartErrors(t *testing.T) {
	ctx := testContext(t)
	d := paxostest.NewNetwork(1).ObserverDialer("obs")
	require.ErrorIs(t, (&paxos.Observer{Dialer: d, Log: &paxos.Memory{}}).Start(ctx, nil), paxos.ErrNoVoters)
	require.ErrorIs(t, (&paxos.Observer{Dialer: d, Log: &paxos.Memory{}}).Start(ctx, membershipOf()), paxos.ErrNoVoters)
	require.ErrorIs(t, (&paxos.Observer{Log: &paxos.Memory{}}).Start(ctx, membershipOf("m0")), paxos.ErrInvalidConfig)
	require.ErrorIs(t, (&paxos.Observer{Dialer: d}).Start(ctx, membershipOf("m0")), paxos.ErrInvalidConfig)
	boom := &paxos.Observer{Dialer: d, Log: failingLastLog{Log: &paxos.Memory{}, err: errDiskFull}}
	require.ErrorIs(t, boom.Start(ctx, membershipOf("m0")), errDiskFull)
}

// Every member records positions 1, 2, 3, ... in call order while values
// are proposed on all of them at once: a leader's learner hears of chosen
// slots from its proposer and from its acceptor's stream, followers from
// their streams (and forwards), and none of it may reorder the Records.
func TestRecordedInOrderUnderConcurrentProposals(t *testing.T) {
	recs := make([]*userLog, 3)
	c := paxostest.NewCluster(t, paxostest.Options{Members: 3, Seed: 29, Configure: func(i int, cfg *paxos.Config) {
		recs[i] = &userLog{Log: cfg.RecordedLog}
		cfg.RecordedLog = recs[i]
	}})
	const workers, each = 12, 25
	ctx := testContext(t)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := c.Members[w%len(c.Members)].Paxos()
			for i := range each {
				_, err := p.Propose(ctx, []byte(fmt.Sprintf("w%02d-%03d", w, i)))
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	_, err := c.WaitConverged(ctx, workers*each)
	require.NoError(t, err)
	for i, rec := range recs {
		attempts, _ := rec.calls()
		require.Len(t, attempts, workers*each, "member %d", i)
		requireInOrderOnce(t, attempts, nil)
	}
}
