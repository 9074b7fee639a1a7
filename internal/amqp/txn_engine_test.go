package amqp

import (
	"strings"
	"testing"
	"time"

	goamqp "github.com/Azure/go-amqp"

	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/amqp/frames"
	"github.com/batonmq/baton/internal/broker"
)

// engineOnly is a broker engine without transactions: embedding the
// interface leaves only Engine's methods, so BeginTx is hidden.
type engineOnly struct{ broker.Engine }

// TestTxnEngineWithoutTransactor: on an engine that is not a
// broker.Transactor, the coordinator attaches but a declare is rejected
// with amqp:not-implemented; the connection stays usable, and go-amqp
// clients send and receive through the engine as usual.
func TestTxnEngineWithoutTransactor(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, envOptions{cfg: func(c *Config) {
		c.Broker = engineOnly{c.Broker}
	}})
	if _, ok := env.srv.cfg.Broker.(broker.Transactor); ok {
		t.Fatal("the server's engine is a Transactor; the test would prove nothing")
	}
	env.queue("in", broker.QueueProperties{LockDuration: 30 * time.Second})
	env.queue("out", broker.QueueProperties{})

	c := newTxnClient(t, env)
	d := c.transfer(0, &encoding.Message{Value: encoding.Described{Descriptor: encoding.Symbol("amqp:declare:list"), Value: []any{nil}}, HasValue: true}, nil)
	wantRejected(t, d.State, frames.ErrCondNotImplemented)
	if desc := d.State.(frames.Rejected).Error.Description; !strings.Contains(desc, "transactions are not available on this engine") {
		t.Errorf("declare rejected with description %q", desc)
	}
	// No transaction was opened (the id the first declare would get is
	// unknown), and plain work goes on.
	wantRejected(t, c.sendOut([]byte("txn:1"), "staged"), frames.ErrCondTransactionUnknownID)
	if st := c.sendOut(nil, "plain"); st.Descriptor() != frames.DescAccepted {
		t.Fatalf("plain send after the rejected declare answered %+v", st)
	}
	if n := env.counts("out").Active; n != 1 {
		t.Fatalf("out holds %d active messages, want 1", n)
	}

	// go-amqp over the same engine.
	sess := env.session(env.dial(nil))
	snd, err := sess.NewSender(env.tctx(), "in", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := snd.Send(env.tctx(), goamqp.NewMessage([]byte("hello")), nil); err != nil {
		t.Fatal(err)
	}
	rcv, err := sess.NewReceiver(env.tctx(), "in", &goamqp.ReceiverOptions{Credit: 1})
	if err != nil {
		t.Fatal(err)
	}
	m, err := rcv.Receive(env.tctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.GetData()) != "hello" {
		t.Fatalf("received %q", m.GetData())
	}
	if err := rcv.AcceptMessage(env.tctx(), m); err != nil {
		t.Fatal(err)
	}
}
