package pgbroker

import (
	"context"
	"crypto/rand"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/batonmq/baton/internal/broker"
)

// lockSessionSQL locks session $2 of entity $1 with token $3 until $4,
// unless another receiver holds it at $5. The row is made on first use.
const lockSessionSQL = `
INSERT INTO baton_sb_sessions AS s (entity, session_id, lock_token, locked_until, updated_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (entity, session_id) DO UPDATE SET lock_token = excluded.lock_token, locked_until = excluded.locked_until
WHERE s.locked_until IS NULL OR s.locked_until <= $5
RETURNING locked_until`

// nextSessionSQL finds the session of the oldest available message whose
// session nobody holds at $2.
const nextSessionSQL = `
SELECT m.session_id FROM baton_sb_messages m
WHERE m.entity = $1 AND m.state = 0 AND m.locked_until <= $2 AND m.session_id IS NOT NULL
	AND (m.expires_at IS NULL OR m.expires_at > $2)
	AND NOT EXISTS (SELECT 1 FROM baton_sb_sessions s
		WHERE s.entity = $1 AND s.session_id = m.session_id AND s.locked_until > $2)
ORDER BY m.seq LIMIT 1`

// AcceptSession locks a session. With a sessionID it locks that session
// (which need not hold messages yet), or fails with
// CodeSessionCannotBeLocked when another receiver holds it. With an empty
// sessionID it locks the session of the oldest available message, waiting
// up to wait; when none comes the error is CodeTimeout.
func (e *Engine) AcceptSession(ctx context.Context, path, sessionID string, wait time.Duration) (*broker.SessionLock, error) {
	if len(sessionID) > e.cfg.Limits.MaxMessageIDLength {
		return nil, errorf(broker.CodeInvalidArgument, "session id is longer than %d characters", e.cfg.Limits.MaxMessageIDLength)
	}
	var l *broker.SessionLock
	ended, err := e.waitFor(ctx, wait, func() (bool, int64, error) {
		var id int64
		var err error
		l, id, err = e.acceptOnce(ctx, path, sessionID)
		return l != nil, id, err
	})
	switch {
	case err != nil:
		return nil, err
	case ended:
		return nil, errorf(broker.CodeTimeout, "no session is available in %q", path)
	}
	return l, nil
}

// acceptOnce is one attempt of AcceptSession: a lock, or none available
// (nil, nil) with the entity's id to wait on.
func (e *Engine) acceptOnce(ctx context.Context, path, sessionID string) (*broker.SessionLock, int64, error) {
	ctx, cancel, err := e.begin(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer cancel()
	en, dlq, err := e.lookup(ctx, path)
	if err != nil {
		return nil, 0, err
	}
	if dlq {
		return nil, 0, errorf(broker.CodeInvalidArgument, "the dead-letter sub-queue has no sessions")
	}
	p := &en.def.Properties
	if !p.RequiresSession {
		return nil, 0, errorf(broker.CodeInvalidArgument, "entity %q does not require sessions", en.def.Name)
	}
	if p.Status == broker.StatusDisabled || p.Status == broker.StatusReceiveDisabled {
		return nil, 0, errorf(broker.CodeEntityDisabled, "entity %q is %s; receives are refused", en.def.Name, p.Status)
	}
	for range 8 { // another node may lock the session found first
		now := e.now()
		sid := []byte(sessionID)
		if sessionID == "" {
			err := e.pool.QueryRow(ctx, nextSessionSQL, en.id, now).Scan(&sid)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil, en.id, nil
			}
			if err != nil {
				return nil, 0, storeErr("accepting a session", err)
			}
		}
		var tok [16]byte
		_, _ = rand.Read(tok[:])
		tok[6], tok[8] = tok[6]&0x0f|0x40, tok[8]&0x3f|0x80
		var until time.Time
		err := e.fast.QueryRow(ctx, lockSessionSQL, en.id, sid, tok, now.Add(p.LockDuration), now).Scan(&until)
		switch {
		case err == nil:
			return &broker.SessionLock{SessionID: string(sid), Token: tok, LockedUntil: until}, en.id, nil
		case !errors.Is(err, pgx.ErrNoRows):
			return nil, 0, storeErr("accepting a session", err)
		case sessionID != "":
			return nil, 0, errorf(broker.CodeSessionCannotBeLocked, "the requested session %q cannot be accepted: it is locked by another receiver", sessionID)
		}
	}
	return nil, en.id, nil
}

