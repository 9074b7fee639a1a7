package pgbroker

import (
	"context"
	"errors"
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
	topic   int64     // a subscription's topic
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
	prefix := key + strings.ToLower(broker.SubscriptionsSegment) // a topic's subscriptions go with it
	for k := range c.m {
		if strings.HasPrefix(k, prefix) {
			delete(c.m, k)
		}
	}
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
	if en := e.ents.get(broker.EntityKey(name), e.clk.Now()); en != nil {
		return en, dlq, nil
	}
	en, err := e.fresh(ctx, name)
	return en, dlq, err
}

// fresh reads entity name from the database (and caches it).
func (e *Engine) fresh(ctx context.Context, name string) (*ent, error) {
	key := broker.EntityKey(name)
	ents, err := e.queryEnts(ctx, `key = $1`, key)
	if err != nil {
		return nil, storeErr("reading entity "+name, err)
	}
	if len(ents) == 0 {
		e.ents.drop(key)
		return nil, errorf(broker.CodeNotFound, "entity %q not found", name)
	}
	e.ents.put(key, ents[0])
	return ents[0], nil
}

// queryEnts reads the entities whose rows match where (a condition on
// baton_sb_entities with args), in key order.
func (e *Engine) queryEnts(ctx context.Context, where string, args ...any) ([]*ent, error) {
	rows, err := e.pool.Query(ctx, `SELECT id, def, coalesce(topic, 0) FROM baton_sb_entities WHERE `+where+` ORDER BY key`, args...)
	if err != nil {
		return nil, err
	}
	var ents []*ent
	var id, topic int64
	var blob []byte
	_, err = pgx.ForEachRow(rows, []any{&id, &blob, &topic}, func() error {
		def, err := pgstore.DecodeDef(blob)
		if err != nil {
			return err
		}
		ents = append(ents, &ent{id: id, def: def, topic: topic, fetched: e.clk.Now()})
		return nil
	})
	return ents, err
}

// messages answers an operation on messages of an entity that holds none
// (a topic).
func (en *ent) messages() error {
	if en.def.Kind == broker.KindTopic {
		return errorf(broker.CodeInvalidArgument, "topic %q holds no messages of its own; use its subscriptions", en.def.Name)
	}
	return nil
}

// Definition returns an entity's definition (cached for EntityTTL), without
// the counts GetEntity reads.
func (e *Engine) Definition(name string) (*broker.Entity, error) {
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
	def := *en.def
	return &def, nil
}

// GetEntity returns an entity's definition and counts.
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
const countsSQL = `SELECT CASE WHEN m.dl_reason IS NOT NULL THEN 3 ELSE m.state END, count(*),
	coalesce(sum(coalesce(octet_length(m.body), (SELECT octet_length(b.body) FROM baton_sb_bodies b WHERE b.topic = m.body_topic AND b.seq = m.topic_seq))), 0)
FROM baton_sb_messages m WHERE m.entity = $1 GROUP BY 1`

