package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azeventgrid"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/config"
	"github.com/batonmq/baton/internal/httpapi/eventgrid"
	"github.com/batonmq/baton/internal/server"
)

// genEvent is a generated event and the fields the routing test filters on.
type genEvent struct {
	id, typ, subject string
	amount           int
	region           string // "" means absent
	vip              bool
	tags             []string
}

func (g genEvent) event() azeventgrid.Event {
	data := map[string]any{"amount": g.amount, "vip": g.vip, "tags": g.tags}
	if g.region != "" {
		data["region"] = g.region
	}
	now := time.Now()
	return azeventgrid.Event{ID: to.Ptr(g.id), EventType: to.Ptr(g.typ), Subject: to.Ptr(g.subject), EventTime: &now, DataVersion: to.Ptr("1"), Data: data}
}

// routes is the routing test's subscriptions: each has an ARM filter and
// the same rule written independently in Go.
var routes = []struct {
	name   string
	filter string
	want   func(genEvent) bool
}{
	{"types", `{"includedEventTypes":["Order.Created","order.paid"]}`,
		func(g genEvent) bool {
			return strings.EqualFold(g.typ, "Order.Created") || strings.EqualFold(g.typ, "Order.Paid")
		}},
	{"subject", `{"subjectBeginsWith":"/orders/EU","subjectEndsWith":".json"}`,
		func(g genEvent) bool {
			s := strings.ToLower(g.subject)
			return strings.HasPrefix(s, "/orders/eu") && strings.HasSuffix(s, ".json")
		}},
	{"advanced", `{"advancedFilters":[{"operatorType":"NumberInRange","key":"data.amount","values":[[10,50],[90,95]]},{"operatorType":"StringIn","key":"Data.Region","values":["eu","US"]},{"operatorType":"BoolEquals","key":"data.vip","value":true}]}`,
		func(g genEvent) bool {
			r := strings.ToLower(g.region)
			return (g.amount >= 10 && g.amount <= 50 || g.amount >= 90 && g.amount <= 95) && (r == "eu" || r == "us") && g.vip
		}},
	{"negatives", `{"advancedFilters":[{"operatorType":"NumberNotIn","key":"data.amount","values":[1,2,3,4,5]},{"operatorType":"StringNotIn","key":"data.region","values":["apac"]},{"operatorType":"NumberLessThan","key":"data.amount","value":70}]}`,
		func(g genEvent) bool {
			return (g.amount < 1 || g.amount > 5) && strings.ToLower(g.region) != "apac" && g.amount < 70
		}},
	{"arrays", `{"enableAdvancedFilteringOnArrays":true,"advancedFilters":[{"operatorType":"StringBeginsWith","key":"data.tags","values":["re"]},{"operatorType":"IsNotNull","key":"data.region"}]}`,
		func(g genEvent) bool {
			hit := false
			for _, t := range g.tags {
				hit = hit || strings.HasPrefix(strings.ToLower(t), "re")
			}
			return hit && g.region != ""
		}},
	{"arraysoff", `{"advancedFilters":[{"operatorType":"StringIn","key":"data.tags","values":["red"]}]}`,
		func(genEvent) bool { return false }},
}

