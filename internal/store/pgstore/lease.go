package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Lease is a named lease in baton_leases: at most one holder at a time
// (by the database's clock), for maintenance that one node should run for
// all (the Storage Queue expiry sweep; later the Service Bus engine's).
// A holder keeps it by calling Acquire again before ttl passes; a lapsed
// or released lease goes to the next node that asks, with the next term.
// Terms only grow, so a holder can tell whether it kept the lease without
// a gap. The work done under a lease must stay correct when two nodes
// briefly both believe they hold it (a holder's renewal can be late).
type Lease struct {
	pool   *pgxpool.Pool
	name   string
	holder string
	ttl    time.Duration
}

// NewLease returns the lease name for holder, lasting ttl past each
// Acquire.
func NewLease(pool *pgxpool.Pool, name, holder string, ttl time.Duration) *Lease {
	return &Lease{pool: pool, name: name, holder: holder, ttl: ttl}
}

// acquireSQL takes the lease, or renews it for its holder, in one
// statement. The term stays while the holder keeps an unexpired lease and
// grows otherwise. No row comes back when another holder's lease is
// still running.
const acquireSQL = `
INSERT INTO baton_leases AS l (name, holder, term, expires_at)
VALUES ($1, $2, 1, now() + $3 * interval '1 millisecond')
ON CONFLICT (name) DO UPDATE SET
	term = CASE WHEN l.holder = excluded.holder AND l.expires_at >= now() THEN l.term ELSE l.term + 1 END,
	holder = excluded.holder,
	expires_at = excluded.expires_at
WHERE l.expires_at < now() OR l.holder = excluded.holder
RETURNING term`

// Acquire takes or renews the lease. held reports whether this holder has
// it until ttl from now; term is its term then.
func (l *Lease) Acquire(ctx context.Context) (term int64, held bool, err error) {
	err = l.pool.QueryRow(ctx, acquireSQL, l.name, l.holder, l.ttl.Milliseconds()).Scan(&term)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("pgstore: lease %s: %w", l.name, err)
	}
	return term, true, nil
}

// Release gives the lease up if this holder has it: it expires at once
// (the row and its term stay, so the next holder's term is higher).
func (l *Lease) Release(ctx context.Context) error {
	_, err := l.pool.Exec(ctx, `UPDATE baton_leases SET expires_at = '-infinity' WHERE name = $1 AND holder = $2`, l.name, l.holder)
	if err != nil {
		return fmt.Errorf("pgstore: releasing lease %s: %w", l.name, err)
	}
	return nil
}

// VacuumIfDead vacuums table when PostgreSQL's statistics count at least
// minDead dead rows in it (they lag by up to some seconds) and reports
// whether it did; minDead 0 vacuums always. SKIP_LOCKED: a vacuum already
// running (autovacuum, or another node's) is enough. Queue tables need it
// more often than autovacuum comes: every claim and removal leaves dead
// index entries at the head of the queue, which each later claim walks
// past until a vacuum removes them.
func VacuumIfDead(ctx context.Context, pool *pgxpool.Pool, table string, minDead int64) (bool, error) {
	if minDead > 0 {
		var dead int64
		err := pool.QueryRow(ctx, `SELECT coalesce((SELECT n_dead_tup FROM pg_stat_user_tables WHERE relid = $1::regclass), 0)`, table).Scan(&dead)
		if err != nil {
			return false, fmt.Errorf("pgstore: reading the statistics of %s: %w", table, err)
		}
		if dead < minDead {
			return false, nil
		}
	}
	if _, err := pool.Exec(ctx, `VACUUM (SKIP_LOCKED, TRUNCATE false) `+pgx.Identifier{table}.Sanitize()); err != nil {
		return false, fmt.Errorf("pgstore: vacuuming %s: %w", table, err)
	}
	return true, nil
}
