package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azeventgrid"

	"github.com/batonmq/baton/internal/config"
	"github.com/batonmq/baton/internal/httpapi/eventgrid"
	"github.com/batonmq/baton/internal/server"
)

// mcall makes one management request with a plain HTTP client and
// decodes the JSON answer (nil out: ignored).
func mcall(t *testing.T, c *http.Client, method, url string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx(t), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil || method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, url, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

// jpath reads a nested value of a decoded JSON object ("properties.destination.endpointType").
func jpath(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// TestEGManageRuntime: topics and subscriptions made through Baton's JSON
// API on the management listener route events at once, keep ARM's shapes,
// survive a restart, and go away when deleted; declarations of the config
// file are read-only there.
func TestEGManageRuntime(t *testing.T) {
	h := newHook(t, nil)
	cfg := config.Default()
	cfg.DataDir = t.TempDir() // durable: definitions must survive the restart
	cfg.Listen.Mgmt = "127.0.0.1:0"
	cfg.EventGrid.RetryScale = 1000
	cfg.EventGrid.Topics = []config.EGTopic{{Name: "fixed"}}
	e := startEG(t, cfg, server.Options{})
	api := func() string { return e.srv.MgmtURL() + "/api/v1/eventgrid" }
	hc := http.DefaultClient

	var topic map[string]any
	if st := mcall(t, hc, "PUT", api()+"/topics/orders", map[string]any{"properties": map[string]any{"inputSchema": "EventGridSchema"}}, &topic); st != 201 {
		t.Fatalf("PUT topic: %d %v", st, topic)
	}
	if topic["type"] != "Microsoft.EventGrid/topics" || topic["name"] != "orders" ||
		jpath(topic, "properties.inputSchema") != "EventGridSchema" || jpath(topic, "properties.provisioningState") != "Succeeded" ||
		!strings.HasSuffix(topic["id"].(string), "/providers/Microsoft.EventGrid/topics/orders") ||
		jpath(topic, "properties.endpoint") != e.url()+"/orders/api/events" {
		t.Errorf("topic resource: %v", topic)
	}
	subBody := map[string]any{"properties": map[string]any{
		"destination": map[string]any{"endpointType": "WebHook", "properties": map[string]any{"endpointUrl": h.url()}},
		"filter":      map[string]any{"includedEventTypes": []string{"Order.Created"}, "subjectBeginsWith": "/eu/"},
		"retryPolicy": map[string]any{"maxDeliveryAttempts": 5, "eventTimeToLiveInMinutes": 60},
	}}
	var sub map[string]any
	if st := mcall(t, hc, "PUT", api()+"/topics/orders/eventSubscriptions/billing", subBody, &sub); st != 201 {
		t.Fatalf("PUT subscription: %d %v", st, sub)
	}
	if sub["type"] != "Microsoft.EventGrid/eventSubscriptions" ||
		!strings.HasSuffix(sub["id"].(string), "/topics/orders/providers/Microsoft.EventGrid/eventSubscriptions/billing") ||
		jpath(sub, "properties.destination.endpointType") != "WebHook" ||
		jpath(sub, "properties.destination.properties.endpointBaseUrl") != strings.Split(h.url(), "?")[0] ||
		jpath(sub, "properties.destination.properties.endpointUrl") != nil ||
		jpath(sub, "properties.retryPolicy.maxDeliveryAttempts") != float64(5) ||
		jpath(sub, "properties.retryPolicy.eventTimeToLiveInMinutes") != float64(60) ||
		jpath(sub, "properties.filter.subjectBeginsWith") != "/eu/" ||
		!strings.HasSuffix(jpath(sub, "properties.topic").(string), "/topics/orders") {
		t.Errorf("subscription resource: %v", sub)
	}
	// A second PUT replaces it: 200.
	if st := mcall(t, hc, "PUT", api()+"/topics/orders/eventSubscriptions/billing", subBody, nil); st != 200 {
		t.Errorf("PUT again: %d, want 200", st)
	}
	var full map[string]string
	if st := mcall(t, hc, "POST", api()+"/topics/orders/eventSubscriptions/billing/getFullUrl", nil, &full); st != 200 || full["endpointUrl"] != h.url() {
		t.Errorf("getFullUrl: %d %v", st, full)
	}

	publish := func(ids ...string) {
		t.Helper()
		var evs []azeventgrid.Event
		for _, id := range ids {
			typ, subj := "Order.Created", "/eu/"+id
			if strings.HasPrefix(id, "skip") {
				typ = "Order.Deleted"
			}
			evs = append(evs, genEvent{id: id, typ: typ, subject: subj}.event())
		}
		if _, err := e.publisher("orders").PublishEvents(ctx(t), evs, nil); err != nil {
			t.Fatal(err)
		}
	}
	publish("a-1", "skip-1", "a-2")
	got := eventIDs(t, h.waitFor(2))
	slices.Sort(got)
	if !slices.Equal(got, []string{"a-1", "a-2"}) {
		t.Fatalf("delivered %v", got)
	}

	var lst struct{ Value []map[string]any }
	if st := mcall(t, hc, "GET", api()+"/topics", nil, &lst); st != 200 || len(lst.Value) != 2 {
		t.Fatalf("list topics: %d %v", st, lst)
	}
	if jpath(lst.Value[0], "properties.baton.declaredIn") != "config" || jpath(lst.Value[1], "properties.baton.declaredIn") != "api" {
		t.Errorf("declaredIn: %v", lst.Value)
	}
	// The config file's topic is read-only here; subscriptions may be added to it.
	if st := mcall(t, hc, "DELETE", api()+"/topics/fixed", nil, nil); st != 409 {
		t.Errorf("DELETE of a config topic: %d, want 409", st)
	}
	if st := mcall(t, hc, "PUT", api()+"/topics/fixed/eventSubscriptions/extra", map[string]any{"properties": map[string]any{
		"destination": map[string]any{"endpointType": "WebHook", "properties": map[string]any{"endpointUrl": h.url()}}}}, nil); st != 201 {
		t.Errorf("PUT a subscription on a config topic: %d", st)
	}
	// Bad declarations get 400 and change nothing.
	var bad map[string]any
	if st := mcall(t, hc, "PUT", api()+"/topics/orders/eventSubscriptions/broken", map[string]any{"properties": map[string]any{
		"destination": map[string]any{"endpointType": "WebHook", "properties": map[string]any{"endpointUrl": "ftp://x"}}}}, &bad); st != 400 {
		t.Errorf("bad endpoint: %d %v", st, bad)
	}
	if st := mcall(t, hc, "PUT", api()+"/topics/orders/eventSubscriptions/hub", map[string]any{"properties": map[string]any{
		"destination": map[string]any{"endpointType": "EventHub", "properties": map[string]any{"resourceId": "x"}}}}, &bad); st != 501 || jpath(bad, "error.code") != "NotImplemented" {
		t.Errorf("EventHub destination: %d %v", st, bad)
	}
	if st := mcall(t, hc, "GET", api()+"/topics/orders/eventSubscriptions/broken", nil, nil); st != 404 {
		t.Errorf("GET of a refused subscription: %d", st)
	}

	e.restart()
	if st := mcall(t, hc, "GET", api()+"/topics/orders/eventSubscriptions/billing", nil, &sub); st != 200 || jpath(sub, "properties.baton.declaredIn") != "api" {
		t.Fatalf("after restart: %d %v", st, sub)
	}
	publish("a-3")
	got = eventIDs(t, h.waitFor(3))
	if !slices.Contains(got, "a-3") {
		t.Fatalf("after restart delivered %v", got)
	}

	if st := mcall(t, hc, "DELETE", api()+"/topics/orders/eventSubscriptions/billing", nil, nil); st != 200 {
		t.Errorf("DELETE: %d", st)
	}
	if st := mcall(t, hc, "DELETE", api()+"/topics/orders/eventSubscriptions/billing", nil, nil); st != 204 {
		t.Errorf("DELETE again: %d, want 204", st)
	}
	if _, err := e.broker().GetEntity(eventgrid.TopicQueueName("orders", "billing")); err == nil {
		t.Error("the subscription's queue outlived it")
	}
	if st := mcall(t, hc, "DELETE", api()+"/topics/orders", nil, nil); st != 200 {
		t.Errorf("DELETE topic: %d", st)
	}
	e.restart()
	if st := mcall(t, hc, "GET", api()+"/topics/orders", nil, nil); st != 404 {
		t.Errorf("a deleted topic came back after restart: %d", st)
	}
	if st := mcall(t, hc, "GET", api()+"/topics/fixed/eventSubscriptions/extra", nil, nil); st != 200 {
		t.Errorf("the subscription added to the config topic is gone after restart: %d", st)
	}
}

// TestEGManageARM: ARM's paths on the Event Grid listener, with ARM's
// bodies, for basic topics (both path forms) and namespace topics.
func TestEGManageARM(t *testing.T) {
	cfg := config.Default()
	cfg.EventGrid.Keys = []string{egKey}
	cfg.EventGrid.Namespace = "ns1"
	e := startEG(t, cfg, server.Options{})
	const rg = "/subscriptions/5b4b650e-28b9-4790-b3ab-ddbd88d727c4/resourceGroups/examplerg/providers/Microsoft.EventGrid"
	const v = "?api-version=2025-02-15"
	arm := func(method, path string, body any, out any) int {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx(t), method, e.url()+rg+path, nil)
		if body != nil {
			b, _ := json.Marshal(body)
			req.Body = io.NopCloser(bytes.NewReader(b))
			req.ContentLength = int64(len(b))
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("aeg-sas-key", egKey)
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if out != nil && len(b) > 0 {
			if err := json.Unmarshal(b, out); err != nil {
				t.Fatalf("%s: %s", path, b)
			}
		}
		return resp.StatusCode
	}
	var errBody map[string]any
	if st := arm("GET", "/topics", nil, &errBody); st != 400 || jpath(errBody, "error.code") != "MissingApiVersionParameter" {
		t.Errorf("no api-version: %d %v", st, errBody)
	}
	if st := arm("PUT", "/topics/exampletopic1"+v, map[string]any{"location": "westus2", "properties": map[string]any{}}, nil); st != 201 {
		t.Fatalf("PUT topic: %d", st)
	}
	var keys map[string]string
	if st := arm("POST", "/topics/exampletopic1/listKeys"+v, nil, &keys); st != 200 || keys["key1"] != egKey {
		t.Errorf("listKeys: %d %v", st, keys)
	}
	// ARM's example: a storage queue destination with a dead-letter blob (2025-02-15 examples).
	body := map[string]any{"properties": map[string]any{
		"destination": map[string]any{"endpointType": "StorageQueue", "properties": map[string]any{
			"resourceId": "/subscriptions/d33c5f7a-02ea-40f4-bf52-07f17e84d6a8/resourceGroups/TestRG/providers/Microsoft.Storage/storageAccounts/contosostg",
			"queueName":  "queue1"}},
		"filter": map[string]any{"isSubjectCaseSensitive": false, "subjectBeginsWith": "ExamplePrefix", "subjectEndsWith": "ExampleSuffix"},
		"deadLetterDestination": map[string]any{"endpointType": "StorageBlob", "properties": map[string]any{
			"resourceId":        "/subscriptions/55f3dcd4-cac7-43b4-990b-a139d62a1eb2/resourceGroups/TestRG/providers/Microsoft.Storage/storageAccounts/contosostg",
			"blobContainerName": "contosocontainer"}},
	}}
	var sub map[string]any
	// The scope form (EventSubscriptions_CreateOrUpdate with the topic as scope).
	if st := arm("PUT", "/topics/exampletopic1/providers/Microsoft.EventGrid/eventSubscriptions/examplesubscription1"+v, body, &sub); st != 201 {
		t.Fatalf("PUT subscription: %d %v", st, sub)
	}
	wantID := rg + "/topics/exampletopic1/providers/Microsoft.EventGrid/eventSubscriptions/examplesubscription1"
	if sub["id"] != wantID || sub["name"] != "examplesubscription1" || sub["type"] != "Microsoft.EventGrid/eventSubscriptions" ||
		jpath(sub, "properties.destination.endpointType") != "StorageQueue" ||
		jpath(sub, "properties.destination.properties.queueName") != "queue1" ||
		jpath(sub, "properties.deadLetterDestination.properties.blobContainerName") != "contosocontainer" ||
		jpath(sub, "properties.topic") != rg+"/topics/exampletopic1" ||
		jpath(sub, "properties.filter.subjectEndsWith") != "ExampleSuffix" {
		t.Errorf("subscription: %v", sub)
	}
	// The topic-scoped form reads the same resource.
	var again map[string]any
	if st := arm("GET", "/topics/exampletopic1/eventSubscriptions/examplesubscription1"+v, nil, &again); st != 200 || again["id"] != wantID {
		t.Errorf("GET: %d %v", st, again)
	}
	// PATCH (EventSubscriptions_Update): what the body gives replaces, the rest stays.
	var patched map[string]any
	if st := arm("PATCH", "/topics/exampletopic1/eventSubscriptions/examplesubscription1"+v, map[string]any{"properties": map[string]any{
		"retryPolicy": map[string]any{"maxDeliveryAttempts": 7, "eventTimeToLiveInMinutes": 30}, "labels": []string{"l1"}}}, &patched); st != 200 ||
		jpath(patched, "properties.retryPolicy.maxDeliveryAttempts") != float64(7) || jpath(patched, "properties.destination.properties.queueName") != "queue1" ||
		jpath(patched, "properties.filter.subjectEndsWith") != "ExampleSuffix" {
		t.Errorf("PATCH: %d %v", st, patched)
	}
	if st := arm("PATCH", "/topics/exampletopic1/eventSubscriptions/nosuch"+v, map[string]any{"properties": map[string]any{}}, nil); st != 404 {
		t.Errorf("PATCH of a missing subscription: %d", st)
	}
	var lst struct{ Value []map[string]any }
	if st := arm("GET", "/topics/exampletopic1/eventSubscriptions"+v, nil, &lst); st != 200 || len(lst.Value) != 1 {
		t.Errorf("list: %d %v", st, lst)
	}

	// Namespace topics and subscriptions (NamespaceTopics_CreateOrUpdate, NamespaceTopicEventSubscriptions_Get).
	var nt map[string]any
	if st := arm("PUT", "/namespaces/ns1/topics/examplenamespacetopic2"+v, map[string]any{"properties": map[string]any{
		"publisherType": "Custom", "inputSchema": "CloudEventSchemaV1_0", "eventRetentionInDays": 1}}, &nt); st != 201 ||
		nt["type"] != "Microsoft.EventGrid/namespaces/topics" || jpath(nt, "properties.eventRetentionInDays") != float64(1) {
		t.Fatalf("PUT namespace topic: %d %v", st, nt)
	}
	var ns map[string]any
	if st := arm("PUT", "/namespaces/ns1/topics/examplenamespacetopic2/eventSubscriptions/examplenamespacetopicEventSub1"+v, map[string]any{"properties": map[string]any{
		"deliveryConfiguration": map[string]any{"deliveryMode": "Queue", "queue": map[string]any{"receiveLockDurationInSeconds": 60, "maxDeliveryCount": 4, "eventTimeToLive": "P1D"}},
		"eventDeliverySchema":   "CloudEventSchemaV1_0"}}, &ns); st != 201 {
		t.Fatalf("PUT namespace subscription: %d %v", st, ns)
	}
	if ns["type"] != "Microsoft.EventGrid/namespaces/topics/eventSubscriptions" ||
		ns["id"] != rg+"/namespaces/ns1/topics/examplenamespacetopic2/eventSubscriptions/examplenamespacetopicEventSub1" ||
		jpath(ns, "properties.deliveryConfiguration.queue.maxDeliveryCount") != float64(4) ||
		jpath(ns, "properties.deliveryConfiguration.queue.eventTimeToLive") != "P1D" ||
		jpath(ns, "properties.deliveryConfiguration.deliveryMode") != "Queue" {
		t.Errorf("namespace subscription: %v", ns)
	}
	if st := arm("PUT", "/namespaces/ns1/topics/examplenamespacetopic2/eventSubscriptions/pushy"+v, map[string]any{"properties": map[string]any{
		"deliveryConfiguration": map[string]any{"deliveryMode": "Push"}}}, &errBody); st != 501 {
		t.Errorf("push namespace subscription: %d %v", st, errBody)
	}
	if st := arm("GET", "/namespaces/other/topics"+v, nil, nil); st != 404 {
		t.Errorf("another namespace: %d", st)
	}
	// Without the key: 401.
	req, _ := http.NewRequestWithContext(ctx(t), "GET", e.url()+rg+"/topics"+v, nil)
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("no key: %d", resp.StatusCode)
	}
	if st := arm("DELETE", "/namespaces/ns1/topics/examplenamespacetopic2"+v, nil, nil); st != 200 {
		t.Errorf("DELETE namespace topic: %d", st)
	}
	if _, err := e.broker().GetEntity(eventgrid.QueueName("ns1", "examplenamespacetopic2", "examplenamespacetopicEventSub1")); err == nil {
		t.Error("the namespace subscription's queue outlived its topic")
	}
}
