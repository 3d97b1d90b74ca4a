package paxos_test

import (
	"flag"
	"math"
	"runtime"
	"sync"
	"testing"

	"github.com/mjpitz/myago/paxos"
	"github.com/mjpitz/myago/paxos/paxostest"
)

// windowLog is an AcceptedLog that keeps only the newest windowSlots
// entries: in steady state nothing reads further back, so it lets a test
// see the library's own memory without the Log's growth. It stores copies
// and hands out fresh ones, as a Log must.
type windowLog struct {
	mu      sync.Mutex
	entries map[uint64]paxos.Proposal
	lo, hi  uint64
}

const windowSlots = 1024

func newWindowLog() *windowLog { return &windowLog{entries: map[uint64]paxos.Proposal{}} }

func (l *windowLog) WithPrefix(string) paxos.Log { return newWindowLog() }

func (l *windowLog) Record(id uint64, msg interface{}) error {
	p := *msg.(*paxos.Proposal)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries[id] = p
	if id > l.hi {
		l.hi = id
	}
	for l.hi-l.lo > windowSlots {
		delete(l.entries, l.lo)
		l.lo++
	}
	return nil
}

func (l *windowLog) Last(msg interface{}) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if p, ok := l.entries[l.hi]; ok {
		*msg.(*paxos.Proposal) = p
	}
	return nil
}

func (l *windowLog) Range(start, stop uint64, _ interface{}, fn func(interface{}) error) error {
	l.mu.Lock()
	lo, hi := max(start, l.lo), min(stop, l.hi)
	var out []paxos.Proposal
	for id := lo; id <= hi && id >= lo; id++ {
		if p, ok := l.entries[id]; ok {
			out = append(out, p)
		}
		if id == math.MaxUint64 {
			break
		}
	}
	l.mu.Unlock()
	for i := range out {
		p := out[i]
		if err := fn(&p); err != nil {
			return err
		}
	}
	return nil
}

// discardLog is a RecordedLog that keeps nothing (a state machine that
// applies values and forgets them).
type discardLog struct{}

func (discardLog) WithPrefix(string) paxos.Log                                      { return discardLog{} }
func (discardLog) Record(uint64, interface{}) error                                 { return nil }
func (discardLog) Last(interface{}) error                                           { return nil }
func (discardLog) Range(uint64, uint64, interface{}, func(interface{}) error) error { return nil }

var flatPositions = flag.Int64("flat-positions", 1_000_000,
	"how far TestMemoryFlatAsLogGrows grows the log (heap measured at 1/4, 1/2 and all of it)")

// heapInUse is the smallest of a few readings of the live heap, each after
// a full collection: the cluster keeps running while it is measured, and
// what its goroutines allocate at that moment is not what it retains.
func heapInUse() uint64 {
	least := uint64(math.MaxUint64)
	for i := 0; i < 5; i++ {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		least = min(least, ms.HeapAlloc)
	}
	return least
}

// The library's memory does not grow with the log: a 3-member cluster
// whose Logs keep nothing old is measured at 250k, 500k and 1M positions
// (-flat-positions changes the 1M). The heap moves by about 2 MiB from
// one reading to the next (buffers at their high-water mark), so the log
// grows by 500k positions between the readings compared: a leak of one
// small object per position would add 20 MiB.
// Skipped with -short and under the race detector (it takes a while and
// measures the allocator); CI runs it in a step of its own.
func TestMemoryFlatAsLogGrows(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("a measurement: run without -short and -race")
	}
	c := paxostest.NewCluster(t, paxostest.Options{Members: 3, Seed: 1, Storage: func(int) (paxostest.Logs, error) {
		promises := &paxos.Memory{} // one record, replaced
		return paxostest.Logs{Promise: promises, Accepted: newWindowLog(), Recorded: discardLog{}}, nil
	}})
	p := c.Members[0].Paxos()
	var (
		done  int64
		heaps = map[int64]uint64{}
	)
	n := *flatPositions
	quarter, half := n/4, n/2
	for _, at := range []int64{quarter, half, n} {
		proposeParallel(t, p, 8, at-done, uint64(done))
		done = at
		// Every member has delivered it all, so nothing is in flight.
		for _, m := range c.Members {
			if err := m.Paxos().WaitRecorded(testContext(t), uint64(at)); err != nil {
				t.Fatal(err)
			}
		}
		heaps[at] = heapInUse()
		t.Logf("heap after %d positions: %.1f MiB (%d goroutines)", at, float64(heaps[at])/(1<<20), runtime.NumGoroutine())
	}
	growth := int64(heaps[n]) - int64(heaps[half])
	perPosition := float64(growth) / float64(n-half)
	t.Logf("growth over the last %d positions: %.2f MiB (%.1f bytes per position)",
		n-half, float64(growth)/(1<<20), perPosition)
	// A leak of one small object per position would be ~40 bytes each.
	if perPosition > 20 {
		t.Errorf("heap grew %d bytes over %d positions", growth, n-half)
	}
}
