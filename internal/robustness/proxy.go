//go:build unix

package robustness

import (
	"net"
	"sync"
	"time"
)

// linkMode is what a proxy does to the bytes of its link.
type linkMode int

const (
	// pass forwards bytes, after the proxy's delay if it has one.
	pass linkMode = iota
	// cut resets every connection and every new one: the dialer sees its
	// connection reset, as if the peer's host rebooted or a firewall
	// rejected it.
	cut
	// blackhole stops reading and forwarding in both directions and lets
	// new connections wait: the dialer sees a peer that never answers, as
	// in a network partition where packets are dropped. When the link
	// heals, what was held flows on, as TCP retransmission would deliver
	// it.
	blackhole
)

func (m linkMode) String() string {
	switch m {
	case pass:
		return "pass"
	case cut:
		return "cut"
	case blackhole:
		return "blackhole"
	}
	return "unknown"
}

// proxyChunkQueue bounds the chunks a direction holds while delaying them;
// a full queue stops reading, so the sender sees back-pressure.
const proxyChunkQueue = 256

// proxyChunkBytes is the largest read forwarded as one chunk.
const proxyChunkBytes = 32 << 10

// proxy sits on one directed member-to-member link: member i dials member j
// at the proxy's address, and the proxy forwards to j. The nemesis sets its
// mode (and delay) to partition the link; a proxy needs no privileges.
type proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	mode  linkMode
	delay time.Duration
	open  chan struct{} // closed while the mode lets bytes flow
	pipes map[*pipe]struct{}
	done  chan struct{}
	wg    sync.WaitGroup
}

// newProxy listens on a free loopback port and forwards to target.
func newProxy(target string) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{ln: ln, target: target, open: make(chan struct{}), pipes: map[*pipe]struct{}{}, done: make(chan struct{})}
	close(p.open)
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// addr is where the dialing member connects.
func (p *proxy) addr() string { return p.ln.Addr().String() }

// set changes the link's mode and delay. Cutting resets every connection
// now open; healing a blackhole releases what it held.
func (p *proxy) set(mode linkMode, delay time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = delay
	if mode == p.mode {
		return
	}
	if p.mode == blackhole {
		close(p.open)
	}
	p.mode = mode
	switch mode {
	case blackhole:
		p.open = make(chan struct{})
	case cut:
		for pp := range p.pipes {
			pp.reset()
		}
	}
}

// state returns the gate to wait on and the delay to add.
func (p *proxy) state() (<-chan struct{}, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.open, p.delay
}

// close stops the proxy and every connection through it.
func (p *proxy) close() {
	p.mu.Lock()
	select {
	case <-p.done:
		p.mu.Unlock()
		return
	default:
	}
	close(p.done)
	_ = p.ln.Close()
	for pp := range p.pipes {
		pp.reset()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		conn, err := p.ln.Accept()
		if err != nil {
			select {
			case <-p.done:
				return
			case <-time.After(10 * time.Millisecond): // out of descriptors, say: try again
				continue
			}
		}
		p.mu.Lock()
		closed := false
		select {
		case <-p.done:
			closed = true
		default:
		}
		if closed || p.mode == cut {
			p.mu.Unlock()
			resetConn(conn)
			continue
		}
		pp := &pipe{p: p, down: conn, done: make(chan struct{})}
		p.pipes[pp] = struct{}{}
		p.wg.Add(1)
		p.mu.Unlock()
		go pp.run()
	}
}

// resetConn closes conn with a reset (no lingering), so the other side
// fails at once instead of reading a clean end of stream.
func resetConn(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// pipe is one connection through a proxy: down is the dialing member's
// side, up the target's.
type pipe struct {
	p    *proxy
	down net.Conn

	mu   sync.Mutex
	up   net.Conn
	once sync.Once
	done chan struct{}
}

// run waits for the link to let bytes through, dials the target and pumps
// both directions until either side fails.
func (pp *pipe) run() {
	defer pp.p.wg.Done()
	defer pp.forget()
	if !pp.wait() {
		return
	}
	up, err := net.DialTimeout("tcp", pp.p.target, 5*time.Second)
	if err != nil {
		pp.reset() // the target is down: the dialer sees its connection reset
		return
	}
	pp.mu.Lock()
	select {
	case <-pp.done:
		pp.mu.Unlock()
		resetConn(up)
		return
	default:
	}
	pp.up = up
	pp.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); pp.pump(pp.down, up) }()
	go func() { defer wg.Done(); pp.pump(up, pp.down) }()
	wg.Wait()
}

func (pp *pipe) forget() {
	pp.reset()
	pp.p.mu.Lock()
	delete(pp.p.pipes, pp)
	pp.p.mu.Unlock()
}

// reset closes both sides with a reset, once.
func (pp *pipe) reset() {
	pp.once.Do(func() {
		close(pp.done)
		pp.mu.Lock()
		defer pp.mu.Unlock()
		resetConn(pp.down)
		if pp.up != nil {
			resetConn(pp.up)
		}
	})
}

// wait blocks while the link is blackholed; false once the pipe is reset.
func (pp *pipe) wait() bool {
	for {
		open, _ := pp.p.state()
		select {
		case <-pp.done:
			return false
		case <-open:
		}
		// The gate may have been replaced between state and the receive;
		// look again so a blackhole set meanwhile is honoured.
		open2, _ := pp.p.state()
		if open2 == open {
			return true
		}
	}
}

type chunk struct {
	b   []byte
	due time.Time
}

// pump copies src to dst: a reader that stops while the link is
// blackholed and stamps each chunk with its due time, and a writer that
// holds each chunk until then (and while blackholed), so order is kept and
// a delay does not limit throughput.
func (pp *pipe) pump(src, dst net.Conn) {
	q := make(chan chunk, proxyChunkQueue)
	read := make(chan struct{})
	defer func() {
		pp.reset()
		<-read // the reset ends the reader's Read or send
	}()
	go func() {
		defer close(read)
		defer close(q)
		for {
			if !pp.wait() {
				return
			}
			buf := make([]byte, proxyChunkBytes)
			n, err := src.Read(buf)
			if n > 0 {
				_, delay := pp.p.state()
				select {
				case q <- chunk{b: buf[:n], due: time.Now().Add(delay)}:
				case <-pp.done:
					return
				}
			}
			if err != nil {
				pp.reset()
				return
			}
		}
	}()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for c := range q {
		if d := time.Until(c.due); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-pp.done:
				return
			}
		}
		if !pp.wait() {
			return
		}
		if _, err := dst.Write(c.b); err != nil {
			return
		}
	}
}
