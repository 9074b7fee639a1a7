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

// TestSBTopicRestart: copies in subscriptions (sharing one stored body,
// and an action's changed copy with its own) survive a restart on the
// durable store, and a copy completed before the restart stays gone while
// its sibling keeps the shared body.
func TestSBTopicRestart(t *testing.T) {
	e := startSB(t, config.Default())
	e.topic("audit")
	e.subscription("audit", "a", nil, nil)
	e.subscription("audit", "b", nil, nil)
	e.subscription("audit", "tagged", nil, &admin.RuleProperties{Name: "tag", Filter: &admin.TrueFilter{},
		Action: &admin.SQLAction{Expression: "SET stage = 'tagged'"}})
	c := ctx(t)
	sender, err := e.client.NewSender("audit", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"one", "two"} {
		if err := sender.SendMessage(c, &azservicebus.Message{MessageID: to.Ptr(id), Body: []byte("body " + id),
			ApplicationProperties: map[string]any{"n": int64(len(id))}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	// "a" takes "one" before the restart.
	ra, err := e.client.NewReceiverForSubscription("audit", "a", nil)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := ra.ReceiveMessages(c, 1, nil)
	if err != nil || len(msgs) != 1 || msgs[0].MessageID != "one" {
		t.Fatalf("a: %v, %v", msgs, err)
	}
	if err := ra.CompleteMessage(c, msgs[0], nil); err != nil {
		t.Fatal(err)
	}

	e.restart()

	if got := e.receiveAllFrom("audit", "a", 1); got[0].MessageID != "two" || string(got[0].Body) != "body two" {
		t.Fatalf("a after the restart: %q %q", got[0].MessageID, got[0].Body)
	}
	b := e.receiveAllFrom("audit", "b", 2)
	if ids := messageIDs(b); !slices.Equal(ids, []string{"one", "two"}) {
		t.Fatalf("b after the restart: %v", ids)
	}
	for _, m := range b {
		if string(m.Body) != "body "+m.MessageID || m.ApplicationProperties["n"] != int64(len(m.MessageID)) {
			t.Fatalf("b's copy of %s: %q %v", m.MessageID, m.Body, m.ApplicationProperties)
		}
	}
	for _, m := range e.receiveAllFrom("audit", "tagged", 2) {
		if string(m.Body) != "body "+m.MessageID || m.ApplicationProperties["stage"] != "tagged" || m.ApplicationProperties["RuleName"] != "tag" {
			t.Fatalf("tagged copy of %s after the restart: %q %v", m.MessageID, m.Body, m.ApplicationProperties)
		}
	}
}

// TestSBTopicDuplicateDetection: a topic with duplicate detection drops a
// resend of the same MessageID within the window; every subscription gets
// one copy.
func TestSBTopicDuplicateDetection(t *testing.T) {
	e := startSB(t, config.Default())
	c := ctx(t)
	if _, err := e.admin.CreateTopic(c, "payments", &admin.CreateTopicOptions{Properties: &admin.TopicProperties{
		RequiresDuplicateDetection: to.Ptr(true), DuplicateDetectionHistoryTimeWindow: to.Ptr("PT10M")}}); err != nil {
		t.Fatal(err)
	}
	e.subscription("payments", "ledger", nil, nil)
	e.subscription("payments", "fraud", nil, nil)
	sender, err := e.client.NewSender("payments", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"p1", "p2", "p1", "p1", "p2"} {
		if err := sender.SendMessage(c, &azservicebus.Message{MessageID: to.Ptr(id), Body: []byte(id)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, sub := range []string{"ledger", "fraud"} {
		if ids := messageIDs(e.receiveAllFrom("payments", sub, 2)); !slices.Equal(ids, []string{"p1", "p2"}) {
			t.Fatalf("%s: %v", sub, ids)
		}
	}
}

// TestSBTopicExpiry: on Baton's fake clock, a subscription's messages
// expire after its DefaultMessageTimeToLive (or the message's shorter
// TimeToLive) and go to its dead-letter queue when
// DeadLetteringOnMessageExpiration is set; the other subscription drops
// them.
func TestSBTopicExpiry(t *testing.T) {
	fake := clock.NewFake(time.Now())
	e := startSBWith(t, config.Default(), server.Options{Clock: fake})
	e.topic("alerts")
	e.subscription("alerts", "keep", &admin.SubscriptionProperties{DefaultMessageTimeToLive: to.Ptr("PT1M"),
		DeadLetteringOnMessageExpiration: to.Ptr(true)}, nil)
	e.subscription("alerts", "drop", &admin.SubscriptionProperties{DefaultMessageTimeToLive: to.Ptr("PT1M")}, nil)
	c := ctx(t)
	sender, err := e.client.NewSender("alerts", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sender.SendMessage(c, &azservicebus.Message{MessageID: to.Ptr("short"), Body: []byte("s"), TimeToLive: to.Ptr(10 * time.Second)}, nil); err != nil {
		t.Fatal(err)
	}
	if err := sender.SendMessage(c, &azservicebus.Message{MessageID: to.Ptr("long"), Body: []byte("l")}, nil); err != nil {
		t.Fatal(err)
	}
	fake.Advance(30 * time.Second) // "short" has expired, "long" has not
	if got := e.receiveAllFrom("alerts", "drop", 1); got[0].MessageID != "long" {
		t.Fatalf("drop: %q", got[0].MessageID)
	}
	fake.Advance(time.Minute) // "long" expires in "keep"
	props, err := e.admin.GetSubscriptionRuntimeProperties(c, "alerts", "keep", nil)
	if err != nil {
		t.Fatal(err)
	}
	if props.ActiveMessageCount != 0 || props.DeadLetterMessageCount != 2 {
		t.Fatalf("keep counts: %+v", props.SubscriptionRuntimeProperties)
	}
	dlq, err := e.client.NewReceiverForSubscription("alerts", "keep", &azservicebus.ReceiverOptions{SubQueue: azservicebus.SubQueueDeadLetter})
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
	for _, m := range dead {
		if m.DeadLetterReason == nil || *m.DeadLetterReason != "TTLExpiredException" {
			t.Fatalf("expired %s: reason %v", m.MessageID, m.DeadLetterReason)
		}
	}
	if ids := messageIDs(dead); !slices.Equal(ids, []string{"long", "short"}) {
		t.Fatalf("dead-lettered %v", ids)
	}
}
