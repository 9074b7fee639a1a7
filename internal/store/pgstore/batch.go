package pgstore

// One write batch: the groups the writer took, folded in submission order
// into their net change (one operation per row), written as one pipelined
// pgx.Batch of set-based statements (unnest of arrays), so a batch costs
// about a dozen statements and one round trip however many records it
// holds.
//
// Removals are deferred: a removed message's row stays, listed in one
// baton_removed row per batch, until the broker's clock has moved
// RemovedBodyGrace past the removal (or the next start), because the
// broker reads the body of a receive-and-delete after the removal is
// durable. The writer remembers the pending removals, so that later
// updates of those messages are ignored as the Store rules require.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/batonmq/baton/internal/broker"
)

// removedBodyGrace is how long (broker time) a removed message's row stays
// readable.
const removedBodyGrace = 5 * time.Second

// plan is the net change of a batch of groups.
type plan struct {
	batch    int64           // this batch's number (baton_message.wb)
	exists   map[string]bool // entity existence after the batch, over s.entities
	wipes    map[string]bool // entities deleted (their rows go first)
	defs     map[string]*defRow
	msgs     map[msgKey]*msgOp
	sessions map[sessKey]*rec // state nil: delete
	dedup    map[sessKey]int64
	removed  []msgKey
	probe    *msgKey // a message put by the batch (the outcome probe)
	marker   bool    // write a baton_removed row: removals, or no put to probe
	now      int64   // latest broker time seen
}

type msgKey struct {
	entity string
	seq    int64
}

type sessKey struct{ entity, id string }

// msgOp is the net operation on one message row.
type msgOp struct {
	put     *msgRow // the whole row (an enqueue, with later updates merged)
	update  *msgRow // the state fields and upd only
	removed bool    // listed for deferred deletion
}

// pendingRemoval is one batch's deferred removals.
type pendingRemoval struct {
	batch int64
	at    int64
	keys  []msgKey
}

// fold applies the groups, in order, to a new plan. Records for entities
// that do not exist at that point are ignored, and so are updates and
// removals of messages already removed, as the Store rules say.
func (s *Store) fold(batch []*group) *plan {
	s.batches++
	p := &plan{batch: s.epoch<<40 | s.batches, exists: map[string]bool{}, wipes: map[string]bool{}, defs: map[string]*defRow{},
		msgs: map[msgKey]*msgOp{}, sessions: map[sessKey]*rec{}, dedup: map[sessKey]int64{}, now: s.now}
	exists := func(k string) bool {
		if e, ok := p.exists[k]; ok {
			return e
		}
		return s.entities[k]
	}
	// removedBefore: removed by an earlier batch and not enqueued since.
	removedBefore := func(k msgKey) bool {
		_, ok := s.pending[k]
		return ok && !p.wipes[k.entity]
	}
	for _, g := range batch {
		for i := range g.recs {
			r := &g.recs[i]
			if r.at > p.now {
				p.now = r.at
			}
			switch r.kind {
			case broker.RecEntityPut:
				p.exists[r.entity] = true
				p.defs[r.entity] = r.def
				continue
			case broker.RecEntityDelete:
				if exists(r.entity) {
					p.wipe(r.entity)
				}
				continue
			}
			if !exists(r.entity) {
				continue
			}
			key := msgKey{r.entity, r.seq}
			op := p.msgs[key]
			switch r.kind {
			case broker.RecEnqueue:
				p.msgs[key] = &msgOp{put: r.msg}
				if r.dedupUntil != 0 {
					p.dedup[sessKey{r.entity, r.dedupID}] = r.dedupUntil
				}
			case broker.RecUpdate:
				switch {
				case op == nil && removedBefore(key):
				case op == nil:
					p.msgs[key] = &msgOp{update: r.msg}
				case op.removed:
				case op.put != nil:
					put := *op.put
					put.state, put.deadLettered, put.deliveryCount, put.upd = r.msg.state, r.msg.deadLettered, r.msg.deliveryCount, r.msg.upd
					op.put = &put
				default:
					op.update = r.msg
				}
			case broker.RecRemove:
				switch {
				case op == nil && removedBefore(key):
				case op == nil:
					p.msgs[key] = &msgOp{removed: true}
				case !op.removed:
					// A put stays, so that the row exists while its body
					// may still be read.
					op.update, op.removed = nil, true
				}
			case broker.RecSessionState:
				p.sessions[sessKey{r.entity, r.sessionID}] = r
			}
		}
	}
	for k, op := range p.msgs {
		if op.removed {
			p.removed = append(p.removed, k)
		} else if op.put != nil && p.probe == nil {
			k := k
			p.probe = &k
		}
	}
	p.marker = len(p.removed) > 0 || p.probe == nil
	return p
}

