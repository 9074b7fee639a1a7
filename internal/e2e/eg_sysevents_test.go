package e2e

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azeventgrid"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/config"
	"github.com/batonmq/baton/internal/server"
)

// TestEGServiceBusSystemEvents: a Service Bus system topic gets
// ActiveMessagesAvailableWithNoListeners for a queue and a topic
// subscription whose messages nobody takes, and
// DeadletterMessagesAvailableWithNoListeners for a dead-letter queue, in
// Azure's shape; a queue with a receiver gets none.
func TestEGServiceBusSystemEvents(t *testing.T) {
	h := newHook(t, nil)
	cfg := config.Default()
	cfg.EventGrid.SystemEventsInterval = config.Duration(20 * time.Millisecond)
	const source = "/subscriptions/8f6b6269-84f2-4d09-9e31-1127efcd1e40/resourceGroups/rg/providers/Microsoft.ServiceBus/namespaces/myns"
	cfg.EventGrid.Topics = []config.EGTopic{{Name: "sbevents", TopicType: "Microsoft.ServiceBus.Namespaces", Source: source,
		Subscriptions: []config.EGSubscription{{Name: "watch", EndpointURL: h.url(), DisableValidation: true,
			Filter: json.RawMessage(`{"includedEventTypes":["Microsoft.ServiceBus.ActiveMessagesAvailableWithNoListeners","Microsoft.ServiceBus.DeadletterMessagesAvailableWithNoListeners"]}`)}}}}
	e := startEG(t, cfg, server.Options{})
	b, c := e.broker(), ctx(t)
	for _, q := range []string{"work", "busy"} {
		if _, err := b.CreateQueue(c, q, broker.QueueProperties{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.CreateTopic(c, "t1", broker.QueueProperties{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CreateSubscription(c, "t1", "s1", broker.QueueProperties{}, nil); err != nil {
		t.Fatal(err)
	}
	// "busy" has a receiver that takes every message at once.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			ms, _ := b.Receive(c, "busy", broker.ReceiveOptions{Mode: broker.ReceiveAndDelete, MaxMessages: 10, Wait: 50 * time.Millisecond})
			_ = ms
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	for _, path := range []string{"busy", "work", "t1"} {
		if _, err := b.Send(c, path, []*broker.Message{{Body: []byte("x")}}); err != nil {
			t.Fatal(err)
		}
	}
	// Dead-letter one message of "work" (a second one stays active).
	if _, err := b.Send(c, "work", []*broker.Message{{Body: []byte("y")}}); err != nil {
		t.Fatal(err)
	}
	ms, err := b.Receive(c, "work", broker.ReceiveOptions{Mode: broker.PeekLock})
	if err != nil || len(ms) != 1 {
		t.Fatal(ms, err)
	}
	if err := b.Settle(c, "work", ms[0].LockToken, broker.Settlement{Disposition: broker.DeadLetter, DeadLetterReason: "test"}); err != nil {
		t.Fatal(err)
	}

	type sysEvent struct {
		Topic, Subject, EventType, DataVersion, MetadataVersion string
		Data                                                    map[string]any
	}
	bySubject := map[string]sysEvent{}
	counts := map[string]int{}
	collect := func() {
		bySubject, counts = map[string]sysEvent{}, map[string]int{}
		for _, d := range h.got() {
			var evs []sysEvent
			if err := json.Unmarshal(d.body, &evs); err != nil {
				t.Fatal(err)
			}
			for _, ev := range evs {
				k := ev.EventType + " " + ev.Subject
				bySubject[k] = ev
				counts[k]++
			}
		}
	}
	const active, dead = "Microsoft.ServiceBus.ActiveMessagesAvailableWithNoListeners", "Microsoft.ServiceBus.DeadletterMessagesAvailableWithNoListeners"
	egWait(t, "the three kinds of system events, each raised repeatedly", func() bool {
		collect()
		return counts[active+" queues/work"] >= 3 && counts[active+" topics/t1/subscriptions/s1"] >= 1 && counts[dead+" queues/work"] >= 1
	})
	q := bySubject[active+" queues/work"]
	if q.Topic != source || q.DataVersion != "1" || q.MetadataVersion != "1" || q.Data["namespaceName"] != "myns" || q.Data["entityType"] != "queue" ||
		q.Data["queueName"] != "work" || q.Data["topicName"] != nil || q.Data["subscriptionName"] != nil ||
		q.Data["requestUri"] != "https://myns.servicebus.windows.net/work/messages/head" {
		t.Errorf("queue event: %+v", q)
	}
	for _, k := range []string{"namespaceName", "requestUri", "entityType", "queueName", "topicName", "subscriptionName"} {
		if _, ok := q.Data[k]; !ok {
			t.Errorf("data lacks %s: %v", k, q.Data)
		}
	}
	s := bySubject[active+" topics/t1/subscriptions/s1"]
	if s.Data["entityType"] != "subscriber" || s.Data["topicName"] != "t1" || s.Data["subscriptionName"] != "s1" || s.Data["queueName"] != nil ||
		s.Data["requestUri"] != "https://myns.servicebus.windows.net/t1/subscriptions/s1/messages/head" {
		t.Errorf("subscription event: %+v", s)
	}
	d := bySubject[dead+" queues/work"]
	if d.Data["requestUri"] != "https://myns.servicebus.windows.net/work/$deadletterqueue/messages/head" {
		t.Errorf("dead-letter event: %+v", d)
	}
	if _, err := e.publisher("sbevents").PublishEvents(c, []azeventgrid.Event{genEvent{id: "x", typ: "T", subject: "s"}.event()}, nil); err == nil ||
		!strings.Contains(err.Error(), "system topic") {
		t.Errorf("a publish to a system topic: %v", err)
	}
	for k := range counts {
		if strings.Contains(k, "busy") || strings.Contains(k, "eventgrid") {
			t.Errorf("an event for an attended or internal entity: %s", k)
		}
	}
}
