package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azeventgrid"

	"github.com/batonmq/baton/internal/config"
	"github.com/batonmq/baton/internal/httpapi/eventgrid"
	"github.com/batonmq/baton/internal/server"
)

// TestEGConfigARMShape: subscriptions written as ARM resources' properties
// (destination, deliveryAttributeMappings, retryPolicy, labels,
// deliveryConfiguration) are read from a config document and applied.
func TestEGConfigARMShape(t *testing.T) {
	h := newHook(t, func(int) int { return http.StatusInternalServerError })
	doc := `{"eventGrid":{"retryScale":1000,
	  "topics":[{"name":"arm","inputSchema":"EventGridSchema","eventSubscriptions":[{
	    "name":"armsub",
	    "destination":{"endpointType":"WebHook","properties":{"endpointUrl":"` + h.url() + `","maxEventsPerBatch":1,
	      "deliveryAttributeMappings":[{"name":"X-Static","type":"Static","properties":{"value":"s","isSecret":true}},
	                                   {"name":"X-Tenant","type":"Dynamic","properties":{"sourceField":"data.tenant"}}]}},
	    "filter":{"includedEventTypes":["T"],"isSubjectCaseSensitive":false},
	    "eventDeliverySchema":"EventGridSchema",
	    "retryPolicy":{"maxDeliveryAttempts":2,"eventTimeToLiveInMinutes":60},
	    "labels":["a"],
	    "deadLetterDestination":{"endpointType":"StorageBlob","properties":{"resourceId":"/x","blobContainerName":"dl"}}
	  }]}],
	  "namespaceTopics":[{"name":"armns","eventSubscriptions":[{"name":"queue1",
	    "deliveryConfiguration":{"deliveryMode":"Queue","queue":{"receiveLockDurationInSeconds":120,"maxDeliveryCount":2,"eventTimeToLive":"P1D"}},
	    "eventDeliverySchema":"CloudEventSchemaV1_0"}]}]}}`
	cfg := config.Default()
	if err := config.Decode([]byte(doc), &cfg); err != nil {
		t.Fatalf("config: %v", err)
	}
	e := startEG(t, cfg, server.Options{})
	now := time.Now()
	c, err := azeventgrid.NewClientWithSharedKeyCredential(e.url()+"/arm/api/events", nil, &azeventgrid.ClientOptions{ClientOptions: e.clientOptions()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PublishEvents(ctx(t), []azeventgrid.Event{{ID: strPtr("a-1"), Subject: strPtr("s"), EventType: strPtr("T"), EventTime: &now, Data: map[string]any{"tenant": "acme"}}}, nil); err != nil {
		t.Fatal(err)
	}
	q := eventgrid.TopicQueueName("arm", "armsub")
	egWait(t, "dead-lettering after 2 attempts", func() bool {
		info, err := e.broker().GetEntity(q)
		return err == nil && info.DeadLettered == 1
	})
	if n := h.tries(); n != 2 {
		t.Errorf("attempts = %d, want 2 (retryPolicy.maxDeliveryAttempts)", n)
	}
	info, err := e.broker().GetEntity(eventgrid.QueueName("default", "armns", "queue1"))
	if err != nil || info.Properties.MaxDeliveryCount != 2 || info.Properties.LockDuration != 2*time.Minute || info.Properties.DefaultMessageTimeToLive != 24*time.Hour {
		t.Fatalf("namespace queue = %+v, %v", info, err)
	}
	// The delivery properties reached the webhook.
	ok := newHook(t, nil)
	doc2 := strings.Replace(doc, h.url(), ok.url(), 1)
	cfg2 := config.Default()
	if err := config.Decode([]byte(doc2), &cfg2); err != nil {
		t.Fatal(err)
	}
	e2 := startEG(t, cfg2, server.Options{})
	c2, _ := azeventgrid.NewClientWithSharedKeyCredential(e2.url()+"/arm/api/events", nil, &azeventgrid.ClientOptions{ClientOptions: e2.clientOptions()})
	if _, err := c2.PublishEvents(ctx(t), []azeventgrid.Event{{ID: strPtr("a-2"), Subject: strPtr("s"), EventType: strPtr("T"), EventTime: &now, Data: map[string]any{"tenant": "acme"}}}, nil); err != nil {
		t.Fatal(err)
	}
	d := ok.waitFor(1)[0]
	if d.header.Get("X-Static") != "s" || d.header.Get("X-Tenant") != "acme" {
		t.Errorf("headers = %v", d.header)
	}
}

func strPtr(s string) *string { return &s }