// TestEGPushRouting publishes a few hundred generated events and checks
// that each webhook receives exactly the events its filter selects, as
// evaluated independently in the test.
func TestEGPushRouting(t *testing.T) {
	cfg := config.Default()
	cfg.EventGrid.RetryScale = 1000
	topic := config.EGTopic{Name: "routing", InputSchema: "EventGridSchema"}
	hooks := map[string]*hook{}
	for _, r := range routes {
		h := newHook(t, nil)
		hooks[r.name] = h
		topic.Subscriptions = append(topic.Subscriptions, config.EGSubscription{Name: r.name, EndpointURL: h.url(), Filter: json.RawMessage(r.filter)})
	}
	cfg.EventGrid.Topics = []config.EGTopic{topic}
	e := startEG(t, cfg, server.Options{})
	c := e.publisher("routing")

	rng := rand.New(rand.NewPCG(7, 11))
	types := []string{"Order.Created", "Order.Paid", "Order.Deleted", "order.created"}
	subjects := []string{"/orders/eu/1.json", "/orders/EU/2.JSON", "/orders/us/3.json", "/orders/eu/4.xml", "/other"}
	regions := []string{"", "EU", "us", "apac", "APAC", "Eu"}
	tagSet := []string{"red", "Reef", "blue", "green"}
	var gens []genEvent
	for i := range 300 {
		g := genEvent{id: fmt.Sprintf("ev-%03d", i), typ: types[rng.IntN(len(types))], subject: subjects[rng.IntN(len(subjects))],
			amount: rng.IntN(100), region: regions[rng.IntN(len(regions))], vip: rng.IntN(2) == 0}
		for range rng.IntN(3) {
			g.tags = append(g.tags, tagSet[rng.IntN(len(tagSet))])
		}
		if g.tags == nil {
			g.tags = []string{}
		}
		gens = append(gens, g)
	}
	for start := 0; start < len(gens); start += 50 {
		var batch []azeventgrid.Event
		for _, g := range gens[start : start+50] {
			batch = append(batch, g.event())
		}
		if _, err := c.PublishEvents(ctx(t), batch, nil); err != nil {
			t.Fatalf("PublishEvents: %v", err)
		}
	}
	// Every queue drains (each delivery is completed after the webhook
	// answered), so what the hooks hold now is final.
	for _, r := range routes {
		q := eventgrid.TopicQueueName("routing", r.name)
		egWait(t, "queue "+q+" to drain", func() bool {
			info, err := e.broker().GetEntity(q)
			return err == nil && info.Total() == 0
		})
	}
	total := 0
	for _, r := range routes {
		var want []string
		for _, g := range gens {
			if r.want(g) {
				want = append(want, g.id)
			}
		}
		total += len(want)
		got := eventIDs(t, hooks[r.name].got())
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("subscription %s received %d events, want %d\n got %v\nwant %v", r.name, len(got), len(want), got, want)
		}
	}
	if total == 0 {
		t.Fatal("the generated events match no filter")
	}
}

// TestEGPushRetryRecovers: a webhook that fails (500, 503, a closed
// connection) before it recovers receives every event.
func TestEGPushRetryRecovers(t *testing.T) {
	h := newHook(t, func(n int) int {
		switch {
		case n < 10:
			return http.StatusInternalServerError
		case n < 15:
			return http.StatusServiceUnavailable
		case n < 18:
			return http.StatusTooManyRequests
		}
		return http.StatusOK
	})
	cfg := config.Default()
	cfg.EventGrid.RetryScale = 1000
	cfg.EventGrid.Topics = []config.EGTopic{{Name: "flaky", Subscriptions: []config.EGSubscription{{Name: "recovers", EndpointURL: h.url()}}}}
	e := startEG(t, cfg, server.Options{})
	var evs []azeventgrid.Event
	var want []string
	for i := range 12 {
		g := genEvent{id: fmt.Sprintf("f-%02d", i), typ: "T", subject: "s"}
		evs = append(evs, g.event())
		want = append(want, g.id)
	}
	if _, err := e.publisher("flaky").PublishEvents(ctx(t), evs, nil); err != nil {
		t.Fatal(err)
	}
	ds := h.waitFor(12)
	got := eventIDs(t, ds)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("received %v, want %v", got, want)
	}
	retried := 0
	for _, d := range ds {
		if d.header.Get("aeg-delivery-count") != "0" {
			retried++
		}
	}
	if retried == 0 || h.tries() < 18 {
		t.Errorf("retried deliveries = %d, attempts = %d", retried, h.tries())
	}
	info, _ := e.broker().GetEntity(eventgrid.TopicQueueName("flaky", "recovers"))
	if info.DeadLettered != 0 {
		t.Errorf("%d events dead-lettered", info.DeadLettered)
	}
}

