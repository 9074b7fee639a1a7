package pgbroker

import (
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

// TestSemanticsTxn: transactions against the broker's — a receive's
// completion and a send to another queue and to a topic commit together;
// a rollback leaves everything as it was; a lock lost before the commit
// fails the whole transaction and applies none of it; release is refused;
// a discharged transaction is refused; a timed-out one fails.
func TestSemanticsTxn(t *testing.T) {
	p := newPair(t)
	p.queue("in", broker.QueueProperties{LockDuration: 10 * time.Second})
	p.queue("out", broker.QueueProperties{})
	p.topic("t", broker.QueueProperties{})
	p.sub("t", "s", broker.QueueProperties{}, nil)
	p.send("in", msg("a"), msg("b"), msg("c"))
	got := p.recv("in", 3)
	begin := func() (broker.Tx, broker.Tx) {
		return p.mem.BeginTx(broker.TxnOptions{}), p.pg.BeginTx(broker.TxnOptions{})
	}
	both := func(what string, fm, fg func() error) {
		t.Helper()
		p.sameErr(what, fm(), fg())
	}

	// Commit: complete a, send to out and t.
	tm, tg := begin()
	both("settle", func() error {
		return tm.Settle(p.ctx, "in", got[0].m.LockToken, broker.Settlement{Disposition: broker.Complete})
	},
		func() error {
			return tg.Settle(p.ctx, "in", got[0].g.LockToken, broker.Settlement{Disposition: broker.Complete})
		})
	both("settle twice", func() error {
		return tm.Settle(p.ctx, "in", got[0].m.LockToken, broker.Settlement{Disposition: broker.Complete})
	},
		func() error {
			return tg.Settle(p.ctx, "in", got[0].g.LockToken, broker.Settlement{Disposition: broker.Complete})
		})
	both("release", func() error {
		return tm.Settle(p.ctx, "in", got[1].m.LockToken, broker.Settlement{Disposition: broker.Release})
	},
		func() error {
			return tg.Settle(p.ctx, "in", got[1].g.LockToken, broker.Settlement{Disposition: broker.Release})
		})
	both("send out", func() error { return tm.Send(p.ctx, "out", []*broker.Message{msg("x")}) },
		func() error { return tg.Send(p.ctx, "out", []*broker.Message{msg("x")}) })
	both("send t", func() error { return tm.Send(p.ctx, "t", []*broker.Message{msg("y")}) },
		func() error { return tg.Send(p.ctx, "t", []*broker.Message{msg("y")}) })
	both("send nowhere", func() error { return tm.Send(p.ctx, "nope", []*broker.Message{msg("z")}) },
		func() error { return tg.Send(p.ctx, "nope", []*broker.Message{msg("z")}) })
	p.wantCounts("out", 0, 0, 0, 0) // nothing visible before the commit
	both("commit", func() error { return tm.Commit(p.ctx) }, func() error { return tg.Commit(p.ctx) })
	both("commit again", func() error { return tm.Commit(p.ctx) }, func() error { return tg.Commit(p.ctx) })
	p.wantCounts("in", 2, 0, 0, 0)
	p.wantCounts("out", 1, 0, 0, 0)
	p.wantCounts("t/Subscriptions/s", 1, 0, 0, 0)
	p.peek("out", 0, 5, "")

	// Rollback: nothing happens; the lock stays.
	tm, tg = begin()
	both("abandon", func() error {
		return tm.Settle(p.ctx, "in", got[1].m.LockToken, broker.Settlement{Disposition: broker.Abandon})
	},
		func() error {
			return tg.Settle(p.ctx, "in", got[1].g.LockToken, broker.Settlement{Disposition: broker.Abandon})
		})
	both("send", func() error { return tm.Send(p.ctx, "out", []*broker.Message{msg("r")}) },
		func() error { return tg.Send(p.ctx, "out", []*broker.Message{msg("r")}) })
	both("rollback", tm.Rollback, tg.Rollback)
	p.wantCounts("out", 1, 0, 0, 0)
	p.settle("in", got[1], broker.Settlement{Disposition: broker.Defer})

	// A lock lost before the commit: the whole transaction fails.
	tm, tg = begin()
	both("complete c", func() error {
		return tm.Settle(p.ctx, "in", got[2].m.LockToken, broker.Settlement{Disposition: broker.Complete})
	},
		func() error {
			return tg.Settle(p.ctx, "in", got[2].g.LockToken, broker.Settlement{Disposition: broker.Complete})
		})
	both("send", func() error { return tm.Send(p.ctx, "out", []*broker.Message{msg("lost")}) },
		func() error { return tg.Send(p.ctx, "out", []*broker.Message{msg("lost")}) })
	p.advance(11 * time.Second) // c's lock lapses
	both("commit after the lock lapsed", func() error { return tm.Commit(p.ctx) }, func() error { return tg.Commit(p.ctx) })
	p.wantCounts("out", 1, 0, 0, 0)
	p.wantCounts("in", 1, 0, 1, 0)

	// A transaction open past its timeout fails.
	tm, tg = p.mem.BeginTx(broker.TxnOptions{Timeout: time.Second}), p.pg.BeginTx(broker.TxnOptions{Timeout: time.Second})
	both("send", func() error { return tm.Send(p.ctx, "out", []*broker.Message{msg("late")}) },
		func() error { return tg.Send(p.ctx, "out", []*broker.Message{msg("late")}) })
	p.advance(2 * time.Second)
	both("commit after the timeout", func() error { return tm.Commit(p.ctx) }, func() error { return tg.Commit(p.ctx) })
	p.wantCounts("out", 1, 0, 0, 0)
}
