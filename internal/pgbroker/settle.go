package pgbroker

import (
	"context"
	"errors"
	"maps"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/store/pgstore"
)

// lockLost is the answer to a settlement or renewal whose lock is gone.
func lockLost(token broker.LockToken) error {
	return errorf(broker.CodeLockLost, "the lock %s is unknown, expired or already settled", token)
}

// Settle settles the message locked by token in path.
func (e *Engine) Settle(ctx context.Context, path string, token broker.LockToken, s broker.Settlement) error {
	ctx, cancel, err := e.begin(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	for k, v := range s.Properties {
		if err := broker.ValidatePropertyValue(k, v); err != nil {
			return err
		}
	}
	en, dlq, err := e.lookup(ctx, path)
	if err != nil {
		return err
	}
	now := e.now()
	if s.Disposition == broker.Complete {
		return e.complete(ctx, en, dlq, []broker.LockToken{token}, now)[0]
	}
	wake := false
	err = e.write(ctx, en.id, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		wake, err = e.settleTx(ctx, tx, en, dlq, token, s, e.now())
		return err
	})
	if err != nil {
		return storeErr("settling a message", err)
	}
	if wake {
		n := 1
		if en.def.Properties.RequiresSession {
			n = wakeAny
		}
		e.wakes.changed(en.id, n)
	}
	e.forwardAfter(ctx, en)
	return nil
}

// completeSQL deletes the messages locked by the tokens $2 (held at $3) of
// entity $1 in the states $4, and returns the tokens it found.
const completeSQL = `DELETE FROM baton_sb_messages
WHERE entity = $1 AND lock_token = ANY($2) AND locked_until > $3 AND state = ANY($4) AND (dl_reason IS NOT NULL) = $5
RETURNING lock_token`

// complete deletes the messages locked by tokens, in one statement, and
// returns each token's result.
func (e *Engine) complete(ctx context.Context, en *ent, dlq bool, tokens []broker.LockToken, now time.Time) []error {
	errs := make([]error, len(tokens))
	states := []int16{stActive, stDeferred}
	if dlq {
		states = []int16{stDeadLettered, stDeferred}
	}
	raw := make([][16]byte, len(tokens))
	for i, t := range tokens {
		raw[i] = t
	}
	var got [][16]byte
	err := e.write(ctx, en.id, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, completeSQL, en.id, raw, e.now(), states, dlq)
		if err == nil {
			got, err = pgx.CollectRows(rows, pgx.RowTo[[16]byte])
		}
		return err
	})
	if err != nil {
		err = storeErr("completing messages", err)
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	done := make(map[[16]byte]bool, len(got))
	for _, t := range got {
		done[t] = true
	}
	for i, t := range tokens {
		if !done[t] {
			errs[i] = e.lostLock(ctx, e.pool, en, dlq, t)
		}
	}
	return errs
}

// lostLock is the error for a token that locks nothing: CodeLockLost, or,
// as the broker answers, CodeSessionLockLost for a message of a session
// whose lock lapsed or was released (its token is kept until the next
// claim).
func (e *Engine) lostLock(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, en *ent, dlq bool, token broker.LockToken) error {
	if dlq || !en.def.Properties.RequiresSession {
		return lockLost(token)
	}
	var sid []byte
	err := q.QueryRow(ctx, `SELECT session_id FROM baton_sb_messages WHERE entity = $1 AND lock_token = $2 AND state IN (0, 1) AND dl_reason IS NULL`,
		en.id, [16]byte(token)).Scan(&sid)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return lockLost(token)
	case err != nil:
		return storeErr("settling a message", err)
	}
	return errorf(broker.CodeSessionLockLost, "the session lock of session %q was lost", sid)
}

