package consensus

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

const (
	// peerQueueMessages bounds the messages waiting for one peer's writer;
	// past it messages are dropped and the peer reported unreachable, as
	// etcd's rafthttp does with the same buffer size.
	peerQueueMessages = 4096
	// maxFrameBytes bounds one incoming frame: twice raft's MaxSizePerMsg
	// plus room for a snapshot's metadata.
	maxFrameBytes = 64 << 20
	// connBufferBytes sizes the buffered reader and writer of a connection.
	connBufferBytes = 64 << 10
	// redialDelay paces reconnection attempts to a peer that is down.
	redialDelay = 50 * time.Millisecond
)

// etcdTransport carries raftpb.Messages between members over TCP: one
// outgoing connection per peer, each written by its own goroutine that
// batches whatever is queued into one flush, and length-prefixed frames.
type etcdTransport struct {
	ln  net.Listener
	log *slog.Logger

	// node receives incoming messages; set before start.
	node raft.Node

	ctx    context.Context // ends when the transport closes
	cancel context.CancelFunc
	peers  map[uint64]*peerWriter
	wg     sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

type peerWriter struct {
	id   uint64
	addr string
	q    chan *pb.Message
}

func listenEtcdTransport(log *slog.Logger) (*etcdTransport, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &etcdTransport{
		ln:     ln,
		log:    log,
		ctx:    ctx,
		cancel: cancel,
		peers:  make(map[uint64]*peerWriter),
		conns:  make(map[net.Conn]struct{}),
	}, nil
}

func (t *etcdTransport) addr() string { return t.ln.Addr().String() }

// start begins accepting and writing; addrs maps every peer's id to its
// address and node is the local raft node.
func (t *etcdTransport) start(node raft.Node, addrs map[uint64]string) {
	t.node = node
	for id, addr := range addrs {
		p := &peerWriter{id: id, addr: addr, q: make(chan *pb.Message, peerQueueMessages)}
		t.peers[id] = p
		t.wg.Go(func() { t.write(p) })
	}
	t.wg.Go(t.accept)
}

// send queues msgs for their peers without blocking.
func (t *etcdTransport) send(msgs []*pb.Message) {
	for _, m := range msgs {
		p, ok := t.peers[m.GetTo()]
		if !ok {
			continue
		}
		select {
		case p.q <- m:
		default:
			t.log.Debug("etcd-raft: peer queue full, message dropped", "peer", m.GetTo(), "type", m.GetType())
			t.node.ReportUnreachable(m.GetTo())
			if m.GetType() == pb.MsgSnap {
				t.node.ReportSnapshot(m.GetTo(), raft.SnapshotFailure)
			}
		}
	}
}

func (t *etcdTransport) track(conn net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.conns[conn] = struct{}{}
	return true
}

func (t *etcdTransport) untrack(conn net.Conn) {
	t.mu.Lock()
	delete(t.conns, conn)
	t.mu.Unlock()
	_ = conn.Close()
}

// write owns the connection to p: it dials on demand and writes every queued
// message, flushing when the queue is empty.
func (t *etcdTransport) write(p *peerWriter) {
	var (
		conn    net.Conn
		bw      *bufio.Writer
		scratch []byte
		snaps   []uint64 // MsgSnap recipients to report after the flush
	)
	defer func() {
		if conn != nil {
			t.untrack(conn)
		}
	}()
	for {
		var m *pb.Message
		select {
		case m = <-p.q:
		case <-t.ctx.Done():
			return
		}
		if conn == nil {
			c, err := t.dial(p.addr)
			if err != nil {
				// Drop the message as a lossy network would; raft
				// retransmits.
				t.node.ReportUnreachable(p.id)
				continue
			}
			conn, bw = c, bufio.NewWriterSize(c, connBufferBytes)
		}
		var err error
		for m != nil && err == nil {
			if scratch, err = appendFrame(scratch[:0], m); err == nil {
				_, err = bw.Write(scratch)
			}
			if m.GetType() == pb.MsgSnap {
				snaps = append(snaps, m.GetTo())
			}
			select {
			case m = <-p.q:
			default:
				m = nil
			}
		}
		if err == nil {
			err = bw.Flush()
		}
		status := raft.SnapshotFinish
		if err != nil {
			t.log.Debug("etcd-raft: send failed", "peer", p.id, "err", err)
			t.untrack(conn)
			conn, bw = nil, nil
			t.node.ReportUnreachable(p.id)
			status = raft.SnapshotFailure
		}
		for _, to := range snaps {
			t.node.ReportSnapshot(to, status)
		}
		snaps = snaps[:0]
	}
}

func (t *etcdTransport) dial(addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: time.Second}
	conn, err := d.DialContext(t.ctx, "tcp", addr)
	if err != nil {
		// Pace the retries of a peer that is down.
		select {
		case <-time.After(redialDelay):
		case <-t.ctx.Done():
		}
		return nil, err
	}
	if !t.track(conn) {
		_ = conn.Close()
		return nil, net.ErrClosed
	}
	return conn, nil
}

// appendFrame appends m as a frame: a little-endian uint32 length, then the
// protobuf.
func appendFrame(buf []byte, m *pb.Message) ([]byte, error) {
	buf = append(buf, 0, 0, 0, 0)
	buf, err := proto.MarshalOptions{}.MarshalAppend(buf, m)
	if err != nil {
		return buf, fmt.Errorf("encode %v: %w", m.GetType(), err)
	}
	binary.LittleEndian.PutUint32(buf, uint32(len(buf)-4))
	return buf, nil
}

func (t *etcdTransport) accept() {
	for {
		conn, err := t.ln.Accept()
		if err != nil {
			return
		}
		if !t.track(conn) {
			_ = conn.Close()
			return
		}
		t.wg.Go(func() {
			defer t.untrack(conn)
			if err := t.read(conn); !errors.Is(err, io.EOF) && t.ctx.Err() == nil {
				t.log.Debug("etcd-raft: receive failed", "err", err)
			}
		})
	}
}

// read steps every frame from conn into the node until conn fails; it
// always returns a non-nil error.
func (t *etcdTransport) read(conn net.Conn) error {
	br := bufio.NewReaderSize(conn, connBufferBytes)
	var hdr [4]byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return err
		}
		n := binary.LittleEndian.Uint32(hdr[:])
		if n > maxFrameBytes {
			return fmt.Errorf("frame of %d bytes exceeds %d", n, maxFrameBytes)
		}
		// A fresh buffer per frame: the message's entries keep its bytes.
		frame := make([]byte, n)
		if _, err := io.ReadFull(br, frame); err != nil {
			return err
		}
		m := &pb.Message{}
		if err := proto.Unmarshal(frame, m); err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		if err := t.node.Step(t.ctx, m); err != nil {
			return err
		}
	}
}

// close stops accepting, closes every connection and waits for the
// transport's goroutines.
func (t *etcdTransport) close() error {
	t.cancel()
	err := t.ln.Close()
	t.mu.Lock()
	t.closed = true
	for conn := range t.conns {
		_ = conn.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
	return err
}
