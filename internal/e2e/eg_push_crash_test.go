package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azeventgrid"
)

// egBanner is the Event Grid line of the ready banner of `baton serve`.
var egBanner = regexp.MustCompile(`Event Grid:\s+(https://127\.0\.0\.1:\d+)`)

// TestEGPushCrashKill9: push retries are broker state that survives a
// SIGKILL. A `baton serve` child process pushes to a webhook that answers
// 503 to every delivery; once retries happened, Baton is killed with
// SIGKILL, the webhook recovers, and Baton restarted on the same data
// directory delivers every published event at least once.
func TestEGPushCrashKill9(t *testing.T) {
	const n = 50
	var up atomic.Bool
	h := newHook(t, func(int) int {
		if up.Load() {
			return http.StatusOK
		}
		return http.StatusServiceUnavailable
	})
	dataDir := t.TempDir()
	cfgFile := filepath.Join(t.TempDir(), "baton.json")
	// retryScale 200: the 503 retries come after 150 ms, 300 ms, 1.5 s, 3 s…
	cfgJSON, err := json.Marshal(map[string]any{"eventGrid": map[string]any{
		"retryScale": 200,
		"topics": []any{map[string]any{
			"name": "crashpush", "inputSchema": "EventGridSchema", "keys": []string{egKey},
			"eventSubscriptions": []any{map[string]any{"name": "hook", "endpointUrl": h.url(), "disableValidation": true}},
		}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgFile, cfgJSON, 0o644); err != nil {
		t.Fatal(err)
	}
	start := func() (*proc, *azeventgrid.Client) {
		t.Helper()
		p := startBaton(t, "--data-dir", dataDir, "--config", cfgFile)
		m := egBanner.FindStringSubmatch(p.out.String())
		if m == nil {
			t.Fatalf("no Event Grid address in the banner:\n%s", p.out.String())
		}
		pem, err := os.ReadFile(filepath.Join(dataDir, "tls", "ca.pem"))
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(pem)
		opts := azcore.ClientOptions{Transport: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}},
			Retry: policy.RetryOptions{MaxRetries: -1}}
		c, err := azeventgrid.NewClientWithSharedKeyCredential(m[1]+"/crashpush/api/events", azcore.NewKeyCredential(egKey), &azeventgrid.ClientOptions{ClientOptions: opts})
		if err != nil {
			t.Fatal(err)
		}
		return p, c
	}

	p, c := start()
	want := map[string]bool{}
	for b := range n / 10 {
		var evs []azeventgrid.Event
		for i := range 10 {
			g := genEvent{id: fmt.Sprintf("pc-%02d", b*10+i), typ: "T", subject: "/crash"}
			evs = append(evs, g.event())
			want[g.id] = true
		}
		if _, err := c.PublishEvents(ctx(t), evs, nil); err != nil {
			t.Fatalf("PublishEvents: %v", err)
		}
	}
	// Every event failed at least once and some were retried.
	waitHook(t, h, "retries", 60*time.Second, func() bool { return h.tries() >= n+n/2 })
	failed := h.tries()
	p.kill()

	if got := len(h.got()); got != 0 {
		t.Fatalf("%d deliveries accepted while the webhook was down", got)
	}
	up.Store(true)
	p, _ = start()
	defer p.stop()
	var ids []string
	waitHook(t, h, "every event delivered after the restart", 60*time.Second, func() bool {
		ids = eventIDs(t, h.got())
		seen := map[string]bool{}
		for _, id := range ids {
			seen[id] = true
		}
		for id := range want {
			if !seen[id] {
				return false
			}
		}
		return true
	})
	seen := map[string]bool{}
	for _, id := range ids {
		if !want[id] {
			t.Errorf("delivered an event never published: %q", id)
		}
		seen[id] = true
	}
	t.Logf("%d events, %d failed attempts before SIGKILL, %d deliveries after the restart (%d duplicates)",
		n, failed, len(ids), len(ids)-len(seen))
}

// waitHook waits for cond, woken by each delivery attempt the webhook
// answers, until the deadline.
func waitHook(t *testing.T, h *hook, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-h.changed:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s (%d attempts, %d accepted)", what, h.tries(), len(h.got()))
		}
	}
}
