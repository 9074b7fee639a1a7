package amqp

import (
	"bytes"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/amqp/frames"
	"github.com/batonmq/baton/internal/broker"
)

// txnClient is a raw client with a coordinator link (handle 0), a
// peek-lock receiver on "in" (handle 1) and a sender to "out" (handle 2).
type txnClient struct {
	*rawClient
	t      *testing.T
	nextID frames.DeliveryNumber // the client's next delivery id
}

func newTxnClient(t *testing.T, env *testEnv) *txnClient {
	c := &txnClient{rawClient: dialRaw(t, env.addr), t: t}
	c.open(nil)
	c.begin()
	r := c.attach(&frames.Attach{Name: "coord", Handle: 0, Role: frames.RoleSender,
		Source: &frames.Source{}, Coordinator: &frames.Coordinator{Capabilities: []frames.Symbol{"amqp:local-transactions"}}})
	if r.Coordinator == nil || r.Target != nil {
		t.Fatalf("coordinator attach reply %+v", r)
	}
	c.wantFlow(0)
	c.attach(&frames.Attach{Name: "in", Handle: 1, Role: frames.RoleReceiver, Source: &frames.Source{Address: "in"}, Target: &frames.Target{}})
	c.attach(&frames.Attach{Name: "out", Handle: 2, Role: frames.RoleSender, Source: &frames.Source{}, Target: &frames.Target{Address: "out"}})
	c.wantFlow(2)
	return c
}

// wantFlow reads frames up to a flow for handle h.
func (c *txnClient) wantFlow(h frames.Handle) {
	c.t.Helper()
	for {
		if f, ok := c.next().(*frames.Flow); ok && f.HasHandle && f.Handle == h {
			return
		}
	}
}

// disposition reads frames up to the next disposition.
func (c *txnClient) disposition() *frames.Disposition {
	c.t.Helper()
	for {
		switch b := c.next().(type) {
		case *frames.Disposition:
			return b
		case *frames.Flow:
		default:
			c.t.Fatalf("unexpected %T %+v", b, b)
		}
	}
}

// transfer sends one message on handle h with state st and returns the
// server's disposition of it.
func (c *txnClient) transfer(h frames.Handle, m *encoding.Message, st frames.DeliveryState) *frames.Disposition {
	c.t.Helper()
	payload, err := encoding.AppendMessage(nil, m)
	if err != nil {
		c.t.Fatal(err)
	}
	id := c.nextID
	c.nextID++
	c.send(0, &frames.Transfer{Handle: h, DeliveryID: id, HasDeliveryID: true, DeliveryTag: []byte{byte(id)},
		MessageFormat: 0, HasMessageFormat: true, State: st}, payload)
	d := c.disposition()
	if d.First != id || !d.Settled {
		c.t.Fatalf("disposition %+v for delivery %d", d, id)
	}
	return d
}

func (c *txnClient) declare() []byte {
	c.t.Helper()
	d := c.transfer(0, &encoding.Message{Value: encoding.Described{Descriptor: encoding.Symbol("amqp:declare:list"), Value: []any{nil}}, HasValue: true}, nil)
	dec, ok := d.State.(frames.Declared)
	if !ok || len(dec.TxnID) == 0 {
		c.t.Fatalf("declare answered %+v", d.State)
	}
	return dec.TxnID
}

func (c *txnClient) discharge(id []byte, fail bool) frames.DeliveryState {
	c.t.Helper()
	return c.transfer(0, &encoding.Message{Value: encoding.Described{Descriptor: uint64(0x32), Value: []any{id, fail}}, HasValue: true}, nil).State
}

func (c *txnClient) sendOut(id []byte, body string) frames.DeliveryState {
	c.t.Helper()
	var st frames.DeliveryState
	if id != nil {
		st = frames.TransactionalState{TxnID: id}
	}
	return c.transfer(2, &encoding.Message{Data: [][]byte{[]byte(body)}}, st).State
}