// wipe forgets everything planned for entity and deletes its rows first.
func (p *plan) wipe(entity string) {
	p.exists[entity] = false
	p.wipes[entity] = true
	delete(p.defs, entity)
	for k := range p.msgs {
		if k.entity == entity {
			delete(p.msgs, k)
		}
	}
	for k := range p.sessions {
		if k.entity == entity {
			delete(p.sessions, k)
		}
	}
	for k := range p.dedup {
		if k.entity == entity {
			delete(p.dedup, k)
		}
	}
}

// txRef identifies a write transaction: how to look its outcome up, and
// the server process that ran it.
type txRef struct {
	batch int64
	probe *msgKey // a message the batch put (its row carries wb = batch); nil: the batch's baton_removed row
	pid   uint32
}

// write runs a plan as one transaction: a pipelined batch, one round trip,
// which PostgreSQL runs as one implicit transaction. unknown reports a
// commit whose answer was lost with the connection (see resolve).
func (s *Store) write(p *plan, purge []pendingRemoval, prune bool) (ref txRef, err error, unknown bool) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.WriteTimeout)
	defer cancel()
	if s.checkLock {
		s.relock(ctx)
	}
	ref = txRef{batch: p.batch, probe: p.probe}
	b := s.build(p, purge, prune)
	for try := 0; ; try++ {
		var conn *pgxpool.Conn
		conn, err = s.pool.Acquire(ctx)
		if err != nil {
			s.checkLock = true
			return ref, err, false
		}
		ref.pid = conn.Conn().PgConn().PID()
		err = conn.SendBatch(ctx, b).Close()
		conn.Release()
		if err == nil {
			return ref, nil, false
		}
		s.checkLock = true
		var pgErr *pgconn.PgError
		switch {
		case errors.As(err, &pgErr):
			if pgErr.Code == "BT001" {
				s.markFenced()
			}
			return ref, err, false // the server refused a statement: rolled back
		case !pgconn.SafeToRetry(err):
			return ref, err, true
		case try >= int(s.pool.Config().MaxConns) || ctx.Err() != nil:
			return ref, err, false
		}
		// Nothing was sent on a connection the database had dropped (a
		// restart): try another.
		b = s.build(p, purge, prune)
	}
}

// resolve learns whether the transaction ref committed: a committed batch
// left its mark (the row of a message it put, with wb = its number, or its
// baton_removed row), and nothing but this writer, which waits, can remove
// that mark. A server process that still runs the transaction (a
// connection cut by the network, not by a restart) is terminated first,
// so that the answer is final.
func (s *Store) resolve(ctx context.Context, ref txRef) (committed bool, err error) {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	defer c.Release()
	var alive bool
	if err := c.QueryRow(ctx, `SELECT coalesce(bool_or(NOT pg_terminate_backend(pid, 10000)), false) FROM pg_stat_activity
		WHERE pid = $1 AND application_name = $2 AND state <> 'idle'`, int64(ref.pid), s.appName).Scan(&alive); err != nil {
		return false, err
	}
	if alive {
		return false, fmt.Errorf("pgstore: server process %d did not stop", ref.pid)
	}
	if ref.probe != nil {
		err = c.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM baton_message WHERE entity = $1 AND seq = $2 AND wb = $3)`,
			ref.probe.entity, ref.probe.seq, ref.batch).Scan(&committed)
	} else {
		err = c.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM baton_removed WHERE batch = $1)`, ref.batch).Scan(&committed)
	}
	return committed, err
}

