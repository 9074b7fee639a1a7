package pgbroker

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/batonmq/baton/internal/broker"
)

// claimWhere selects what a receive may take: entity $1, state $2, not
// locked at $3 (a lapsed lock counts as unlocked), unexpired unless
// dead-lettered; $4 is the session (NULL: any message, for entities
// without sessions).
const claimWhere = `
	entity = $1 AND state = $2 AND locked_until <= $3
	AND (expires_at IS NULL OR expires_at > $3 OR state = 3)
	AND ($4::bytea IS NULL OR session_id = $4)`

// lapsed is 1 for a row whose last lock lapsed unsettled: that delivery
// failed. As in the broker, only the main queue of an entity without
// sessions counts it: a dead-lettered message's lapsed lock does not, and a
// session message's lock ends with its session's, which counts nothing.
const lapsed = `(m.lock_token IS NOT NULL AND m.state = 0 AND $4::bytea IS NULL)::int`

// claimSQL locks up to $5 messages in sequence order until $6 (a session
// message: until its session's lock ends); $7 is the entity's
// MaxDeliveryCount. A message whose lapsed locks reach it goes to the
// dead-letter sub-queue instead (state 3, unlocked), as the broker does
// when such a lock expires; the caller does not deliver those. The session
// lock, when $4 is set, must be held by $8 until after $3.
var claimSQL = `
WITH c AS MATERIALIZED (
	SELECT seq FROM baton_sb_messages WHERE ` + claimWhere + `
	AND ($4::bytea IS NULL OR EXISTS (SELECT 1 FROM baton_sb_sessions s
		WHERE s.entity = $1 AND s.session_id = $4 AND s.lock_token = $8 AND s.locked_until > $3))
	ORDER BY seq LIMIT $5 FOR UPDATE SKIP LOCKED
), d AS (
	SELECT c.seq, ` + lapsed + ` = 1 AND m.delivery_count + 1 >= $7 AS dead
	FROM c JOIN baton_sb_messages m ON m.entity = $1 AND m.seq = c.seq
)
UPDATE baton_sb_messages m SET
	delivery_count = m.delivery_count + ` + lapsed + `,
	state = CASE WHEN d.dead THEN 3 ELSE m.state END,
	lock_token = CASE WHEN d.dead THEN NULL ELSE gen_random_uuid() END,
	locked_until = CASE WHEN d.dead THEN $3 ELSE coalesce((SELECT s.locked_until FROM baton_sb_sessions s
		WHERE $4::bytea IS NOT NULL AND s.entity = $1 AND s.session_id = $4), $6) END,
	dl_reason = CASE WHEN d.dead THEN 'MaxDeliveryCountExceeded'::bytea ELSE m.dl_reason END,
	dl_desc = CASE WHEN d.dead THEN convert_to('Message could not be consumed after ' || $7 || ' delivery attempts.', 'UTF8') ELSE m.dl_desc END
FROM d WHERE m.entity = $1 AND m.seq = d.seq
RETURNING ` + msgCols

