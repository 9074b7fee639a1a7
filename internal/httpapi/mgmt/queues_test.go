package mgmt

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

func TestHealthAndReady(t *testing.T) {
	t.Parallel()
	var ready atomic.Bool
	f := setupWith(t, setupOptions{ready: ready.Load})
	if code, body := f.raw("GET", "/healthz", ""); code != 200 || string(body) != "ok\n" {
		t.Fatalf("healthz: %d %q", code, body)
	}
	if code, _ := f.raw("GET", "/readyz", ""); code != 503 {
		t.Fatalf("readyz while not ready: %d", code)
	}
	wantAPIError(t, f.c.Ready(f.ctx), 503, "HTTP503")
	ready.Store(true)
	if err := f.c.Ready(f.ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	if err := f.c.Health(f.ctx); err != nil {
		t.Fatalf("Health: %v", err)
	}

	g := setup(t) // nil Ready: ready
	if code, _ := g.raw("GET", "/readyz", ""); code != 200 {
		t.Fatalf("readyz with nil Ready: %d", code)
	}
}

func TestQueueLifecycle(t *testing.T) {
	t.Parallel()
	f := setup(t)

	// Every property, durations in both syntaxes.
	code, body := f.raw("PUT", "/api/v1/queues/orders", `{
		"lockDuration": "PT30S", "maxDeliveryCount": 3, "defaultMessageTimeToLive": "1h",
		"deadLetteringOnMessageExpiration": true, "requiresDuplicateDetection": true,
		"duplicateDetectionHistoryTimeWindow": "PT10M", "maxSizeInMegabytes": 2048,
		"maxMessageSizeInKilobytes": 512, "autoDeleteOnIdle": "P1D", "forwardTo": "",
		"forwardDeadLetteredMessagesTo": "", "status": "active", "userMetadata": "team=payments"}`)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	var q Queue
	if err := json.Unmarshal(body, &q); err != nil {
		t.Fatal(err)
	}
	want := Queue{
		Name: "orders", LockDuration: Duration(30 * time.Second), MaxDeliveryCount: 3,
		DefaultMessageTimeToLive: Duration(time.Hour), DeadLetteringOnMessageExpiration: true,
		RequiresDuplicateDetection: true, DuplicateDetectionHistoryTimeWindow: Duration(10 * time.Minute),
		MaxSizeInMegabytes: 2048, MaxMessageSizeInKilobytes: 512, AutoDeleteOnIdle: Duration(24 * time.Hour),
		Status: "Active", UserMetadata: "team=payments", CreatedAt: epoch, UpdatedAt: epoch, AccessedAt: epoch,
	}
	if q != want {
		t.Fatalf("created:\n got %+v\nwant %+v", q, want)
	}
	// Durations come back in Go syntax.
	if !strings.Contains(string(body), `"lockDuration":"30s"`) || !strings.Contains(string(body), `"autoDeleteOnIdle":"24h0m0s"`) {
		t.Fatalf("durations not in Go syntax: %s", body)
	}

	// Defaults.
	d := f.queue("defaults", QueueProperties{})
	if d.LockDuration != Duration(time.Minute) || d.MaxDeliveryCount != 10 || d.DefaultMessageTimeToLive != Duration(broker.MaxDuration) ||
		d.MaxMessageSizeInKilobytes != 256 || d.Status != "Active" {
		t.Fatalf("defaults: %+v", d)
	}
	if d.DefaultMessageTimeToLive.String() != "never" {
		t.Fatalf("MaxDuration prints as %q", d.DefaultMessageTimeToLive.String())
	}

	// Exists.
	_, err := f.c.CreateQueue(f.ctx, "ORDERS", QueueProperties{})
	wantAPIError(t, err, 409, "EntityExists")

	// Get with counts.
	f.send("orders", "a", "bb")
	f.clock.Advance(time.Second)
	got, err := f.c.GetQueue(f.ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	if got.ActiveMessageCount != 2 || got.SizeInBytes != 3 || got.Name != "orders" {
		t.Fatalf("get: %+v", got)
	}

	// Patch merges: only lockDuration and userMetadata change.
	f.clock.Advance(time.Second)
	up, err := f.c.UpdateQueue(f.ctx, "orders", QueueProperties{LockDuration: dur(45 * time.Second), UserMetadata: ptr("v2")})
	if err != nil {
		t.Fatal(err)
	}
	w2 := want
	w2.LockDuration, w2.UserMetadata = Duration(45*time.Second), "v2"
	w2.ActiveMessageCount, w2.SizeInBytes = 2, 3
	w2.UpdatedAt = epoch.Add(2 * time.Second)
	w2.AccessedAt = up.AccessedAt
	if *up != w2 {
		t.Fatalf("patched:\n got %+v\nwant %+v", *up, w2)
	}
	// Status through PATCH: a disabled queue refuses sends with 403.
	if _, err := f.c.UpdateQueue(f.ctx, "orders", QueueProperties{Status: ptr("SendDisabled")}); err != nil {
		t.Fatal(err)
	}
	_, err = f.c.Send(f.ctx, "orders", TextMessage("x"))
	wantAPIError(t, err, 403, "EntityDisabled")

	// List, sorted by name.
	qs, err := f.c.ListQueues(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 2 || qs[0].Name != "defaults" || qs[1].Name != "orders" || qs[1].ActiveMessageCount != 2 {
		t.Fatalf("list: %+v", qs)
	}

	// Delete.
	if err := f.c.DeleteQueue(f.ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	_, err = f.c.GetQueue(f.ctx, "orders")
	ae := wantAPIError(t, err, 404, "NotFound")
	if ae.Message != `queue "orders" not found` || ae.Error() != `queue "orders" not found (NotFound)` {
		t.Fatalf("message %q", ae.Error())
	}
	wantAPIError(t, f.c.DeleteQueue(f.ctx, "orders"), 404, "NotFound")
	if code, _ := f.raw("DELETE", "/api/v1/queues/defaults", ""); code != http.StatusNoContent {
		t.Fatalf("delete: %d", code)
	}
	qs, err = f.c.ListQueues(f.ctx)
	if err != nil || len(qs) != 0 {
		t.Fatalf("list after delete: %v %+v", err, qs)
	}
	if code, body := f.raw("GET", "/api/v1/queues", ""); code != 200 || string(body) != `{"queues":[]}`+"\n" {
		t.Fatalf("empty list: %d %s", code, body)
	}
}

func TestQueueNameWithSlash(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.queue("orders/eu", QueueProperties{})
	if code, body := f.raw("GET", "/api/v1/queues/orders%2Feu", ""); code != 200 || !strings.Contains(string(body), `"name":"orders/eu"`) {
		t.Fatalf("GET with %%2F: %d %s", code, body)
	}
	// Unescaped, the slash makes another path: no such endpoint.
	f.wantError(404, "NotFound", "GET", "/api/v1/queues/orders/eu", "")
	f.send("orders/eu", "hello")
	msgs := f.receive("orders/eu", 1)
	if len(msgs) != 1 || *msgs[0].Body != "hello" {
		t.Fatalf("receive: %+v", msgs)
	}
	if err := f.c.Complete(f.ctx, "orders/eu", msgs[0].LockToken, false); err != nil {
		t.Fatal(err)
	}
	// A name cannot reach a dead-letter sub-queue by spelling it.
	f.wantError(400, "InvalidArgument", "GET", "/api/v1/queues/orders%2Feu%2F$DeadLetterQueue/messages", "")
	if err := f.c.DeleteQueue(f.ctx, "orders/eu"); err != nil {
		t.Fatal(err)
	}
}

func TestQueueBadInput(t *testing.T) {
	t.Parallel()
	f := setupWith(t, setupOptions{maxBytes: 1 << 10})
	f.queue("q", QueueProperties{})
	f.send("q", "one")
	before := f.state("q")

	cases := []struct {
		name, method, path, body string
		status                   int
		code                     string
		header                   []string
	}{
		{"name with space", "PUT", "/api/v1/queues/bad%20name", "", 400, "InvalidArgument", nil},
		{"name starting with dash", "PUT", "/api/v1/queues/-x", "", 400, "InvalidArgument", nil},
		{"name with empty segment", "PUT", "/api/v1/queues/a%2F%2Fb", "", 400, "InvalidArgument", nil},
		{"name too long", "PUT", "/api/v1/queues/" + strings.Repeat("a", 261), "", 400, "InvalidArgument", nil},
		{"get bad name", "GET", "/api/v1/queues/bad%20name", "", 400, "InvalidArgument", nil},
		{"malformed JSON", "PUT", "/api/v1/queues/new", `{"lockDuration":`, 400, "InvalidArgument", nil},
		{"not an object", "PUT", "/api/v1/queues/new", `[1]`, 400, "InvalidArgument", nil},
		{"trailing data", "PUT", "/api/v1/queues/new", `{} {}`, 400, "InvalidArgument", nil},
		{"unknown field", "PUT", "/api/v1/queues/new", `{"lockDurationz":"1s"}`, 400, "InvalidArgument", nil},
		{"bad duration", "PUT", "/api/v1/queues/new", `{"lockDuration":"thirty"}`, 400, "InvalidArgument", nil},
		{"numeric duration", "PUT", "/api/v1/queues/new", `{"lockDuration":30}`, 400, "InvalidArgument", nil},
		{"ISO years", "PUT", "/api/v1/queues/new", `{"lockDuration":"P1Y"}`, 400, "InvalidArgument", nil},
		{"negative duration", "PUT", "/api/v1/queues/new", `{"lockDuration":"-1s"}`, 400, "InvalidArgument", nil},
		{"zero duration", "PUT", "/api/v1/queues/new", `{"lockDuration":"0s"}`, 400, "InvalidArgument", nil},
		{"lock too long", "PUT", "/api/v1/queues/new", `{"lockDuration":"6m"}`, 400, "InvalidArgument", nil},
		{"zero delivery count", "PUT", "/api/v1/queues/new", `{"maxDeliveryCount":0}`, 400, "InvalidArgument", nil},
		{"wrong type", "PUT", "/api/v1/queues/new", `{"maxDeliveryCount":"3"}`, 400, "InvalidArgument", nil},
		{"int overflow", "PUT", "/api/v1/queues/new", `{"maxDeliveryCount":99999999999}`, 400, "InvalidArgument", nil},
		{"bad status", "PUT", "/api/v1/queues/new", `{"status":"Paused"}`, 400, "InvalidArgument", nil},
		{"bad forwardTo", "PUT", "/api/v1/queues/new", `{"forwardTo":"no such!"}`, 400, "InvalidArgument", nil},
		{"not JSON content", "PUT", "/api/v1/queues/new", `{}`, 415, "UnsupportedMediaType", []string{"Content-Type", "text/plain"}},
		{"form content", "POST", "/api/v1/queues/q/receive", `{}`, 415, "UnsupportedMediaType", []string{"Content-Type", "application/x-www-form-urlencoded"}},
		{"no content type", "POST", "/api/v1/queues/q/receive", ``, 415, "UnsupportedMediaType", []string{"Content-Type", ""}},
		{"no content type on resubmit", "POST", "/api/v1/queues/q/dlq/resubmit", ``, 415, "UnsupportedMediaType", []string{"Content-Type", ""}},
		{"bad content type", "PATCH", "/api/v1/queues/q", `{}`, 415, "UnsupportedMediaType", []string{"Content-Type", "application/json; charset"}},
		{"body over limit", "PUT", "/api/v1/queues/new", `{"userMetadata":"` + strings.Repeat("x", 2000) + `"}`, 413, "RequestTooLarge", nil},
		{"patch unknown queue", "PATCH", "/api/v1/queues/nope", `{}`, 404, "NotFound", nil},
		{"patch requiresSession", "PATCH", "/api/v1/queues/q", `{"requiresSession":true}`, 400, "InvalidArgument", nil},
		{"patch bad field", "PATCH", "/api/v1/queues/q", `{"maxSizeInMegabytes":0}`, 400, "InvalidArgument", nil},
		{"patch unknown field", "PATCH", "/api/v1/queues/q", `{"name":"r"}`, 400, "InvalidArgument", nil},
		{"delete unknown", "DELETE", "/api/v1/queues/nope", "", 404, "NotFound", nil},
		{"unknown route", "GET", "/api/v1/subscriptions", "", 404, "NotFound", nil},
		{"unknown queue route", "POST", "/api/v1/queues/q/purge", "", 404, "NotFound", nil},
		{"wrong method", "POST", "/api/v1/queues/q", "", 405, "MethodNotAllowed", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f.t = t
			f.wantError(tc.status, tc.code, tc.method, tc.path, tc.body, tc.header...)
		})
	}
	f.t = t
	f.unchanged("q", before)
	qs, err := f.c.ListQueues(f.ctx)
	if err != nil || len(qs) != 1 {
		t.Fatalf("a bad request created a queue: %v %+v", err, qs)
	}
	if q, _ := f.c.GetQueue(f.ctx, "q"); q.UpdatedAt != epoch || q.LockDuration != Duration(time.Minute) {
		t.Fatalf("a bad PATCH changed the queue: %+v", q)
	}
}

func TestStatusTable(t *testing.T) {
	t.Parallel()
	want := map[broker.Code]int{
		broker.CodeUnknown: 500, broker.CodeNotFound: 404, broker.CodeEntityExists: 409,
		broker.CodeLockLost: 410, broker.CodeSessionLockLost: 410, broker.CodeSessionCannotBeLocked: 409,
		broker.CodeMessageNotFound: 404, broker.CodeMessageTooLarge: 413, broker.CodeQuotaExceeded: 403,
		broker.CodeEntityDisabled: 403, broker.CodeInvalidArgument: 400, broker.CodeNotImplemented: 501,
		broker.CodeStoreUnavailable: 503, broker.CodeClosed: 503, broker.CodeTimeout: 408,
	}
	// Every code the broker defines (its String is a name, not "Code(n)")
	// maps to the status written down in doc.go.
	for c := broker.Code(0); !strings.HasPrefix(c.String(), "Code("); c++ {
		w, ok := want[c]
		if !ok {
			t.Errorf("broker code %v has no documented status; add it to statusOf and doc.go", c)
			continue
		}
		if got := statusOf(c); got != w {
			t.Errorf("statusOf(%v) = %d, want %d", c, got, w)
		}
	}
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	ok := map[string]time.Duration{
		"30s": 30 * time.Second, "1h30m": 90 * time.Minute, "PT30S": 30 * time.Second, "pt1m": time.Minute,
		"P1D": 24 * time.Hour, "P1DT2H3M4.5S": 26*time.Hour + 3*time.Minute + 4500*time.Millisecond,
		"P2W": 14 * 24 * time.Hour, "PT0,5S": 500 * time.Millisecond, "never": broker.MaxDuration,
		"P10675199DT2H48M5.4775807S": broker.MaxDuration, "P99999999D": broker.MaxDuration,
	}
	for in, want := range ok {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "P", "PT", "P1Y", "P1M", "PT1D", "P1H", "PT1.5M", "PT1S1S", "P1DT", "-1s", "1x", "PTS", "P1.5.5D", "PT1SX", "P1TT1S"} {
		if got, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", in, got)
		}
	}
}
