package pgbroker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/store/pgstore"
)

// Config configures an Engine. Zero values take defaults.
type Config struct {
	// DSN is a PostgreSQL connection string, as for pgstore.Config.DSN.
	DSN string
	// Schema, when set, holds the tables (created if missing, first on the
	// search_path). Empty: the connection's own search_path.
	Schema string
	// Clock gives "now" to every operation (default clock.Real). Nodes
	// sharing a database must keep their clocks in sync (NTP).
	Clock  clock.Clock
	Logger *slog.Logger
	// Node names this node as a lease holder (default host:pid).
	Node string
	// Limits are the namespace's limits (default broker.DefaultLimits).
	Limits broker.Limits
	// Codec reads application properties inside AMQP bodies for
	// subscription rules, and rewrites bodies for rule actions (as
	// broker.Config.Codec); nil: rules see only Message.Properties.
	Codec broker.MessageCodec
	// MaxConns bounds the pool (default: the DSN's pool_max_conns, else 16).
	MaxConns int32
	// MaintainInterval is the time between two maintenance ticks of the
	// lease holder: scheduled activation, the TTL sweep, dedup cleanup
	// (default 250 ms).
	MaintainInterval time.Duration
	// PollInterval is how often a waiting receiver looks again without a
	// wake-up (locks that lapse, notifications lost while the listening
	// connection was down; default 1 s).
	PollInterval time.Duration
	// EntityTTL is how long a node trusts its cached copy of an entity's
	// definition (default 1 s): another node's update or delete applies
	// here within it.
	EntityTTL time.Duration
	// VacuumInterval is how often the lease holder vacuums the message
	// table when it has at least 10,000 dead rows (default 2 s; negative:
	// never, leaving it to autovacuum).
	VacuumInterval time.Duration
	// ConnectTimeout bounds each connection attempt (default 10 s).
	ConnectTimeout time.Duration
	// OpTimeout bounds each statement, on top of its context (default
	// 30 s): a database that stops answering fails the operation with
	// CodeStoreUnavailable instead of hanging it.
	OpTimeout time.Duration

	// onMaintain, when set (tests), is called after each maintenance tick.
	onMaintain func(maintainResult)
}

// maintainLease names the lease of the maintenance work.
const maintainLease = "sb-maintain"

// leaseTTL is how long the maintenance lease lasts without renewal.
const leaseTTL = 5 * time.Second

// Engine is a broker.Engine on PostgreSQL for queues (topics, auto-forward
// and transactions answer CodeNotImplemented). It is safe for concurrent
// use, and any number of Engines, on any number of nodes, may share one
// schema.
type Engine struct {
	cfg   Config
	pool  *pgxpool.Pool
	clk   clock.Clock
	log   *slog.Logger
	lease *pgstore.Lease

	fast *pgxpool.Pool // synchronous_commit off: locks only (Open)

	ents   entityCache
	subs   subCache
	wakes  wakeups
	router *broker.Router
	wq     chan *writeOp // the writer's queue (writer.go)

	// Where the lease holder's collection of topic bodies goes on
	// (maintain.go).
	// When this node last cleared each entity's lapsed locks (receive.go).
	lapseMu  sync.Mutex
	lapsedAt map[int64]time.Time

	gcMu           sync.Mutex
	gcTopic, gcSeq int64
	nextVacuum     time.Time

	// ctx ends background statements at Close; stop ends the loops; wg
	// counts the background goroutines.
	ctx    context.Context
	cancel context.CancelFunc
	stop   chan struct{}
	wg     sync.WaitGroup
	// drain is closed by Drain: waiting receives return at once, empty.
	drain     chan struct{}
	drainOnce sync.Once

	closeOnce sync.Once
	closeErr  error
	mu        sync.RWMutex
	closed    bool
}

var _ broker.Engine = (*Engine)(nil)

