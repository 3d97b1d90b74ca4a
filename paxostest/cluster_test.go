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
