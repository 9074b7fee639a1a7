package pgbroker

import (
	"context"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/batonmq/baton/internal/broker"
)

// The node's writer. Sends and settlements must be durable before they are
// answered; each alone would pay a commit (a WAL flush) per operation, and
// every send of one entity also waits for the previous one's commit (the
// sequence counter's row lock is held until then). So every such operation
// goes through one writer goroutine per engine: the operations submitted
// while a transaction commits go into the next one together (group commit,
// as pgstore's writer does for the single-node store), in entity order so
// that two nodes' batches take entity rows in the same order. When a batch
// fails, each of its operations runs again in a transaction of its own, so
// that one bad operation (an entity deleted meanwhile, a lost lock) fails
// alone.

// maxWriteBatch bounds the operations of one transaction.
const maxWriteBatch = 256

// writeOp is one operation for the writer.
type writeOp struct {
	entity int64 // the entity it writes (batch order)
	run    func(ctx context.Context, tx pgx.Tx) error
	done   chan error
}

// write runs f in the writer's next transaction and returns when that
// transaction has committed (nil) or failed. f may run twice (alone, after
// its batch failed): it must set its results afresh each time. When ctx
// ends first the outcome is unknown to the caller, and the error says so.
func (e *Engine) write(ctx context.Context, entity int64, f func(ctx context.Context, tx pgx.Tx) error) error {
	op := &writeOp{entity: entity, run: f, done: make(chan error, 1)}
	select {
	case e.wq <- op:
	case <-ctx.Done():
		return ctx.Err()
	case <-e.stop:
		return broker.ErrClosed
	}
	select {
	case err := <-op.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// writeLoop is the writer goroutine.
func (e *Engine) writeLoop() {
	defer e.wg.Done()
	var batch []*writeOp
	for {
		batch = batch[:0]
		select {
		case op := <-e.wq:
			batch = append(batch, op)
		case <-e.stop:
			e.failQueued()
			return
		}
	more:
		for len(batch) < maxWriteBatch {
			select {
			case op := <-e.wq:
				batch = append(batch, op)
			default:
				break more
			}
		}
		slices.SortStableFunc(batch, func(a, b *writeOp) int { return compare(a.entity, b.entity) })
		ctx, cancel := context.WithTimeout(e.ctx, e.cfg.OpTimeout)
		ran, err := e.runBatch(ctx, batch)
		if err == nil || !ran || len(batch) == 1 {
			// Done, or failed at the commit: the outcome is in doubt for
			// every operation of the batch, which must not run again.
			for _, op := range batch {
				op.done <- err
			}
		} else {
			for _, op := range batch {
				_, err := e.runBatch(ctx, []*writeOp{op})
				op.done <- err
			}
		}
		cancel()
	}
}

// runBatch runs ops in one transaction. ran reports that an operation
// failed (the transaction was rolled back: nothing of it happened), as
// opposed to a failure to begin or to commit.
func (e *Engine) runBatch(ctx context.Context, ops []*writeOp) (ran bool, err error) {
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		return true, err // nothing happened: safe to run again
	}
	for _, op := range ops {
		if err := op.run(ctx, tx); err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
			return true, err
		}
	}
	return false, tx.Commit(ctx)
}

// failQueued answers the operations left in the queue at Close.
func (e *Engine) failQueued() {
	for {
		select {
		case op := <-e.wq:
			op.done <- broker.ErrClosed
		default:
			return
		}
	}
}
