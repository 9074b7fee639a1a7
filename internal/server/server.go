// Package server assembles Baton from its configuration: it opens the store,
// the broker and every face, and owns the order of start-up and shutdown.
// Only cmd/baton and end-to-end tests import it.
//
// With cfg.Standby (a PostgreSQL store only) the server first runs as a
// standby: standby.go.
//
// Start-up: store → broker (recovery) → declared entities → listeners →
// ready. Shutdown (STYLE.md §4.5): not ready → close listeners and drain
// in-flight requests until the context ends → close the broker (wakes
// waiting receivers) → flush and close the store.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/batonmq/baton/internal/amqp"
	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/config"
	"github.com/batonmq/baton/internal/devtls"
	"github.com/batonmq/baton/internal/httpapi/mgmt"
	"github.com/batonmq/baton/internal/httpapi/queuestorage/pgengine"
	"github.com/batonmq/baton/internal/pgbroker"
	"github.com/batonmq/baton/internal/store/filestore"
	"github.com/batonmq/baton/internal/store/memstore"
	"github.com/batonmq/baton/internal/store/pgstore"
	"github.com/batonmq/baton/internal/vfs"
	"github.com/batonmq/baton/internal/wal"
)

// Server is a running Baton.
type Server struct {
	cfg   config.Config
	log   *slog.Logger
	clock clock.Clock

	store     broker.Store
	storeDesc string
	dirLock   *os.File
	broker    *broker.Broker

	mgmtLn  net.Listener
	mgmtSrv *http.Server

	amqpLn    net.Listener
	amqpSrv   *amqp.Server
	amqpsAddr atomic.Pointer[string] // set while the AMQPS listener serves
	tls       *devtls.Bundle

	queue    *queueFace       // Azure Queue Storage face (queuestorage.go)
	sharedSQ *pgengine.Engine // its engine when shared in PostgreSQL (sharedqueues.go)
	sharedSB *pgbroker.Engine // the Service Bus face's engine when shared in PostgreSQL (sharedsb.go)

	eventGrid *eventGridFace // Event Grid face and push workers (eventgrid.go)

	sb         *standby      // nil unless cfg.Standby
	node       string        // Options.Node
	ownerLease time.Duration // standby.go's ownerLease unless set (tests)

	ready    atomic.Bool
	wg       sync.WaitGroup
	serveErr chan error
}

// Options are what tests and the CLI may inject; zero values take defaults.
type Options struct {
	Logger *slog.Logger
	Clock  clock.Clock
	// Node names this process among the nodes of one PostgreSQL store
	// (default host:pid; tests running several nodes in one process set
	// it).
	Node string
}

// New validates cfg and returns a server that is not started.
func New(cfg config.Config, opts Options) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: opts.Logger, clock: opts.Clock, node: opts.Node, serveErr: make(chan error, 4)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.clock == nil {
		s.clock = clock.Real{}
	}
	return s, nil
}

// Start opens the store and the broker, creates declared entities and starts
// the listeners. On error everything opened so far is closed again.
//
// With cfg.Standby it binds the listeners, starts forwarding their
// connections to the active node and returns; the node becomes active
// when it gets the store (standby.go).
func (s *Server) Start(ctx context.Context) (err error) {
	if s.cfg.Standby {
		return s.startStandby(ctx)
	}
	defer func() {
		if err != nil {
			s.closeAll()
			s.closeSharedQueues()
			s.closeSharedSB()
		}
	}()
	return s.startActive(ctx)
}

