package paxos_test

import (
	"context"
	"fmt"
	"math"

	"github.com/jonboulle/clockwork"

	"github.com/mjpitz/myago/paxos"
	"github.com/mjpitz/myago/paxos/cluster"
	"github.com/mjpitz/myago/paxos/paxostest"
)

// A one-member cluster, wired by hand. In production the dialers come from
// yarpc (NewYarpcAcceptorClient, NewYarpcObserverClient) and the Logs from
// Badger; here the paxostest network stands in for the transport.
func ExampleNew() {
	net := paxostest.NewNetwork(1)
	storage := &paxos.Memory{} // one storage, three isolated prefixes
	p, err := paxos.New(&paxos.Config{
		IDGenerator:    paxos.ServerIDGenerator(1, clockwork.NewRealClock()),
		PromiseLog:     storage.WithPrefix("promise"),
		AcceptedLog:    storage.WithPrefix("accepted"),
		RecordedLog:    storage.WithPrefix("recorded"),
		AcceptorDialer: net.AcceptorDialer("m0"),
		ObserverDialer: net.ObserverDialer("m0"),
		Self:           "m0",
	})
	if err != nil {
		panic(err)
	}
	net.Register("m0", p) // serve Prepare, Accept and Observe

	membership := &cluster.Membership{}
	membership.Add([]string{"m0"}) // the voters, frozen by Start

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Start(ctx, membership) }()

	pos, err := p.ProposeIndex(ctx, []byte("hello"))
	if err != nil {
		panic(err)
	}
	fmt.Println("position", pos)

	cancel()
	fmt.Println("Start returned", <-done)
	_, err = p.Propose(context.Background(), []byte("too late"))
	fmt.Println(err)
	// Output:
	// position 1
	// Start returned <nil>
	// paxos: stopped
}

// Three members in one process: a value proposed on any member is recorded
// by all of them at the same position.
func ExamplePaxos_Propose() {
	c, err := paxostest.Start(paxostest.Options{Members: 3})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	ctx := context.Background()

	for i, v := range []string{"a", "b", "c"} {
		accepted, err := c.Members[i].Paxos().Propose(ctx, []byte(v))
		if err != nil {
			panic(err)
		}
		fmt.Printf("m%d proposed %s\n", i, accepted)
	}

	// Every member records the same log; wait for m2 to have it all.
	m2 := c.Members[2]
	if err := m2.Paxos().WaitRecorded(ctx, 3); err != nil {
		panic(err)
	}
	_ = m2.Recorded.Range(1, math.MaxUint64, paxos.Proposal{}, func(msg interface{}) error {
		r := msg.(*paxos.Proposal)
		fmt.Printf("%d: %s\n", r.ID, r.Value)
		return nil
	})
	// Output:
	// m0 proposed a
	// m1 proposed b
	// m2 proposed c
	// 1: a
	// 2: b
	// 3: c
}

// A client that is not a member proposes through a MultiAcceptorClient,
// which works from its zero value with a Dialer.
func ExampleMultiAcceptorClient() {
	c, err := paxostest.Start(paxostest.Options{Members: 3})
	if err != nil {
		panic(err)
	}
	defer c.Close()

	acceptors := &paxos.MultiAcceptorClient{Dialer: c.Net.AcceptorDialer("client")}
	membership := &cluster.Membership{}
	membership.Add(c.Voters())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- acceptors.Start(ctx, membership) }()
	defer func() { cancel(); <-done }()

	proposer := &paxos.Proposer{
		IDGenerator: paxos.ServerIDGenerator(100, clockwork.NewRealClock()), // distinct from the members' ids
		Acceptor:    acceptors,
	}
	accepted, err := proposer.Propose(ctx, []byte("from outside"))
	if err != nil {
		panic(err)
	}
	fmt.Printf("chosen: %s\n", accepted)

	log, err := c.WaitConverged(ctx, 1)
	if err != nil {
		panic(err)
	}
	fmt.Printf("every member recorded %q at %d\n", log[0].Value, log[0].ID)
	// Output:
	// chosen: from outside
	// every member recorded "from outside" at 1
}

// An Observer outside the cluster records the chosen values into a Log of
// its own, in order, and resumes from that Log after a restart.
func ExampleObserver() {
	c, err := paxostest.Start(paxostest.Options{Members: 3})
	if err != nil {
		panic(err)
	}
	defer c.Close()

	recorded := &paxos.Memory{}
	o := &paxos.Observer{Dialer: c.Net.ObserverDialer("observer"), Log: recorded}
	membership := &cluster.Membership{}
	membership.Add(c.Voters())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.Start(ctx, membership) }()
	defer func() { cancel(); <-done }()

	for _, v := range []string{"x", "y"} {
		if _, err := c.Members[0].Paxos().Propose(ctx, []byte(v)); err != nil {
			panic(err)
		}
	}
	if err := o.WaitRecorded(ctx, 2); err != nil {
		panic(err)
	}
	var last paxos.Proposal
	_ = recorded.Last(&last)
	fmt.Printf("last: %d %s\n", last.ID, last.Value)
	// Output:
	// last: 2 y
}

// MockStream carries messages by value through channels: what a test puts
// in Incoming is read by ReadMsg, what WriteMsg sends appears on Outgoing.
func ExampleNewMockStream() {
	s := paxos.NewMockStream(2)
	defer s.Close()

	// The server side of an Observe stream as a plain literal.
	server := paxos.ObserveServerStream{Stream: s}
	s.Incoming <- &paxos.Request{Slot: 5}
	req, err := server.Recv()
	if err != nil {
		panic(err)
	}
	fmt.Println("observe from slot", req.Slot)

	if err := server.Send(&paxos.Proposal{ID: 1, Slot: 5}); err != nil {
		panic(err)
	}
	sent := (<-s.Outgoing).(*paxos.Proposal)
	fmt.Println("sent slot", sent.Slot)

	// A message of the wrong type is an error, not a panic.
	s.Incoming <- "not a request"
	_, err = server.Recv()
	fmt.Println(err != nil)

	close(s.Incoming)
	_, err = server.Recv()
	fmt.Println(err)
	// Output:
	// observe from slot 5
	// sent slot 5
	// true
	// EOF
}
