package paxos_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mjpitz/myago/paxos"
)

func TestMockStreamReadAssigns(t *testing.T) {
	s := paxos.NewMockStream(4)
	defer s.Close()
	sent := &paxos.Proposal{ID: 3, Value: []byte("v"), Slot: 9}
	s.Incoming <- sent
	s.Incoming <- paxos.Request{ID: 4, Slot: 2} // a value works as well as a pointer
	var p paxos.Proposal
	require.NoError(t, s.ReadMsg(&p))
	require.Equal(t, *sent, p)
	var r paxos.Request
	require.NoError(t, s.ReadMsg(&r))
	require.Equal(t, paxos.Request{ID: 4, Slot: 2}, r)
}

func TestMockStreamReadMismatch(t *testing.T) {
	s := paxos.NewMockStream(8)
	defer s.Close()
	var p paxos.Proposal
	for _, v := range []interface{}{
		&paxos.Request{ID: 1}, // another type
		"a string",
		nil,                     // no message
		(*paxos.Proposal)(nil),  // a nil pointer of the right type
		&paxos.Promise{ID: 1},   // another pointer
		[]byte("not a message"), // bytes are not decoded
	} {
		s.Incoming <- v
		err := s.ReadMsg(&p)
		require.ErrorIs(t, err, paxos.ErrBadMessage, "%T", v)
	}
	// A non-pointer or nil destination is an error too.
	s.Incoming <- &paxos.Proposal{}
	require.ErrorIs(t, s.ReadMsg(paxos.Proposal{}), paxos.ErrBadMessage)
	s.Incoming <- &paxos.Proposal{}
	require.ErrorIs(t, s.ReadMsg(nil), paxos.ErrBadMessage)
	s.Incoming <- &paxos.Proposal{}
	require.ErrorIs(t, s.ReadMsg((*paxos.Proposal)(nil)), paxos.ErrBadMessage)
	require.Equal(t, paxos.Proposal{}, p, "a failed read assigned something")
}

// An error value in Incoming is what ReadMsg returns (as yarpc hands the
// reader a handler's error).
func TestMockStreamReadError(t *testing.T) {
	s := paxos.NewMockStream(1)
	defer s.Close()
	boom := errors.New("remote failed")
	s.Incoming <- boom
	require.ErrorIs(t, s.ReadMsg(&paxos.Proposal{}), boom)
}

func TestMockStreamEOF(t *testing.T) {
	s := paxos.NewMockStream(2)
	defer s.Close()
	s.Incoming <- &paxos.Proposal{ID: 1}
	close(s.Incoming)
	var p paxos.Proposal
	require.NoError(t, s.ReadMsg(&p), "what was sent before the close is read first")
	require.ErrorIs(t, s.ReadMsg(&p), io.EOF)
	require.ErrorIs(t, s.ReadMsg(&p), io.EOF)
}

func TestMockStreamHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s := &paxos.MockStream{Ctx: ctx, Incoming: make(chan interface{}), Outgoing: make(chan interface{})}
	require.Equal(t, ctx, s.Context())
	errs := make(chan error, 2)
	go func() { errs <- s.ReadMsg(&paxos.Proposal{}) }()
	go func() { errs <- s.WriteMsg(&paxos.Proposal{}) }()
	cancel()
	require.ErrorIs(t, <-errs, context.Canceled)
	require.ErrorIs(t, <-errs, context.Canceled)
}

func TestMockStreamDeadlines(t *testing.T) {
	s := paxos.NewMockStream(0)
	defer s.Close()
	require.NoError(t, s.SetReadDeadline(time.Now().Add(10*time.Millisecond)))
	err := s.ReadMsg(&paxos.Proposal{})
	require.ErrorIs(t, err, paxos.ErrDeadlineExceeded)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	require.NoError(t, s.SetWriteDeadline(time.Now().Add(-time.Second))) // already passed
	err = s.WriteMsg(&paxos.Proposal{})
	require.ErrorIs(t, err, context.DeadlineExceeded)

	// The zero time removes a deadline.
	require.NoError(t, s.SetReadDeadline(time.Time{}))
	go func() { s.Incoming <- &paxos.Proposal{ID: 1} }()
	require.NoError(t, s.ReadMsg(&paxos.Proposal{}))
}

func TestMockStreamWrite(t *testing.T) {
	s := paxos.NewMockStream(1)
	defer s.Close()
	p := &paxos.Proposal{ID: 1}
	require.NoError(t, s.WriteMsg(p))
	require.Same(t, p, <-s.Outgoing)
}