// info returns en's definition with its counts (a topic: its number of
// subscriptions).
func (e *Engine) info(ctx context.Context, en *ent) (*broker.EntityInfo, error) {
	info := &broker.EntityInfo{Entity: *en.def, AccessedAt: en.def.UpdatedAt}
	if en.def.Kind == broker.KindTopic {
		if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM baton_sb_entities WHERE topic = $1`, en.id).Scan(&info.SubscriptionCount); err != nil {
			return nil, storeErr("counting subscriptions", err)
		}
		return info, nil
	}
	if err := e.lapse(ctx, e.pool, en, e.now()); err != nil {
		return nil, storeErr("counting messages", err)
	}
	rows, err := e.pool.Query(ctx, countsSQL, en.id)
	if err != nil {
		return nil, storeErr("counting messages", err)
	}
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

// Entities lists the entities of kind k (0: all), sorted by name.
func (e *Engine) Entities(ctx context.Context, k broker.Kind) ([]*broker.EntityInfo, error) {
	ctx, cancel, err := e.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	ents, err := e.queryEnts(ctx, `$1 = 0 OR kind = $1`, int16(k))
	if err != nil {
		return nil, storeErr("listing entities", err)
	}
	return e.infos(ctx, ents)
}

// infos returns the definitions and counts of ents.
func (e *Engine) infos(ctx context.Context, ents []*ent) ([]*broker.EntityInfo, error) {
	out := make([]*broker.EntityInfo, 0, len(ents))
	for _, en := range ents {
		info, err := e.info(ctx, en)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// CreateQueue creates a queue. Zero properties take Service Bus's defaults.
func (e *Engine) CreateQueue(ctx context.Context, name string, props broker.QueueProperties) (*broker.EntityInfo, error) {
	if _, dlq := splitPath(name); dlq || strings.Contains(name, broker.SubscriptionsSegment) {
		return nil, errorf(broker.CodeInvalidArgument, "%q is not a queue name", name)
	}
	return e.createEntity(ctx, &broker.Entity{Name: name, Kind: broker.KindQueue, Properties: props.WithDefaults()}, 0)
}

// createEntity makes def (its properties with defaults; a subscription's
// rules set) an entity; topic is a subscription's topic.
func (e *Engine) createEntity(ctx context.Context, def *broker.Entity, topic int64) (*broker.EntityInfo, error) {
	ctx, cancel, err := e.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	if def.Kind != broker.KindSubscription {
		if err := broker.ValidateEntityName(def.Name, e.cfg.Limits.MaxNameLength); err != nil {
			return nil, err
		}
	}
	props := def.Properties
	if err := props.Validate(e.cfg.Limits); err != nil {
		return nil, err
	}
	if err := e.checkForwarding(ctx, def.Key(), props); err != nil {
		return nil, err
	}
	now := e.clk.Now()
	def.CreatedAt, def.UpdatedAt = now, now
	blob, err := pgstore.EncodeDef(def)
	if err != nil {
		return nil, storeErr("creating "+def.Name, err)
	}
	var topicID *int64
	if topic != 0 {
		topicID = &topic
	}
	var id int64
	err = e.inTx(ctx, func(tx pgx.Tx) error {
		var count int
		if topicID != nil {
			// The topic's row, locked: a topic deleted meanwhile is not found.
			var one int
			err := tx.QueryRow(ctx, `SELECT 1 FROM baton_sb_entities WHERE id = $1 FOR SHARE`, topic).Scan(&one)
			if errors.Is(err, pgx.ErrNoRows) {
				return errorf(broker.CodeNotFound, "the topic of %q was deleted", def.Name)
			}
			if err != nil {
				return err
			}
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM baton_sb_entities WHERE topic = $1`, topic).Scan(&count); err != nil {
				return err
			}
			if count >= e.cfg.Limits.MaxSubscriptions {
				return errorf(broker.CodeQuotaExceeded, "the topic already has %d subscriptions", count)
			}
		} else {
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM baton_sb_entities WHERE topic IS NULL`).Scan(&count); err != nil {
				return err
			}
			if count >= e.cfg.Limits.MaxEntities {
				return errorf(broker.CodeQuotaExceeded, "the namespace already holds %d entities", count)
			}
		}
		err := tx.QueryRow(ctx, `INSERT INTO baton_sb_entities (key, kind, topic, def, lock_ms, max_delivery, dlq_expired, forwards)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (key) DO NOTHING RETURNING id`,
			def.Key(), int16(def.Kind), topicID, blob, props.LockDuration.Milliseconds(), props.MaxDeliveryCount, props.DeadLetteringOnMessageExpiration,
			forwards(props)).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return errorf(broker.CodeEntityExists, "entity %q already exists", def.Name)
		}
		return err
	})
	if err != nil {
		return nil, storeErr("creating "+def.Name, err)
	}
	e.ents.put(def.Key(), &ent{id: id, def: def, topic: topic, fetched: now})
	return &broker.EntityInfo{Entity: *def, AccessedAt: now}, nil
}

// UpdateQueue replaces a queue's properties (RequiresSession cannot
// change, as in Service Bus).
func (e *Engine) UpdateQueue(ctx context.Context, name string, props broker.QueueProperties) (*broker.EntityInfo, error) {
	return e.updateEntity(ctx, name, broker.KindQueue, props.WithDefaults())
}

// updateEntity replaces the properties of entity name of kind k.
func (e *Engine) updateEntity(ctx context.Context, name string, k broker.Kind, props broker.QueueProperties) (*broker.EntityInfo, error) {
	ctx, cancel, err := e.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	if err := props.Validate(e.cfg.Limits); err != nil {
		return nil, err
	}
	key := broker.EntityKey(name)
	if err := e.checkForwarding(ctx, key, props); err != nil {
		return nil, err
	}
	var en *ent
	err = e.inTx(ctx, func(tx pgx.Tx) error {
		var id, topic int64
		var blob []byte
		err := tx.QueryRow(ctx, `SELECT id, def, coalesce(topic, 0) FROM baton_sb_entities WHERE key = $1 AND kind = $2 FOR UPDATE`, key, int16(k)).Scan(&id, &blob, &topic)
		if errors.Is(err, pgx.ErrNoRows) {
			return errorf(broker.CodeNotFound, "%s %q not found", strings.ToLower(k.String()), name)
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
		_, err = tx.Exec(ctx, `UPDATE baton_sb_entities SET def = $2, lock_ms = $3, max_delivery = $4, dlq_expired = $5, forwards = $6 WHERE id = $1`,
			id, blob, props.LockDuration.Milliseconds(), props.MaxDeliveryCount, props.DeadLetteringOnMessageExpiration, forwards(props))
		en = &ent{id: id, def: def, topic: topic, fetched: e.clk.Now()}
		return err
	})
	if err != nil {
		return nil, storeErr("updating "+name, err)
	}
	e.ents.put(key, en)
	if en.topic != 0 {
		e.dropSubs(en.topic)
	}
	return e.info(ctx, en)
}

// DeleteEntity deletes a queue, a topic (with its subscriptions) or a
// subscription, and everything they hold.
func (e *Engine) DeleteEntity(ctx context.Context, name string) error {
	ctx, cancel, err := e.begin(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	if _, dlq := splitPath(name); dlq {
		return errorf(broker.CodeInvalidArgument, "cannot delete a dead-letter sub-queue")
	}
	key := broker.EntityKey(name)
	var topic *int64
	err = e.pool.QueryRow(ctx, `DELETE FROM baton_sb_entities WHERE key = $1 RETURNING topic`, key).Scan(&topic)
	e.ents.drop(key)
	if errors.Is(err, pgx.ErrNoRows) {
		return errorf(broker.CodeNotFound, "entity %q not found", name)
	}
	if err != nil {
		return storeErr("deleting "+name, err)
	}
	if topic != nil {
		e.dropSubs(*topic)
	}
	return nil
}
