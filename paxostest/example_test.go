package paxostest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/mjpitz/myago/paxos/paxostest"
)

// Start builds a cluster outside of a test (NewCluster does the same inside
// one and stops it when the test ends). Members crash and restart over the
// same Logs, and the network can be cut and healed.
func ExampleStart() {
	c, err := paxostest.Start(paxostest.Options{Members: 3, Seed: 1})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	ctx := context.Background()

	if _, err := c.Members[0].Paxos().Propose(ctx, []byte("before")); err != nil {
		panic(err)
	}

	// m2 crashes; a majority remains.
	_ = c.Members[2].Stop()
	if _, err := c.Members[1].Paxos().Propose(ctx, []byte("during")); err != nil {
		panic(err)
	}

	// m0 is cut off from everyone: it cannot decide alone.
	c.Net.Isolate("m0")
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	_, err = c.Members[0].Paxos().Propose(short, []byte("alone"))
	cancel()
	fmt.Println(err)

	// Heal and restart m2: it catches up from the others.
	c.Net.Heal()
	if err := c.Members[2].Start(); err != nil {
		panic(err)
	}
	pos, err := c.Members[2].Paxos().ProposeIndex(ctx, []byte("after"))
	if err != nil {
		panic(err)
	}
	log, err := c.WaitConverged(ctx, pos)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s ... %s\n", log[0].Value, log[pos-1].Value)
	// Output:
	// paxos: outcome unknown: context deadline exceeded
	// before ... after
}