// settleTx applies a settlement other than Complete in tx: it reads the
// locked row, computes its new state as the broker does, and writes it. It
// reports whether the message became available again (to wake receivers).
func (e *Engine) settleTx(ctx context.Context, tx pgx.Tx, en *ent, dlq bool, token broker.LockToken, s broker.Settlement, now time.Time) (bool, error) {
	states := []int16{stActive, stDeferred}
	if dlq {
		states = []int16{stDeadLettered, stDeferred}
	}
	rows, err := tx.Query(ctx, `SELECT `+msgCols+` FROM baton_sb_messages m
		WHERE m.entity = $1 AND m.lock_token = $2 AND m.locked_until > $3 AND m.state = ANY($4) AND (m.dl_reason IS NOT NULL) = $5 FOR UPDATE`,
		en.id, [16]byte(token), now, states, dlq)
	if err != nil {
		return false, err
	}
	m, err := pgx.CollectExactlyOneRow(rows, scanMsg)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, e.lostLock(ctx, tx, en, dlq, token)
	}
	if err != nil {
		return false, err
	}
	p := &en.def.Properties
	state := stActive // where the message waits after an abandon or release
	switch {
	case m.State == broker.StateDeferred:
		state = stDeferred
	case m.DeadLettered:
		state = stDeadLettered
	}
	count := m.DeliveryCount
	var reason, desc []byte
	if m.DeadLettered {
		reason, desc = []byte(m.DeadLetterReason), []byte(m.DeadLetterDescription)
	}
	props := m.Properties
	merge := func(upd map[string]any) {
		if len(upd) > 0 {
			out := make(map[string]any, len(props)+len(upd))
			maps.Copy(out, props)
			maps.Copy(out, upd)
			props = out
		}
	}
	deadLetter := func(r, d string, upd map[string]any) {
		all := map[string]any{}
		maps.Copy(all, upd)
		all["DeadLetterReason"], all["DeadLetterErrorDescription"] = r, d
		merge(all)
		state, reason, desc = stDeadLettered, []byte(r), []byte(d)
	}
	switch s.Disposition {
	case broker.Abandon:
		merge(s.Properties)
		if !m.DeadLettered {
			count++
			if count >= p.MaxDeliveryCount {
				deadLetter("MaxDeliveryCountExceeded", "Message could not be consumed after "+strconv.Itoa(int(p.MaxDeliveryCount))+" delivery attempts.", nil)
			}
		}
	case broker.Release:
	case broker.Defer:
		merge(s.Properties)
		state = stDeferred
	case broker.DeadLetter:
		if m.DeadLettered {
			return false, errorf(broker.CodeInvalidArgument, "message %d is already in the dead-letter sub-queue", m.SequenceNumber)
		}
		deadLetter(s.DeadLetterReason, s.DeadLetterDescription, s.Properties)
	default:
		return false, errorf(broker.CodeInvalidArgument, "unknown disposition %d", s.Disposition)
	}
	m.Properties = props
	m.DeadLettered = m.DeadLettered || state == stDeadLettered
	m.State = broker.StateActive
	if state == stDeferred {
		m.State = broker.StateDeferred
	}
	m.DeadLetterReason, m.DeadLetterDescription = string(reason), string(desc)
	upd, err := pgstore.EncodeUpdate(m)
	if err != nil {
		return false, errorf(broker.CodeInvalidArgument, "%v", err)
	}
	if reason == nil && m.DeadLettered {
		reason = []byte{} // dead-lettered: a reason, maybe empty
	}
	_, err = tx.Exec(ctx, `UPDATE baton_sb_messages SET state = $3, lock_token = NULL, locked_until = $4, delivery_count = $5,
		dl_reason = $6, dl_desc = $7, upd = $8 WHERE entity = $1 AND seq = $2`,
		en.id, m.SequenceNumber, state, now, count, reason, desc, upd)
	return state != stDeferred, err
}

// SettleMany settles several messages: completions of one entity go in one
// statement; each request gets its own result.
func (e *Engine) SettleMany(ctx context.Context, reqs []broker.SettleRequest) []error {
	errs := make([]error, len(reqs))
	type group struct {
		idx    []int
		tokens []broker.LockToken
	}
	groups := map[string]*group{}
	var order []string
	for i, r := range reqs {
		if r.Disposition != broker.Complete {
			errs[i] = e.Settle(ctx, r.Path, r.Token, r.Settlement)
			continue
		}
		g := groups[r.Path]
		if g == nil {
			g = &group{}
			groups[r.Path] = g
			order = append(order, r.Path)
		}
		g.idx = append(g.idx, i)
		g.tokens = append(g.tokens, r.Token)
	}
	for _, path := range order {
		g := groups[path]
		res := e.completeMany(ctx, path, g.tokens)
		for j, i := range g.idx {
			errs[i] = res[j]
		}
	}
	return errs
}

// completeMany completes tokens of one path.
func (e *Engine) completeMany(ctx context.Context, path string, tokens []broker.LockToken) []error {
	ctx, cancel, err := e.begin(ctx)
	if err == nil {
		defer cancel()
		var en *ent
		var dlq bool
		if en, dlq, err = e.lookup(ctx, path); err == nil {
			return e.complete(ctx, en, dlq, tokens, e.now())
		}
	}
	errs := make([]error, len(tokens))
	for i := range errs {
		errs[i] = err
	}
	return errs
}

// RenewLock extends the locks of tokens by the entity's lock duration from
// now and returns the new expiries; a lock that is gone is CodeLockLost.
func (e *Engine) RenewLock(ctx context.Context, path string, tokens []broker.LockToken) ([]time.Time, error) {
	ctx, cancel, err := e.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	en, dlq, err := e.lookup(ctx, path)
	if err != nil {
		return nil, err
	}
	if !dlq && en.def.Properties.RequiresSession {
		return nil, errorf(broker.CodeInvalidArgument, "message locks of a session entity are renewed with the session lock")
	}
	states := []int16{stActive, stDeferred}
	if dlq {
		states = []int16{stDeadLettered, stDeferred}
	}
	raw := make([][16]byte, len(tokens))
	for i, t := range tokens {
		raw[i] = t
	}
	now := e.now()
	until := now.Add(en.def.Properties.LockDuration)
	rows, err := e.fast.Query(ctx, `UPDATE baton_sb_messages SET locked_until = $5
		WHERE entity = $1 AND lock_token = ANY($2) AND locked_until > $3 AND state = ANY($4) AND (dl_reason IS NOT NULL) = $6 RETURNING lock_token`,
		en.id, raw, now, states, until, dlq)
	var got [][16]byte
	if err == nil {
		got, err = pgx.CollectRows(rows, pgx.RowTo[[16]byte])
	}
	if err != nil {
		return nil, storeErr("renewing locks", err)
	}
	done := make(map[[16]byte]bool, len(got))
	for _, t := range got {
		done[t] = true
	}
	out := make([]time.Time, len(tokens))
	for i, t := range tokens {
		if !done[t] {
			return nil, lockLost(t)
		}
		out[i] = until
	}
	return out, nil
}