// Open connects, applies pgstore's migrations (which create the tables),
// and starts the listener, the notifier and the maintenance loop. A
// database that cannot be reached is an error; the password of the DSN is
// never part of it.
func Open(ctx context.Context, cfg Config) (*Engine, error) {
	if cfg.DSN == "" {
		return nil, errors.New("pgbroker: no connection string")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Node == "" {
		cfg.Node = pgstore.DefaultNode()
	}
	if cfg.Limits == (broker.Limits{}) {
		cfg.Limits = broker.DefaultLimits()
	}
	if cfg.MaintainInterval <= 0 {
		cfg.MaintainInterval = 250 * time.Millisecond
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.EntityTTL <= 0 {
		cfg.EntityTTL = time.Second
	}
	if cfg.VacuumInterval == 0 {
		cfg.VacuumInterval = 500 * time.Millisecond
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	if cfg.OpTimeout <= 0 {
		cfg.OpTimeout = 30 * time.Second
	}
	pool, pcfg, err := pgstore.OpenComponentPool(ctx, pgstore.ComponentPool{DSN: cfg.DSN, Schema: cfg.Schema,
		App: "baton-sb " + cfg.Node, MaxConns: cfg.MaxConns, ConnectTimeout: cfg.ConnectTimeout, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("pgbroker: %w", err)
	}
	// Locks (claims, renewals, session locks) commit without waiting for
	// the WAL flush: a lock lost in a database crash only lets its message
	// be delivered again (at least once), as when a lock lapses, and every
	// receive saves a flush. Sends and settlements stay durable (pool).
	fcfg := pcfg.Copy()
	fcfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	fcfg.MaxConns = max(pcfg.MaxConns/2, 2)
	fast, err := pgxpool.NewWithConfig(ctx, fcfg)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgbroker: %w (database %s)", err, pgstore.Redact(cfg.DSN))
	}
	e := &Engine{
		cfg:    cfg,
		pool:   pool,
		fast:   fast,
		clk:    cfg.Clock,
		log:    cfg.Logger,
		lease:  pgstore.NewLease(pool, maintainLease, cfg.Node, max(leaseTTL, 4*cfg.MaintainInterval)),
		stop:   make(chan struct{}),
		drain:  make(chan struct{}),
		router: broker.NewRouter(cfg.Codec),
		wq:     make(chan *writeOp, maxWriteBatch),
	}
	e.ents.init(cfg.EntityTTL)
	e.wakes.init()
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.wg.Add(4)
	go e.writeLoop()
	go e.listen()
	go e.notify()
	go e.maintain()
	return e, nil
}

// Close stops the background goroutines, ends waiting receives with
// broker.ErrClosed, releases the maintenance lease (so that another node
// takes it at once) and closes the pool.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		e.mu.Lock()
		e.closed = true
		e.mu.Unlock()
		close(e.stop)
		e.cancel()
		e.wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := e.lease.Release(ctx); err != nil {
			e.closeErr = fmt.Errorf("pgbroker: releasing the maintenance lease: %w", err)
		}
		e.fast.Close()
		e.pool.Close()
	})
	return e.closeErr
}

// Drain makes waiting receives and session accepts return now, empty, and
// later ones not wait (a server shutting down lets its requests finish).
func (e *Engine) Drain() { e.drainOnce.Do(func() { close(e.drain) }) }

// Now is the engine's clock.
func (e *Engine) Now() time.Time { return e.clk.Now() }

// Limits are the namespace's limits.
func (e *Engine) Limits() broker.Limits { return e.cfg.Limits }

// begin starts an operation: it fails after Close, and bounds ctx by
// OpTimeout. The caller calls the returned cancel.
func (e *Engine) begin(ctx context.Context) (context.Context, context.CancelFunc, error) {
	e.mu.RLock()
	closed := e.closed
	e.mu.RUnlock()
	if closed {
		return nil, nil, broker.ErrClosed
	}
	ctx, cancel := context.WithTimeout(ctx, e.cfg.OpTimeout)
	return ctx, cancel, nil
}

// now is the operation's time, to the microsecond (what a timestamptz
// keeps), in UTC.
func (e *Engine) now() time.Time { return e.clk.Now().UTC().Truncate(time.Microsecond) }

// inTx runs f in one transaction, committed when f returns nil.
func (e *Engine) inTx(ctx context.Context, f func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, e.pool, f)
}

// storeErr turns a database error into CodeStoreUnavailable; errors that
// carry a broker code (and a caller's cancellation) pass through.
func storeErr(what string, err error) error {
	if err == nil || broker.CodeOf(err) != broker.CodeUnknown {
		return err
	}
	return &broker.Error{Code: broker.CodeStoreUnavailable, Message: "Service Bus database unavailable while " + what, Err: err}
}

func errorf(code broker.Code, format string, args ...any) error {
	return &broker.Error{Code: code, Message: fmt.Sprintf(format, args...)}
}
