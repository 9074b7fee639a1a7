package eventgrid

import (
	"encoding/json"
	"testing"

	"github.com/batonmq/baton/internal/push"
)

// FuzzEGSubscriptionSpec feeds management API bodies to the declaration
// decoders: a body either is refused or compiles into a subscription that
// push accepts and that renders back to JSON which compiles the same way.
func FuzzEGSubscriptionSpec(f *testing.F) {
	f.Add([]byte(`{"properties":{"destination":{"endpointType":"WebHook","properties":{"endpointUrl":"https://x/y?k=1","maxEventsPerBatch":10}},"filter":{"includedEventTypes":["A"],"advancedFilters":[{"operatorType":"NumberIn","key":"data.n","values":[1,2]}]},"retryPolicy":{"maxDeliveryAttempts":3,"eventTimeToLiveInMinutes":5}}}`))
	f.Add([]byte(`{"properties":{"destination":{"endpointType":"StorageQueue","properties":{"resourceId":"/subscriptions/s/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/acct","queueName":"q","queueMessageTimeToLiveInSeconds":-1}}}}`))
	f.Add([]byte(`{"properties":{"destination":{"endpointType":"ServiceBusQueue","properties":{"resourceId":"/subscriptions/s/resourceGroups/r/providers/Microsoft.ServiceBus/namespaces/n/queues/q"}},"eventDeliverySchema":"CloudEventSchemaV1_0"}}`))
	f.Add([]byte(`{"endpointUrl":"http://h","deliveryHeaders":{"a":"b"},"dynamicDeliveryHeaders":{"t":"data.t"}}`))
	f.Add([]byte(`{"properties":{"deliveryConfiguration":{"deliveryMode":"Queue","queue":{"receiveLockDurationInSeconds":60,"maxDeliveryCount":4,"eventTimeToLive":"P1D"}},"filtersConfiguration":{"includedEventTypes":["x"]}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var env struct {
			Properties json.RawMessage `json:"properties"`
		}
		if json.Unmarshal(body, &env) != nil {
			return
		}
		src := body
		if len(env.Properties) > 0 {
			src = env.Properties
		}
		topic := &Topic{Name: "topic", InputSchema: push.SchemaEventGrid}
		var spec SubscriptionSpec
		if json.Unmarshal(src, &spec) == nil {
			spec.Name = "sub"
			if sub, err := compileSubscription(topic, nil, spec); err == nil && push.Check(sub) == nil {
				again, err := json.Marshal(spec)
				if err != nil {
					t.Fatal(err)
				}
				var spec2 SubscriptionSpec
				if err := json.Unmarshal(again, &spec2); err != nil {
					t.Fatalf("a stored spec does not decode: %s: %v", again, err)
				}
				sub2, err := compileSubscription(topic, nil, spec2)
				if err != nil || push.Check(sub2) != nil || sub2.EndpointURL != sub.EndpointURL || sub2.Entity != sub.Entity || sub2.Destination != sub.Destination {
					t.Fatalf("a stored spec compiles differently: %s: %v", again, err)
				}
			}
		}
		var ns NamespaceSubscriptionSpec
		if json.Unmarshal(src, &ns) == nil {
			ns.Name = "sub"
			if n, err := compileNamespaceSubscription("topic", ns); err == nil {
				again, _ := json.Marshal(ns)
				var ns2 NamespaceSubscriptionSpec
				if err := json.Unmarshal(again, &ns2); err != nil {
					t.Fatalf("a stored namespace spec does not decode: %s: %v", again, err)
				}
				n2, err := compileNamespaceSubscription("topic", ns2)
				if err != nil || n2.LockDuration != n.LockDuration || n2.MaxDeliveryCount != n.MaxDeliveryCount || n2.EventTimeToLive != n.EventTimeToLive {
					t.Fatalf("a stored namespace spec compiles differently: %s: %v", again, err)
				}
			}
		}
	})
}
