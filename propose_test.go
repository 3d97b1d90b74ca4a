package paxos_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mjpitz/myago/paxos"
	"github.com/mjpitz/myago/paxos/paxostest"
)

func TestProposeReturnsTheGivenValue(t *testing.T) {
	c := paxostest.NewCluster(t, paxostest.Options{Members: 3, Seed: 1})
	ctx := testContext(t)
	var want []string
	for i := range 10 {
		v := fmt.Appendf(nil, "value %d", i)
		got, err := c.Members[i%3].Paxos().Propose(ctx, v)
		require.NoError(t, err)
		require.Equal(t, v, got)
		want = append(want, string(v))
	}
	log, err := c.WaitConverged(ctx, 10)
	require.NoError(t, err)
	requireLog(t, want, log)
}

func TestProposeIndexPositions(t *testing.T) {
	c := paxostest.NewCluster(t, paxostest.Options{Members: 3, Seed: 2})
	ctx := testContext(t)
	for i := 1; i <= 25; i++ {
		pos, err := c.Members[(i*7)%3].Paxos().ProposeIndex(ctx, fmt.Appendf(nil, "v%d", i))
		require.NoError(t, err)
		require.Equal(t, uint64(i), pos)
	}
}

func TestProposeEmptyValue(t *testing.T) {
	p, _, _ := singleMember(t, nil)
	ctx := testContext(t)
	for _, v := range [][]byte{nil, {}} {
		_, err := p.Propose(ctx, v)
		require.ErrorIs(t, err, paxos.ErrEmptyValue)
		_, err = p.ProposeIndex(ctx, v)
		require.ErrorIs(t, err, paxos.ErrEmptyValue)
	}
	// Bad input is reported before anything else, even before Start.
	q, err := paxos.New(memberConfig(paxostest.NewNetwork(2), "m0", 1))
	require.NoError(t, err)
	_, err = q.Propose(ctx, nil)
	require.ErrorIs(t, err, paxos.ErrEmptyValue)
}