// startActive opens the store (unless a standby already holds it), the
// broker and the faces.
func (s *Server) startActive(ctx context.Context) error {
	start := s.clock.Now()
	if s.store == nil {
		if err := s.openStore(ctx); err != nil {
			return err
		}
	}
	var limits broker.Limits
	if s.cfg.FromEmulator {
		// The emulator allows duplicate-detection windows down to 5 s.
		limits.MinDuplicateWindow = 5 * time.Second
		for _, n := range s.cfg.EmulatorNotes {
			s.log.Warn("emulator Config.json: " + n)
		}
	}
	hot := s.cfg.HotBodyMiB << 20
	if s.cfg.HotBodyMiB < 0 {
		hot = -1
	}
	b, err := broker.New(broker.Config{Store: s.store, Clock: s.clock, Logger: s.log.With("component", "broker"), Limits: limits,
		Codec: serviceBusCodec(), HotBodyBytes: hot})
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	if err := b.Open(ctx); err != nil {
		return fmt.Errorf("server: recovering the broker from %s: %w", s.storeDesc, err)
	}
	s.broker = b
	if err := s.openSharedSB(ctx); err != nil { // declared entities go to it, if shared
		return err
	}
	if err := s.declareEntities(ctx); err != nil {
		return err
	}
	if s.amqpSrv == nil { // a standby's shared Service Bus already serves
		if err := s.startServiceBus(ctx); err != nil {
			return err
		}
	}
	if addr := s.cfg.Listen.Mgmt; addr != "" {
		ln, err := s.listen(faceMgmt, addr)
		if err != nil {
			return fmt.Errorf("server: management API: %w", err)
		}
		s.mgmtLn = ln
		h := withEventGridMgmt(mgmt.New(mgmt.Config{Broker: s.sbEngine(), Logger: s.log.With("component", "mgmt"), Ready: s.ready.Load, StoreStats: s.storeStats}))
		if s.sb != nil {
			h.(*egMgmtMux).node = http.HandlerFunc(s.sb.serveNode)
		}
		s.mgmtSrv = &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := s.mgmtSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.serveErr <- fmt.Errorf("server: management API: %w", err)
			}
		}()
	}
	if s.cfg.SharedStorageQueues { // the broker's own storage queues, if any, are hidden
		if n := len(b.ListEntities(broker.KindStorageQueue)); n > 0 {
			s.log.Warn("this store's broker holds storage queues made without sharedStorageQueues; they are not served while it is on (docs/scale-out.md)", "queues", n)
		}
	}
	if s.queue == nil { // a standby's shared Storage Queues already serve
		if err := s.openSharedQueues(ctx); err != nil {
			return err
		}
		if err := s.startQueueStorage(ctx); err != nil {
			return err
		}
	}
	if err := s.startEventGrid(ctx); err != nil {
		return err
	}
	s.ready.Store(true)
	s.log.Info("baton is ready", "store", s.storeDesc, "mgmt", s.MgmtURL(), "amqp", s.AMQPAddr(), "entities", len(b.ListEntities(0)),
		"startup", s.clock.Now().Sub(start))
	return nil
}

// openStore opens the configured store: memstore with Memory, else the
// durable filestore under DataDir/store, with the data directory locked
// against a second process.
func (s *Server) openStore(ctx context.Context) error {
	if s.cfg.PostgresStore() {
		return s.openPostgres(ctx) // pgstore.go
	}
	if s.cfg.Memory {
		s.store = memstore.New()
		s.storeDesc = "memory (nothing on disk)"
		return nil
	}
	if err := os.MkdirAll(s.cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("server: data directory: %w", err)
	}
	lock, err := lockDir(s.cfg.DataDir)
	if err != nil {
		return err
	}
	s.dirLock = lock
	// Segments of 128 MiB: one send (a batch, or a message of up to 100 MB)
	// must fit in one segment.
	fcfg := filestore.Config{Sync: wal.SyncAlways, SegmentSize: 128 << 20, Clock: s.clock, Logger: s.log.With("component", "filestore")}
	if s.cfg.Durability == "buffered" {
		fcfg.Sync = wal.SyncInterval
		fcfg.SyncInterval = time.Duration(s.cfg.SyncInterval)
	}
	dir := filepath.Join(s.cfg.DataDir, "store")
	st, err := filestore.Open(vfs.OS{}, dir, fcfg)
	if err != nil {
		return fmt.Errorf("server: opening the store in %s: %w", dir, err)
	}
	s.store = st
	s.storeDesc = fmt.Sprintf("%s (%s)", dir, s.cfg.Durability)
	return nil
}

