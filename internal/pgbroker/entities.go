package pgbroker

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/store/pgstore"
)

// ent is a node's copy of one entity's row.
type ent struct {
	id      int64
	def     *broker.Entity
	fetched time.Time // by the engine's clock
}

// entityCache keeps each entity's row for EntityTTL, so that an operation
// does not read the definition every time. A definition changed or deleted
// on another node applies here within EntityTTL; a statement on a deleted
// entity's id changes nothing (its rows are gone with it, by cascade).
type entityCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]*ent
}

func (c *entityCache) init(ttl time.Duration) { c.ttl, c.m = ttl, map[string]*ent{} }

func (c *entityCache) get(key string, now time.Time) *ent {
	c.mu.Lock()
	defer c.mu.Unlock()
	en := c.m[key]
	if en == nil || now.Sub(en.fetched) >= c.ttl || now.Before(en.fetched) {
		return nil
	}
	return en
}

func (c *entityCache) put(key string, en *ent) {
	c.mu.Lock()
	c.m[key] = en
	c.mu.Unlock()
}

func (c *entityCache) drop(key string) {
	c.mu.Lock()
	delete(c.m, key)
	c.mu.Unlock()
}

// splitPath splits "<queue>/$DeadLetterQueue" into the queue and true.
func splitPath(path string) (string, bool) {
	if i := len(path) - len(broker.DeadLetterSuffix) - 1; i > 0 && path[i] == '/' && strings.EqualFold(path[i+1:], broker.DeadLetterSuffix) {
		return path[:i], true
	}
	return path, false
}

// lookup resolves path to its entity (cached) and whether it names the
// dead-letter sub-queue.
func (e *Engine) lookup(ctx context.Context, path string) (*ent, bool, error) {
	name, dlq := splitPath(path)
	if strings.Contains(name, broker.SubscriptionsSegment) {
		return nil, false, notImplemented("topics and subscriptions")
	}
	key := broker.EntityKey(name)
	if en := e.ents.get(key, e.clk.Now()); en != nil {
		return en, dlq, nil
	}
	var id int64
	var blob []byte
	err := e.pool.QueryRow(ctx, `SELECT id, def FROM baton_sb_entities WHERE key = $1`, key).Scan(&id, &blob)
	if errors.Is(err, pgx.ErrNoRows) {
		e.ents.drop(key)
		return nil, false, errorf(broker.CodeNotFound, "entity %q not found", name)
	}
	if err != nil {
		return nil, false, storeErr("reading entity "+name, err)
	}
	def, err := pgstore.DecodeDef(blob)
	if err != nil {
		return nil, false, storeErr("reading entity "+name, err)
	}
	en := &ent{id: id, def: def, fetched: e.clk.Now()}
	e.ents.put(key, en)
	return en, dlq, nil
}

// GetEntity returns a queue's definition and counts.
func (e *Engine) GetEntity(name string) (*broker.EntityInfo, error) {
	ctx, cancel, err := e.begin(context.Background())
	if err != nil {
		return nil, err
	}
	defer cancel()
	en, dlq, err := e.lookup(ctx, name)
	if err != nil {
		return nil, err
	}
	if dlq {
		return nil, errorf(broker.CodeInvalidArgument, "a dead-letter sub-queue is not an entity; ask for %q", en.def.Name)
	}
	return e.info(ctx, en)
}

// countsSQL counts an entity's messages by state.
// A message with a dead-letter reason is in the dead-letter sub-queue,
// deferred there or not.
const countsSQL = `SELECT CASE WHEN dl_reason IS NOT NULL THEN 3 ELSE state END, count(*), coalesce(sum(octet_length(body)), 0)
FROM baton_sb_messages WHERE entity = $1 GROUP BY 1`

