package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/messaging"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/aznamespaces"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/config"
	"github.com/batonmq/baton/internal/httpapi/eventgrid"
	"github.com/batonmq/baton/internal/server"
)

// nsConfig declares namespace topic "orders" (key egKey) with a
// subscription taking everything ("all", 3 deliveries at most) and one with
// a filter ("big": data.amount > 100).
func nsConfig() config.Config {
	cfg := config.Default()
	cfg.EventGrid.NamespaceTopics = []config.EGNamespaceTopic{{
		Name: "orders", Keys: []string{egKey},
		Subscriptions: []config.EGNamespaceSubscription{
			{Name: "all", MaxDeliveryCount: 3, ReceiveLockDurationInSeconds: 60},
			{Name: "big", FiltersConfiguration: json.RawMessage(`{"includedEventTypes":["Order.Created"],"filters":[{"operatorType":"NumberGreaterThan","key":"data.amount","value":100}]}`)},
		},
	}}
	return cfg
}

func (e *eg) nsClients(sub string) (*aznamespaces.SenderClient, *aznamespaces.ReceiverClient) {
	e.t.Helper()
	cred := azcore.NewKeyCredential(egKey)
	s, err := aznamespaces.NewSenderClientWithSharedKeyCredential(e.url(), "orders", cred, &aznamespaces.SenderClientOptions{ClientOptions: e.clientOptions()})
	if err != nil {
		e.t.Fatal(err)
	}
	r, err := aznamespaces.NewReceiverClientWithSharedKeyCredential(e.url(), "orders", sub, cred, &aznamespaces.ReceiverClientOptions{ClientOptions: e.clientOptions()})
	if err != nil {
		e.t.Fatal(err)
	}
	return s, r
}

