package pgbroker

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/store/pgstore"
)

// Topics. A topic is an entity row (kind 2) whose counter gives the topic
// sequence numbers; each subscription is an entity row (kind 3) whose
// topic column names its topic, holding its rules in its definition, and
// whose messages are rows like a queue's. A topic send routes each message
// through every subscription's rules in Go (broker.Router: the broker's own
// compilation and evaluation), and in one transaction inserts the copies
// into every subscription that gets one (each with its own gap-free
// sequence numbers) and the message's body once in baton_sb_bodies: copies
// that rule actions did not change carry no body of their own and refer to
// it (body_topic, topic_seq). The lease holder deletes bodies no copy
// refers to any more.

// Entity kinds in baton_sb_entities.kind.
const (
	kindQueue        int16 = 1
	kindTopic        int16 = 2
	kindSubscription int16 = 3
)

// sub is a subscription as a topic send needs it.
type sub struct {
	id    int64
	def   *broker.Entity
	rules *broker.CompiledRules
}

// subCache keeps each topic's subscriptions, with their rules compiled,
// for EntityTTL.
type subCache struct {
	mu sync.Mutex
	m  map[int64]*subList
}

type subList struct {
	subs    []*sub
	fetched time.Time
}

// subscriptionsOf returns topic t's subscriptions, in id order.
func (e *Engine) subscriptionsOf(ctx context.Context, t *ent) ([]*sub, error) {
	now := e.clk.Now()
	e.subs.mu.Lock()
	if l := e.subs.m[t.id]; l != nil && now.Sub(l.fetched) < e.cfg.EntityTTL && !now.Before(l.fetched) {
		e.subs.mu.Unlock()
		return l.subs, nil
	}
	e.subs.mu.Unlock()
	ents, err := e.queryEnts(ctx, `topic = $1`, t.id)
	if err != nil {
		return nil, err
	}
	out := make([]*sub, 0, len(ents))
	for _, en := range ents {
		cr, err := broker.CompileRules(en.def.Rules, en.def.Properties)
		if err != nil {
			return nil, err
		}
		out = append(out, &sub{id: en.id, def: en.def, rules: cr})
	}
	e.subs.mu.Lock()
	if e.subs.m == nil {
		e.subs.m = map[int64]*subList{}
	}
	e.subs.m[t.id] = &subList{subs: out, fetched: now}
	e.subs.mu.Unlock()
	return out, nil
}

// dropSubs forgets topic id's cached subscriptions (this node changed
// them).
func (e *Engine) dropSubs(id int64) {
	e.subs.mu.Lock()
	delete(e.subs.m, id)
	e.subs.mu.Unlock()
}

// bodySQL stores the bodies of a topic send that copies share.
const bodySQL = `INSERT INTO baton_sb_bodies (topic, seq, body) SELECT $1, unnest($2::bigint[]), unnest($3::bytea[])`

// topicSeqSQL takes $2 topic sequence numbers.
const topicSeqSQL = `UPDATE baton_sb_entities SET next_seq = next_seq + $2 WHERE id = $1 RETURNING next_seq - $2`

// sendTopic is the transaction part of a send to topic t: msgs have been
// checked, props are their application properties as rules see them. It
// returns the topic sequence numbers (0: a duplicate) and the
// subscriptions that got messages.
func (e *Engine) sendTopic(ctx context.Context, tx pgx.Tx, t *ent, subs []*sub, msgs []*broker.Message, props []map[string]any, now time.Time, source string) ([]int64, []int64, error) {
	seqs := make([]int64, len(msgs))
	keep, err := e.dedup(ctx, tx, t, msgs, now)
	if err != nil || len(keep) == 0 {
		return seqs, nil, err
	}
	var base int64
	if err := tx.QueryRow(ctx, topicSeqSQL, t.id, len(keep)).Scan(&base); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, nil, errGone
		}
		return nil, nil, err
	}
	tp := &t.def.Properties
	sets := make([]rowSet, len(subs))
	var bodySeqs []int64
	var bodies [][]byte
	for j, i := range keep {
		tseq := base + int64(j)
		seqs[i] = tseq
		m := *msgs[i]
		prepareMsg(&m, now)
		m.DeadLetterSource = source
		m.TopicSeq = tseq
		shared := false
		for k, s := range subs {
			copies, err := e.router.Copies(s.rules, &m, props[i])
			if err != nil {
				return nil, nil, err
			}
			sp := &s.def.Properties
			ttl := min(sp.DefaultMessageTimeToLive, tp.DefaultMessageTimeToLive)
			for _, c := range copies {
				own := c != &m
				cp := *c
				cp.TopicSeq, cp.SharedBody = tseq, !own
				cp.ExpiresAt = broker.Expiry(cp.EnqueuedTime, cp.TimeToLive, ttl)
				body := cp.Body
				var bt *int64
				if !own {
					shared = true
					body, bt = nil, &t.id
				}
				if err := sets[k].add(&cp, body, bt); err != nil {
					return nil, nil, err
				}
			}
		}
		if shared {
			bodySeqs = append(bodySeqs, tseq)
			b := m.Body
			if b == nil {
				b = []byte{}
			}
			bodies = append(bodies, b)
		}
	}
	if len(bodySeqs) > 0 {
		if _, err := tx.Exec(ctx, bodySQL, t.id, bodySeqs, bodies); err != nil {
			return nil, nil, err
		}
	}
	var touched []int64
	for k, s := range subs {
		if len(sets[k].hdrs) == 0 {
			continue
		}
		got, err := sets[k].insert(ctx, tx, s.id)
		if err != nil {
			return nil, nil, err
		}
		if len(got) != len(sets[k].hdrs) {
			continue // the subscription was deleted meanwhile
		}
		touched = append(touched, s.id)
	}
	return seqs, touched, nil
}