// TestEGPushDeadLetter: a webhook that never recovers ends in the
// dead-letter queue (and directory) with Azure's reasons.
func TestEGPushDeadLetter(t *testing.T) {
	down := newHook(t, func(int) int { return http.StatusInternalServerError })
	bad := newHook(t, func(int) int { return http.StatusBadRequest })
	cfg := config.Default()
	cfg.EventGrid.RetryScale = 1000
	cfg.EventGrid.DeadLetterDir = t.TempDir()
	cfg.EventGrid.Topics = []config.EGTopic{{Name: "doomed", InputSchema: "EventGridSchema", Subscriptions: []config.EGSubscription{
		{Name: "down", EndpointURL: down.url(), MaxDeliveryAttempts: 3},
		{Name: "bad", EndpointURL: bad.url()},
	}}}
	e := startEG(t, cfg, server.Options{})
	if _, err := e.publisher("doomed").PublishEvents(ctx(t), []azeventgrid.Event{genEvent{id: "d-1", typ: "T", subject: "s"}.event()}, nil); err != nil {
		t.Fatal(err)
	}
	check := func(sub, reason string, attempts int32, status int32) {
		t.Helper()
		q := eventgrid.TopicQueueName("doomed", sub) + "/" + broker.DeadLetterSuffix
		var dl []*broker.Message
		egWait(t, "dead-lettering in "+q, func() bool {
			dl, _ = e.broker().Peek(ctx(t), q, 0, 10, "")
			return len(dl) > 0
		})
		m := dl[0]
		if m.DeadLetterReason != reason || m.Properties["deliveryAttempts"] != attempts || m.Properties["lastHttpStatusCode"] != status {
			t.Errorf("%s: dead-lettered with %q, properties %v", sub, m.DeadLetterReason, m.Properties)
		}
		if !strings.Contains(string(m.Body), `"id":"d-1"`) {
			t.Errorf("%s: dead-lettered body %s", sub, m.Body)
		}
	}
	check("down", "MaxDeliveryAttemptsExceeded", 3, 500)
	check("bad", "UndeliverableDueToHttpBadRequest", 1, 400)
	if n := down.tries(); n != 3 {
		t.Errorf("the failing webhook got %d attempts, want 3", n)
	}
	if n := bad.tries(); n != 1 {
		t.Errorf("the 400 webhook got %d attempts, want 1", n)
	}
	// Azure's blob layout: <SUBSCRIPTION>/<yyyy>/<m>/<d>/<h>/<guid>.json.
	files, _ := filepath.Glob(filepath.Join(cfg.EventGrid.DeadLetterDir, "DOWN", "*", "*", "*", "*", "*.json"))
	if len(files) != 1 {
		t.Fatalf("dead-letter files = %v", files)
	}
	b, _ := os.ReadFile(files[0])
	var arr []map[string]any
	if err := json.Unmarshal(b, &arr); err != nil || len(arr) != 1 || arr[0]["deadLetterReason"] != "MaxDeliveryAttemptsExceeded" || arr[0]["deliveryAttempts"] != float64(3) {
		t.Errorf("dead-letter file %s: %v", b, err)
	}
}

// TestEGPushManualValidation: an endpoint that answers the handshake
// without the code waits for someone to open the validation URL.
func TestEGPushManualValidation(t *testing.T) {
	h := newHook(t, nil)
	h.manual = true
	cfg := config.Default()
	cfg.EventGrid.Topics = []config.EGTopic{{Name: "manual", Subscriptions: []config.EGSubscription{{Name: "later", EndpointURL: h.url()}}}}
	e := startEG(t, cfg, server.Options{})
	egWait(t, "AwaitingManualAction", func() bool { return e.srv.PushState("later") == "AwaitingManualAction" })
	if _, err := e.publisher("manual").PublishEvents(ctx(t), []azeventgrid.Event{genEvent{id: "m-1", typ: "T", subject: "s"}.event()}, nil); err != nil {
		t.Fatal(err)
	}
	if n := h.tries(); n != 0 {
		t.Fatalf("%d deliveries before validation", n)
	}
	h.mu.Lock()
	u := h.validationURL
	h.mu.Unlock()
	if !strings.HasPrefix(u, e.url()+"/eventsubscriptions/later/validate?id=") {
		t.Fatalf("validationUrl = %q", u)
	}
	resp, err := e.client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET validationUrl: %d", resp.StatusCode)
	}
	if ids := eventIDs(t, h.waitFor(1)); ids[0] != "m-1" {
		t.Fatalf("ids = %v", ids)
	}
	if st := e.srv.PushState("later"); st != "Succeeded" {
		t.Errorf("state = %q", st)
	}
	resp, err = e.client.Get(e.url() + "/eventsubscriptions")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Value []struct{ Name, ProvisioningState, EndpointBaseURL string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || len(list.Value) != 1 ||
		list.Value[0].ProvisioningState != "Succeeded" || strings.Contains(list.Value[0].EndpointBaseURL, "secret") {
		t.Errorf("GET /eventsubscriptions = %+v, %v", list, err)
	}
}

