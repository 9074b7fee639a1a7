package pgbroker

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/batonmq/baton/internal/broker"
)

// Auto-forwarding, as the broker's: messages that become available in an
// entity with ForwardTo (or, with ForwardDeadLetteredMessagesTo, in its
// dead-letter sub-queue) move to the destination queue or topic. A move is
// one writer operation — the destination's send and the source's removal
// in one transaction, so a message is in one place or the other, never
// both or neither. Moves run right after the commit that made messages
// available on the node that made it, before a receive from a forwarding
// entity, and on the lease holder's maintenance tick (which catches what
// lapsed locks, TTL and scheduled activation made available, and retries
// moves that failed); rows are taken with SKIP LOCKED, so nodes moving at
// once share the work.

// forwardBatch bounds the messages one move takes.
const forwardBatch = 256

// forwards reports whether p forwards anything.
func forwards(p broker.QueueProperties) bool {
	return p.ForwardTo != "" || p.ForwardDeadLetteredMessagesTo != ""
}

// checkForwarding checks the forwarding of the entity key with properties
// p, as the broker does: each destination exists and is a queue or a topic,
// and following the forwards (a topic's subscriptions are part of it, no
// hop) makes no loop and no chain longer than MaxForwardHops.
func (e *Engine) checkForwarding(ctx context.Context, key string, p broker.QueueProperties) error {
	var parent string
	if i := indexFold(key, broker.SubscriptionsSegment); i > 0 {
		parent = key[:i]
	}
	for _, dest := range []string{p.ForwardTo, p.ForwardDeadLetteredMessagesTo} {
		if dest == "" {
			continue
		}
		d, err := e.fresh(ctx, dest)
		if broker.CodeOf(err) == broker.CodeNotFound {
			return errorf(broker.CodeInvalidArgument, "auto-forward destination %q does not exist", dest)
		}
		if err != nil {
			return err
		}
		if d.def.Kind != broker.KindQueue && d.def.Kind != broker.KindTopic {
			return errorf(broker.CodeInvalidArgument, "auto-forward destination %q is a %s; only queues and topics can be destinations", dest, d.def.Kind)
		}
		w := fwdWalk{e: e, key: key, p: p, parent: parent, onPath: map[string]bool{key: true}}
		if err := w.visit(ctx, d, 1, dest); err != nil {
			return err
		}
	}
	return nil
}

// indexFold is strings.Index of a case-folded key and a segment.
func indexFold(key, seg string) int {
	f := broker.EntityKey(seg)
	for i := 0; i+len(f) <= len(key); i++ {
		if key[i:i+len(f)] == f {
			return i
		}
	}
	return -1
}

// fwdWalk is a depth-first walk of the forwarding graph.
type fwdWalk struct {
	e      *Engine
	key    string                 // the entity being configured
	p      broker.QueueProperties // its new properties
	parent string                 // the key of its topic, when it is a subscription
	onPath map[string]bool
	steps  int
}

func (w *fwdWalk) visit(ctx context.Context, en *ent, hops int, dest string) error {
	key := en.def.Key()
	if w.onPath[key] {
		return errorf(broker.CodeInvalidArgument, "auto-forwarding to %q would make a loop through %q", dest, en.def.Name)
	}
	if hops > w.e.cfg.Limits.MaxForwardHops {
		return errorf(broker.CodeInvalidArgument, "auto-forwarding to %q makes a chain of more than %d hops", dest, w.e.cfg.Limits.MaxForwardHops)
	}
	if w.steps++; w.steps > 10000 {
		return errorf(broker.CodeInvalidArgument, "auto-forwarding to %q: the forwarding graph is too large to check", dest)
	}
	if key == w.parent {
		return errorf(broker.CodeInvalidArgument, "auto-forwarding to %q would make a loop back into topic %q", dest, en.def.Name)
	}
	w.onPath[key] = true
	defer delete(w.onPath, key)
	if en.def.Kind == broker.KindTopic {
		subs, err := w.e.queryEnts(ctx, `topic = $1`, en.id)
		if err != nil {
			return storeErr("checking auto-forwarding", err)
		}
		for _, s := range subs {
			if err := w.visit(ctx, s, hops, dest); err != nil { // fan-out is not a hop
				return err
			}
		}
		return nil
	}
	next := en.def.Properties.ForwardTo
	if key == w.key {
		next = w.p.ForwardTo
	}
	if next == "" {
		return nil
	}
	d, err := w.e.fresh(ctx, next)
	if broker.CodeOf(err) == broker.CodeNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	return w.visit(ctx, d, hops+1, dest)
}

