package amqp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/batonmq/baton/internal/amqp/frames"
	"github.com/batonmq/baton/internal/clock"
)

// This file is the connection: protocol negotiation, open, the reader loop
// and the writer.
//
// Goroutines per connection:
//
//   - the reader (the goroutine that called serve) reads and decodes frames,
//     handles open/begin/end/close itself and hands every other frame to
//     the session's mux goroutine;
//   - the writer owns the socket's write side: it takes encoded frames from
//     out, writes them in batches (writev), sends heartbeats when asked,
//     and on quit flushes what is queued and closes the socket;
//   - the watchdog runs on the injected clock: it disconnects a peer that
//     is silent past the read timeout (HandshakeTimeout until open, then
//     IdleTimeout), closes the socket when one write has been stuck past
//     WriteTimeout, and asks the writer for a heartbeat when nothing has
//     been written for half the heartbeat interval. A third goroutine is
//     the price of not using socket deadlines: those run on the wall clock,
//     and time here comes from clock.Clock so tests can drive it.
//   - one mux goroutine per session (session.go).
//
// Closing: close(err, send) queues a close frame (dropped if the queue is
// full: such a peer is not reading) and closes quit; the writer flushes and
// closes the socket, which ends the reader, which then stops the sessions
// and waits for every goroutine it owns.

const connForced = frames.ErrCondConnectionForced

// minHeartbeat bounds the heartbeat rate a client can ask for with a tiny
// idle-time-out.
const minHeartbeat = 50 * time.Millisecond

// errPeerClosed ends the read loop when the peer sent close.
var errPeerClosed = errors.New("amqp: peer closed the connection")

type conn struct {
	srv   *Server
	cfg   *Config
	nc    net.Conn
	br    *bufio.Reader
	log   *slog.Logger
	clock clock.Clock
	info  *ConnInfo
	ctx   context.Context // ends when the connection is torn down
	stop  context.CancelFunc

	// Written by the reader before any session starts; read-only after.
	peerMaxFrame uint32
	heartbeat    time.Duration

	readTimeout atomic.Int64 // ns; 0: none
	lastRead    atomic.Int64 // clock ns
	lastWrite   atomic.Int64 // clock ns
	writeStart  atomic.Int64 // clock ns while a write is in progress, else 0
	hbInterval  atomic.Int64 // ns; 0 until open

	out       chan []byte   // encoded frames for the writer
	quit      chan struct{} // closed to stop the writer (after a flush)
	closeOnce sync.Once
	hb        chan struct{} // asks the writer for a heartbeat
	wdStop    chan struct{} // stops the watchdog
	wdKick    chan struct{} // makes the watchdog recompute its period
	wg        sync.WaitGroup

	// Owned by the reader goroutine.
	sessions map[uint16]*session
	sessWG   sync.WaitGroup

	// Reply routing for RPC nodes (rpc.go), guarded by mu.
	mu            sync.Mutex
	replyByTarget map[string]*link
	replyByName   map[string]*link
	live          map[*session]struct{} // running sessions, for Shutdown

	txns txnTable // declared transactions (txn.go)
}

func newConn(s *Server, nc net.Conn, br *bufio.Reader) *conn {
	c := &conn{
		srv:           s,
		cfg:           &s.cfg,
		nc:            nc,
		br:            br,
		clock:         s.cfg.Clock,
		out:           make(chan []byte, 256),
		quit:          make(chan struct{}),
		hb:            make(chan struct{}, 1),
		wdStop:        make(chan struct{}),
		wdKick:        make(chan struct{}, 1),
		sessions:      make(map[uint16]*session),
		replyByTarget: make(map[string]*link),
		replyByName:   make(map[string]*link),
		live:          make(map[*session]struct{}),
	}
	c.info = &ConnInfo{ID: s.nextConnID.Add(1), RemoteAddr: nc.RemoteAddr().String()}
	c.log = s.log.With("conn", c.info.ID, "remote", c.info.RemoteAddr)
	c.ctx, c.stop = context.WithCancel(s.ctx)
	now := c.now()
	c.lastRead.Store(now)
	c.lastWrite.Store(now)
	c.readTimeout.Store(int64(s.cfg.HandshakeTimeout))
	return c
}

func (c *conn) now() int64 { return c.clock.Now().UnixNano() }