// lapseSQL ends the lapsed locks of entity $1 at $2, as the broker does
// when a lock expires: a message of the main queue counts a failed
// delivery and goes to the dead-letter sub-queue at the entity's
// MaxDeliveryCount; in the dead-letter sub-queue it is only unlocked. The
// messages of an entity with sessions ($3) are left as they are: their
// locks end with the session's and count nothing, and the next claim takes
// them. Peek, counts, ReceiveDeferred, dead-letter receives and the
// maintenance tick run it first, so that they see what the broker would (a
// receive does the same in claimSQL).
const lapseSQL = `
WITH c AS MATERIALIZED (
	SELECT seq FROM baton_sb_messages
	WHERE entity = $1 AND lock_token IS NOT NULL AND locked_until <= $2 AND state IN (0, 1, 3)
		AND (NOT $3 OR dl_reason IS NOT NULL) -- session messages keep their tokens: a late settlement is told the session lock was lost
	FOR UPDATE SKIP LOCKED
), d AS (
	SELECT c.seq, (m.dl_reason IS NULL AND NOT $3) AS counts, m.dl_reason IS NULL AND NOT $3 AND m.delivery_count + 1 >= e.max_delivery AS dead, e.max_delivery
	FROM c JOIN baton_sb_messages m ON m.entity = $1 AND m.seq = c.seq JOIN baton_sb_entities e ON e.id = $1
)
UPDATE baton_sb_messages m SET
	lock_token = NULL,
	delivery_count = m.delivery_count + d.counts::int,
	state = CASE WHEN d.dead THEN 3 ELSE m.state END,
	dl_reason = CASE WHEN d.dead THEN 'MaxDeliveryCountExceeded'::bytea ELSE m.dl_reason END,
	dl_desc = CASE WHEN d.dead THEN convert_to('Message could not be consumed after ' || d.max_delivery || ' delivery attempts.', 'UTF8') ELSE m.dl_desc END
FROM d WHERE m.entity = $1 AND m.seq = d.seq`

// lapse runs lapseSQL on en.
func (e *Engine) lapse(ctx context.Context, q interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}, en *ent, now time.Time) error {
	_, err := q.Exec(ctx, lapseSQL, en.id, now, en.def.Properties.RequiresSession)
	return err
}

// freeWhere selects what a receive from an entity without sessions (or
// from a dead-letter sub-queue) may take: entity $1, state $2, unlocked,
// available at $3, unexpired unless dead-lettered. Through the partial
// index of unlocked messages, a claim never walks past the messages other
// receivers hold; lapsed locks are cleared (lapseSQL) before it looks.
const freeWhere = `
	entity = $1 AND state = $2 AND lock_token IS NULL AND locked_until <= $3
	AND (expires_at IS NULL OR expires_at > $3 OR state = 3)`

// freeClaimSQL locks up to $4 messages of freeWhere, in sequence order,
// until $5.
var freeClaimSQL = `
WITH c AS MATERIALIZED (
	SELECT seq FROM baton_sb_messages WHERE ` + freeWhere + `
	ORDER BY seq LIMIT $4 FOR UPDATE SKIP LOCKED
)
UPDATE baton_sb_messages m SET lock_token = gen_random_uuid(), locked_until = $5
FROM c WHERE m.entity = $1 AND m.seq = c.seq
RETURNING ` + msgCols

// freeTakeSQL is freeClaimSQL for ReceiveAndDelete.
var freeTakeSQL = `
WITH c AS MATERIALIZED (
	SELECT seq FROM baton_sb_messages WHERE ` + freeWhere + `
	ORDER BY seq LIMIT $4 FOR UPDATE SKIP LOCKED
)
DELETE FROM baton_sb_messages m USING c WHERE m.entity = $1 AND m.seq = c.seq
RETURNING ` + msgCols

// lapseEvery is how often a node clears an entity's lapsed locks before a
// receive from it (the lease holder's maintenance also does, every
// MaintainInterval).
const lapseEvery = 100 * time.Millisecond

// lapseDue reports whether a receive from entity id should clear lapsed
// locks first, and if so notes that it does.
func (e *Engine) lapseDue(id int64, now time.Time) bool {
	e.lapseMu.Lock()
	defer e.lapseMu.Unlock()
	if last, ok := e.lapsedAt[id]; ok && now.Sub(last) < lapseEvery && !now.Before(last) {
		return false
	}
	if e.lapsedAt == nil {
		e.lapsedAt = map[int64]time.Time{}
	}
	e.lapsedAt[id] = now
	return true
}

// takeSQL is claimSQL for ReceiveAndDelete: the messages are deleted.
var takeSQL = `
WITH c AS MATERIALIZED (
	SELECT seq FROM baton_sb_messages WHERE ` + claimWhere + `
	AND ($4::bytea IS NULL OR EXISTS (SELECT 1 FROM baton_sb_sessions s
		WHERE s.entity = $1 AND s.session_id = $4 AND s.lock_token = $6 AND s.locked_until > $3))
	ORDER BY seq LIMIT $5 FOR UPDATE SKIP LOCKED
)
DELETE FROM baton_sb_messages m USING c WHERE m.entity = $1 AND m.seq = c.seq
RETURNING ` + msgCols

