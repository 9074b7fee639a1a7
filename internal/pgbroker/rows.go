package pgbroker

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/store/pgstore"
)

// insertSQL takes len(rows) sequence numbers from entity $1's counter (its
// row lock orders concurrent sends: numbers are gap-free and commit in
// order) and inserts the rows in one statement. No row comes back when the
// entity is gone.
const insertSQL = `
WITH e AS (
	UPDATE baton_sb_entities SET next_seq = next_seq + $2 WHERE id = $1 RETURNING next_seq - $2 AS base
)
INSERT INTO baton_sb_messages (entity, seq, state, session_id, locked_until, delivery_count, expires_at,
	hdr, upd, body, topic_seq, body_topic, dl_reason, dl_desc)
SELECT $1, e.base + m.i - 1, m.state, m.sid, m.until, 0, m.exp, m.hdr, m.upd, m.body, m.tseq, m.btopic, m.reason, m.dsc
FROM e, unnest($3::smallint[], $4::bytea[], $5::timestamptz[], $6::timestamptz[], $7::bytea[], $8::bytea[], $9::bytea[],
		$10::bigint[], $11::bigint[], $12::bytea[], $13::bytea[])
	WITH ORDINALITY AS m(state, sid, until, exp, hdr, upd, body, tseq, btopic, reason, dsc, i)
RETURNING seq`

// rowSet is the rows one insertSQL inserts into one entity, as columns.
type rowSet struct {
	states         []int16
	sids           [][]byte
	untils         []time.Time
	exps           []*time.Time
	hdrs, upds     [][]byte
	bodies         [][]byte
	tseqs, btopics []*int64
	reasons, descs [][]byte
}

// prepareMsg sets the broker's fields of a message enqueued at now (its
// expiry is the caller's: it depends on the entity).
func prepareMsg(m *broker.Message, now time.Time) {
	m.EnqueuedTime, m.State = now, broker.StateActive
	if m.ScheduledEnqueueTime.After(now) {
		m.State = broker.StateScheduled
		m.EnqueuedTime = m.ScheduledEnqueueTime.UTC().Truncate(time.Microsecond)
	}
	m.BodySize = int64(len(m.Body))
	m.DeliveryCount, m.DeadLettered, m.DeadLetterReason, m.DeadLetterDescription, m.DeadLetterSource = 0, false, "", "", ""
	m.LockToken, m.LockedUntil = broker.LockToken{}, time.Time{}
	m.TopicSeq, m.SharedBody = 0, false
}

// add adds message m (prepared, its expiry set) with body (nil: the shared
// body of topic *bodyTopic, sequence number m.TopicSeq).
func (r *rowSet) add(m *broker.Message, body []byte, bodyTopic *int64) error {
	state, until := stActive, m.EnqueuedTime
	if m.State == broker.StateScheduled {
		state = stScheduled
	}
	var reason, desc []byte
	if m.DeadLettered {
		state, reason, desc = stDeadLettered, []byte(m.DeadLetterReason), []byte(m.DeadLetterDescription)
	}
	var exp *time.Time
	if !m.ExpiresAt.IsZero() {
		t := m.ExpiresAt
		exp = &t
	}
	var sid []byte
	if m.SessionID != "" {
		sid = []byte(m.SessionID)
	}
	upd, err := pgstore.EncodeUpdate(m)
	if err != nil {
		return errorf(broker.CodeInvalidArgument, "message %q: %v", m.MessageID, err)
	}
	if body == nil && bodyTopic == nil {
		body = []byte{}
	}
	var tseq *int64
	if m.TopicSeq != 0 {
		t := m.TopicSeq
		tseq = &t
	}
	r.states = append(r.states, state)
	r.sids = append(r.sids, sid)
	r.untils = append(r.untils, until)
	r.exps = append(r.exps, exp)
	r.hdrs = append(r.hdrs, pgstore.EncodeHeader(m))
	r.upds = append(r.upds, upd)
	r.bodies = append(r.bodies, body)
	r.tseqs = append(r.tseqs, tseq)
	r.btopics = append(r.btopics, bodyTopic)
	r.reasons = append(r.reasons, reason)
	r.descs = append(r.descs, desc)
	return nil
}

// insert inserts the rows into entity id and returns how many went in (0:
// the entity is gone) with their sequence numbers, ascending.
func (r *rowSet) insert(ctx context.Context, tx pgx.Tx, id int64) ([]int64, error) {
	rows, err := tx.Query(ctx, insertSQL, id, len(r.hdrs), r.states, r.sids, r.untils, r.exps, r.hdrs, r.upds, r.bodies,
		r.tseqs, r.btopics, r.reasons, r.descs)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}