// serve runs the connection to its end.
func (c *conn) serve() {
	c.wg.Add(2)
	go c.writeLoop()
	go c.watchdog()
	err := c.run()
	switch {
	case errors.Is(err, errPeerClosed):
		c.close(nil, true)
	case err != nil:
		if ce := closeErrorOf(err); ce != nil {
			c.log.Debug("amqp: closing connection", "err", err)
			c.close(ce, true)
		} else {
			c.close(nil, false)
		}
	default:
		c.close(nil, false)
	}
	c.stop()
	c.sessWG.Wait()
	close(c.wdStop)
	c.wg.Wait()
}

// close queues a close frame (when send) and stops the writer, which
// flushes and closes the socket. Only the first call counts.
func (c *conn) close(e *frames.Error, send bool) {
	c.closeOnce.Do(func() {
		if send {
			if b, err := frames.AppendFrame(nil, frames.TypeAMQP, 0, &frames.Close{Error: e}, nil); err == nil {
				select {
				case c.out <- b:
				default:
				}
			}
		}
		close(c.quit)
	})
}

// closeWith closes the connection with a connError (Shutdown, idle timeout).
func (c *conn) closeWith(err *connError) {
	c.close(&frames.Error{Condition: err.cond, Description: err.desc}, true)
}

// write queues an encoded frame. It returns false when the connection (or
// done, the caller's own lifetime) is closing.
func (c *conn) write(b []byte, done <-chan struct{}) bool {
	select {
	case c.out <- b:
		return true
	case <-c.quit:
		return false
	case <-done:
		return false
	}
}

// writeFrame encodes and queues one frame from the reader goroutine.
func (c *conn) writeFrame(typ frames.Type, channel uint16, body frames.Body) error {
	b, err := frames.AppendFrame(nil, typ, channel, body, nil)
	if err != nil {
		return fmt.Errorf("amqp: encode %T: %w", body, err)
	}
	if !c.write(b, nil) {
		return net.ErrClosed
	}
	return nil
}

func (c *conn) writeLoop() {
	defer c.wg.Done()
	defer c.nc.Close()
	bufs := make(net.Buffers, 0, 64)
	for {
		select {
		case b := <-c.out:
			bufs = append(bufs[:0], b)
		collect:
			for len(bufs) < cap(bufs) {
				select {
				case b := <-c.out:
					bufs = append(bufs, b)
				default:
					break collect
				}
			}
			if !c.flush(bufs) {
				return
			}
		case <-c.hb:
			if !c.flush(net.Buffers{frames.AppendHeartbeat(nil)}) {
				return
			}
		case <-c.quit:
			for n := len(c.out); n > 0; n-- {
				if !c.flush(net.Buffers{<-c.out}) {
					return
				}
			}
			return
		}
	}
}

func (c *conn) flush(bufs net.Buffers) bool {
	c.writeStart.Store(c.now())
	_, err := bufs.WriteTo(c.nc)
	now := c.now()
	c.writeStart.Store(0)
	c.lastWrite.Store(now)
	if err != nil {
		c.close(nil, false)
		return false
	}
	return true
}

// watchdog enforces the read and write timeouts and schedules heartbeats
// on the injected clock.
func (c *conn) watchdog() {
	defer c.wg.Done()
	t := c.clock.NewTimer(c.tick())
	defer t.Stop()
	for {
		select {
		case <-t.C():
		case <-c.wdKick:
			t.Stop()
			t.Reset(c.tick())
			continue
		case <-c.wdStop:
			return
		}
		now := c.now()
		if rt := c.readTimeout.Load(); rt > 0 && now-c.lastRead.Load() > rt {
			c.log.Debug("amqp: peer idle past the timeout")
			c.closeWith(newConnError(connForced, "no frame received within the idle timeout of "+time.Duration(rt).String()))
		}
		if ws := c.writeStart.Load(); ws != 0 && now-ws > int64(c.cfg.WriteTimeout) {
			c.nc.Close()
		}
		if hb := c.hbInterval.Load(); hb > 0 && now-c.lastWrite.Load() >= hb/2 {
			select {
			case c.hb <- struct{}{}:
			default:
			}
		}
		t.Reset(c.tick())
	}
}

// tick is the watchdog period: half the shortest interval it enforces.
func (c *conn) tick() time.Duration {
	d := c.cfg.WriteTimeout
	if rt := time.Duration(c.readTimeout.Load()); rt > 0 && rt < d {
		d = rt
	}
	if hb := time.Duration(c.hbInterval.Load()); hb > 0 && hb < d {
		d = hb
	}
	return max(d/2, time.Millisecond)
}