func ce(t *testing.T, typ string, data any, opts *messaging.CloudEventOptions) messaging.CloudEvent {
	t.Helper()
	ev, err := messaging.NewCloudEvent("/baton/test", typ, data, opts)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func receive(t *testing.T, r *aznamespaces.ReceiverClient, n int32) []aznamespaces.ReceiveDetails {
	t.Helper()
	resp, err := r.ReceiveEvents(ctx(t), &aznamespaces.ReceiveEventsOptions{MaxEvents: to.Ptr(n), MaxWaitTime: to.Ptr(int32(10))})
	if err != nil {
		t.Fatalf("ReceiveEvents: %v", err)
	}
	return resp.Details
}

// TestEGNamespaceRoundTrip publishes single, batch and binary-data events
// with aznamespaces and receives, acknowledges, releases, rejects and
// renews them over TLS.
func TestEGNamespaceRoundTrip(t *testing.T) {
	e := startEG(t, nsConfig(), server.Options{})
	sender, all := e.nsClients("all")
	_, big := e.nsClients("big")

	subject := "orders/1"
	when := time.Date(2026, 1, 2, 3, 4, 5, 600000000, time.UTC)
	first := ce(t, "Order.Created", map[string]any{"amount": 150, "item": "baton"}, &messaging.CloudEventOptions{Subject: &subject, Time: &when, Extensions: map[string]any{"tenant": "acme", "priority": 5}})
	if _, err := sender.SendEvent(ctx(t), &first, nil); err != nil {
		t.Fatalf("SendEvent: %v", err)
	}
	batch := []*messaging.CloudEvent{
		to.Ptr(ce(t, "Order.Created", map[string]any{"amount": 5}, nil)),
		to.Ptr(ce(t, "Order.Binary", []byte{1, 2, 3, 0xff}, &messaging.CloudEventOptions{DataContentType: to.Ptr("application/octet-stream")})),
		to.Ptr(ce(t, "Order.Text", "plain text", &messaging.CloudEventOptions{DataContentType: to.Ptr("text/plain")})),
	}
	if _, err := sender.SendEvents(ctx(t), batch, nil); err != nil {
		t.Fatalf("SendEvents: %v", err)
	}

	got := receive(t, all, 10)
	if len(got) != 4 {
		t.Fatalf("received %d events from \"all\", want 4", len(got))
	}
	ev := got[0].Event
	if ev.ID != first.ID || ev.Type != "Order.Created" || ev.Source != "/baton/test" || ev.SpecVersion != "1.0" {
		t.Errorf("first event attributes = %+v", ev)
	}
	if ev.Subject == nil || *ev.Subject != subject || ev.Time == nil || !ev.Time.Equal(when) {
		t.Errorf("subject/time = %v/%v", ev.Subject, ev.Time)
	}
	if ev.Extensions["tenant"] != "acme" || ev.Extensions["priority"] != float64(5) {
		t.Errorf("extensions = %v", ev.Extensions)
	}
	var data map[string]any
	if err := json.Unmarshal(ev.Data.([]byte), &data); err != nil || data["amount"] != float64(150) {
		t.Errorf("data = %s (%v)", ev.Data, err)
	}
	if b := got[2].Event.Data.([]byte); !bytes.Equal(b, []byte{1, 2, 3, 0xff}) {
		t.Errorf("binary data = %v", b)
	}
	for i, d := range got {
		if *d.BrokerProperties.DeliveryCount != 1 {
			t.Errorf("event %d deliveryCount = %d, want 1", i, *d.BrokerProperties.DeliveryCount)
		}
	}
	tok := func(i int) string { return *got[i].BrokerProperties.LockToken }

	// The filtered subscription got only the big order.
	bigGot := receive(t, big, 10)
	if len(bigGot) != 1 || bigGot[0].Event.ID != first.ID {
		t.Fatalf("\"big\" received %d events, want only the first", len(bigGot))
	}
	if _, err := big.AcknowledgeEvents(ctx(t), []string{*bigGot[0].BrokerProperties.LockToken}, nil); err != nil {
		t.Fatal(err)
	}

	// renewLock, then acknowledge; a second acknowledge fails per token.
	rn, err := all.RenewEventLocks(ctx(t), []string{tok(0), "garbage"}, nil)
	if err != nil {
		t.Fatalf("RenewEventLocks: %v", err)
	}
	if len(rn.SucceededLockTokens) != 1 || len(rn.FailedLockTokens) != 1 {
		t.Fatalf("renew result = %+v", rn)
	}
	ack, err := all.AcknowledgeEvents(ctx(t), []string{tok(0)}, nil)
	if err != nil || len(ack.SucceededLockTokens) != 1 || len(ack.FailedLockTokens) != 0 {
		t.Fatalf("AcknowledgeEvents = %+v, %v", ack, err)
	}
	ack, err = all.AcknowledgeEvents(ctx(t), []string{tok(0)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ack.FailedLockTokens) != 1 || *ack.FailedLockTokens[0].Error.Code != "TokenLost" {
		t.Fatalf("second acknowledge = %+v", ack)
	}

	// reject → dead-letter; release → redelivered with deliveryCount 2.
	rj, err := all.RejectEvents(ctx(t), []string{tok(1)}, nil)
	if err != nil || len(rj.SucceededLockTokens) != 1 {
		t.Fatalf("RejectEvents = %+v, %v", rj, err)
	}
	rl, err := all.ReleaseEvents(ctx(t), []string{tok(2), tok(3)}, nil)
	if err != nil || len(rl.SucceededLockTokens) != 2 {
		t.Fatalf("ReleaseEvents = %+v, %v", rl, err)
	}
	again := receive(t, all, 10)
	if len(again) != 2 {
		t.Fatalf("after release received %d, want 2", len(again))
	}
	for _, d := range again {
		if *d.BrokerProperties.DeliveryCount != 2 {
			t.Errorf("redelivered deliveryCount = %d, want 2", *d.BrokerProperties.DeliveryCount)
		}
	}
	if s, ok := again[1].Event.Data.([]byte); !ok || string(s) != `"plain text"` {
		t.Errorf("text data = %q", again[1].Event.Data)
	}
	q := eventgrid.QueueName("default", "orders", "all")
	dl, err := e.broker().Peek(ctx(t), q+"/"+broker.DeadLetterSuffix, 0, 10, "")
	if err != nil || len(dl) != 1 || dl[0].DeadLetterReason != "Rejected" {
		t.Fatalf("dead-letter queue = %v, %v", dl, err)
	}
	// Two more releases exhaust maxDeliveryCount 3: the third delivery's
	// release dead-letters.
	toks := []string{*again[0].BrokerProperties.LockToken, *again[1].BrokerProperties.LockToken}
	if _, err := all.ReleaseEvents(ctx(t), toks, nil); err != nil {
		t.Fatal(err)
	}
	third := receive(t, all, 10)
	if len(third) != 2 || *third[0].BrokerProperties.DeliveryCount != 3 {
		t.Fatalf("third delivery = %d events", len(third))
	}
	if _, err := all.ReleaseEvents(ctx(t), []string{*third[0].BrokerProperties.LockToken, *third[1].BrokerProperties.LockToken}, nil); err != nil {
		t.Fatal(err)
	}
	dl, _ = e.broker().Peek(ctx(t), q+"/"+broker.DeadLetterSuffix, 0, 10, "")
	if len(dl) != 3 || dl[1].DeadLetterReason != "MaxDeliveryCountExceeded" {
		t.Fatalf("dead-letter queue after max deliveries = %d messages", len(dl))
	}
}

// TestEGNamespaceDelayedReleaseAndLockExpiry drives time with a fake clock:
// a release with a 10 s delay comes back only after 10 s with its delivery
// count, and an expired lock redelivers the event.
func TestEGNamespaceDelayedReleaseAndLockExpiry(t *testing.T) {
	fake := clock.NewFake(time.Now())
	e := startEG(t, nsConfig(), server.Options{Clock: fake})
	sender, all := e.nsClients("all")
	if _, err := sender.SendEvent(ctx(t), to.Ptr(ce(t, "Order.Created", map[string]any{"amount": 1}, nil)), nil); err != nil {
		t.Fatal(err)
	}
	got := receive(t, all, 1)
	if len(got) != 1 {
		t.Fatal("no event")
	}
	rl, err := all.ReleaseEvents(ctx(t), []string{*got[0].BrokerProperties.LockToken}, &aznamespaces.ReleaseEventsOptions{ReleaseDelayInSeconds: to.Ptr(aznamespaces.ReleaseDelayTenSeconds)})
	if err != nil || len(rl.SucceededLockTokens) != 1 {
		t.Fatalf("delayed release = %+v, %v", rl, err)
	}
	q := eventgrid.QueueName("default", "orders", "all")
	info, err := e.broker().GetEntity(q)
	if err != nil || info.Scheduled != 1 || info.Active != 0 {
		t.Fatalf("after a delayed release: %+v, %v", info.Counts, err)
	}
	fake.Advance(11 * time.Second)
	got = receive(t, all, 1)
	if len(got) != 1 || *got[0].BrokerProperties.DeliveryCount != 2 {
		t.Fatalf("after the delay: %d events", len(got))
	}
	// Let the lock expire: the event comes back with deliveryCount 3.
	fake.Advance(61 * time.Second)
	got = receive(t, all, 1)
	if len(got) != 1 || *got[0].BrokerProperties.DeliveryCount != 3 {
		t.Fatalf("after lock expiry: %v", got)
	}
	// The copy's lock expires: with maxDeliveryCount 3 reached, the event
	// is dead-lettered instead of a fourth delivery.
	defer func() {
		fake.Advance(61 * time.Second)
		if got := receiveNoWait(t, e, all); len(got) != 0 {
			t.Errorf("a fourth delivery: %v", got)
		}
		dl, _ := e.broker().Peek(ctx(t), q+"/"+broker.DeadLetterSuffix, 0, 10, "")
		if len(dl) != 1 || dl[0].DeadLetterReason != "MaxDeliveryCountExceeded" {
			t.Errorf("dead-letter queue = %v", dl)
		}
	}()
	// Renewals keep the lock for an hour after it was first taken, and no
	// longer.
	tok := []string{*got[0].BrokerProperties.LockToken}
	for i := range 70 {
		fake.Advance(59 * time.Second)
		rn, err := all.RenewEventLocks(ctx(t), tok, nil)
		if err != nil {
			t.Fatal(err)
		}
		if i*59+59 <= 3600 && len(rn.SucceededLockTokens) != 1 {
			t.Fatalf("renewal %d (%d s after the lock) failed: %+v", i, i*59+59, rn.FailedLockTokens[0].Error)
		}
		if i*59+59 > 3600 {
			if len(rn.FailedLockTokens) != 1 || *rn.FailedLockTokens[0].Error.Code != "TokenLost" {
				t.Fatalf("renewal %d s after the lock = %+v", i*59+59, rn)
			}
			return
		}
	}
	t.Fatal("renewals never stopped")
}

// rawPost sends a request with the topic key and returns status, error code
// and body.
func (e *eg) rawPost(path, contentType string, hdr map[string]string, body string) (int, string, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.url()+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "SharedAccessKey "+egKey)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("x-ms-error-code"), string(b)
}

// TestEGNamespaceErrors checks refusals at the door with Azure's envelope,
// binary-mode publishing, and how the SDK surfaces errors.
func TestEGNamespaceErrors(t *testing.T) {
	e := startEG(t, nsConfig(), server.Options{})
	ce := "application/cloudevents+json; charset=utf-8"
	cases := []struct {
		name, path, ct, body string
		hdr                  map[string]string
		status               int
		code                 string
	}{
		{"empty id", "/topics/orders:publish?api-version=2024-06-01", ce, `{"id":"","source":"/s","specversion":"1.0","type":"T"}`, nil, 400, "BadRequest"},
		{"bad time", "/topics/orders:publish", ce, `{"id":"1","source":"/s","specversion":"1.0","type":"T","time":"2024-01-01 00:00:00"}`, nil, 400, "BadRequest"},
		{"wrong specversion", "/topics/orders:publish", ce, `{"id":"1","source":"/s","specversion":"0.3","type":"T"}`, nil, 400, "BadRequest"},
		{"data and data_base64", "/topics/orders:publish", ce, `{"id":"1","source":"/s","specversion":"1.0","type":"T","data":1,"data_base64":"AQ=="}`, nil, 400, "BadRequest"},
		{"bad batch element", "/topics/orders:publish", "application/cloudevents-batch+json; charset=utf-8", `[{"id":"1","source":"/s","specversion":"1.0","type":"T"},{"id":"2"}]`, nil, 400, "BadRequest"},
		{"unknown topic", "/topics/nope:publish", ce, `{}`, nil, 404, "NotFound"},
		{"unknown subscription", "/topics/orders/eventsubscriptions/nope:receive", "", ``, nil, 404, "NotFound"},
		{"wrong key", "/topics/orders:publish", ce, `{}`, map[string]string{"Authorization": "SharedAccessKey d3Jvbmc="}, 401, "Unauthorized"},
		{"maxEvents 0", "/topics/orders/eventsubscriptions/all:receive?maxEvents=0", "", ``, nil, 400, "BadRequest"},
		{"maxWaitTime 500", "/topics/orders/eventsubscriptions/all:receive?maxWaitTime=500", "", ``, nil, 400, "BadRequest"},
		{"bad release delay", "/topics/orders/eventsubscriptions/all:release?releaseDelayInSeconds=5", "application/json", `{"lockTokens":["x"]}`, nil, 400, "BadRequest"},
		{"too large", "/topics/orders:publish", ce, `{"id":"1","source":"/s","specversion":"1.0","type":"T","data":"` + strings.Repeat("x", 1<<20) + `"}`, nil, 413, "RequestEntityTooLarge"},
	}
	for _, c := range cases {
		status, code, body := e.rawPost(c.path, c.ct, c.hdr, c.body)
		if status != c.status || code != c.code {
			t.Errorf("%s: %d %s (%s), want %d %s", c.name, status, code, body, c.status, c.code)
			continue
		}
		var env struct {
			Error struct{ Code, Message string }
		}
		if err := json.Unmarshal([]byte(body), &env); err != nil || env.Error.Code != c.code || env.Error.Message == "" {
			t.Errorf("%s: error body %q", c.name, body)
		}
	}
	// Nothing reached the queue.
	if info, _ := e.broker().GetEntity(eventgrid.QueueName("default", "orders", "all")); info.Active != 0 {
		ms, _ := e.broker().Peek(ctx(t), eventgrid.QueueName("default", "orders", "all"), 0, 5, "")
		t.Fatalf("refused publishes left %d events: %s", info.Active, ms[0].Body)
	}

	// Binary mode: ce-* headers and the body as data.
	status, code, body := e.rawPost("/topics/orders:publish", "application/json", map[string]string{
		"ce-id": "bin-1", "ce-source": "/bin", "ce-specversion": "1.0", "ce-type": "Order.Created", "ce-subject": "a%20b", "ce-myext": "x",
	}, `{"amount": 7}`)
	if status != 200 {
		t.Fatalf("binary publish: %d %s %s", status, code, body)
	}
	_, all := e.nsClients("all")
	got := receive(t, all, 1)
	if len(got) != 1 || got[0].Event.ID != "bin-1" || *got[0].Event.Subject != "a b" || got[0].Event.Extensions["myext"] != "x" {
		t.Fatalf("binary event = %+v", got)
	}
	if string(got[0].Event.Data.([]byte)) != `{"amount":7}` {
		t.Errorf("binary data = %s", got[0].Event.Data)
	}

	// The SDK surfaces a refused publish as a ResponseError.
	sender, _ := e.nsClients("all")
	_, err := sender.SendEvent(ctx(t), &messaging.CloudEvent{ID: "", Source: "/s", SpecVersion: "1.0", Type: "T"}, nil)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != 400 || re.ErrorCode != "BadRequest" {
		t.Fatalf("SendEvent of an empty id: %v", err)
	}
}

// TestEGNamespaceDeadLetterDir: with eventGrid.deadLetterDir, rejected
// events move from the dead-letter queue to files in Azure's namespace
// dead-letter layout.
func TestEGNamespaceDeadLetterDir(t *testing.T) {
	cfg := nsConfig()
	cfg.EventGrid.DeadLetterDir = t.TempDir()
	e := startEG(t, cfg, server.Options{})
	sender, all := e.nsClients("all")
	ev := ce(t, "Order.Created", map[string]any{"amount": 1}, nil)
	if _, err := sender.SendEvent(ctx(t), &ev, nil); err != nil {
		t.Fatal(err)
	}
	got := receive(t, all, 1)
	if _, err := all.RejectEvents(ctx(t), []string{*got[0].BrokerProperties.LockToken}, nil); err != nil {
		t.Fatal(err)
	}
	var files []string
	egWait(t, "the dead-letter file", func() bool {
		files, _ = filepath.Glob(filepath.Join(cfg.EventGrid.DeadLetterDir, "default", "orders", "all", "*", "*", "*", "*", "*.json"))
		return len(files) == 1
	})
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Event                struct{ ID string }
		DeadletterProperties map[string]any
	}
	if err := json.Unmarshal(b, &doc); err != nil || doc.Event.ID != ev.ID || doc.DeadletterProperties["deadletterreason"] != "Rejected" || doc.DeadletterProperties["deliveryattempts"] != float64(1) {
		t.Fatalf("dead-letter file %s: %v", b, err)
	}
	egWait(t, "the dead-letter queue to empty", func() bool {
		info, err := e.broker().GetEntity(eventgrid.QueueName("default", "orders", "all"))
		return err == nil && info.DeadLettered == 0
	})
}

// receiveNoWait receives with a fake clock: it returns what is available
// without waiting on the clock (the long poll is cut by a short context).
func receiveNoWait(t *testing.T, e *eg, r *aznamespaces.ReceiverClient) []aznamespaces.ReceiveDetails {
	t.Helper()
	c, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	resp, err := r.ReceiveEvents(c, &aznamespaces.ReceiveEventsOptions{MaxEvents: to.Ptr(int32(10)), MaxWaitTime: to.Ptr(int32(10))})
	if err != nil {
		return nil
	}
	return resp.Details
}
