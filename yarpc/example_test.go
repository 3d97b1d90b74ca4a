package yarpc_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/mjpitz/myago/paxos/yarpc"
)

type Greeting struct {
	Text string `json:"text"`
}

// A server and a client over a loopback listener: one request, one reply.
func Example() {
	svr := &yarpc.Server{}
	svr.HandleFunc("hello", func(s yarpc.Stream) error {
		var in Greeting
		if err := s.ReadMsg(&in); err != nil {
			return err
		}
		return s.WriteMsg(&Greeting{Text: "hello, " + in.Text})
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	served := make(chan error, 1)
	go func() { served <- svr.Serve(l) }()

	cc := yarpc.DialContext(context.Background(), "tcp", l.Addr().String())
	s, err := cc.OpenStream(context.Background(), "hello")
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = s.WriteMsg(&Greeting{Text: "world"})
	var out Greeting
	if err := s.ReadMsg(&out); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(out.Text)
	_ = s.Close()
	_ = cc.Close()

	_ = svr.Shutdown()
	fmt.Println(errors.Is(<-served, yarpc.ErrServerClosed))
	// Output:
	// hello, world
	// true
}

// A server streaming replies until the handler returns; the client reads
// until io.EOF. Errors come back as *yarpc.Status.
func ExampleClientConn_OpenStream() {
	svr := &yarpc.Server{}
	svr.HandleFunc("count", func(s yarpc.Stream) error {
		for i := 1; i <= 3; i++ {
			if err := s.WriteMsg(&Greeting{Text: fmt.Sprint(i)}); err != nil {
				return err
			}
		}
		return nil
	})
	svr.HandleFunc("fail", func(s yarpc.Stream) error {
		return yarpc.Errorf(yarpc.CodeInvalidArgument, "no, thanks")
	})
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	go func() { _ = svr.Serve(l) }()
	defer svr.Shutdown()
	cc := yarpc.DialContext(context.Background(), "tcp", l.Addr().String())
	defer cc.Close()

	s, _ := cc.OpenStream(context.Background(), "count")
	_ = yarpc.CloseSend(s) // no request: the handler just streams
	for {
		var g Greeting
		err := s.ReadMsg(&g)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Println(g.Text)
	}
	_ = s.Close()

	s, _ = cc.OpenStream(context.Background(), "fail")
	var st *yarpc.Status
	if errors.As(s.ReadMsg(&Greeting{}), &st) {
		fmt.Println(st.Code, st.Message)
	}
	_ = s.Close()
	// Output:
	// 1
	// 2
	// 3
	// 3 no, thanks
}
