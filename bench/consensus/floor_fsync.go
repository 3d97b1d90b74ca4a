package consensus

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// NameFloorFsync selects the disk floor.
const NameFloorFsync = "floor-fsync"

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
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Dir == "" {
		return nil, errors.New("consensus: floor-fsync needs Dir")
	}
	dir := filepath.Join(cfg.Dir, "floor-fsync")
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%s: %w", NameFloorFsync, err)
	}
	return &fsyncFloor{dir: dir}, nil
}

type floorFile struct {
	f   *os.File
	off int64
}

type fsyncFloor struct {
	dir string

	mu     sync.Mutex
	idle   []*floorFile
	all    []*floorFile
	closed bool
}

func (c *fsyncFloor) take() (*floorFile, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errors.New("consensus: floor-fsync closed")
	}
	if n := len(c.idle); n > 0 {
		ff := c.idle[n-1]
		c.idle = c.idle[:n-1]
		return ff, nil
	}
	// Rare (once per concurrent client): creating under the lock keeps the
	// bookkeeping simple.
	f, err := createPrefilled(filepath.Join(c.dir, fmt.Sprintf("%04d", len(c.all))), floorFileBytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", NameFloorFsync, err)
	}
	ff := &floorFile{f: f}
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
	if ff.off+int64(len(value)) > floorFileBytes {
		ff.off = 0
	}
	_, err = ff.f.WriteAt(value, ff.off)
	if err == nil {
		err = datasync(ff.f)
	}
	ff.off += int64(len(value))
	c.mu.Lock()
	c.idle = append(c.idle, ff)
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("%s: %w", NameFloorFsync, err)
	}
	return nil
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
