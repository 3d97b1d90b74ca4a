package consensus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

// NameFloorRTT selects the network floor.
const NameFloorRTT = "floor-rtt"

// FloorRTT measures the physical floor of the network: Propose sends the
// value over TCP to an echo server on 127.0.0.1 and reads it back (one byte
// when the value is empty). Concurrent proposals use separate connections.
// Members and Durable are ignored.
type FloorRTT struct{}

// Name returns NameFloorRTT.
func (FloorRTT) Name() string { return NameFloorRTT }

// Start starts the echo server.
func (FloorRTT) Start(_ context.Context, cfg Config) (Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", NameFloorRTT, err)
	}
	c := &rttFloor{ln: ln}
	c.wg.Go(c.accept)
	return c, nil
}

type rttFloor struct {
	ln net.Listener
	wg sync.WaitGroup

	mu     sync.Mutex
	idle   []net.Conn
	conns  []net.Conn // every connection, both ends, for Close
	closed bool
}

func (c *rttFloor) track(conn net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.conns = append(c.conns, conn)
	return true
}

func (c *rttFloor) accept() {
	for {
		conn, err := c.ln.Accept()
		if err != nil {
			return
		}
		if !c.track(conn) {
			_ = conn.Close()
			return
		}
		c.wg.Go(func() { echo(conn) })
	}
}

// echo writes back whatever it reads until the connection fails.
func echo(conn net.Conn) {
	buf := make([]byte, 64<<10)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return
		}
		if _, err := conn.Write(buf[:n]); err != nil {
			return
		}
	}
}

func (c *rttFloor) take() (net.Conn, error) {
	c.mu.Lock()
	if n := len(c.idle); n > 0 {
		conn := c.idle[n-1]
		c.idle = c.idle[:n-1]
		c.mu.Unlock()
		return conn, nil
	}
	c.mu.Unlock()
	conn, err := net.Dial("tcp", c.ln.Addr().String())
	if err != nil {
		return nil, err
	}
	if !c.track(conn) {
		_ = conn.Close()
		return nil, errors.New("consensus: floor-rtt closed")
	}
	return conn, nil
}

func (c *rttFloor) Propose(ctx context.Context, value []byte) error {
	if len(value) == 0 {
		value = []byte{0}
	}
	conn, err := c.take()
	if err != nil {
		return fmt.Errorf("%s: %w", NameFloorRTT, err)
	}
	deadline, _ := ctx.Deadline() // zero: no deadline
	if err := conn.SetDeadline(deadline); err != nil {
		return fmt.Errorf("%s: %w", NameFloorRTT, err)
	}
	if _, err := conn.Write(value); err != nil {
		return fmt.Errorf("%s: %w", NameFloorRTT, err)
	}
	// Read back into the value itself: the caller passes a fresh slice.
	if _, err := io.ReadFull(conn, value); err != nil {
		return fmt.Errorf("%s: %w", NameFloorRTT, err)
	}
	c.mu.Lock()
	c.idle = append(c.idle, conn)
	c.mu.Unlock()
	return nil
}

func (c *rttFloor) Close() error {
	err := c.ln.Close()
	c.mu.Lock()
	c.closed = true
	for _, conn := range c.conns {
		_ = conn.Close()
	}
	c.conns, c.idle = nil, nil
	c.mu.Unlock()
	c.wg.Wait()
	return err
}
