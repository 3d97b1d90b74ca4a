// Package robustness is the multi-process fault test of the library: five
// kvstore processes on loopback, a TCP proxy on every member-to-member link,
// clients over HTTP, a nemesis that kills, pauses and partitions members,
// and a check of the whole history for linearizability (porcupine) and of
// every member's recorded log, in the style of etcd's robustness tests and
// Jepsen.
//
// The test is skipped unless -robustness is given; CI runs it as its own
// step (about 95 s: a 60 s run of minority faults, then a 25 s run that
// takes the majority away five times):
//
//	go test -count=1 -run TestRobustness ./internal/robustness -robustness -v
//
// Flags: -robustness.duration (the minority-faults run; a soak test is
// -robustness.duration=30m -timeout 40m), -robustness.faults (only some
// fault kinds), -robustness.seed (the clients' and the nemesis's choices;
// timing still varies), -robustness.race (members built with -race),
// -robustness.out (keep the artifacts there), and the workload's size
// (-robustness.clients, -robustness.keys, -robustness.op-timeout).
//
// A run fails on any anomaly (a history porcupine cannot linearize, members
// whose recorded logs differ, an acknowledged write missing from them or at
// another position, a value recorded twice or never written, a read of a
// value no log holds, an operation acknowledged while no majority was up),
// on liveness problems (a member that does not restart, no write
// acknowledged within 60 s of a heal, members that do not converge), and on
// a member that crashed or raced at any time (a runtime crash report or
// -race's "WARNING: DATA RACE" in its output, even if it was restarted
// since) or did not exit cleanly on SIGTERM at the end. It then keeps the
// history (history.jsonl, and porcupine's history.html), the faults, the
// members' statuses over time, their logs and their data directories in a
// directory named in the test log.
//
// It runs on Unix: the nemesis pauses members with SIGSTOP and SIGCONT.
package robustness
