package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/messaging"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azeventgrid"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/aznamespaces"

	"github.com/batonmq/baton/internal/config"
	"github.com/batonmq/baton/internal/httpapi/eventgrid"
	"github.com/batonmq/baton/internal/server"
)

// benchEG starts Baton with the default durability (fsync filestore; in
// memory with BATON_BENCH_MEMORY=1) and
// a basic topic (one subscription queue, its webhook never reached: the
// handshake keeps the worker waiting) and a namespace topic.
func benchEG(b *testing.B) *eg {
	cfg := config.Default()
	cfg.DataDir = b.TempDir()
	if os.Getenv("BATON_BENCH_MEMORY") != "" {
		cfg.Memory = true
	}
	cfg.EventGrid.Topics = []config.EGTopic{{Name: "bench", InputSchema: "EventGridSchema", Keys: []string{egKey},
		Subscriptions: []config.EGSubscription{{Name: "sub", EndpointURL: "http://127.0.0.1:1/unreachable"}}}}
	cfg.EventGrid.NamespaceTopics = []config.EGNamespaceTopic{{Name: "orders", Keys: []string{egKey}, Subscriptions: []config.EGNamespaceSubscription{{Name: "all"}}}}
	return startEG(b, cfg, server.Options{})
}

var benchData = map[string]any{"p": strings.Repeat("x", 1024-200)}

// BenchmarkEGSDKPublish: azeventgrid PublishEvents and aznamespaces
// SendEvents over loopback TLS into a durable Baton, ~1 KB events.
func BenchmarkEGSDKPublish(b *testing.B) {
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("basic/batch=%d", n), func(b *testing.B) {
			e := benchEG(b)
			c, err := azeventgrid.NewClientWithSharedKeyCredential(e.url()+"/bench/api/events", azcore.NewKeyCredential(egKey), &azeventgrid.ClientOptions{ClientOptions: e.clientOptions()})
			if err != nil {
				b.Fatal(err)
			}
			now := time.Now()
			evs := make([]azeventgrid.Event, n)
			for i := range evs {
				evs[i] = azeventgrid.Event{ID: to.Ptr(fmt.Sprint(i)), Subject: to.Ptr("/s"), EventType: to.Ptr("T"), EventTime: &now, DataVersion: to.Ptr("1"), Data: benchData}
			}
			b.ResetTimer()
			for range b.N {
				if _, err := c.PublishEvents(b.Context(), evs, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
		})
		b.Run(fmt.Sprintf("namespace/batch=%d", n), func(b *testing.B) {
			e := benchEG(b)
			s, err := aznamespaces.NewSenderClientWithSharedKeyCredential(e.url(), "orders", azcore.NewKeyCredential(egKey), &aznamespaces.SenderClientOptions{ClientOptions: e.clientOptions()})
			if err != nil {
				b.Fatal(err)
			}
			evs := make([]*messaging.CloudEvent, n)
			for i := range evs {
				ev, _ := messaging.NewCloudEvent("/bench", "T", benchData, nil)
				evs[i] = &ev
			}
			b.ResetTimer()
			for range b.N {
				if _, err := s.SendEvents(b.Context(), evs, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkEGSDKReceiveAck: aznamespaces ReceiveEvents (maxEvents 100)
// then AcknowledgeEvents, over loopback TLS against a durable Baton.
func BenchmarkEGSDKReceiveAck(b *testing.B) {
	e := benchEG(b)
	cred := azcore.NewKeyCredential(egKey)
	s, _ := aznamespaces.NewSenderClientWithSharedKeyCredential(e.url(), "orders", cred, &aznamespaces.SenderClientOptions{ClientOptions: e.clientOptions()})
	r, _ := aznamespaces.NewReceiverClientWithSharedKeyCredential(e.url(), "orders", "all", cred, &aznamespaces.ReceiverClientOptions{ClientOptions: e.clientOptions()})
	const n = 100
	batch := make([]*messaging.CloudEvent, n)
	for i := range batch {
		ev, _ := messaging.NewCloudEvent("/bench", "T", benchData, nil)
		batch[i] = &ev
	}
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		if _, err := s.SendEvents(b.Context(), batch, nil); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		got, err := r.ReceiveEvents(b.Context(), &aznamespaces.ReceiveEventsOptions{MaxEvents: to.Ptr(int32(n)), MaxWaitTime: to.Ptr(int32(10))})
		if err != nil || len(got.Details) != n {
			b.Fatalf("receive: %d, %v", len(got.Details), err)
		}
		toks := make([]string, n)
		for i, d := range got.Details {
			toks[i] = *d.BrokerProperties.LockToken
		}
		if res, err := r.AcknowledgeEvents(b.Context(), toks, nil); err != nil || len(res.FailedLockTokens) != 0 {
			b.Fatalf("acknowledge: %v", err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
	if info, err := e.broker().GetEntity(eventgrid.QueueName("default", "orders", "all")); err != nil || info.Active != 0 {
		b.Fatalf("left %d", info.Active)
	}
}