// build returns the statements of a plan, opened by the fence check.
func (s *Store) build(p *plan, purge []pendingRemoval, prune bool) *pgx.Batch {
	b := &pgx.Batch{}
	b.Queue(`SELECT baton_fence($1)`, s.epoch)
	if len(p.wipes) > 0 {
		keys := make([]string, 0, len(p.wipes))
		for k := range p.wipes {
			keys = append(keys, k)
		}
		for _, t := range []string{"baton_message", "baton_session", "baton_dedup"} {
			b.Queue(`DELETE FROM `+t+` WHERE entity = ANY($1)`, keys)
		}
		b.Queue(`DELETE FROM baton_entity WHERE key = ANY($1)`, keys)
	}
	if len(p.defs) > 0 {
		var keys, names []string
		var kinds []int16
		var blobs [][]byte
		for k, d := range p.defs {
			keys, names, kinds, blobs = append(keys, k), append(names, d.name), append(kinds, d.kind), append(blobs, d.blob)
		}
		b.Queue(`INSERT INTO baton_entity (key, name, kind, def)
			SELECT * FROM unnest($1::text[], $2::text[], $3::int2[], $4::bytea[])
			ON CONFLICT (key) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind, def = EXCLUDED.def`,
			keys, names, kinds, blobs)
	}
	queueMessages(b, p)
	queueSessions(b, p)
	// Rows are deleted only here (and by a wipe): the highest sequence
	// number among them goes to last_seq first. Until then Load finds it
	// in the rows themselves, so sends need not touch baton_entity.
	for _, r := range purge {
		es, ss := splitKeys(r.keys)
		b.Queue(`UPDATE baton_entity e SET last_seq = t.seq
			FROM (SELECT entity, max(seq) AS seq FROM unnest($1::text[], $2::int8[]) AS u(entity, seq) GROUP BY entity) t
			WHERE e.key = t.entity AND e.last_seq < t.seq`, es, ss)
		b.Queue(`DELETE FROM baton_message m USING unnest($1::text[], $2::int8[]) AS t(entity, seq)
			WHERE m.entity = t.entity AND m.seq = t.seq AND m.wb < $3`, es, ss, r.batch)
		b.Queue(`DELETE FROM baton_removed WHERE batch = $1`, r.batch)
	}
	if prune {
		// Forget duplicate-detection entries whose window has passed, by
		// the broker's time, about once a minute.
		b.Queue(`DELETE FROM baton_dedup WHERE until_ns < $1`, p.now)
	}
	return b
}

// relock, after a failed write, checks the connection holding the owner
// lock and, when the database dropped it (and the lock with it), takes
// the lock again on a new one. Safety never rests on this lock — every
// write checks the fencing epoch — but while it is held a second node
// cannot start and take the store over by mistake.
func (s *Store) relock(ctx context.Context) {
	if s.lock.Ping(ctx) == nil {
		s.checkLock = false
		return
	}
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return // the database is still away; the write will fail too
	}
	var got bool
	if err := c.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+lockKeySQL+`)`, "owner").Scan(&got); err != nil {
		c.Release()
		return
	}
	s.lock.Release()
	s.lock, s.checkLock = c, false
	if !got {
		s.log.Error("pgstore: another node holds the owner lock; if it took the store over, this node's writes now fail")
	} else {
		s.log.Info("pgstore: owner lock taken again after the database came back")
	}
}

// duePurges returns the pending removals whose grace has passed by p's
// time (oldest first).
func (s *Store) duePurges(p *plan) []pendingRemoval {
	n := 0
	for n < len(s.removals) && s.removals[n].at+int64(removedBodyGrace) <= p.now {
		n++
	}
	return s.removals[:n]
}

// committed brings the writer's memory up to a committed plan.
func (s *Store) committed(p *plan, purged []pendingRemoval, pruned bool) {
	for k, e := range p.exists {
		if e {
			s.entities[k] = true
		} else {
			delete(s.entities, k)
		}
	}
	if len(p.wipes) > 0 {
		for k := range s.pending {
			if p.wipes[k.entity] {
				delete(s.pending, k)
			}
		}
		if s.cache != nil {
			s.cache.dropEntities(p.wipes)
		}
	}
	if s.cache != nil {
		for k, op := range p.msgs {
			if op.put != nil && op.put.body != nil {
				s.cache.put(k, op.put.body)
			}
		}
	}
	for _, r := range purged {
		for _, k := range r.keys {
			if s.pending[k] == r.batch {
				delete(s.pending, k)
			}
		}
	}
	s.removals = append(s.removals[:0], s.removals[len(purged):]...)
	for k, op := range p.msgs {
		if op.put != nil && !op.removed {
			delete(s.pending, k) // enqueued again
		}
	}
	if p.marker {
		for _, k := range p.removed {
			s.pending[k] = p.batch
		}
		s.removals = append(s.removals, pendingRemoval{batch: p.batch, at: p.now, keys: p.removed})
	}
	s.now = p.now
	if pruned {
		s.pruneAt = p.now + int64(time.Minute)
	}
}

func splitKeys(keys []msgKey) ([]string, []int64) {
	es, ss := make([]string, len(keys)), make([]int64, len(keys))
	for i, k := range keys {
		es[i], ss[i] = k.entity, k.seq
	}
	return es, ss
}

