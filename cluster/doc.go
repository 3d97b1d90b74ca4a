// Package cluster keeps track of the members of a paxos cluster: a
// Membership holds their RPC addresses, each active or left, and
// discoveries fill it from a static list, DNS, or gossip.
//
// Discovery supplies addresses and liveness only. paxos fixes its voters
// and its quorum when it starts; Add, Left and Remove never change them
// (contract §2.9). To change the voters, restart every member with the same
// new list.
//
// To use it:
//
//  1. Choose a discovery: NoDiscovery for a fixed list of RPC addresses,
//     DNSDiscovery for a name that resolves to the members (A/AAAA records
//     with a Port, or SRV records), or GossipDiscovery for hashicorp
//     memberlist gossip, where each member advertises its own RPC address.
//     A Config holding exactly one of them (for example loaded from a file)
//     is itself a Discovery.
//  2. Build a Cluster with New(WithDiscovery(d)); add several discoveries
//     with several options if needed.
//  3. Run Cluster.Start(ctx) in its own goroutine. It returns nil when ctx
//     ends, or the first discovery's error, having stopped the others.
//  4. Hand Cluster.Membership() to paxos's Start (or to anything else that
//     reads it). For a fixed voter set, wait until the Membership lists
//     every voter before starting paxos (Watch tells you when).
//  5. Read the Membership with Snapshot, or follow it with Watch: the
//     first message is the current state, each later one the newest state.
//     Call the CancelWatch when done.
//  6. Cancel ctx to stop: a gossip member then leaves gracefully.
//
// A Membership can also be filled by hand (tests, or a membership kept by
// other means): its zero value is ready to use.
package cluster
