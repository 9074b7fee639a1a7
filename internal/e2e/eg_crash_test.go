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
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/messaging"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/aznamespaces"
)

var egLine = regexp.MustCompile(`Event Grid listening.*?(https://127\.0\.0\.1:\d+)`)

// TestEGCrashKill9 publishes to a namespace topic of a `baton serve`
// process and kills it with SIGKILL mid-stream, several times: every
// publish that was answered 200 is received afterwards (unless an
// acknowledgement of it was sent), and no event whose acknowledgement was
// answered comes back.
func TestEGCrashKill9(t *testing.T) {
	dataDir := t.TempDir()
	cfgFile := filepath.Join(t.TempDir(), "baton.json")
	cfgJSON := `{"eventGrid":{"namespaceTopics":[{"name":"orders","keys":["` + egKey + `"],"eventSubscriptions":[{"name":"all"}]}]}}`
	if err := os.WriteFile(cfgFile, []byte(cfgJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	published := map[string]bool{} // publishes answered 200
	acked := map[string]bool{}     // acknowledgements answered
	acking := map[string]bool{}    // acknowledgements sent (answered or not)
	start := func() (*proc, *aznamespaces.SenderClient, *aznamespaces.ReceiverClient) {
		p := startBaton(t, "--data-dir", dataDir, "--config", cfgFile, "--log-level", "info")
		m := egLine.FindStringSubmatch(p.out.String())
		if m == nil {
			t.Fatalf("no Event Grid address in the log:\n%s", p.out.String())
		}
		pem, err := os.ReadFile(filepath.Join(dataDir, "tls", "ca.pem"))
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(pem)
		opts := azcore.ClientOptions{Transport: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}},
			Retry: policy.RetryOptions{MaxRetries: -1}}
		cred := azcore.NewKeyCredential(egKey)
		s, _ := aznamespaces.NewSenderClientWithSharedKeyCredential(m[1], "orders", cred, &aznamespaces.SenderClientOptions{ClientOptions: opts})
		r, _ := aznamespaces.NewReceiverClientWithSharedKeyCredential(m[1], "orders", "all", cred, &aznamespaces.ReceiverClientOptions{ClientOptions: opts})
		return p, s, r
	}
	for cycle := range 4 {
		p, s, r := start()
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; ; i++ {
				batch := make([]*messaging.CloudEvent, 10)
				ids := make([]string, 10)
				for j := range batch {
					ev, _ := messaging.NewCloudEvent("/crash", "T", map[string]int{"cycle": cycle}, nil)
					ev.ID = fmt.Sprintf("c%d-%d-%d", cycle, i, j)
					batch[j], ids[j] = &ev, ev.ID
				}
				if _, err := s.SendEvents(t.Context(), batch, nil); err != nil {
					return // killed
				}
				mu.Lock()
				for _, id := range ids {
					published[id] = true
				}
				mu.Unlock()
				// Acknowledge some of what is there.
				got, err := r.ReceiveEvents(t.Context(), &aznamespaces.ReceiveEventsOptions{MaxEvents: to.Ptr(int32(5)), MaxWaitTime: to.Ptr(int32(10))})
				if err != nil {
					return
				}
				var toks, tokIDs []string
				for _, d := range got.Details {
					toks, tokIDs = append(toks, *d.BrokerProperties.LockToken), append(tokIDs, d.Event.ID)
				}
				if len(toks) == 0 {
					continue
				}
				mu.Lock()
				for _, id := range tokIDs {
					acking[id] = true
				}
				mu.Unlock()
				res, err := r.AcknowledgeEvents(t.Context(), toks, nil)
				if err != nil {
					return
				}
				mu.Lock()
				for _, tok := range res.SucceededLockTokens {
					for k, tk := range toks {
						if tk == tok {
							acked[tokIDs[k]] = true
						}
					}
				}
				mu.Unlock()
			}
		}()
		// Kill after a while of traffic.
		egWait(t, "some publishes", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(published) >= (cycle+1)*150
		})
		p.kill()
		<-done
	}
	// Restart and drain: everything published and not acknowledged is there.
	p, _, r := start()
	defer p.stop()
	seen := map[string]bool{}
	for {
		got, err := r.ReceiveEvents(t.Context(), &aznamespaces.ReceiveEventsOptions{MaxEvents: to.Ptr(int32(100)), MaxWaitTime: to.Ptr(int32(10))})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Details) == 0 {
			break
		}
		var toks []string
		for _, d := range got.Details {
			seen[d.Event.ID] = true
			toks = append(toks, *d.BrokerProperties.LockToken)
			var data map[string]int
			if err := json.Unmarshal(d.Event.Data.([]byte), &data); err != nil {
				t.Fatalf("event %s: data %s", d.Event.ID, d.Event.Data)
			}
		}
		if _, err := r.AcknowledgeEvents(t.Context(), toks, nil); err != nil {
			t.Fatal(err)
		}
		if len(got.Details) < 100 {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	lost, resurrected := 0, 0
	for id := range published {
		if !acking[id] && !seen[id] {
			lost++ // an acknowledgement sent but unanswered may have been applied
		}
	}
	for id := range seen {
		if acked[id] {
			resurrected++
		}
	}
	if lost != 0 || resurrected != 0 {
		t.Fatalf("%d published events lost, %d acknowledged events resurrected", lost, resurrected)
	}
	t.Logf("4 kill -9 cycles: %d publishes and %d acknowledgements answered, %d events left; 0 lost, 0 resurrected", len(published), len(acked), len(seen))
}
