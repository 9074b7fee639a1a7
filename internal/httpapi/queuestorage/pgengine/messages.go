package pgengine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/httpapi/queuestorage"
	"github.com/batonmq/baton/internal/store/pgstore"
)

// neverUnix is Azure's "never expires" instant, 9999-12-31T23:59:59Z; an
// expiry after it is stored as NULL (never), as the broker does.
const neverUnix = 253402300799

// expiry is when a message put at now with ttl (> 0; negative: never)
// expires; zero means never (broker.sqExpiry).
func expiry(now time.Time, ttl time.Duration) time.Time {
	if ttl < 0 || ttl >= broker.MaxDuration/2 || now.Add(ttl).Unix() > neverUnix {
		return time.Time{}
	}
	return now.Add(ttl).Truncate(time.Microsecond)
}

// nullTime is t for a statement, NULL when zero.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// utc returns *t in UTC, zero for NULL.
func utc(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// orNotFound answers an argument error, unless the queue does not exist:
// then CodeNotFound, which the broker checks first.
func (e *Engine) orNotFound(ctx context.Context, name string, argErr error) error {
	ok, err := e.queueExists(ctx, broker.EntityKey(name))
	switch {
	case err != nil:
		return err
	case !ok:
		return notFound(name)
	}
	return argErr
}

// Put adds a message with text (copied), hidden for visibility, expiring
// after ttl (0: broker.SQDefaultTTL; negative: never).
func (e *Engine) Put(ctx context.Context, name string, text []byte, visibility, ttl time.Duration) (*queuestorage.Message, error) {
	ctx, cancel, err := e.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	if ttl == 0 {
		ttl = broker.SQDefaultTTL
	}
	argErr := checkVisibility(visibility)
	if argErr == nil && ttl > 0 && visibility >= ttl {
		argErr = invalid("visibility timeout %v is not shorter than the time to live %v", visibility, ttl)
	}
	if argErr == nil {
		argErr = checkText(name, text)
	}
	if argErr != nil {
		return nil, e.orNotFound(ctx, name, argErr)
	}
	body := bytes.Clone(text)
	if body == nil {
		body = []byte{}
	}
	now := e.now()
	m := &queuestorage.Message{
		Text:       body,
		InsertedAt: now,
		ExpiresAt:  expiry(now, ttl),
		VisibleAt:  now.Add(visibility).Truncate(time.Microsecond),
	}
	rc := newReceipt()
	for {
		id := newUUID()
		tag, err := e.pool.Exec(ctx, `INSERT INTO baton_sq_messages
			(queue, id, body, inserted_at, expires_at, visible_at, dequeue_count, receipt)
			SELECT key, $2, $3, $4, $5, $6, 0, $7 FROM baton_sq_queues WHERE key = $1`,
			broker.EntityKey(name), id, body, now, nullTime(m.ExpiresAt), m.VisibleAt, rc)
		switch code := pgstore.SQLState(err); {
		case code == "23505": // the id is taken (a random UUID met itself)
			continue
		case code == "23503": // the queue was deleted meanwhile
			return nil, notFound(name)
		case err != nil:
			return nil, storeErr("putting a message", err)
		case tag.RowsAffected() == 0:
			return nil, notFound(name)
		}
		m.ID, m.Receipt = formatUUID(id), formatReceipt(rc)
		return m, nil
	}
}

// getSQL claims up to $3 messages of queue $1 visible and unexpired at $2,
// in (visible_at, seq) order, skipping rows other statements hold; hides
// them until $4, counts the dequeue (saturating) and gives each the next
// receipt of $5. It returns the claimed rows in the order they were
// visible; a queue without any gives one row of NULLs, a missing queue no
// row. (The ANY condition makes every plan, generic ones included, find
// the rows to update through the primary key, not by joining the queue.)
const getSQL = `
WITH q AS (SELECT key FROM baton_sq_queues WHERE key = $1),
picked AS MATERIALIZED (
	SELECT id, visible_at, seq FROM baton_sq_messages
	WHERE queue = $1 AND visible_at <= $2 AND (expires_at IS NULL OR expires_at > $2)
	ORDER BY visible_at, seq
	LIMIT $3
	FOR UPDATE SKIP LOCKED),
numbered AS (SELECT id, visible_at, seq, row_number() OVER () AS rn FROM picked),
claimed AS (
	UPDATE baton_sq_messages m SET
		visible_at = $4,
		dequeue_count = CASE WHEN m.dequeue_count < 2147483647 THEN m.dequeue_count + 1 ELSE m.dequeue_count END,
		receipt = ($5::bytea[])[n.rn]
	FROM numbered n
	WHERE m.queue = $1 AND m.id = ANY (ARRAY(SELECT id FROM picked)) AND m.id = n.id
	RETURNING m.id, m.body, m.inserted_at, m.expires_at, m.dequeue_count, m.receipt, n.visible_at AS was, n.seq)
SELECT c.id, c.body, c.inserted_at, c.expires_at, c.dequeue_count, c.receipt
FROM q LEFT JOIN claimed c ON true
ORDER BY c.was, c.seq`

// Get claims up to n (≤ 0: 1) visible messages for visibility: each gets
// a new receipt, one more dequeue and is hidden until now+visibility.
func (e *Engine) Get(ctx context.Context, name string, n int, visibility time.Duration) ([]*queuestorage.Message, error) {
	ctx, cancel, err := e.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	if n <= 0 {
		n = 1
	}
	var argErr error
	if n > maxBatch {
		argErr = invalid("cannot get %d messages at once; the limit is %d", n, maxBatch)
	} else {
		argErr = checkVisibility(visibility)
	}
	if argErr != nil {
		return nil, e.orNotFound(ctx, name, argErr)
	}
	now := e.now()
	until := now.Add(visibility).Truncate(time.Microsecond)
	receipts := make([][]byte, n)
	for i := range receipts {
		receipts[i] = newReceipt()
	}
	rows, err := e.pool.Query(ctx, getSQL, broker.EntityKey(name), now, n, until, receipts)
	if err != nil {
		return nil, storeErr("getting messages", err)
	}
	return e.scanMessages(rows, name, until, true)
}

// scanMessages reads the rows of getSQL or peekSQL. A Get's messages are
// visible at until; a Peek's carry their own visible_at and no receipt.
func (e *Engine) scanMessages(rows pgx.Rows, name string, until time.Time, get bool) ([]*queuestorage.Message, error) {
	defer rows.Close()
	found := false
	out := []*queuestorage.Message{}
	for rows.Next() {
		found = true
		var (
			id       *[16]byte
			body     []byte
			ins, exp *time.Time
			vis      *time.Time
			count    *int64
			rc       []byte
			scanned  error
		)
		if get {
			scanned = rows.Scan(&id, &body, &ins, &exp, &count, &rc)
		} else {
			scanned = rows.Scan(&id, &body, &ins, &exp, &vis, &count)
		}
		if scanned != nil {
			return nil, storeErr("reading messages", scanned)
		}
		if id == nil {
			continue // the queue exists and has nothing to give
		}
		m := &queuestorage.Message{ID: formatUUID(*id), Text: body, InsertedAt: utc(ins), ExpiresAt: utc(exp), DequeueCount: *count}
		if m.Text == nil {
			m.Text = []byte{}
		}
		if get {
			m.VisibleAt, m.Receipt = until, formatReceipt(rc)
		} else {
			m.VisibleAt = utc(vis)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, storeErr("reading messages", err)
	}
	if !found {
		return nil, notFound(name)
	}
	return out, nil
}

// peekSQL reads up to $3 messages of queue $1 visible and unexpired at $2
// in Get's order; a missing queue gives no row, an empty one a row of
// NULLs.
const peekSQL = `
SELECT m.id, m.body, m.inserted_at, m.expires_at, m.visible_at, m.dequeue_count
FROM baton_sq_queues q LEFT JOIN LATERAL (
	SELECT id, body, inserted_at, expires_at, visible_at, dequeue_count, seq FROM baton_sq_messages
	WHERE queue = q.key AND visible_at <= $2 AND (expires_at IS NULL OR expires_at > $2)
	ORDER BY visible_at, seq
	LIMIT $3) m ON true
WHERE q.key = $1
ORDER BY m.visible_at, m.seq`

// Peek returns up to n (≤ 0: 1) visible messages without changing them;
// they carry no receipt.
func (e *Engine) Peek(ctx context.Context, name string, n int) ([]*queuestorage.Message, error) {
	ctx, cancel, err := e.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	if n <= 0 {
		n = 1
	}
	if n > maxBatch {
		return nil, e.orNotFound(ctx, name, invalid("cannot peek %d messages at once; the limit is %d", n, maxBatch))
	}
	rows, err := e.pool.Query(ctx, peekSQL, broker.EntityKey(name), e.now(), n)
	if err != nil {
		return nil, storeErr("peeking messages", err)
	}
	return e.scanMessages(rows, name, time.Time{}, false)
}

// held checks message and receipt before Delete or Update answers: the
// error of a message that does not hold receipt at now (nil when it does).
func (e *Engine) held(ctx context.Context, name, msgID string, id [16]byte, ok bool, rc []byte, now time.Time) error {
	exists, err := e.queueExists(ctx, broker.EntityKey(name))
	switch {
	case err != nil:
		return err
	case !exists:
		return notFound(name)
	case !ok:
		return messageNotFound("message %q not found in %q", msgID, name)
	}
	var (
		cur []byte
		exp *time.Time
	)
	err = e.pool.QueryRow(ctx, `SELECT receipt, expires_at FROM baton_sq_messages WHERE queue = $1 AND id = $2`,
		broker.EntityKey(name), id).Scan(&cur, &exp)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return messageNotFound("message %q not found in %q", msgID, name)
	case err != nil:
		return storeErr("reading a message", err)
	case exp != nil && !now.Before(*exp):
		return messageNotFound("message %q expired at %s", msgID, exp.UTC().Format(time.RFC3339))
	case !bytes.Equal(cur, rc):
		return messageNotFound("pop receipt %s is not the current receipt of message %q: a later Get or Update replaced it", formatReceipt(rc), msgID)
	}
	return nil
}

func messageNotFound(format string, args ...any) error {
	return &broker.Error{Code: broker.CodeMessageNotFound, Message: fmt.Sprintf(format, args...)}
}

// missed explains why a conditional Delete or Update matched nothing.
func (e *Engine) missed(ctx context.Context, name, msgID string, id [16]byte, rc []byte, now time.Time) error {
	if err := e.held(ctx, name, msgID, id, true, rc, now); err != nil {
		return err
	}
	// It holds the receipt now: another request changed it and changed it
	// back, or it was being changed while the statement ran.
	return messageNotFound("message %q is being changed by another request; pop receipt %s is no longer current", msgID, formatReceipt(rc))
}

// DeleteMessage deletes message msgID if receipt is its current receipt
// and it has not expired.
func (e *Engine) DeleteMessage(ctx context.Context, name, msgID, receipt string) error {
	ctx, cancel, err := e.begin(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	rc, err := parseReceipt(receipt)
	if err != nil {
		return e.orNotFound(ctx, name, err)
	}
	now := e.now()
	id, ok := parseUUID(msgID)
	if !ok {
		return e.held(ctx, name, msgID, id, false, rc, now)
	}
	var found, deleted bool
	err = e.pool.QueryRow(ctx, `
		WITH d AS (DELETE FROM baton_sq_messages
			WHERE queue = $1 AND id = $2 AND receipt = $3 AND (expires_at IS NULL OR expires_at > $4)
			RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM baton_sq_queues WHERE key = $1), EXISTS (SELECT 1 FROM d)`,
		broker.EntityKey(name), id, rc, now).Scan(&found, &deleted)
	switch {
	case err != nil:
		return storeErr("deleting a message", err)
	case !found:
		return notFound(name)
	case !deleted:
		return e.missed(ctx, name, msgID, id, rc, now)
	}
	return nil
}

// Update hides message msgID until now+visibility (never past its
// expiry) and gives it a new receipt, checking receipt as DeleteMessage
// does; text, when not nil, replaces its text (copied). The result
// carries Text only when it was replaced.
func (e *Engine) Update(ctx context.Context, name, msgID, receipt string, visibility time.Duration, text []byte) (*queuestorage.Message, error) {
	ctx, cancel, err := e.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	if err := checkVisibility(visibility); err != nil {
		return nil, e.orNotFound(ctx, name, err)
	}
	rc, err := parseReceipt(receipt)
	if err != nil {
		return nil, e.orNotFound(ctx, name, err)
	}
	now := e.now()
	id, ok := parseUUID(msgID)
	if !ok {
		return nil, e.held(ctx, name, msgID, id, false, rc, now)
	}
	var body []byte
	if text != nil {
		if err := checkText(name, text); err != nil {
			// The broker checks the message first.
			if herr := e.held(ctx, name, msgID, id, true, rc, now); herr != nil {
				return nil, herr
			}
			return nil, err
		}
		body = bytes.Clone(text)
		if body == nil {
			body = []byte{}
		}
	}
	newRC := newReceipt()
	var (
		found    bool
		ins, exp *time.Time
		vis      *time.Time
		count    *int64
	)
	err = e.pool.QueryRow(ctx, `
		WITH u AS (UPDATE baton_sq_messages SET
				visible_at = CASE WHEN expires_at IS NOT NULL AND expires_at < $5 THEN expires_at ELSE $5 END,
				receipt = $6,
				body = coalesce($7::bytea, body)
			WHERE queue = $1 AND id = $2 AND receipt = $3 AND (expires_at IS NULL OR expires_at > $4)
			RETURNING inserted_at, expires_at, visible_at, dequeue_count)
		SELECT EXISTS (SELECT 1 FROM baton_sq_queues WHERE key = $1), u.inserted_at, u.expires_at, u.visible_at, u.dequeue_count
		FROM (SELECT) one LEFT JOIN u ON true`,
		broker.EntityKey(name), id, rc, now, now.Add(visibility).Truncate(time.Microsecond), newRC, body).Scan(&found, &ins, &exp, &vis, &count)
	switch {
	case err != nil:
		return nil, storeErr("updating a message", err)
	case !found:
		return nil, notFound(name)
	case ins == nil:
		return nil, e.missed(ctx, name, msgID, id, rc, now)
	}
	return &queuestorage.Message{ID: formatUUID(id), Text: body, InsertedAt: utc(ins), ExpiresAt: utc(exp),
		VisibleAt: utc(vis), DequeueCount: *count, Receipt: formatReceipt(newRC)}, nil
}

// Clear deletes every message of a queue.
func (e *Engine) Clear(ctx context.Context, name string) error {
	ctx, cancel, err := e.begin(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	var found bool
	err = e.pool.QueryRow(ctx, `
		WITH d AS (DELETE FROM baton_sq_messages WHERE queue = $1)
		SELECT EXISTS (SELECT 1 FROM baton_sq_queues WHERE key = $1)`, broker.EntityKey(name)).Scan(&found)
	if err != nil {
		return storeErr("clearing a queue", err)
	}
	if !found {
		return notFound(name)
	}
	return nil
}
