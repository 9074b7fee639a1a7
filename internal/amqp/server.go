package amqp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/clock"
)

// Config configures a Server. Zero values take the defaults noted on each
// field.
type Config struct {
	// Broker is the engine links map onto (required unless Resolver is
	// set and never returns an EntityNode).
	Broker broker.Engine
	Logger *slog.Logger // default: discard
	Clock  clock.Clock  // default: clock.Real

	// ContainerID is sent in the open frame (default "baton").
	ContainerID string
	// MaxFrameSize is the largest frame the server accepts (default
	// 65536; at least 512).
	MaxFrameSize uint32
	// ChannelMax is the highest channel number (default 4095).
	ChannelMax uint16
	// IdleTimeout is advertised in open; a client silent for longer is
	// disconnected (default 60 s; negative: none).
	IdleTimeout time.Duration
	// HeartbeatInterval caps the interval between the empty frames sent
	// to an idle client; the server sends them at half the client's
	// idle-time-out, or at this interval if shorter (default 15 s,
	// service-bus-amqp.md §1.4).
	HeartbeatInterval time.Duration
	// HandshakeTimeout bounds protocol negotiation and SASL (default 30 s).
	HandshakeTimeout time.Duration
	// WriteTimeout bounds one write to a client; a client that stops
	// reading is disconnected (default 60 s).
	WriteTimeout time.Duration
	// MaxMessageSize is the largest message (transfer payload) accepted,
	// advertised as the max-message-size of receiving links (default
	// 100 MiB).
	MaxMessageSize uint64
	// LinkCredit is the credit window granted to client senders (default 500).
	LinkCredit uint32
	// SessionWindow is the incoming-window of a session in transfers
	// (default 5000).
	SessionWindow uint32
	// ReceiveWait is how long one broker receive waits for a message before
	// the link asks again; credit is never revoked (default 60 s).
	ReceiveWait time.Duration

	// TLSConfig and HTTPS serve connections whose first byte is a TLS
	// ClientHello (0x16): the connection is wrapped in TLS and handed to
	// HTTPS. When either is nil, such connections are closed.
	TLSConfig *tls.Config
	HTTPS     http.Handler

	// AuthenticateFunc checks SASL credentials: mechanism is ANONYMOUS,
	// PLAIN or EXTERNAL. Nil accepts everything.
	AuthenticateFunc func(mechanism, user, pass string) error

	// Resolver maps link addresses onto nodes; nil uses a DefaultResolver
	// over Broker (entities, built-in $cbs, $management answering 501).
	Resolver Resolver
}

func (c *Config) withDefaults() Config {
	d := *c
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Clock == nil {
		d.Clock = clock.Real{}
	}
	if d.ContainerID == "" {
		d.ContainerID = "baton"
	}
	if d.MaxFrameSize == 0 {
		d.MaxFrameSize = 65536
	}
	if d.ChannelMax == 0 {
		d.ChannelMax = 4095
	}
	if d.IdleTimeout == 0 {
		d.IdleTimeout = 60 * time.Second
	}
	if d.HeartbeatInterval == 0 {
		d.HeartbeatInterval = 15 * time.Second
	}
	if d.HandshakeTimeout == 0 {
		d.HandshakeTimeout = 30 * time.Second
	}
	if d.WriteTimeout == 0 {
		d.WriteTimeout = 60 * time.Second
	}
	if d.MaxMessageSize == 0 {
		d.MaxMessageSize = 100 << 20
	}
	if d.LinkCredit == 0 {
		d.LinkCredit = 500
	}
	if d.SessionWindow == 0 {
		d.SessionWindow = 5000
	}
	if d.ReceiveWait == 0 {
		d.ReceiveWait = 60 * time.Second
	}
	if d.Resolver == nil && d.Broker != nil {
		d.Resolver = &DefaultResolver{Broker: d.Broker}
	}
	return d
}

// Validate reports a configuration the server cannot run with.
func (c *Config) Validate() error {
	switch {
	case c.Resolver == nil:
		return errors.New("amqp: Config needs a Broker or a Resolver")
	case c.MaxFrameSize < 512:
		return fmt.Errorf("amqp: MaxFrameSize %d is below 512", c.MaxFrameSize)
	case c.LinkCredit > 1<<20:
		return fmt.Errorf("amqp: LinkCredit %d is too large", c.LinkCredit)
	case c.SessionWindow < 2:
		return fmt.Errorf("amqp: SessionWindow %d is too small", c.SessionWindow)
	case c.HeartbeatInterval < 0 || c.HandshakeTimeout < 0 || c.WriteTimeout < 0 || c.ReceiveWait < 0:
		return errors.New("amqp: negative duration in Config")
	}
	return nil
}

// Server is an AMQP 1.0 server. Create it with NewServer, run it with
// Serve, stop it with Shutdown.
type Server struct {
	cfg Config
	log *slog.Logger

	nextConnID atomic.Uint64

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	closing   bool
	https     *httpsBridge // nil without TLS config and handler

	ctx    context.Context // ends at Shutdown
	cancel context.CancelFunc
	wg     sync.WaitGroup // accept loops and connection goroutines
}

// NewServer validates cfg and returns a Server.
func NewServer(cfg Config) (*Server, error) {
	c := cfg.withDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:       c,
		log:       c.Logger,
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[*conn]struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if c.TLSConfig != nil && c.HTTPS != nil {
		s.https = newHTTPSBridge(c.TLSConfig, c.HTTPS, c.Logger)
	}
	return s, nil
}

// Serve accepts connections on ln until Shutdown, and returns
// ErrServerClosed then. It closes ln.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			delete(s.listeners, ln)
			s.mu.Unlock()
			ln.Close()
			if closing {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("amqp: accept: %w", err)
		}
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			nc.Close()
			continue
		}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.handle(nc)
		}()
	}
}

// Shutdown stops accepting connections; stops every link from taking
// messages from the broker and from granting credit; waits until the
// messages already received from clients are stored and acknowledged;
// closes every connection with amqp:connection:forced; and waits for every
// goroutine. When ctx ends
// first, the remaining sockets are closed at once and Shutdown returns
// ctx's error after the goroutines have stopped.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for ln := range s.listeners {
		ln.Close()
	}
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	var qwg sync.WaitGroup
	for _, c := range conns {
		qwg.Add(1)
		go func() {
			defer qwg.Done()
			c.quiesce(ctx)
		}()
	}
	qwg.Wait()
	s.cancel()
	for _, c := range conns {
		c.closeWith(newConnError(connForced, "the server is shutting down"))
	}
	var httpsErr error
	if s.https != nil {
		httpsErr = s.https.shutdown(ctx)
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return httpsErr
	case <-ctx.Done():
	}
	s.mu.Lock()
	for c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	<-done
	return ctx.Err()
}

// connCount returns the number of open AMQP connections.
func (s *Server) connCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}
