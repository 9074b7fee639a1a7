package broker

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"
)

// This file holds transactions (AMQP's transaction coordinator, Service
// Bus's TransactionScope). A Txn stages sends (to queues and topics) and
// settlements (complete, abandon, defer, dead-letter, by lock token, in any
// entity) without changing anything; Commit applies them all as one store
// group, so that after a crash either every change is there or none is,
// and nothing becomes visible (or disappears) before the group is durable.
//
// Staging validates what can be validated early (the entity exists, the
// message fits, the lock is held) so that clients get errors at the
// operation that caused them. A staged settlement leaves its message
// locked exactly as it was: the receiver still holds the lock, which
// expires as usual. Rollback, or a transaction that is never discharged,
// forgets the staged work, so a message whose settlement was staged is
// redelivered after its lock ends (expiry, release, abandon).
//
// Commit checks everything again under the locks of every entity involved,
// taken in entity key order: a topic's key is a prefix of its
// subscriptions' keys, so key order agrees with the existing topic.mu →
// subscription.mu order, and two commits (or a commit and a topic send)
// never wait for each other in a cycle. A settlement whose lock was lost
// in the meantime fails the whole commit (nothing is applied).
//
// Lock order: Broker.mu is never held with the entity locks; the entity
// locks are taken in key order; then timerHeap.mu and topicState.bodyMu.

// Default transaction limits.
const (
	// DefaultTxnTimeout is how long a transaction may stay open before
	// Commit refuses it (Service Bus: 2 minutes).
	DefaultTxnTimeout = 2 * time.Minute
	// DefaultTxnMaxOperations bounds the messages sent plus the messages
	// settled in one transaction (Service Bus allows 100).
	DefaultTxnMaxOperations = 1000
)

// TxnOptions configure a transaction. Zero fields take the defaults.
type TxnOptions struct {
	Timeout       time.Duration
	MaxOperations int
}

// Transaction errors. They are returned as they are (compare with ==).
var (
	// ErrTxnTimedOut: the transaction stayed open longer than its timeout;
	// its work was discarded.
	ErrTxnTimedOut = &Error{Code: CodeTimeout, Message: "the transaction timed out; its work was rolled back"}
	// ErrTxnDischarged: the transaction was already committed or rolled
	// back.
	ErrTxnDischarged = &Error{Code: CodeInvalidArgument, Message: "the transaction was already discharged"}
)

// Txn is a transaction. Its methods are safe for concurrent use.
type Txn struct {
	b        *Broker
	deadline time.Time
	maxOps   int

	mu      sync.Mutex
	done    bool
	ops     int
	sends   []txnSend
	settles []txnSettle
	tokens  map[txnToken]struct{}
}

type txnSend struct {
	path  string
	msgs  []*Message
	props []map[string]any // a topic send's application properties
}

type txnSettle struct {
	path  string
	token LockToken
	s     Settlement
}

type txnToken struct {
	key   string
	token LockToken
}

// BeginTxn starts a transaction.
func (b *Broker) BeginTxn(opts TxnOptions) *Txn {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTxnTimeout
	}
	if opts.MaxOperations <= 0 {
		opts.MaxOperations = DefaultTxnMaxOperations
	}
	return &Txn{b: b, deadline: b.clock.Now().Add(opts.Timeout), maxOps: opts.MaxOperations,
		tokens: make(map[txnToken]struct{})}
}

// Ops returns the number of operations staged.
func (t *Txn) Ops() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ops
}

// checkOpenLocked reports a discharged or timed-out transaction and
// whether n more operations fit. REQUIRES: t.mu.
func (t *Txn) checkOpenLocked(n int) error {
	if t.done {
		return ErrTxnDischarged
	}
	if !t.b.clock.Now().Before(t.deadline) {
		return ErrTxnTimedOut
	}
	if t.ops+n > t.maxOps {
		return errorf(CodeQuotaExceeded, "a transaction holds at most %d operations (sends and settlements)", t.maxOps)
	}
	return nil
}

