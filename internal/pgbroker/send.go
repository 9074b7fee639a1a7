package pgbroker

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/store/pgstore"
)

// Message states in baton_sb_messages.state.
const (
	stActive       int16 = 0
	stDeferred     int16 = 1
	stScheduled    int16 = 2
	stDeadLettered int16 = 3
)

// msgCols are the columns every statement that returns messages returns,
// in scanMsg's order.
const msgCols = `m.seq, m.state, m.lock_token, m.locked_until, m.delivery_count, m.dl_reason, m.dl_desc, m.hdr, m.upd,
	coalesce(m.body, (SELECT b.body FROM baton_sb_bodies b WHERE b.topic = m.body_topic AND b.seq = m.topic_seq))`

// scanMsg reads one row of msgCols into a message.
func scanMsg(row pgx.CollectableRow) (*broker.Message, error) {
	var (
		m            broker.Message
		state        int16
		token        *[16]byte
		until        time.Time
		reason, desc []byte
		hdr, upd     []byte
		count        int32
	)
	if err := row.Scan(&m.SequenceNumber, &state, &token, &until, &count, &reason, &desc, &hdr, &upd, &m.Body); err != nil {
		return nil, err
	}
	if err := pgstore.DecodeHeader(hdr, &m); err != nil {
		return nil, err
	}
	if err := pgstore.DecodeUpdate(upd, &m); err != nil {
		return nil, err
	}
	// The blob says dead-lettered when a settlement wrote it so (with the
	// reason and description merged into its properties); a statement that
	// dead-lettered the message (lapsed locks, TTL) set only the columns.
	blobDead := m.DeadLettered
	m.DeliveryCount = count // the column is the truth; the blob's copy is not kept up to date
	m.State = broker.StateActive
	switch state {
	case stDeferred:
		m.State = broker.StateDeferred
	case stScheduled:
		m.State = broker.StateScheduled
	}
	// A dead-lettered message has a reason (maybe empty); deferred in the
	// dead-letter sub-queue it is state 1 with its reason.
	m.DeadLettered = state == stDeadLettered || reason != nil
	m.LockToken, m.LockedUntil = broker.LockToken{}, time.Time{}
	if token != nil && state != stScheduled {
		m.LockToken, m.LockedUntil = *token, until
	}
	if reason != nil {
		m.DeadLetterReason, m.DeadLetterDescription = string(reason), string(desc)
		if !blobDead {
			// As the broker's dead-lettering: the reason and description
			// become application properties, over the message's own.
			props := maps.Clone(m.Properties)
			if props == nil {
				props = map[string]any{}
			}
			props["DeadLetterReason"], props["DeadLetterErrorDescription"] = m.DeadLetterReason, m.DeadLetterDescription
			m.Properties = props
		}
	}
	return &m, nil
}

// dedupSQL records message ids for duplicate detection and returns those
// that were not duplicates (new, or whose window had passed).
const dedupSQL = `
INSERT INTO baton_sb_dedup AS d (entity, message_id, expires_at)
SELECT $1, unnest($2::bytea[]), $3
ON CONFLICT (entity, message_id) DO UPDATE SET expires_at = excluded.expires_at WHERE d.expires_at <= $4
RETURNING message_id`

// Send enqueues a batch atomically: every message is durable and visible,
// or none is. It returns the sequence numbers in batch order; a duplicate
// gets 0. Messages with a future ScheduledEnqueueTime are scheduled.
func (e *Engine) Send(ctx context.Context, path string, msgs []*broker.Message) ([]int64, error) {
	ctx, cancel, err := e.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	seqs, err := e.send(ctx, path, msgs)
	if errors.Is(err, errGone) {
		// The cached entity was deleted on another node (and maybe made
		// again under the same name): look it up afresh, once.
		seqs, err = e.send(ctx, path, msgs)
	}
	if errors.Is(err, errGone) {
		name, _ := splitPath(path)
		err = errorf(broker.CodeNotFound, "entity %q not found", name)
	}
	return seqs, err
}

// errGone is send's answer when its entity's row is gone (its cache entry
// is dropped).
var errGone = errors.New("pgbroker: the entity is gone")

