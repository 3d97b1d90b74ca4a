package cluster_test

import (
	"context"
	"fmt"

	"github.com/mjpitz/myago/paxos/cluster"
)

func ExampleMembership_Watch() {
	var m cluster.Membership
	m.Add([]string{"10.0.0.1:9000", "10.0.0.2:9000"})

	changes, cancel := m.Watch()
	defer cancel()
	fmt.Println("now:", (<-changes).Active)

	m.Left([]string{"10.0.0.2:9000"})
	m.Add([]string{"10.0.0.3:9000"})
	// Nobody read in between: the two changes arrive as the newest state.
	c := <-changes
	fmt.Println("active:", c.Active, "left:", c.Left)

	m.Remove([]string{"10.0.0.2:9000"})
	c = <-changes
	fmt.Println("removed:", c.Removed, "majority:", m.Majority())
	// Output:
	// now: [10.0.0.1:9000 10.0.0.2:9000]
	// active: [10.0.0.1:9000 10.0.0.3:9000] left: [10.0.0.2:9000]
	// removed: [10.0.0.2:9000] majority: 2
}

func ExampleCluster() {
	c := cluster.New(cluster.WithDiscovery(&cluster.NoDiscovery{
		Peers: []string{"10.0.0.1:9000", "10.0.0.2:9000", "10.0.0.3:9000"},
	}))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx) }()

	// Wait until the discovery has filled the Membership (paxos would be
	// started with it here).
	changes, cancelWatch := c.Membership().Watch()
	for change := range changes {
		if len(change.Active) == 3 {
			break
		}
	}
	cancelWatch()
	members, active := c.Membership().Snapshot()
	fmt.Println(members, active, "majority", c.Membership().Majority())

	cancel()
	fmt.Println("Start returned:", <-done)
	// Output:
	// [10.0.0.1:9000 10.0.0.2:9000 10.0.0.3:9000] 3 majority 2
	// Start returned: <nil>
}

func ExampleConfig() {
	// Exactly one discovery is set, for example from a configuration file.
	cfg := &cluster.Config{
		DNSDiscovery: &cluster.DNSDiscovery{Name: "paxos.default.svc.cluster.local", Port: 9000},
	}
	fmt.Println(cfg.Validate())
	fmt.Println((&cluster.Config{}).Validate())
	// Output:
	// <nil>
	// cluster: no discovery configured
}

func ExampleGossipDiscovery() {
	gossip := &cluster.GossipDiscovery{
		// Gossip through any member already running.
		JoinAddress: "10.0.0.1:7946,10.0.0.2:7946",
		BindAddress: "0.0.0.0:7946",
		// What the other members' Memberships list for this member.
		RPCAddress: "10.0.0.3:9000",
	}
	c := cluster.New(cluster.WithDiscovery(gossip))
	_ = c.Start // run it until the process stops; it leaves gracefully
}