// sessionLost is the answer for a session lock that is not held.
func sessionLost(l *broker.SessionLock) error {
	return errorf(broker.CodeSessionLockLost, "the lock on session %q is unknown or expired", l.SessionID)
}

// heldSQL checks that lock $3 on session $2 of entity $1 is held at $4.
const heldSQL = `SELECT 1 FROM baton_sb_sessions WHERE entity = $1 AND session_id = $2 AND lock_token = $3 AND locked_until > $4`

// checkSession checks that l is held at now.
func (e *Engine) checkSession(ctx context.Context, en *ent, l *broker.SessionLock, now time.Time) error {
	var one int
	err := e.pool.QueryRow(ctx, heldSQL, en.id, []byte(l.SessionID), [16]byte(l.Token), now).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return sessionLost(l)
	}
	return storeErr("checking a session lock", err)
}

// checkSessionTx is checkSession in tx, keeping the session row locked
// until tx ends; it returns when the lock ends.
func (e *Engine) checkSessionTx(ctx context.Context, tx pgx.Tx, en *ent, l *broker.SessionLock, now time.Time) (time.Time, error) {
	var until time.Time
	err := tx.QueryRow(ctx, `SELECT locked_until FROM baton_sb_sessions
		WHERE entity = $1 AND session_id = $2 AND lock_token = $3 AND locked_until > $4 FOR UPDATE`,
		en.id, []byte(l.SessionID), [16]byte(l.Token), now).Scan(&until)
	if errors.Is(err, pgx.ErrNoRows) {
		return until, sessionLost(l)
	}
	return until, err
}

// sessionOp runs f on a held session of path, in one transaction.
func (e *Engine) sessionOp(ctx context.Context, path string, l *broker.SessionLock, what string, f func(ctx context.Context, tx pgx.Tx, en *ent, now time.Time) error) error {
	ctx, cancel, err := e.begin(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	en, dlq, err := e.lookup(ctx, path)
	if err != nil {
		return err
	}
	if dlq || !en.def.Properties.RequiresSession {
		return errorf(broker.CodeInvalidArgument, "entity %q does not require sessions", en.def.Name)
	}
	now := e.now()
	err = e.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := e.checkSessionTx(ctx, tx, en, l, now); err != nil {
			return err
		}
		return f(ctx, tx, en, now)
	})
	return storeErr(what, err)
}

// RenewSessionLock extends a held session lock by the entity's lock
// duration.
func (e *Engine) RenewSessionLock(ctx context.Context, path string, l *broker.SessionLock) (time.Time, error) {
	var until time.Time
	err := e.sessionOp(ctx, path, l, "renewing a session lock", func(ctx context.Context, tx pgx.Tx, en *ent, now time.Time) error {
		until = now.Add(en.def.Properties.LockDuration)
		if _, err := tx.Exec(ctx, `UPDATE baton_sb_sessions SET locked_until = $3 WHERE entity = $1 AND session_id = $2`,
			en.id, []byte(l.SessionID), until); err != nil {
			return err
		}
		// The locks of the messages received under the session end with it.
		_, err := tx.Exec(ctx, `UPDATE baton_sb_messages SET locked_until = $3
			WHERE entity = $1 AND session_id = $2 AND state IN (0, 1) AND dl_reason IS NULL AND lock_token IS NOT NULL AND locked_until > $4`,
			en.id, []byte(l.SessionID), until, now)
		return err
	})
	return until, err
}

