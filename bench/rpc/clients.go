package rpcbench

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/rpc"

	"github.com/hashicorp/yamux"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/mjpitz/myago/paxos/yarpc"
)

// Client is one framework's client: one connection, safe for concurrent
// use.
type Client interface {
	// Unary sends in and decodes the reply into out.
	Unary(ctx context.Context, in, out *Msg) error
	// Stream sends n messages on one stream and returns the count the
	// server received.
	Stream(ctx context.Context, n int, payload []byte) (uint64, error)
	Close() error
}

// Dial returns the client of framework ("yarpc", "grpc", "netrpc", "yamux")
// for the servers at addrs.
func Dial(framework string, addrs Addrs) (Client, error) {
	switch framework {
	case "yarpc":
		return &yarpcClient{cc: yarpc.DialContext(context.Background(), "tcp", addrs.Yarpc)}, nil
	case "grpc":
		cc, err := grpc.NewClient("passthrough:///"+addrs.GRPC,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.ForceCodec(grpcCodec{})))
		if err != nil {
			return nil, err
		}
		return &grpcClient{cc: cc}, nil
	case "netrpc":
		c, err := rpc.Dial("tcp", addrs.NetRPC)
		if err != nil {
			return nil, err
		}
		return &netrpcClient{c: c}, nil
	case "yamux":
		conn, err := net.Dial("tcp", addrs.Yamux)
		if err != nil {
			return nil, err
		}
		sess, err := yamux.Client(conn, quietYamux())
		if err != nil {
			return nil, err
		}
		return &yamuxClient{sess: sess}, nil
	}
	return nil, fmt.Errorf("rpcbench: unknown framework %q", framework)
}

// ErrNoStreaming is returned by clients of frameworks without streams.
var ErrNoStreaming = errors.New("rpcbench: no streaming")

type yarpcClient struct{ cc *yarpc.ClientConn }

func (c *yarpcClient) Unary(ctx context.Context, in, out *Msg) error {
	s, err := c.cc.OpenStream(ctx, "unary")
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.WriteMsg(in); err != nil {
		return err
	}
	return s.ReadMsg(out)
}

func (c *yarpcClient) Stream(ctx context.Context, n int, payload []byte) (uint64, error) {
	s, err := c.cc.OpenStream(ctx, "sink")
	if err != nil {
		return 0, err
	}
	defer s.Close()
	m := &Msg{Payload: payload}
	for i := range n {
		m.Seq = uint64(i)
		if err := s.WriteMsg(m); err != nil {
			return 0, err
		}
	}
	if err := yarpc.CloseSend(s); err != nil {
		return 0, err
	}
	var reply Msg
	err = s.ReadMsg(&reply)
	return reply.Seq, err
}

func (c *yarpcClient) Close() error { return c.cc.Close() }

type grpcClient struct{ cc *grpc.ClientConn }

func (c *grpcClient) Unary(ctx context.Context, in, out *Msg) error {
	return c.cc.Invoke(ctx, "/bench.Bench/Unary", in, out)
}

func (c *grpcClient) Stream(ctx context.Context, n int, payload []byte) (uint64, error) {
	s, err := c.cc.NewStream(ctx, &grpcDesc.Streams[0], "/bench.Bench/Sink")
	if err != nil {
		return 0, err
	}
	m := &Msg{Payload: payload}
	for i := range n {
		m.Seq = uint64(i)
		if err := s.SendMsg(m); err != nil {
			return 0, err
		}
	}
	if err := s.CloseSend(); err != nil {
		return 0, err
	}
	var reply Msg
	err = s.RecvMsg(&reply)
	return reply.Seq, err
}

func (c *grpcClient) Close() error { return c.cc.Close() }

type netrpcClient struct{ c *rpc.Client }

func (c *netrpcClient) Unary(_ context.Context, in, out *Msg) error {
	return c.c.Call("Bench.Echo", in, out)
}

func (c *netrpcClient) Stream(context.Context, int, []byte) (uint64, error) {
	return 0, ErrNoStreaming
}

func (c *netrpcClient) Close() error { return c.c.Close() }

type yamuxClient struct{ sess *yamux.Session }

func (c *yamuxClient) Unary(_ context.Context, in, out *Msg) error {
	st, err := c.sess.OpenStream()
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Write(appendYamuxFrame([]byte{'u'}, in)); err != nil {
		return err
	}
	return readYamuxFrame(bufio.NewReader(st), out)
}

func (c *yamuxClient) Stream(_ context.Context, n int, payload []byte) (uint64, error) {
	st, err := c.sess.OpenStream()
	if err != nil {
		return 0, err
	}
	m := &Msg{Payload: payload}
	buf := []byte{'s'}
	for i := range n {
		m.Seq = uint64(i)
		buf = appendYamuxFrame(buf, m)
		if _, err := st.Write(buf); err != nil {
			return 0, err
		}
		buf = buf[:0]
	}
	if err := st.Close(); err != nil { // half-close: the reply still comes
		return 0, err
	}
	var reply Msg
	err = readYamuxFrame(bufio.NewReader(st), &reply)
	return reply.Seq, err
}

func (c *yamuxClient) Close() error { return c.sess.Close() }

func readYamuxFrame(r io.Reader, m *Msg) error {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return err
	}
	b := make([]byte, binary.BigEndian.Uint32(hdr[:]))
	if _, err := io.ReadFull(r, b); err != nil {
		return err
	}
	return m.UnmarshalBinary(b)
}
