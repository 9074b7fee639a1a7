package server

// Standby mode (cfg.Standby, PostgreSQL store only): several `baton serve`
// processes on one database, one active at a time.
//
// A standby binds every face's listener at once and, while it does not
// own the store, forwards each accepted connection byte for byte (TCP, so
// TLS passes through) to the same face of the active node, whose
// advertised endpoints it reads from the database (pgstore.Observer); when
// none is known it closes the connection and the client retries. Meanwhile
// it waits on the store's owner lock (pgstore.Config.WaitOwner). When it
// gets the lock it stops forwarding, loads the state (the usual Open
// path), starts its faces on the listeners it already holds, and
// publishes its own endpoints. An active node that learns another has
// taken the store over (a fenced write, or a newer epoch seen by its
// watch) stops, so that its clients reconnect to the new one.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/batonmq/baton/internal/store/pgstore"
)

// Face names: the keys of the published endpoints.
const (
	faceMgmt           = "mgmt"
	faceAMQP           = "amqp"
	faceAMQPS          = "amqps"
	faceQueue          = "queue"
	faceQueueHTTPS     = "queueHttps"
	faceEventGrid      = "eventGrid"
	faceEventGridHTTP  = "eventGridHttp"
	faceEventGridTopic = "eventGridTopic:" // + the topic's name
)

const (
	// ownerCheckInterval: how often the active node checks that the
	// store is still its own (besides failing writes).
	ownerCheckInterval = time.Second
	// standbyRetry: the wait before a standby that lost the database
	// waits for the store again.
	standbyRetry = 2 * time.Second
	// forwardDialTimeout bounds reading the active node's endpoint and
	// dialling it.
	forwardDialTimeout = 5 * time.Second
	// ownerLease: an active node that cannot confirm for this long that it
	// still owns the store stops. PostgreSQL ends the session of a node it
	// cannot reach (releasing its lock to a standby) only after its TCP
	// keepalives fail, about 25 s (pgstore), so a node cut off from the
	// database stops serving before another can take over.
	ownerLease = 10 * time.Second
)

// errTakenOver is the active node's fatal error when another node owns
// the store.
var errTakenOver = errors.New("server: another Baton node has taken the store over (this node's database session was lost); stopping so that clients reconnect to the active node")

// listen returns the listener of a face: the one a standby bound at start,
// else a new one on addr.
func (s *Server) listen(face, addr string) (net.Listener, error) {
	if s.sb != nil {
		if ln := s.sb.take(face); ln != nil {
			return ln, nil
		}
	}
	return net.Listen("tcp", addr)
}

// boundFace is one listener a standby holds.
type boundFace struct {
	face  string
	addr  string // as configured
	ln    *net.TCPListener
	taken bool // handed to the face (under standby.mu)
}

// standby is a standby node's forwarding and take-over.
type standby struct {
	s      *Server
	log    *slog.Logger
	obs    *pgstore.Observer
	node   string
	desc   string
	caFile string
	faces  []*boundFace

	ctx    context.Context // ended by stop
	cancel context.CancelFunc
	done   chan struct{} // closed when run returns

	stopping  atomic.Bool // the accept loops end
	stopOnce  sync.Once
	loops     sync.WaitGroup // accept loops
	active    atomic.Bool
	epoch     atomic.Int64 // this node's epoch once it owns the store
	forwarded atomic.Uint64

	mu     sync.Mutex
	conns  map[net.Conn]struct{} // forwarded connections, both ends
	closed bool
	wg     sync.WaitGroup // forwarding goroutines
}

// faceAddrs lists the listeners the faces would open, as Start does.
func (s *Server) faceAddrs() [][2]string {
	l := s.cfg.Listen
	var out [][2]string
	add := func(face, addr string) {
		if addr != "" && !strings.EqualFold(addr, "off") && !strings.EqualFold(addr, "none") {
			out = append(out, [2]string{face, addr})
		}
	}
	add(faceMgmt, l.Mgmt)
	if l.AMQP != "" && !s.cfg.SharedServiceBus { // else served by every node (sharedsb.go)
		add(faceAMQP, l.AMQP)
		add(faceAMQPS, l.AMQPS)
	}
	if !s.cfg.SharedStorageQueues { // served by every node (sharedqueues.go)
		add(faceQueue, l.QueueStorage)
		add(faceQueueHTTPS, l.QueueStorageHTTPS)
	}
	if l.EventGrid != "" || l.EventGridHTTP != "" {
		add(faceEventGrid, l.EventGrid)
		add(faceEventGridHTTP, l.EventGridHTTP)
		for _, t := range s.cfg.EventGrid.Topics {
			add(faceEventGridTopic+t.Name, t.Listen)
		}
	}
	return out
}

