package paxos_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/mjpitz/myago/paxos"
)

// epoch is the timestamp of the seed's documentation example.
var epoch = time.UnixMilli(0x17c96370c09)

func TestServerIDGeneratorLayout(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	gen := paxos.ServerIDGenerator(0x2a, clock)
	id, err := gen.Next()
	require.NoError(t, err)
	require.Equal(t, uint64(0x00017c96370c092a), id, "milliseconds << 8 | server id")

	clock.Advance(5 * time.Millisecond)
	id, err = gen.Next()
	require.NoError(t, err)
	require.Equal(t, uint64(0x17c96370c09+5)<<8|0x2a, id, "follows the clock when it is ahead")
}

func TestServerIDGeneratorNeverRepeats(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	gen := paxos.ServerIDGenerator(7, clock)
	var prev uint64
	next := func() uint64 {
		t.Helper()
		id, err := gen.Next()
		require.NoError(t, err)
		require.Greater(t, id, prev)
		require.Equal(t, uint64(7), id&0xff)
		prev = id
		return id
	}

	// Many calls within one millisecond.
	for i := 0; i < 1000; i++ {
		next()
	}
	// The clock steps back an hour.
	clock.Advance(-time.Hour)
	for i := 0; i < 10; i++ {
		next()
	}
	// When the clock passes the counter again, ids follow it.
	clock.Advance(2 * time.Hour)
	require.Equal(t, uint64(epoch.Add(time.Hour).UnixMilli())<<8|7, next())
}

func TestServerIDGeneratorConcurrent(t *testing.T) {
	gen := paxos.ServerIDGenerator(1, clockwork.NewFakeClockAt(epoch))
	const workers, each = 8, 500
	ids := make(chan uint64, workers*each)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				id, err := gen.Next()
				if err != nil {
					t.Error(err)
					return
				}
				ids <- id
			}
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[uint64]bool{}
	for id := range ids {
		require.False(t, seen[id], "id %#x returned twice", id)
		seen[id] = true
	}
	require.Len(t, seen, workers*each)
}

func TestServerIDGeneratorNextAbove(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	gen := paxos.ServerIDGenerator(0x10, clock)
	above, ok := gen.(paxos.NextAbover)
	require.True(t, ok, "ServerIDGenerator implements NextAbover")

	now := uint64(epoch.UnixMilli())
	for _, c := range []struct {
		name   string
		min    uint64
		wantMS uint64
	}{
		{"below the clock", 5, now},
		{"same ms, lower server id", (now+100)<<8 | 0x0f, now + 100},
		{"same ms, same server id", (now+200)<<8 | 0x10, now + 201},
		{"same ms, higher server id", (now+300)<<8 | 0xff, now + 301},
	} {
		id, err := above.NextAbove(c.min)
		require.NoError(t, err, c.name)
		require.Greater(t, id, c.min, c.name)
		require.Equal(t, c.wantMS<<8|0x10, id, c.name)
	}

	// Later ids stay above everything returned before, even from Next.
	last, err := above.NextAbove(0)
	require.NoError(t, err)
	require.Equal(t, (now+302)<<8|0x10, last)
	id, err := gen.Next()
	require.NoError(t, err)
	require.Greater(t, id, last)
}

func TestServerIDGeneratorExhausted(t *testing.T) {
	gen := paxos.ServerIDGenerator(3, clockwork.NewFakeClockAt(epoch))
	above := gen.(paxos.NextAbover)

	_, err := above.NextAbove(^uint64(0))
	require.ErrorIs(t, err, paxos.ErrIDsExhausted)

	// The last millisecond can still be used once.
	top, err := above.NextAbove((1<<56-1)<<8 | 0x02)
	require.NoError(t, err)
	require.Equal(t, uint64(1<<56-1)<<8|3, top)
	_, err = gen.Next()
	require.True(t, errors.Is(err, paxos.ErrIDsExhausted), "got %v", err)

	// A clock past the 56-bit range.
	far := paxos.ServerIDGenerator(3, clockwork.NewFakeClockAt(time.UnixMilli(1<<56)))
	_, err = far.Next()
	require.ErrorIs(t, err, paxos.ErrIDsExhausted)
}

func TestServerIDGeneratorNeverZero(t *testing.T) {
	gen := paxos.ServerIDGenerator(0, clockwork.NewFakeClockAt(time.Unix(0, 0)))
	id, err := gen.Next()
	require.NoError(t, err)
	require.NotZero(t, id, "0 is not a valid ballot")
}

// TestServerIDGeneratorsNeverCollide draws from generators with different
// server ids on clocks that jump around: no id is ever shared.
func TestServerIDGeneratorsNeverCollide(t *testing.T) {
	clocks := []*clockwork.FakeClock{clockwork.NewFakeClockAt(epoch), clockwork.NewFakeClockAt(epoch), clockwork.NewFakeClockAt(epoch.Add(time.Second))}
	gens := []paxos.IDGenerator{
		paxos.ServerIDGenerator(1, clocks[0]),
		paxos.ServerIDGenerator(2, clocks[1]),
		paxos.ServerIDGenerator(255, clocks[2]),
	}
	owner := map[uint64]int{}
	steps := []time.Duration{0, time.Millisecond, -3 * time.Millisecond, 0, 2 * time.Millisecond, -time.Second, time.Second}
	for i := 0; i < 3000; i++ {
		g := i % len(gens)
		clocks[g].Advance(steps[(i/len(gens))%len(steps)])
		var id uint64
		var err error
		if i%7 == 0 {
			id, err = gens[g].(paxos.NextAbover).NextAbove(uint64(i) << 8)
		} else {
			id, err = gens[g].Next()
		}
		require.NoError(t, err)
		if prev, dup := owner[id]; dup {
			t.Fatalf("id %#x from generator %d and %d", id, prev, g)
		}
		owner[id] = g
	}
}
