package pgbroker

// End-to-end tests with the real Go SDK (azservicebus) over real sockets:
// two AMQP servers, each with its own Engine on one schema, as two Baton
// nodes sharing Service Bus entities. Clients send on one node and receive
// on the other.

import (
	"context"
	"errors"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"github.com/batonmq/baton/internal/amqp"
	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/servicebus"
	"github.com/batonmq/baton/internal/store/pgstore/pgtest"
)

type cbsKey struct{}

// node is one AMQP server over its own Engine.
type node struct {
	eng  *Engine
	addr string
}

// newNodes starts n servers, each with its own Engine, on one new schema.
func newNodes(t *testing.T, n int) []*node {
	t.Helper()
	schema := pgtest.Shared(t).NewSchema(t)
	var out []*node
	for i := range n {
		e := open(t, schema, Config{Node: "node" + string(rune('a'+i))})
		mgmt, err := servicebus.NewManagement(servicebus.Config{Broker: e, Clock: clock.Real{}})
		if err != nil {
			t.Fatal(err)
		}
		resolver := &amqp.DefaultResolver{
			Broker: e,
			CBS: func(ctx context.Context, req *amqp.Request) *amqp.Response {
				c, _ := req.Conn.Value(cbsKey{}).(*servicebus.CBS)
				if c == nil {
					c = servicebus.NewCBS(servicebus.CBSConfig{Clock: clock.Real{}, Broker: e})
					req.Conn.SetValue(cbsKey{}, c)
				}
				return amqp.ServiceBusResponse(c.PutToken(amqp.ServiceBusRequest(req)))
			},
			Management: func(ctx context.Context, req *amqp.Request) *amqp.Response {
				return amqp.ServiceBusResponse(mgmt.Handle(ctx, amqp.ServiceBusRequest(req)))
			},
		}
		srv, err := amqp.NewServer(amqp.Config{Broker: e, Clock: clock.Real{}, Resolver: resolver})
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ln) }()
		t.Cleanup(func() { // before the Engine's own cleanup
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = srv.Shutdown(ctx)
			<-served
		})
		out = append(out, &node{eng: e, addr: ln.Addr().String()})
	}
	return out
}