// info returns en's definition with its counts.
func (e *Engine) info(ctx context.Context, en *ent) (*broker.EntityInfo, error) {
	if err := e.lapse(ctx, e.pool, en, e.now()); err != nil {
		return nil, storeErr("counting messages", err)
	}
	rows, err := e.pool.Query(ctx, countsSQL, en.id)
	if err != nil {
		return nil, storeErr("counting messages", err)
	}
	info := &broker.EntityInfo{Entity: *en.def, AccessedAt: en.def.UpdatedAt}
	var state int16
	var n, size int64
	_, err = pgx.ForEachRow(rows, []any{&state, &n, &size}, func() error {
		switch state {
		case stActive:
			info.Active = n
		case stDeferred:
			info.Deferred = n
		case stScheduled:
			info.Scheduled = n
		case stDeadLettered:
			info.DeadLettered = n
		}
		info.SizeBytes += size
		return nil
	})
	if err != nil {
		return nil, storeErr("counting messages", err)
	}
	return info, nil
}

// Entities lists the queues (k is 0 or KindQueue; other kinds are none),
// sorted by name.
func (e *Engine) Entities(ctx context.Context, k broker.Kind) ([]*broker.EntityInfo, error) {
	if k != 0 && k != broker.KindQueue {
		return nil, nil
	}
	ctx, cancel, err := e.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	rows, err := e.pool.Query(ctx, `SELECT id, key, def FROM baton_sb_entities ORDER BY key`)
	if err != nil {
		return nil, storeErr("listing entities", err)
	}
	var ents []*ent
	var id int64
	var key string
	var blob []byte
	_, err = pgx.ForEachRow(rows, []any{&id, &key, &blob}, func() error {
		def, err := pgstore.DecodeDef(blob)
		if err != nil {
			return err
		}
		ents = append(ents, &ent{id: id, def: def, fetched: e.clk.Now()})
		return nil
	})
	if err != nil {
		return nil, storeErr("listing entities", err)
	}
	out := make([]*broker.EntityInfo, 0, len(ents))
	for _, en := range ents {
		info, err := e.info(ctx, en)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out, nil
}

// checkProps refuses what this engine does not do.
func checkProps(p broker.QueueProperties) error {
	if p.ForwardTo != "" || p.ForwardDeadLetteredMessagesTo != "" {
		return notImplemented("auto-forwarding")
	}
	return nil
}

// CreateQueue creates a queue. Zero properties take Service Bus's defaults.
func (e *Engine) CreateQueue(ctx context.Context, name string, props broker.QueueProperties) (*broker.EntityInfo, error) {
	ctx, cancel, err := e.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	if err := broker.ValidateEntityName(name, e.cfg.Limits.MaxNameLength); err != nil {
		return nil, err
	}
	if _, dlq := splitPath(name); dlq || strings.Contains(name, broker.SubscriptionsSegment) {
		return nil, errorf(broker.CodeInvalidArgument, "%q is not a queue name", name)
	}
	props = props.WithDefaults()
	if err := props.Validate(e.cfg.Limits); err != nil {
		return nil, err
	}
	if err := checkProps(props); err != nil {
		return nil, err
	}
	now := e.clk.Now()
	def := &broker.Entity{Name: name, Kind: broker.KindQueue, Properties: props, CreatedAt: now, UpdatedAt: now}
	blob, err := pgstore.EncodeDef(def)
	if err != nil {
		return nil, storeErr("creating "+name, err)
	}
	var id int64
	var count int
	err = e.inTx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM baton_sb_entities`).Scan(&count); err != nil {
			return err
		}
		if count >= e.cfg.Limits.MaxEntities {
			return errorf(broker.CodeQuotaExceeded, "the namespace already holds %d entities", count)
		}
		err := tx.QueryRow(ctx, `INSERT INTO baton_sb_entities (key, def, lock_ms, max_delivery, dlq_expired)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key) DO NOTHING RETURNING id`,
			def.Key(), blob, props.LockDuration.Milliseconds(), props.MaxDeliveryCount, props.DeadLetteringOnMessageExpiration).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return errorf(broker.CodeEntityExists, "entity %q already exists", name)
		}
		return err
	})
	if err != nil {
		return nil, storeErr("creating "+name, err)
	}
	en := &ent{id: id, def: def, fetched: now}
	e.ents.put(def.Key(), en)
	return &broker.EntityInfo{Entity: *def, AccessedAt: now}, nil
}

// UpdateQueue replaces a queue's properties (RequiresSession cannot
// change, as in Service Bus).
func (e *Engine) UpdateQueue(ctx context.Context, name string, props broker.QueueProperties) (*broker.EntityInfo, error) {
	ctx, cancel, err := e.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	props = props.WithDefaults()
	if err := props.Validate(e.cfg.Limits); err != nil {
		return nil, err
	}
	if err := checkProps(props); err != nil {
		return nil, err
	}
	key := broker.EntityKey(name)
	var en *ent
	err = e.inTx(ctx, func(tx pgx.Tx) error {
		var id int64
		var blob []byte
		err := tx.QueryRow(ctx, `SELECT id, def FROM baton_sb_entities WHERE key = $1 FOR UPDATE`, key).Scan(&id, &blob)
		if errors.Is(err, pgx.ErrNoRows) {
			return errorf(broker.CodeNotFound, "entity %q not found", name)
		}
		if err != nil {
			return err
		}
		def, err := pgstore.DecodeDef(blob)
		if err != nil {
			return err
		}
		if def.Properties.RequiresSession != props.RequiresSession {
			return errorf(broker.CodeInvalidArgument, "RequiresSession cannot be changed on entity %q", def.Name)
		}
		def.Properties = props
		def.UpdatedAt = e.clk.Now()
		if blob, err = pgstore.EncodeDef(def); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE baton_sb_entities SET def = $2, lock_ms = $3, max_delivery = $4, dlq_expired = $5 WHERE id = $1`,
			id, blob, props.LockDuration.Milliseconds(), props.MaxDeliveryCount, props.DeadLetteringOnMessageExpiration)
		en = &ent{id: id, def: def, fetched: e.clk.Now()}
		return err
	})
	if err != nil {
		return nil, storeErr("updating "+name, err)
	}
	e.ents.put(key, en)
	return e.info(ctx, en)
}