func TestProposeCancelledContextProposesNothing(t *testing.T) {
	p, _, cfg := singleMember(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.Propose(ctx, []byte("never"))
	require.ErrorIs(t, err, context.Canceled)
	require.NotErrorIs(t, err, paxos.ErrOutcomeUnknown, "nothing was proposed, so the outcome is known")

	pos, err := p.ProposeIndex(testContext(t), []byte("after"))
	require.NoError(t, err)
	require.Equal(t, uint64(1), pos)
	require.NoError(t, p.WaitRecorded(testContext(t), 1))
	requireLog(t, []string{"after"}, records(t, cfg.RecordedLog))
}

// A Propose whose context ends before it knows the outcome says so, and
// matches the context's error; the value is chosen at most once.
func TestProposeOutcomeUnknown(t *testing.T) {
	c := paxostest.NewCluster(t, paxostest.Options{Members: 3, Seed: 3})
	ctx := testContext(t)
	_, err := c.Members[0].Paxos().Propose(ctx, []byte("first"))
	require.NoError(t, err)

	c.Members[1].Stop()
	c.Members[2].Stop()
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err = c.Members[0].Paxos().Propose(short, []byte("maybe"))
	require.ErrorIs(t, err, paxos.ErrOutcomeUnknown)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	require.NoError(t, c.Members[1].Start())
	require.NoError(t, c.Members[2].Start())
	pos, err := c.Members[0].Paxos().ProposeIndex(ctx, []byte("last"))
	require.NoError(t, err)
	log, err := c.WaitConverged(ctx, pos)
	require.NoError(t, err)
	n := 0
	for _, r := range log {
		if string(r.Value) == "maybe" {
			n++
		}
	}
	require.LessOrEqual(t, n, 1, "the uncertain value was chosen more than once")
	require.Equal(t, "first", string(log[0].Value))
	require.Equal(t, "last", string(log[len(log)-1].Value))
}

func TestProposeValuesAreRecordedExactly(t *testing.T) {
	const limit = 64 << 10
	c := paxostest.NewCluster(t, paxostest.Options{Members: 3, Seed: 4,
		Configure: func(_ int, cfg *paxos.Config) { cfg.MaxValueBytes = limit }})
	ctx := testContext(t)
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	values := [][]byte{
		{0},
		all,
		bytes.Repeat([]byte{0xff, 0x00}, 1000),
		bytes.Repeat([]byte("x"), limit), // exactly at the limit
		[]byte("\x00\x01 trailing zeros \x00\x00"),
	}
	for i, v := range values {
		pos, err := c.Members[i%3].Paxos().ProposeIndex(ctx, v)
		require.NoError(t, err, "value %d", i)
		require.Equal(t, uint64(i+1), pos)
	}
	_, err := c.Members[0].Paxos().Propose(ctx, bytes.Repeat([]byte("x"), limit+1))
	require.ErrorIs(t, err, paxos.ErrValueTooLarge)

	_, err = c.WaitConverged(ctx, uint64(len(values)))
	require.NoError(t, err)
	for _, m := range c.Members {
		recs, err := m.Records()
		require.NoError(t, err)
		require.Len(t, recs, len(values))
		for i, r := range recs {
			require.True(t, bytes.Equal(values[i], r.Value), "%s position %d differs", m.Name, i+1)
		}
	}
}

func TestProposeDefaultValueLimit(t *testing.T) {
	p, _, _ := singleMember(t, nil)
	ctx := testContext(t)
	_, err := p.Propose(ctx, make([]byte, paxos.DefaultMaxValueBytes+1))
	require.ErrorIs(t, err, paxos.ErrValueTooLarge)
	_, err = p.Propose(ctx, make([]byte, paxos.DefaultMaxValueBytes))
	require.NoError(t, err)
}

// A caller may reuse its buffer once Propose returned: members that learn
// the value later must still record the bytes it had during the call.
func TestProposeCallerMayReuseItsBuffer(t *testing.T) {
	c := paxostest.NewCluster(t, paxostest.Options{Members: 3, Seed: 5})
	ctx := testContext(t)
	buf := make([]byte, 16)
	var want []string
	for i := range 200 {
		copy(buf, fmt.Sprintf("value %09d", i))
		_, err := c.Members[0].Paxos().Propose(ctx, buf)
		require.NoError(t, err)
		want = append(want, string(buf))
		copy(buf, "overwritten!!!!!")
	}
	log, err := c.WaitConverged(ctx, 200)
	require.NoError(t, err)
	requireLog(t, want, log)
	for _, m := range c.Members {
		recs, err := m.Records()
		require.NoError(t, err)
		requireLog(t, want, recs)
	}
}

// Concurrent proposals on one member all land, once each, in call order
// per caller (linearizability within a caller).
func TestProposeConcurrentOnOneMember(t *testing.T) {
	c := paxostest.NewCluster(t, paxostest.Options{Members: 3, Seed: 6})
	ctx := testContext(t)
	const callers, each = 16, 25
	var wg sync.WaitGroup
	positions := make([][]uint64, callers)
	for w := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range each {
				pos, err := c.Members[1].Paxos().ProposeIndex(ctx, fmt.Appendf(nil, "c%d-%d", w, k))
				if !assert.NoError(t, err) {
					return
				}
				positions[w] = append(positions[w], pos)
			}
		}()
	}
	wg.Wait()
	log, err := c.WaitConverged(ctx, callers*each)
	require.NoError(t, err)
	require.Len(t, log, callers*each)
	for w := range callers {
		for k, pos := range positions[w] {
			require.Equal(t, fmt.Sprintf("c%d-%d", w, k), string(log[pos-1].Value))
			if k > 0 {
				require.Greater(t, pos, positions[w][k-1])
			}
		}
	}
}
