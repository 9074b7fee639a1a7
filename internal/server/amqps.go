package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/batonmq/baton/internal/amqp"
	"github.com/batonmq/baton/internal/clock"
)

// AMQPS: the Service Bus SDKs dial amqps://<host>:5671 (TLS, then AMQP with
// SASL) when the connection string has no UseDevelopmentEmulator=true. This
// listener terminates TLS with the same certificate as the admin API and
// looks at the first plaintext byte:
//
//	'A'    an AMQP protocol header: handed to the same amqp.Server as :5672
//	other  HTTP: the administration API (the admin clients call
//	       https://<Endpoint host:port>/, so Endpoint=sb://localhost:5671
//	       serves both clients, as sb://localhost:5672 does with the
//	       development-emulator flag)
//
// The amqp.Server owns the AMQP side's listener: its Shutdown closes it,
// which closes the TCP listener, ends the handshakes in progress and shuts
// the HTTP side down.

// amqpsHandshakeTimeout bounds the TLS handshake and the wait for the first
// plaintext byte.
const amqpsHandshakeTimeout = 30 * time.Second

// startAMQPS starts the AMQPS listener on cfg.Listen.AMQPS ("" or "off":
// none), serving AMQP through srv and HTTP through admin.
func (s *Server) startAMQPS(srv *amqp.Server, admin http.Handler, tlsCfg *tls.Config) error {
	addr := s.cfg.Listen.AMQPS
	if addr == "" || strings.EqualFold(addr, "off") || strings.EqualFold(addr, "none") {
		return nil
	}
	ln, err := s.listen(faceAMQPS, addr)
	if err != nil {
		return fmt.Errorf("server: Service Bus AMQPS (TLS) listener on %s (change it with listen.amqps or BATON_AMQPS_ADDR, \"off\" disables it): %w", addr, err)
	}
	log := s.log.With("component", "amqps")
	a := newAMQPSListener(ln, tlsCfg, admin, log)
	addrStr := ln.Addr().String()
	s.amqpsAddr.Store(&addrStr)
	s.wg.Add(3)
	go func() {
		defer s.wg.Done()
		a.acceptLoop()
	}()
	go func() {
		defer s.wg.Done()
		_ = a.httpSrv.Serve(a.httpLn) // ends when acceptLoop shuts it down
	}()
	go func() {
		defer s.wg.Done()
		defer s.amqpsAddr.Store(nil)
		if err := srv.Serve(a.amqpLn); err != nil && !errors.Is(err, amqp.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			s.serveErr <- fmt.Errorf("server: AMQPS: %w", err)
		}
	}()
	log.Info("Service Bus AMQPS (AMQP over TLS) listening", "addr", ln.Addr().String())
	return nil
}

// AMQPSAddr returns the AMQPS listener's address ("127.0.0.1:5671"), or ""
// when it is off.
func (s *Server) AMQPSAddr() string {
	if s.sb != nil && !s.cfg.SharedServiceBus {
		return s.sb.addr(faceAMQPS)
	}
	if a := s.amqpsAddr.Load(); a != nil {
		return *a
	}
	return ""
}

// amqpsListener accepts TCP connections, completes their TLS handshakes and
// sorts them onto amqpLn or httpLn by their first plaintext byte.
type amqpsListener struct {
	ln      net.Listener
	cfg     *tls.Config
	log     *slog.Logger
	amqpLn  *sniffListener
	httpLn  *sniffListener
	httpSrv *http.Server

	mu      sync.Mutex
	closed  bool
	pending map[net.Conn]struct{} // connections still in the handshake
	wg      sync.WaitGroup        // handshake goroutines
}

type tlsConnKey struct{}

