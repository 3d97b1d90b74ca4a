//go:build race

package paxos_test

// raceEnabled skips tests whose point is a measurement the race detector
// would distort.
const raceEnabled = true
