// Package paxos is an embeddable Multi-Paxos library: every member of a
// cluster records the same values in the same order, through crashes,
// restarts, lost messages and slow disks.
//
// The API is a port of github.com/mjpitz/myago/paxos; the behaviour is
// correct Multi-Paxos (see DESIGN.md and the README for the guarantees).
package paxos