// receive grants one credit on "in" and returns the delivery id.
func (c *txnClient) receive(credit uint32) frames.DeliveryNumber {
	c.t.Helper()
	c.send(0, &frames.Flow{NextIncomingID: 0, HasNextIncomingID: true, IncomingWindow: 5000, NextOutgoingID: frames.TransferNumber(c.nextID),
		OutgoingWindow: 5000, Handle: 1, HasHandle: true, DeliveryCount: 0, HasDeliveryCount: true, LinkCredit: credit, HasLinkCredit: true}, nil)
	for {
		switch b := c.next().(type) {
		case *frames.Transfer:
			if b.Handle != 1 || !b.HasDeliveryID {
				c.t.Fatalf("transfer %+v", b)
			}
			return b.DeliveryID
		case *frames.Flow:
		default:
			c.t.Fatalf("unexpected %T", b)
		}
	}
}

// settle sends the client's disposition of delivery id and returns the
// server's answer.
func (c *txnClient) settle(id frames.DeliveryNumber, st frames.DeliveryState) frames.DeliveryState {
	c.t.Helper()
	c.send(0, &frames.Disposition{Role: frames.RoleReceiver, First: id, State: st}, nil)
	d := c.disposition()
	if d.First != id || d.Role != frames.RoleSender || !d.Settled {
		c.t.Fatalf("answer %+v", d)
	}
	return d.State
}

func wantTxnOutcome(t *testing.T, st frames.DeliveryState, id []byte, outcome frames.DeliveryState) {
	t.Helper()
	ts, ok := st.(frames.TransactionalState)
	if !ok || !bytes.Equal(ts.TxnID, id) || ts.Outcome == nil || ts.Outcome.Descriptor() != outcome.Descriptor() {
		t.Fatalf("state %+v; want transactional-state(%q, %T)", st, id, outcome)
	}
}

func wantRejected(t *testing.T, st frames.DeliveryState, cond frames.Condition) {
	t.Helper()
	r, ok := st.(frames.Rejected)
	if !ok || r.Error == nil || r.Error.Condition != cond {
		t.Fatalf("state %+v; want rejected with %s", st, cond)
	}
}

func txnEnv(t *testing.T) *testEnv {
	// No idle timeout: the tests move the fake clock by minutes.
	env := newTestEnv(t, envOptions{cfg: func(c *Config) {
		c.IdleTimeout = -1
		// The tests advance the fake clock by minutes; a server write that
		// is still returning at that moment must not look stuck.
		c.WriteTimeout = 1000 * time.Hour
	}})
	env.queue("in", broker.QueueProperties{LockDuration: 30 * time.Second})
	env.queue("out", broker.QueueProperties{})
	if _, err := env.broker.Send(env.ctx, "in", []*broker.Message{{Body: []byte("orig")}}); err != nil {
		t.Fatal(err)
	}
	return env
}

func TestTxnCommitRaw(t *testing.T) {
	t.Parallel()
	env := txnEnv(t)
	c := newTxnClient(t, env)
	dl := c.receive(1)
	id := c.declare()
	wantTxnOutcome(t, c.sendOut(id, "new"), id, frames.Accepted{})
	wantTxnOutcome(t, c.settle(dl, frames.TransactionalState{TxnID: id, Outcome: frames.Accepted{}}), id, frames.Accepted{})
	if n := env.counts("in").Active; n != 1 {
		t.Fatalf("in holds %d before the commit; want 1", n)
	}
	if n := env.counts("out").Active; n != 0 {
		t.Fatalf("out holds %d before the commit; want 0", n)
	}
	if st := c.discharge(id, false); st.Descriptor() != frames.DescAccepted {
		t.Fatalf("commit answered %+v", st)
	}
	if a, b := env.counts("in").Active, env.counts("out").Active; a != 0 || b != 1 {
		t.Fatalf("after commit: in %d out %d; want 0 1", a, b)
	}
	// The id is gone: a second discharge, or work in it, is unknown-id.
	wantRejected(t, c.discharge(id, false), frames.ErrCondTransactionUnknownID)
	wantRejected(t, c.sendOut(id, "late"), frames.ErrCondTransactionUnknownID)
	// Non-transactional work still works on the same links.
	if st := c.sendOut(nil, "plain"); st.Descriptor() != frames.DescAccepted {
		t.Fatalf("plain send answered %+v", st)
	}
}

