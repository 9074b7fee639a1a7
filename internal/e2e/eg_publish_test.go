package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/messaging"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azeventgrid"

	"github.com/batonmq/baton/internal/config"
	"github.com/batonmq/baton/internal/server"
)

// basicConfig declares three basic topics, one per input schema, each with
// a webhook subscription, and an EventGridEvent → CloudEvents subscription.
func basicConfig(egHook, egAsCE, ceHook, customHook *hook) config.Config {
	cfg := config.Default()
	cfg.EventGrid.Topics = []config.EGTopic{
		{Name: "egtopic", InputSchema: "EventGridSchema", Keys: []string{egKey}, Subscriptions: []config.EGSubscription{
			{Name: "egsub", EndpointURL: egHook.url()},
			{Name: "egasce", EndpointURL: egAsCE.url(), EventDeliverySchema: "CloudEventSchemaV1_0"},
		}},
		{Name: "cetopic", InputSchema: "CloudEventSchemaV1_0", Keys: []string{egKey}, Subscriptions: []config.EGSubscription{
			{Name: "cesub", EndpointURL: ceHook.url()},
		}},
		{Name: "customtopic", InputSchema: "CustomEventSchema", Keys: []string{egKey}, Subscriptions: []config.EGSubscription{
			{Name: "customsub", EndpointURL: customHook.url(), DisableValidation: true},
		}},
	}
	return cfg
}

func (e *eg) publisher(topic string) *azeventgrid.Client {
	e.t.Helper()
	c, err := azeventgrid.NewClientWithSharedKeyCredential(e.url()+"/"+topic+"/api/events", azcore.NewKeyCredential(egKey), &azeventgrid.ClientOptions{ClientOptions: e.clientOptions()})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// TestEGPublishAllSchemas publishes EventGridEvents, CloudEvents and custom
// events with azeventgrid v1.0.0 and checks what each webhook receives.
func TestEGPublishAllSchemas(t *testing.T) {
	egHook, egAsCE, ceHook, customHook := newHook(t, nil), newHook(t, nil), newHook(t, nil), newHook(t, nil)
	e := startEG(t, basicConfig(egHook, egAsCE, ceHook, customHook), server.Options{})

	when := time.Date(2026, 1, 2, 3, 4, 5, 575175885, time.UTC)
	_, err := e.publisher("egtopic").PublishEvents(ctx(t), []azeventgrid.Event{
		{ID: to.Ptr("eg-1"), Subject: to.Ptr("/orders/1"), EventType: to.Ptr("Order.Created"), EventTime: &when, DataVersion: to.Ptr("1.0"), Data: map[string]any{"amount": 10}},
		{ID: to.Ptr("eg-2"), Subject: to.Ptr("/orders/2"), EventType: to.Ptr("Order.Deleted"), EventTime: &when},
	}, nil)
	if err != nil {
		t.Fatalf("PublishEvents: %v", err)
	}
	ces := []messaging.CloudEvent{ce(t, "Order.Created", map[string]any{"amount": 3}, nil), ce(t, "Order.Binary", []byte("raw"), nil)}
	if _, err := e.publisher("cetopic").PublishCloudEvents(ctx(t), ces, nil); err != nil {
		t.Fatalf("PublishCloudEvents: %v", err)
	}
	if _, err := e.publisher("customtopic").PublishCustomEventEvents(ctx(t), []any{map[string]any{"orderId": "c-1", "n": 1}}, nil); err != nil {
		t.Fatalf("PublishCustomEventEvents: %v", err)
	}

	// EventGridEvent: an array of one stamped event per request, aeg-* headers.
	ds := sortByID(t, egHook.waitFor(2))
	var got []map[string]any
	if err := json.Unmarshal(ds[0].body, &got); err != nil || len(got) != 1 {
		t.Fatalf("EventGridEvent delivery %s: %v", ds[0].body, err)
	}
	ev := got[0]
	wantTopic := "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/baton/providers/Microsoft.EventGrid/topics/egtopic"
	if ev["id"] != "eg-1" || ev["topic"] != wantTopic || ev["metadataVersion"] != "1" || ev["dataVersion"] != "1.0" || ev["eventTime"] != "2026-01-02T03:04:05.575175885Z" {
		t.Errorf("delivered event = %v", ev)
	}
	h := ds[0].header
	if h.Get("aeg-event-type") != "Notification" || h.Get("aeg-subscription-name") != "EGSUB" || h.Get("aeg-delivery-count") != "0" ||
		h.Get("aeg-metadata-version") != "1" || h.Get("aeg-data-version") != "1.0" || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Errorf("delivery headers = %v", h)
	}
	if ids := eventIDs(t, ds); ids[0] != "eg-1" || ids[1] != "eg-2" {
		t.Errorf("ids = %v", ids)
	}
	if n := egHook.validationCount(); n != 1 {
		t.Errorf("validation handshakes = %d, want 1", n)
	}

	// EventGridEvent delivered as CloudEvents: a single object.
	cds := sortByID(t, egAsCE.waitFor(2))
	var c map[string]any
	if err := json.Unmarshal(cds[0].body, &c); err != nil {
		t.Fatalf("CloudEvents delivery %s: %v", cds[0].body, err)
	}
	if c["specversion"] != "1.0" || c["id"] != "eg-1" || c["source"] != wantTopic || c["type"] != "Order.Created" || c["subject"] != "/orders/1" {
		t.Errorf("converted event = %v", c)
	}
	if ct := cds[0].header.Get("Content-Type"); !strings.HasPrefix(ct, "application/cloudevents+json") || cds[0].header.Get("WebHook-Request-Origin") == "" {
		t.Errorf("CloudEvents delivery headers = %v", cds[0].header)
	}

	// CloudEvents in, CloudEvents out.
	ceds := ceHook.waitFor(2)
	ids := eventIDs(t, ceds)
	slices.Sort(ids)
	want := []string{ces[0].ID, ces[1].ID}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Errorf("CloudEvents ids = %v, want %v", ids, want)
	}
	if !strings.Contains(string(ceds[0].body)+string(ceds[1].body), `"data_base64":"cmF3"`) {
		t.Errorf("binary CloudEvent not delivered as data_base64: %s", ceds[1].body)
	}

	// Custom schema: the object untouched, in an array.
	cu := customHook.waitFor(1)
	if string(cu[0].body) != `[{"n":1,"orderId":"c-1"}]` {
		t.Errorf("custom delivery = %s", cu[0].body)
	}
}

