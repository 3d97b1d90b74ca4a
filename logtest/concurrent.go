package logtest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mjpitz/myago/paxos"
)

// testConcurrent runs writers on two views while readers Range and Last
// over them (run the suite with -race).
func testConcurrent(t *testing.T, l paxos.Log) {
	const writers, perWriter = 4, 50
	views := []paxos.Log{l, l.WithPrefix("c")}

	done := make(chan struct{})
	var readers sync.WaitGroup
	for r := 0; r < 2; r++ {
		readers.Add(1)
		go func() {
			defer readers.Done()
			v := views[r]
			for {
				select {
				case <-done:
					return
				default:
				}
				prev, first := uint64(0), true
				err := v.Range(0, maxID, paxos.Proposal{}, func(msg interface{}) error {
					p := msg.(*paxos.Proposal)
					if !first && p.ID <= prev {
						return fmt.Errorf("range went from id %d to %d", prev, p.ID)
					}
					if want := proposal(p.ID, "c"); string(p.Value) != string(want.Value) {
						return fmt.Errorf("id %d holds %q, want %q", p.ID, p.Value, want.Value)
					}
					prev, first = p.ID, false
					return nil
				})
				assert.NoError(t, err)
				var last paxos.Proposal
				assert.NoError(t, v.Last(&last))
			}
		}()
	}

	var writing sync.WaitGroup
	bl, isBatch := l.(paxos.BatchLog)
	for w := 0; w < writers; w++ {
		writing.Add(1)
		go func() {
			defer writing.Done()
			for i := 0; i < perWriter; i++ {
				id := uint64(w*perWriter + i)
				v := views[id%2]
				if isBatch && id%2 == 0 && i%5 == 0 {
					// Exercise RecordBatch alongside Record.
					assert.NoError(t, bl.RecordBatch([]uint64{id}, []interface{}{proposal(id, "c")}))
					continue
				}
				assert.NoError(t, v.Record(id, proposal(id, "c")))
			}
		}()
	}
	writing.Wait()
	close(done)
	readers.Wait()

	var even, odd []uint64
	for id := uint64(0); id < writers*perWriter; id++ {
		if id%2 == 0 {
			even = append(even, id)
		} else {
			odd = append(odd, id)
		}
	}
	require.False(t, t.Failed())
	requireContents(t, views[0], "c", even...)
	requireContents(t, views[1], "c", odd...)
}
