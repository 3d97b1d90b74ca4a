package paxos

import (
	"slices"

	"github.com/google/btree"
)

// memIndex orders a Memory space's records by id. A Log is written mostly
// at its end (accepted slots, recorded positions), so records live in
// sorted chunks of up to memChunkMax, and the B-tree orders the chunks, not
// the records: appending touches only the last chunk, and the tree changes
// once per memChunkMax records. In the Propose benchmark a B-tree of records
// was two thirds of the cost of recording a value in memory.
type memIndex struct {
	chunks *btree.BTreeG[*memChunk] // by first id
	last   *memChunk                // the chunk with the highest ids; nil when empty
}

// memChunk holds records with ascending ids, all below the next chunk's
// first id. It is never empty.
type memChunk struct {
	items []memItem
}

// memChunkMax bounds a chunk; an insertion that overflows one splits it.
const memChunkMax = 256

func (c *memChunk) first() uint64 { return c.items[0].id }

// newChunk returns a chunk of items with room for memChunkMax.
func newChunk(items ...memItem) *memChunk {
	return &memChunk{items: append(make([]memItem, 0, memChunkMax), items...)}
}

func memChunkLess(a, b *memChunk) bool { return a.first() < b.first() }

func newMemIndex() *memIndex {
	return &memIndex{chunks: btree.NewG(16, memChunkLess)}
}

// pivot is a chunk usable as a search key for id.
func pivot(id uint64) *memChunk { return &memChunk{items: []memItem{{id: id}}} }

// put stores it, replacing a record with the same id.
func (x *memIndex) put(it memItem) {
	if c := x.last; c != nil && it.id > c.items[len(c.items)-1].id {
		if len(c.items) < memChunkMax {
			c.items = append(c.items, it)
			return
		}
		x.add(newChunk(it))
		return
	}
	if x.last == nil {
		x.add(&memChunk{items: []memItem{it}}) // many Logs hold a record or two
		return
	}
	c := x.chunkFor(it.id)
	if it.id < c.first() {
		// Below every id: c is the first chunk, and stays first in the tree
		// with its lower key.
		c.items = slices.Insert(c.items, 0, it)
	} else {
		i, found := searchID(c.items, it.id)
		if found {
			c.items[i] = it
			return
		}
		c.items = slices.Insert(c.items, i, it)
	}
	if len(c.items) > memChunkMax {
		half := len(c.items) / 2
		upper := newChunk(c.items[half:]...)
		clear(c.items[half:]) // drop the moved records' references
		c.items = c.items[:half:half]
		x.add(upper)
	}
}

// add inserts a chunk whose ids no other chunk holds.
func (x *memIndex) add(c *memChunk) {
	x.chunks.ReplaceOrInsert(c)
	if x.last == nil || c.first() > x.last.first() {
		x.last = c
	}
}

// chunkFor returns the chunk id belongs in: the last one whose first id is
// at most id, or the first chunk when id is below them all. The index must
// not be empty.
func (x *memIndex) chunkFor(id uint64) *memChunk {
	var c *memChunk
	x.chunks.DescendLessOrEqual(pivot(id), func(ch *memChunk) bool {
		c = ch
		return false
	})
	if c == nil {
		c, _ = x.chunks.Min()
	}
	return c
}

// max returns the record with the highest id.
func (x *memIndex) max() (memItem, bool) {
	if x.last == nil {
		return memItem{}, false
	}
	return x.last.items[len(x.last.items)-1], true
}

// ascend calls fn with every record whose id is at least from, in id order,
// until fn returns false.
func (x *memIndex) ascend(from uint64, fn func(memItem) bool) {
	if x.last == nil {
		return
	}
	start := x.chunkFor(from)
	x.chunks.AscendGreaterOrEqual(start, func(c *memChunk) bool {
		i := 0
		if c == start {
			i, _ = searchID(c.items, from)
		}
		for _, it := range c.items[i:] {
			if !fn(it) {
				return false
			}
		}
		return true
	})
}

// searchID returns where id is, or would be, in items (sorted by id).
func searchID(items []memItem, id uint64) (int, bool) {
	return slices.BinarySearchFunc(items, id, func(m memItem, id uint64) int {
		switch {
		case m.id < id:
			return -1
		case m.id > id:
			return 1
		}
		return 0
	})
}