// lockDir takes an exclusive lock on dir/LOCK so that two processes never
// share a data directory.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("server: lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("server: data directory %s is in use by another Baton process: %w", dir, err)
	}
	return f, nil
}

// storeStats reports the store's counters for the management API's
// /api/v1/stats (fsyncs per message in `baton bench`).
func (s *Server) storeStats() mgmt.StoreStats {
	if ps, ok := s.store.(*pgstore.Store); ok {
		return pgStoreStats(ps, s.sb != nil)
	}
	fs, ok := s.store.(*filestore.Store)
	if !ok {
		return mgmt.StoreStats{Store: "memory"}
	}
	w := fs.Stats().WAL
	return mgmt.StoreStats{Store: "file", Durability: s.cfg.Durability, Appends: w.Appends, Records: w.Records, Bytes: w.Bytes, Syncs: w.Syncs}
}

// Broker returns the broker (for tests).
func (s *Server) Broker() *broker.Broker { return s.broker }

// StoreDescription says which store runs.
func (s *Server) StoreDescription() string {
	if s.sb != nil {
		return s.sb.desc
	}
	return s.storeDesc
}

// MgmtURL returns the management API's base URL, or "" when it is off.
func (s *Server) MgmtURL() string {
	if s.sb != nil {
		return s.sb.url(faceMgmt, "http")
	}
	if s.mgmtLn == nil {
		return ""
	}
	return "http://" + s.mgmtLn.Addr().String()
}

// Err delivers a listener's fatal error.
func (s *Server) Err() <-chan error { return s.serveErr }

// Shutdown stops the server gracefully: in-flight requests may finish until
// ctx ends, then everything is closed.
func (s *Server) Shutdown(ctx context.Context) error {
	s.ready.Store(false)
	s.sb.stop() // waits for a take-over in progress to end
	if s.broker != nil {
		s.broker.Drain() // waiting receives return now, so requests can finish
	}
	if s.sharedSB != nil {
		s.sharedSB.Drain()
	}
	var errs []error
	if s.amqpSrv != nil {
		if err := s.amqpSrv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("server: AMQP shutdown: %w", err))
		}
		s.amqpSrv, s.amqpLn = nil, nil
	}
	errs = append(errs, s.queue.shutdown(ctx))
	errs = append(errs, s.stopEventGrid(ctx))
	errs = append(errs, s.closeSharedQueues(), s.closeSharedSB()) // after push, which writes through them
	if s.mgmtSrv != nil {
		if err := s.mgmtSrv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("server: management API shutdown: %w", err))
			s.mgmtSrv.Close()
		}
	}
	s.wg.Wait()
	if err := s.closeAll(); err != nil {
		errs = append(errs, err)
	}
	s.log.Info("baton stopped")
	return errors.Join(errs...)
}

// closeAll closes the broker and the store.
func (s *Server) closeAll() error {
	if s.mgmtLn != nil && s.mgmtSrv == nil {
		s.mgmtLn.Close()
	}
	if s.amqpSrv != nil && !s.ready.Load() {
		// Start failed after the Service Bus face started: stop it now.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s.amqpSrv.Shutdown(ctx)
		cancel()
		s.wg.Wait()
		s.amqpSrv = nil
	}
	if s.amqpLn != nil && s.amqpSrv == nil {
		s.amqpLn.Close()
	}
	var errs []error
	if s.broker != nil {
		errs = append(errs, s.broker.Close())
		s.broker = nil
	}
	if s.store != nil {
		if err := s.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("server: closing the store: %w", err))
		}
		s.store = nil
	}
	if s.dirLock != nil {
		s.dirLock.Close() // releases the flock
		s.dirLock = nil
	}
	return errors.Join(errs...)
}
