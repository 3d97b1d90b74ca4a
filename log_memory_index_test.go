package paxos

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMemIndexAgainstAModel drives memIndex with appends, replacements and
// insertions anywhere (below every id, inside full chunks, at the ends of the
// id space) and checks every read against a map after each step.
func TestMemIndexAgainstAModel(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rnd := rand.New(rand.NewPCG(seed, 7))
			x := newMemIndex()
			model := map[uint64]string{}
			next := uint64(1 << 20)
			for step := 0; step < 3000; step++ {
				var id uint64
				switch r := rnd.IntN(10); {
				case r < 4: // append
					next += 1 + rnd.Uint64N(3)
					id = next
				case r < 7: // anywhere among the existing ids, often a replacement
					id = (1 << 20) + rnd.Uint64N(next-(1<<20)+1)
				case r < 8: // below everything so far
					id = rnd.Uint64N(1 << 20)
				case r < 9:
					id = math.MaxUint64 - rnd.Uint64N(4)
				default:
					id = rnd.Uint64N(4)
				}
				v := fmt.Sprint(step)
				x.put(memItem{id: id, val: []byte(v)})
				model[id] = v
				if step%50 == 0 || step > 2950 {
					checkMemIndex(t, x, model, rnd)
				}
			}
		})
	}
}

func checkMemIndex(t *testing.T, x *memIndex, model map[uint64]string, rnd *rand.Rand) {
	t.Helper()
	ids := make([]uint64, 0, len(model))
	for id := range model {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	top, ok := x.max()
	require.True(t, ok)
	require.Equal(t, ids[len(ids)-1], top.id)
	require.Equal(t, model[top.id], string(top.val))

	froms := []uint64{0, ids[0], ids[len(ids)-1], math.MaxUint64, ids[rnd.IntN(len(ids))], ids[rnd.IntN(len(ids))] + 1}
	for _, from := range froms {
		i, _ := slices.BinarySearch(ids, from)
		want := ids[i:]
		var got []uint64
		x.ascend(from, func(it memItem) bool {
			require.Equal(t, model[it.id], string(it.val), "id %d", it.id)
			got = append(got, it.id)
			return true
		})
		require.Equal(t, len(want), len(got), "ascend from %d", from)
		if len(want) > 0 {
			require.Equal(t, want, got, "ascend from %d", from)
		}
	}
	// Stopping early visits a prefix.
	n := 0
	x.ascend(0, func(memItem) bool { n++; return n < 5 })
	require.Equal(t, min(5, len(ids)), n)
	// Chunks stay within bounds and in order.
	var prev *memChunk
	x.chunks.Ascend(func(c *memChunk) bool {
		require.NotEmpty(t, c.items)
		require.LessOrEqual(t, len(c.items), memChunkMax)
		require.True(t, slices.IsSortedFunc(c.items, func(a, b memItem) int {
			if a.id < b.id {
				return -1
			}
			return 1
		}))
		if prev != nil {
			require.Less(t, prev.items[len(prev.items)-1].id, c.first())
		}
		prev = c
		return true
	})
	require.Same(t, prev, x.last)
}

func TestMemIndexEmpty(t *testing.T) {
	x := newMemIndex()
	_, ok := x.max()
	require.False(t, ok)
	x.ascend(0, func(memItem) bool { t.Fatal("visited a record of an empty index"); return false })
}
