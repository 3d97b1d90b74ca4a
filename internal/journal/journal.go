// Package journal is a write-ahead journal of opaque records, made durable
// with one write and one fdatasync per Append, or, on Linux where the
// filesystem takes it, one O_DIRECT|O_DSYNC write.
//
// It exists for stores whose own sync is expensive (badger v3 msyncs two
// memory-mapped files per synced write, and makes every page it syncs fault
// again on the next write): the store writes without syncing, the journal
// makes each write durable first, and a checkpoint (the store's files
// synced) lets the journal reuse its space.
//
// The journal is two files used in turn. Each record carries a sequence
// number, one more than the record before it, and a CRC. Recovery takes the
// longest chain of consecutive sequence numbers that ends at the newest
// valid record, possibly starting in the other file, and hands it back in
// order; once the store has made it durable, writing goes on in the file
// the chain did not end in. A torn or corrupt record ends the chain.
//
// Before a file is reused, every record in it must be durable in the store:
// the journal calls Options.Checkpoint, on a goroutine of its own, as soon
// as it starts writing a file (and, with Options.CheckpointBytes, more
// often), and waits for the last one started before it moves to the other
// file and overwrites it. Every record of the other file was handed to the
// store before that checkpoint began, so the checkpoint covers them.
package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sync"
	"unsafe"
)

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("journal: closed")

// ErrTooLarge is returned by Append for a record that does not fit in one
// file.
var ErrTooLarge = errors.New("journal: record larger than a journal file")

// DefaultFileBytes is the size at which the journal moves to its other file.
const DefaultFileBytes = 8 << 20

// headerBytes is a record's header: payload length, CRC, sequence number.
const headerBytes = 4 + 4 + 8

// growBytes is how far a file is extended with zeros at a time, so that
// most Appends write within the file's size and fdatasync flushes data
// alone, not the inode.
const growBytes = 256 << 10

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Options configure Open.
type Options struct {
	// FileBytes is the size of each of the two files; 0 means
	// DefaultFileBytes. A record larger than FileBytes-16 is refused.
	FileBytes int64
	// CheckpointBytes starts a checkpoint, if none is running, each time
	// this many bytes were appended since the last one began, on top of the
	// one each switch of files starts: what a checkpoint has to sync, and
	// how long it takes, stays small. 0 means only at switches.
	CheckpointBytes int64
	// Checkpoint makes everything handed to the store so far durable. It
	// is required, is called on a goroutine of the journal's, and may
	// block; an error fails the Append that waits for it, and every
	// Append after.
	Checkpoint func() error
	// Buffered makes every Append a write through the page cache and an
	// fdatasync. Otherwise, on Linux, when FileBytes is a multiple of
	// DirectBlock and the filesystem takes direct I/O, each Append is one
	// O_DIRECT|O_DSYNC write of the blocks the record touches.
	Buffered bool
}

// DirectBlock is the unit of direct writes: offsets, lengths and buffers are
// multiples of it. 4096 serves disks of 512- and 4096-byte sectors alike.
// Exported, with AlignedBuffer and OpenDirect, for the benchmarks' disk
// floor of the same write.
const DirectBlock = 4096

// Journal is an open journal. Its caller appends one record at a time and
// hands each record to the store before it appends the next: the
// checkpoint that starts when a file is begun must cover every record
// before it.
type Journal struct {
	opts  Options
	mu    sync.Mutex
	files [2]*os.File
	// direct holds each file opened for direct writes, or nils when the
	// journal writes through the page cache and syncs.
	direct [2]*os.File
	// dbuf is the aligned buffer of direct writes; its first off%DirectBlock
	// bytes are the start of the block that off is in, as written last.
	dbuf  []byte
	sizes [2]int64 // bytes allocated in each file
	cur   int      // the file being written
	off   int64    // where the next record goes in files[cur]
	seq   uint64   // the last sequence number written
	buf   []byte
	err   error         // sticky: once a write failed, the file's state is unknown
	ckpt  chan struct{} // closed when the last checkpoint started has ended
	cerr  error         // its error, read after ckpt is closed
	since int64         // bytes appended since that checkpoint began
}

