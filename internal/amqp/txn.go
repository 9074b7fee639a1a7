package amqp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/amqp/frames"
	"github.com/batonmq/baton/internal/broker"
)

// This file is the transaction coordinator (AMQP 1.0 part 4; Service Bus's
// "transactions" section of its AMQP guide) and send-via.
//
// A client attaches a sender link whose target is a coordinator and sends
// it declare and discharge messages (amqp-value bodies holding the
// described lists amqp:declare:list and amqp:discharge:list). A declare is
// answered with the declared outcome carrying a fresh txn-id; the
// transaction is a broker.Txn kept in the connection's table. Transfers on
// entity links whose state is transactional-state(txn-id) are staged in
// the transaction instead of sent, and answered with
// transactional-state(txn-id, accepted); dispositions of peek-lock
// deliveries whose state is transactional-state(txn-id, outcome) stage the
// settlement and are answered the same way. A discharge with fail=false
// commits (accepted, or rejected with amqp:transaction:rollback or
// amqp:transaction:timeout when the commit fails); fail=true rolls back.
// A transaction its coordinator link no longer holds (the link detached,
// the session ended, the connection dropped) is rolled back. An unknown
// txn-id is amqp:transaction:unknown-id. On a broker engine that is not a
// broker.Transactor the coordinator still attaches (clients open it lazily,
// on their first transaction) but every declare is rejected with
// amqp:not-implemented, so the error reaches the operation that asked for
// the transaction and the connection stays usable.
//
// Staging runs on the session mux (it takes entity locks briefly and does
// no I/O), so a transfer or disposition is part of the transaction before
// any later frame of the same session is handled; the commit, which waits
// for the store, runs on a goroutine the session owns, after every other
// session of the connection has handled the frames that came before the
// discharge (a barrier through their frame queues), so work sent on one
// session and discharged on another without waiting is not missed.
//
// Send-via: a sender link whose attach properties hold
// com.microsoft:transfer-destination-address sends to that destination;
// its target (the via entity) must exist too. Baton stores the message in
// the destination directly, inside or outside a transaction.

// transferDestination is the attach property naming a send-via link's
// destination.
const transferDestination = "com.microsoft:transfer-destination-address"

// Descriptors of the coordinator's control messages.
const (
	descDeclare   uint64 = 0x31
	descDischarge uint64 = 0x32
)

// descNoTxns describes the amqp:not-implemented that rejects a declare
// when the broker engine is not a broker.Transactor.
const descNoTxns = "transactions are not available on this engine (the broker engine this server runs does not support AMQP transactions)"

// maxOpenTxns bounds the transactions one connection may hold open (each
// may stage up to broker.DefaultTxnMaxOperations operations).
const maxOpenTxns = 1000

// txnTable is a connection's open transactions.
type txnTable struct {
	mu   sync.Mutex
	next uint64
	m    map[string]*txnEntry
}

// txnEntry is one declared transaction.
type txnEntry struct {
	id    []byte
	tx    broker.Tx
	owner *link // the coordinator link that declared it
	// discharging: a commit was asked for; work still staged in it is
	// work the client sent before the discharge (see barrier).
	discharging bool
	// staged are the peek-lock deliveries settled in the transaction, to
	// forget once it commits.
	staged []stagedDelivery
}

type stagedDelivery struct {
	s  *session
	id frames.DeliveryNumber
}

// add registers e under a new txn-id; false when the connection holds
// maxOpenTxns already.
func (t *txnTable) add(e *txnEntry) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.m) >= maxOpenTxns {
		return false
	}
	if t.m == nil {
		t.m = make(map[string]*txnEntry)
	}
	t.next++
	e.id = []byte("txn:" + strconv.FormatUint(t.next, 10))
	t.m[string(e.id)] = e
	return true
}

func (t *txnTable) get(id []byte) *txnEntry {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[string(id)]
}

// discharge marks transaction id as being discharged and returns it; nil
// when it is unknown or already being discharged. With remove it also
// leaves the table.
func (t *txnTable) discharge(id []byte, remove bool) *txnEntry {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.m[string(id)]
	if e == nil || e.discharging {
		return nil
	}
	e.discharging = true
	if remove {
		delete(t.m, string(id))
	}
	return e
}

