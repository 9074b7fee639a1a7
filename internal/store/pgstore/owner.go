package pgstore

// Active/standby: the node that owns the store publishes where its faces
// can be reached (baton_owner.endpoints, migration 3); standby nodes read
// it through an Observer and forward their clients' connections there.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrFenced is returned by Publish when another node has taken the store
// over (a newer epoch).
var ErrFenced = errors.New("pgstore: another node has taken the store over")

// Owner is what baton_owner says about the node that owns the store.
type Owner struct {
	Epoch int64  // the fencing epoch; 0: no node ever owned the store
	Node  string // the owner's name (host:pid by default)
	Since time.Time
	// Endpoints are the owner's faces, name → host:port, as it published
	// them; nil while it has not (it is still loading, or it stopped).
	Endpoints map[string]string
}

// Publish records where this node's faces can be reached (face name →
// host:port), for standby nodes to forward to. It fails with ErrFenced
// once another node owns the store.
func (s *Store) Publish(ctx context.Context, endpoints map[string]string) error {
	b, err := json.Marshal(endpoints)
	if err != nil {
		return fmt.Errorf("pgstore: endpoints: %w", err)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE baton_owner SET endpoints = $1 WHERE id = 1 AND epoch = $2`, string(b), s.epoch)
	if err != nil {
		return fmt.Errorf("pgstore: publishing the endpoints: %w", err)
	}
	if tag.RowsAffected() == 0 {
		s.markFenced()
		return fmt.Errorf("%w (this node had epoch %d)", ErrFenced, s.epoch)
	}
	return nil
}

// Fenced is closed when this node learns that another one has taken the
// store over: a write failed on the fencing check (its writes all fail
// from then on). A node running as part of an active/standby group should
// then stop, so that its clients reconnect to the new owner.
func (s *Store) Fenced() <-chan struct{} { return s.fenced }

func (s *Store) markFenced() {
	s.fencedOnce.Do(func() {
		s.log.Error("pgstore: another node has taken the store over; this node can no longer write", "epoch", s.epoch)
		close(s.fenced)
	})
}

// Observer reads who owns a store, without taking part (a standby node
// uses one while it waits).
type Observer struct {
	pool *pgxpool.Pool
}

// NewObserver connects to the database of cfg (DSN, Schema,
// ConnectTimeout and Node are used) with a small pool of its own.
func NewObserver(ctx context.Context, cfg Config) (*Observer, error) {
	if cfg.DSN == "" {
		return nil, errors.New("pgstore: no connection string")
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	if cfg.Node == "" {
		cfg.Node = DefaultNode()
	}
	app := "baton observer " + cfg.Node
	if len(app) > 63 {
		app = app[:63]
	}
	pcfg, err := PoolConfig(cfg, app)
	if err != nil {
		return nil, err
	}
	pcfg.MaxConns = 2
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	return &Observer{pool: pool}, nil
}

// Owner reads the current owner. A schema whose tables do not exist yet
// (no node has started on it) is an error.
func (o *Observer) Owner(ctx context.Context) (Owner, error) {
	var (
		w  Owner
		ep []byte
	)
	err := o.pool.QueryRow(ctx, `SELECT epoch, node, since, endpoints FROM baton_owner WHERE id = 1`).Scan(&w.Epoch, &w.Node, &w.Since, &ep)
	var pgErr *pgconn.PgError
	if errors.Is(err, pgx.ErrNoRows) || errors.As(err, &pgErr) && (pgErr.Code == "42P01" || pgErr.Code == "42703") {
		// No node has created the tables yet, or migrated them to version 3.
		return Owner{}, nil
	}
	if err != nil {
		return Owner{}, fmt.Errorf("pgstore: reading the owner: %w", err)
	}
	if ep != nil {
		if err := json.Unmarshal(ep, &w.Endpoints); err != nil {
			return Owner{}, fmt.Errorf("pgstore: the owner's endpoints: %w", err)
		}
	}
	return w, nil
}

// Close releases the observer's connections.
func (o *Observer) Close() { o.pool.Close() }
