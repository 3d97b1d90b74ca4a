package paxostest

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/mjpitz/myago/paxos"
)

// pipe is one side of an in-memory stream. Messages are passed by pointer:
// the library's ownership rules (a sender never modifies what it sent) make
// that safe, and it keeps the test kit fast.
type pipe struct {
	ctx    context.Context
	cancel context.CancelFunc
	in     chan interface{}
	out    chan interface{}
	linked func() bool

	mu    sync.Mutex
	err   error // set by the other side when it ends
	ended chan struct{}
	peer  *pipe
}

const pipeBuffer = 256

func newPipe(ctx context.Context, cancel context.CancelFunc, linked func() bool) (client, server *pipe) {
	a := make(chan interface{}, pipeBuffer)
	b := make(chan interface{}, pipeBuffer)
	client = &pipe{ctx: ctx, cancel: cancel, in: a, out: b, linked: linked, ended: make(chan struct{})}
	server = &pipe{ctx: ctx, cancel: cancel, in: b, out: a, linked: linked, ended: make(chan struct{})}
	client.peer, server.peer = server, client
	return client, server
}

var _ paxos.Stream = (*pipe)(nil)

func (p *pipe) Context() context.Context         { return p.ctx }
func (p *pipe) SetReadDeadline(time.Time) error  { return nil }
func (p *pipe) SetWriteDeadline(time.Time) error { return nil }
func (p *pipe) Close() error                     { p.cancel(); return nil }
func (p *pipe) closeWith(err error)              { p.mu.Lock(); p.err = err; p.mu.Unlock(); close(p.ended) }
func (p *pipe) peerErr() error                   { p.peer.mu.Lock(); defer p.peer.mu.Unlock(); return p.peer.err }
func (p *pipe) brokenLink() error                { return errors.Join(ErrUnreachable, errors.New("stream link cut")) }

func (p *pipe) WriteMsg(m interface{}) error {
	if !p.linked() {
		p.cancel()
		return p.brokenLink()
	}
	select {
	case p.out <- m:
		return nil
	case <-p.ctx.Done():
		return p.ctx.Err()
	case <-p.peer.ended:
		return io.ErrClosedPipe
	}
}

func (p *pipe) ReadMsg(m interface{}) error {
	select {
	case v := <-p.in:
		if !p.linked() {
			p.cancel()
			return p.brokenLink()
		}
		return assign(m, v)
	case <-p.ctx.Done():
		return p.ctx.Err()
	case <-p.peer.ended:
		select {
		case v := <-p.in:
			return assign(m, v)
		default:
		}
		if err := p.peerErr(); err != nil {
			return err
		}
		return io.EOF
	}
}

func assign(dst, v interface{}) error {
	switch d := dst.(type) {
	case *paxos.Request:
		if s, ok := v.(*paxos.Request); ok {
			*d = *s
			return nil
		}
	case *paxos.Proposal:
		if s, ok := v.(*paxos.Proposal); ok {
			*d = *s
			return nil
		}
	}
	return errors.New("paxostest: unexpected message type")
}