// Send stages a send of msgs to path (a queue or topic). The messages are
// checked against the entity now and again at Commit; they get their
// sequence numbers at Commit. Staging never waits for I/O.
func (t *Txn) Send(ctx context.Context, path string, msgs []*Message) error {
	// No runDue here: staging never waits for I/O (the AMQP face stages on
	// its session goroutine), and it needs no timer's effect.
	b := t.b
	if len(msgs) == 0 {
		return nil
	}
	e, dlq, err := b.lookup(path)
	if err != nil {
		return err
	}
	if dlq {
		return errorf(CodeInvalidArgument, "cannot send to a dead-letter sub-queue")
	}
	var props []map[string]any
	if e.tp != nil {
		props = make([]map[string]any, len(msgs))
		for i, m := range msgs {
			if props[i], err = b.appProperties(m); err != nil {
				return errorf(CodeInvalidArgument, "message %d: %v", i, err)
			}
		}
	}
	e.mu.Lock()
	err = e.checkSendLocked(msgs)
	e.mu.Unlock()
	if err != nil {
		return err
	}
	cp := make([]*Message, len(msgs))
	for i, m := range msgs {
		cp[i] = m.clone()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.checkOpenLocked(len(msgs)); err != nil {
		return err
	}
	t.ops += len(msgs)
	t.sends = append(t.sends, txnSend{path: path, msgs: cp, props: props})
	return nil
}

// checkSendLocked checks that e takes msgs (size quota aside, checked at
// commit).
func (e *entity) checkSendLocked(msgs []*Message) error {
	if e.tp != nil {
		if err := e.existsLocked(); err != nil {
			return err
		}
	} else if err := e.usableLocked(); err != nil {
		return err
	}
	p := &e.def.Properties
	if p.Status == StatusDisabled || p.Status == StatusSendDisabled {
		return errorf(CodeEntityDisabled, "entity %q is %s; sends are refused", e.def.Name, p.Status)
	}
	for i, m := range msgs {
		if err := e.checkMessageLocked(m, i); err != nil {
			return err
		}
	}
	return nil
}

// Settle stages settlement s of the message locked by token in path.
// Release cannot be part of a transaction. The lock is checked now and
// again at Commit; until then the message stays locked as it is.
func (t *Txn) Settle(ctx context.Context, path string, token LockToken, s Settlement) error {
	b := t.b // no runDue: see Send
	if s.Disposition == Release {
		return errorf(CodeInvalidArgument, "release cannot be part of a transaction")
	}
	e, dlq, err := b.lookup(path)
	if err != nil {
		return err
	}
	for k, v := range s.Properties {
		if err := validatePropertyValue(k, v); err != nil {
			return err
		}
	}
	e.mu.Lock()
	en, err := e.lockedEntryLocked(token, dlq, b.clock.Now())
	if err == nil {
		_, err = e.settleRecordLocked(en, s)
	}
	e.mu.Unlock()
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.checkOpenLocked(1); err != nil {
		return err
	}
	k := txnToken{e.key, token}
	if _, ok := t.tokens[k]; ok {
		return errorf(CodeLockLost, "the message with lock token %s is already settled in this transaction", token)
	}
	t.tokens[k] = struct{}{}
	t.ops++
	t.settles = append(t.settles, txnSettle{path: path, token: token, s: s})
	return nil
}

// Rollback discards the staged work. Messages whose settlement was staged
// stay locked until their locks end. Rolling back a discharged
// transaction is ErrTxnDischarged.
func (t *Txn) Rollback() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return ErrTxnDischarged
	}
	t.done = true
	t.sends, t.settles, t.tokens = nil, nil, nil
	return nil
}

// Commit applies the staged work atomically and durably: it returns nil
// once every change is durable (and then visible), or an error and no
// change at all. A timed-out transaction is ErrTxnTimedOut. Either way the
// transaction is discharged.
func (t *Txn) Commit(ctx context.Context) error {
	t.mu.Lock()
	if t.done {
		t.mu.Unlock()
		return ErrTxnDischarged
	}
	t.done = true
	sends, settles := t.sends, t.settles
	t.sends, t.settles, t.tokens = nil, nil, nil
	expired := !t.b.clock.Now().Before(t.deadline)
	t.mu.Unlock()
	if expired {
		return ErrTxnTimedOut
	}
	if len(sends) == 0 && len(settles) == 0 {
		return nil
	}
	t.b.runDue()
	return t.b.commit(ctx, sends, settles)
}

// txnWork is one entity's share of a commit.
type txnWork struct {
	e     *entity
	msgs  []*Message
	props []map[string]any
}

// preparedSettle is a settlement whose entry is marked settling.
type preparedSettle struct {
	e   *entity
	en  *entry
	s   Settlement
	rec Record
}

