package consensus

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sync"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// walSegmentBytes is the size each WAL segment is preallocated to, as in
// etcd's WAL.
const walSegmentBytes = 64 << 20

// WAL record types.
const (
	walEntry byte = 1
	walState byte = 2
	walSnap  byte = 3
)

// walHeaderBytes is a record's header: payload length and CRC-32C, each a
// little-endian uint32. The payload is the type byte and the protobuf.
const walHeaderBytes = 8

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// wal is the etcd-raft member's write-ahead log: what etcd's WAL does on the
// write path (CRC'd records in preallocated segments, one write and at most
// one fdatasync per Ready), without replay, which the benchmark never does.
// Segments that are full are removed in the background: a member that
// compacts its log to the last snapshot would drop them likewise.
type wal struct {
	dir          string
	segmentBytes int64
	buf          []byte

	f   *os.File
	off int64

	// A background goroutine keeps one preallocated segment ready in spare,
	// as etcd's file pipeline does, and removes the segments sent to purge.
	spare chan segment
	purge chan segment
	stop  chan struct{}
	wg    sync.WaitGroup
	errMu sync.Mutex
	err   error // the pipeline's first error
}

type segment struct {
	f    *os.File
	path string
}

func openWAL(dir string, segmentBytes int64) (*wal, error) {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	w := &wal{
		dir:          dir,
		segmentBytes: segmentBytes,
		spare:        make(chan segment),
		purge:        make(chan segment, 4),
		stop:         make(chan struct{}),
	}
	first, err := createSegment(dir, 0, segmentBytes)
	if err != nil {
		return nil, err
	}
	w.f = first.f
	w.wg.Go(w.pipeline)
	return w, nil
}

func createSegment(dir string, seq int, size int64) (segment, error) {
	path := filepath.Join(dir, fmt.Sprintf("%016d.wal", seq))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return segment{}, fmt.Errorf("wal: %w", err)
	}
	if err := preallocate(f, size); err != nil {
		_ = f.Close()
		return segment{}, fmt.Errorf("wal: %w", err)
	}
	// Make the new file's directory entry and size durable now, so that
	// the data syncs on the write path have nothing else to flush.
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return segment{}, fmt.Errorf("wal: %w", err)
	}
	if err := syncDir(dir); err != nil {
		_ = f.Close()
		return segment{}, fmt.Errorf("wal: %w", err)
	}
	return segment{f: f, path: path}, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	return errors.Join(err, d.Close())
}

func (w *wal) pipeline() {
	for seq := 1; ; seq++ {
		next, err := createSegment(w.dir, seq, w.segmentBytes)
		if err != nil {
			w.fail(err)
			close(w.spare) // cut then fails instead of waiting
			return
		}
		for offered := false; !offered; {
			select {
			case w.spare <- next:
				offered = true
			case old := <-w.purge:
				w.remove(old)
			case <-w.stop:
				_ = next.f.Close()
				for {
					select {
					case old := <-w.purge:
						w.remove(old)
					default:
						return
					}
				}
			}
		}
	}
}

func (w *wal) remove(s segment) {
	if err := errors.Join(s.f.Close(), os.Remove(s.path)); err != nil {
		w.fail(err)
	}
}

func (w *wal) fail(err error) {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	if w.err == nil {
		w.err = err
	}
}

func (w *wal) pipelineErr() error {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	return w.err
}

// save appends ents and hs (nil: unchanged) and, when sync, makes them
// durable with one fdatasync. It must return before the Ready's messages are
// sent.
func (w *wal) save(hs *pb.HardState, ents []*pb.Entry, snap *pb.Snapshot, sync bool) error {
	var err error
	w.buf = w.buf[:0]
	if snap != nil {
		// Only the metadata: the snapshot's data goes to its own file in
		// etcd, and here it is empty.
		if w.buf, err = appendRecord(w.buf, walSnap, snap.GetMetadata()); err != nil {
			return err
		}
	}
	for _, e := range ents {
		if w.buf, err = appendRecord(w.buf, walEntry, e); err != nil {
			return err
		}
	}
	if hs != nil {
		if w.buf, err = appendRecord(w.buf, walState, hs); err != nil {
			return err
		}
	}
	if len(w.buf) == 0 {
		return nil
	}
	if w.off > 0 && w.off+int64(len(w.buf)) > w.segmentBytes {
		if err := w.cut(); err != nil {
			return err
		}
	}
	// A Ready larger than a segment simply extends it.
	if _, err := w.f.WriteAt(w.buf, w.off); err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	w.off += int64(len(w.buf))
	if !sync {
		return nil
	}
	if err := datasync(w.f); err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	return nil
}

// cut syncs the full segment and switches to the spare one.
func (w *wal) cut() error {
	if err := datasync(w.f); err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	var next segment
	select {
	case next = <-w.spare:
	case <-w.stop:
		return errors.New("wal: closed")
	}
	if next.f == nil {
		return fmt.Errorf("wal: no spare segment: %w", w.pipelineErr())
	}
	old := segment{f: w.f, path: w.f.Name()}
	w.f, w.off = next.f, 0
	select {
	case w.purge <- old:
	default:
		// The pipeline is behind: keep the file rather than block.
		_ = old.f.Close()
	}
	return nil
}

// close stops the pipeline and closes the current segment. The caller must
// not call save concurrently.
func (w *wal) close() error {
	close(w.stop)
	w.wg.Wait()
	return errors.Join(w.f.Close(), w.pipelineErr())
}

// appendRecord appends one record holding typ and msg to buf.
func appendRecord(buf []byte, typ byte, msg proto.Message) ([]byte, error) {
	start := len(buf)
	buf = append(buf, make([]byte, walHeaderBytes)...)
	buf = append(buf, typ)
	buf, err := proto.MarshalOptions{}.MarshalAppend(buf, msg)
	if err != nil {
		return buf[:start], fmt.Errorf("wal: encode: %w", err)
	}
	payload := buf[start+walHeaderBytes:]
	binary.LittleEndian.PutUint32(buf[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(buf[start+4:], crc32.Checksum(payload, crcTable))
	return buf, nil
}