// startStandby binds the listeners, starts forwarding and the wait for
// the store, and returns.
func (s *Server) startStandby(ctx context.Context) (err error) {
	node := s.nodeName()
	sb := &standby{s: s, log: s.log.With("component", "standby"), node: node, conns: map[net.Conn]struct{}{}, done: make(chan struct{})}
	defer func() {
		if err != nil {
			for _, f := range sb.faces {
				f.ln.Close()
			}
			if sb.obs != nil {
				sb.obs.Close()
			}
		}
	}()
	for _, fa := range s.faceAddrs() {
		ln, err := net.Listen("tcp", fa[1])
		if err != nil {
			return fmt.Errorf("server: %s listener on %s: %w", fa[0], fa[1], err)
		}
		sb.faces = append(sb.faces, &boundFace{face: fa[0], addr: fa[1], ln: ln.(*net.TCPListener)})
	}
	sb.obs, err = pgstore.NewObserver(ctx, pgstore.Config{DSN: s.cfg.Store, Node: sb.node})
	if err != nil {
		return fmt.Errorf("server: opening the PostgreSQL store: %w", err)
	}
	if _, err := sb.obs.Owner(ctx); err != nil {
		return fmt.Errorf("server: opening the PostgreSQL store: %w (database %s)", err, pgstore.Redact(s.cfg.Store))
	}
	if s.cfg.Listen.AMQP != "" || s.cfg.Listen.QueueStorageHTTPS != "" || s.cfg.Listen.EventGrid != "" {
		// The certificate the faces will use (the banner names its CA).
		b, err := s.tlsBundle()
		if err != nil {
			return err
		}
		sb.caFile = b.CAFile
	}
	sb.desc = fmt.Sprintf("PostgreSQL %s (standby node %s: forwards to the active node until it owns the store)", pgstore.Redact(s.cfg.Store), sb.node)
	if s.cfg.SharedServiceBus || s.cfg.SharedStorageQueues {
		sb.desc = fmt.Sprintf("PostgreSQL %s (standby node %s: serves the shared faces itself and forwards the others to the active node until it owns the store)", pgstore.Redact(s.cfg.Store), sb.node)
	}
	sb.ctx, sb.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.sb = sb
	if s.cfg.SharedStorageQueues { // served here at once, by every node
		if err := s.openSharedQueues(ctx); err != nil {
			return err
		}
		if err := s.startQueueStorage(ctx); err != nil {
			s.closeSharedQueues()
			return err
		}
	}
	if s.cfg.SharedServiceBus { // served here at once, by every node
		if err := s.openSharedSB(ctx); err != nil {
			s.closeSharedQueues()
			return err
		}
		if err := s.startServiceBus(ctx); err != nil {
			s.closeSharedSB()
			s.closeSharedQueues()
			return err
		}
	}
	for _, f := range sb.faces {
		sb.loops.Add(1)
		go sb.acceptLoop(f)
	}
	go sb.run()
	addrs := make([]string, 0, len(sb.faces))
	for _, f := range sb.faces {
		addrs = append(addrs, f.face+"="+f.ln.Addr().String())
	}
	sb.log.Info("standby: listening; connections are forwarded to the active node until this node owns the store", "node", sb.node, "listeners", addrs)
	return nil
}