// CreateTopic creates a topic.
func (e *Engine) CreateTopic(ctx context.Context, name string, props broker.QueueProperties) (*broker.EntityInfo, error) {
	if strings.Contains(name, broker.SubscriptionsSegment) {
		return nil, errorf(broker.CodeInvalidArgument, "%q is not a topic name", name)
	}
	props = topicProps(props.WithDefaults())
	return e.createEntity(ctx, &broker.Entity{Name: name, Kind: broker.KindTopic, Properties: props}, 0)
}

// topicProps keeps the properties a topic has (as the broker's).
func topicProps(p broker.QueueProperties) broker.QueueProperties {
	d := broker.DefaultQueueProperties()
	p.LockDuration, p.MaxDeliveryCount, p.RequiresSession = d.LockDuration, d.MaxDeliveryCount, false
	p.DeadLetteringOnMessageExpiration, p.ForwardTo, p.ForwardDeadLetteredMessagesTo = false, "", ""
	return p
}

// UpdateTopic replaces a topic's properties.
func (e *Engine) UpdateTopic(ctx context.Context, name string, props broker.QueueProperties) (*broker.EntityInfo, error) {
	return e.updateEntity(ctx, name, broker.KindTopic, topicProps(props.WithDefaults()))
}

// CreateSubscription creates subscription sub of topic with rule (nil: the
// $Default rule, a TrueFilter).
func (e *Engine) CreateSubscription(ctx context.Context, topic, subName string, props broker.QueueProperties, rule *broker.Rule) (*broker.EntityInfo, error) {
	if err := broker.ValidateEntityName(subName, 50); err != nil {
		return nil, err
	}
	if strings.Contains(subName, "/") {
		return nil, errorf(broker.CodeInvalidArgument, "subscription name %q contains '/'", subName)
	}
	ctx, cancel, err := e.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	t, dlq, err := e.lookup(ctx, topic)
	if err != nil {
		return nil, err
	}
	if dlq || t.def.Kind != broker.KindTopic {
		return nil, errorf(broker.CodeNotFound, "topic %q not found", topic)
	}
	props = props.WithDefaults()
	props.RequiresDuplicateDetection = false
	r := broker.TrueRule("$Default")
	if rule != nil {
		r = *rule
	}
	r.CreatedAt = e.clk.Now()
	if err := broker.CompileRule(r); err != nil {
		return nil, err
	}
	def := &broker.Entity{Name: broker.SubscriptionPath(t.def.Name, subName), Kind: broker.KindSubscription, Properties: props, Rules: []broker.Rule{r}}
	info, err := e.createEntity(ctx, def, t.id)
	if err == nil {
		e.dropSubs(t.id)
	}
	return info, err
}

// UpdateSubscription replaces a subscription's properties.
func (e *Engine) UpdateSubscription(ctx context.Context, topic, subName string, props broker.QueueProperties) (*broker.EntityInfo, error) {
	props = props.WithDefaults()
	props.RequiresDuplicateDetection = false
	return e.updateEntity(ctx, broker.SubscriptionPath(topic, subName), broker.KindSubscription, props) // it drops the topic's cached subscriptions
}

