package pgbroker

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/store/pgstore"
)

// Transactions (AMQP's, through the face's coordinator): sends and
// settlements are staged in memory and applied at Commit as one operation
// of the node's writer — one PostgreSQL transaction, never held open
// across the client's round trips. Staging checks what it can from the
// cached definitions; locks are checked at Commit, where a lock lost
// meanwhile fails the whole transaction and nothing of it happens.

var _ broker.Transactor = (*Engine)(nil)

// pgTx is one transaction. Its methods are safe for concurrent use.
type pgTx struct {
	e        *Engine
	deadline time.Time
	maxOps   int

	mu      sync.Mutex
	done    bool
	ops     int
	sends   []txSend
	settles []txSettle
	tokens  map[[16]byte]bool
}

type txSend struct {
	en    *ent
	msgs  []*broker.Message
	props []map[string]any // a topic send's application properties
}

type txSettle struct {
	en    *ent
	dlq   bool
	token broker.LockToken
	s     broker.Settlement
}

// BeginTx starts a transaction.
func (e *Engine) BeginTx(opts broker.TxnOptions) broker.Tx {
	if opts.Timeout <= 0 {
		opts.Timeout = broker.DefaultTxnTimeout
	}
	if opts.MaxOperations <= 0 {
		opts.MaxOperations = broker.DefaultTxnMaxOperations
	}
	return &pgTx{e: e, deadline: e.clk.Now().Add(opts.Timeout), maxOps: opts.MaxOperations, tokens: map[[16]byte]bool{}}
}

// checkOpenLocked reports a discharged or timed-out transaction and
// whether n more operations fit. REQUIRES: t.mu.
func (t *pgTx) checkOpenLocked(n int) error {
	if t.done {
		return broker.ErrTxnDischarged
	}
	if !t.e.clk.Now().Before(t.deadline) {
		return broker.ErrTxnTimedOut
	}
	if t.ops+n > t.maxOps {
		return errorf(broker.CodeQuotaExceeded, "a transaction holds at most %d operations (sends and settlements)", t.maxOps)
	}
	return nil
}