func TestTxnRollbackRaw(t *testing.T) {
	t.Parallel()
	env := txnEnv(t)
	c := newTxnClient(t, env)
	dl := c.receive(1)
	id := c.declare()
	c.sendOut(id, "new")
	c.settle(dl, frames.TransactionalState{TxnID: id, Outcome: frames.Accepted{}})
	if st := c.discharge(id, true); st.Descriptor() != frames.DescAccepted {
		t.Fatalf("rollback answered %+v", st)
	}
	if a, b := env.counts("in").Active, env.counts("out").Active; a != 1 || b != 0 {
		t.Fatalf("after rollback: in %d out %d; want 1 0", a, b)
	}
	// The client still holds the lock and releases it: the original is
	// available again at once.
	if st := c.settle(dl, frames.Released{}); st.Descriptor() != frames.DescReleased {
		t.Fatalf("release answered %+v", st)
	}
	msgs, err := env.broker.Receive(env.ctx, "in", broker.ReceiveOptions{Mode: broker.PeekLock})
	if err != nil || len(msgs) != 1 || string(msgs[0].Body) != "orig" {
		t.Fatalf("redelivery: %v %v", msgs, err)
	}
}

func TestTxnFailuresRaw(t *testing.T) {
	t.Parallel()
	env := txnEnv(t)
	c := newTxnClient(t, env)
	wantRejected(t, c.discharge([]byte("txn:none"), false), frames.ErrCondTransactionUnknownID)
	wantRejected(t, c.sendOut([]byte("txn:none"), "x"), frames.ErrCondTransactionUnknownID)

	// The lock ends before the commit: the commit rolls back, nothing sent.
	dl := c.receive(1)
	id := c.declare()
	c.sendOut(id, "new")
	c.settle(dl, frames.TransactionalState{TxnID: id, Outcome: frames.Accepted{}})
	env.fake.Advance(31 * time.Second)
	wantRejected(t, c.discharge(id, false), frames.ErrCondTransactionRollback)
	if a, b := env.counts("in").Active, env.counts("out").Active; a != 1 || b != 0 {
		t.Fatalf("after failed commit: in %d out %d; want 1 0", a, b)
	}

	// A transaction open longer than its timeout.
	id = c.declare()
	c.sendOut(id, "new")
	env.fake.Advance(broker.DefaultTxnTimeout + time.Second)
	wantRejected(t, c.discharge(id, false), frames.ErrCondTransactionTimeout)
	if n := env.counts("out").Active; n != 0 {
		t.Fatalf("out holds %d after a timed-out commit", n)
	}

	// A bad message inside a transaction is refused inside it.
	env.queue("small", broker.QueueProperties{MaxMessageSizeInKilobytes: 1})
	c.attach(&frames.Attach{Name: "small", Handle: 3, Role: frames.RoleSender, Source: &frames.Source{}, Target: &frames.Target{Address: "small"}})
	c.wantFlow(3)
	id = c.declare()
	st := c.transfer(3, &encoding.Message{Data: [][]byte{make([]byte, 2000)}}, frames.TransactionalState{TxnID: id})
	ts, ok := st.State.(frames.TransactionalState)
	if !ok {
		t.Fatalf("oversized transactional send answered %+v", st.State)
	}
	wantRejected(t, ts.Outcome, frames.ErrCondMessageSizeExceeded)
	// Distributed transactions are not supported.
	d := c.transfer(0, &encoding.Message{Value: encoding.Described{Descriptor: uint64(0x31), Value: []any{[]byte("global")}}, HasValue: true}, nil)
	wantRejected(t, d.State, frames.ErrCondNotImplemented)
}