func (e *Engine) send(ctx context.Context, path string, msgs []*broker.Message) ([]int64, error) {
	en, dlq, err := e.lookup(ctx, path)
	if err != nil {
		return nil, err
	}
	if dlq {
		return nil, errorf(broker.CodeInvalidArgument, "cannot send to a dead-letter sub-queue")
	}
	if en.def.Kind == broker.KindSubscription {
		return nil, errorf(broker.CodeInvalidArgument, "cannot send to subscription %q; send to its topic", en.def.Name)
	}
	if len(msgs) == 0 {
		return nil, nil
	}
	if err := e.checkSend(en, msgs); err != nil {
		return nil, err
	}
	var seqs, touched []int64
	sessions := map[int64]bool{en.id: en.def.Properties.RequiresSession} // whose waiters all wake
	fwd := []*ent{en}                                                    // the entities that may forward what this send put in
	var run func(ctx context.Context, tx pgx.Tx) error
	if en.def.Kind == broker.KindTopic {
		subs, err := e.subscriptionsOf(ctx, en)
		if err != nil {
			return nil, storeErr("reading the subscriptions of "+en.def.Name, err)
		}
		fwd = fwd[:0]
		for _, s := range subs {
			sessions[s.id] = s.def.Properties.RequiresSession
			fwd = append(fwd, &ent{id: s.id, def: s.def, topic: en.id})
		}
		props := make([]map[string]any, len(msgs))
		for i, m := range msgs {
			if props[i], err = e.router.AppProperties(m); err != nil {
				return nil, errorf(broker.CodeInvalidArgument, "message %d: %v", i, err)
			}
		}
		run = func(ctx context.Context, tx pgx.Tx) error {
			var err error
			seqs, touched, err = e.sendTopic(ctx, tx, en, subs, msgs, props, e.now(), "")
			return err
		}
	} else {
		run = func(ctx context.Context, tx pgx.Tx) error {
			var err error
			seqs, err = e.sendQueue(ctx, tx, en, msgs, e.now(), "")
			touched = []int64{en.id}
			return err
		}
	}
	err = e.write(ctx, en.id, run)
	if err != nil {
		if pgstore.SQLState(err) == "23503" || errors.Is(err, errGone) { // the entity was deleted meanwhile
			e.ents.drop(en.def.Key())
			return nil, errGone
		}
		return nil, storeErr("sending to "+en.def.Name, err)
	}
	for _, id := range touched {
		n := len(msgs)
		if sessions[id] {
			n = wakeAny
		}
		e.wakes.changed(id, n)
	}
	e.forwardAfter(ctx, fwd...)
	return seqs, nil
}

// checkSend checks that en takes msgs now.
func (e *Engine) checkSend(en *ent, msgs []*broker.Message) error {
	p := &en.def.Properties
	if p.Status == broker.StatusDisabled || p.Status == broker.StatusSendDisabled {
		return errorf(broker.CodeEntityDisabled, "entity %q is %s; sends are refused", en.def.Name, p.Status)
	}
	for i, m := range msgs {
		if err := broker.CheckMessage(en.def, e.cfg.Limits, m, i); err != nil {
			return err
		}
	}
	return nil
}

// sendQueue is the transaction part of a send to queue en.
func (e *Engine) sendQueue(ctx context.Context, tx pgx.Tx, en *ent, msgs []*broker.Message, now time.Time, source string) ([]int64, error) {
	seqs := make([]int64, len(msgs))
	keep, err := e.dedup(ctx, tx, en, msgs, now)
	if err != nil || len(keep) == 0 {
		return seqs, err
	}
	p := &en.def.Properties
	var rs rowSet
	for _, i := range keep {
		m := *msgs[i]
		prepareMsg(&m, now)
		m.DeadLetterSource = source
		m.ExpiresAt = broker.Expiry(m.EnqueuedTime, m.TimeToLive, p.DefaultMessageTimeToLive)
		if err := rs.add(&m, m.Body, nil); err != nil {
			return nil, err
		}
	}
	got, err := rs.insert(ctx, tx, en.id)
	if err != nil {
		return nil, err
	}
	if len(got) != len(keep) {
		return nil, errGone
	}
	for j, i := range keep {
		seqs[i] = got[j]
	}
	return seqs, nil
}

