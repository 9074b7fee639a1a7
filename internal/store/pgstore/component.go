package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ComponentPool describes the pool of a component that keeps its own state
// in the store's schema beside the store (the shared engines: pgengine,
// pgbroker).
type ComponentPool struct {
	DSN    string // as Config.DSN
	Schema string // as Config.Schema: created if missing, first on the search_path
	// App is the application_name its connections show (cut to the 63
	// bytes PostgreSQL keeps).
	App string
	// MaxConns bounds the pool; 0: the DSN's pool_max_conns, else 16.
	MaxConns       int32
	ConnectTimeout time.Duration
	// Tweak, when set, adjusts the pool's configuration before it opens.
	Tweak  func(*pgxpool.Config)
	Logger *slog.Logger
}

// OpenComponentPool opens the pool, creates the schema if asked to and
// applies the migrations (which create every component's tables). It
// returns the pool and its configuration (to derive others from). Errors
// name the database without its password.
func OpenComponentPool(ctx context.Context, c ComponentPool) (*pgxpool.Pool, *pgxpool.Config, error) {
	app := c.App
	if len(app) > 63 {
		app = app[:63]
	}
	pcfg, err := PoolConfig(Config{DSN: c.DSN, Schema: c.Schema, ConnectTimeout: c.ConnectTimeout}, app)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case c.MaxConns > 0:
		pcfg.MaxConns = c.MaxConns
	case !DSNSets(c.DSN, "pool_max_conns"):
		pcfg.MaxConns = 16
	}
	if c.Tweak != nil {
		c.Tweak(pcfg)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (database %s)", err, Redact(c.DSN))
	}
	if err := migrateSchema(ctx, pool, c); err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("%w (database %s)", err, Redact(c.DSN))
	}
	return pool, pcfg, nil
}

// migrateSchema creates the schema if asked to and migrates it.
func migrateSchema(ctx context.Context, pool *pgxpool.Pool, c ComponentPool) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("connecting: %w", err)
	}
	defer conn.Release()
	if c.Schema != "" {
		if _, err := conn.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{c.Schema}.Sanitize()); err != nil {
			return fmt.Errorf("creating schema %q: %w", c.Schema, err)
		}
	}
	applied, err := Migrate(ctx, conn.Conn())
	if err != nil {
		return err
	}
	if len(applied) > 0 && c.Logger != nil {
		c.Logger.Info("pgstore: schema migrated", "versions", applied, "by", c.App)
	}
	return nil
}

// DefaultNode is a node's name when none is configured: host:pid.
func DefaultNode() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d", host, os.Getpid())
}

// SQLState returns err's PostgreSQL SQLSTATE, or "".
func SQLState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}