func (n *node) client(t *testing.T) *azservicebus.Client {
	t.Helper()
	cs := "Endpoint=sb://" + n.addr + ";SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true"
	c, err := azservicebus.NewClientFromConnectionString(cs, &azservicebus.ClientOptions{
		RetryOptions: azservicebus.RetryOptions{MaxRetries: 1, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 50 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

func sdkCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func bodies(msgs []*azservicebus.ReceivedMessage) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, string(m.Body))
	}
	return out
}

// receiveN receives until n messages came (the SDK returns what it has).
func receiveN(ctx context.Context, t *testing.T, r *azservicebus.Receiver, n int) []*azservicebus.ReceivedMessage {
	t.Helper()
	var out []*azservicebus.ReceivedMessage
	for len(out) < n {
		got, err := r.ReceiveMessages(ctx, n-len(out), nil)
		if err != nil {
			t.Fatalf("ReceiveMessages: %v (after %q)", err, bodies(out))
		}
		out = append(out, got...)
	}
	return out
}

func TestSDKTwoNodesQueue(t *testing.T) {
	ctx := sdkCtx(t)
	nodes := newNodes(t, 2)
	if _, err := nodes[0].eng.CreateQueue(ctx, "q", broker.QueueProperties{MaxDeliveryCount: 3}); err != nil {
		t.Fatal(err)
	}
	ca, cb := nodes[0].client(t), nodes[1].client(t)
	sender, err := ca.NewSender("q", nil)
	if err != nil {
		t.Fatal(err)
	}
	recv, err := cb.NewReceiverForQueue("q", nil)
	if err != nil {
		t.Fatal(err)
	}
	// A receive waiting on B gets a message sent on A.
	got := make(chan []*azservicebus.ReceivedMessage, 1)
	go func() {
		m, err := recv.ReceiveMessages(ctx, 1, nil)
		if err != nil {
			t.Error(err)
		}
		got <- m
	}()
	if err := sender.SendMessage(ctx, &azservicebus.Message{Body: []byte("one"), ApplicationProperties: map[string]any{"k": "v"}}, nil); err != nil {
		t.Fatal(err)
	}
	first := within(t, got, time.Minute, "receive on B")
	if len(first) != 1 || string(first[0].Body) != "one" || first[0].ApplicationProperties["k"] != "v" || *first[0].SequenceNumber != 1 {
		t.Fatalf("received %+v", first)
	}
	if err := recv.CompleteMessage(ctx, first[0], nil); err != nil {
		t.Fatal(err)
	}
	// Abandon counts; dead-letter with a reason; the DLQ on the other node.
	batch, err := sender.NewMessageBatch(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"two", "three", "four", "five"} {
		if err := batch.AddMessage(&azservicebus.Message{Body: []byte(b)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := sender.SendMessageBatch(ctx, batch, nil); err != nil {
		t.Fatal(err)
	}
	msgs := receiveN(ctx, t, recv, 4)
	if !slices.Equal(bodies(msgs), []string{"two", "three", "four", "five"}) {
		t.Fatalf("batch: %q", bodies(msgs))
	}
	if err := recv.AbandonMessage(ctx, msgs[0], &azservicebus.AbandonMessageOptions{PropertiesToModify: map[string]any{"tries": int64(1)}}); err != nil {
		t.Fatal(err)
	}
	reason, desc := "bad", "it was bad"
	if err := recv.DeadLetterMessage(ctx, msgs[1], &azservicebus.DeadLetterOptions{Reason: &reason, ErrorDescription: &desc}); err != nil {
		t.Fatal(err)
	}
	// Renew a lock; defer a message and take it back by number.
	if err := recv.RenewMessageLock(ctx, msgs[2], nil); err != nil {
		t.Fatalf("RenewMessageLock: %v", err)
	}
	if err := recv.DeferMessage(ctx, msgs[2], nil); err != nil {
		t.Fatal(err)
	}
	if err := recv.CompleteMessage(ctx, msgs[3], nil); err != nil {
		t.Fatal(err)
	}
	recvA, err := ca.NewReceiverForQueue("q", nil)
	if err != nil {
		t.Fatal(err)
	}
	again := receiveN(ctx, t, recvA, 1)
	if string(again[0].Body) != "two" || again[0].DeliveryCount != 2 || // the SDK counts this delivery too
		again[0].ApplicationProperties["tries"] != int64(1) {
		t.Fatalf("after abandon: %q count %d props %v", again[0].Body, again[0].DeliveryCount, again[0].ApplicationProperties)
	}
	if err := recvA.CompleteMessage(ctx, again[0], nil); err != nil {
		t.Fatal(err)
	}
	// (The SDK settles a message on the link it came from, which ignores a
	// second settlement: ask the other node's engine.)
	if err := nodes[1].eng.Settle(ctx, "q", again[0].LockToken, broker.Settlement{}); broker.CodeOf(err) != broker.CodeLockLost {
		t.Fatalf("a second completion on the other node: %v", err)
	}
	deferred, err := recvA.ReceiveDeferredMessages(ctx, []int64{*msgs[2].SequenceNumber}, nil)
	if err != nil || len(deferred) != 1 || string(deferred[0].Body) != "four" || deferred[0].State != azservicebus.MessageStateDeferred {
		t.Fatalf("ReceiveDeferredMessages: %v %v", deferred, err)
	}
	if err := recvA.CompleteMessage(ctx, deferred[0], nil); err != nil {
		t.Fatal(err)
	}
	dlq, err := ca.NewReceiverForQueue("q", &azservicebus.ReceiverOptions{SubQueue: azservicebus.SubQueueDeadLetter})
	if err != nil {
		t.Fatal(err)
	}
	dl := receiveN(ctx, t, dlq, 1)
	if string(dl[0].Body) != "three" || dl[0].DeadLetterReason == nil || *dl[0].DeadLetterReason != reason ||
		dl[0].DeadLetterErrorDescription == nil || *dl[0].DeadLetterErrorDescription != desc {
		t.Fatalf("dead-lettered: %+v", dl[0])
	}
	if err := dlq.CompleteMessage(ctx, dl[0], nil); err != nil {
		t.Fatal(err)
	}
	// Schedule on A, peek and cancel on B.
	senderB, err := cb.NewSender("q", nil)
	if err != nil {
		t.Fatal(err)
	}
	seqs, err := sender.ScheduleMessages(ctx, []*azservicebus.Message{{Body: []byte("later")}, {Body: []byte("kept")}}, time.Now().Add(time.Hour), nil)
	if err != nil || len(seqs) != 2 {
		t.Fatalf("ScheduleMessages: %v %v", seqs, err)
	}
	peeked, err := recv.PeekMessages(ctx, 10, nil)
	if err != nil || len(peeked) != 2 || peeked[0].State != azservicebus.MessageStateScheduled || *peeked[0].SequenceNumber != seqs[0] {
		t.Fatalf("peek: %v %v", peeked, err)
	}
	if err := senderB.CancelScheduledMessages(ctx, seqs[:1], nil); err != nil {
		t.Fatal(err)
	}
	// Cancelling again is not an error (as in Service Bus: the face skips
	// numbers that are gone).
	if err := senderB.CancelScheduledMessages(ctx, seqs[:1], nil); err != nil {
		t.Fatalf("cancelling twice: %v", err)
	}
	info, err := nodes[1].eng.GetEntity("q")
	if err != nil || info.Scheduled != 1 || info.Active != 0 || info.Deferred != 0 || info.DeadLettered != 0 {
		t.Fatalf("counts: %+v %v", info, err)
	}
	// Scheduled for now: available at once, received on B.
	if _, err := sender.ScheduleMessages(ctx, []*azservicebus.Message{{Body: []byte("now")}}, time.Now().Add(-time.Second), nil); err != nil {
		t.Fatal(err)
	}
	if m := receiveN(ctx, t, recv, 1); string(m[0].Body) != "now" {
		t.Fatalf("scheduled for now: %q", m[0].Body)
	}
}

func TestSDKTwoNodesDuplicateDetection(t *testing.T) {
	ctx := sdkCtx(t)
	nodes := newNodes(t, 2)
	if _, err := nodes[1].eng.CreateQueue(ctx, "dd", broker.QueueProperties{RequiresDuplicateDetection: true, DuplicateDetectionHistoryTimeWindow: time.Hour}); err != nil {
		t.Fatal(err)
	}
	for i, n := range []*node{nodes[0], nodes[1], nodes[0]} {
		s, err := n.client(t).NewSender("dd", nil)
		if err != nil {
			t.Fatal(err)
		}
		id := "same"
		if i == 2 {
			id = "other"
		}
		if err := s.SendMessage(ctx, &azservicebus.Message{Body: []byte(id), MessageID: &id}, nil); err != nil {
			t.Fatal(err)
		}
	}
	r, err := nodes[1].client(t).NewReceiverForQueue("dd", &azservicebus.ReceiverOptions{ReceiveMode: azservicebus.ReceiveModeReceiveAndDelete})
	if err != nil {
		t.Fatal(err)
	}
	got := receiveN(ctx, t, r, 2)
	if !slices.Equal(bodies(got), []string{"same", "other"}) || *got[1].SequenceNumber != 2 {
		t.Fatalf("with duplicate detection: %q", bodies(got))
	}
}

func TestSDKTwoNodesSessions(t *testing.T) {
	ctx := sdkCtx(t)
	nodes := newNodes(t, 2)
	if _, err := nodes[0].eng.CreateQueue(ctx, "s", broker.QueueProperties{RequiresSession: true}); err != nil {
		t.Fatal(err)
	}
	ca, cb := nodes[0].client(t), nodes[1].client(t)
	sender, err := ca.NewSender("s", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct{ sid, body string }{{"x", "x1"}, {"y", "y1"}, {"x", "x2"}, {"x", "x3"}} {
		sid := m.sid
		if err := sender.SendMessage(ctx, &azservicebus.Message{Body: []byte(m.body), SessionID: &sid}, nil); err != nil {
			t.Fatal(err)
		}
	}
	sr, err := cb.AcceptNextSessionForQueue(ctx, "s", nil)
	if err != nil {
		t.Fatal(err)
	}
	if sr.SessionID() != "x" {
		t.Fatalf("next session %q", sr.SessionID())
	}
	// The session is held: the other node cannot take it.
	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	_, err = ca.AcceptSessionForQueue(short, "s", "x", nil)
	cancel()
	var sbErr *azservicebus.Error
	if err == nil || errors.As(err, &sbErr) && sbErr.Code != azservicebus.CodeTimeout && sbErr.Code != azservicebus.CodeLockLost {
		t.Logf("second accept: %v", err)
	}
	if err == nil {
		t.Fatal("a held session was accepted on the other node")
	}
	msgs, err := sr.ReceiveMessages(ctx, 2, nil)
	if err != nil || len(msgs) == 0 || string(msgs[0].Body) != "x1" {
		t.Fatalf("session receive: %q %v", bodies(msgs), err)
	}
	for _, m := range msgs {
		if err := sr.CompleteMessage(ctx, m, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := sr.RenewSessionLock(ctx, nil); err != nil {
		t.Fatalf("RenewSessionLock: %v", err)
	}
	if st, err := sr.GetSessionState(ctx, nil); err != nil || st != nil {
		t.Fatalf("state: %q %v", st, err)
	}
	if err := sr.SetSessionState(ctx, []byte(bodies(msgs)[len(msgs)-1]), nil); err != nil {
		t.Fatal(err)
	}
	if err := sr.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// The other node takes the session over where it was left.
	sa, err := ca.AcceptSessionForQueue(ctx, "s", "x", nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sa.GetSessionState(ctx, nil)
	if err != nil || string(st) != bodies(msgs)[len(msgs)-1] {
		t.Fatalf("state on the other node: %q %v", st, err)
	}
	var rest []string
	for len(msgs)+len(rest) < 3 {
		m, err := sa.ReceiveMessages(ctx, 3, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range m {
			rest = append(rest, string(x.Body))
			if err := sa.CompleteMessage(ctx, x, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if all := append(bodies(msgs), rest...); !slices.Equal(all, []string{"x1", "x2", "x3"}) {
		t.Fatalf("session x in order: %q", all)
	}
	if err := sa.Close(ctx); err != nil {
		t.Fatal(err)
	}
	sy, err := cb.AcceptNextSessionForQueue(ctx, "s", nil)
	if err != nil || sy.SessionID() != "y" {
		t.Fatalf("next session: %v", err)
	}
	if m := sdkReceiveSession(ctx, t, sy); m != "y1" {
		t.Fatalf("session y: %q", m)
	}
}

func sdkReceiveSession(ctx context.Context, t *testing.T, sr *azservicebus.SessionReceiver) string {
	t.Helper()
	for {
		m, err := sr.ReceiveMessages(ctx, 1, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(m) > 0 {
			if err := sr.CompleteMessage(ctx, m[0], nil); err != nil {
				t.Fatal(err)
			}
			return string(m[0].Body)
		}
	}
}
