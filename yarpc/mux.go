package yarpc

import (
	"sync"
	"sync/atomic"
)

// Handler serves the streams of one method. Handle reads the requests and
// writes the replies on the stream; when it returns nil the client reads
// io.EOF after the replies, and when it returns an error the client reads it
// as a *Status. The stream's context ends when the client goes away.
type Handler interface {
	Handle(Stream) error
}

// HandlerFunc adapts a function to a Handler.
type HandlerFunc func(Stream) error

// Handle calls f(s).
func (f HandlerFunc) Handle(s Stream) error { return f(s) }

// mux maps method names to handlers. Lookups are lock-free (copy on write):
// they happen once per stream, registrations once per program.
type mux struct {
	mu       sync.Mutex // serialises writers
	handlers atomic.Pointer[map[string]Handler]
}

// handle registers h for method. Like net/http's ServeMux it panics on an
// empty method, a nil handler and a second registration: those are
// programming errors that must surface at start-up.
func (m *mux) handle(method string, h Handler) {
	if method == "" {
		panic("yarpc: empty method name")
	}
	if len(method) > maxMethodBytes {
		panic("yarpc: method name longer than 1 KiB: " + method[:64] + "...")
	}
	if h == nil {
		panic("yarpc: nil handler for " + method)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.handlers.Load()
	next := make(map[string]Handler, 1)
	if old != nil {
		if _, ok := (*old)[method]; ok {
			panic("yarpc: multiple registrations for " + method)
		}
		for k, v := range *old {
			next[k] = v
		}
	}
	next[method] = h
	m.handlers.Store(&next)
}

// lookup returns the handler of method, or nil.
func (m *mux) lookup(method []byte) Handler {
	hs := m.handlers.Load()
	if hs == nil {
		return nil
	}
	return (*hs)[string(method)]
}
