package paxostest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestClusterProposeAndConverge(t *testing.T) {
	c := NewCluster(t, Options{Members: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := 0; i < 20; i++ {
		m := c.Members[i%3].Paxos()
		v := []byte(fmt.Sprintf("v%d", i))
		pos, err := m.ProposeIndex(ctx, v)
		require.NoError(t, err)
		require.Equal(t, uint64(i+1), pos)
	}
	log, err := c.WaitConverged(ctx, 20)
	require.NoError(t, err)
	for i, r := range log {
		require.Equal(t, fmt.Sprintf("v%d", i), string(r.Value))
	}
}

func TestBarrierAndStatus(t *testing.T) {
	c := NewCluster(t, Options{Members: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := c.Members[0].Paxos()
	for i := 0; i < 5; i++ {
		_, err := a.ProposeIndex(ctx, []byte(fmt.Sprintf("v%d", i)))
		require.NoError(t, err)
	}
	b := c.Members[2].Paxos()
	pos, err := b.Barrier(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(5), pos)
	require.NoError(t, b.WaitRecorded(ctx, pos))
	st := b.Status()
	require.True(t, st.Running)
	require.Equal(t, []string{"m0", "m1", "m2"}, st.Voters)
	require.Equal(t, uint64(5), st.Recorded)
	// A barrier takes no position: the next value is at 6.
	p6, err := b.ProposeIndex(ctx, []byte("v5"))
	require.NoError(t, err)
	require.Equal(t, uint64(6), p6)
}
