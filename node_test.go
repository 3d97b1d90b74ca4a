package paxos_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mjpitz/myago/paxos"
)

// freeAddrs reserves n loopback addresses for RPC listeners.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var addrs []string
	var ls []net.Listener
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		ls = append(ls, l)
		addrs = append(addrs, l.Addr().String())
	}
	for _, l := range ls {
		require.NoError(t, l.Close())
	}
	return addrs
}

func startNodes(t *testing.T, dirs, addrs []string) []*paxos.Node {
	t.Helper()
	nodes := make([]*paxos.Node, len(addrs))
	for i := range addrs {
		n, err := paxos.NewNode(paxos.NodeConfig{DataDir: dirs[i], Listen: addrs[i], Peers: addrs})
		require.NoError(t, err)
		nodes[i] = n
	}
	return nodes
}

func TestNodesOverTCPAndBadger(t *testing.T) {
	addrs := freeAddrs(t, 3)
	base := t.TempDir()
	dirs := []string{filepath.Join(base, "a"), filepath.Join(base, "b"), filepath.Join(base, "c")}
	nodes := startNodes(t, dirs, addrs)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := 0; i < 30; i++ {
		pos, err := nodes[i%3].ProposeIndex(ctx, []byte(fmt.Sprintf("v%d", i)))
		require.NoError(t, err)
		require.Equal(t, uint64(i+1), pos)
	}
	pos, err := nodes[1].Barrier(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(30), pos)
	for _, n := range nodes {
		require.NoError(t, n.WaitRecorded(ctx, 30))
	}
	// Restart everything over the same data directories: the log continues.
	for _, n := range nodes {
		require.NoError(t, n.Close())
	}
	nodes = startNodes(t, dirs, addrs)
	defer func() {
		for _, n := range nodes {
			require.NoError(t, n.Close())
		}
	}()
	pos, err = nodes[2].ProposeIndex(ctx, []byte("after restart"))
	require.NoError(t, err)
	require.Equal(t, uint64(31), pos)
	st := nodes[0].Status()
	require.Equal(t, addrs[0], st.Self)
	require.Len(t, st.Voters, 3)
}

func TestNodeRefusesADataDirInUse(t *testing.T) {
	addrs := freeAddrs(t, 2)
	dir := t.TempDir()
	n, err := paxos.NewNode(paxos.NodeConfig{DataDir: dir, Listen: addrs[0], Peers: addrs[:1]})
	require.NoError(t, err)
	defer n.Close()
	_, err = paxos.NewNode(paxos.NodeConfig{DataDir: dir, Listen: addrs[1], Peers: addrs[1:]})
	require.Error(t, err)
	require.Contains(t, err.Error(), dir)
}