// TestEGPublishRefused checks validation at the door, authentication and
// limits, each with Azure's error envelope.
func TestEGPublishRefused(t *testing.T) {
	nop := newHook(t, nil)
	cfg := basicConfig(nop, nop, nop, nop)
	cfg.EventGrid.MaxEventBytes = 4096
	e := startEG(t, cfg, server.Options{})
	c := e.publisher("egtopic")
	when := time.Now()
	cases := []struct {
		name   string
		ev     azeventgrid.Event
		status int
	}{
		{"missing subject", azeventgrid.Event{ID: to.Ptr("1"), EventType: to.Ptr("T"), EventTime: &when}, 400},
		{"missing id", azeventgrid.Event{Subject: to.Ptr("s"), EventType: to.Ptr("T"), EventTime: &when}, 400},
		{"wrong topic", azeventgrid.Event{ID: to.Ptr("1"), Subject: to.Ptr("s"), EventType: to.Ptr("T"), EventTime: &when, Topic: to.Ptr("/other")}, 400},
		{"metadataVersion 2", azeventgrid.Event{ID: to.Ptr("1"), Subject: to.Ptr("s"), EventType: to.Ptr("T"), EventTime: &when, MetadataVersion: to.Ptr("2")}, 400},
		{"too large", azeventgrid.Event{ID: to.Ptr("1"), Subject: to.Ptr("s"), EventType: to.Ptr("T"), EventTime: &when, Data: strings.Repeat("x", 5000)}, 413},
	}
	for _, cs := range cases {
		_, err := c.PublishEvents(ctx(t), []azeventgrid.Event{{ID: to.Ptr("ok"), Subject: to.Ptr("s"), EventType: to.Ptr("T"), EventTime: &when}, cs.ev}, nil)
		var re *azcore.ResponseError
		if !errors.As(err, &re) || re.StatusCode != cs.status {
			t.Errorf("%s: %v, want %d", cs.name, err, cs.status)
		}
	}
	// A CloudEvent to an EventGridEvent topic is refused.
	if _, err := c.PublishCloudEvents(ctx(t), []messaging.CloudEvent{ce(t, "T", 1, nil)}, nil); err == nil {
		t.Error("a CloudEvent was accepted by an EventGridSchema topic")
	}
	// Wrong key → 401; SAS token (right key) → 200; expired SAS → 401.
	bad, _ := azeventgrid.NewClientWithSharedKeyCredential(e.url()+"/egtopic/api/events", azcore.NewKeyCredential("d3Jvbmc="), &azeventgrid.ClientOptions{ClientOptions: e.clientOptions()})
	ok := []azeventgrid.Event{{ID: to.Ptr("1"), Subject: to.Ptr("s"), EventType: to.Ptr("T"), EventTime: &when}}
	var re *azcore.ResponseError
	if _, err := bad.PublishEvents(ctx(t), ok, nil); !errors.As(err, &re) || re.StatusCode != 401 || re.ErrorCode != "Unauthorized" {
		t.Errorf("wrong key: %v", err)
	}
	for _, sc := range []struct {
		exp  time.Time
		want int
	}{{time.Now().Add(time.Hour), 200}, {time.Now().Add(-time.Hour), 401}} {
		tok := egSAS("https://egtopic.westus2-1.eventgrid.azure.net/api/events?api-version=2018-01-01", sc.exp, egKey)
		sc2, err := azeventgrid.NewClientWithSAS(e.url()+"/egtopic/api/events", azcore.NewSASCredential(tok), &azeventgrid.ClientOptions{ClientOptions: e.clientOptions()})
		if err != nil {
			t.Fatal(err)
		}
		_, err = sc2.PublishEvents(ctx(t), ok, nil)
		status := 200
		if errors.As(err, &re) {
			status = re.StatusCode
		} else if err != nil {
			t.Fatal(err)
		}
		if status != sc.want {
			t.Errorf("SAS expiring %v: status %d, want %d", sc.exp, status, sc.want)
		}
	}
	// Raw requests: a single object, GET, an unknown topic, aeg-sas-key, auth off.
	for _, rc := range []struct {
		method, path, body string
		hdr                map[string]string
		want               int
	}{
		{"POST", "/egtopic/api/events", `{"id":"1"}`, map[string]string{"aeg-sas-key": egKey}, 400},
		{"GET", "/egtopic/api/events", ``, map[string]string{"aeg-sas-key": egKey}, 405},
		{"POST", "/nope/api/events", `[]`, map[string]string{"aeg-sas-key": egKey}, 404},
		{"POST", "/egtopic/api/events", `[{"id":"1","subject":"s","eventType":"T","eventTime":"2024-01-02T03:04:05.6Z"}]`, nil, 401},
		{"POST", "/topics/egtopic/api/events?api-version=2018-01-01", `[{"id":"1","subject":"s","eventType":"T","eventTime":"2024-01-02T03:04:05.6Z"}]`, map[string]string{"aeg-sas-key": egKey}, 200},
		{"POST", "/egtopic/api/events", `[{"id":"1","subject":"s","eventType":"T","eventTime":"yesterday"}]`, map[string]string{"aeg-sas-key": egKey}, 400},
		{"POST", "/egtopic/api/events?aeg-sas-key=" + url.QueryEscape(egKey), `[{"id":"1","subject":"s","eventType":"T","eventTime":"2024-01-02T03:04:05.6Z"}]`, nil, 200},
		{"POST", "/egtopic/api/events", `[{"id":"1","subject":"s","eventType":"T","eventTime":"2024-01-02T03:04:05.6Z"}]`,
			map[string]string{"Authorization": "SharedAccessSignature " + egSAS("https://egtopic.westus2-1.eventgrid.azure.net/api/events", time.Now().Add(time.Hour), egKey)}, 200},
		{"POST", "/egtopic/api/events", `[{"id":"1","subject":"s","eventType":"T","eventTime":"2024-01-02T03:04:05.6Z"}]`,
			map[string]string{"aeg-sas-token": "r=x&e=1%2F1%2F2030"}, 400},
	} {
		req, _ := http.NewRequest(rc.method, e.url()+rc.path, strings.NewReader(rc.body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range rc.hdr {
			req.Header.Set(k, v)
		}
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != rc.want {
			t.Errorf("%s %s %s: %d, want %d", rc.method, rc.path, rc.body, resp.StatusCode, rc.want)
		}
		if rc.want != 200 && resp.Header.Get("x-ms-error-code") == "" {
			t.Errorf("%s %s: no x-ms-error-code", rc.method, rc.path)
		}
	}
}

// TestEGPublishAuthOff publishes with no credential over plain HTTP to a
// Baton with authentication off.
func TestEGPublishAuthOff(t *testing.T) {
	h := newHook(t, nil)
	cfg := basicConfig(h, h, h, h)
	cfg.EventGrid.AuthDisabled = true
	e := startEG(t, cfg, server.Options{})
	_ = e
	// The Go SDK sends no header with a nil key credential, even over HTTPS.
	c, err := azeventgrid.NewClientWithSharedKeyCredential(e.url()+"/customtopic/api/events", nil, &azeventgrid.ClientOptions{ClientOptions: e.clientOptions()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PublishCustomEventEvents(ctx(t), []any{map[string]any{"orderId": "anon"}}, nil); err != nil {
		t.Fatalf("publish without a credential: %v", err)
	}
	if ids := eventIDs(t, h.waitFor(1)); ids[0] != "anon" {
		t.Fatalf("ids = %v", ids)
	}
}

// TestEGPublishTopicListener: a topic with a listener of its own takes
// publishes on / and /api/events (what the .NET publisher sends), and
// dynamic delivery properties come from the event.
func TestEGPublishTopicListener(t *testing.T) {
	h := newHook(t, nil)
	cfg := config.Default()
	cfg.EventGrid.Topics = []config.EGTopic{
		{Name: "other", Keys: []string{egKey}},
		{Name: "dotnet", Listen: "127.0.0.1:0", Keys: []string{egKey}, Subscriptions: []config.EGSubscription{{
			Name: "dyn", EndpointURL: h.url(), DisableValidation: true,
			Headers:        map[string]string{"X-Static": "s"},
			DynamicHeaders: map[string]string{"X-Tenant": "data.tenant", "X-Count": "data.n", "X-Missing": "data.nope"},
		}}},
	}
	e := startEG(t, cfg, server.Options{})
	base := e.srv.EventGridTopicURL("dotnet")
	if base == "" {
		t.Fatal("no topic listener")
	}
	for i, path := range []string{"/?api-version=2018-01-01", "/api/events?api-version=2018-01-01"} {
		body := fmt.Sprintf(`[{"id":"p-%d","subject":"s","eventType":"T","eventTime":"2024-01-02T03:04:05Z","data":{"tenant":"acme","n":7}}]`, i)
		req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("aeg-sas-key", egKey)
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("POST %s: %d", path, resp.StatusCode)
		}
	}
	// Host addressing on the main listener: the first DNS label is the topic.
	for host, want := range map[string]int{"other.eventgrid.localhost:8443": 200, "dotnet.localhost": 200, "nope.localhost": 404} {
		req, _ := http.NewRequest(http.MethodPost, e.url()+"/api/events", strings.NewReader(`[{"id":"h","subject":"s","eventType":"T","eventTime":"2024-01-02T03:04:05Z","data":{"tenant":"acme","n":7}}]`))
		req.Host = host
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("aeg-sas-key", egKey)
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Host %s: %d, want %d", host, resp.StatusCode, want)
		}
	}
	ds := h.waitFor(3)
	for _, d := range ds {
		if d.header.Get("X-Tenant") != "acme" || d.header.Get("X-Count") != "7" || d.header.Get("X-Static") != "s" || d.header.Get("X-Missing") != "" {
			t.Errorf("delivery properties = %v", d.header)
		}
	}
}

// TestEGPublishCustomMapping: a custom topic with an inputSchemaMapping
// delivers EventGridEvents built from the published objects.
func TestEGPublishCustomMapping(t *testing.T) {
	h := newHook(t, nil)
	cfg := config.Default()
	cfg.EventGrid.Topics = []config.EGTopic{{Name: "mapped", InputSchema: "CustomEventSchema",
		InputSchemaMapping: json.RawMessage(`{"inputSchemaMappingType":"Json","properties":{"id":{"sourceField":"orderId"},"eventType":{"sourceField":"kind","defaultValue":"Order.Any"},"subject":{"defaultValue":"/orders"}}}`),
		Subscriptions:      []config.EGSubscription{{Name: "asgrid", EndpointURL: h.url(), EventDeliverySchema: "EventGridSchema"}}}}
	e := startEG(t, cfg, server.Options{})
	c, err := azeventgrid.NewClientWithSharedKeyCredential(e.url()+"/mapped/api/events", nil, &azeventgrid.ClientOptions{ClientOptions: e.clientOptions()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PublishCustomEventEvents(ctx(t), []any{map[string]any{"orderId": "o-7", "kind": "Order.Paid", "n": 1}}, nil); err != nil {
		t.Fatal(err)
	}
	var evs []map[string]any
	if err := json.Unmarshal(h.waitFor(1)[0].body, &evs); err != nil || len(evs) != 1 {
		t.Fatal(err)
	}
	ev := evs[0]
	if ev["id"] != "o-7" || ev["eventType"] != "Order.Paid" || ev["subject"] != "/orders" || ev["metadataVersion"] != "1" || ev["data"].(map[string]any)["n"] != float64(1) {
		t.Errorf("mapped event = %v", ev)
	}
}
