//go:build race

package sim

// Under the race detector the simulation is ten times slower: run a sample.
const raceEnabled = true