// TestEGPushResumesAfterRestart: retries are broker state. Events whose
// first attempts failed are delivered after a restart on the same data
// directory.
func TestEGPushResumesAfterRestart(t *testing.T) {
	var up atomic.Bool
	h := newHook(t, func(int) int {
		if up.Load() {
			return http.StatusOK
		}
		return http.StatusInternalServerError
	})
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.EventGrid.RetryScale = 20 // first retry after 0.5 s
	cfg.EventGrid.Topics = []config.EGTopic{{Name: "durable", Subscriptions: []config.EGSubscription{{Name: "resume", EndpointURL: h.url()}}}}
	e := startEG(t, cfg, server.Options{})
	var evs []azeventgrid.Event
	for i := range 5 {
		evs = append(evs, genEvent{id: fmt.Sprintf("r-%d", i), typ: "T", subject: "s"}.event())
	}
	if _, err := e.publisher("durable").PublishEvents(ctx(t), evs, nil); err != nil {
		t.Fatal(err)
	}
	// Every event has had its first attempt (one event may be retried
	// before another is first tried): after the restart none may start
	// again from attempt 0.
	egWait(t, "first attempts", func() bool { return len(h.triedIDs()) == 5 })
	q := eventgrid.TopicQueueName("durable", "resume")
	egWait(t, "retries scheduled", func() bool {
		info, err := e.broker().GetEntity(q)
		return err == nil && info.Scheduled+info.Active == 5
	})
	e.stop()
	up.Store(true)
	e.start()
	ds := h.waitFor(5)
	got := eventIDs(t, ds)
	slices.Sort(got)
	if !slices.Equal(got, []string{"r-0", "r-1", "r-2", "r-3", "r-4"}) {
		t.Fatalf("after restart received %v", got)
	}
	for _, d := range ds {
		if d.header.Get("aeg-delivery-count") == "0" {
			t.Errorf("a delivery after restart started again from attempt 0")
		}
	}
}

// TestEGPushBatching: with maxEventsPerBatch and a preferred size, requests
// carry several events, never more than the maximum nor (but for one event
// alone) more than the preferred size.
func TestEGPushBatching(t *testing.T) {
	h := newHook(t, nil)
	cfg := config.Default()
	cfg.EventGrid.Topics = []config.EGTopic{{Name: "batched", InputSchema: "EventGridSchema", Subscriptions: []config.EGSubscription{
		{Name: "batches", EndpointURL: h.url(), MaxEventsPerBatch: 5, PreferredBatchSizeInKilobytes: 1, DisableValidation: true},
	}}}
	e := startEG(t, cfg, server.Options{})
	var evs []azeventgrid.Event
	var want []string
	for i := range 40 {
		g := genEvent{id: fmt.Sprintf("b-%02d", i), typ: "T", subject: "s", tags: []string{}}
		evs = append(evs, g.event())
		want = append(want, g.id)
	}
	if _, err := e.publisher("batched").PublishEvents(ctx(t), evs, nil); err != nil {
		t.Fatal(err)
	}
	egWait(t, "all events", func() bool { return len(eventIDs(t, h.got())) >= 40 })
	ds := h.got()
	got := eventIDs(t, ds)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("received %v", got)
	}
	multi := 0
	for _, d := range ds {
		n := len(eventIDs(t, []delivery{d}))
		if n > 5 || (n > 1 && len(d.body) > 1024+n) {
			t.Errorf("a request of %d events, %d bytes", n, len(d.body))
		}
		if n > 1 {
			multi++
		}
	}
	if multi == 0 {
		t.Error("no request carried more than one event")
	}
}
