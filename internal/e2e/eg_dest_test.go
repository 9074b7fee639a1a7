package e2e

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azeventgrid"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/config"
	"github.com/batonmq/baton/internal/httpapi/eventgrid"
	"github.com/batonmq/baton/internal/server"
)

// TestEGBrokerDestinations: event subscriptions whose destination is a
// Service Bus queue, a Service Bus topic or a storage queue of the same
// Baton get one message per event, the body a single event object; one
// whose queue does not exist retries and dead-letters with NotFound.
func TestEGBrokerDestinations(t *testing.T) {
	cfg := config.Default()
	cfg.Listen.Mgmt = "127.0.0.1:0"
	cfg.EventGrid.RetryScale = 1000
	e := startEG(t, cfg, server.Options{})
	b := e.broker()
	c := ctx(t)
	if _, err := b.CreateQueue(c, "orders-q", broker.QueueProperties{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CreateTopic(c, "events-t", broker.QueueProperties{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CreateSubscription(c, "events-t", "all", broker.QueueProperties{}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.StorageQueues().Create(c, "devstoreaccount1/egq", nil); err != nil {
		t.Fatal(err)
	}
	api := e.srv.MgmtURL() + "/api/v1/eventgrid"
	if st := mcall(t, http.DefaultClient, "PUT", api+"/topics/src", map[string]any{}, nil); st != 201 {
		t.Fatalf("PUT topic: %d", st)
	}
	const sb = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.ServiceBus/namespaces/ns/"
	put := func(name string, dest map[string]any, extra map[string]any) {
		t.Helper()
		props := map[string]any{"destination": dest}
		for k, v := range extra {
			props[k] = v
		}
		var out map[string]any
		if st := mcall(t, http.DefaultClient, "PUT", api+"/topics/src/eventSubscriptions/"+name, map[string]any{"properties": props}, &out); st != 201 {
			t.Fatalf("PUT %s: %d %v", name, st, out)
		}
	}
	put("sbq", map[string]any{"endpointType": "ServiceBusQueue", "properties": map[string]any{"resourceId": sb + "queues/orders-q",
		"deliveryAttributeMappings": []any{
			map[string]any{"name": "SessionId", "type": "Static", "properties": map[string]any{"value": "s-1"}},
			map[string]any{"name": "tenant", "type": "Dynamic", "properties": map[string]any{"sourceField": "data.tenant"}},
		}}}, nil)
	put("sbt", map[string]any{"endpointType": "ServiceBusTopic", "properties": map[string]any{"resourceId": sb + "topics/events-t"}}, nil)
	put("stq", map[string]any{"endpointType": "StorageQueue", "properties": map[string]any{
		"resourceId": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1", "queueName": "egq",
		"queueMessageTimeToLiveInSeconds": 300}}, map[string]any{"eventDeliverySchema": "CloudEventSchemaV1_0"})
	put("lost", map[string]any{"endpointType": "ServiceBusQueue", "properties": map[string]any{"resourceId": sb + "queues/nowhere"}},
		map[string]any{"retryPolicy": map[string]any{"maxDeliveryAttempts": 2}})
	// A ServiceBusTopic destination must name an existing topic.
	var errBody map[string]any
	if st := mcall(t, http.DefaultClient, "PUT", api+"/topics/src/eventSubscriptions/notopic", map[string]any{"properties": map[string]any{
		"destination": map[string]any{"endpointType": "ServiceBusTopic", "properties": map[string]any{"resourceId": sb + "topics/orders-q"}}}}, &errBody); st != 400 {
		t.Errorf("ServiceBusTopic destination on a queue: %d %v", st, errBody)
	}

	var evs []azeventgrid.Event
	want := []string{"d-1", "d-2", "d-3"}
	for _, id := range want {
		ev := genEvent{id: id, typ: "Order.Created", subject: "/orders/" + id}.event()
		ev.Data = map[string]any{"tenant": "acme"}
		evs = append(evs, ev)
	}
	if _, err := e.publisher("src").PublishEvents(c, evs, nil); err != nil {
		t.Fatal(err)
	}
	receiveAll := func(path string) []*broker.Message {
		t.Helper()
		var got []*broker.Message
		egWait(t, "3 messages in "+path, func() bool {
			ms, err := b.Receive(c, path, broker.ReceiveOptions{Mode: broker.ReceiveAndDelete, MaxMessages: 10})
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, ms...)
			return len(got) >= 3
		})
		return got
	}
	check := func(path string, ms []*broker.Message, sub string) {
		t.Helper()
		var ids []string
		for _, m := range ms {
			var ev map[string]any
			if err := json.Unmarshal(m.Body, &ev); err != nil {
				t.Fatalf("%s: the body is not one event object: %s", path, m.Body)
			}
			ids = append(ids, ev["id"].(string))
			if m.Properties["aeg-subscription-name"] != sub || m.Properties["aeg-delivery-count"] != "0" || m.Properties["aeg-metadata-version"] != "1" ||
				m.ContentType != "application/json" {
				t.Errorf("%s: properties %v, content type %q", path, m.Properties, m.ContentType)
			}
		}
		slices.Sort(ids)
		if !slices.Equal(ids, want) {
			t.Errorf("%s: events %v", path, ids)
		}
	}
	qs := receiveAll("orders-q")
	check("orders-q", qs, "SBQ")
	if qs[0].SessionID != "s-1" || qs[0].Properties["tenant"] != "acme" {
		t.Errorf("delivery properties: session %q, properties %v", qs[0].SessionID, qs[0].Properties)
	}
	check("events-t/all", receiveAll(broker.SubscriptionPath("events-t", "all")), "SBT")

	var texts []string
	egWait(t, "3 storage queue messages", func() bool {
		ms, err := b.StorageQueues().Get(c, "devstoreaccount1/egq", 32, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			texts = append(texts, string(m.Text))
			if ttl := m.ExpiresAt.Sub(m.InsertedAt); ttl != 300*time.Second {
				t.Errorf("storage queue message ttl %v, want 300s", ttl)
			}
		}
		return len(texts) >= 3
	})
	for _, tx := range texts {
		raw, err := base64.StdEncoding.DecodeString(tx)
		if err != nil {
			t.Fatalf("storage queue text is not base64: %q", tx)
		}
		var ce map[string]any
		if err := json.Unmarshal(raw, &ce); err != nil || ce["specversion"] != "1.0" || ce["type"] != "Order.Created" {
			t.Errorf("storage queue event %s: %v", raw, err)
		}
	}

	dlq := eventgrid.TopicQueueName("src", "lost") + "/" + broker.DeadLetterSuffix
	var dl []*broker.Message
	egWait(t, "dead-lettering of the undeliverable events", func() bool {
		dl, _ = b.Peek(c, dlq, 0, 10, "")
		return len(dl) == 3
	})
	for _, m := range dl {
		if m.DeadLetterReason != "MaxDeliveryAttemptsExceeded" || m.Properties["lastDeliveryOutcome"] != "NotFound" || m.Properties["deliveryAttempts"] != int32(2) {
			t.Errorf("dead-lettered %q, %v", m.DeadLetterReason, m.Properties)
		}
	}
	// Once the queue exists, resubmitting delivers them.
	if _, err := b.CreateQueue(c, "nowhere", broker.QueueProperties{}); err != nil {
		t.Fatal(err)
	}
	var res map[string]int
	if st := mcall(t, http.DefaultClient, "POST", api+"/topics/src/eventSubscriptions/lost/deadLetters/resubmit", nil, &res); st != 200 || res["resubmitted"] != 3 {
		t.Fatalf("resubmit: %d %v", st, res)
	}
	check("nowhere", receiveAll("nowhere"), "LOST")
}
