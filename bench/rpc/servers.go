package rpcbench

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/rpc"
	"os"
	"runtime"

	"github.com/hashicorp/yamux"
	"google.golang.org/grpc"

	"github.com/mjpitz/myago/paxos/yarpc"
)

// Addrs are the addresses the child process serves, one per framework.
type Addrs struct {
	Yarpc, GRPC, NetRPC, Yamux string
}

// Serve runs every server on loopback, prints their Addrs as one JSON line
// on out, then answers commands read from in, one a line: "reset" starts
// counting allocations, "report" prints the count since. It returns when in
// ends.
func Serve(in io.Reader, out io.Writer) error {
	listen := func() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }
	var addrs Addrs
	ly, err := listen()
	if err != nil {
		return err
	}
	addrs.Yarpc = ly.Addr().String()
	go func() { _ = yarpcServer().Serve(ly) }()

	lg, err := listen()
	if err != nil {
		return err
	}
	addrs.GRPC = lg.Addr().String()
	gs := grpc.NewServer(grpc.ForceServerCodec(grpcCodec{}))
	gs.RegisterService(&grpcDesc, benchService{})
	go func() { _ = gs.Serve(lg) }()

	ln, err := listen()
	if err != nil {
		return err
	}
	addrs.NetRPC = ln.Addr().String()
	rs := rpc.NewServer()
	if err := rs.RegisterName("Bench", &NetRPCBench{}); err != nil {
		return err
	}
	go rs.Accept(ln)

	lm, err := listen()
	if err != nil {
		return err
	}
	addrs.Yamux = lm.Addr().String()
	go serveYamux(lm)

	if err := json.NewEncoder(out).Encode(addrs); err != nil {
		return err
	}
	var base uint64
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		switch sc.Text() {
		case "reset":
			base = ms.Mallocs
			fmt.Fprintln(out, 0)
		case "report":
			fmt.Fprintln(out, ms.Mallocs-base)
		}
	}
	return sc.Err()
}

// RunChildIfAsked runs Serve on stdin and stdout and exits when the
// BENCH_SERVER environment variable is set (the child process).
func RunChildIfAsked() {
	if os.Getenv("BENCH_SERVER") == "" {
		return
	}
	if err := Serve(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// --- yarpc

func yarpcServer() *yarpc.Server {
	svr := &yarpc.Server{}
	svr.HandleFunc("unary", func(s yarpc.Stream) error {
		var m Msg
		if err := s.ReadMsg(&m); err != nil {
			return err
		}
		return yarpc.SendAndClose(s, &m)
	})
	svr.HandleFunc("sink", func(s yarpc.Stream) error {
		var n uint64
		var m Msg
		for {
			err := s.ReadMsg(&m)
			if errors.Is(err, io.EOF) {
				return s.WriteMsg(&Msg{Seq: n})
			}
			if err != nil {
				return err
			}
			n++
		}
	})
	return svr
}

// --- gRPC, with a hand-written service description.

type benchServer interface{}

type benchService struct{}

var grpcDesc = grpc.ServiceDesc{
	ServiceName: "bench.Bench",
	HandlerType: (*benchServer)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Unary",
		Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			m := new(Msg)
			if err := dec(m); err != nil {
				return nil, err
			}
			return m, nil
		},
	}},
	Streams: []grpc.StreamDesc{{
		StreamName:    "Sink",
		ClientStreams: true,
		Handler: func(_ any, stream grpc.ServerStream) error {
			var n uint64
			var m Msg
			for {
				err := stream.RecvMsg(&m)
				if errors.Is(err, io.EOF) {
					return stream.SendMsg(&Msg{Seq: n})
				}
				if err != nil {
					return err
				}
				n++
			}
		},
	}},
}

// --- net/rpc

// NetRPCBench is the net/rpc service.
type NetRPCBench struct{}

// Echo replies with its argument.
func (NetRPCBench) Echo(in *Msg, out *Msg) error {
	*out = *in
	return nil
}

// --- yamux: a new stream per call, length-prefixed frames written once
// each. The first byte of a stream says what it is for: 'u' one request and
// one reply, 's' messages until the client closes, then a count.

func serveYamux(l net.Listener) {
	for {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		sess, err := yamux.Server(conn, quietYamux())
		if err != nil {
			conn.Close()
			continue
		}
		go func() {
			for {
				st, err := sess.AcceptStream()
				if err != nil {
					return
				}
				go handleYamux(st)
			}
		}()
	}
}

func handleYamux(st net.Conn) {
	defer st.Close()
	r := bufio.NewReader(st)
	mode, err := r.ReadByte()
	if err != nil {
		return
	}
	var buf []byte
	read := func() ([]byte, error) {
		var hdr [4]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return nil, err
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if cap(buf) < int(n)+4 {
			buf = make([]byte, n+4)
		}
		buf = buf[:n+4]
		copy(buf, hdr[:])
		_, err := io.ReadFull(r, buf[4:])
		return buf, err
	}
	switch mode {
	case 'u':
		b, err := read()
		if err != nil {
			return
		}
		var m Msg
		if err := m.UnmarshalBinary(b[4:]); err != nil {
			return
		}
		_, _ = st.Write(appendYamuxFrame(nil, &m))
	case 's':
		var n uint64
		var m Msg
		for {
			b, err := read()
			if err != nil {
				break
			}
			if m.UnmarshalBinary(b[4:]) == nil {
				n++
			}
		}
		_, _ = st.Write(appendYamuxFrame(nil, &Msg{Seq: n}))
	}
}

// appendYamuxFrame appends a length-prefixed message.
func appendYamuxFrame(b []byte, m *Msg) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0)
	b, _ = m.AppendBinary(b)
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start-4))
	return b
}

// quietYamux is yamux's default configuration without its logging.
func quietYamux() *yamux.Config {
	cfg := yamux.DefaultConfig()
	cfg.LogOutput = io.Discard
	return cfg
}
