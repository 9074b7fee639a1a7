package pgengine

import (
	"context"
	"strconv"

	"github.com/batonmq/baton/internal/store/pgstore"
)

// sweepBatch is how many expired messages one statement deletes.
const sweepBatch = 1000

// sweepMaxBatches bounds the batches of one tick, so that the holder
// renews its lease often even under a huge backlog of expired messages.
const sweepMaxBatches = 100

// sweepSQL deletes up to sweepBatch messages expired at $1, the earliest
// first (which also keeps every plan on the expiry index). Rows another
// statement has locked are skipped (a Get or Delete is on them; the next
// sweep takes them), so two nodes sweeping at once only share the work.
var sweepSQL = `
DELETE FROM baton_sq_messages m
USING (SELECT queue, id FROM baton_sq_messages
	WHERE expires_at <= $1
	ORDER BY expires_at
	LIMIT ` + strconv.Itoa(sweepBatch) + `
	FOR UPDATE SKIP LOCKED) x
WHERE m.queue = x.queue AND m.id = x.id`

// sweepResult is what one sweep tick did (for tests).
type sweepResult struct {
	Held     bool  // this engine held the lease
	Term     int64 // its term, when held
	Deleted  int64 // expired messages deleted
	Vacuumed bool  // it vacuumed the message table
	Err      error
}

// vacuumDeadRows is how many dead rows make the sweep vacuum.
const vacuumDeadRows = 10000

// maintain runs the expiry sweep (and the vacuum) every SweepInterval
// until Close.
func (e *Engine) maintain() {
	defer close(e.done)
	t := e.clk.NewTimer(e.cfg.SweepInterval)
	defer t.Stop()
	failing := false // logged once per outage, not every tick
	for {
		select {
		case <-e.stop:
			return
		case <-t.C():
		}
		r := e.sweep()
		switch {
		case r.Err != nil && !failing && e.ctx.Err() == nil:
			failing = true
			e.log.Warn("pgengine: the storage queue expiry sweep failed; retrying every interval", "err", r.Err, "interval", e.cfg.SweepInterval)
		case r.Err == nil && failing:
			failing = false
			e.log.Info("pgengine: the storage queue expiry sweep works again")
		}
		if e.cfg.onSweep != nil {
			e.cfg.onSweep(r)
		}
		t.Reset(e.cfg.SweepInterval)
	}
}

// sweep takes or renews the sweep lease and, holding it, deletes the
// messages expired by now.
func (e *Engine) sweep() (r sweepResult) {
	ctx := e.ctx
	r.Term, r.Held, r.Err = e.lease.Acquire(ctx)
	if r.Err != nil || !r.Held {
		return r
	}
	now := e.now()
	for range sweepMaxBatches {
		tag, err := e.pool.Exec(ctx, sweepSQL, now)
		if err != nil {
			r.Err = storeErr("sweeping expired messages", err)
			return r
		}
		r.Deleted += tag.RowsAffected()
		if tag.RowsAffected() < sweepBatch {
			break
		}
	}
	if e.cfg.VacuumInterval > 0 && !now.Before(e.nextVacuum) {
		e.nextVacuum = now.Add(e.cfg.VacuumInterval)
		r.Vacuumed, r.Err = e.vacuum(ctx)
	}
	return r
}

// vacuum vacuums the message table if the statistics count enough dead
// rows.
func (e *Engine) vacuum(ctx context.Context) (bool, error) {
	min := int64(vacuumDeadRows)
	if e.cfg.vacuumAlways {
		min = 0
	}
	done, err := pgstore.VacuumIfDead(ctx, e.pool, "baton_sq_messages", min)
	return done, storeErr("vacuuming the message table", err)
}