// DeleteEntity deletes a queue and everything it holds.
func (e *Engine) DeleteEntity(ctx context.Context, name string) error {
	ctx, cancel, err := e.begin(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	if _, dlq := splitPath(name); dlq {
		return errorf(broker.CodeInvalidArgument, "cannot delete a dead-letter sub-queue")
	}
	if strings.Contains(name, broker.SubscriptionsSegment) {
		return notImplemented("topics and subscriptions")
	}
	key := broker.EntityKey(name)
	tag, err := e.pool.Exec(ctx, `DELETE FROM baton_sb_entities WHERE key = $1`, key)
	e.ents.drop(key)
	if err != nil {
		return storeErr("deleting "+name, err)
	}
	if tag.RowsAffected() == 0 {
		return errorf(broker.CodeNotFound, "entity %q not found", name)
	}
	return nil
}

// CreateTopic answers CodeNotImplemented.
func (e *Engine) CreateTopic(context.Context, string, broker.QueueProperties) (*broker.EntityInfo, error) {
	return nil, notImplemented("topics")
}

// UpdateTopic answers CodeNotImplemented.
func (e *Engine) UpdateTopic(context.Context, string, broker.QueueProperties) (*broker.EntityInfo, error) {
	return nil, notImplemented("topics")
}

// CreateSubscription answers CodeNotImplemented.
func (e *Engine) CreateSubscription(context.Context, string, string, broker.QueueProperties, *broker.Rule) (*broker.EntityInfo, error) {
	return nil, notImplemented("topics and subscriptions")
}

// UpdateSubscription answers CodeNotImplemented.
func (e *Engine) UpdateSubscription(context.Context, string, string, broker.QueueProperties) (*broker.EntityInfo, error) {
	return nil, notImplemented("topics and subscriptions")
}

// ListSubscriptions answers CodeNotImplemented.
func (e *Engine) ListSubscriptions(string) ([]*broker.EntityInfo, error) {
	return nil, notImplemented("topics and subscriptions")
}

// Rules answers CodeNotImplemented.
func (e *Engine) Rules(string, string) ([]broker.Rule, error) {
	return nil, notImplemented("subscription rules")
}

// AddRule answers CodeNotImplemented.
func (e *Engine) AddRule(context.Context, string, string, broker.Rule, bool) (*broker.Rule, error) {
	return nil, notImplemented("subscription rules")
}

// RemoveRule answers CodeNotImplemented.
func (e *Engine) RemoveRule(context.Context, string, string, string) error {
	return notImplemented("subscription rules")
}