// run waits for the store, then makes this node the active one and
// watches that it stays so.
func (sb *standby) run() {
	defer close(sb.done)
	s := sb.s
	var st *pgstore.Store
	for {
		var err error
		st, err = pgstore.Open(sb.ctx, pgstore.Config{DSN: s.cfg.Store, Node: sb.node, WaitOwner: true, Logger: s.log.With("component", "pgstore")})
		if err == nil {
			break
		}
		if sb.ctx.Err() != nil {
			return
		}
		sb.log.Warn("standby: cannot wait for the store (database unreachable?); trying again", "err", err)
		t := s.clock.NewTimer(standbyRetry)
		select {
		case <-sb.ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
	}
	start := s.clock.Now()
	sb.epoch.Store(st.Epoch())
	sb.log.Info("standby: this node owns the store now; loading it and starting the faces", "epoch", st.Epoch())
	sb.stopForwarding() // the listeners stay bound: new connections wait in their backlogs
	s.store = st
	s.storeDesc = fmt.Sprintf("PostgreSQL %s (schema %s, owner epoch %d, active node %s)", pgstore.Redact(s.cfg.Store), st.Schema(), st.Epoch(), sb.node)
	if err := s.startActive(sb.ctx); err != nil {
		s.closeAll()
		sb.fail(fmt.Errorf("server: taking over as the active node: %w", err))
		return
	}
	// Active as soon as the faces serve (the stats report the same, from
	// the store's ownership): a load balancer's health check may send
	// clients here while the endpoints for the standbys are published.
	sb.active.Store(true)
	ep := sb.endpoints()
	if err := st.Publish(sb.ctx, ep); err != nil {
		sb.fail(fmt.Errorf("server: publishing this node's endpoints: %w", err))
		return
	}
	sb.log.Info("active: this node serves; standby nodes forward to it", "epoch", st.Epoch(), "endpoints", ep,
		"takeover", s.clock.Now().Sub(start))
	lease := sb.s.ownerLease
	if lease <= 0 {
		lease = ownerLease
	}
	confirmed := s.clock.Now()
	t := s.clock.NewTimer(ownerCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-sb.ctx.Done():
			return
		case <-st.Fenced():
			sb.fail(errTakenOver)
			return
		case <-t.C():
			ctx, cancel := context.WithTimeout(sb.ctx, min(forwardDialTimeout, lease/2))
			w, err := sb.obs.Owner(ctx)
			cancel()
			switch {
			case err == nil && w.Epoch != st.Epoch():
				sb.log.Error("active: the store has a newer owner", "node", w.Node, "epoch", w.Epoch, "mine", st.Epoch())
				sb.fail(errTakenOver)
				return
			case err == nil:
				confirmed = s.clock.Now()
			case s.clock.Now().Sub(confirmed) >= lease:
				sb.fail(fmt.Errorf("server: the database has not answered for %v: this node cannot tell whether another one has taken the store over, so it stops (its supervisor should start it again as a standby): %w",
					lease, err))
				return
			default:
				sb.log.Warn("active: cannot check the store's owner", "err", err)
			}
			t.Reset(ownerCheckInterval)
		}
	}
}

// fail reports a fatal error (the process stops).
func (sb *standby) fail(err error) {
	sb.log.Error("active node stopping", "err", err)
	select {
	case sb.s.serveErr <- err:
	default:
	}
}

// endpoints are this node's faces as other nodes reach them.
func (sb *standby) endpoints() map[string]string {
	ep := make(map[string]string, len(sb.faces))
	for _, f := range sb.faces {
		_, port, _ := net.SplitHostPort(f.ln.Addr().String())
		ep[f.face] = net.JoinHostPort(advertiseHost(sb.s.cfg.AdvertiseHost, f.addr), port)
	}
	return ep
}

// advertiseHost is the host other nodes dial for a listener on addr: the
// configured one, else addr's host when it is a specific address, else
// 127.0.0.1.
func advertiseHost(configured, addr string) string {
	if configured != "" {
		return configured
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return "127.0.0.1"
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return "127.0.0.1"
	}
	return host
}

// take hands a bound listener to its face (nil: none bound for it).
func (sb *standby) take(face string) net.Listener {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	for _, f := range sb.faces {
		if f.face == face && !f.taken {
			f.taken = true
			return f.ln
		}
	}
	return nil
}

func (sb *standby) addr(face string) string {
	for _, f := range sb.faces {
		if f.face == face {
			return f.ln.Addr().String()
		}
	}
	return ""
}

func (sb *standby) url(face, scheme string) string {
	if a := sb.addr(face); a != "" {
		return scheme + "://" + a
	}
	return ""
}

