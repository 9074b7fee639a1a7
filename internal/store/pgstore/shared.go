package pgstore

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Components other than the Store keep state of their own in the same
// schema (the Storage Queue engine of every node, pgengine). They connect
// and migrate the way the Store does, with these two.

// PoolConfig returns the pool configuration every connection of the store
// uses (see poolConfig): cfg.DSN parsed, cfg.ConnectTimeout, cfg.Schema on
// the search_path, application_name appName, TCP keepalives.
func PoolConfig(cfg Config, appName string) (*pgxpool.Config, error) {
	return poolConfig(cfg, appName)
}

// Migrate brings the schema on conn (its current_schema()) up to date with
// the embedded migrations, under the same advisory lock as Open, so that
// several nodes starting at once apply each migration once. It returns the
// versions it applied.
func Migrate(ctx context.Context, conn *pgx.Conn) ([]int, error) {
	return migrate(ctx, conn)
}
