package yarpctest_test

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/mjpitz/myago/paxos/yarpc"
	"github.com/mjpitz/myago/paxos/yarpc/yarpctest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type msg struct {
	N int `json:"n"`
}

func TestServerInMemory(t *testing.T) {
	svr := &yarpc.Server{}
	svr.HandleFunc("double", func(s yarpc.Stream) error {
		for {
			var m msg
			err := s.ReadMsg(&m)
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			m.N *= 2
			if err := s.WriteMsg(&m); err != nil {
				return err
			}
		}
	})
	ts := yarpctest.NewServer(svr)
	cc := ts.Dial(context.Background())
	s, err := cc.OpenStream(context.Background(), "double")
	require.NoError(t, err)
	for i := range 100 {
		require.NoError(t, s.WriteMsg(&msg{N: i}))
		var m msg
		require.NoError(t, s.ReadMsg(&m))
		require.Equal(t, 2*i, m.N)
	}
	require.NoError(t, yarpc.CloseSend(s))
	require.ErrorIs(t, s.ReadMsg(&msg{}), io.EOF)
	require.NoError(t, s.Close())
	require.NoError(t, cc.Close())
	require.NoError(t, ts.Close())
}

func TestListenerClose(t *testing.T) {
	l := yarpctest.NewListener()
	require.NoError(t, l.Close())
	_, err := l.Accept()
	require.ErrorIs(t, err, net.ErrClosed)
	_, err = l.Dial(context.Background(), "memory", "x")
	require.ErrorIs(t, err, yarpctest.ErrRefused)
	require.Equal(t, "memory", l.Addr().Network())

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = yarpctest.NewListener().Dial(ctx, "memory", "x")
	require.ErrorIs(t, err, context.Canceled)
}

// Redial works in memory too: a new server on a new listener behind the
// same dialer.
func TestRedialInMemory(t *testing.T) {
	var current *yarpctest.Listener
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		return current.Dial(ctx, network, addr)
	}
	echo := func() *yarpc.Server {
		svr := &yarpc.Server{}
		svr.HandleFunc("ping", func(s yarpc.Stream) error { return s.WriteMsg(&msg{N: 1}) })
		return svr
	}
	ts := yarpctest.NewServer(echo())
	current = ts.Listener
	cc := yarpc.DialContext(context.Background(), "memory", "x", yarpc.WithDialer(dial))
	defer cc.Close()
	call := func() error {
		s, err := cc.OpenStream(context.Background(), "ping")
		if err != nil {
			return err
		}
		defer s.Close()
		return s.ReadMsg(&msg{})
	}
	require.NoError(t, call())
	require.NoError(t, ts.Close())
	ts = yarpctest.NewServer(echo())
	current = ts.Listener
	require.Eventually(t, func() bool { return call() == nil }, waitFor, waitTick)
	require.NoError(t, cc.Close())
	require.NoError(t, ts.Close())
}

const (
	waitFor  = 20 * time.Second
	waitTick = time.Millisecond
)