// ReleaseSession gives up a session lock; the messages locked under it
// become available again (their delivery counts unchanged). Releasing a
// lock that is no longer held is not an error.
func (e *Engine) ReleaseSession(ctx context.Context, path string, l *broker.SessionLock) error {
	var id int64
	err := e.sessionOp(ctx, path, l, "releasing a session", func(ctx context.Context, tx pgx.Tx, en *ent, now time.Time) error {
		id = en.id
		if _, err := tx.Exec(ctx, `UPDATE baton_sb_sessions SET lock_token = NULL, locked_until = NULL WHERE entity = $1 AND session_id = $2`,
			en.id, []byte(l.SessionID)); err != nil {
			return err
		}
		// Their locks lapse now; lapsed session locks count no delivery,
		// and a late settlement is told the session lock was lost.
		_, err := tx.Exec(ctx, `UPDATE baton_sb_messages SET locked_until = $3
			WHERE entity = $1 AND session_id = $2 AND state IN (0, 1) AND dl_reason IS NULL AND lock_token IS NOT NULL AND locked_until > $3`,
			en.id, []byte(l.SessionID), now)
		return err
	})
	if broker.CodeOf(err) == broker.CodeSessionLockLost {
		return nil
	}
	if err == nil {
		e.wakes.changed(id, wakeAny)
	}
	return err
}

// GetSessionState returns a held session's state (nil when none is set).
func (e *Engine) GetSessionState(ctx context.Context, path string, l *broker.SessionLock) ([]byte, error) {
	var state []byte
	err := e.sessionOp(ctx, path, l, "reading session state", func(ctx context.Context, tx pgx.Tx, en *ent, now time.Time) error {
		return tx.QueryRow(ctx, `SELECT state FROM baton_sb_sessions WHERE entity = $1 AND session_id = $2`, en.id, []byte(l.SessionID)).Scan(&state)
	})
	return state, err
}

// SetSessionState sets (nil or empty: clears) a held session's state.
func (e *Engine) SetSessionState(ctx context.Context, path string, l *broker.SessionLock, state []byte) error {
	if len(state) == 0 {
		state = nil
	}
	return e.sessionOp(ctx, path, l, "setting session state", func(ctx context.Context, tx pgx.Tx, en *ent, now time.Time) error {
		if max := en.def.Properties.MaxMessageSizeInKilobytes << 10; int64(len(state)) > max {
			return errorf(broker.CodeMessageTooLarge, "session state is %d bytes; the limit is %d", len(state), max)
		}
		_, err := tx.Exec(ctx, `UPDATE baton_sb_sessions SET state = $3, updated_at = $4 WHERE entity = $1 AND session_id = $2`,
			en.id, []byte(l.SessionID), state, now)
		return err
	})
}

// ListSessions lists session ids in name order. With a zero updatedSince
// (or one in year 9999 or later, as the Go SDK sends) it lists sessions
// that have messages or state; otherwise sessions whose state was set
// after updatedSince.
func (e *Engine) ListSessions(ctx context.Context, path string, updatedSince time.Time, skip, top int) ([]string, error) {
	if skip < 0 || top < 0 {
		return nil, errorf(broker.CodeInvalidArgument, "skip and top must not be negative")
	}
	ctx, cancel, err := e.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	en, dlq, err := e.lookup(ctx, path)
	if err != nil {
		return nil, err
	}
	if dlq || !en.def.Properties.RequiresSession {
		return nil, errorf(broker.CodeInvalidArgument, "entity %q does not require sessions", en.def.Name)
	}
	all := updatedSince.IsZero() || updatedSince.Year() >= 9999
	var rows pgx.Rows
	if all {
		rows, err = e.pool.Query(ctx, `
			SELECT session_id FROM baton_sb_sessions WHERE entity = $1 AND state IS NOT NULL
			UNION
			SELECT DISTINCT session_id FROM baton_sb_messages WHERE entity = $1 AND session_id IS NOT NULL AND dl_reason IS NULL
			ORDER BY 1 OFFSET $2 LIMIT NULLIF($3, 0)`, en.id, skip, top)
	} else {
		rows, err = e.pool.Query(ctx, `SELECT session_id FROM baton_sb_sessions
			WHERE entity = $1 AND state IS NOT NULL AND updated_at > $4 ORDER BY 1 OFFSET $2 LIMIT NULLIF($3, 0)`,
			en.id, skip, top, updatedSince.UTC())
	}
	if err != nil {
		return nil, storeErr("listing sessions", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, storeErr("listing sessions", err)
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = string(id)
	}
	return out, nil
}
