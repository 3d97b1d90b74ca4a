package yarpctest

import (
	"context"

	"github.com/mjpitz/myago/paxos/yarpc"
)

// Server is a yarpc.Server serving an in-memory Listener, for tests.
type Server struct {
	// Server is the server being served; register handlers on it.
	Server *yarpc.Server
	// Listener is the in-memory listener it serves.
	Listener *Listener

	done chan error
}

// NewServer serves svr on a new in-memory listener with the given options
// until Close.
func NewServer(svr *yarpc.Server, opts ...yarpc.Option) *Server {
	s := &Server{Server: svr, Listener: NewListener(), done: make(chan error, 1)}
	go func() { s.done <- svr.Serve(s.Listener, opts...) }()
	return s
}

// Dial returns a ClientConn that reaches the server in memory. The options
// come after the dialer, so they may replace it.
func (s *Server) Dial(ctx context.Context, opts ...yarpc.Option) *yarpc.ClientConn {
	return yarpc.DialContext(ctx, "memory", "memory", append([]yarpc.Option{yarpc.WithDialer(s.Listener.Dial)}, opts...)...)
}

// Close shuts the server down and waits for Serve to return. It returns
// Shutdown's error.
func (s *Server) Close() error {
	err := s.Server.Shutdown()
	<-s.done
	return err
}
