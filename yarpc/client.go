package yarpc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// ClientConn is a client's connection to one server address. It dials
// lazily, at the first OpenStream, carries every stream over one connection,
// and dials again when the connection breaks or the server goes away. It is
// safe for concurrent use.
type ClientConn struct {
	network, target string
	cfg             *config
	ctx             context.Context // ends with the ClientConn
	cancel          context.CancelFunc
	stopWatch       func() bool

	mu        sync.Mutex
	sess      *session              // the session new streams use, or nil
	sessions  map[*session]struct{} // every open session, draining ones too
	dialing   *dialAttempt          // the running dial, or nil
	lastErr   error                 // the last dial's error
	nextDial  time.Time             // no dial before this (back-off)
	backoff   time.Duration
	closed    bool
	closeDone chan struct{}

	wg sync.WaitGroup // dials and session goroutines
}

// DialContext returns a ClientConn for target (an address for network, as
// in net.Dial). It does not connect: OpenStream does, at first use and after
// the connection breaks, with a capped back-off between failed attempts.
// ctx bounds the ClientConn's life; Close ends it earlier.
func DialContext(ctx context.Context, network, target string, opts ...Option) *ClientConn {
	if ctx == nil {
		ctx = context.Background()
	}
	c := &ClientConn{
		network:   network,
		target:    target,
		cfg:       newConfig(opts),
		sessions:  make(map[*session]struct{}),
		closeDone: make(chan struct{}),
	}
	c.ctx, c.cancel = context.WithCancel(ctx)
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	// The callback may already run (ctx ended before the call): it reads
	// stopWatch under mu.
	c.mu.Lock()
	c.stopWatch = stop
	c.mu.Unlock()
	return c
}

// OpenStream opens a stream for method. Nothing is sent until the first
// WriteMsg, CloseSend or ReadMsg, so an unknown method is reported by
// ReadMsg (a *Status with CodeNotFound). ctx bounds the stream's life: when
// it ends, the stream is cancelled at the server.
//
// OpenStream dials if there is no connection. While the back-off after a
// failed dial runs, it fails at once with an error matching ErrUnavailable
// and the dial's error.
func (c *ClientConn) OpenStream(ctx context.Context, method string) (Stream, error) {
	if err := checkMethod(method); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, ErrClientClosed
		}
		if c.sess != nil {
			st, ok := c.sess.openStream(ctx, method)
			if ok {
				c.mu.Unlock()
				return st, nil
			}
			c.sess = nil // draining or closed; dial a new one
		}
		if c.dialing == nil {
			if time.Now().Before(c.nextDial) {
				err := c.lastErr
				c.mu.Unlock()
				return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
			}
			c.dialing = &dialAttempt{done: make(chan struct{})}
			c.wg.Add(1)
			go c.dial(c.dialing)
		}
		dialing := c.dialing
		c.mu.Unlock()
		select {
		case <-dialing.done:
			if dialing.err != nil {
				return nil, dialing.err // the callers that waited get the dial's own error
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// dialAttempt is one run of dial; err is set before done is closed.
type dialAttempt struct {
	done chan struct{}
	err  error
}

// dial connects, and on success makes the connection the current session.
func (c *ClientConn) dial(a *dialAttempt) {
	defer c.wg.Done()
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.dialTimeout)
	conn, err := c.cfg.dialer(ctx, c.network, c.target)
	if err == nil && c.cfg.tls != nil {
		conn, err = c.handshake(ctx, conn)
	}
	cancel()

	c.mu.Lock()
	defer c.mu.Unlock()
	c.dialing = nil
	defer close(a.done)
	if err != nil {
		c.backoff = min(max(2*c.backoff, c.cfg.minBackoff), c.cfg.maxBackoff)
		wait := c.backoff/2 + rand.N(c.backoff/2+1) // jitter against herds of clients
		c.nextDial = time.Now().Add(wait)
		c.lastErr = fmt.Errorf("yarpc: dial %s %s: %w", c.network, c.target, err)
		a.err = c.lastErr
		c.cfg.logger.Info("yarpc: dial failed", "target", c.target, "err", err, "retry_in", wait)
		return
	}
	if c.closed {
		_ = conn.Close()
		return
	}
	c.backoff = 0
	sess := newSession(conn, c.cfg)
	sess.client = true
	sess.cc = c
	var b [frameHeaderBytes]byte
	sess.sendControl(appendFrameHeader(b[:0], kindHello, 0, 0))
	c.sess = sess
	c.sessions[sess] = struct{}{}
	sess.start(&c.wg)
}

// handshake runs the client's TLS handshake over conn.
func (c *ClientConn) handshake(ctx context.Context, conn net.Conn) (net.Conn, error) {
	cfg := c.cfg.tls
	if cfg.ServerName == "" && !cfg.InsecureSkipVerify {
		cfg = cfg.Clone()
		host, _, err := net.SplitHostPort(c.target)
		if err != nil {
			host = c.target
		}
		cfg.ServerName = host
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("tls handshake: %w", err)
	}
	return tc, nil
}

// sessionClosed forgets a session that ended.
func (c *ClientConn) sessionClosed(sess *session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess == sess {
		c.sess = nil
	}
	delete(c.sessions, sess)
}

// Close closes the connection and fails its streams with errors matching
// ErrClientClosed. It returns once everything the ClientConn started has
// stopped.
func (c *ClientConn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		<-c.closeDone
		return nil
	}
	c.closed = true
	sessions := make([]*session, 0, len(c.sessions))
	for s := range c.sessions {
		sessions = append(sessions, s)
	}
	c.mu.Unlock()

	c.mu.Lock()
	stop := c.stopWatch
	c.mu.Unlock()
	if stop != nil {
		stop()
	}
	c.cancel()
	for _, s := range sessions {
		s.close(ErrClientClosed)
	}
	c.wg.Wait()
	close(c.closeDone)
	return nil
}

// openStream creates a client stream; it reports false when the session
// takes no new streams.
func (s *session) openStream(ctx context.Context, method string) (*stream, bool) {
	s.mu.Lock()
	if s.closed || s.draining {
		s.mu.Unlock()
		return nil, false
	}
	if s.lastID == math.MaxUint32-1 {
		s.draining = true // ids exhausted: the next stream dials anew
		s.mu.Unlock()
		return nil, false
	}
	s.lastID++
	st := newStream(s, s.lastID, ctx)
	st.method = method
	s.streams[st.id] = st
	s.mu.Unlock()
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { st.closeClient(ctx.Err()) })
		st.mu.Lock() // the callback may already run and read stopWatch
		st.stopWatch = stop
		st.mu.Unlock()
	}
	return st, true
}

// goAwayReceived stops new streams on the session; it closes once its last
// stream ends.
func (s *session) goAwayReceived() {
	s.mu.Lock()
	s.draining = true
	idle := len(s.streams) == 0
	s.mu.Unlock()
	if s.cc != nil {
		s.cc.mu.Lock()
		if s.cc.sess == s {
			s.cc.sess = nil
		}
		s.cc.mu.Unlock()
	}
	if idle {
		s.close(errors.New("server went away"))
	}
}
