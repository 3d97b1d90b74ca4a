// Package yarpctest runs yarpc in memory, for tests: a Listener that hands
// out in-memory connections (like grpc-go's bufconn) and a Server that serves
// a yarpc.Server on one (like net/http/httptest).
package yarpctest

import (
	"context"
	"errors"
	"net"
	"sync"
)

// Listener is a net.Listener whose connections are in-memory pipes made by
// its Dial method. Pass Dial to yarpc.WithDialer so that a ClientConn
// reaches the server behind the listener whatever its target.
type Listener struct {
	once   sync.Once
	conns  chan net.Conn
	closed chan struct{}
	close  sync.Once
}

// NewListener returns a Listener ready to Accept and Dial.
func NewListener() *Listener {
	l := &Listener{}
	l.init()
	return l
}

func (l *Listener) init() {
	l.once.Do(func() {
		l.conns = make(chan net.Conn)
		l.closed = make(chan struct{})
	})
}

// Addr is the listener's (in-memory) address.
type Addr struct{}

// Network implements net.Addr.
func (Addr) Network() string { return "memory" }

// String implements net.Addr.
func (Addr) String() string { return "memory" }

// Accept waits for the next Dial. After Close it returns an error matching
// net.ErrClosed.
func (l *Listener) Accept() (net.Conn, error) {
	l.init()
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

// Close stops Accept and Dial. Connections already made stay open.
func (l *Listener) Close() error {
	l.init()
	l.close.Do(func() { close(l.closed) })
	return nil
}

// Addr implements net.Listener.
func (l *Listener) Addr() net.Addr { return Addr{} }

// ErrRefused is returned by Dial once the listener is closed.
var ErrRefused = errors.New("yarpctest: connection refused: listener closed")

// Dial connects to the listener, waiting for Accept until ctx ends; network
// and address are ignored. Its signature fits yarpc.WithDialer.
func (l *Listener) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	l.init()
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.closed:
	case <-ctx.Done():
		client.Close()
		server.Close()
		return nil, ctx.Err()
	}
	client.Close()
	server.Close()
	return nil, ErrRefused
}
