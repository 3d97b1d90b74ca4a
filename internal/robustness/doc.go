// Package robustness is the multi-process fault test of the library: five
// kvstore processes on loopback, a TCP proxy on every member-to-member link,
// clients over HTTP, a nemesis that kills, pauses and partitions members,
// and a check of the whole history for linearizability (porcupine) and of
// every member's recorded log, in the style of etcd's robustness tests and
// Jepsen.
//
// The test is skipped unless -robustness is given:
//
//	go test -count=1 -run TestRobustness ./internal/robustness -robustness -v
//
// -robustness.duration sets the length of the safety run (a soak test is
// -robustness.duration=30m). On failure the history's visualization, the
// members' logs and their data directories are kept in a directory named in
// the test log.
//
// It runs on Unix: the nemesis pauses members with SIGSTOP and SIGCONT.
package robustness