func newAMQPSListener(ln net.Listener, cfg *tls.Config, admin http.Handler, log *slog.Logger) *amqpsListener {
	a := &amqpsListener{ln: ln, cfg: cfg, log: log, pending: make(map[net.Conn]struct{})}
	a.amqpLn = newSniffListener(ln.Addr(), a.close)
	a.httpLn = newSniffListener(ln.Addr(), nil)
	a.httpSrv = &http.Server{
		// The handler sees r.TLS as on the AMQP port's HTTPS (ids and
		// links are built from it).
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tc, ok := r.Context().Value(tlsConnKey{}).(*tls.Conn); ok && r.TLS == nil {
				st := tc.ConnectionState()
				r = r.WithContext(r.Context())
				r.TLS = &st
			}
			admin.ServeHTTP(w, r)
		}),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if sc, ok := c.(*sniffedConn); ok {
				return context.WithValue(ctx, tlsConnKey{}, sc.tls)
			}
			return ctx
		},
		ReadHeaderTimeout: amqpsHandshakeTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return a
}

// close is called when the amqp.Server closes amqpLn (at its Shutdown): it
// stops accepting and ends the handshakes in progress. It must not block.
func (a *amqpsListener) close() {
	a.mu.Lock()
	a.closed = true
	for c := range a.pending {
		c.Close()
	}
	a.mu.Unlock()
	a.ln.Close()
}

func (a *amqpsListener) acceptLoop() {
	defer func() {
		a.wg.Wait()
		a.httpLn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := a.httpSrv.Shutdown(ctx); err != nil {
			a.httpSrv.Close()
		}
	}()
	for {
		nc, err := a.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			a.mu.Lock()
			closed := a.closed
			a.mu.Unlock()
			if !closed {
				a.log.Error("AMQPS accept failed; the listener stops", "err", err)
				a.amqpLn.Close()
			}
			return
		}
		a.mu.Lock()
		if a.closed {
			a.mu.Unlock()
			nc.Close()
			continue
		}
		a.pending[nc] = struct{}{}
		a.wg.Add(1)
		a.mu.Unlock()
		go a.handshake(nc)
	}
}

// handshake completes TLS on nc, reads the first plaintext byte and hands
// the connection on.
func (a *amqpsListener) handshake(nc net.Conn) {
	defer a.wg.Done()
	tc := tls.Server(nc, a.cfg)
	// A socket deadline is read by the kernel against the wall clock, so it
	// comes from the real clock even when the server runs on a fake one.
	_ = nc.SetDeadline(clock.Real{}.Now().Add(amqpsHandshakeTimeout))
	br := bufio.NewReaderSize(tc, 4096)
	first, err := br.Peek(1) // runs the handshake
	a.mu.Lock()
	delete(a.pending, nc)
	a.mu.Unlock()
	if err != nil {
		a.log.Debug("AMQPS handshake failed", "remote", nc.RemoteAddr().String(), "err", err)
		tc.Close()
		return
	}
	_ = nc.SetDeadline(time.Time{})
	c := &sniffedConn{Conn: tc, r: br, tls: tc}
	to := a.httpLn
	if first[0] == 'A' {
		to = a.amqpLn
	}
	if !to.push(c) {
		tc.Close()
	}
}

// sniffedConn is a TLS connection whose first plaintext bytes were read
// into r.
type sniffedConn struct {
	net.Conn
	r   *bufio.Reader
	tls *tls.Conn
}

func (c *sniffedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// sniffListener is a net.Listener fed through a channel; onClose runs once
// when it is closed.
type sniffListener struct {
	addr    net.Addr
	ch      chan net.Conn
	closed  chan struct{}
	once    sync.Once
	onClose func()
}

func newSniffListener(addr net.Addr, onClose func()) *sniffListener {
	return &sniffListener{addr: addr, ch: make(chan net.Conn), closed: make(chan struct{}), onClose: onClose}
}

func (l *sniffListener) push(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.closed:
		return false
	}
}

func (l *sniffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *sniffListener) Close() error {
	l.once.Do(func() {
		close(l.closed)
		if l.onClose != nil {
			l.onClose()
		}
	})
	return nil
}

func (l *sniffListener) Addr() net.Addr { return l.addr }
