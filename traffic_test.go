package paxos_test

import (
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

// The leader holds back the watermark of a value only its own caller
// waits on. With heartbeats off, and the learners' catch-up from the other
// members (after two RequestTimeouts) out of reach, only the held-back
// commit itself can tell the followers. They must record the value all the same, and a value
// forwarded by a follower must reach it without waiting for the delay.
func TestFollowersLearnAnIdleLeadersLastValue(t *testing.T) {
	for _, delay := range []time.Duration{0, -1, 50 * time.Millisecond} {
		t.Run(fmt.Sprint(delay), func(t *testing.T) {
			c := paxostest.NewCluster(t, paxostest.Options{Members: 3, Seed: 7, Configure: func(_ int, cfg *paxos.Config) {
				cfg.HeartbeatInterval = -1
				cfg.RequestTimeout = time.Hour
				cfg.CommitDelay = delay
			}})
			ctx := testContext(t)
			pos, err := c.Members[0].Paxos().ProposeIndex(ctx, []byte("only the leader's caller waits"))
			require.NoError(t, err)
			require.Equal(t, uint64(1), pos)
			_, err = c.WaitConverged(ctx, 1)
			require.NoError(t, err, "the followers never heard that position 1 is chosen")

			// Forwarded: the follower's caller returns once the follower
			// recorded it, whatever the delay.
			pos, err = c.Members[1].Paxos().ProposeIndex(ctx, []byte("forwarded"))
			require.NoError(t, err)
			require.Equal(t, uint64(2), pos)
			_, err = c.WaitConverged(ctx, 2)
			require.NoError(t, err)
		})
	}
}

// A long CommitDelay is honoured: the followers record the leader's own
// value only when the next value carries the watermark.
func TestCommitDelayHoldsTheWatermarkUntilTheNextValue(t *testing.T) {
	c := paxostest.NewCluster(t, paxostest.Options{Members: 3, Seed: 8, Configure: func(_ int, cfg *paxos.Config) {
		cfg.HeartbeatInterval = -1
		cfg.RequestTimeout = time.Hour
		cfg.CommitDelay = time.Hour
	}})
	ctx := testContext(t)
	leader := c.Members[0].Paxos()
	_, err := leader.ProposeIndex(ctx, []byte("first"))
	require.NoError(t, err)
	// The leader's own member recorded it; give the followers every chance
	// to (wrongly) learn it before the next value.
	require.NoError(t, leader.WaitRecorded(ctx, 1))
	wait, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, c.Members[1].Paxos().WaitRecorded(wait, 1), context.DeadlineExceeded,
		"a follower learned position 1 before anything told it")
	_, err = leader.ProposeIndex(ctx, []byte("second"))
	require.NoError(t, err)
	for _, m := range c.Members[1:] {
		require.NoError(t, m.Paxos().WaitRecorded(ctx, 1), "the second value's accept carries the watermark")
	}
	wait, cancel = context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, c.Members[2].Paxos().WaitRecorded(wait, 2), context.DeadlineExceeded, "and holds back its own")
}

// A member that hears from a live leader and keeps up streams from no other
// voter: the leader's watermark is its evidence. (It used to check the
// others every ten hole timeouts regardless, and under load each check
// brought every chosen entry once more from every other voter.)
func TestAMemberHearingALeaderChecksNoOtherVoter(t *testing.T) {
	net := paxostest.NewNetwork(3)
	var mu sync.Mutex
	dials := map[string]int{}
	names := []string{"m0", "m1", "m2"}
	members := make([]*paxos.Paxos, 3)
	for i, name := range names {
		cfg := memberConfig(net, name, uint8(i+1))
		// Hole timeouts of 50 ms: without the fix, a check every 500 ms.
		cfg.RequestTimeout, cfg.HeartbeatInterval = 25*time.Millisecond, 10*time.Millisecond
		inner := cfg.ObserverDialer
		cfg.ObserverDialer = func(ctx context.Context, member string) (paxos.ObserverClient, error) {
			mu.Lock()
			dials[name]++
			mu.Unlock()
			return inner(ctx, member)
		}
		p, err := paxos.New(cfg)
		require.NoError(t, err)
		net.Register(name, p)
		members[i] = p
	}
	for _, p := range members {
		start(t, p, membershipOf(names...))
	}
	ctx := testContext(t)
	for i := range 5 {
		_, err := members[0].ProposeIndex(ctx, fmt.Appendf(nil, "v%d", i))
		require.NoError(t, err)
	}
	require.NoError(t, members[0].WaitRecorded(ctx, 5))
	mu.Lock()
	before := dials["m0"]
	mu.Unlock()
	// Four periods of the old check, the leader heartbeating throughout.
	time.Sleep(2 * time.Second)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, before, dials["m0"], "the leader's member opened streams to the other voters")
}
