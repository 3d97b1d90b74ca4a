package paxos

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/mjpitz/myago/paxos/yarpc"
)

// The yarpc method names, in one place.
const (
	yarpcPrepare = "paxos.Acceptor/Prepare"
	yarpcAccept  = "paxos.Acceptor/Accept"
	yarpcForward = "paxos.Acceptor/Forward"
	yarpcObserve = "paxos.Observer/Observe"
	yarpcPropose = "paxos.Proposer/Propose"
)

// RegisterYarpcAcceptorServer registers the provided AcceptorServer
// implementation with the yarpc.Server to handle requests. When impl also
// implements ForwardServer (a *Paxos does), forwarding is registered too.
func RegisterYarpcAcceptorServer(svr *yarpc.Server, impl AcceptorServer) {
	svr.Handle(yarpcPrepare, unary(impl.Prepare))
	svr.Handle(yarpcAccept, unary(impl.Accept))
	if f, ok := impl.(ForwardServer); ok {
		svr.Handle(yarpcForward, unary(f.Forward))
	}
}

// RegisterYarpcObserverServer registers the provided ObserverServer
// implementation with the yarpc.Server to handle requests. Acceptors should
// implement the observer server, otherwise other members of the cluster
// cannot determine what records have been accepted.
func RegisterYarpcObserverServer(svr *yarpc.Server, impl ObserverServer) {
	svr.Handle(yarpcObserve, yarpc.HandlerFunc(func(s yarpc.Stream) error {
		return toStatus(impl.Observe(&ObserveServerStream{Stream: s}))
	}))
}

// RegisterYarpcProposerServer registers the provided ProposerServer
// implementation with the yarpc.Server to handle requests. Typically,
// proposers aren't embedded as a server and are instead run as client side
// code.
func RegisterYarpcProposerServer(svr *yarpc.Server, impl ProposerServer) {
	svr.Handle(yarpcPropose, unary(func(ctx context.Context, in *Bytes) (*Bytes, error) {
		v, err := impl.Propose(ctx, in.Value)
		if err != nil {
			return nil, err
		}
		return &Bytes{Value: v}, nil
	}))
}

// NewYarpcAcceptorClient wraps the provided yarpc.ClientConn with an
// AcceptorClient implementation. The client also forwards (Forwarder) and
// proposes (ProposerClient) through the same connection.
func NewYarpcAcceptorClient(cc *yarpc.ClientConn) AcceptorClient { return &yarpcClient{cc: cc} }

// NewYarpcObserverClient wraps the provided yarpc.ClientConn with an
// ObserverClient implementation.
func NewYarpcObserverClient(cc *yarpc.ClientConn) ObserverClient { return &yarpcClient{cc: cc} }

// NewYarpcProposerClient wraps the provided yarpc.ClientConn with an
// ProposerClient implementation.
func NewYarpcProposerClient(cc *yarpc.ClientConn) ProposerClient { return &yarpcClient{cc: cc} }

// yarpcClient is every client of a member over one yarpc.ClientConn.
type yarpcClient struct{ cc *yarpc.ClientConn }

var (
	_ AcceptorClient = (*yarpcClient)(nil)
	_ ObserverClient = (*yarpcClient)(nil)
	_ ProposerClient = (*yarpcClient)(nil)
	_ Forwarder      = (*yarpcClient)(nil)
)

func (c *yarpcClient) Prepare(ctx context.Context, req *Request) (*Promise, error) {
	return call[Promise](ctx, c.cc, yarpcPrepare, req)
}

func (c *yarpcClient) Accept(ctx context.Context, in *Proposal) (*Proposal, error) {
	return call[Proposal](ctx, c.cc, yarpcAccept, in)
}

func (c *yarpcClient) Forward(ctx context.Context, in *Proposal) (*Proposal, error) {
	return call[Proposal](ctx, c.cc, yarpcForward, in)
}

func (c *yarpcClient) Propose(ctx context.Context, value []byte) ([]byte, error) {
	out, err := call[Bytes](ctx, c.cc, yarpcPropose, &Bytes{Value: value})
	if err != nil {
		return nil, err
	}
	return out.Value, nil
}