// Send stages a send of msgs to path (a queue or topic); they get their
// sequence numbers at Commit.
func (t *pgTx) Send(ctx context.Context, path string, msgs []*broker.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	e := t.e
	ctx, cancel, err := e.begin(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	en, dlq, err := e.lookup(ctx, path)
	if err != nil {
		return err
	}
	if dlq {
		return errorf(broker.CodeInvalidArgument, "cannot send to a dead-letter sub-queue")
	}
	if en.def.Kind == broker.KindSubscription {
		return errorf(broker.CodeInvalidArgument, "cannot send to subscription %q; send to its topic", en.def.Name)
	}
	if err := e.checkSend(en, msgs); err != nil {
		return err
	}
	var props []map[string]any
	if en.def.Kind == broker.KindTopic {
		props = make([]map[string]any, len(msgs))
		for i, m := range msgs {
			if props[i], err = e.router.AppProperties(m); err != nil {
				return errorf(broker.CodeInvalidArgument, "message %d: %v", i, err)
			}
		}
	}
	cp := make([]*broker.Message, len(msgs))
	for i, m := range msgs {
		c := *m
		cp[i] = &c
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.checkOpenLocked(len(msgs)); err != nil {
		return err
	}
	t.ops += len(msgs)
	t.sends = append(t.sends, txSend{en: en, msgs: cp, props: props})
	return nil
}

// Settle stages settlement s of the message locked by token in path.
// Release cannot be part of a transaction. The lock is checked at Commit.
func (t *pgTx) Settle(ctx context.Context, path string, token broker.LockToken, s broker.Settlement) error {
	if s.Disposition == broker.Release {
		return errorf(broker.CodeInvalidArgument, "release cannot be part of a transaction")
	}
	for k, v := range s.Properties {
		if err := broker.ValidatePropertyValue(k, v); err != nil {
			return err
		}
	}
	e := t.e
	ctx, cancel, err := e.begin(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	en, dlq, err := e.lookup(ctx, path)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.checkOpenLocked(1); err != nil {
		return err
	}
	if t.tokens[token] {
		return errorf(broker.CodeLockLost, "the message with lock token %s is already settled in this transaction", token)
	}
	t.tokens[token] = true
	t.ops++
	t.settles = append(t.settles, txSettle{en: en, dlq: dlq, token: token, s: s})
	return nil
}

// Rollback discards the staged work. Messages whose settlement was staged
// stay locked until their locks end.
func (t *pgTx) Rollback() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return broker.ErrTxnDischarged
	}
	t.done = true
	t.sends, t.settles, t.tokens = nil, nil, nil
	return nil
}

// Commit applies the staged work in one PostgreSQL transaction: nil once
// all of it is durable and visible, or an error and none of it.
func (t *pgTx) Commit(ctx context.Context) error {
	t.mu.Lock()
	if t.done {
		t.mu.Unlock()
		return broker.ErrTxnDischarged
	}
	t.done = true
	sends, settles := t.sends, t.settles
	t.sends, t.settles, t.tokens = nil, nil, nil
	expired := !t.e.clk.Now().Before(t.deadline)
	t.mu.Unlock()
	if expired {
		return broker.ErrTxnTimedOut
	}
	if len(sends) == 0 && len(settles) == 0 {
		return nil
	}
	e := t.e
	ctx, cancel, err := e.begin(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	// A topic's subscriptions are read before the transaction.
	subs := make([][]*sub, len(sends))
	for i, s := range sends {
		if s.en.def.Kind == broker.KindTopic {
			if subs[i], err = e.subscriptionsOf(ctx, s.en); err != nil {
				return storeErr("reading the subscriptions of "+s.en.def.Name, err)
			}
		}
	}
	var touched []int64
	first := int64(0)
	if len(sends) > 0 {
		first = sends[0].en.id
	} else {
		first = settles[0].en.id
	}
	err = e.write(ctx, first, func(ctx context.Context, tx pgx.Tx) error {
		touched = touched[:0]
		now := e.now()
		for _, st := range settles {
			if st.s.Disposition == broker.Complete {
				if err := e.completeTx(ctx, tx, st.en, st.dlq, st.token, now); err != nil {
					return err
				}
				continue
			}
			wake, err := e.settleTx(ctx, tx, st.en, st.dlq, st.token, st.s, now)
			if err != nil {
				return err
			}
			if wake {
				touched = append(touched, st.en.id)
			}
		}
		for i, s := range sends {
			if s.en.def.Kind == broker.KindTopic {
				_, subsTouched, err := e.sendTopic(ctx, tx, s.en, subs[i], s.msgs, s.props, now, "")
				if err != nil {
					return err
				}
				touched = append(touched, subsTouched...)
				continue
			}
			if _, err := e.sendQueue(ctx, tx, s.en, s.msgs, now, ""); err != nil {
				return err
			}
			touched = append(touched, s.en.id)
		}
		return nil
	})
	if err != nil {
		if pgstore.SQLState(err) == "23503" || errors.Is(err, errGone) {
			return errorf(broker.CodeNotFound, "an entity of the transaction was deleted")
		}
		return storeErr("committing a transaction", err)
	}
	for _, id := range touched {
		e.wakes.changed(id, wakeAny)
	}
	for _, st := range settles {
		e.forwardAfter(ctx, st.en)
	}
	for i, s := range sends {
		e.forwardAfter(ctx, s.en)
		for _, sb := range subs[i] {
			e.forwardAfter(ctx, &ent{id: sb.id, def: sb.def, topic: s.en.id})
		}
	}
	return nil
}

// completeTx completes the message locked by token in tx; a lock that is
// gone fails the transaction.
func (e *Engine) completeTx(ctx context.Context, tx pgx.Tx, en *ent, dlq bool, token broker.LockToken, now time.Time) error {
	states := []int16{stActive, stDeferred}
	if dlq {
		states = []int16{stDeadLettered, stDeferred}
	}
	tag, err := tx.Exec(ctx, completeSQL, en.id, [][16]byte{token}, now, states, dlq)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return e.lostLock(ctx, tx, en, dlq, token)
	}
	return nil
}