// dedup returns the indexes of the messages to enqueue: all of them, or,
// with duplicate detection, those whose message id was not seen within
// the window (recorded now, in tx).
func (e *Engine) dedup(ctx context.Context, tx pgx.Tx, en *ent, msgs []*broker.Message, now time.Time) ([]int, error) {
	p := &en.def.Properties
	keep := make([]int, 0, len(msgs))
	if !p.RequiresDuplicateDetection {
		for i := range msgs {
			keep = append(keep, i)
		}
		return keep, nil
	}
	// The ids, each once and sorted (two sends locking the same ids in
	// different orders could deadlock).
	var ids [][]byte
	seen := map[string]bool{}
	for _, m := range msgs {
		if m.MessageID != "" && !seen[m.MessageID] {
			seen[m.MessageID] = true
			ids = append(ids, []byte(m.MessageID))
		}
	}
	fresh := map[string]bool{}
	if len(ids) > 0 {
		slices.SortFunc(ids, bytes.Compare)
		rows, err := tx.Query(ctx, dedupSQL, en.id, ids, now.Add(p.DuplicateDetectionHistoryTimeWindow), now)
		if err != nil {
			return nil, err
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
		if err != nil {
			return nil, err
		}
		for _, id := range got {
			fresh[string(id)] = true
		}
	}
	for i, m := range msgs {
		if m.MessageID == "" {
			keep = append(keep, i)
			continue
		}
		if fresh[m.MessageID] {
			keep = append(keep, i)
			delete(fresh, m.MessageID) // a repeat later in the batch is a duplicate
		}
	}
	return keep, nil
}

// Schedule enqueues msgs to become available at t and returns their
// sequence numbers (usable with CancelScheduled).
func (e *Engine) Schedule(ctx context.Context, path string, msgs []*broker.Message, t time.Time) ([]int64, error) {
	cp := make([]*broker.Message, len(msgs))
	for i, m := range msgs {
		c := *m
		c.ScheduledEnqueueTime = t
		cp[i] = &c
	}
	return e.Send(ctx, path, cp)
}

// CancelScheduled removes scheduled messages. Every sequence number must
// be a scheduled message of the entity; otherwise nothing changes.
func (e *Engine) CancelScheduled(ctx context.Context, path string, seqs []int64) error {
	ctx, cancel, err := e.begin(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	en, dlq, err := e.lookup(ctx, path)
	if err != nil {
		return err
	}
	if dlq {
		return errorf(broker.CodeInvalidArgument, "a dead-letter sub-queue has no scheduled messages")
	}
	uniq := slices.Compact(slices.Sorted(slices.Values(seqs)))
	if en.def.Kind == broker.KindTopic {
		// The copies of the topic's scheduled messages, in every
		// subscription that got one.
		err = e.write(ctx, en.id, func(ctx context.Context, tx pgx.Tx) error {
			var n int64
			err := tx.QueryRow(ctx, `WITH d AS (DELETE FROM baton_sb_messages WHERE entity IN (SELECT id FROM baton_sb_entities WHERE topic = $1)
				AND topic_seq = ANY($2) AND state = 2 RETURNING topic_seq) SELECT count(DISTINCT topic_seq) FROM d`, en.id, uniq).Scan(&n)
			if err != nil {
				return err
			}
			if n != int64(len(uniq)) {
				return errorf(broker.CodeMessageNotFound, "%d of the %d sequence numbers are not scheduled messages of %q", int64(len(uniq))-n, len(uniq), en.def.Name)
			}
			return nil
		})
		return storeErr("cancelling scheduled messages", err)
	}
	err = e.write(ctx, en.id, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM baton_sb_messages WHERE entity = $1 AND seq = ANY($2) AND state = 2`, en.id, uniq)
		if err != nil {
			return err
		}
		if n := tag.RowsAffected(); n != int64(len(uniq)) {
			return errorf(broker.CodeMessageNotFound, "%d of the %d sequence numbers are not scheduled messages of %q", int64(len(uniq))-n, len(uniq), en.def.Name)
		}
		return nil
	})
	return storeErr("cancelling scheduled messages", err)
}
