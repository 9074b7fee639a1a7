package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus/admin"

	"github.com/batonmq/baton/internal/config"
)

// TestSBTopicSubscriptionSessions: a subscription that requires sessions
// gets a topic's messages grouped by session; session receivers, session
// state and the session list work on it as on a queue.
func TestSBTopicSubscriptionSessions(t *testing.T) {
	e := startSB(t, config.Default())
	c := ctx(t)
	e.topic("workflows")
	e.subscription("workflows", "steps", &admin.SubscriptionProperties{RequiresSession: to.Ptr(true)}, nil)
	e.subscription("workflows", "audit", nil, nil)
	sender, err := e.client.NewSender("workflows", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close(c)
	for i, sid := range []string{"A", "B", "A", "B", "A"} {
		if err := sender.SendMessage(c, &azservicebus.Message{SessionID: to.Ptr(sid), Body: []byte(fmt.Sprintf("%s%d", sid, i))}, nil); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	pager := e.client.NewListSessionsForSubscriptionPager("workflows", "steps", nil)
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
	ra, err := e.client.AcceptSessionForSubscription(c, "workflows", "steps", "A", nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []*azservicebus.ReceivedMessage
	for len(got) < 3 {
		msgs, err := ra.ReceiveMessages(c, 3-len(got), nil)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, msgs...)
	}
	if b := bodies(got); !slices.Equal(b, []string{"A0", "A2", "A4"}) {
		t.Fatalf("session A got %v", b)
	}
	for _, m := range got {
		if err := ra.CompleteMessage(c, m, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := ra.SetSessionState(c, []byte("step 3"), nil); err != nil {
		t.Fatal(err)
	}
	if st, err := ra.GetSessionState(c, nil); err != nil || string(st) != "step 3" {
		t.Fatalf("GetSessionState = %q, %v", st, err)
	}
	if err := ra.RenewSessionLock(c, nil); err != nil {
		t.Fatal(err)
	}
	// A second receiver cannot take session A while it is held.
	if _, err := e.client.AcceptSessionForSubscription(c, "workflows", "steps", "A", nil); err == nil {
		t.Fatal("a second receiver accepted a held session")
	}
	if err := ra.Close(c); err != nil {
		t.Fatal(err)
	}
	rn, err := e.client.AcceptNextSessionForSubscription(c, "workflows", "steps", nil)
	if err != nil {
		t.Fatal(err)
	}
	if rn.SessionID() != "B" {
		t.Fatalf("next session %q, want B", rn.SessionID())
	}
	peeked, err := rn.PeekMessages(c, 10, nil)
	if err != nil || len(peeked) != 2 {
		t.Fatalf("peek session B: %d, %v", len(peeked), err)
	}
	// A plain receiver on a session subscription is refused.
	plain, err := e.client.NewReceiverForSubscription("workflows", "steps", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.ReceiveMessages(c, 1, nil); err == nil {
		t.Fatal("a plain receiver received from a session subscription")
	}
	// The subscription without sessions got every message.
	if got := e.receiveAllFrom("workflows", "audit", 5); len(got) != 5 {
		t.Fatalf("audit got %d", len(got))
	}
	// A message without a session id: the send succeeds; the session
	// subscription dead-letters its copy with Service Bus's reason, the
	// other subscription gets it.
	if err := sender.SendMessage(c, &azservicebus.Message{Body: []byte("no session")}, nil); err != nil {
		t.Fatalf("send without a session id: %v", err)
	}
	dlq, err := e.client.NewReceiverForSubscription("workflows", "steps", &azservicebus.ReceiverOptions{SubQueue: azservicebus.SubQueueDeadLetter})
	if err != nil {
		t.Fatal(err)
	}
	defer dlq.Close(c)
	dl, err := dlq.ReceiveMessages(c, 1, nil)
	if err != nil || len(dl) != 1 {
		t.Fatalf("dead-letter receive: %d, %v", len(dl), err)
	}
	if string(dl[0].Body) != "no session" || dl[0].DeadLetterReason == nil || *dl[0].DeadLetterReason != "Session id is null." ||
		dl[0].DeadLetterErrorDescription == nil || *dl[0].DeadLetterErrorDescription != "Session enabled entity doesn't allow a message whose session identifier is null." {
		t.Fatalf("dead-lettered copy: body %q reason %v description %v", dl[0].Body, dl[0].DeadLetterReason, dl[0].DeadLetterErrorDescription)
	}
	if got := e.receiveAllFrom("workflows", "audit", 1); len(got) != 1 || string(got[0].Body) != "no session" {
		t.Fatalf("audit got %v", bodies(got))
	}
}

// TestSBTopicDeadLetter: a subscription's dead-letter queue gets messages
// dead-lettered by the receiver and those past MaxDeliveryCount, with
// their reasons, and is read through the SDK's SubQueueDeadLetter.
func TestSBTopicDeadLetter(t *testing.T) {
	e := startSB(t, config.Default())
	c := ctx(t)
	e.topic("jobs")
	e.subscription("jobs", "workers", &admin.SubscriptionProperties{MaxDeliveryCount: to.Ptr[int32](2)}, nil)
	sender, err := e.client.NewSender("jobs", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close(c)
	for _, b := range []string{"poison", "flaky"} {
		if err := sender.SendMessage(c, &azservicebus.Message{MessageID: to.Ptr(b), Body: []byte(b),
			ApplicationProperties: map[string]any{"kind": b}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	r, err := e.client.NewReceiverForSubscription("jobs", "workers", nil)
	if err != nil {
		t.Fatal(err)
	}
	receive := func() *azservicebus.ReceivedMessage {
		t.Helper()
		msgs, err := r.ReceiveMessages(c, 1, nil)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("receive: %d, %v", len(msgs), err)
		}
		return msgs[0]
	}
	p := receive()
	if p.MessageID != "poison" {
		t.Fatalf("first message %q", p.MessageID)
	}
	if err := r.DeadLetterMessage(c, p, &azservicebus.DeadLetterOptions{Reason: to.Ptr("bad input"), ErrorDescription: to.Ptr("cannot parse")}); err != nil {
		t.Fatal(err)
	}
	// flaky is abandoned twice: MaxDeliveryCount 2 dead-letters it.
	for range 2 {
		m := receive()
		if m.MessageID != "flaky" {
			t.Fatalf("got %q, want flaky", m.MessageID)
		}
		if err := r.AbandonMessage(c, m, nil); err != nil {
			t.Fatal(err)
		}
	}
	dlq, err := e.client.NewReceiverForSubscription("jobs", "workers", &azservicebus.ReceiverOptions{SubQueue: azservicebus.SubQueueDeadLetter})
	if err != nil {
		t.Fatal(err)
	}
	var dead []*azservicebus.ReceivedMessage
	for len(dead) < 2 {
		msgs, err := dlq.ReceiveMessages(c, 2-len(dead), nil)
		if err != nil {
			t.Fatal(err)
		}
		dead = append(dead, msgs...)
	}
	byID := map[string]*azservicebus.ReceivedMessage{}
	for _, m := range dead {
		byID[m.MessageID] = m
		if err := dlq.CompleteMessage(c, m, nil); err != nil {
			t.Fatal(err)
		}
	}
	if m := byID["poison"]; m == nil || *m.DeadLetterReason != "bad input" || *m.DeadLetterErrorDescription != "cannot parse" ||
		m.ApplicationProperties["kind"] != "poison" || m.DeadLetterSource != nil && *m.DeadLetterSource == "" {
		t.Fatalf("poison in the DLQ: %+v", m)
	}
	if m := byID["flaky"]; m == nil || *m.DeadLetterReason != "MaxDeliveryCountExceeded" {
		t.Fatalf("flaky in the DLQ: %+v", m)
	}
	props, err := e.admin.GetSubscriptionRuntimeProperties(c, "jobs", "workers", nil)
	if err != nil {
		t.Fatal(err)
	}
	if props.ActiveMessageCount != 0 || props.DeadLetterMessageCount != 0 {
		t.Fatalf("counts after completing the DLQ: %+v", props.SubscriptionRuntimeProperties)
	}
}

// TestSBTopicScheduleAndCancel schedules messages on a topic: every
// subscription holds a scheduled copy (peek shows it), cancelling removes
// every copy, and a message scheduled in the past is delivered at once.
func TestSBTopicScheduleAndCancel(t *testing.T) {
	e := startSB(t, config.Default())
	c := ctx(t)
	e.topic("reminders")
	e.subscription("reminders", "email", nil, nil)
	e.subscription("reminders", "sms", nil, &admin.RuleProperties{Name: "urgent", Filter: &admin.SQLFilter{Expression: "urgent = TRUE"}})
	sender, err := e.client.NewSender("reminders", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close(c)
	later := time.Now().Add(time.Hour)
	seqs, err := sender.ScheduleMessages(c, []*azservicebus.Message{
		{MessageID: to.Ptr("later-1"), Body: []byte("1"), ApplicationProperties: map[string]any{"urgent": true}},
		{MessageID: to.Ptr("later-2"), Body: []byte("2")},
	}, later, nil)
	if err != nil || len(seqs) != 2 {
		t.Fatalf("ScheduleMessages = %v, %v", seqs, err)
	}
	peekAll := func(sub string) []*azservicebus.ReceivedMessage {
		t.Helper()
		r, err := e.client.NewReceiverForSubscription("reminders", sub, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close(c)
		msgs, err := r.PeekMessages(c, 10, nil)
		if err != nil {
			t.Fatal(err)
		}
		return msgs
	}
	email := peekAll("email")
	if len(email) != 2 || email[0].State != azservicebus.MessageStateScheduled || email[0].ScheduledEnqueueTime == nil ||
		email[0].ScheduledEnqueueTime.Unix() != later.Unix() {
		t.Fatalf("email peek: %d messages, first %+v", len(email), email)
	}
	if sms := peekAll("sms"); len(sms) != 1 || sms[0].MessageID != "later-1" || sms[0].State != azservicebus.MessageStateScheduled {
		t.Fatalf("sms peek: %+v", sms)
	}
	if err := sender.CancelScheduledMessages(c, seqs, nil); err != nil {
		t.Fatal(err)
	}
	if n := len(peekAll("email")) + len(peekAll("sms")); n != 0 {
		t.Fatalf("%d scheduled copies left after cancel", n)
	}
	// Scheduled in the past: enqueued at once.
	if _, err := sender.ScheduleMessages(c, []*azservicebus.Message{{MessageID: to.Ptr("now"), Body: []byte("n"),
		ApplicationProperties: map[string]any{"urgent": true}}}, time.Now().Add(-time.Minute), nil); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"email", "sms"} {
		if got := e.receiveAllFrom("reminders", sub, 1); got[0].MessageID != "now" {
			t.Fatalf("%s got %q", sub, got[0].MessageID)
		}
	}
}

// TestSBTopicLinkRefusals: receiving from a topic, from a topic's
// dead-letter queue and sending to a subscription are refused with a
// clear error, not a hang or a silent success.
func TestSBTopicLinkRefusals(t *testing.T) {
	e := startSB(t, config.Default())
	c := ctx(t)
	e.topic("news")
	e.subscription("news", "reader", nil, nil)
	r, err := e.client.NewReceiverForQueue("news", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.ReceiveMessages(c, 1, nil)
	if err == nil || !strings.Contains(err.Error(), "is a topic") || !strings.Contains(err.Error(), "amqp:not-allowed") {
		t.Fatalf("receive from a topic = %v", err)
	}
	d, err := e.client.NewReceiverForQueue("news", &azservicebus.ReceiverOptions{SubQueue: azservicebus.SubQueueDeadLetter})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.ReceiveMessages(c, 1, nil); err == nil || !strings.Contains(err.Error(), "no dead-letter queue") {
		t.Fatalf("receive from a topic's dead-letter queue = %v", err)
	}
	s, err := e.client.NewSender("news/Subscriptions/reader", nil)
	if err != nil {
		t.Fatal(err)
	}
	err = s.SendMessage(c, &azservicebus.Message{Body: []byte("x")}, nil)
	if err == nil || !strings.Contains(err.Error(), "is a subscription") {
		t.Fatalf("send to a subscription = %v", err)
	}
	// A missing subscription is not found.
	m, err := e.client.NewReceiverForSubscription("news", "nobody", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.ReceiveMessages(c, 1, nil); err == nil || !strings.Contains(err.Error(), "could not be found") {
		t.Fatalf("receive from a missing subscription = %v", err)
	}
	// The topic and its subscription still work.
	ok, err := e.client.NewSender("news", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ok.SendMessage(c, &azservicebus.Message{MessageID: to.Ptr("fine"), Body: []byte("x")}, nil); err != nil {
		t.Fatal(err)
	}
	if got := e.receiveAllFrom("news", "reader", 1); got[0].MessageID != "fine" {
		t.Fatalf("got %q", got[0].MessageID)
	}
}

// TestSBTopicSASScopes: with keys configured, a SAS token scoped to a topic
// sends to the topic and receives from its subscriptions (and their
// dead-letter queues), and nothing else.
func TestSBTopicSASScopes(t *testing.T) {
	cfg := config.Default()
	cfg.Keys = map[string]string{"RootManageSharedAccessKey": "root-key", "topic-key": "topic-secret"}
	e := startSB(t, cfg)
	e.connect("root-key")
	e.topic("billing")
	e.subscription("billing", "ledger", nil, nil)
	e.queue("other", nil)
	c := ctx(t)

	sas := func(keyName, key, resource string) string {
		exp := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
		sr := url.QueryEscape(resource)
		mac := hmac.New(sha256.New, []byte(key))
		mac.Write([]byte(sr + "\n" + exp))
		sig := url.QueryEscape(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
		return "SharedAccessSignature sr=" + sr + "&sig=" + sig + "&se=" + exp + "&skn=" + keyName
	}
	addr := e.srv.AMQPAddr()
	scoped, err := azservicebus.NewClientFromConnectionString("Endpoint=sb://"+addr+";SharedAccessSignature="+
		sas("topic-key", "topic-secret", "sb://"+addr+"/billing")+";UseDevelopmentEmulator=true", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer scoped.Close(c)
	s, err := scoped.NewSender("billing", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SendMessage(c, &azservicebus.Message{MessageID: to.Ptr("inv-1"), Body: []byte("x")}, nil); err != nil {
		t.Fatalf("send with a topic token: %v", err)
	}
	r, err := scoped.NewReceiverForSubscription("billing", "ledger", nil)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := r.ReceiveMessages(c, 1, nil)
	if err != nil || len(msgs) != 1 || msgs[0].MessageID != "inv-1" {
		t.Fatalf("receive with a topic token: %v, %v", msgs, err)
	}
	if err := r.DeadLetterMessage(c, msgs[0], nil); err != nil {
		t.Fatal(err)
	}
	d, err := scoped.NewReceiverForSubscription("billing", "ledger", &azservicebus.ReceiverOptions{SubQueue: azservicebus.SubQueueDeadLetter})
	if err != nil {
		t.Fatal(err)
	}
	if msgs, err := d.PeekMessages(c, 1, nil); err != nil || len(msgs) != 1 {
		t.Fatalf("peek the subscription's DLQ with a topic token: %v, %v", msgs, err)
	}
	o, err := scoped.NewSender("other", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.SendMessage(c, &azservicebus.Message{Body: []byte("x")}, nil); sbCode(err) != azservicebus.CodeUnauthorizedAccess {
		t.Fatalf("send to another queue with a topic token = %v; want CodeUnauthorizedAccess", err)
	}
}

// TestSBTopicFilterEvaluationError: a rule whose evaluation fails (integer
// division by zero) does not match; with
// EnableDeadLetteringOnFilterEvaluationExceptions the subscription
// dead-letters the message with the reason instead.
func TestSBTopicFilterEvaluationError(t *testing.T) {
	e := startSB(t, config.Default())
	c := ctx(t)
	e.topic("ratios")
	rule := func() *admin.RuleProperties {
		return &admin.RuleProperties{Name: "ratio", Filter: &admin.SQLFilter{Expression: "n / d > 1"}}
	}
	e.subscription("ratios", "strict", &admin.SubscriptionProperties{EnableDeadLetteringOnFilterEvaluationExceptions: to.Ptr(true)}, rule())
	e.subscription("ratios", "lenient", nil, rule())
	sender, err := e.client.NewSender("ratios", nil)
	if err != nil {
		t.Fatal(err)
	}
	for id, props := range map[string]map[string]any{"div0": {"n": int64(5), "d": int64(0)}, "ok": {"n": int64(5), "d": int64(2)}} {
		if err := sender.SendMessage(c, &azservicebus.Message{MessageID: to.Ptr(id), Body: []byte(id), ApplicationProperties: props}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.receiveAllFrom("ratios", "lenient", 1); got[0].MessageID != "ok" {
		t.Fatalf("lenient got %q", got[0].MessageID)
	}
	if got := e.receiveAllFrom("ratios", "strict", 1); got[0].MessageID != "ok" {
		t.Fatalf("strict got %q", got[0].MessageID)
	}
	dlq, err := e.client.NewReceiverForSubscription("ratios", "strict", &azservicebus.ReceiverOptions{SubQueue: azservicebus.SubQueueDeadLetter})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := dlq.ReceiveMessages(c, 1, nil)
	if err != nil || len(msgs) != 1 || msgs[0].MessageID != "div0" || msgs[0].DeadLetterReason == nil ||
		*msgs[0].DeadLetterReason != "FilterEvaluationException" || msgs[0].DeadLetterErrorDescription == nil {
		t.Fatalf("strict DLQ: %v, %+v", err, *msgs[0])
	}
	t.Logf("dead-lettered: %s: %s", *msgs[0].DeadLetterReason, *msgs[0].DeadLetterErrorDescription)
}

// TestSBTopicSubscriptionManagementOps: the receiver operations that go
// through the subscription's $management node — peek, lock renewal,
// defer and receive-deferred, settlement of a deferred message.
func TestSBTopicSubscriptionManagementOps(t *testing.T) {
	e := startSB(t, config.Default())
	c := ctx(t)
	e.topic("tasks")
	e.subscription("tasks", "worker", nil, nil)
	sender, err := e.client.NewSender("tasks", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close(c)
	for _, id := range []string{"t1", "t2", "t3"} {
		if err := sender.SendMessage(c, &azservicebus.Message{MessageID: to.Ptr(id), Body: []byte(id)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	r, err := e.client.NewReceiverForSubscription("tasks", "worker", nil)
	if err != nil {
		t.Fatal(err)
	}
	peeked, err := r.PeekMessages(c, 10, nil)
	if err != nil || len(peeked) != 3 || peeked[0].MessageID != "t1" || *peeked[2].SequenceNumber <= *peeked[0].SequenceNumber {
		t.Fatalf("peek: %v, %v", peeked, err)
	}
	var got []*azservicebus.ReceivedMessage
	for len(got) < 3 {
		msgs, err := r.ReceiveMessages(c, 3-len(got), nil)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, msgs...)
	}
	before := *got[0].LockedUntil
	if err := r.RenewMessageLock(c, got[0], nil); err != nil || got[0].LockedUntil.Before(before) {
		t.Fatalf("RenewMessageLock: %v (%v → %v)", err, before, got[0].LockedUntil)
	}
	if err := r.DeferMessage(c, got[1], nil); err != nil {
		t.Fatal(err)
	}
	deferred, err := r.ReceiveDeferredMessages(c, []int64{*got[1].SequenceNumber}, nil)
	if err != nil || len(deferred) != 1 || deferred[0].MessageID != "t2" {
		t.Fatalf("ReceiveDeferredMessages: %v, %v", deferred, err)
	}
	for _, m := range []*azservicebus.ReceivedMessage{got[0], deferred[0], got[2]} {
		if err := r.CompleteMessage(c, m, nil); err != nil {
			t.Fatalf("complete %s: %v", m.MessageID, err)
		}
	}
	props, err := e.admin.GetSubscriptionRuntimeProperties(c, "tasks", "worker", nil)
	if err != nil || props.TotalMessageCount != 0 {
		t.Fatalf("runtime properties %+v, %v", props, err)
	}
}