// remove drops e from the table.
func (t *txnTable) remove(e *txnEntry) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m[string(e.id)] == e {
		delete(t.m, string(e.id))
	}
}

// noteStaged records a delivery settled in transaction e.
func (t *txnTable) noteStaged(e *txnEntry, s *session, id frames.DeliveryNumber) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e.staged = append(e.staged, stagedDelivery{s, id})
}

// dropOwned rolls back every transaction declared on coordinator link l.
func (t *txnTable) dropOwned(l *link) {
	t.mu.Lock()
	var drop []*txnEntry
	for k, e := range t.m {
		if e.owner == l && !e.discharging { // a commit under way goes on
			drop = append(drop, e)
			delete(t.m, k)
		}
	}
	t.mu.Unlock()
	for _, e := range drop {
		_ = e.tx.Rollback()
	}
}

// txnError is an error of the transaction layer.
func txnError(cond frames.Condition, format string, args ...any) *frames.Error {
	return &frames.Error{Condition: cond, Description: fmt.Sprintf(format, args...)}
}

func unknownTxn(id []byte) *frames.Error {
	return txnError(frames.ErrCondTransactionUnknownID, "transaction %q is not declared on this connection (or was discharged)", id)
}

// txnStageError maps an error of staging into a transaction: the
// transaction's own state becomes a transaction condition.
func txnStageError(err error) *frames.Error {
	switch err {
	case broker.ErrTxnTimedOut:
		return txnError(frames.ErrCondTransactionTimeout, "%s", err.(*broker.Error).Message)
	case broker.ErrTxnDischarged:
		return txnError(frames.ErrCondTransactionUnknownID, "%s", err.(*broker.Error).Message)
	}
	return amqpError(err)
}

// attachCoordinator answers the attach of a coordinator link.
func (s *session) attachCoordinator(a *frames.Attach, l *link) {
	if a.Role != frames.RoleSender {
		s.rejectAttach(a, l, txnError(frames.ErrCondNotAllowed, "a coordinator link must be attached by the client as sender"))
		return
	}
	l.coord = true
	mms := s.c.cfg.MaxMessageSize
	reply := &frames.Attach{
		Name:           a.Name,
		Handle:         l.handle,
		Role:           frames.RoleReceiver,
		SndSettleMode:  a.SndSettleMode,
		RcvSettleMode:  a.RcvSettleMode,
		Source:         a.Source,
		Coordinator:    &frames.Coordinator{Capabilities: []frames.Symbol{"amqp:local-transactions"}},
		MaxMessageSize: &mms,
	}
	if reply.Source == nil {
		reply.Source = &frames.Source{}
	}
	l.rcvSecond = a.RcvSettleMode != nil && *a.RcvSettleMode == frames.ReceiverSettleSecond
	if !s.write(reply, nil) {
		l.stop()
		return
	}
	l.topUp()
}

// onControl handles a declare or discharge sent to the coordinator.
func (l *link) onControl(d *inDelivery) {
	desc, fields, err := parseControl(d.buf)
	d.buf = nil
	if err != nil {
		l.settleIncoming(d, frames.Rejected{Error: txnError(frames.ErrCondDecodeError, "%v", err)})
		return
	}
	c := l.s.c
	switch desc {
	case descDeclare:
		if len(fields) > 0 && fields[0] != nil {
			l.settleIncoming(d, frames.Rejected{Error: txnError(frames.ErrCondNotImplemented, "distributed transactions (declare with a global-id) are not supported")})
			return
		}
		tr, ok := c.cfg.Broker.(broker.Transactor)
		if !ok {
			l.settleIncoming(d, frames.Rejected{Error: &frames.Error{Condition: frames.ErrCondNotImplemented, Description: descNoTxns}})
			return
		}
		e := &txnEntry{tx: tr.BeginTx(broker.TxnOptions{}), owner: l}
		if !c.txns.add(e) {
			l.settleIncoming(d, frames.Rejected{Error: txnError(frames.ErrCondResourceLimitExceeded,
				"the connection holds %d open transactions already; discharge some first", maxOpenTxns)})
			return
		}
		l.settleIncoming(d, frames.Declared{TxnID: e.id})
	case descDischarge:
		var id []byte
		if len(fields) > 0 {
			id, _ = fields[0].([]byte)
		}
		if id == nil {
			l.settleIncoming(d, frames.Rejected{Error: txnError(frames.ErrCondInvalidField, "discharge without a txn-id")})
			return
		}
		fail := false
		if len(fields) > 1 {
			fail, _ = fields[1].(bool)
		}
		e := c.txns.discharge(id, fail)
		if e == nil {
			l.settleIncoming(d, frames.Rejected{Error: unknownTxn(id)})
			return
		}
		if fail {
			_ = e.tx.Rollback()
			l.settleIncoming(d, frames.Accepted{})
			return
		}
		l.inflight++
		ctx := c.srv.ctx
		l.s.goFunc(func() {
			// Work sent on other sessions before the discharge is staged
			// first; the transaction stays findable until then.
			c.barrier(l.s)
			c.txns.remove(e)
			err := e.tx.Commit(ctx)
			if err == nil {
				forgetStaged(e.staged)
			}
			l.s.post(func() { l.onDischarged(d, err) })
		})
	default:
		l.settleIncoming(d, frames.Rejected{Error: txnError(frames.ErrCondNotAllowed, "the coordinator takes declare and discharge messages only")})
	}
}

