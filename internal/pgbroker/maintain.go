package pgbroker

import (
	"context"
	"strconv"
	"time"

	"github.com/batonmq/baton/internal/store/pgstore"
)

// maintainBatch bounds the rows one maintenance statement touches.
const maintainBatch = 1000

// activateSQL makes scheduled messages due at $1 active. They keep their
// sequence numbers; their locked_until (the scheduled time) is past, so
// they are available at once.
var activateSQL = `
WITH c AS (
	SELECT entity, seq FROM baton_sb_messages WHERE state = 2 AND locked_until <= $1
	ORDER BY locked_until LIMIT ` + strconv.Itoa(maintainBatch) + ` FOR UPDATE SKIP LOCKED
)
UPDATE baton_sb_messages m SET state = 0 FROM c WHERE m.entity = c.entity AND m.seq = c.seq
RETURNING m.entity`

// expireSQL removes messages expired at $1 that nobody holds: into the
// dead-letter sub-queue where the entity says so, deleted otherwise.
var expireSQL = `
WITH c AS MATERIALIZED (
	SELECT m.entity, m.seq, e.dlq_expired FROM baton_sb_messages m JOIN baton_sb_entities e ON e.id = m.entity
	WHERE m.expires_at <= $1 AND m.state IN (0, 1) AND m.dl_reason IS NULL AND m.locked_until <= $1
	ORDER BY m.expires_at LIMIT ` + strconv.Itoa(maintainBatch) + ` FOR UPDATE OF m SKIP LOCKED
), del AS (
	DELETE FROM baton_sb_messages m USING c WHERE NOT c.dlq_expired AND m.entity = c.entity AND m.seq = c.seq
	RETURNING 1
), dl AS (
	UPDATE baton_sb_messages m SET state = 3, lock_token = NULL,
		dl_reason = 'TTLExpiredException'::bytea, dl_desc = 'The message expired and was dead lettered.'::bytea
	FROM c WHERE c.dlq_expired AND m.entity = c.entity AND m.seq = c.seq
	RETURNING 1
)
SELECT (SELECT count(*) FROM del) + (SELECT count(*) FROM dl)`

// dedupSweepSQL forgets message ids whose detection window passed.
var dedupSweepSQL = `
DELETE FROM baton_sb_dedup WHERE ctid IN (
	SELECT ctid FROM baton_sb_dedup WHERE expires_at <= $1 LIMIT ` + strconv.Itoa(maintainBatch) + `)`

// maintainResult is what one maintenance tick did (for tests).
type maintainResult struct {
	Held      bool  // this engine held the lease
	Term      int64 // its term, when held
	Activated int64 // scheduled messages made active
	Expired   int64 // messages expired
	Bodies    int64 // shared topic bodies collected
	Vacuumed  bool  // the message table was vacuumed
	Err       error
}

// maintain runs the lease holder's work every MaintainInterval until Close:
// one node at a time does it, chosen by the lease row; when that node dies
// its lease lapses and another takes over. The work is in SKIP LOCKED
// batches, so two nodes that both believe they hold the lease for a moment
// only share it.
func (e *Engine) maintain() {
	defer e.wg.Done()
	t := e.clk.NewTimer(e.cfg.MaintainInterval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-e.stop:
			return
		case <-t.C():
		}
		r := e.maintainOnce(e.ctx)
		switch {
		case r.Err != nil && !failing && e.ctx.Err() == nil:
			failing = true
			e.log.Warn("pgbroker: Service Bus maintenance failed; retrying every interval", "err", r.Err, "interval", e.cfg.MaintainInterval)
		case r.Err == nil && failing:
			failing = false
			e.log.Info("pgbroker: Service Bus maintenance works again")
		}
		if e.cfg.onMaintain != nil {
			e.cfg.onMaintain(r)
		}
		t.Reset(e.cfg.MaintainInterval)
	}
}

// maintainOnce takes or renews the lease and, holding it, activates due
// scheduled messages, expires messages and forgets old message ids.
func (e *Engine) maintainOnce(ctx context.Context) (r maintainResult) {
	r.Term, r.Held, r.Err = e.lease.Acquire(ctx)
	if r.Err != nil || !r.Held {
		return r
	}
	now := e.now()
	for range 10 {
		rows, err := e.pool.Query(ctx, activateSQL, now)
		if err != nil {
			r.Err = err
			return r
		}
		touched := map[int64]bool{}
		var n int
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				break
			}
			touched[id] = true
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			r.Err = err
			return r
		}
		for id := range touched {
			e.wakes.changed(id, wakeAny)
		}
		r.Activated += int64(n)
		if n < maintainBatch {
			break
		}
	}
	// Lapsed locks first, as the broker's lock expiry: a delivery fails
	// (maybe to the dead-letter sub-queue) before the message can expire.
	if err := e.lapseAll(ctx, now); err != nil {
		r.Err = err
		return r
	}
	for range 10 {
		var n int64
		if err := e.pool.QueryRow(ctx, expireSQL, now).Scan(&n); err != nil {
			r.Err = err
			return r
		}
		r.Expired += n
		if n < maintainBatch {
			break
		}
	}
	if err := e.forwardAll(ctx); err != nil {
		r.Err = err
		return r
	}
	if _, err := e.pool.Exec(ctx, dedupSweepSQL, now); err != nil {
		r.Err = err
		return r
	}
	n, err := e.collectBodies(ctx)
	r.Bodies = n
	if err != nil {
		r.Err = err
		return r
	}
	r.Vacuumed, r.Err = e.vacuum(ctx, now)
	return r
}