// TestTxnCoordinatorDetachRollsBack: transactions die with the link that
// declared them.
func TestTxnCoordinatorDetachRollsBack(t *testing.T) {
	t.Parallel()
	env := txnEnv(t)
	c := newTxnClient(t, env)
	id := c.declare()
	c.sendOut(id, "new")
	c.send(0, &frames.Detach{Handle: 0, Closed: true}, nil)
	for {
		if d, ok := c.next().(*frames.Detach); ok && d.Handle == 0 {
			break
		}
	}
	c.attach(&frames.Attach{Name: "coord2", Handle: 0, Role: frames.RoleSender,
		Source: &frames.Source{}, Coordinator: &frames.Coordinator{}})
	c.wantFlow(0)
	wantRejected(t, c.discharge(id, false), frames.ErrCondTransactionUnknownID)
	if n := env.counts("out").Active; n != 0 {
		t.Fatalf("out holds %d", n)
	}
}

// TestSendVia: a sender attached to a via entity with
// com.microsoft:transfer-destination-address stores in the destination.
func TestSendVia(t *testing.T) {
	t.Parallel()
	env := txnEnv(t)
	c := newTxnClient(t, env)
	props := encoding.Map{{Key: encoding.Symbol(transferDestination), Value: "out"}}
	c.attach(&frames.Attach{Name: "via", Handle: 3, Role: frames.RoleSender, Source: &frames.Source{},
		Target: &frames.Target{Address: "in"}, Properties: props})
	c.wantFlow(3)
	id := c.declare()
	wantTxnOutcome(t, c.transfer(3, &encoding.Message{Data: [][]byte{[]byte("v")}}, frames.TransactionalState{TxnID: id}).State, id, frames.Accepted{})
	if st := c.discharge(id, false); st.Descriptor() != frames.DescAccepted {
		t.Fatalf("commit answered %+v", st)
	}
	if a, b := env.counts("in").Active, env.counts("out").Active; a != 1 || b != 1 {
		t.Fatalf("in %d out %d; want 1 1 (the via entity keeps nothing)", a, b)
	}
	// A destination that does not exist refuses the attach.
	props = encoding.Map{{Key: encoding.Symbol(transferDestination), Value: "missing"}}
	c.send(0, &frames.Attach{Name: "via2", Handle: 4, Role: frames.RoleSender, Source: &frames.Source{},
		Target: &frames.Target{Address: "in"}, Properties: props}, nil)
	for {
		if d, ok := c.next().(*frames.Detach); ok {
			if d.Handle != 4 || d.Error == nil || d.Error.Condition != frames.ErrCondNotFound {
				t.Fatalf("detach %+v", d)
			}
			break
		}
	}
}

// TestTxnOpenLimitRaw: a connection holds at most maxOpenTxns open
// transactions; a discharge makes room again.
func TestTxnOpenLimitRaw(t *testing.T) {
	t.Parallel()
	env := txnEnv(t)
	c := newTxnClient(t, env)
	var first []byte
	for i := range maxOpenTxns {
		id := c.declare()
		if i == 0 {
			first = id
		}
	}
	d := c.transfer(0, &encoding.Message{Value: encoding.Described{Descriptor: uint64(0x31), Value: []any{}}, HasValue: true}, nil)
	wantRejected(t, d.State, frames.ErrCondResourceLimitExceeded)
	if st := c.discharge(first, true); st.Descriptor() != frames.DescAccepted {
		t.Fatalf("rollback answered %+v", st)
	}
	c.declare()
}

