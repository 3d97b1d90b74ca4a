package paxos

import "context"

// AcceptorServer is the acceptor role as a server: Prepare (phase 1) and
// Accept (phase 2). A refusal is a reply, not an error: Prepare granted the
// promise iff the returned Promise.ID equals Request.ID, and Accept accepted
// iff the returned Proposal.ID equals the ballot sent; otherwise the ID is the
// higher ballot already promised. Errors are for transport and storage
// failures only.
type AcceptorServer interface {
	Prepare(ctx context.Context, request *Request) (*Promise, error)
	Accept(ctx context.Context, proposal *Proposal) (*Proposal, error)
}

// AcceptorClient calls an acceptor (or, as MultiAcceptorClient, a majority of
// them) with the semantics of AcceptorServer.
type AcceptorClient interface {
	Prepare(ctx context.Context, request *Request) (*Promise, error)
	Accept(ctx context.Context, proposal *Proposal) (*Proposal, error)
}

// Acceptor is what every member serves: the acceptor role and the Observe
// stream through which the others learn what it accepted.
type Acceptor interface {
	AcceptorServer
	ObserverServer
}

// ObserverServer serves Observe streams: the first message is the Request
// (its Slot says where to start), then a stream of *Proposal entries.
type ObserverServer interface {
	Observe(call *ObserveServerStream) error
}

// ObserverClient opens Observe streams.
type ObserverClient interface {
	Observe(ctx context.Context, request *Request) (*ObserveClientStream, error)
}

// ProposerServer proposes values on behalf of remote callers.
type ProposerServer interface {
	Propose(ctx context.Context, value []byte) ([]byte, error)
}

// ProposerClient asks a member to propose a value.
type ProposerClient interface {
	Propose(ctx context.Context, value []byte) ([]byte, error)
}

// Forwarder is an optional ability of an AcceptorClient, found by type
// assertion: it hands commands (values with their request ids) to that
// member's proposer, so that a member that does not lead can forward to the
// one that does without losing exactly-once. The reply carries nothing but
// an error; the commands' outcome arrives through the log.
type Forwarder interface {
	Forward(ctx context.Context, proposal *Proposal) (*Proposal, error)
}

// ForwardServer is the server side of Forwarder; *Paxos implements it.
type ForwardServer interface {
	Forward(ctx context.Context, proposal *Proposal) (*Proposal, error)
}

// ObserveClientStream is the client side of an Observe stream. It works as a
// plain literal: ObserveClientStream{Stream: s}.
type ObserveClientStream struct {
	Stream
}

// Recv reads the next entry.
func (s *ObserveClientStream) Recv() (*Proposal, error) {
	p := &Proposal{}
	if err := s.ReadMsg(p); err != nil {
		return nil, err
	}
	return p, nil
}

// ObserveServerStream is the server side of an Observe stream. It works as a
// plain literal: ObserveServerStream{Stream: s}.
type ObserveServerStream struct {
	Stream
}

// Recv reads the Request that opens the stream.
func (s *ObserveServerStream) Recv() (*Request, error) {
	r := &Request{}
	if err := s.ReadMsg(r); err != nil {
		return nil, err
	}
	return r, nil
}

// Send writes an entry.
func (s *ObserveServerStream) Send(msg *Proposal) error { return s.WriteMsg(msg) }
