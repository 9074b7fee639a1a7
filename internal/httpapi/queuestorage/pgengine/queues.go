package pgengine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/httpapi/queuestorage"
)

// Queue names are keyed case-folded, as the broker keys entities
// (broker.EntityKey); the name is kept as created.

// metaArrays returns metadata as two parallel arrays sorted by name
// (never nil: the columns are NOT NULL).
func metaArrays(md map[string]string) (keys, vals [][]byte) {
	names := slices.Sorted(maps.Keys(md))
	keys, vals = make([][]byte, len(names)), make([][]byte, len(names))
	for i, k := range names {
		keys[i], vals[i] = []byte(k), []byte(md[k])
	}
	return keys, vals
}

// metaMap is metaArrays' inverse; no metadata is nil, as the broker gives
// it.
func metaMap(keys, vals [][]byte) (map[string]string, error) {
	if len(keys) != len(vals) {
		return nil, fmt.Errorf("pgengine: metadata has %d names and %d values", len(keys), len(vals))
	}
	if len(keys) == 0 {
		return nil, nil
	}
	md := make(map[string]string, len(keys))
	for i, k := range keys {
		md[string(k)] = string(vals[i])
	}
	return md, nil
}

// CreateQueue creates a queue with metadata; an existing queue of that
// name (in any case) is CodeEntityExists.
func (e *Engine) CreateQueue(ctx context.Context, name string, metadata map[string]string) error {
	ctx, cancel, err := e.begin(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	if err := broker.ValidateEntityName(name, maxNameLength); err != nil {
		return err
	}
	keys, vals := metaArrays(metadata)
	tag, err := e.pool.Exec(ctx, `INSERT INTO baton_sq_queues (key, name, meta_keys, meta_values, created_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key) DO NOTHING`, broker.EntityKey(name), name, keys, vals, e.now())
	if err != nil {
		return storeErr("creating a queue", err)
	}
	if tag.RowsAffected() == 0 {
		return &broker.Error{Code: broker.CodeEntityExists, Message: fmt.Sprintf("storage queue %q already exists", name)}
	}
	return nil
}

// queueSQL reads queues with their approximate counts (unexpired
// messages, visible or not, at $1).
const queueSQL = `SELECT q.name, q.meta_keys, q.meta_values,
	(SELECT count(*) FROM baton_sq_messages m WHERE m.queue = q.key AND (m.expires_at IS NULL OR m.expires_at > $1))
	FROM baton_sq_queues q`

func scanQueue(row pgx.Row) (*queuestorage.Queue, error) {
	var (
		q          queuestorage.Queue
		keys, vals [][]byte
	)
	if err := row.Scan(&q.Name, &keys, &vals, &q.ApproximateCount); err != nil {
		return nil, err
	}
	md, err := metaMap(keys, vals)
	if err != nil {
		return nil, err
	}
	q.Metadata = md
	return &q, nil
}

// Queue returns one queue.
func (e *Engine) Queue(ctx context.Context, name string) (*queuestorage.Queue, error) {
	ctx, cancel, err := e.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	q, err := scanQueue(e.pool.QueryRow(ctx, queueSQL+` WHERE q.key = $2`, e.now(), broker.EntityKey(name)))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound(name)
	}
	if err != nil {
		return nil, storeErr("reading a queue", err)
	}
	return q, nil
}

// Queues returns the queues whose names start with prefix, sorted by
// their case-folded names.
func (e *Engine) Queues(ctx context.Context, prefix string) ([]*queuestorage.Queue, error) {
	ctx, cancel, err := e.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	rows, err := e.pool.Query(ctx, queueSQL+` WHERE starts_with(q.name, $2) ORDER BY q.key`, e.now(), prefix)
	if err != nil {
		return nil, storeErr("listing queues", err)
	}
	defer rows.Close()
	var out []*queuestorage.Queue
	for rows.Next() {
		q, err := scanQueue(rows)
		if err != nil {
			return nil, storeErr("listing queues", err)
		}
		out = append(out, q)
	}
	if err := rows.Err(); err != nil {
		return nil, storeErr("listing queues", err)
	}
	return out, nil
}

// DeleteQueue deletes a queue and its messages.
func (e *Engine) DeleteQueue(ctx context.Context, name string) error {
	ctx, cancel, err := e.begin(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	tag, err := e.pool.Exec(ctx, `DELETE FROM baton_sq_queues WHERE key = $1`, broker.EntityKey(name))
	if err != nil {
		return storeErr("deleting a queue", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound(name)
	}
	return nil
}

// UpdateMetadata replaces a queue's metadata with update's answer in one
// short transaction that holds the queue's row, so that two nodes updating
// at once (Set Metadata keeps the ACL, Set ACL keeps the metadata) do not
// lose each other's change.
func (e *Engine) UpdateMetadata(ctx context.Context, name string, update func(map[string]string) map[string]string) error {
	ctx, cancel, err := e.begin(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	key := broker.EntityKey(name)
	found := false
	err = pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		var keys, vals [][]byte
		err := tx.QueryRow(ctx, `SELECT meta_keys, meta_values FROM baton_sq_queues WHERE key = $1 FOR UPDATE`, key).Scan(&keys, &vals)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		old, err := metaMap(keys, vals)
		if err != nil {
			return err
		}
		keys, vals = metaArrays(update(old))
		_, err = tx.Exec(ctx, `UPDATE baton_sq_queues SET meta_keys = $2, meta_values = $3 WHERE key = $1`, key, keys, vals)
		return err
	})
	if err != nil {
		return storeErr("setting a queue's metadata", err)
	}
	if !found {
		return notFound(name)
	}
	return nil
}

// queueExists reports whether a queue exists (the error paths use it to
// answer CodeNotFound before an argument error, in the broker's order).
func (e *Engine) queueExists(ctx context.Context, key string) (bool, error) {
	var ok bool
	err := e.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM baton_sq_queues WHERE key = $1)`, key).Scan(&ok)
	if err != nil {
		return false, storeErr("reading a queue", err)
	}
	return ok, nil
}

var _ queuestorage.PropertiesKeeper = (*Engine)(nil)

// ServiceProperties returns an account's stored service properties
// document, or nil.
func (e *Engine) ServiceProperties(ctx context.Context, account string) ([]byte, error) {
	ctx, cancel, err := e.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	var doc []byte
	err = e.pool.QueryRow(ctx, `SELECT properties FROM baton_sq_service WHERE account = $1`, account).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, storeErr("reading the service properties", err)
	}
	return doc, nil
}

// UpdateServiceProperties replaces an account's document with update's
// answer in one short transaction holding the account's row (made first
// if missing, so that two nodes setting the first document also take
// turns).
func (e *Engine) UpdateServiceProperties(ctx context.Context, account string, update func(old []byte) []byte) error {
	ctx, cancel, err := e.begin(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	err = pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO baton_sq_service (account) VALUES ($1) ON CONFLICT DO NOTHING`, account); err != nil {
			return err
		}
		var old []byte
		if err := tx.QueryRow(ctx, `SELECT properties FROM baton_sq_service WHERE account = $1 FOR UPDATE`, account).Scan(&old); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE baton_sq_service SET properties = $2 WHERE account = $1`, account, update(old))
		return err
	})
	return storeErr("storing the service properties", err)
}