// TestTxnDispositionErrorsRaw: settlements that cannot be staged are
// answered inside the transaction (or with unknown-id) and change nothing.
func TestTxnDispositionErrorsRaw(t *testing.T) {
	t.Parallel()
	env := txnEnv(t)
	c := newTxnClient(t, env)
	dl := c.receive(1)
	wantRejected(t, c.settle(dl, frames.TransactionalState{TxnID: []byte("txn:none"), Outcome: frames.Accepted{}}),
		frames.ErrCondTransactionUnknownID)
	id := c.declare()
	st := c.settle(dl, frames.TransactionalState{TxnID: id, Outcome: frames.Released{}})
	ts, ok := st.(frames.TransactionalState)
	if !ok {
		t.Fatalf("release in a transaction answered %+v", st)
	}
	wantRejected(t, ts.Outcome, frames.ErrCondNotAllowed)
	wantTxnOutcome(t, c.settle(dl, frames.TransactionalState{TxnID: id, Outcome: frames.Accepted{}}), id, frames.Accepted{})
	st = c.settle(dl, frames.TransactionalState{TxnID: id, Outcome: frames.Rejected{}})
	if ts, ok = st.(frames.TransactionalState); !ok {
		t.Fatalf("second settlement answered %+v", st)
	}
	wantRejected(t, ts.Outcome, frames.ErrCondMessageLockLost)
	if st := c.discharge(id, false); st.Descriptor() != frames.DescAccepted {
		t.Fatalf("commit answered %+v", st)
	}
	// Completed once, as the first staged settlement said.
	if cn := env.counts("in"); cn.Total() != 0 {
		t.Fatalf("in after commit: %+v", cn)
	}
}

// TestTxnAcrossSessionsRaw: a settlement sent on one session and a
// discharge sent right after it on another, without waiting in between,
// commit together (the discharge waits for the other sessions' earlier
// frames).
func TestTxnAcrossSessionsRaw(t *testing.T) {
	t.Parallel()
	env := txnEnv(t)
	c := newTxnClient(t, env)
	c.send(1, &frames.Begin{NextOutgoingID: 0, IncomingWindow: 5000, OutgoingWindow: 5000}, nil)
	for {
		if _, ok := c.next().(*frames.Begin); ok {
			break
		}
	}
	c.send(1, &frames.Attach{Name: "in2", Handle: 0, Role: frames.RoleReceiver, Source: &frames.Source{Address: "in"}, Target: &frames.Target{}}, nil)
	for {
		if _, ok := c.next().(*frames.Attach); ok {
			break
		}
	}
	c.send(1, &frames.Flow{NextIncomingID: 0, HasNextIncomingID: true, IncomingWindow: 5000, NextOutgoingID: 0,
		OutgoingWindow: 5000, Handle: 0, HasHandle: true, DeliveryCount: 0, HasDeliveryCount: true, LinkCredit: 1, HasLinkCredit: true}, nil)
	var dl frames.DeliveryNumber
	for {
		if tr, ok := c.next().(*frames.Transfer); ok {
			dl = tr.DeliveryID
			break
		}
	}
	id := c.declare()
	c.send(1, &frames.Disposition{Role: frames.RoleReceiver, First: dl, Settled: true,
		State: frames.TransactionalState{TxnID: id, Outcome: frames.Accepted{}}}, nil)
	if st := c.discharge(id, false); st.Descriptor() != frames.DescAccepted {
		t.Fatalf("commit answered %+v", st)
	}
	if cn := env.counts("in"); cn.Total() != 0 {
		t.Fatalf("in after commit: %+v; the settlement on the other session was missed", cn)
	}
}

// TestTxnManagementRefusedRaw: a $management request inside a transaction
// is refused, not run outside it.
func TestTxnManagementRefusedRaw(t *testing.T) {
	t.Parallel()
	env := txnEnv(t)
	c := newTxnClient(t, env)
	c.attach(&frames.Attach{Name: "mgmt", Handle: 3, Role: frames.RoleSender, Source: &frames.Source{},
		Target: &frames.Target{Address: "in/$management"}})
	c.wantFlow(3)
	id := c.declare()
	d := c.transfer(3, &encoding.Message{ApplicationProperties: encoding.Map{{Key: "operation", Value: "com.microsoft:schedule-message"}},
		Value: encoding.Map{}, HasValue: true}, frames.TransactionalState{TxnID: id})
	wantRejected(t, d.State, frames.ErrCondNotImplemented)
}