// forwardSQL takes up to $4 available messages of entity $1's main queue
// ($2 false) or dead-letter sub-queue ($2 true) at $3 and deletes them,
// returning them.
var forwardSQL = `
WITH c AS MATERIALIZED (
	SELECT seq FROM baton_sb_messages
	WHERE entity = $1 AND state = CASE WHEN $2 THEN 3 ELSE 0 END AND lock_token IS NULL AND locked_until <= $3
		AND (expires_at IS NULL OR expires_at > $3 OR $2)
	ORDER BY seq LIMIT $4 FOR UPDATE SKIP LOCKED
)
DELETE FROM baton_sb_messages m USING c WHERE m.entity = $1 AND m.seq = c.seq
RETURNING ` + msgCols

// forward moves what src's main queue (dlq false) or dead-letter
// sub-queue has available to its destination, a batch at a time, and
// returns how many it moved. A destination that is missing or not a queue
// or topic leaves the messages where they are.
func (e *Engine) forward(ctx context.Context, src *ent, dlq bool) (int, error) {
	dest := src.def.Properties.ForwardTo
	if dlq {
		dest = src.def.Properties.ForwardDeadLetteredMessagesTo
	}
	if dest == "" {
		return 0, nil
	}
	d, ddlq, err := e.lookup(ctx, dest)
	if err != nil {
		return 0, err
	}
	if ddlq || (d.def.Kind != broker.KindQueue && d.def.Kind != broker.KindTopic) {
		return 0, errorf(broker.CodeInvalidArgument, "auto-forward destination %q is not a queue or topic", dest)
	}
	var subs []*sub
	if d.def.Kind == broker.KindTopic {
		if subs, err = e.subscriptionsOf(ctx, d); err != nil {
			return 0, storeErr("reading the subscriptions of "+d.def.Name, err)
		}
	}
	total := 0
	for range 16 {
		var moved int
		var touched []int64
		err := e.write(ctx, src.id, func(ctx context.Context, tx pgx.Tx) error {
			moved, touched = 0, touched[:0]
			now := e.now()
			rows, err := tx.Query(ctx, forwardSQL, src.id, dlq, now, forwardBatch)
			if err != nil {
				return err
			}
			msgs, err := pgx.CollectRows(rows, scanMsg)
			if err != nil || len(msgs) == 0 {
				return err
			}
			for _, m := range msgs {
				m.SharedBody, m.TopicSeq = false, 0
				m.ScheduledEnqueueTime = time.Time{}
				if m.Body == nil {
					m.Body = []byte{}
				}
				if dlq {
					// It leaves the dead-letter sub-queue as a plain message
					// of the destination; its reason stays in its properties.
					m.DeadLettered = false
				}
			}
			if d.def.Kind == broker.KindTopic {
				props := make([]map[string]any, len(msgs))
				for i, m := range msgs {
					if props[i], err = e.router.AppProperties(m); err != nil {
						return errorf(broker.CodeInvalidArgument, "message %d: %v", m.SequenceNumber, err)
					}
				}
				_, subsTouched, err := e.sendTopic(ctx, tx, d, subs, msgs, props, now, sourceOf(src, dlq))
				if err != nil {
					return err
				}
				touched = append(touched, subsTouched...)
			} else {
				if _, err := e.sendQueue(ctx, tx, d, msgs, now, sourceOf(src, dlq)); err != nil {
					return err
				}
				touched = append(touched, d.id)
			}
			moved = len(msgs)
			return nil
		})
		if err != nil {
			return total, storeErr("auto-forwarding from "+src.def.Name, err)
		}
		total += moved
		for _, id := range touched {
			e.wakes.changed(id, wakeAny)
		}
		if moved < forwardBatch {
			break
		}
	}
	return total, nil
}

// sourceOf is the DeadLetterSource of messages forwarded out of src: its
// name when they leave its dead-letter sub-queue (as Service Bus sets it),
// else none.
func sourceOf(src *ent, dlq bool) string {
	if dlq {
		return src.def.Name
	}
	return ""
}

// forwardAfter moves, after a commit, what the entities that forward may
// now have available (errors are left to the lease holder's retries).
func (e *Engine) forwardAfter(ctx context.Context, ents ...*ent) {
	for _, en := range ents {
		if en == nil || !forwards(en.def.Properties) {
			continue
		}
		for _, dlq := range []bool{false, true} {
			if _, err := e.forward(ctx, en, dlq); err != nil && e.ctx.Err() == nil {
				e.log.Debug("pgbroker: auto-forward failed; the lease holder retries", "from", en.def.Name, "err", err)
			}
		}
	}
}

// forwardAll is the lease holder's pass over every entity that forwards.
func (e *Engine) forwardAll(ctx context.Context) error {
	ents, err := e.queryEnts(ctx, `forwards`)
	if err != nil {
		return err
	}
	for _, en := range ents {
		for _, dlq := range []bool{false, true} {
			if _, err := e.forward(ctx, en, dlq); err != nil {
				e.log.Warn("pgbroker: auto-forward failed; retrying", "from", en.def.Name, "err", err)
			}
		}
	}
	return nil
}