// onDischarged answers a commit.
func (l *link) onDischarged(d *inDelivery, err error) {
	l.inflight--
	switch {
	case err == nil:
		l.settleIncoming(d, frames.Accepted{})
	case err == broker.ErrTxnTimedOut:
		l.settleIncoming(d, frames.Rejected{Error: txnError(frames.ErrCondTransactionTimeout, "the transaction timed out and was rolled back")})
	default:
		l.settleIncoming(d, frames.Rejected{Error: txnError(frames.ErrCondTransactionRollback, "the transaction was rolled back: %v", err)})
	}
	l.topUp()
	l.s.checkIdle()
}

// txnBarrier is a pseudo-frame queued behind the frames a session has
// been handed; the session closes done when it reaches it.
type txnBarrier struct{ done chan struct{} }

func (*txnBarrier) Descriptor() uint64 { return 0 }

func (*txnBarrier) AppendTo(*encoding.Buffer) error {
	return errors.New("amqp: a transaction barrier is never sent")
}

// barrier waits until every session of c but except has handled the frames
// the reader handed it so far (or has ended).
func (c *conn) barrier(except *session) {
	c.mu.Lock()
	live := make([]*session, 0, len(c.live))
	for s := range c.live {
		if s != except {
			live = append(live, s)
		}
	}
	c.mu.Unlock()
	for _, s := range live {
		b := &txnBarrier{done: make(chan struct{})}
		s.deliver(frames.Frame{Body: b})
		select {
		case <-b.done:
		case <-s.done:
		case <-c.quit:
		}
	}
}

// forgetStaged drops the unsettled records of deliveries a committed
// transaction settled: their locks are gone.
func forgetStaged(staged []stagedDelivery) {
	by := make(map[*session][]frames.DeliveryNumber)
	for _, sd := range staged {
		by[sd.s] = append(by[sd.s], sd.id)
	}
	for s, ids := range by {
		s.post(func() {
			for _, id := range ids {
				if u := s.unsettled[id]; u != nil && u.txn != "" {
					delete(s.unsettled, id)
				}
			}
		})
	}
}

// parseControl decodes a coordinator message: its amqp-value body must be
// a described list (declare or discharge).
func parseControl(payload []byte) (uint64, []any, error) {
	view, err := encoding.ParseMessage(payload)
	if err != nil {
		return 0, nil, err
	}
	v, ok, err := view.Value()
	if err != nil {
		return 0, nil, err
	}
	if !ok {
		return 0, nil, fmt.Errorf("the control message has no amqp-value body")
	}
	dv, ok := v.(encoding.Described)
	if !ok {
		return 0, nil, fmt.Errorf("the control message body is %T, not a described list", v)
	}
	var code uint64
	switch x := dv.Descriptor.(type) {
	case uint64:
		code = x
	case encoding.Symbol:
		switch x {
		case "amqp:declare:list":
			code = descDeclare
		case "amqp:discharge:list":
			code = descDischarge
		}
	}
	if code != descDeclare && code != descDischarge {
		return 0, nil, fmt.Errorf("unknown control message %v", dv.Descriptor)
	}
	fields, _ := dv.Value.([]any)
	if dv.Value != nil && fields == nil {
		return 0, nil, fmt.Errorf("the control message value is %T, not a list", dv.Value)
	}
	return code, fields, nil
}