// ListSubscriptions returns a topic's subscriptions, sorted by name.
func (e *Engine) ListSubscriptions(topic string) ([]*broker.EntityInfo, error) {
	ctx, cancel, err := e.begin(context.Background())
	if err != nil {
		return nil, err
	}
	defer cancel()
	t, dlq, err := e.lookup(ctx, topic)
	if err != nil {
		return nil, err
	}
	if dlq || t.def.Kind != broker.KindTopic {
		return nil, errorf(broker.CodeNotFound, "topic %q not found", topic)
	}
	ents, err := e.queryEnts(ctx, `topic = $1`, t.id)
	if err != nil {
		return nil, storeErr("listing subscriptions", err)
	}
	return e.infos(ctx, ents)
}

// Rules returns a subscription's rules, in the order they were added.
func (e *Engine) Rules(topic, subName string) ([]broker.Rule, error) {
	ctx, cancel, err := e.begin(context.Background())
	if err != nil {
		return nil, err
	}
	defer cancel()
	en, err := e.fresh(ctx, broker.SubscriptionPath(topic, subName))
	if err != nil {
		return nil, err
	}
	if en.def.Kind != broker.KindSubscription {
		return nil, errorf(broker.CodeNotFound, "subscription %q of topic %q not found", subName, topic)
	}
	return slices.Clone(en.def.Rules), nil
}

// AddRule adds rule r to a subscription, or replaces the rule of its name
// (replace).
func (e *Engine) AddRule(ctx context.Context, topic, subName string, r broker.Rule, replace bool) (*broker.Rule, error) {
	r.CreatedAt = e.clk.Now()
	if err := broker.CompileRule(r); err != nil {
		return nil, err
	}
	err := e.changeRules(ctx, topic, subName, func(rules []broker.Rule) ([]broker.Rule, error) {
		i := slices.IndexFunc(rules, func(x broker.Rule) bool { return strings.EqualFold(x.Name, r.Name) })
		switch {
		case i >= 0 && !replace:
			return nil, errorf(broker.CodeEntityExists, "rule %q already exists in subscription %q", r.Name, subName)
		case i < 0 && replace:
			return nil, errorf(broker.CodeNotFound, "rule %q not found in subscription %q", r.Name, subName)
		case i >= 0:
			r.CreatedAt = rules[i].CreatedAt
			out := slices.Clone(rules)
			out[i] = r
			return out, nil
		case len(rules) >= e.cfg.Limits.MaxRules:
			return nil, errorf(broker.CodeQuotaExceeded, "subscription %q already has %d rules, the limit", subName, len(rules))
		}
		return append(slices.Clone(rules), r), nil
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// RemoveRule removes a subscription's rule; a missing rule is CodeNotFound.
func (e *Engine) RemoveRule(ctx context.Context, topic, subName, name string) error {
	return e.changeRules(ctx, topic, subName, func(rules []broker.Rule) ([]broker.Rule, error) {
		i := slices.IndexFunc(rules, func(x broker.Rule) bool { return strings.EqualFold(x.Name, name) })
		if i < 0 {
			return nil, errorf(broker.CodeNotFound, "rule %q not found in subscription %q", name, subName)
		}
		return slices.Delete(slices.Clone(rules), i, i+1), nil
	})
}

// changeRules replaces a subscription's rules with change(rules) under the
// row's lock.
func (e *Engine) changeRules(ctx context.Context, topic, subName string, change func([]broker.Rule) ([]broker.Rule, error)) error {
	ctx, cancel, err := e.begin(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	key := broker.EntityKey(broker.SubscriptionPath(topic, subName))
	var topicID int64
	err = e.inTx(ctx, func(tx pgx.Tx) error {
		var id int64
		var blob []byte
		err := tx.QueryRow(ctx, `SELECT id, def, topic FROM baton_sb_entities WHERE key = $1 AND kind = 3 FOR UPDATE`, key).Scan(&id, &blob, &topicID)
		if errors.Is(err, pgx.ErrNoRows) {
			return errorf(broker.CodeNotFound, "subscription %q of topic %q not found", subName, topic)
		}
		if err != nil {
			return err
		}
		def, err := pgstore.DecodeDef(blob)
		if err != nil {
			return err
		}
		rules, err := change(def.Rules)
		if err != nil {
			return err
		}
		def.Rules = rules
		def.UpdatedAt = e.clk.Now()
		if blob, err = pgstore.EncodeDef(def); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE baton_sb_entities SET def = $2 WHERE id = $1`, id, blob)
		return err
	})
	if err != nil {
		return storeErr("changing rules", err)
	}
	e.ents.drop(key)
	e.dropSubs(topicID)
	return nil
}