// Open opens the journal in dir (creating its files if needed), calls
// replay with every record of the newest chain, oldest first, and then, if
// it replayed any, Options.Checkpoint. A replay or checkpoint error ends
// Open. The payload
// passed to replay is only valid during the call.
func Open(dir string, opts Options, replay func(seq uint64, payload []byte) error) (*Journal, error) {
	if opts.Checkpoint == nil {
		return nil, errors.New("journal: Options.Checkpoint is required")
	}
	if opts.FileBytes == 0 {
		opts.FileBytes = DefaultFileBytes
	}
	if opts.FileBytes < 2*headerBytes {
		return nil, fmt.Errorf("journal: Options.FileBytes %d is too small", opts.FileBytes)
	}
	j := &Journal{opts: opts}
	for i := range j.files {
		f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("journal-%d", i)), os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			j.closeFiles()
			return nil, fmt.Errorf("journal: %w", err)
		}
		j.files[i] = f
		st, err := f.Stat()
		if err != nil {
			j.closeFiles()
			return nil, fmt.Errorf("journal: %w", err)
		}
		j.sizes[i] = st.Size()
	}
	if err := syncDir(dir); err != nil {
		j.closeFiles()
		return nil, err
	}
	if !opts.Buffered && opts.FileBytes%DirectBlock == 0 {
		j.openDirect()
	}
	replayed, err := j.recover(replay)
	if err != nil {
		j.closeFiles()
		return nil, err
	}
	if replayed {
		// Everything replayed is made durable in the store now, and writing
		// goes on in the other file: the chain's newest file may hold, after
		// the point where it ended (a corrupt record), records of the same
		// pass that a new record of the same length would bring back.
		if err := opts.Checkpoint(); err != nil {
			j.closeFiles()
			return nil, fmt.Errorf("journal: checkpoint after replay: %w", err)
		}
		j.cur, j.off = 1-j.cur, 0
	}
	done := make(chan struct{})
	close(done)
	j.ckpt = done // nothing is written yet that a checkpoint must cover
	return j, nil
}

// run is a chain of records read from the start of one file.
type run struct {
	first, last uint64 // sequence numbers; last < first when empty
}

func (r run) empty() bool { return r.last < r.first }

// recover finds the newest chain and replays it. It leaves cur at the file
// the chain ends in and seq at its last record.
func (j *Journal) recover(replay func(uint64, []byte) error) (bool, error) {
	var runs [2]run
	for i, f := range j.files {
		r, err := scan(f, j.sizes[i], nil)
		if err != nil {
			return false, err
		}
		runs[i] = r
	}
	newest := 0
	if runs[1].last > runs[0].last {
		newest = 1
	}
	other := 1 - newest
	if runs[newest].empty() {
		return false, nil // a new journal: write file 0 from its start
	}
	// The other file's run belongs to the chain when it ends right before
	// the newest one begins.
	if !runs[other].empty() && runs[other].last+1 == runs[newest].first {
		if _, err := scan(j.files[other], j.sizes[other], replay); err != nil {
			return false, err
		}
	}
	if _, err := scan(j.files[newest], j.sizes[newest], replay); err != nil {
		return false, err
	}
	j.cur, j.seq = newest, runs[newest].last
	return true, nil
}