// txnIDOf returns the txn-id of a transactional-state, or nil.
func txnIDOf(st frames.DeliveryState) []byte {
	if ts, ok := st.(frames.TransactionalState); ok {
		return bytes.Clone(ts.TxnID)
	}
	return nil
}

// sendInTxn stages a client's transactional transfer.
func (l *link) sendInTxn(d *inDelivery, msgs []*broker.Message) {
	e := l.s.c.txns.get(d.txnID)
	if e == nil {
		l.settleIncoming(d, frames.Rejected{Error: unknownTxn(d.txnID)})
		return
	}
	if err := e.tx.Send(l.s.c.srv.ctx, l.path, msgs); err != nil {
		l.s.c.log.Debug("amqp: transactional send refused", "path", l.path, "err", err)
		l.settleIncoming(d, frames.TransactionalState{TxnID: d.txnID, Outcome: frames.Rejected{Error: txnStageError(err)}})
		return
	}
	l.settleIncoming(d, frames.TransactionalState{TxnID: d.txnID, Outcome: frames.Accepted{}})
}

// onTxnDisposition stages the settlement of peek-lock deliveries in the
// transaction named by the client's transactional-state.
func (s *session) onTxnDisposition(d *frames.Disposition, ts frames.TransactionalState) {
	if d.Role != frames.RoleReceiver {
		return
	}
	id := bytes.Clone(ts.TxnID)
	first, last := d.First, d.LastID()
	var ids []frames.DeliveryNumber
	if span := uint32(last - first); uint64(span) < uint64(len(s.unsettled)) {
		for did := first; ; did++ {
			if s.unsettled[did] != nil {
				ids = append(ids, did)
			}
			if did == last {
				break
			}
		}
	} else {
		for did := range s.unsettled {
			if uint32(did-first) <= span {
				ids = append(ids, did)
			}
		}
		slices.Sort(ids)
	}
	if len(ids) == 0 {
		return
	}
	e := s.c.txns.get(id)
	reply := func(did frames.DeliveryNumber, st frames.DeliveryState) {
		if !d.Settled {
			s.write(&frames.Disposition{Role: frames.RoleSender, First: did, Settled: true, State: st}, nil)
		}
	}
	for _, did := range ids {
		u := s.unsettled[did]
		if e == nil {
			if d.Settled {
				delete(s.unsettled, did) // the client is done with it
			}
			reply(did, frames.Rejected{Error: unknownTxn(id)})
			continue
		}
		// Staging the same delivery twice in one transaction is refused
		// by the broker (lock lost: already settled in this transaction).
		st := settlementOf(ts.Outcome) // no outcome: release, refused below
		err := e.tx.Settle(s.c.srv.ctx, u.path, u.token, st)
		if err != nil {
			reply(did, frames.TransactionalState{TxnID: id, Outcome: frames.Rejected{Error: txnStageError(err)}})
			continue
		}
		u.txn = string(id)
		s.c.txns.noteStaged(e, s, did)
		reply(did, frames.TransactionalState{TxnID: id, Outcome: confirmState(ts.Outcome, st, nil)})
	}
}

// sendVia returns the destination of a send-via link (empty: none),
// resolved and checked like any target.
func (s *session) sendVia(ctx context.Context, req *AttachRequest) (string, error) {
	v, ok := req.Properties.Lookup(transferDestination)
	if !ok {
		return "", nil
	}
	dest, _ := v.(string)
	if dest == "" {
		return "", txnError(frames.ErrCondInvalidField, "%s must be a non-empty string", transferDestination)
	}
	r := *req
	r.Address = dest
	node, err := s.c.cfg.Resolver.Resolve(ctx, &r)
	if err != nil {
		return "", err
	}
	n, ok := node.(*EntityNode)
	if !ok {
		return "", txnError(frames.ErrCondNotAllowed, "send-via destination %q is not an entity", dest)
	}
	if _, dlq := splitDeadLetter(n.Path); dlq {
		return "", txnError(frames.ErrCondNotAllowed, "send-via destination %q is a dead-letter sub-queue", dest)
	}
	return n.Path, nil
}
