package e2e

import (
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

// TestSBTopicAutoForwardChain: a chain configured with the admin client —
// subscription orders/eu forwards to queue eu-intake, which forwards to
// topic archive, whose subscription all forwards to queue archived — moves
// each message end to end (three hops), and a message dead-lettered in
// orders/eu goes to queue dead with its reason and DeadLetterSource. A
// loop is refused when it is configured.
func TestSBTopicAutoForwardChain(t *testing.T) {
	e := startSB(t, config.Default())
	c := ctx(t)
	for _, q := range []string{"archived", "dead"} {
		if _, err := e.admin.CreateQueue(c, q, nil); err != nil {
			t.Fatal(err)
		}
	}
	e.topic("archive")
	e.subscription("archive", "all", &admin.SubscriptionProperties{ForwardTo: to.Ptr("archived")}, nil)
	if _, err := e.admin.CreateQueue(c, "eu-intake", &admin.CreateQueueOptions{Properties: &admin.QueueProperties{ForwardTo: to.Ptr("archive")}}); err != nil {
		t.Fatal(err)
	}
	e.topic("orders")
	e.subscription("orders", "eu", &admin.SubscriptionProperties{ForwardTo: to.Ptr("eu-intake")},
		&admin.RuleProperties{Name: "eu", Filter: &admin.SQLFilter{Expression: "region = 'eu'"}})
	e.subscription("orders", "audit", &admin.SubscriptionProperties{ForwardDeadLetteredMessagesTo: to.Ptr("dead")}, nil)
	// archive/all → eu-intake would close a loop (eu-intake → archive).
	_, err := e.admin.UpdateSubscription(c, "archive", "all", admin.SubscriptionProperties{ForwardTo: to.Ptr("eu-intake")}, nil)
	if err == nil {
		t.Fatal("a forwarding loop was accepted")
	}

	sender, err := e.client.NewSender("orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct{ id, region string }{{"o1", "eu"}, {"o2", "us"}, {"o3", "eu"}} {
		if err := sender.SendMessage(c, &azservicebus.Message{MessageID: to.Ptr(m.id), Body: []byte(m.id),
			ApplicationProperties: map[string]any{"region": m.region}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	got := receiveN(t, e, "archived", 2)
	if ids := messageIDs(got); !slices.Equal(ids, []string{"o1", "o3"}) {
		t.Fatalf("archived got %v", ids)
	}
	if got[0].ApplicationProperties["region"] != "eu" || string(got[0].Body) != "o1" {
		t.Fatalf("forwarded message changed: %+v", got[0])
	}
	// Dead-letter one audit copy: it goes on to queue dead.
	r, err := e.client.NewReceiverForSubscription("orders", "audit", nil)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := r.ReceiveMessages(c, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.DeadLetterMessage(c, msgs[0], &azservicebus.DeadLetterOptions{Reason: to.Ptr("bad-order")}); err != nil {
		t.Fatal(err)
	}
	dead := receiveN(t, e, "dead", 1)[0]
	if dead.MessageID != msgs[0].MessageID || dead.DeadLetterSource == nil || *dead.DeadLetterSource != "orders/Subscriptions/audit" ||
		dead.ApplicationProperties["DeadLetterReason"] != "bad-order" {
		t.Fatalf("dead: id %s source %v props %v", dead.MessageID, dead.DeadLetterSource, dead.ApplicationProperties)
	}
	for _, q := range []string{"eu-intake"} {
		p, err := e.admin.GetQueueRuntimeProperties(c, q, nil)
		if err != nil || p.TotalMessageCount != 0 {
			t.Fatalf("%s still holds messages: %+v, %v", q, p, err)
		}
	}
}

// TestSBTopicAutoDeleteOnIdle: on Baton's fake clock, a subscription and a
// topic with AutoDeleteOnIdle disappear once idle that long, as the admin
// client sees it; activity (a send) keeps the topic.
func TestSBTopicAutoDeleteOnIdle(t *testing.T) {
	fake := clock.NewFake(time.Now())
	e := startSBWith(t, config.Default(), server.Options{Clock: fake})
	c := ctx(t)
	if _, err := e.admin.CreateTopic(c, "t", &admin.CreateTopicOptions{Properties: &admin.TopicProperties{AutoDeleteOnIdle: to.Ptr("PT10M")}}); err != nil {
		t.Fatal(err)
	}
	e.subscription("t", "idle", &admin.SubscriptionProperties{AutoDeleteOnIdle: to.Ptr("PT5M")}, nil)
	e.subscription("t", "kept", nil, nil)
	fake.Advance(6 * time.Minute)
	if s, err := e.admin.GetSubscription(c, "t", "idle", nil); err != nil || s != nil {
		t.Fatalf("idle subscription after 6 minutes: %+v, %v", s, err)
	}
	sender, err := e.client.NewSender("t", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sender.SendMessage(c, &azservicebus.Message{Body: []byte("x")}, nil); err != nil {
		t.Fatal(err)
	}
	fake.Advance(9 * time.Minute)
	if tp, err := e.admin.GetTopic(c, "t", nil); err != nil || tp == nil {
		t.Fatalf("topic deleted while active: %+v, %v", tp, err)
	}
	fake.Advance(2 * time.Minute)
	if tp, err := e.admin.GetTopic(c, "t", nil); err != nil || tp != nil {
		t.Fatalf("idle topic after 11 minutes: %+v, %v", tp, err)
	}
}

// receiveN receives and completes exactly n messages from queue q.
func receiveN(t *testing.T, e *sb, q string, n int) []*azservicebus.ReceivedMessage {
	t.Helper()
	c := ctx(t)
	r, err := e.client.NewReceiverForQueue(q, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(c)
	var got []*azservicebus.ReceivedMessage
	for len(got) < n {
		msgs, err := r.ReceiveMessages(c, n-len(got), nil)
		if err != nil {
			t.Fatalf("%s: received %d of %d: %v", q, len(got), n, err)
		}
		for _, m := range msgs {
			if err := r.CompleteMessage(c, m, nil); err != nil {
				t.Fatal(err)
			}
		}
		got = append(got, msgs...)
	}
	slices.SortFunc(got, func(a, b *azservicebus.ReceivedMessage) int {
		switch {
		case a.MessageID < b.MessageID:
			return -1
		case a.MessageID > b.MessageID:
			return 1
		}
		return 0
	})
	return got
}
