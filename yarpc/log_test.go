package yarpc

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// recordHandler keeps the messages it is given.
type recordHandler struct {
	mu   sync.Mutex
	msgs []string
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	h.msgs = append(h.msgs, b.String())
	return nil
}
func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordHandler) WithGroup(string) slog.Handler      { return h }

func (h *recordHandler) has(sub string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range h.msgs {
		if strings.Contains(m, sub) {
			return true
		}
	}
	return false
}

func TestLogging(t *testing.T) {
	rec := &recordHandler{}
	svr := &Server{}
	svr.HandleFunc("panic", func(s Stream) error { panic("logged") })
	ts := startServer(t, svr, WithLogger(slog.New(rec)))

	conn, err := net.Dial("tcp", ts.addr)
	require.NoError(t, err)
	_, _ = conn.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
	expectClosed(t, conn)
	conn.Close()

	cc := ts.dial(t)
	s, err := cc.OpenStream(context.Background(), "panic")
	require.NoError(t, err)
	require.Error(t, s.ReadMsg(&binMsg{}))
	s.Close()

	require.True(t, rec.has("protocol error"), "the hostile connection is logged: %q", rec.msgs)
	require.True(t, rec.has("handler panicked"), "the panic is logged: %q", rec.msgs)
}
