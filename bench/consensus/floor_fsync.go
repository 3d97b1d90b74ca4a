package consensus

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/mjpitz/myago/paxos/internal/journal"
)

// NameFloorFsync selects the disk floor.
const NameFloorFsync = "floor-fsync"

// NameFloorDirect selects the disk floor of direct durable writes.
const NameFloorDirect = "floor-direct"

// floorFileBytes is the size of each floor file; writes wrap around in it.
const floorFileBytes = 1 << 20

// FloorFsync measures the physical floor of a durable log: Propose writes the
// value into a pre-filled file in Config.Dir and fdatasyncs it. Concurrent
// proposals use separate files, so with one client it is the latency of one
// small write and sync, and with many it is what the device does with
// concurrent syncs. Members is ignored.
type FloorFsync struct{}

// Name returns NameFloorFsync.
func (FloorFsync) Name() string { return NameFloorFsync }

// Start makes the floor's directory; it needs Config.Dir even when not
// Durable.
func (FloorFsync) Start(_ context.Context, cfg Config) (Cluster, error) {
	return startFloor(cfg, NameFloorFsync, false)
}

func startFloor(cfg Config, name string, direct bool) (*fsyncFloor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Dir == "" {
		return nil, fmt.Errorf("consensus: %s needs Dir", name)
	}
	dir := filepath.Join(cfg.Dir, name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &fsyncFloor{dir: dir, name: name, direct: direct}, nil
}

// FloorDirect is FloorFsync with the write this library's journal makes on
// Linux: one O_DIRECT|O_DSYNC write of the 4096-byte block holding the
// value, no fdatasync. Linux only.
type FloorDirect struct{}

// Name returns NameFloorDirect.
func (FloorDirect) Name() string { return NameFloorDirect }

// Start makes the floor's directory; it needs Config.Dir even when not
// Durable.
func (FloorDirect) Start(_ context.Context, cfg Config) (Cluster, error) {
	return startFloor(cfg, NameFloorDirect, true)
}

type floorFile struct {
	f     *os.File
	off   int64
	block []byte // direct floors: the aligned block written
}

type fsyncFloor struct {
	dir    string
	name   string
	direct bool

	mu     sync.Mutex
	idle   []*floorFile
	all    []*floorFile
	closed bool
}

func (c *fsyncFloor) take() (*floorFile, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, fmt.Errorf("consensus: %s closed", c.name)
	}
	if n := len(c.idle); n > 0 {
		ff := c.idle[n-1]
		c.idle = c.idle[:n-1]
		return ff, nil
	}
	// Rare (once per concurrent client): creating under the lock keeps the
	// bookkeeping simple.
	name := filepath.Join(c.dir, fmt.Sprintf("%04d", len(c.all)))
	f, err := createPrefilled(name, floorFileBytes)
	if err == nil && c.direct {
		if err = f.Close(); err == nil {
			f, err = journal.OpenDirect(name)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.name, err)
	}
	ff := &floorFile{f: f}
	if c.direct {
		ff.block = journal.AlignedBuffer(journal.DirectBlock)
	}
	c.all = append(c.all, ff)
	return ff, nil
}

func (c *fsyncFloor) Propose(ctx context.Context, value []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ff, err := c.take()
	if err != nil {
		return err
	}
	if c.direct {
		err = ff.writeDirect(value)
	} else {
		err = ff.writeSync(value)
	}
	c.mu.Lock()
	c.idle = append(c.idle, ff)
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("%s: %w", c.name, err)
	}
	return nil
}

func (ff *floorFile) writeSync(value []byte) error {
	if ff.off+int64(len(value)) > floorFileBytes {
		ff.off = 0
	}
	_, err := ff.f.WriteAt(value, ff.off)
	if err == nil {
		err = datasync(ff.f)
	}
	ff.off += int64(len(value))
	return err
}

// writeDirect writes value into the block the next offset falls in, as the
// journal appends a small record: the whole block goes to the device.
func (ff *floorFile) writeDirect(value []byte) error {
	if len(value) > journal.DirectBlock {
		return fmt.Errorf("a value of %d bytes is over one %d-byte block", len(value), journal.DirectBlock)
	}
	if ff.off+int64(len(value)) > floorFileBytes {
		ff.off = 0
		clear(ff.block)
	}
	start := ff.off &^ (journal.DirectBlock - 1)
	if int(ff.off-start)+len(value) > journal.DirectBlock {
		start += journal.DirectBlock // the journal would write two blocks; the floor one
		ff.off = start
		clear(ff.block)
	}
	copy(ff.block[ff.off-start:], value)
	_, err := ff.f.WriteAt(ff.block, start)
	ff.off += int64(len(value))
	if ff.off&(journal.DirectBlock-1) == 0 {
		clear(ff.block)
	}
	return err
}

func (c *fsyncFloor) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	var errs []error
	for _, ff := range c.all {
		errs = append(errs, ff.f.Close())
	}
	c.all, c.idle = nil, nil
	return errors.Join(errs...)
}