// readFrame reads one whole frame into a buffer of its own, so the frame's
// slices stay valid after the next read.
func (c *conn) readFrame(maxFrame uint32) (frames.Frame, error) {
	var hdr [frames.HeaderSize]byte
	if _, err := io.ReadFull(c.br, hdr[:]); err != nil {
		return frames.Frame{}, fmt.Errorf("amqp: read frame: %w", err)
	}
	h, err := frames.ParseHeader(hdr[:], maxFrame)
	if err != nil {
		return frames.Frame{}, err
	}
	buf := make([]byte, h.Size)
	copy(buf, hdr[:])
	if _, err := io.ReadFull(c.br, buf[frames.HeaderSize:]); err != nil {
		return frames.Frame{}, fmt.Errorf("amqp: read frame: %w", err)
	}
	c.lastRead.Store(c.now())
	f, _, err := frames.ParseFrame(buf, maxFrame)
	return f, err
}

// run negotiates the protocol and then reads frames until the connection
// ends.
func (c *conn) run() error {
	hdr, err := c.readProtocolHeader()
	if err != nil {
		return err
	}
	if hdr == frames.HeaderSASL {
		if err := c.writeHeader(frames.HeaderSASL); err != nil {
			return err
		}
		if err := c.sasl(); err != nil {
			return err
		}
		if hdr, err = c.readProtocolHeader(); err != nil {
			return err
		}
	} else if c.cfg.AuthenticateFunc != nil && hdr == frames.HeaderAMQP {
		if err := c.cfg.AuthenticateFunc("", "", ""); err != nil {
			_ = c.writeHeader(frames.HeaderSASL)
			return fmt.Errorf("amqp: connection without SASL refused: %w", err)
		}
	}
	if hdr != frames.HeaderAMQP {
		_ = c.writeHeader(frames.HeaderAMQP)
		return fmt.Errorf("amqp: unsupported protocol header %v", hdr)
	}
	if err := c.writeHeader(frames.HeaderAMQP); err != nil {
		return err
	}
	if err := c.open(); err != nil {
		return err
	}
	return c.readLoop()
}

func (c *conn) readProtocolHeader() (frames.ProtocolHeader, error) {
	var b [8]byte
	if _, err := io.ReadFull(c.br, b[:]); err != nil {
		return frames.ProtocolHeader{}, fmt.Errorf("amqp: read protocol header: %w", err)
	}
	c.lastRead.Store(c.now())
	h, err := frames.ParseProtocolHeader(b[:])
	if err != nil || h.Major != 1 || h.Minor != 0 || h.Revision != 0 {
		_ = c.writeHeader(frames.HeaderAMQP)
		return h, fmt.Errorf("amqp: bad protocol header %q", b[:])
	}
	return h, nil
}

func (c *conn) writeHeader(h frames.ProtocolHeader) error {
	b := h.Bytes()
	if !c.write(b[:], nil) {
		return net.ErrClosed
	}
	return nil
}

// open exchanges open frames and negotiates the connection's limits.
func (c *conn) open() error {
	f, err := c.readFrame(c.cfg.MaxFrameSize)
	if err != nil {
		if closeErrorOf(err) != nil {
			_ = c.sendOpen()
		}
		return err
	}
	o, ok := f.Body.(*frames.Open)
	if !ok || f.Type != frames.TypeAMQP {
		_ = c.sendOpen()
		return newConnError(frames.ErrCondIllegalState, fmt.Sprintf("expected open, got %T", f.Body))
	}
	if o.MaxFrameSize < frames.MinMaxFrameSize {
		_ = c.sendOpen()
		return newConnError(frames.ErrCondFrameSizeTooSmall, "max-frame-size "+strconv.FormatUint(uint64(o.MaxFrameSize), 10)+" is below 512")
	}
	c.peerMaxFrame = min(o.MaxFrameSize, 1<<24)
	c.info.ContainerID, c.info.Hostname = o.ContainerID, o.Hostname
	hb := c.cfg.HeartbeatInterval
	if o.IdleTimeOut > 0 {
		hb = min(hb, time.Duration(o.IdleTimeOut)*time.Millisecond/2)
	}
	if err := c.sendOpen(); err != nil {
		return err
	}
	c.heartbeat = max(hb, minHeartbeat)
	c.hbInterval.Store(int64(c.heartbeat))
	if c.cfg.IdleTimeout > 0 {
		c.readTimeout.Store(int64(c.cfg.IdleTimeout))
	} else {
		c.readTimeout.Store(0)
	}
	select {
	case c.wdKick <- struct{}{}:
	default:
	}
	return nil
}

