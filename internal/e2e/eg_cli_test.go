package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azeventgrid"
)

// TestEGCLI drives `baton eg` against a `baton serve` process: topics and
// subscriptions made with the CLI route events, survive a restart of the
// server, and their dead-lettered events can be listed and resubmitted.
func TestEGCLI(t *testing.T) {
	var healthy atomic.Bool
	h := newHook(t, func(int) int {
		if healthy.Load() {
			return http.StatusOK
		}
		return http.StatusBadRequest // not retried: dead-lettered at once
	})
	dir := t.TempDir()
	p := startBaton(t, "--data-dir", dir)
	run := func(code int, want string, args ...string) string {
		t.Helper()
		out, errOut, got := p.baton(t, args...)
		if got != code || !strings.Contains(out+errOut, want) {
			t.Fatalf("baton %s: exit %d, stdout %q, stderr %q; want exit %d and %q", strings.Join(args, " "), got, out, errOut, code, want)
		}
		return out
	}
	run(0, "created orders", "eg", "topic", "create", "orders", "--schema", "EventGridSchema")
	run(0, "created hook", "eg", "sub", "create", "orders", "hook", "--endpoint", h.url(), "--event-type", "Order.Created",
		"--max-attempts", "3", "--event-ttl", "30", "--dead-letter", "devstoreaccount1/deadletters", "--header", "X-Team=billing")
	run(0, "WebHook", "eg", "sub", "list", "orders")
	show := run(0, `"maxDeliveryAttempts": 3`, "eg", "sub", "show", "orders", "hook")
	if !strings.Contains(show, `"blobContainerName": "deadletters"`) || strings.Contains(show, "code=secret") {
		t.Errorf("sub show: %s", show)
	}
	run(2, "exactly one of", "eg", "sub", "create", "orders", "two", "--endpoint", h.url(), "--servicebus-queue", "q")
	run(1, "NotFound", "eg", "sub", "create", "nosuchtopic", "x1y", "--endpoint", h.url())
	run(0, "created jobs", "eg", "ns", "topic", "create", "jobs")
	run(0, "created workers", "eg", "ns", "sub", "create", "jobs", "workers", "--max-delivery-count", "3", "--event-type", "Job.Queued")
	run(0, "workers", "eg", "ns", "sub", "list", "jobs")

	// The server's Event Grid URL is in the topic's endpoint; trust its CA.
	topic := run(0, "/orders/api/events", "eg", "topic", "show", "orders")
	i := strings.Index(topic, "https://")
	endpoint := topic[i : i+strings.Index(topic[i:], `"`)]
	pem, err := os.ReadFile(filepath.Join(dir, "tls", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	pub, err := azeventgrid.NewClientWithSharedKeyCredential(endpoint, azcore.NewKeyCredential(egKey), &azeventgrid.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}, Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.PublishEvents(ctx(t), []azeventgrid.Event{genEvent{id: "c-1", typ: "Order.Created", subject: "/o/1"}.event()}, nil); err != nil {
		t.Fatal(err)
	}
	egWait(t, "the first attempt", func() bool { return h.tries() >= 1 })
	var list string
	egWait(t, "the dead-lettered event", func() bool {
		out, _, _ := p.baton(t, "eg", "dlq", "list", "orders", "hook")
		list = out
		return strings.Contains(out, "reason=UndeliverableDueToHttpBadRequest")
	})
	if !strings.Contains(list, "id=c-1") || !strings.Contains(list, "lastHttpStatusCode=400") {
		t.Errorf("dlq list: %s", list)
	}

	// kill -9 the server: the definitions and the dead letter are still there.
	p.kill()
	p = startBaton(t, "--data-dir", dir)
	run(0, "c-1", "eg", "dlq", "list", "orders", "hook")
	healthy.Store(true)
	run(0, "resubmitted 1 event", "eg", "dlq", "resubmit", "orders", "hook")
	d := h.waitFor(1)
	if ids := eventIDs(t, d); len(ids) != 1 || ids[0] != "c-1" || d[0].header.Get("X-Team") != "billing" {
		t.Errorf("delivered %v, headers %v", ids, d[0].header)
	}
	run(0, "no dead-lettered events", "eg", "dlq", "list", "orders", "hook")
	run(0, "deleted orders/hook", "eg", "sub", "delete", "orders", "hook")
	run(1, "does not exist", "eg", "sub", "delete", "orders", "hook")
	run(0, "deleted orders", "eg", "topic", "delete", "orders")
	run(0, "deleted jobs/workers", "eg", "ns", "sub", "delete", "jobs", "workers")
	out := run(0, "NAME", "eg", "topic", "list")
	if strings.Contains(out, "orders") {
		t.Errorf("topic list after delete: %s", out)
	}
}