// Receive takes up to MaxMessages messages, waiting up to Wait for the
// first. In PeekLock mode they are locked until now + the lock duration;
// in ReceiveAndDelete mode they are deleted before they are returned.
func (e *Engine) Receive(ctx context.Context, path string, opts broker.ReceiveOptions) ([]*broker.Message, error) {
	if opts.MaxMessages <= 0 {
		opts.MaxMessages = 1
	}
	if opts.MaxMessages > e.cfg.Limits.MaxReceiveBatch {
		return nil, errorf(broker.CodeInvalidArgument, "MaxMessages %d is over the limit of %d", opts.MaxMessages, e.cfg.Limits.MaxReceiveBatch)
	}
	if opts.LockDuration < 0 || opts.LockDuration > 7*24*time.Hour {
		return nil, errorf(broker.CodeInvalidArgument, "LockDuration %v out of range", opts.LockDuration)
	}
	var msgs []*broker.Message
	_, err := e.waitFor(ctx, opts.Wait, func() (bool, int64, error) {
		var id int64
		var err error
		msgs, id, err = e.receiveOnce(ctx, path, opts)
		return len(msgs) > 0, id, err
	})
	if err != nil {
		return nil, err
	}
	return msgs, nil
}

// waitFor calls look until it finds something or fails, for up to wait:
// between two looks it waits on the entity look last named for a wake-up
// (a commit here or on another node) or for PollInterval (locks lapse
// without an event). ended reports a wait that ran out (its time passed,
// or the engine drains) with nothing found.
func (e *Engine) waitFor(ctx context.Context, wait time.Duration, look func() (found bool, id int64, err error)) (ended bool, err error) {
	found, id, err := look()
	if err != nil || found {
		return false, err
	}
	if wait <= 0 {
		return true, nil
	}
	deadline := e.clk.NewTimer(wait)
	defer deadline.Stop()
	for {
		// Registered before looking again: a commit in between wakes it.
		wt := e.wakes.watch(id)
		var next int64
		found, next, err = look()
		if err != nil || found {
			e.wakes.done(id, wt, true) // a wake meant for it goes to another
			return false, err
		}
		poll := e.clk.NewTimer(e.cfg.PollInterval)
		select {
		case <-wt.ch:
		case <-poll.C():
			e.wakes.done(id, wt, false) // it looks again now
		case <-deadline.C():
			ended = true
		case <-ctx.Done():
			err = ctx.Err()
		case <-e.stop:
			err = broker.ErrClosed
		case <-e.drain:
			ended = true
		}
		poll.Stop()
		if ended || err != nil {
			e.wakes.done(id, wt, true)
			return ended, err
		}
		id = next
	}
}

