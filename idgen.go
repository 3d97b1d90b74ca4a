package paxos

import (
	"errors"
	"fmt"
	"sync"

	"github.com/jonboulle/clockwork"
)

// IDGenerator defines an interface for generating IDs used internally by
// paxos.
type IDGenerator interface {
	Next() (uint64, error)
}

// NextAbover is an optional ability of an IDGenerator, found by type
// assertion: NextAbove returns an id greater than min (and than every id the
// generator returned before), so that a proposer can step over a higher
// promised ballot at once instead of calling Next until it gets there.
type NextAbover interface {
	NextAbove(min uint64) (uint64, error)
}

// ErrIDsExhausted is returned by a ServerIDGenerator whose 56-bit
// millisecond counter would overflow.
var ErrIDsExhausted = errors.New("paxos: id generator exhausted (56-bit millisecond counter overflows)")

// maxIDMillis is the largest millisecond counter that fits above the 8-bit
// server id.
const maxIDMillis = 1<<56 - 1

// ServerIDGenerator returns an IDGenerator that creates an ID using a
// provided serverID and clock. It works by taking a millisecond level
// timestamp, shifting its value left 8 bits, and or'ing it with the server
// ID. The leading byte can be used to expand this representation later on.
//
//	const (
//		wordView  = 0x0000000000000000
//
//		nowMillis = 0x0000017c96370c09
//		shifted   = 0x00017c96370c0900
//		withSID   = 0x00017c96370c09XX
//	)
//
// As you can see, there is plenty of space for the IDGenerator to function.
// Obviously, there are limitations with this implementation.
//
//  1. 256 max possible instances
//  2. Throughput constrained to 1 op/ms
//
// Granted, some of these aren't _huge_ issues for the types of systems that
// this _could_ help build.
//
// Unlike a plain read of the clock, one generator never returns an id twice
// nor one smaller than before: the millisecond part is a logical counter
// that takes the clock's value when the clock is ahead of it and otherwise
// advances by one, so many calls within one millisecond, or a clock that
// steps back, still give increasing ids (running ahead of the clock for a
// while). Ids from generators with different server ids never collide. The
// millisecond part is at least 1, so no id is 0. When the counter would pass
// 2^56-1, Next returns ErrIDsExhausted. The generator is safe for concurrent
// use and also implements NextAbover.
func ServerIDGenerator(serverID uint8, clock clockwork.Clock) IDGenerator {
	return &serverIDGenerator{serverID: serverID, clock: clock}
}

type serverIDGenerator struct {
	serverID uint8
	clock    clockwork.Clock

	mu     sync.Mutex
	lastMS uint64 // millisecond part of the last id returned; 0 before the first
}

var _ NextAbover = (*serverIDGenerator)(nil)

// Next returns the next id.
func (g *serverIDGenerator) Next() (uint64, error) {
	return g.next(0)
}

// NextAbove returns the next id that is also greater than min. Its low byte
// is the generator's server id, as always.
func (g *serverIDGenerator) NextAbove(min uint64) (uint64, error) {
	floor := min >> 8 // smallest millisecond part that could do
	if uint64(g.serverID) <= min&0xff {
		if floor == maxIDMillis {
			return 0, fmt.Errorf("%w: no id above %#x", ErrIDsExhausted, min)
		}
		floor++
	}
	return g.next(floor)
}

// next returns an id whose millisecond part is at least floor, the clock and
// lastMS+1.
func (g *serverIDGenerator) next(floor uint64) (uint64, error) {
	var now uint64
	if ms := g.clock.Now().UnixMilli(); ms > 0 {
		now = uint64(ms)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	ms := max(now, g.lastMS+1, floor)
	if ms > maxIDMillis {
		return 0, fmt.Errorf("%w: millisecond counter at %d", ErrIDsExhausted, ms)
	}
	g.lastMS = ms
	return ms<<8 | uint64(g.serverID), nil
}