func TestMockStreamClose(t *testing.T) {
	// A literal: no context of its own, Close still ends blocked calls.
	s := &paxos.MockStream{Incoming: make(chan interface{}), Outgoing: make(chan interface{})}
	require.Equal(t, context.Background(), s.Context())
	errs := make(chan error, 2)
	go func() { errs <- s.ReadMsg(&paxos.Proposal{}) }()
	go func() { errs <- s.WriteMsg(&paxos.Proposal{}) }()
	require.NoError(t, s.Close())
	require.ErrorIs(t, <-errs, io.ErrClosedPipe)
	require.ErrorIs(t, <-errs, io.ErrClosedPipe)
	require.NoError(t, s.Close(), "closing twice")
	require.ErrorIs(t, s.ReadMsg(&paxos.Proposal{}), io.ErrClosedPipe)

	n := paxos.NewMockStream(1)
	require.NoError(t, n.Close())
	require.Error(t, n.Context().Err(), "Close cancels the context NewMockStream made")
	require.ErrorIs(t, n.WriteMsg(&paxos.Proposal{}), io.ErrClosedPipe)
}

// The observe stream wrappers work as plain literals over any Stream.
func TestObserveStreamsAsLiterals(t *testing.T) {
	client, server := paxos.NewMockStream(4), paxos.NewMockStream(4)
	defer client.Close()
	defer server.Close()

	ss := paxos.ObserveServerStream{Stream: server}
	server.Incoming <- &paxos.Request{Slot: 7}
	req, err := ss.Recv()
	require.NoError(t, err)
	require.Equal(t, uint64(7), req.Slot)
	require.NoError(t, ss.Send(&paxos.Proposal{ID: 2, Slot: 7}))
	out := <-server.Outgoing

	cs := paxos.ObserveClientStream{Stream: client}
	client.Incoming <- out
	p, err := cs.Recv()
	require.NoError(t, err)
	require.Equal(t, uint64(7), p.Slot)

	client.Incoming <- &paxos.Request{}
	_, err = cs.Recv()
	require.ErrorIs(t, err, paxos.ErrBadMessage)
	close(client.Incoming)
	_, err = cs.Recv()
	require.ErrorIs(t, err, io.EOF)
}

// An acceptor serves an Observe stream over a MockStream: the Request
// first, then the entries from the requested slot, then live ones.
func TestAcceptorObserveOverMockStream(t *testing.T) {
	mem := &paxos.Memory{}
	acc, err := paxos.NewAcceptor(mem.WithPrefix("p"), mem.WithPrefix("a"))
	require.NoError(t, err)
	ctx := testContext(t)
	for slot := uint64(1); slot <= 3; slot++ {
		r, err := acc.Accept(ctx, &paxos.Proposal{ID: 10, Slot: slot, Chosen: slot - 1,
			Commands: []paxos.Command{{Session: 1, Seq: slot, Floor: 1, Value: []byte{byte('a' + slot - 1)}}}})
		require.NoError(t, err)
		require.Equal(t, uint64(10), r.ID)
	}
	s := paxos.NewMockStream(16)
	s.Incoming <- &paxos.Request{Slot: 2}
	done := make(chan error, 1)
	go func() { done <- acc.Observe(&paxos.ObserveServerStream{Stream: s}) }()
	first := (<-s.Outgoing).(*paxos.Proposal)
	require.Equal(t, uint64(2), first.Slot)
	require.True(t, first.Decided, "slot 2 is below the watermark slot 3 carried")
	second := (<-s.Outgoing).(*paxos.Proposal)
	require.Equal(t, uint64(3), second.Slot)
	require.False(t, second.Decided)

	_, err = acc.Accept(ctx, &paxos.Proposal{ID: 10, Slot: 4, Chosen: 3,
		Commands: []paxos.Command{{Session: 1, Seq: 4, Floor: 1, Value: []byte("d")}}})
	require.NoError(t, err)
	// Slot 4 live, and slot 3 again once the watermark says it is decided.
	var live, decided3 bool
	for !live || !decided3 {
		select {
		case m := <-s.Outgoing:
			p := m.(*paxos.Proposal)
			live = live || p.Slot == 4
			decided3 = decided3 || (p.Slot == 3 && p.Decided)
		case <-time.After(waitLong):
			t.Fatalf("live %v, slot 3 decided %v", live, decided3)
		}
	}
	require.NoError(t, s.Close())
	require.NoError(t, <-done, "a client going away is not an error")

	// Bad streams are errors, not panics.
	require.ErrorIs(t, acc.Observe(nil), paxos.ErrBadMessage)
	require.ErrorIs(t, acc.Observe(&paxos.ObserveServerStream{}), paxos.ErrBadMessage)
	bad := paxos.NewMockStream(1)
	defer bad.Close()
	bad.Incoming <- "garbage"
	require.ErrorIs(t, acc.Observe(&paxos.ObserveServerStream{Stream: bad}), paxos.ErrBadMessage)
}
