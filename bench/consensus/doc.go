// Package consensus is the comparison harness behind cmd/consensusbench: it
// starts an N-member cluster of one consensus implementation inside the
// process and drives it with closed-loop clients.
//
// To add a system:
//
//  1. Implement System: Start brings up Config.Members members, each with its
//     own 127.0.0.1 listener and, when Config.Durable, its own data directory
//     under Config.Dir, and returns once the members are running (not
//     necessarily once a leader is elected: Measure waits for the first
//     commit itself).
//  2. Implement Cluster: Propose replicates one value and returns only after
//     it is committed (durable on a quorum when Config.Durable) and applied
//     on the member that accepted it; it is called from many goroutines.
//     Close stops every member and releases every goroutine and file.
//  3. Add the system to Lookup and Names.
//
// Measure then runs the warm-up and the measured window and returns a Result,
// which the driver prints as one JSON line.
package consensus
