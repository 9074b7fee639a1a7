package servicebus_test

// End-to-end tests with the real Go SDK (azservicebus v1.11.0): the AMQP
// server of internal/amqp, with this package's Management and CBS plugged
// into its $management and $cbs nodes through small adapters (the lead's
// wiring will replace them). The management adapter resolves
// associated-link-name into the link's session lock with ConnInfo.Link.

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"github.com/batonmq/baton/internal/amqp"
	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/servicebus"
	"github.com/batonmq/baton/internal/store/memstore"
)

type cbsKey struct{}

// sdkEnv runs the AMQP server on 127.0.0.1:0 with the real clock.
type sdkEnv struct {
	t      *testing.T
	broker *broker.Broker
	addr   string
}

func newSDKEnv(t *testing.T, keys map[string]string) *sdkEnv {
	t.Helper()
	ctx := context.Background()
	b, err := broker.New(broker.Config{Store: memstore.New(), Clock: clock.Real{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Open(ctx); err != nil {
		t.Fatal(err)
	}
	mgmt, err := servicebus.NewManagement(servicebus.Config{Broker: b, Clock: clock.Real{}})
	if err != nil {
		t.Fatal(err)
	}
	resolver := &amqp.DefaultResolver{
		Broker: b,
		CBS: func(ctx context.Context, req *amqp.Request) *amqp.Response {
			c, _ := req.Conn.Value(cbsKey{}).(*servicebus.CBS)
			if c == nil {
				c = servicebus.NewCBS(servicebus.CBSConfig{Keys: keys, Clock: clock.Real{}, Broker: b})
				req.Conn.SetValue(cbsKey{}, c)
			}
			return amqp.ServiceBusResponse(c.PutToken(amqp.ServiceBusRequest(req)))
		},
		Management: func(ctx context.Context, req *amqp.Request) *amqp.Response {
			return amqp.ServiceBusResponse(mgmt.Handle(ctx, amqp.ServiceBusRequest(req)))
		},
	}
	srv, err := amqp.NewServer(amqp.Config{Broker: b, Clock: clock.Real{}, Resolver: resolver})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-served
		b.Close()
	})
	return &sdkEnv{t: t, broker: b, addr: ln.Addr().String()}
}

func (e *sdkEnv) client(keyName, key string) *azservicebus.Client {
	e.t.Helper()
	cs := "Endpoint=sb://" + e.addr + ";SharedAccessKeyName=" + keyName + ";SharedAccessKey=" + key + ";UseDevelopmentEmulator=true"
	c, err := azservicebus.NewClientFromConnectionString(cs, &azservicebus.ClientOptions{
		RetryOptions: azservicebus.RetryOptions{MaxRetries: 1, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 50 * time.Millisecond},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

func (e *sdkEnv) queue(name string) {
	e.t.Helper()
	if _, err := e.broker.CreateQueue(context.Background(), name, broker.QueueProperties{}); err != nil {
		e.t.Fatal(err)
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestSDKManagementOperations(t *testing.T) {
	e := newSDKEnv(t, nil)
	e.queue("q")
	ctx := ctxT(t)
	c := e.client("k", "v")
	sender, err := c.NewSender("q", nil)
	if err != nil {
		t.Fatal(err)
	}
	receiver, err := c.NewReceiverForQueue("q", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"one", "two", "three"} {
		if err := sender.SendMessage(ctx, &azservicebus.Message{Body: []byte(body),
			ApplicationProperties: map[string]any{"n": int64(len(body))}}, nil); err != nil {
			t.Fatal(err)
		}
	}

	// PeekMessages pages through the entity in sequence order.
	peeked, err := receiver.PeekMessages(ctx, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(peeked) != 2 || *peeked[0].SequenceNumber != 1 || string(peeked[1].Body) != "two" || peeked[0].ApplicationProperties["n"] != int64(3) {
		t.Fatalf("first peek page: %d messages", len(peeked))
	}
	peeked, err = receiver.PeekMessages(ctx, 10, nil)
	if err != nil || len(peeked) != 1 || *peeked[0].SequenceNumber != 3 {
		t.Fatalf("second peek page: %v %v", peeked, err)
	}
	peeked, err = receiver.PeekMessages(ctx, 10, nil)
	if err != nil || len(peeked) != 0 {
		t.Fatalf("third peek page: %v %v", peeked, err)
	}

	// Receive, renew, defer, receive deferred, complete through management.
	msgs, err := receiver.ReceiveMessages(ctx, 3, nil)
	if err != nil || len(msgs) == 0 {
		t.Fatalf("receive: %v %v", msgs, err)
	}
	first := msgs[0]
	before := *first.LockedUntil
	time.Sleep(20 * time.Millisecond)
	if err := receiver.RenewMessageLock(ctx, first, nil); err != nil {
		t.Fatalf("RenewMessageLock: %v", err)
	}
	if !first.LockedUntil.After(before) {
		t.Fatalf("LockedUntil %v not after %v", first.LockedUntil, before)
	}
	if err := receiver.DeferMessage(ctx, first, nil); err != nil {
		t.Fatal(err)
	}
	deferred, err := receiver.ReceiveDeferredMessages(ctx, []int64{*first.SequenceNumber}, nil)
	if err != nil || len(deferred) != 1 {
		t.Fatalf("ReceiveDeferredMessages: %v %v", deferred, err)
	}
	d := deferred[0]
	if d.State != azservicebus.MessageStateDeferred || string(d.Body) != "one" || d.LockToken == [16]byte{} {
		t.Fatalf("deferred message: state %v body %q", d.State, d.Body)
	}
	if err := receiver.CompleteMessage(ctx, d, nil); err != nil {
		t.Fatalf("complete deferred: %v", err)
	}
	// A deferred message that is gone: CodeNotFound, no retries.
	_, err = receiver.ReceiveDeferredMessages(ctx, []int64{*first.SequenceNumber}, nil)
	var sbErr *azservicebus.Error
	if !errors.As(err, &sbErr) || sbErr.Code != azservicebus.CodeNotFound {
		t.Fatalf("ReceiveDeferredMessages of a completed message: %v", err)
	}
	// Completing it again: the lock is lost.
	err = receiver.CompleteMessage(ctx, d, nil)
	if !errors.As(err, &sbErr) || sbErr.Code != azservicebus.CodeLockLost {
		t.Fatalf("second complete: %v", err)
	}
	for _, m := range msgs[1:] {
		if err := receiver.CompleteMessage(ctx, m, nil); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSDKScheduleAndCancel(t *testing.T) {
	e := newSDKEnv(t, nil)
	e.queue("q")
	ctx := ctxT(t)
	c := e.client("k", "v")
	sender, err := c.NewSender("q", nil)
	if err != nil {
		t.Fatal(err)
	}
	receiver, err := c.NewReceiverForQueue("q", nil)
	if err != nil {
		t.Fatal(err)
	}
	seqs, err := sender.ScheduleMessages(ctx, []*azservicebus.Message{{Body: []byte("later")}, {Body: []byte("sooner")}},
		time.Now().Add(time.Hour), nil)
	if err != nil || len(seqs) != 2 {
		t.Fatalf("ScheduleMessages: %v %v", seqs, err)
	}
	peeked, err := receiver.PeekMessages(ctx, 10, nil)
	if err != nil || len(peeked) != 2 || peeked[0].State != azservicebus.MessageStateScheduled || peeked[0].ScheduledEnqueueTime == nil {
		t.Fatalf("peek scheduled: %v %v", peeked, err)
	}
	if err := sender.CancelScheduledMessages(ctx, []int64{seqs[0]}, nil); err != nil {
		t.Fatalf("CancelScheduledMessages: %v", err)
	}
	// Schedule in the past: delivered at once.
	if _, err := sender.ScheduleMessages(ctx, []*azservicebus.Message{{Body: []byte("now")}}, time.Now().Add(-time.Second), nil); err != nil {
		t.Fatal(err)
	}
	msgs, err := receiver.ReceiveMessages(ctx, 1, nil)
	if err != nil || len(msgs) != 1 || string(msgs[0].Body) != "now" {
		t.Fatalf("receive: %v %v", msgs, err)
	}
	if err := receiver.CompleteMessage(ctx, msgs[0], nil); err != nil {
		t.Fatal(err)
	}
	info, err := e.broker.GetEntity("q")
	if err != nil {
		t.Fatal(err)
	}
	if info.Counts.Scheduled != 1 || info.Counts.Active != 0 {
		t.Fatalf("counts %+v", info.Counts)
	}
}

func TestSDKDeadLetterPeek(t *testing.T) {
	e := newSDKEnv(t, nil)
	e.queue("q")
	ctx := ctxT(t)
	c := e.client("k", "v")
	sender, _ := c.NewSender("q", nil)
	receiver, _ := c.NewReceiverForQueue("q", nil)
	if err := sender.SendMessage(ctx, &azservicebus.Message{Body: []byte("bad")}, nil); err != nil {
		t.Fatal(err)
	}
	msgs, err := receiver.ReceiveMessages(ctx, 1, nil)
	if err != nil || len(msgs) != 1 {
		t.Fatal(err)
	}
	reason, desc := "poison", "cannot parse"
	if err := receiver.DeadLetterMessage(ctx, msgs[0], &azservicebus.DeadLetterOptions{Reason: &reason, ErrorDescription: &desc}); err != nil {
		t.Fatal(err)
	}
	dlq, err := c.NewReceiverForQueue("q", &azservicebus.ReceiverOptions{SubQueue: azservicebus.SubQueueDeadLetter})
	if err != nil {
		t.Fatal(err)
	}
	peeked, err := dlq.PeekMessages(ctx, 10, nil)
	if err != nil || len(peeked) != 1 {
		t.Fatalf("peek DLQ: %v %v", peeked, err)
	}
	p := peeked[0]
	if *p.DeadLetterReason != reason || *p.DeadLetterErrorDescription != desc || p.DeadLetterSource != nil {
		t.Fatalf("dead-letter fields %q %q %v", *p.DeadLetterReason, *p.DeadLetterErrorDescription, p.DeadLetterSource)
	}
}

func TestSDKCBS(t *testing.T) {
	e := newSDKEnv(t, map[string]string{"RootManageSharedAccessKey": "s3cret"})
	e.queue("q")
	ctx := ctxT(t)

	good := e.client("RootManageSharedAccessKey", "s3cret")
	sender, _ := good.NewSender("q", nil)
	if err := sender.SendMessage(ctx, &azservicebus.Message{Body: []byte("x")}, nil); err != nil {
		t.Fatalf("send with a valid key: %v", err)
	}
	receiver, _ := good.NewReceiverForQueue("q", nil)
	if peeked, err := receiver.PeekMessages(ctx, 1, nil); err != nil || len(peeked) != 1 {
		t.Fatalf("peek with a valid key: %v %v", peeked, err)
	}

	// A queue that does not exist: CodeNotFound from the CBS step.
	missing, _ := good.NewSender("nope", nil)
	err := missing.SendMessage(ctx, &azservicebus.Message{Body: []byte("x")}, nil)
	var sbErr *azservicebus.Error
	if !errors.As(err, &sbErr) || sbErr.Code != azservicebus.CodeNotFound {
		t.Fatalf("send to a missing queue: %v", err)
	}

	// A wrong key: CodeUnauthorizedAccess.
	bad := e.client("RootManageSharedAccessKey", "wrong")
	badSender, _ := bad.NewSender("q", nil)
	err = badSender.SendMessage(ctx, &azservicebus.Message{Body: []byte("x")}, nil)
	if !errors.As(err, &sbErr) || sbErr.Code != azservicebus.CodeUnauthorizedAccess {
		t.Fatalf("send with a wrong key: %v", err)
	}
}

// The adapters above must carry every field; this guards them against a
// silent change of the server's types.
func TestAdapterCarriesFields(t *testing.T) {
	req := amqp.ServiceBusRequest(&amqp.Request{Node: "q/$DeadLetterQueue/$management", Operation: "op", HasBody: true, Body: encoding.Map{{Key: "k", Value: "v"}},
		AppProperties: encoding.Map{{Key: "associated-link-name", Value: "link"}}})
	if req.Entity != "q/$DeadLetterQueue" || req.AssociatedLinkName != "link" || req.Body == nil {
		t.Fatalf("%+v", req)
	}
}

func TestSDKSessions(t *testing.T) {
	e := newSDKEnv(t, nil)
	if _, err := e.broker.CreateQueue(context.Background(), "s", broker.QueueProperties{RequiresSession: true}); err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	c := e.client("k", "v")
	sender, _ := c.NewSender("s", nil)
	for _, sid := range []string{"alpha", "beta", "alpha", "gamma"} {
		if err := sender.SendMessage(ctx, &azservicebus.Message{Body: []byte("to " + sid), SessionID: &sid}, nil); err != nil {
			t.Fatal(err)
		}
	}

	// v1.11's session listing.
	var ids []string
	pager := c.NewListSessionsForQueuePager("s", nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("list sessions: %v", err)
		}
		ids = append(ids, page.Sessions...)
	}
	if strings.Join(ids, ",") != "alpha,beta,gamma" {
		t.Fatalf("sessions %v", ids)
	}

	sr, err := c.AcceptSessionForQueue(ctx, "s", "alpha", nil)
	if err != nil {
		t.Fatal(err)
	}
	state, err := sr.GetSessionState(ctx, nil)
	if err != nil || state != nil {
		t.Fatalf("GetSessionState without state: %q %v", state, err)
	}
	if err := sr.SetSessionState(ctx, []byte(`{"step":1}`), nil); err != nil {
		t.Fatalf("SetSessionState: %v", err)
	}
	state, err = sr.GetSessionState(ctx, nil)
	if err != nil || string(state) != `{"step":1}` {
		t.Fatalf("GetSessionState: %q %v", state, err)
	}
	before := sr.LockedUntil()
	time.Sleep(20 * time.Millisecond)
	if err := sr.RenewSessionLock(ctx, nil); err != nil {
		t.Fatalf("RenewSessionLock: %v", err)
	}
	if !sr.LockedUntil().After(before) {
		t.Fatalf("LockedUntil %v not after %v", sr.LockedUntil(), before)
	}
	// Peek is scoped to the session through associated-link-name.
	peeked, err := sr.PeekMessages(ctx, 10, nil)
	if err != nil || len(peeked) != 2 || *peeked[0].SessionID != "alpha" || *peeked[1].SessionID != "alpha" {
		t.Fatalf("session peek: %d %v", len(peeked), err)
	}
	msgs, err := sr.ReceiveMessages(ctx, 2, nil)
	if err != nil || len(msgs) == 0 {
		t.Fatalf("session receive: %v %v", msgs, err)
	}
	if err := sr.DeferMessage(ctx, msgs[0], nil); err != nil {
		t.Fatal(err)
	}
	deferred, err := sr.ReceiveDeferredMessages(ctx, []int64{*msgs[0].SequenceNumber}, nil)
	if err != nil || len(deferred) != 1 {
		t.Fatalf("session ReceiveDeferredMessages: %v %v", deferred, err)
	}
	if err := sr.CompleteMessage(ctx, deferred[0], nil); err != nil {
		t.Fatalf("complete deferred session message: %v", err)
	}
	for _, m := range msgs[1:] {
		if err := sr.CompleteMessage(ctx, m, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := sr.Close(ctx); err != nil {
		t.Fatal(err)
	}
}