// receiveOnce is one attempt of Receive; it also returns the entity's id
// to wait on.
func (e *Engine) receiveOnce(ctx context.Context, path string, opts broker.ReceiveOptions) ([]*broker.Message, int64, error) {
	ctx, cancel, err := e.begin(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer cancel()
	en, dlq, err := e.lookup(ctx, path)
	if err != nil {
		return nil, 0, err
	}
	p := &en.def.Properties
	if p.Status == broker.StatusDisabled || p.Status == broker.StatusReceiveDisabled {
		return nil, 0, errorf(broker.CodeEntityDisabled, "entity %q is %s; receives are refused", en.def.Name, p.Status)
	}
	state := stActive
	var sid []byte
	var stok *[16]byte
	switch {
	case dlq:
		if opts.Session != nil {
			return nil, 0, errorf(broker.CodeInvalidArgument, "the dead-letter sub-queue has no sessions")
		}
		state = stDeadLettered
	case p.RequiresSession:
		if opts.Session == nil {
			return nil, 0, errorf(broker.CodeInvalidArgument, "entity %q requires sessions; accept a session to receive", en.def.Name)
		}
		sid = []byte(opts.Session.SessionID)
		t := [16]byte(opts.Session.Token)
		stok = &t
	case opts.Session != nil:
		return nil, 0, errorf(broker.CodeInvalidArgument, "entity %q does not require sessions", en.def.Name)
	}
	lock := p.LockDuration
	if opts.LockDuration > 0 {
		lock = opts.LockDuration
	}
	// As the broker: what the entity forwards moves before a receive.
	e.forwardAfter(ctx, en)
	free := dlq || !p.RequiresSession
	if free && e.lapseDue(en.id, e.now()) {
		// Lapsed locks end first, as the broker's lock expiry: the delivery
		// counts (or the message is dead-lettered at MaxDeliveryCount), and
		// the message is free again for the claim below.
		if err := e.lapse(ctx, e.fast, en, e.now()); err != nil {
			return nil, 0, storeErr("receiving from "+path, err)
		}
	}
	for {
		now := e.now()
		var rows pgx.Rows
		switch {
		case free && opts.Mode == broker.ReceiveAndDelete:
			rows, err = e.pool.Query(ctx, freeTakeSQL, en.id, state, now, opts.MaxMessages)
		case free:
			rows, err = e.fast.Query(ctx, freeClaimSQL, en.id, state, now, opts.MaxMessages, now.Add(lock))
		case opts.Mode == broker.ReceiveAndDelete:
			rows, err = e.pool.Query(ctx, takeSQL, en.id, state, now, sid, opts.MaxMessages, stok)
		default:
			rows, err = e.fast.Query(ctx, claimSQL, en.id, state, now, sid, opts.MaxMessages, now.Add(lock), p.MaxDeliveryCount, stok)
		}
		if err != nil {
			return nil, 0, storeErr("receiving from "+path, err)
		}
		all, err := pgx.CollectRows(rows, scanMsg)
		if err != nil {
			return nil, 0, storeErr("receiving from "+path, err)
		}
		out := all[:0]
		dead := false
		for _, m := range all {
			if m.DeadLettered && !dlq {
				dead = true // moved to the dead-letter sub-queue by this claim
				continue
			}
			if opts.Mode == broker.ReceiveAndDelete {
				m.LockToken, m.LockedUntil = broker.LockToken{}, time.Time{}
			}
			out = append(out, m)
		}
		slices.SortFunc(out, func(a, b *broker.Message) int { return compare(a.SequenceNumber, b.SequenceNumber) })
		if len(out) == 0 && sid != nil {
			if err := e.checkSession(ctx, en, opts.Session, now); err != nil {
				return nil, 0, err
			}
		}
		if len(out) > 0 || !dead {
			return out, en.id, nil
		}
	}
}

func compare(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ReceiveDeferred takes deferred messages by sequence number: locked in
// PeekLock mode, deleted in ReceiveAndDelete mode. Every number must be a
// deferred message of the entity (of sess's session, with sessions).
func (e *Engine) ReceiveDeferred(ctx context.Context, path string, seqs []int64, mode broker.ReceiveMode, sess *broker.SessionLock) ([]*broker.Message, error) {
	ctx, cancel, err := e.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	en, dlq, err := e.lookup(ctx, path)
	if err != nil {
		return nil, err
	}
	p := &en.def.Properties
	var sid []byte
	if p.RequiresSession && !dlq {
		if sess == nil {
			return nil, errorf(broker.CodeInvalidArgument, "entity %q requires sessions; accept a session to receive", en.def.Name)
		}
		sid = []byte(sess.SessionID)
	}
	uniq := slices.Compact(slices.Sorted(slices.Values(seqs)))
	now := e.now()
	var out []*broker.Message
	err = e.inTx(ctx, func(tx pgx.Tx) error {
		until := now.Add(p.LockDuration)
		if sess != nil && !dlq {
			held, err := e.checkSessionTx(ctx, tx, en, sess, now)
			if err != nil {
				return err
			}
			until = held // a session message's lock ends with its session's
		}
		if err := e.lapse(ctx, tx, en, now); err != nil {
			return err
		}
		where := `m.entity = $1 AND m.seq = ANY($2) AND m.state = 1 AND ($3::bytea IS NULL OR m.session_id = $3) AND m.locked_until <= $4
			AND (m.dl_reason IS NOT NULL) = $5`
		var rows pgx.Rows
		if mode == broker.ReceiveAndDelete {
			rows, err = tx.Query(ctx, `DELETE FROM baton_sb_messages m WHERE `+where+` RETURNING `+msgCols, en.id, uniq, sid, now, dlq)
		} else {
			rows, err = tx.Query(ctx, `UPDATE baton_sb_messages m SET lock_token = gen_random_uuid(), locked_until = $6 WHERE `+where+` RETURNING `+msgCols,
				en.id, uniq, sid, now, dlq, until)
		}
		if err != nil {
			return err
		}
		if out, err = pgx.CollectRows(rows, scanMsg); err != nil {
			return err
		}
		if len(out) != len(uniq) {
			return errorf(broker.CodeMessageNotFound, "%d of the %d sequence numbers are not deferred messages of %q available now", len(uniq)-len(out), len(uniq), en.def.Name)
		}
		return nil
	})
	if err != nil {
		return nil, storeErr("receiving deferred messages", err)
	}
	slices.SortFunc(out, func(a, b *broker.Message) int { return compare(a.SequenceNumber, b.SequenceNumber) })
	if mode == broker.ReceiveAndDelete {
		for _, m := range out {
			m.LockToken, m.LockedUntil = broker.LockToken{}, time.Time{}
		}
	}
	return out, nil
}

// Peek returns up to max messages from sequence number from on, without
// locking them: active, deferred and scheduled ones (or the dead-letter
// sub-queue's), of one session when sessionID is set.
func (e *Engine) Peek(ctx context.Context, path string, from int64, max int, sessionID string) ([]*broker.Message, error) {
	ctx, cancel, err := e.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	if max <= 0 {
		max = 1
	}
	if max > e.cfg.Limits.MaxPeekBatch {
		return nil, errorf(broker.CodeInvalidArgument, "peek of %d messages is over the limit of %d", max, e.cfg.Limits.MaxPeekBatch)
	}
	en, dlq, err := e.lookup(ctx, path)
	if err != nil {
		return nil, err
	}
	states := []int16{stActive, stDeferred, stScheduled}
	if dlq {
		states = []int16{stDeadLettered, stDeferred}
	}
	var sid []byte
	if sessionID != "" {
		sid = []byte(sessionID)
	}
	now := e.now()
	if err := e.lapse(ctx, e.pool, en, now); err != nil {
		return nil, storeErr("peeking "+path, err)
	}
	rows, err := e.pool.Query(ctx, `SELECT `+msgCols+` FROM baton_sb_messages m
		WHERE m.entity = $1 AND m.seq >= $2 AND m.state = ANY($3) AND ($4::bytea IS NULL OR m.session_id = $4)
		AND (m.dl_reason IS NOT NULL) = $6
		AND (m.expires_at IS NULL OR m.expires_at > $5 OR m.dl_reason IS NOT NULL)
		ORDER BY m.seq LIMIT `+strconv.Itoa(max), en.id, from, states, sid, now, dlq)
	if err != nil {
		return nil, storeErr("peeking "+path, err)
	}
	out, err := pgx.CollectRows(rows, scanMsg)
	if err != nil {
		return nil, storeErr("peeking "+path, err)
	}
	for _, m := range out {
		m.LockToken, m.LockedUntil = broker.LockToken{}, time.Time{} // as the broker: a peek shows no lock
	}
	return out, nil
}
