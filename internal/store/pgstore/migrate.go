package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Migrations are SQL files named NNNN_what.sql, applied in order, each in
// its own transaction together with its row in baton_schema_version.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in version order.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("pgstore: migrations: %w", err)
	}
	var out []migration
	for _, n := range names {
		base := path.Base(n)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("pgstore: migration file %q is not named NNNN_what.sql", base)
		}
		b, err := migrationFS.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("pgstore: migrations: %w", err)
		}
		out = append(out, migration{version: v, name: base, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := range out {
		if out[i].version != i+1 {
			return nil, fmt.Errorf("pgstore: migration %s: versions must run 1, 2, 3… without gaps", out[i].name)
		}
	}
	return out, nil
}

// SchemaVersion is the schema version this build writes.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// lockKey names an advisory lock of this schema: purpose, then the schema.
const lockKeySQL = `hashtextextended('baton:' || $1 || ':' || current_schema(), 0)`

// Migrate brings the schema on conn (its current_schema()) up to date and
// returns the versions it applied. It holds a session advisory lock
// meanwhile, so that nodes starting at the same moment (stores and the
// other components that keep state in the schema, pgengine) apply each
// migration once: the others wait, then find nothing left to do.
func Migrate(ctx context.Context, conn *pgx.Conn) (applied []int, err error) {
	ms, err := migrations()
	if err != nil {
		return nil, err
	}
	var schema *string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	if schema == nil {
		return nil, errors.New("pgstore: no schema to create tables in: the search_path names no schema that exists")
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(`+lockKeySQL+`)`, "migrate"); err != nil {
		return nil, fmt.Errorf("pgstore: taking the migration lock: %w", err)
	}
	defer func() {
		// A lost connection releases the lock by itself.
		_, uerr := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(`+lockKeySQL+`)`, "migrate")
		if err == nil && uerr != nil {
			err = fmt.Errorf("pgstore: releasing the migration lock: %w", uerr)
		}
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS baton_schema_version (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return nil, fmt.Errorf("pgstore: creating baton_schema_version in schema %q: %w", *schema, err)
	}
	var have int
	if err := conn.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM baton_schema_version`).Scan(&have); err != nil {
		return nil, fmt.Errorf("pgstore: reading the schema version: %w", err)
	}
	if have > len(ms) {
		return nil, fmt.Errorf("pgstore: schema %q is at version %d, newer than this Baton knows (%d): upgrade Baton", *schema, have, len(ms))
	}
	for _, m := range ms[have:] {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO baton_schema_version (version, name) VALUES ($1, $2)`, m.version, m.name)
			return err
		})
		if err != nil {
			return applied, fmt.Errorf("pgstore: applying migration %s in schema %q: %w", m.name, *schema, err)
		}
		applied = append(applied, m.version)
	}
	return applied, nil
}