// commit is Commit's work: see the file comment.
func (b *Broker) commit(ctx context.Context, sends []txnSend, settles []txnSettle) error {
	// Resolve every path; sends to one entity are merged in staging order.
	var work []*txnWork
	byKey := make(map[string]*txnWork)
	for _, s := range sends {
		e, _, err := b.lookup(s.path)
		if err != nil {
			return err
		}
		w := byKey[e.key]
		if w == nil {
			w = &txnWork{e: e}
			byKey[e.key] = w
			work = append(work, w)
		} else if w.e != e {
			return errorf(CodeNotFound, "entity %q was deleted during the transaction", s.path)
		}
		w.msgs = append(w.msgs, s.msgs...)
		w.props = append(w.props, s.props...)
	}
	type settleAt struct {
		e   *entity
		dlq bool
		st  txnSettle
	}
	sts := make([]settleAt, 0, len(settles))
	for _, s := range settles {
		e, dlq, err := b.lookup(s.path)
		if err != nil {
			return err
		}
		sts = append(sts, settleAt{e, dlq, s})
	}

	unlock, err := b.lockTxnEntities(work, func(add func(*entity)) {
		for _, s := range sts {
			add(s.e)
		}
	})
	if err != nil {
		return err
	}
	now := b.clock.Now()

	// Check and build, changing nothing until everything is known good.
	prepared := make([]preparedSettle, 0, len(sts))
	for _, s := range sts {
		en, err := s.e.lockedEntryLocked(s.st.token, s.dlq, now)
		if err != nil {
			unlock()
			return err
		}
		rec, err := s.e.settleRecordLocked(en, s.st.s)
		if err != nil {
			unlock()
			return err
		}
		prepared = append(prepared, preparedSettle{s.e, en, s.st.s, rec})
	}
	var recs []Record
	var qsends []*queueSend
	var tsends []*topicSend
	undo := func(err error) {
		for _, qs := range qsends {
			qs.finishLocked(err)
		}
		for _, ts := range tsends {
			ts.abortLocked()
		}
		unlock()
	}
	for _, w := range work {
		if w.e.tp != nil {
			ts, err := w.e.prepareTopicSendLocked(w.msgs, w.props, now)
			if err != nil {
				undo(err)
				return err
			}
			tsends = append(tsends, ts)
			recs = append(recs, ts.recs...)
			continue
		}
		qs, err := w.e.prepareSendLocked(w.msgs, now)
		if err != nil {
			undo(err)
			return err
		}
		qsends = append(qsends, qs)
		recs = append(recs, qs.recs...)
	}
	for _, p := range prepared {
		p.e.lastActivity = now
		p.e.beginSettleLocked(p.en)
		recs = append(recs, p.rec)
	}
	if len(recs) == 0 {
		unlock()
		return nil
	}
	ch := b.submitLocked(recs)
	unlock()

	err = wait(ch)

	for _, qs := range qsends {
		qs.e.mu.Lock()
		qs.finishLocked(err)
		qs.e.mu.Unlock()
	}
	for _, ts := range tsends {
		ts.finish(err)
	}
	now = b.clock.Now()
	for _, p := range prepared {
		p.e.mu.Lock()
		// A lock lost after the write (the entity deleted) changes
		// nothing: the settlement is durable.
		_ = p.e.settledLocked(p.en, p.s, p.rec, err, now)
		p.e.mu.Unlock()
	}
	return err
}

// lockTxnEntities locks, in key order, the entities of work, the
// subscriptions of every topic in work (all of them: which ones a send
// reaches is known only under the topic's lock) and those addMore adds.
// A topic whose subscriptions changed between listing them and locking
// them is listed again. It returns the function that unlocks them.
func (b *Broker) lockTxnEntities(work []*txnWork, addMore func(add func(*entity))) (func(), error) {
	for attempt := 0; ; attempt++ {
		set := make(map[string]*entity)
		var clash error
		add := func(e *entity) {
			if x, ok := set[e.key]; ok && x != e {
				clash = errorf(CodeNotFound, "entity %q was deleted during the transaction", e.def.Name)
			}
			set[e.key] = e
		}
		subs := make(map[*entity][]*entity)
		for _, w := range work {
			add(w.e)
			if w.e.tp != nil {
				w.e.mu.Lock()
				list := slices.Clone(w.e.tp.subs)
				w.e.mu.Unlock()
				subs[w.e] = list
				for _, s := range list {
					add(s)
				}
			}
		}
		addMore(add)
		if clash != nil {
			return nil, clash
		}
		ents := make([]*entity, 0, len(set))
		for _, e := range set {
			ents = append(ents, e)
		}
		slices.SortFunc(ents, func(x, y *entity) int { return strings.Compare(x.key, y.key) })
		for _, e := range ents {
			e.mu.Lock()
		}
		unlock := func() {
			for i := len(ents) - 1; i >= 0; i-- {
				ents[i].mu.Unlock()
			}
		}
		same := true
		for t, list := range subs {
			if !slices.Equal(t.tp.subs, list) {
				same = false
				break
			}
		}
		if same {
			return unlock, nil
		}
		unlock()
		if attempt == 100 {
			return nil, errorf(CodeStoreUnavailable, "subscriptions keep changing; the transaction was not committed")
		}
	}
}
