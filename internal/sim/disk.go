package sim

import (
	"slices"

	"github.com/mjpitz/myago/paxos/internal/core"
)

// disk is one member's durable state and its queue of writes. Writes become
// durable in order when the sync that covers them completes (one sync covers
// everything queued when it starts: group commit); a crash loses every write
// whose sync has not completed, and the replies waiting on them.
type disk struct {
	promise    core.PromiseRecord
	entries    map[uint64]storedEntry
	ballotMax  uint64
	watermark  uint64 // the acceptor's last Watermark write
	checkpoint *core.Checkpoint
	recorded   []recordedValue // RecordedLog: position i+1

	queue   []pendingWrite
	syncing bool
	epoch   int // bumped by a crash: syncs of an older epoch are void
}

type storedEntry struct {
	e     core.Entry
	stamp uint64
}

type recordedValue struct {
	value  string
	slot   uint64
	offset uint32
}

type pendingWrite struct {
	apply func(*disk)
	done  func()
}

func newDisk() *disk { return &disk{entries: map[uint64]storedEntry{}} }

// Entries implements core.EntryReader over the durable entries.
func (d *disk) Entries(from uint64, fn func(core.Entry) bool) error {
	slots := make([]uint64, 0, len(d.entries))
	for s := range d.entries {
		if s >= from {
			slots = append(slots, s)
		}
	}
	slices.Sort(slots)
	for _, s := range slots {
		if !fn(d.entries[s].e) {
			break
		}
	}
	return nil
}

// lastStamp returns the stamp of the entry with the highest slot.
func (d *disk) lastStamp() uint64 {
	var top uint64
	var stamp uint64
	for s, se := range d.entries {
		if s >= top {
			top, stamp = s, se.stamp
		}
	}
	return stamp
}

// restoreAcceptor reads the acceptor back the way the driver does: the
// promise, the stamp of the highest entry, and every entry above it.
func (d *disk) restoreAcceptor() *core.Acceptor {
	stamp := max(d.lastStamp(), d.watermark)
	var above []core.Entry
	var stamps []uint64
	_ = d.Entries(stamp+1, func(e core.Entry) bool {
		above = append(above, e)
		stamps = append(stamps, d.entries[e.Slot].stamp)
		return true
	})
	return core.RestoreAcceptor(d.promise, stamp, above, stamps)
}

func (d *disk) applyWrites(ws []core.Write) func(*disk) {
	return func(d *disk) {
		for _, w := range ws {
			if w.Promise != nil {
				d.promise = *w.Promise
			}
			if w.Entry != nil {
				d.entries[w.Entry.Slot] = storedEntry{e: *w.Entry, stamp: w.Chosen}
			}
			if w.Watermark {
				d.watermark = max(d.watermark, w.Chosen)
			}
		}
	}
}
