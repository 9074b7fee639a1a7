package pgengine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/httpapi/queuestorage"
	"github.com/batonmq/baton/internal/store/pgstore"
)

// Config configures an Engine. Zero values take defaults.
type Config struct {
	// DSN is a PostgreSQL connection string, as for pgstore.Config.DSN.
	DSN string
	// Schema, when set, holds the tables: it is created if missing and put
	// first on the search_path (as pgstore.Config.Schema). Empty: the
	// connection's own search_path.
	Schema string
	// Clock gives "now" to every operation (default clock.Real). The
	// nodes sharing a database must keep their clocks in sync (NTP).
	Clock  clock.Clock
	Logger *slog.Logger
	// Node names this node as a lease holder (default host:pid).
	Node string
	// MaxConns bounds the pool (default: the DSN's pool_max_conns, else
	// 16).
	MaxConns int32
	// SweepInterval is the time between two expiry sweeps (default 1 s).
	SweepInterval time.Duration
	// ConnectTimeout bounds each connection attempt (default 10 s).
	ConnectTimeout time.Duration
	// OpTimeout bounds each operation, on top of its context (default
	// 30 s): a database that stops answering fails the operation with
	// CodeStoreUnavailable instead of hanging it.
	OpTimeout time.Duration

	// VacuumInterval is how often the sweep's lease holder vacuums the
	// message table when it has at least 10,000 dead rows (default 2 s;
	// negative: never, leaving it to autovacuum). Every Get and Delete
	// leaves dead index entries at the head of the queue's index, which
	// each later Get walks past until a vacuum removes them; autovacuum
	// comes too rarely for a busy queue: over a 400k backlog, Get+Delete
	// fell from 11k to 5.7k msgs/s within 70k messages without it, and
	// stays near 10k with it.
	VacuumInterval time.Duration

	// onSweep, when set (tests), is called after each sweep tick.
	onSweep func(sweepResult)
	// vacuumAlways (tests) vacuums at each VacuumInterval whatever the
	// dead rows.
	vacuumAlways bool
}

// Storage queue limits, as the broker's defaults for a storage queue.
const (
	maxNameLength = 260       // broker.Limits.MaxNameLength
	maxBatch      = 5000      // broker.Limits.MaxReceiveBatch and MaxPeekBatch
	maxTextBytes  = 256 << 10 // broker.DefaultQueueProperties().MaxMessageSizeInKilobytes
)

// sweepLease names the lease of the expiry sweep.
const sweepLease = "sq-sweep"

// leaseTTL is how long a sweep lease lasts without renewal (at least three
// sweep intervals).
const leaseTTL = 10 * time.Second

// Engine is a queuestorage.Engine on PostgreSQL. It is safe for concurrent
// use, and any number of Engines (on any number of nodes) may share one
// schema.
type Engine struct {
	cfg   Config
	pool  *pgxpool.Pool
	clk   clock.Clock
	log   *slog.Logger
	lease *pgstore.Lease

	// The maintenance goroutine: ctx ends its statements at Close, stop
	// ends its loop, done is closed when it has returned.
	ctx    context.Context
	cancel context.CancelFunc
	stop   chan struct{}
	done   chan struct{}
	// nextVacuum is when the sweep may vacuum next (the goroutine's own).
	nextVacuum time.Time

	closeOnce sync.Once
	closeErr  error
	mu        sync.RWMutex
	closed    bool
}

var _ queuestorage.Engine = (*Engine)(nil)

// Open connects, applies pgstore's migrations (which create the tables)
// and starts the maintenance goroutine. A database that cannot be reached
// is an error; the password of the DSN is never part of it.
func Open(ctx context.Context, cfg Config) (*Engine, error) {
	if cfg.DSN == "" {
		return nil, errors.New("pgengine: no connection string")
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
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = time.Second
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	if cfg.VacuumInterval == 0 {
		cfg.VacuumInterval = 2 * time.Second
	}
	if cfg.OpTimeout <= 0 {
		cfg.OpTimeout = 30 * time.Second
	}
	// Generic plans: the statements are few, prepared once per connection,
	// and written so that their generic plans use the right indexes (see
	// getSQL, sweepSQL). Left to choose, PostgreSQL keeps planning Get anew
	// on every call because its custom plan looks cheaper: 180 → 75 µs per
	// Get. The DSN may still choose otherwise.
	pool, _, err := pgstore.OpenComponentPool(ctx, pgstore.ComponentPool{DSN: cfg.DSN, Schema: cfg.Schema,
		App: "baton-sq " + cfg.Node, MaxConns: cfg.MaxConns, ConnectTimeout: cfg.ConnectTimeout, Logger: cfg.Logger,
		Tweak: func(pcfg *pgxpool.Config) {
			if _, set := pcfg.ConnConfig.RuntimeParams["plan_cache_mode"]; !set {
				pcfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
			}
		}})
	if err != nil {
		return nil, fmt.Errorf("pgengine: %w", err)
	}
	e := &Engine{
		cfg:   cfg,
		pool:  pool,
		clk:   cfg.Clock,
		log:   cfg.Logger,
		lease: pgstore.NewLease(pool, sweepLease, cfg.Node, max(leaseTTL, 3*cfg.SweepInterval)),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	go e.maintain()
	return e, nil
}

// Close stops the maintenance goroutine, releases the sweep lease (so
// another node takes it at once) and closes the pool. Operations after
// Close fail with broker.ErrClosed.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		e.mu.Lock()
		e.closed = true
		e.mu.Unlock()
		close(e.stop)
		e.cancel()
		<-e.done
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := e.lease.Release(ctx); err != nil {
			e.closeErr = fmt.Errorf("pgengine: releasing the sweep lease: %w", err)
		}
		e.pool.Close()
	})
	return e.closeErr
}

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

// storeErr turns a database error into CodeStoreUnavailable; errors that
// carry a broker code pass through.
func storeErr(what string, err error) error {
	if err == nil || broker.CodeOf(err) != broker.CodeUnknown {
		return err
	}
	return &broker.Error{Code: broker.CodeStoreUnavailable, Message: "storage queue database unavailable while " + what, Err: err}
}

func notFound(name string) error {
	return &broker.Error{Code: broker.CodeNotFound, Message: fmt.Sprintf("storage queue %q not found", name)}
}

func invalid(format string, args ...any) error {
	return &broker.Error{Code: broker.CodeInvalidArgument, Message: fmt.Sprintf(format, args...)}
}

// checkVisibility checks a visibility timeout, as the broker does.
func checkVisibility(d time.Duration) error {
	if d < 0 || d > broker.SQMaxVisibility {
		return invalid("visibility timeout %v out of range [0, %v]", d, broker.SQMaxVisibility)
	}
	return nil
}

// checkText checks a message text against a storage queue's message size.
func checkText(name string, text []byte) error {
	if len(text) > maxTextBytes {
		return &broker.Error{Code: broker.CodeMessageTooLarge, Message: fmt.Sprintf("the message text is %d bytes; storage queue %q allows %d", len(text), name, maxTextBytes)}
	}
	return nil
}
