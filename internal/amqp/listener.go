package amqp

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"

	"github.com/batonmq/baton/internal/amqp/frames"
)

// This file dispatches each accepted connection on its first byte:
//
//	'A' (0x41)  an AMQP protocol header: the AMQP connection state machine
//	0x16        a TLS ClientHello: wrapped in TLS and served by Config.HTTPS
//	            (closed when no TLS config or handler was given)
//	other       answered with the AMQP 1.0 protocol header, then closed
//
// Waiting for the first byte is bounded by Config.HandshakeTimeout on the
// injected clock, and by Shutdown.

// handle serves one accepted connection. It runs on a goroutine owned by
// the Server's WaitGroup.
func (s *Server) handle(nc net.Conn) {
	br := bufio.NewReaderSize(nc, 64<<10)
	first, err := s.peekFirst(nc, br)
	if err != nil {
		nc.Close()
		return
	}
	switch first {
	case 'A':
		c := newConn(s, nc, br)
		if !s.track(c) {
			nc.Close()
			return
		}
		c.serve()
		s.untrack(c)
	case 0x16:
		if s.https == nil {
			nc.Close()
			return
		}
		s.https.serve(&peekedConn{Conn: nc, r: br})
	default:
		h := frames.HeaderAMQP.Bytes()
		_, _ = nc.Write(h[:])
		nc.Close()
	}
}

func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// peekFirst waits for the first byte of nc, up to HandshakeTimeout or
// Shutdown, whichever comes first. The read runs on a helper goroutine
// that peekFirst always waits for (closing nc unblocks it).
func (s *Server) peekFirst(nc net.Conn, br *bufio.Reader) (byte, error) {
	type result struct {
		b   byte
		err error
	}
	ch := make(chan result, 1)
	go func() {
		b, err := br.Peek(1)
		if err != nil {
			ch <- result{err: err}
			return
		}
		ch <- result{b: b[0]}
	}()
	t := s.cfg.Clock.NewTimer(s.cfg.HandshakeTimeout)
	defer t.Stop()
	select {
	case r := <-ch:
		return r.b, r.err
	case <-t.C():
	case <-s.ctx.Done():
	}
	nc.Close()
	<-ch
	return 0, errors.New("amqp: no protocol header before the handshake timeout")
}

// peekedConn is a net.Conn whose first bytes were read into r.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// httpsBridge serves TLS connections found by the first-byte dispatch
// through one http.Server.
type httpsBridge struct {
	cfg   *tls.Config
	srv   *http.Server
	ln    *chanListener
	start sync.Once
	done  chan struct{}
}

func newHTTPSBridge(cfg *tls.Config, h http.Handler, log *slog.Logger) *httpsBridge {
	return &httpsBridge{
		cfg:  cfg,
		srv:  &http.Server{Handler: h, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)},
		ln:   newChanListener(),
		done: make(chan struct{}),
	}
}

// serve hands one TLS connection to the HTTP server.
func (b *httpsBridge) serve(nc net.Conn) {
	b.start.Do(func() {
		go func() {
			defer close(b.done)
			_ = b.srv.Serve(b.ln)
		}()
	})
	if !b.ln.push(tls.Server(nc, b.cfg)) {
		nc.Close()
	}
}

func (b *httpsBridge) shutdown(ctx context.Context) error {
	started := false
	b.start.Do(func() { close(b.done) })
	select {
	case <-b.done:
	default:
		started = true
	}
	err := b.srv.Shutdown(ctx)
	b.ln.Close()
	if started {
		<-b.done
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// chanListener is a net.Listener fed through a channel.
type chanListener struct {
	ch     chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newChanListener() *chanListener {
	return &chanListener{ch: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *chanListener) push(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.closed:
		return false
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return &net.TCPAddr{} }
