package yarpc

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"time"
)

// Defaults of the options.
const (
	DefaultMaxMessageBytes      = 4 << 20
	DefaultMaxConcurrentStreams = 1024
	DefaultShutdownTimeout      = 2 * time.Second
	DefaultHandshakeTimeout     = 10 * time.Second
	DefaultDialTimeout          = 10 * time.Second
	DefaultMinRedialBackoff     = 20 * time.Millisecond
	DefaultMaxRedialBackoff     = time.Second
)

// Option configures a server (Serve, ListenAndServe) or a client
// (DialContext). Options that apply to one side only are ignored by the
// other.
type Option func(*config)

type config struct {
	ctx                  context.Context
	tls                  *tls.Config
	codec                Codec
	logger               *slog.Logger
	maxMessageBytes      int
	maxConcurrentStreams int
	shutdownTimeout      time.Duration
	handshakeTimeout     time.Duration
	dialTimeout          time.Duration
	minBackoff           time.Duration
	maxBackoff           time.Duration
	dialer               func(ctx context.Context, network, address string) (net.Conn, error)
}

func newConfig(opts []Option) *config {
	c := &config{
		ctx:                  context.Background(),
		codec:                BinaryCodec{},
		maxMessageBytes:      DefaultMaxMessageBytes,
		maxConcurrentStreams: DefaultMaxConcurrentStreams,
		shutdownTimeout:      DefaultShutdownTimeout,
		handshakeTimeout:     DefaultHandshakeTimeout,
		dialTimeout:          DefaultDialTimeout,
		minBackoff:           DefaultMinRedialBackoff,
		maxBackoff:           DefaultMaxRedialBackoff,
	}
	for _, opt := range opts {
		if opt != nil {
			opt(c)
		}
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	if c.maxBackoff < c.minBackoff {
		c.maxBackoff = c.minBackoff
	}
	if c.dialer == nil {
		d := &net.Dialer{}
		c.dialer = d.DialContext
	}
	return c
}

// WithContext sets the server's base context: every handler's stream context
// derives from it, so ending it cancels them all. It does not stop Serve
// (Shutdown does). Client side, DialContext's context plays this role.
func WithContext(ctx context.Context) Option {
	return func(c *config) {
		if ctx != nil {
			c.ctx = ctx
		}
	}
}

// WithTLS enables TLS: the server wraps its listener, the client its
// connections. For mutual TLS set ClientAuth and ClientCAs on the server's
// config and Certificates on the client's. A client config without ServerName
// gets the host of the dial target.
func WithTLS(cfg *tls.Config) Option {
	return func(c *config) { c.tls = cfg }
}

// WithCodec sets how messages are encoded (default BinaryCodec). Both sides
// must use the same codec.
func WithCodec(codec Codec) Option {
	return func(c *config) {
		if codec != nil {
			c.codec = codec
		}
	}
}

// WithLogger sets the logger for what the library cannot return as an error
// (a dropped connection, a recovered panic, a hostile peer). Nil, the
// default, discards.
func WithLogger(logger *slog.Logger) Option {
	return func(c *config) { c.logger = logger }
}

// WithMaxMessageBytes limits the encoded size of one message, sent or
// received (default DefaultMaxMessageBytes). Values below 1 are ignored.
func WithMaxMessageBytes(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxMessageBytes = n
		}
	}
}

// WithMaxConcurrentStreams limits the streams a server runs at once on one
// connection (default DefaultMaxConcurrentStreams); more are refused with
// CodeResourceExhausted. Values below 1 are ignored.
func WithMaxConcurrentStreams(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxConcurrentStreams = n
		}
	}
}

// WithShutdownTimeout sets how long Shutdown lets running handlers finish
// before it cancels their contexts (default DefaultShutdownTimeout). The
// longest timeout among a server's Serve calls applies.
func WithShutdownTimeout(d time.Duration) Option {
	return func(c *config) {
		if d >= 0 {
			c.shutdownTimeout = d
		}
	}
}

// WithHandshakeTimeout bounds how long a server waits for a new connection's
// TLS handshake and first frame (default DefaultHandshakeTimeout).
func WithHandshakeTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.handshakeTimeout = d
		}
	}
}

// WithDialTimeout bounds one dial, TLS handshake included (default
// DefaultDialTimeout).
func WithDialTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.dialTimeout = d
		}
	}
}

// WithRedialBackoff sets the client's back-off between failed dials: it
// starts at min and doubles up to max (defaults DefaultMinRedialBackoff and
// DefaultMaxRedialBackoff), with jitter. While it runs, OpenStream fails fast
// with ErrUnavailable.
func WithRedialBackoff(min, max time.Duration) Option {
	return func(c *config) {
		if min > 0 {
			c.minBackoff = min
		}
		if max > 0 {
			c.maxBackoff = max
		}
	}
}

// WithDialer replaces the client's dialer (default a net.Dialer), for
// example with yarpctest.Listener's Dial to run over memory.
func WithDialer(dial func(ctx context.Context, network, address string) (net.Conn, error)) Option {
	return func(c *config) { c.dialer = dial }
}