// acceptLoop forwards the connections of one listener until forwarding
// stops.
func (sb *standby) acceptLoop(f *boundFace) {
	defer sb.loops.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			if sb.stopping.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			sb.log.Warn("standby: accept failed", "face", f.face, "err", err)
			t := sb.s.clock.NewTimer(100 * time.Millisecond)
			select {
			case <-sb.ctx.Done():
				t.Stop()
				return
			case <-t.C():
			}
			continue
		}
		if !sb.track(c, true) {
			c.Close()
			continue
		}
		go sb.forward(f.face, c)
	}
}

// stopForwarding ends the accept loops, leaving the listeners bound.
func (sb *standby) stopForwarding() {
	sb.stopOnce.Do(func() {
		sb.stopping.Store(true)
		for _, f := range sb.faces {
			_ = f.ln.SetDeadline(time.Unix(1, 0)) // in the past: Accept returns at once
		}
		sb.loops.Wait()
		for _, f := range sb.faces {
			_ = f.ln.SetDeadline(time.Time{})
		}
	})
}

// track registers a forwarded connection (and, with goroutine, the
// goroutine that serves it); false once the standby is stopped.
func (sb *standby) track(c net.Conn, goroutine bool) bool {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if sb.closed {
		return false
	}
	sb.conns[c] = struct{}{}
	if goroutine {
		sb.wg.Add(1)
	}
	return true
}

func (sb *standby) untrack(c net.Conn) {
	sb.mu.Lock()
	delete(sb.conns, c)
	sb.mu.Unlock()
	c.Close()
}

// forward connects c to the same face of the active node and copies bytes
// both ways until either side ends.
func (sb *standby) forward(face string, c net.Conn) {
	defer sb.wg.Done()
	defer sb.untrack(c)
	var from io.Reader = c
	if face == faceMgmt {
		br := sb.sniffNode(c) // GET /api/v1/node is this node's to answer
		if br == nil {
			return
		}
		from = br
	}
	ctx, cancel := context.WithTimeout(sb.ctx, forwardDialTimeout)
	defer cancel()
	w, err := sb.obs.Owner(ctx)
	if err != nil {
		sb.log.Warn("standby: cannot read the active node's endpoints; closing the connection", "face", face, "err", err)
		return
	}
	to := w.Endpoints[face]
	if to == "" || w.Node == sb.node {
		sb.log.Debug("standby: no active node to forward to; closing the connection", "face", face, "owner", w.Node, "epoch", w.Epoch)
		return
	}
	var d net.Dialer
	up, err := d.DialContext(ctx, "tcp", to)
	if err != nil {
		sb.log.Debug("standby: the active node does not answer; closing the connection", "face", face, "to", to, "err", err)
		return
	}
	if !sb.track(up, false) {
		up.Close()
		return
	}
	defer sb.untrack(up)
	sb.forwarded.Add(1)
	sb.log.Debug("standby: forwarding", "face", face, "from", c.RemoteAddr().String(), "to", to, "epoch", w.Epoch)
	sb.wg.Add(1) // this goroutine holds a count: Add cannot race with stop's Wait
	go func() {
		defer sb.wg.Done()
		if _, err := io.Copy(up, from); err == nil {
			_ = up.(*net.TCPConn).CloseWrite() // the client is done sending; let the answer finish
		} else {
			up.Close()
		}
	}()
	_, _ = io.Copy(c, up)
	// The active node ended (or died): so does the client's connection.
	c.Close()
	up.Close()
}

// stop ends a standby: the wait for the store (or the active node's
// watch), the accept loops, the listeners no face took, and every
// forwarded connection. Nil-safe.
func (sb *standby) stop() {
	if sb == nil {
		return
	}
	sb.cancel()
	<-sb.done
	sb.stopForwarding()
	sb.mu.Lock()
	sb.closed = true
	for _, f := range sb.faces {
		if !f.taken {
			f.ln.Close()
		}
	}
	for c := range sb.conns {
		c.Close()
	}
	sb.mu.Unlock()
	sb.wg.Wait()
	sb.obs.Close()
}

// Role says whether the node is "active" or a "standby" (forwarding); ""
// without standby mode.
func (s *Server) Role() string {
	switch {
	case s.sb == nil:
		return ""
	case s.sb.active.Load():
		return "active"
	}
	return "standby"
}