// scan reads the chain at the start of f and, if fn is not nil, passes it
// each record.
func scan(f *os.File, size int64, fn func(uint64, []byte) error) (run, error) {
	r := run{first: 1}
	var hdr [headerBytes]byte
	var payload []byte
	for off := int64(0); off+headerBytes <= size; {
		if _, err := f.ReadAt(hdr[:], off); err != nil {
			return run{}, fmt.Errorf("journal: reading %s at %d: %w", f.Name(), off, err)
		}
		n := int64(binary.LittleEndian.Uint32(hdr[0:4]))
		sum := binary.LittleEndian.Uint32(hdr[4:8])
		seq := binary.LittleEndian.Uint64(hdr[8:16])
		if n == 0 || seq == 0 || off+headerBytes+n > size {
			break // zeros past the end, or a length no record could have
		}
		if !r.empty() && seq != r.last+1 {
			break // an older record that a newer chain did not overwrite
		}
		payload = grow(payload, int(n))
		if _, err := f.ReadAt(payload, off+headerBytes); err != nil {
			return run{}, fmt.Errorf("journal: reading %s at %d: %w", f.Name(), off, err)
		}
		if crc32.Update(crc32.Checksum(hdr[8:16], castagnoli), castagnoli, payload) != sum {
			break // torn or corrupt
		}
		if fn != nil {
			if err := fn(seq, payload); err != nil {
				return run{}, err
			}
		}
		if r.empty() {
			r.first = seq
		}
		r.last = seq
		off += headerBytes + n
	}
	return r, nil
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

// Append writes payload as the next record and returns once it is synced.
func (j *Journal) Append(payload []byte) error {
	if len(payload) == 0 {
		return errors.New("journal: empty record")
	}
	need := int64(headerBytes + len(payload))
	if need > j.opts.FileBytes {
		return fmt.Errorf("%w: %d bytes", ErrTooLarge, len(payload))
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return j.err
	}
	if j.off+need > j.opts.FileBytes {
		if err := j.switchFiles(); err != nil {
			return err
		}
	}
	f := j.files[j.cur]
	end := j.off + need
	if j.direct[j.cur] != nil {
		end = roundUp(end, DirectBlock) // within FileBytes, a multiple of it
	}
	if end > j.sizes[j.cur] {
		// Extend the file with written zeros (not a hole, whose blocks
		// would be allocated at each write), so that the next Appends
		// write within the file's size and need only their data flushed,
		// not the inode.
		to := min(max(end, j.sizes[j.cur]+growBytes), j.opts.FileBytes)
		if _, err := f.WriteAt(make([]byte, to-j.sizes[j.cur]), j.sizes[j.cur]); err != nil {
			return j.fail(err)
		}
		if j.direct[j.cur] != nil {
			// Direct writes do not flush the page cache's zeros or the
			// new size: this does, before any record lies beyond the old
			// end.
			if err := fdatasync(f); err != nil {
				return j.fail(err)
			}
		}
		j.sizes[j.cur] = to
	}
	j.buf = grow(j.buf, int(need))
	seq := j.seq + 1
	binary.LittleEndian.PutUint32(j.buf[0:4], uint32(len(payload)))
	binary.LittleEndian.PutUint64(j.buf[8:16], seq)
	copy(j.buf[headerBytes:], payload)
	binary.LittleEndian.PutUint32(j.buf[4:8], crc32.Checksum(j.buf[8:], castagnoli))
	if err := j.write(f, j.buf); err != nil {
		return j.fail(err)
	}
	j.off += need
	j.seq = seq
	j.since += need
	if j.opts.CheckpointBytes > 0 && j.since >= j.opts.CheckpointBytes && j.checkpointEnded() {
		if j.checkpointFailed() != nil {
			return nil // this record is durable; the next Append fails
		}
		j.startCheckpoint()
	}
	return nil
}

// write makes rec durable at off in the current file.
func (j *Journal) write(f *os.File, rec []byte) error {
	if d := j.direct[j.cur]; d != nil {
		err := j.writeDirect(d, rec)
		if err == nil || !directRefused(err) {
			return err
		}
		// The filesystem took the flags at open but refuses the writes:
		// nothing was written, so go on through the page cache.
		j.closeDirect()
	}
	if _, err := f.WriteAt(rec, j.off); err != nil {
		return err
	}
	return fdatasync(f)
}

// writeDirect writes the blocks from the one off is in through the one
// rec ends in: the earlier records' bytes of the first block (kept in
// dbuf), rec, and zeros to the block's end, which a later record
// overwrites as it would the file's zeros.
func (j *Journal) writeDirect(d *os.File, rec []byte) error {
	start := j.off &^ (DirectBlock - 1)
	head := int(j.off - start)
	end := head + len(rec)
	n := int(roundUp(int64(end), DirectBlock))
	if cap(j.dbuf) < n {
		b := AlignedBuffer(max(n, 2*cap(j.dbuf)))
		copy(b, j.dbuf[:head])
		j.dbuf = b
	}
	j.dbuf = j.dbuf[:n]
	copy(j.dbuf[head:], rec)
	clear(j.dbuf[end:])
	if _, err := d.WriteAt(j.dbuf, start); err != nil {
		return err
	}
	// Keep the start of the block the next record begins in.
	last := end &^ (DirectBlock - 1)
	copy(j.dbuf, j.dbuf[last:end])
	if cap(j.dbuf) > maxKeptDirectBuffer {
		b := AlignedBuffer(DirectBlock)
		copy(b, j.dbuf[:end-last])
		j.dbuf = b
	}
	return nil
}

// maxKeptDirectBuffer bounds the direct-write buffer kept between Appends.
const maxKeptDirectBuffer = 1 << 20

// AlignedBuffer returns n zeroed bytes (a multiple of DirectBlock) whose
// address is a multiple of DirectBlock, as direct I/O requires.
func AlignedBuffer(n int) []byte {
	b := make([]byte, n+DirectBlock)
	skip := int(-uintptr(unsafe.Pointer(&b[0])) & (DirectBlock - 1))
	return b[skip : skip+n : skip+n]
}

func roundUp(n, unit int64) int64 { return (n + unit - 1) &^ (unit - 1) }

// openDirect opens both files for direct writes, or leaves the journal
// writing through the page cache if either cannot be.
func (j *Journal) openDirect() {
	for i, f := range j.files {
		d, err := OpenDirect(f.Name())
		if err != nil {
			j.closeDirect()
			return
		}
		j.direct[i] = d
	}
	j.dbuf = AlignedBuffer(DirectBlock)
}

func (j *Journal) closeDirect() error {
	var errs []error
	for i, d := range j.direct {
		if d != nil {
			errs = append(errs, d.Close())
			j.direct[i] = nil
		}
	}
	j.dbuf = nil
	return errors.Join(errs...)
}

// checkpointFailed makes the error of the last checkpoint, which has
// ended, sticky, and returns it.
func (j *Journal) checkpointFailed() error {
	if j.cerr == nil {
		return nil
	}
	j.err = fmt.Errorf("journal: checkpoint: %w", j.cerr)
	return j.err
}

func (j *Journal) checkpointEnded() bool {
	select {
	case <-j.ckpt:
		return true
	default:
		return false
	}
}

// switchFiles moves to the other file once the last checkpoint started has
// ended: it started no earlier than the current file was begun, so it
// covers the other file's records.
func (j *Journal) switchFiles() error {
	<-j.ckpt
	if err := j.checkpointFailed(); err != nil {
		return err
	}
	j.cur, j.off = 1-j.cur, 0
	j.dbuf = j.dbuf[:0] // the new file's first block holds nothing of ours
	j.startCheckpoint()
	return nil
}

// startCheckpoint checkpoints everything handed to the store so far: every
// record before the current file's first one has been.
func (j *Journal) startCheckpoint() {
	done := make(chan struct{})
	j.ckpt, j.since = done, 0
	go func() {
		j.cerr = j.opts.Checkpoint()
		close(done)
	}()
}

// fail makes err sticky: after a failed write or sync the file's contents
// are unknown, and a later sync could report success for data the kernel
// already dropped.
func (j *Journal) fail(err error) error {
	j.err = fmt.Errorf("journal: %s: %w", j.files[j.cur].Name(), err)
	return j.err
}

// Close waits for a running checkpoint and closes the files. Appends after
// it fail with ErrClosed.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if errors.Is(j.err, ErrClosed) {
		return nil
	}
	<-j.ckpt
	j.err = ErrClosed
	return j.closeFiles()
}

func (j *Journal) closeFiles() error {
	errs := []error{j.closeDirect()}
	for i, f := range j.files {
		if f != nil {
			errs = append(errs, f.Close())
			j.files[i] = nil
		}
	}
	return errors.Join(errs...)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("journal: syncing %s: %w", dir, err)
	}
	return nil
}