func (c *conn) sendOpen() error {
	o := &frames.Open{
		ContainerID:  c.cfg.ContainerID,
		MaxFrameSize: c.cfg.MaxFrameSize,
		ChannelMax:   c.cfg.ChannelMax,
	}
	if c.cfg.IdleTimeout > 0 {
		o.IdleTimeOut = uint32(c.cfg.IdleTimeout / time.Millisecond)
	}
	return c.writeFrame(frames.TypeAMQP, 0, o)
}

// readLoop reads frames after open and dispatches them.
func (c *conn) readLoop() error {
	for {
		f, err := c.readFrame(c.cfg.MaxFrameSize)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		if f.Body == nil {
			continue // heartbeat
		}
		if f.Type != frames.TypeAMQP {
			return newConnError(frames.ErrCondFramingError, "SASL frame after SASL negotiation")
		}
		switch b := f.Body.(type) {
		case *frames.Open:
			return newConnError(frames.ErrCondIllegalState, "second open frame")
		case *frames.Close:
			if b.Error != nil {
				c.log.Debug("amqp: peer closed with error", "err", b.Error)
			}
			return errPeerClosed
		case *frames.Begin:
			if err := c.begin(f.Channel, b); err != nil {
				return err
			}
		case *frames.End:
			s := c.sessions[f.Channel]
			if s == nil {
				return newConnError(frames.ErrCondIllegalState, "end on channel "+strconv.Itoa(int(f.Channel))+" without a session")
			}
			delete(c.sessions, f.Channel)
			s.deliver(f)
		case *frames.Attach, *frames.Flow, *frames.Transfer, *frames.Disposition, *frames.Detach:
			s := c.sessions[f.Channel]
			if s == nil {
				return newConnError(frames.ErrCondIllegalState, fmt.Sprintf("%T on channel %d without a session", b, f.Channel))
			}
			s.deliver(f)
		default:
			return newConnError(frames.ErrCondIllegalState, fmt.Sprintf("unexpected %T", b))
		}
	}
}

// begin starts a session on channel.
func (c *conn) begin(channel uint16, b *frames.Begin) error {
	if channel > c.cfg.ChannelMax {
		return newConnError(frames.ErrCondNotAllowed, fmt.Sprintf("channel %d is above channel-max %d", channel, c.cfg.ChannelMax))
	}
	if c.sessions[channel] != nil {
		return newConnError(frames.ErrCondNotAllowed, fmt.Sprintf("channel %d already has a session", channel))
	}
	if b.RemoteChannel != nil {
		return newConnError(frames.ErrCondNotAllowed, "begin with remote-channel: the server never begins sessions")
	}
	s := newSession(c, channel, b)
	ch := channel
	reply := &frames.Begin{
		RemoteChannel:  &ch,
		NextOutgoingID: 0,
		IncomingWindow: c.cfg.SessionWindow,
		OutgoingWindow: outgoingWindow,
		HandleMax:      handleMax,
	}
	if err := c.writeFrame(frames.TypeAMQP, channel, reply); err != nil {
		return err
	}
	c.sessions[channel] = s
	c.mu.Lock()
	c.live[s] = struct{}{}
	c.mu.Unlock()
	c.sessWG.Add(1)
	go func() {
		defer c.sessWG.Done()
		s.run()
		c.mu.Lock()
		delete(c.live, s)
		c.mu.Unlock()
	}()
	return nil
}

// quiesce is the first step of a graceful shutdown: every session stops
// taking messages from the broker and stops granting credit, and quiesce
// waits until the messages already received from clients are stored and
// acknowledged, or ctx ends.
func (c *conn) quiesce(ctx context.Context) {
	c.mu.Lock()
	live := make([]*session, 0, len(c.live))
	for s := range c.live {
		live = append(live, s)
	}
	c.mu.Unlock()
	for _, s := range live {
		idle := make(chan struct{})
		if !s.post(func() { s.quiesce(idle) }) {
			continue
		}
		select {
		case <-idle:
		case <-s.done:
		case <-ctx.Done():
			return
		}
	}
}

// registerReply makes l a reply link for its target address and name.
func (c *conn) registerReply(l *link) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l.targetAddr != "" {
		c.replyByTarget[l.targetAddr] = l
	}
	c.replyByName[l.name] = l
}

func (c *conn) unregisterReply(l *link) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.replyByTarget[l.targetAddr] == l {
		delete(c.replyByTarget, l.targetAddr)
	}
	if c.replyByName[l.name] == l {
		delete(c.replyByName, l.name)
	}
}

// replyLink finds the link a response to replyTo goes to (§3.2).
func (c *conn) replyLink(replyTo string) *link {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l := c.replyByTarget[replyTo]; l != nil {
		return l
	}
	return c.replyByName[replyTo]
}
