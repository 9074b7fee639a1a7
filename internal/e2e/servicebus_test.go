package e2e

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus/admin"

	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/config"
	"github.com/batonmq/baton/internal/server"
)

// These tests use only the public azservicebus and azservicebus/admin APIs,
// as an application would, against Baton on loopback.

func sbCode(err error) azservicebus.Code {
	var se *azservicebus.Error
	if errors.As(err, &se) {
		return se.Code
	}
	return ""
}

func bodies(msgs []*azservicebus.ReceivedMessage) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = string(m.Body)
	}
	return out
}

func TestSBSendReceiveSettle(t *testing.T) {
	e := startSB(t, config.Default())
	e.queue("orders", nil)
	c := ctx(t)
	sender, err := e.client.NewSender("orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sender.SendMessage(c, &azservicebus.Message{Body: []byte("one")}, nil); err != nil {
		t.Fatal(err)
	}
	batch, err := sender.NewMessageBatch(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"two", "three", "four"} {
		if err := batch.AddMessage(&azservicebus.Message{Body: []byte(b)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := sender.SendMessageBatch(c, batch, nil); err != nil {
		t.Fatal(err)
	}
	recv, err := e.client.NewReceiverForQueue("orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []*azservicebus.ReceivedMessage
	for len(got) < 4 {
		msgs, err := recv.ReceiveMessages(c, 4-len(got), nil)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, msgs...)
	}
	if !slices.Equal(bodies(got), []string{"one", "two", "three", "four"}) {
		t.Fatalf("received %v", bodies(got))
	}
	for i, m := range got {
		if m.SequenceNumber == nil || *m.SequenceNumber != int64(i+1) || m.EnqueuedTime == nil || m.LockedUntil == nil ||
			m.DeliveryCount != 1 || m.LockToken == [16]byte{} {
			t.Fatalf("message %d broker fields: seq %v enq %v locked %v count %d", i, m.SequenceNumber, m.EnqueuedTime, m.LockedUntil, m.DeliveryCount)
		}
	}
	if err := recv.CompleteMessage(c, got[0], nil); err != nil {
		t.Fatal(err)
	}
	if err := recv.AbandonMessage(c, got[1], &azservicebus.AbandonMessageOptions{PropertiesToModify: map[string]any{"tries": int64(1)}}); err != nil {
		t.Fatal(err)
	}
	if err := recv.DeadLetterMessage(c, got[2], &azservicebus.DeadLetterOptions{Reason: to.Ptr("bad"), ErrorDescription: to.Ptr("it was bad"),
		PropertiesToModify: map[string]any{"why": "test"}}); err != nil {
		t.Fatal(err)
	}
	if err := recv.DeferMessage(c, got[3], nil); err != nil {
		t.Fatal(err)
	}
	again, err := recv.ReceiveMessages(c, 1, nil)
	if err != nil || len(again) != 1 || string(again[0].Body) != "two" || again[0].DeliveryCount != 2 || again[0].ApplicationProperties["tries"] != int64(1) {
		t.Fatalf("abandoned message again: %+v, %v", again, err)
	}
	if err := recv.CompleteMessage(c, again[0], nil); err != nil {
		t.Fatal(err)
	}
	deferred, err := recv.ReceiveDeferredMessages(c, []int64{*got[3].SequenceNumber}, nil)
	if err != nil || len(deferred) != 1 || string(deferred[0].Body) != "four" {
		t.Fatalf("ReceiveDeferredMessages = %+v, %v", deferred, err)
	}
	if err := recv.CompleteMessage(c, deferred[0], nil); err != nil {
		t.Fatal(err)
	}
	dlq, err := e.client.NewReceiverForQueue("orders", &azservicebus.ReceiverOptions{SubQueue: azservicebus.SubQueueDeadLetter})
	if err != nil {
		t.Fatal(err)
	}
	d, err := dlq.ReceiveMessages(c, 1, nil)
	if err != nil || len(d) != 1 || string(d[0].Body) != "three" || d[0].DeadLetterReason == nil || *d[0].DeadLetterReason != "bad" ||
		d[0].DeadLetterErrorDescription == nil || *d[0].DeadLetterErrorDescription != "it was bad" || d[0].ApplicationProperties["why"] != "test" {
		t.Fatalf("dead-lettered = %+v, %v", d, err)
	}
	if err := dlq.CompleteMessage(c, d[0], nil); err != nil {
		t.Fatal(err)
	}
	props, err := e.admin.GetQueueRuntimeProperties(c, "orders", nil)
	if err != nil || props.TotalMessageCount != 0 {
		t.Fatalf("runtime properties = %+v, %v", props, err)
	}
}

func TestSBProperties(t *testing.T) {
	e := startSB(t, config.Default())
	e.queue("props", nil)
	c := ctx(t)
	sender, _ := e.client.NewSender("props", nil)
	when := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	in := &azservicebus.Message{
		Body: []byte("payload"), MessageID: to.Ptr("mid"), ContentType: to.Ptr("application/json"), CorrelationID: to.Ptr("cid"),
		Subject: to.Ptr("subj"), To: to.Ptr("dest"), ReplyTo: to.Ptr("reply"), ReplyToSessionID: to.Ptr("rsid"),
		TimeToLive: to.Ptr(time.Hour),
		ApplicationProperties: map[string]any{
			"s": "str", "i": int64(-5), "i32": int32(7), "u8": uint8(9), "f": 1.25, "b": true, "t": when, "bin": []byte{1, 2, 3},
		},
	}
	if err := sender.SendMessage(c, in, nil); err != nil {
		t.Fatal(err)
	}
	recv, _ := e.client.NewReceiverForQueue("props", &azservicebus.ReceiverOptions{ReceiveMode: azservicebus.ReceiveModeReceiveAndDelete})
	msgs, err := recv.ReceiveMessages(c, 1, nil)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("receive: %v, %v", msgs, err)
	}
	m := msgs[0]
	if string(m.Body) != "payload" || m.MessageID != "mid" || *m.ContentType != "application/json" || *m.CorrelationID != "cid" ||
		*m.Subject != "subj" || *m.To != "dest" || *m.ReplyTo != "reply" || *m.ReplyToSessionID != "rsid" || *m.TimeToLive != time.Hour {
		t.Fatalf("system properties = %+v", m)
	}
	p := m.ApplicationProperties
	if p["s"] != "str" || p["i"] != int64(-5) || p["i32"] != int32(7) || p["u8"] != uint8(9) || p["f"] != 1.25 || p["b"] != true ||
		!p["t"].(time.Time).Equal(when) || string(p["bin"].([]byte)) != "\x01\x02\x03" {
		t.Fatalf("application properties = %#v", p)
	}
	if m.ExpiresAt == nil || !m.ExpiresAt.Equal(m.EnqueuedTime.Add(time.Hour)) {
		t.Fatalf("ExpiresAt = %v, EnqueuedTime %v", m.ExpiresAt, m.EnqueuedTime)
	}
}

func TestSBPeekRenewSchedule(t *testing.T) {
	e := startSB(t, config.Default())
	e.queue("q", nil)
	c := ctx(t)
	sender, _ := e.client.NewSender("q", nil)
	for _, b := range []string{"a", "b", "c"} {
		if err := sender.SendMessage(c, &azservicebus.Message{Body: []byte(b)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	seqs, err := sender.ScheduleMessages(c, []*azservicebus.Message{{Body: []byte("later")}, {Body: []byte("cancelled")}},
		time.Now().Add(time.Hour), nil)
	if err != nil || len(seqs) != 2 {
		t.Fatalf("ScheduleMessages = %v, %v", seqs, err)
	}
	if err := sender.CancelScheduledMessages(c, seqs[1:], nil); err != nil {
		t.Fatal(err)
	}
	recv, _ := e.client.NewReceiverForQueue("q", nil)
	peeked, err := recv.PeekMessages(c, 10, nil)
	if err != nil || !slices.Equal(bodies(peeked), []string{"a", "b", "c", "later"}) {
		t.Fatalf("peek = %v, %v", bodies(peeked), err)
	}
	if peeked[3].State != azservicebus.MessageStateScheduled || peeked[3].ScheduledEnqueueTime == nil {
		t.Fatalf("scheduled peek = %+v", peeked[3])
	}
	from, err := recv.PeekMessages(c, 10, &azservicebus.PeekMessagesOptions{FromSequenceNumber: to.Ptr(int64(2))})
	if err != nil || !slices.Equal(bodies(from), []string{"b", "c", "later"}) {
		t.Fatalf("peek from 2 = %v, %v", bodies(from), err)
	}
	msgs, _ := recv.ReceiveMessages(c, 1, nil)
	before := *msgs[0].LockedUntil
	if err := recv.RenewMessageLock(c, msgs[0], nil); err != nil {
		t.Fatal(err)
	}
	if !msgs[0].LockedUntil.After(before) && !msgs[0].LockedUntil.Equal(before) {
		t.Fatalf("LockedUntil went back: %v → %v", before, *msgs[0].LockedUntil)
	}
	if err := recv.CompleteMessage(c, msgs[0], nil); err != nil {
		t.Fatal(err)
	}
}

func TestSBSessions(t *testing.T) {
	e := startSB(t, config.Default())
	e.queue("sess", &admin.QueueProperties{RequiresSession: to.Ptr(true)})
	c := ctx(t)
	sender, _ := e.client.NewSender("sess", nil)
	for _, m := range []struct{ sid, body string }{{"A", "a1"}, {"B", "b1"}, {"A", "a2"}} {
		if err := sender.SendMessage(c, &azservicebus.Message{SessionID: to.Ptr(m.sid), Body: []byte(m.body)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	ra, err := e.client.AcceptSessionForQueue(c, "sess", "A", nil)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := ra.ReceiveMessages(c, 2, nil)
	if err != nil || !slices.Equal(bodies(msgs), []string{"a1", "a2"}) {
		t.Fatalf("session A = %v, %v", bodies(msgs), err)
	}
	for _, m := range msgs {
		if err := ra.CompleteMessage(c, m, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := ra.SetSessionState(c, []byte(`{"step":2}`), nil); err != nil {
		t.Fatal(err)
	}
	st, err := ra.GetSessionState(c, nil)
	if err != nil || string(st) != `{"step":2}` {
		t.Fatalf("state = %q, %v", st, err)
	}
	if err := ra.RenewSessionLock(c, nil); err != nil {
		t.Fatal(err)
	}
	rb, err := e.client.AcceptNextSessionForQueue(c, "sess", nil)
	if err != nil || rb.SessionID() != "B" {
		t.Fatalf("next session = %v, %v", rb, err)
	}
	pager := e.client.NewListSessionsForQueuePager("sess", nil)
	var ids []string
	for pager.More() {
		page, err := pager.NextPage(c)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, page.Sessions...)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"A", "B"}) {
		t.Fatalf("sessions = %v", ids)
	}
	ra.Close(c)
	rb.Close(c)
}

func TestSBDeadLetterByDeliveryCountAndTTL(t *testing.T) {
	e := startSB(t, config.Default())
	e.queue("md", &admin.QueueProperties{MaxDeliveryCount: to.Ptr(int32(2))})
	e.queue("ttl", &admin.QueueProperties{DeadLetteringOnMessageExpiration: to.Ptr(true)})
	c := ctx(t)
	s1, _ := e.client.NewSender("md", nil)
	s1.SendMessage(c, &azservicebus.Message{Body: []byte("poison")}, nil)
	r1, _ := e.client.NewReceiverForQueue("md", nil)
	for range 2 {
		msgs, err := r1.ReceiveMessages(c, 1, nil)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("receive: %v, %v", msgs, err)
		}
		if err := r1.AbandonMessage(c, msgs[0], nil); err != nil {
			t.Fatal(err)
		}
	}
	d1, _ := e.client.NewReceiverForQueue("md", &azservicebus.ReceiverOptions{SubQueue: azservicebus.SubQueueDeadLetter})
	msgs, err := d1.ReceiveMessages(c, 1, nil)
	if err != nil || len(msgs) != 1 || *msgs[0].DeadLetterReason != "MaxDeliveryCountExceeded" {
		t.Fatalf("DLQ by delivery count = %+v, %v", msgs, err)
	}
	s2, _ := e.client.NewSender("ttl", nil)
	s2.SendMessage(c, &azservicebus.Message{Body: []byte("short"), TimeToLive: to.Ptr(time.Second)}, nil)
	d2, _ := e.client.NewReceiverForQueue("ttl", &azservicebus.ReceiverOptions{SubQueue: azservicebus.SubQueueDeadLetter})
	msgs, err = d2.ReceiveMessages(c, 1, nil) // waits for the expiry (1 s)
	if err != nil || len(msgs) != 1 || *msgs[0].DeadLetterReason != "TTLExpiredException" {
		t.Fatalf("DLQ by TTL = %+v, %v", msgs, err)
	}
}

func TestSBErrors(t *testing.T) {
	e := startSB(t, config.Default())
	e.queue("small", &admin.QueueProperties{MaxMessageSizeInKilobytes: to.Ptr(int64(1))})
	c := ctx(t)
	sender, _ := e.client.NewSender("small", nil)
	err := sender.SendMessage(c, &azservicebus.Message{Body: make([]byte, 4096)}, nil)
	if err == nil {
		t.Fatal("a 4 KB message to a 1 KB queue was accepted")
	}
	t.Logf("oversized: %v", err)
	missing, _ := e.client.NewSender("missing", nil)
	err = missing.SendMessage(c, &azservicebus.Message{Body: []byte("x")}, nil)
	if sbCode(err) != azservicebus.CodeNotFound {
		t.Fatalf("send to a missing queue = %v; want CodeNotFound", err)
	}
	r, _ := e.client.NewReceiverForQueue("missing", nil)
	if _, err := r.ReceiveMessages(c, 1, nil); sbCode(err) != azservicebus.CodeNotFound {
		t.Fatalf("receive from a missing queue = %v; want CodeNotFound", err)
	}
}

func TestSBWrongKey(t *testing.T) {
	cfg := config.Default()
	cfg.Keys = map[string]string{"RootManageSharedAccessKey": "right-key"}
	e := startSB(t, cfg)
	e.connect("right-key")
	e.queue("q", nil)
	c := ctx(t)
	good, _ := e.client.NewSender("q", nil)
	if err := good.SendMessage(c, &azservicebus.Message{Body: []byte("x")}, nil); err != nil {
		t.Fatalf("right key: %v", err)
	}
	e.connect("wrong-key")
	bad, _ := e.client.NewSender("q", nil)
	err := bad.SendMessage(c, &azservicebus.Message{Body: []byte("x")}, nil)
	if sbCode(err) != azservicebus.CodeUnauthorizedAccess {
		t.Fatalf("wrong key = %v; want CodeUnauthorizedAccess", err)
	}
}

// TestSBSessionStateAcrossRestarts: a session processor keeps its state in
// the session and finds it after Baton restarts on its durable store.
func TestSBSessionStateAcrossRestarts(t *testing.T) {
	e := startSB(t, config.Default())
	e.queue("wf", &admin.QueueProperties{RequiresSession: to.Ptr(true)})
	c := ctx(t)
	sender, _ := e.client.NewSender("wf", nil)
	for i := range 3 {
		body := []byte{byte('0' + i)}
		if err := sender.SendMessage(c, &azservicebus.Message{SessionID: to.Ptr("order-7"), Body: body}, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Process one message per Baton lifetime, keeping a running sum in the
	// session state.
	for step := range 3 {
		r, err := e.client.AcceptSessionForQueue(c, "wf", "order-7", nil)
		if err != nil {
			t.Fatalf("step %d: accept: %v", step, err)
		}
		st, err := r.GetSessionState(c, nil)
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := r.ReceiveMessages(c, 1, nil)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("step %d: receive: %v, %v", step, msgs, err)
		}
		st = append(st, msgs[0].Body...)
		if err := r.SetSessionState(c, st, nil); err != nil {
			t.Fatal(err)
		}
		if err := r.CompleteMessage(c, msgs[0], nil); err != nil {
			t.Fatal(err)
		}
		r.Close(c)
		e.restart()
	}
	r, err := e.client.AcceptSessionForQueue(c, "wf", "order-7", nil)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := r.GetSessionState(c, nil)
	if string(st) != "012" {
		t.Fatalf("state after restarts = %q; want 012", st)
	}
}

// TestSBLockLost: a lock that expires (on Baton's fake clock) makes the
// settlement fail with CodeLockLost, and the message is redelivered with
// its delivery count raised.
func TestSBLockLost(t *testing.T) {
	fake := clock.NewFake(time.Now())
	e := startSBWith(t, config.Default(), server.Options{Clock: fake})
	e.queue("locks", &admin.QueueProperties{LockDuration: to.Ptr("PT5S")})
	c := ctx(t)
	sender, _ := e.client.NewSender("locks", nil)
	if err := sender.SendMessage(c, &azservicebus.Message{Body: []byte("slow")}, nil); err != nil {
		t.Fatal(err)
	}
	recv, _ := e.client.NewReceiverForQueue("locks", nil)
	msgs, err := recv.ReceiveMessages(c, 1, nil)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("receive: %v, %v", msgs, err)
	}
	fake.Advance(6 * time.Second)
	if err := recv.CompleteMessage(c, msgs[0], nil); sbCode(err) != azservicebus.CodeLockLost {
		t.Fatalf("complete after the lock expired = %v; want CodeLockLost", err)
	}
	if err := recv.RenewMessageLock(c, msgs[0], nil); sbCode(err) != azservicebus.CodeLockLost {
		t.Fatalf("renew after the lock expired = %v; want CodeLockLost", err)
	}
	again, err := recv.ReceiveMessages(c, 1, nil)
	if err != nil || len(again) != 1 || again[0].DeliveryCount != 2 {
		t.Fatalf("redelivery = %+v, %v", again, err)
	}
	if err := recv.CompleteMessage(c, again[0], nil); err != nil {
		t.Fatal(err)
	}
}
