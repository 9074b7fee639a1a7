package e2e

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azeventgrid"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/config"
	"github.com/batonmq/baton/internal/server"
)

// BenchmarkEGPushToQueue: ~1 KB EventGridEvents published with azeventgrid
// in batches of 100 to a basic topic whose one event subscription delivers
// into a Service Bus queue of the same Baton (the in-process destination).
// b.N is the number of events; the clock runs until the queue holds all of
// them. Durable store (BATON_BENCH_MEMORY=1 for in memory).
func BenchmarkEGPushToQueue(b *testing.B) {
	const batch = 100
	events := (b.N + batch - 1) / batch * batch
	cfg := config.Default()
	cfg.DataDir = b.TempDir()
	if os.Getenv("BATON_BENCH_MEMORY") != "" {
		cfg.Memory = true
	}
	cfg.Queues = []config.Queue{{Name: "sink", MaxSizeInMegabytes: 80 * 1024}}
	cfg.EventGrid.Topics = []config.EGTopic{{Name: "toqueue", InputSchema: "EventGridSchema", Keys: []string{egKey},
		Subscriptions: []config.EGSubscription{{Name: "sink", Destination: &config.EGDestination{EndpointType: "ServiceBusQueue"}}}}}
	cfg.EventGrid.Topics[0].Subscriptions[0].Destination.Properties.ResourceID = "/subscriptions/x/resourceGroups/rg/providers/Microsoft.ServiceBus/namespaces/ns/queues/sink"
	e := startEG(b, cfg, server.Options{})
	c, err := azeventgrid.NewClientWithSharedKeyCredential(e.url()+"/toqueue/api/events", azcore.NewKeyCredential(egKey), &azeventgrid.ClientOptions{ClientOptions: e.clientOptions()})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	batches := make([][]azeventgrid.Event, events/batch)
	for k := range batches {
		batches[k] = make([]azeventgrid.Event, batch)
		for j := range batch {
			i := k*batch + j
			batches[k][j] = azeventgrid.Event{ID: to.Ptr(fmt.Sprintf("q-%d", i)), EventType: to.Ptr("Bench"), Subject: to.Ptr("/s"),
				EventTime: &now, DataVersion: to.Ptr("1"), Data: benchData}
		}
	}
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(5 * time.Minute)
	defer deadline.Stop()
	b.ResetTimer()
	for _, evs := range batches {
		if _, err := c.PublishEvents(b.Context(), evs, nil); err != nil {
			b.Fatal(err)
		}
	}
	var info *broker.EntityInfo
	for {
		info, err = e.broker().GetEntity("sink")
		if err != nil {
			b.Fatal(err)
		}
		if info.Active >= int64(events) {
			break
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			b.Fatalf("timed out: %d of %d events in the queue", info.Active, events)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}