// vacuumDeadRows is how many dead rows make the lease holder vacuum the
// message table.
const vacuumDeadRows = 2000

// vacuum vacuums the message table every VacuumInterval when it has
// vacuumDeadRows dead rows: every claim, completion and lapse leaves dead
// index entries at the head of a queue, which each later claim walks past
// until a vacuum removes them (autovacuum comes too rarely for a busy
// queue; the Storage Queue engine measured Get + Delete halving within 70k
// messages without it).
func (e *Engine) vacuum(ctx context.Context, now time.Time) (bool, error) {
	if e.cfg.VacuumInterval < 0 {
		return false, nil
	}
	e.gcMu.Lock()
	due := !now.Before(e.nextVacuum)
	if due {
		e.nextVacuum = now.Add(e.cfg.VacuumInterval)
	}
	e.gcMu.Unlock()
	if !due {
		return false, nil
	}
	done, err := pgstore.VacuumIfDead(ctx, e.pool, "baton_sb_messages", vacuumDeadRows)
	if err == nil && done {
		_, err = pgstore.VacuumIfDead(ctx, e.pool, "baton_sb_sessions", vacuumDeadRows)
	}
	return done, err
}

// bodyGCSQL looks at the next bodies after ($1, $2) in key order and
// deletes those no copy refers to any more. It returns how many it deleted
// and the last key it looked at (NULL: it reached the end).
var bodyGCSQL = `
WITH c AS MATERIALIZED (
	SELECT topic, seq FROM baton_sb_bodies WHERE (topic, seq) > ($1, $2) ORDER BY topic, seq LIMIT ` + strconv.Itoa(maintainBatch) + `
), d AS (
	DELETE FROM baton_sb_bodies b USING c WHERE b.topic = c.topic AND b.seq = c.seq
		AND NOT EXISTS (SELECT 1 FROM baton_sb_messages m WHERE m.body_topic = c.topic AND m.topic_seq = c.seq)
	RETURNING 1
), last AS (
	SELECT topic, seq FROM c ORDER BY topic DESC, seq DESC LIMIT 1
)
SELECT (SELECT count(*) FROM d), (SELECT topic FROM last), (SELECT seq FROM last)`

// collectBodies deletes the shared topic bodies that no subscription's
// copy refers to any more, a batch per tick: each tick goes on where the
// last one stopped and starts again from the beginning at the end, so
// that a large backlog of live bodies costs a bounded scan per tick.
func (e *Engine) collectBodies(ctx context.Context) (int64, error) {
	e.gcMu.Lock()
	defer e.gcMu.Unlock()
	var n int64
	var topic, seq *int64
	if err := e.pool.QueryRow(ctx, bodyGCSQL, e.gcTopic, e.gcSeq).Scan(&n, &topic, &seq); err != nil {
		return 0, err
	}
	if topic == nil {
		e.gcTopic, e.gcSeq = 0, 0
	} else {
		e.gcTopic, e.gcSeq = *topic, *seq
	}
	return n, nil
}

// lapsedSQL lists the entities with locks lapsed at $1.
const lapsedSQL = `SELECT e.id, e.def FROM baton_sb_entities e WHERE EXISTS (
	SELECT 1 FROM baton_sb_messages m WHERE m.entity = e.id AND m.lock_token IS NOT NULL AND m.locked_until <= $1)`

// lapseAll runs lapseSQL on every entity with lapsed locks.
func (e *Engine) lapseAll(ctx context.Context, now time.Time) error {
	rows, err := e.pool.Query(ctx, lapsedSQL, now)
	if err != nil {
		return err
	}
	var ents []*ent
	for rows.Next() {
		var id int64
		var blob []byte
		if err := rows.Scan(&id, &blob); err != nil {
			rows.Close()
			return err
		}
		def, err := pgstore.DecodeDef(blob)
		if err != nil {
			rows.Close()
			return err
		}
		ents = append(ents, &ent{id: id, def: def})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, en := range ents {
		if err := e.lapse(ctx, e.pool, en, now); err != nil {
			return err
		}
	}
	return nil
}
