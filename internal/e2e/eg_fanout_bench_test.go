package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azeventgrid"

	"github.com/batonmq/baton/internal/config"
	"github.com/batonmq/baton/internal/server"
)

// fanoutSink counts the distinct (subscription, event id) deliveries of
// every webhook of the fan-out benchmark and closes done when it holds
// want of them.
type fanoutSink struct {
	mu   sync.Mutex
	seen map[string]bool
	want int
	done chan struct{}
	bad  error
}

func (s *fanoutSink) handler(sub string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var evs []struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(body, &evs); err != nil {
			s.mu.Lock()
			s.bad = fmt.Errorf("webhook %s: body %.100s: %v", sub, body, err)
			s.mu.Unlock()
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		before := len(s.seen)
		for _, e := range evs {
			s.seen[sub+"/"+e.ID] = true
		}
		if before < s.want && len(s.seen) >= s.want {
			close(s.done)
		}
		s.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}
}

// BenchmarkEGPushFanout: ~1 KB EventGridEvents published in batches of 100
// to a basic topic with 10 webhook subscriptions: 5 filter on an event
// type, 4 on a subject prefix, 1 takes everything, so each event is
// pushed 3 times. b.N is the number of events published; the clock runs
// until every expected delivery arrived, and events/s counts deliveries
// across all webhooks. Durable store as BenchmarkEGSDKPublish
// (BATON_BENCH_MEMORY=1 for in memory).
func BenchmarkEGPushFanout(b *testing.B) {
	const batch, types, prefixes = 100, 5, 4
	const perEvent = 3 // its type's, its prefix's and the catch-all subscription
	events := (b.N + batch - 1) / batch * batch
	sink := &fanoutSink{seen: map[string]bool{}, want: events * perEvent, done: make(chan struct{})}

	cfg := config.Default()
	cfg.DataDir = b.TempDir()
	if os.Getenv("BATON_BENCH_MEMORY") != "" {
		cfg.Memory = true
	}
	topic := config.EGTopic{Name: "fanout", InputSchema: "EventGridSchema", Keys: []string{egKey}}
	addSub := func(name, filter string) {
		srv := httptest.NewServer(sink.handler(name))
		b.Cleanup(srv.Close)
		s := config.EGSubscription{Name: name, EndpointURL: srv.URL + "/hook", DisableValidation: true}
		if filter != "" {
			s.Filter = json.RawMessage(filter)
		}
		topic.Subscriptions = append(topic.Subscriptions, s)
	}
	for i := range types {
		addSub(fmt.Sprintf("type%d", i), fmt.Sprintf(`{"includedEventTypes":["Bench.Type%d"]}`, i))
	}
	for i := range prefixes {
		addSub(fmt.Sprintf("prefix%d", i), fmt.Sprintf(`{"subjectBeginsWith":"/p%d/"}`, i))
	}
	addSub("all", "")
	cfg.EventGrid.Topics = []config.EGTopic{topic}
	e := startEG(b, cfg, server.Options{})
	c, err := azeventgrid.NewClientWithSharedKeyCredential(e.url()+"/fanout/api/events", azcore.NewKeyCredential(egKey), &azeventgrid.ClientOptions{ClientOptions: e.clientOptions()})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	batches := make([][]azeventgrid.Event, events/batch)
	for k := range batches {
		batches[k] = make([]azeventgrid.Event, batch)
		for j := range batch {
			i := k*batch + j
			batches[k][j] = azeventgrid.Event{ID: to.Ptr(fmt.Sprintf("f-%d", i)), EventType: to.Ptr(fmt.Sprintf("Bench.Type%d", i%types)),
				Subject: to.Ptr(fmt.Sprintf("/p%d/item/%d", i%prefixes, i)), EventTime: &now, DataVersion: to.Ptr("1"), Data: benchData}
		}
	}
	deadline := time.NewTimer(5 * time.Minute)
	defer deadline.Stop()
	b.ResetTimer()
	for _, evs := range batches {
		if _, err := c.PublishEvents(b.Context(), evs, nil); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-sink.done:
	case <-deadline.C:
		sink.mu.Lock()
		defer sink.mu.Unlock()
		b.Fatalf("timed out: %d of %d deliveries (%v)", len(sink.seen), sink.want, sink.bad)
	}
	b.StopTimer()
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if sink.bad != nil {
		b.Fatal(sink.bad)
	}
	b.ReportMetric(float64(len(sink.seen))/b.Elapsed().Seconds(), "events/s")
}