func queueMessages(b *pgx.Batch, p *plan) {
	var (
		put, upd                []string
		putSeq, updSeq          []int64
		putState, updState      []int32
		putDL, updDL            []bool
		putDC, updDC            []int32
		putHdr, putUpd, putBody [][]byte
		updUpd                  [][]byte
	)
	for k, op := range p.msgs {
		if r := op.put; r != nil {
			put, putSeq = append(put, k.entity), append(putSeq, k.seq)
			putState, putDL, putDC = append(putState, r.state), append(putDL, r.deadLettered), append(putDC, r.deliveryCount)
			putHdr, putUpd, putBody = append(putHdr, r.hdr), append(putUpd, r.upd), append(putBody, r.body)
		}
		if r := op.update; r != nil {
			upd, updSeq = append(upd, k.entity), append(updSeq, k.seq)
			updState, updDL, updDC = append(updState, r.state), append(updDL, r.deadLettered), append(updDC, r.deliveryCount)
			updUpd = append(updUpd, r.upd)
		}
	}
	if len(put) > 0 {
		b.Queue(`INSERT INTO baton_message (entity, seq, state, dead_lettered, delivery_count, hdr, upd, body, wb)
			SELECT *, $9::int8 FROM unnest($1::text[], $2::int8[], $3::int4[], $4::bool[], $5::int4[], $6::bytea[], $7::bytea[], $8::bytea[])
			ON CONFLICT (entity, seq) DO UPDATE SET state = EXCLUDED.state, dead_lettered = EXCLUDED.dead_lettered,
				delivery_count = EXCLUDED.delivery_count, hdr = EXCLUDED.hdr, upd = EXCLUDED.upd, body = EXCLUDED.body, wb = EXCLUDED.wb`,
			put, putSeq, putState, putDL, putDC, putHdr, putUpd, putBody, p.batch)
	}
	if len(upd) > 0 {
		b.Queue(`UPDATE baton_message m SET state = t.state, dead_lettered = t.dl, delivery_count = t.dc, upd = t.upd
			FROM unnest($1::text[], $2::int8[], $3::int4[], $4::bool[], $5::int4[], $6::bytea[]) AS t(entity, seq, state, dl, dc, upd)
			WHERE m.entity = t.entity AND m.seq = t.seq`, upd, updSeq, updState, updDL, updDC, updUpd)
	}
	if p.marker {
		// Also the mark of a batch that put no message (resolve).
		es, ss := splitKeys(p.removed)
		b.Queue(`INSERT INTO baton_removed (batch, at_ns, entities, seqs) VALUES ($1, $2, $3, $4)`, p.batch, p.now, es, ss)
	}
}

func queueSessions(b *pgx.Batch, p *plan) {
	var (
		setE, delE   []string
		setID, delID [][]byte
		setState     [][]byte
		setAt        []int64
		dedupE       []string
		dedupID      [][]byte
		dedupUntil   []int64
	)
	for k, r := range p.sessions {
		if r.state == nil {
			delE, delID = append(delE, k.entity), append(delID, []byte(k.id))
			continue
		}
		setE, setID, setState, setAt = append(setE, k.entity), append(setID, []byte(k.id)), append(setState, r.state), append(setAt, r.stateAt)
	}
	if len(delE) > 0 {
		b.Queue(`DELETE FROM baton_session s USING unnest($1::text[], $2::bytea[]) AS t(entity, id)
			WHERE s.entity = t.entity AND s.id = t.id`, delE, delID)
	}
	if len(setE) > 0 {
		b.Queue(`INSERT INTO baton_session (entity, id, state, updated_ns)
			SELECT * FROM unnest($1::text[], $2::bytea[], $3::bytea[], $4::int8[])
			ON CONFLICT (entity, id) DO UPDATE SET state = EXCLUDED.state, updated_ns = EXCLUDED.updated_ns`,
			setE, setID, setState, setAt)
	}
	for k, until := range p.dedup {
		dedupE, dedupID, dedupUntil = append(dedupE, k.entity), append(dedupID, []byte(k.id)), append(dedupUntil, until)
	}
	if len(dedupE) > 0 {
		b.Queue(`INSERT INTO baton_dedup (entity, message_id, until_ns)
			SELECT * FROM unnest($1::text[], $2::bytea[], $3::int8[])
			ON CONFLICT (entity, message_id) DO UPDATE SET until_ns = EXCLUDED.until_ns`,
			dedupE, dedupID, dedupUntil)
	}
}