// Observe opens an Observe stream: the Request goes first; Close the
// returned stream (or end ctx) to stop it at the server.
func (c *yarpcClient) Observe(ctx context.Context, req *Request) (*ObserveClientStream, error) {
	if req == nil {
		return nil, fmt.Errorf("%w: nil Request", ErrBadMessage)
	}
	s, err := c.cc.OpenStream(ctx, yarpcObserve)
	if err != nil {
		return nil, err
	}
	if err := s.WriteMsg(req); err != nil {
		_ = s.Close()
		return nil, fromStatus(err)
	}
	return &ObserveClientStream{Stream: statusStream{s}}, nil
}

// call makes a unary call: one request, one reply.
func call[Resp any](ctx context.Context, cc *yarpc.ClientConn, method string, req interface{}) (*Resp, error) {
	if req == nil {
		return nil, fmt.Errorf("%w: nil request", ErrBadMessage)
	}
	s, err := cc.OpenStream(ctx, method)
	if err != nil {
		return nil, err
	}
	defer func() { _ = s.Close() }()
	if err := s.WriteMsg(req); err != nil {
		return nil, fromStatus(err)
	}
	resp := new(Resp)
	if err := s.ReadMsg(resp); err != nil {
		return nil, fromStatus(err)
	}
	return resp, nil
}

// unary serves a unary method.
func unary[Req, Resp any](fn func(context.Context, *Req) (*Resp, error)) yarpc.Handler {
	return yarpc.HandlerFunc(func(s yarpc.Stream) error {
		req := new(Req)
		if err := s.ReadMsg(req); err != nil {
			return toStatus(fmt.Errorf("%w: %w", ErrBadMessage, err))
		}
		resp, err := fn(s.Context(), req)
		if err != nil {
			return toStatus(err)
		}
		if resp == nil {
			return toStatus(fmt.Errorf("%w: nil reply", ErrBadMessage))
		}
		return yarpc.SendAndClose(s, resp)
	})
}

// Errors cross the wire as *yarpc.Status; the library's sentinels come back
// as themselves (wrapped with the remote message), so errors.Is works on the
// client as it does in-process.
var remoteSentinels = []struct {
	err  error
	code int
}{
	{ErrStopped, yarpc.CodeUnavailable},
	{ErrBadMessage, yarpc.CodeInvalidArgument},
	{ErrNoQuorum, yarpc.CodeUnavailable},
	{ErrOutcomeUnknown, yarpc.CodeUnknown},
	{ErrEmptyValue, yarpc.CodeInvalidArgument},
	{ErrValueTooLarge, yarpc.CodeInvalidArgument},
	{ErrNotStarted, yarpc.CodeUnavailable},
}

func toStatus(err error) error {
	if err == nil {
		return nil
	}
	var st *yarpc.Status
	if errors.As(err, &st) {
		return st
	}
	code := yarpc.CodeUnknown
	for _, s := range remoteSentinels {
		if errors.Is(err, s.err) {
			code = s.code
			break
		}
	}
	switch {
	case errors.Is(err, context.Canceled):
		code = yarpc.CodeCanceled
	case errors.Is(err, context.DeadlineExceeded):
		code = yarpc.CodeDeadlineExceeded
	}
	return &yarpc.Status{Code: code, Message: err.Error()}
}

// remoteError is an error a peer returned.
type remoteError struct {
	status   *yarpc.Status
	sentinel error
}

func (e *remoteError) Error() string { return "remote: " + e.status.Message }
func (e *remoteError) Unwrap() []error {
	if e.sentinel != nil {
		return []error{e.status, e.sentinel}
	}
	return []error{e.status}
}

func fromStatus(err error) error {
	var st *yarpc.Status
	if !errors.As(err, &st) {
		return err
	}
	re := &remoteError{status: st}
	for _, s := range remoteSentinels {
		if strings.HasPrefix(st.Message, s.err.Error()) {
			re.sentinel = s.err
			break
		}
	}
	return re
}

// statusStream maps *yarpc.Status errors read from a stream back to the
// library's errors.
type statusStream struct{ yarpc.Stream }

func (s statusStream) ReadMsg(i interface{}) error { return fromStatus(s.Stream.ReadMsg(i)) }
