package yarpc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/mjpitz/myago/paxos/internal/workers"
)

// Server serves streams: each stream names a method, and the Handler
// registered for it runs on a goroutine of its own (kept for later streams
// of the connection). The zero value is ready for Handle and Serve; a Server
// serves any number of listeners at once.
type Server struct {
	mux mux

	mu              sync.Mutex
	shut            bool
	listeners       map[net.Listener]struct{}
	sessions        map[*session]struct{}
	shutdownTimeout time.Duration // the longest among the Serve calls
	shutdownDone    chan struct{} // closed when Shutdown has finished
	quit            chan struct{} // closed when Shutdown starts

	conns    sync.WaitGroup // session goroutines
	handlers sync.WaitGroup // running handlers
}

// DefaultServer is the Server used by the package-level Handle, HandleFunc
// and ListenAndServe. Library code and tests should build their own.
var DefaultServer = &Server{}

// Handle registers h for method on DefaultServer.
func Handle(method string, h Handler) { DefaultServer.Handle(method, h) }

// HandleFunc registers fn for method on DefaultServer.
func HandleFunc(method string, fn func(Stream) error) {
	DefaultServer.Handle(method, HandlerFunc(fn))
}

// ListenAndServe serves DefaultServer on a new listener.
func ListenAndServe(network, address string, opts ...Option) error {
	return DefaultServer.ListenAndServe(network, address, opts...)
}

// Handle registers h for method. It panics if method is empty or already
// registered, or h is nil (programming errors, as in net/http). Handlers may
// be added while the server runs.
func (s *Server) Handle(method string, h Handler) { s.mux.handle(method, h) }

// HandleFunc registers fn for method.
func (s *Server) HandleFunc(method string, fn func(Stream) error) {
	s.mux.handle(method, HandlerFunc(fn))
}

// ListenAndServe listens on the address and serves it (see Serve).
func (s *Server) ListenAndServe(network, address string, opts ...Option) error {
	l, err := net.Listen(network, address)
	if err != nil {
		return fmt.Errorf("yarpc: listen: %w", err)
	}
	return s.Serve(l, opts...)
}

// Serve accepts connections on l and serves their streams until Shutdown.
// It always returns a non-nil error and closes l: ErrServerClosed after
// Shutdown (at once when Shutdown came first), or the listener's error.
func (s *Server) Serve(l net.Listener, opts ...Option) error {
	cfg := newConfig(opts)
	if cfg.tls != nil {
		l = tls.NewListener(l, cfg.tls)
	}
	s.mu.Lock()
	if s.shut {
		s.mu.Unlock()
		_ = l.Close()
		return ErrServerClosed
	}
	if s.listeners == nil {
		s.listeners = make(map[net.Listener]struct{})
		s.sessions = make(map[*session]struct{})
		s.quit = make(chan struct{})
	}
	quit := s.quit
	s.listeners[l] = struct{}{}
	s.shutdownTimeout = max(s.shutdownTimeout, cfg.shutdownTimeout)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
		_ = l.Close()
	}()

	var backoff time.Duration
	for {
		conn, err := l.Accept()
		if err != nil {
			if s.isShut() {
				return ErrServerClosed
			}
			var temp interface{ Temporary() bool }
			if errors.As(err, &temp) && temp.Temporary() {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				cfg.logger.Warn("yarpc: accept failed; retrying", "err", err, "backoff", backoff)
				t := time.NewTimer(backoff)
				select {
				case <-t.C:
				case <-quit:
					t.Stop()
				}
				continue
			}
			return fmt.Errorf("yarpc: accept: %w", err)
		}
		backoff = 0
		s.serveConn(conn, cfg)
	}
}

func (s *Server) isShut() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shut
}

// handlerWorkers bounds the goroutines a connection keeps for its handlers
// (see package workers); handlers beyond it run on goroutines of their own.
const handlerWorkers = 16

// serveConn starts a session for a new connection.
func (s *Server) serveConn(conn net.Conn, cfg *config) {
	sess := newSession(conn, cfg)
	sess.srv = s
	sess.ctx, sess.cancel = context.WithCancel(cfg.ctx)
	sess.pool = workers.New(handlerWorkers)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shut {
		sess.cancel()
		_ = conn.Close()
		return
	}
	s.sessions[sess] = struct{}{}
	sess.start(&s.conns)
}

// sessionClosed forgets a closed session.
func (s *Server) sessionClosed(sess *session) {
	s.mu.Lock()
	delete(s.sessions, sess)
	s.mu.Unlock()
}

// Shutdown stops the server: it closes the listeners at once (their ports
// are free when it returns), refuses new streams, lets running handlers
// finish for the shutdown timeout (WithShutdownTimeout), then cancels their
// contexts, closes the connections and returns once the handlers returned
// (waiting at most one more timeout for handlers that ignore their
// context). Serve returns ErrServerClosed. Calling Shutdown again waits for
// the first call and returns nil.
func (s *Server) Shutdown() error {
	s.mu.Lock()
	if s.shut {
		done := s.shutdownDone
		s.mu.Unlock()
		if done != nil {
			<-done
		}
		return nil
	}
	s.shut = true
	s.shutdownDone = make(chan struct{})
	if s.quit != nil {
		close(s.quit)
	}
	defer close(s.shutdownDone)
	timeout := s.shutdownTimeout
	if timeout == 0 && len(s.listeners) == 0 {
		timeout = DefaultShutdownTimeout
	}
	var errs []error
	for l := range s.listeners {
		if err := l.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	sessions := make([]*session, 0, len(s.sessions))
	for sess := range s.sessions {
		sessions = append(sessions, sess)
	}
	s.mu.Unlock()

	for _, sess := range sessions {
		sess.goAway()
	}
	if !waitTimeout(&s.handlers, timeout) {
		for _, sess := range sessions {
			sess.cancel()
		}
		if !waitTimeout(&s.handlers, timeout) {
			for _, sess := range sessions {
				sess.cfg.logger.Error("yarpc: handlers still running after shutdown; their contexts are cancelled", "remote", sess.conn.RemoteAddr().String())
			}
		}
	}
	for _, sess := range sessions {
		sess.close(ErrServerClosed)
	}
	s.conns.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("yarpc: closing listeners: %w", errors.Join(errs...))
	}
	return nil
}

// waitTimeout waits for wg for at most d and reports whether it finished.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}
