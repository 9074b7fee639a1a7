package eventgrid

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/store/filestore"
	"github.com/batonmq/baton/internal/store/memstore"
	"github.com/batonmq/baton/internal/vfs"
	"github.com/batonmq/baton/internal/wal"
)

// benchFace is the face over a broker on the named store ("memory" or
// "fsync": the filestore with group-committed fsync, Baton's default),
// with a basic topic "bench" (one subscription queue, no push worker) and
// a namespace topic "ns" with subscription "sub".
func benchFace(b *testing.B, store string) (*Handler, *broker.Broker) {
	b.Helper()
	var st broker.Store = memstore.New()
	if store == "fsync" {
		fs, err := filestore.Open(vfs.OS{}, b.TempDir(), filestore.Config{Sync: wal.SyncAlways, SegmentSize: 128 << 20})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { fs.Close() })
		st = fs
	}
	br, err := broker.New(broker.Config{Store: st})
	if err != nil {
		b.Fatal(err)
	}
	if err := br.Open(b.Context()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { br.Close() })
	h, err := New(b.Context(), Config{Broker: br,
		Topics:          []TopicSpec{{Name: "bench", InputSchema: "EventGridSchema", Subscriptions: []SubscriptionSpec{{Name: "sub", EndpointURL: "http://127.0.0.1:1/unused"}}}},
		NamespaceTopics: []NamespaceTopicSpec{{Name: "nst", Subscriptions: []NamespaceSubscriptionSpec{{Name: "sub"}}}},
	})
	if err != nil {
		b.Fatal(err)
	}
	return h, br
}

var payload = strings.Repeat("x", 1024-200) // with the envelope, ~1 KB per event

func egBatch(n int) []byte {
	var sb strings.Builder
	sb.WriteByte('[')
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"id":"id-%d","subject":"/bench/%d","eventType":"Bench.Event","eventTime":"2026-01-02T03:04:05.6Z","dataVersion":"1","data":{"p":"%s"}}`, i, i, payload)
	}
	sb.WriteByte(']')
	return []byte(sb.String())
}

func ceBatch(n int) []byte {
	var sb strings.Builder
	sb.WriteByte('[')
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"id":"id-%d","source":"/bench","specversion":"1.0","type":"Bench.Event","time":"2026-01-02T03:04:05.6Z","data":{"p":"%s"}}`, i, payload)
	}
	sb.WriteByte(']')
	return []byte(sb.String())
}

func serve(b *testing.B, h http.Handler, method, target, ct string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		b.Fatalf("%s %s: %d %s", method, target, w.Code, w.Body)
	}
	return w
}

// drain empties a queue outside the timer so memory stays bounded.
func drain(b *testing.B, br *broker.Broker, q string) {
	b.StopTimer()
	for {
		ms, err := br.Receive(b.Context(), q, broker.ReceiveOptions{Mode: broker.ReceiveAndDelete, MaxMessages: 5000})
		if err != nil {
			b.Fatal(err)
		}
		if len(ms) == 0 {
			break
		}
	}
	b.StartTimer()
}

// BenchmarkPublish measures POST /api/events (EventGridEvent, validated,
// stamped and sent to one subscription queue) and namespace :publish
// (CloudEvents batch), with ~1 KB events in batches of 1 and 100.
func BenchmarkEGPublish(b *testing.B) {
	for _, store := range []string{"memory", "fsync"} {
		for _, n := range []int{1, 100} {
			for _, kind := range []string{"basic", "namespace"} {
				b.Run(fmt.Sprintf("store=%s/%s/batch=%d", store, kind, n), func(b *testing.B) {
					h, br := benchFace(b, store)
					body, target, ct, q := egBatch(n), "/bench/api/events", "application/json", TopicQueueName("bench", "sub")
					if kind == "namespace" {
						body, target, ct, q = ceBatch(n), "/topics/nst:publish", "application/cloudevents-batch+json; charset=utf-8", QueueName("default", "nst", "sub")
					}
					b.SetBytes(int64(len(body)))
					b.ReportAllocs()
					b.ResetTimer()
					for i := range b.N {
						serve(b, h, http.MethodPost, target, ct, body)
						if (i+1)*n%20000 < n {
							drain(b, br, q)
						}
					}
					b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
				})
			}
		}
	}
}

// BenchmarkNamespaceReceiveAck measures :receive (maxEvents 1 and 100)
// followed by :acknowledge of what was received.
func BenchmarkEGNamespaceReceiveAck(b *testing.B) {
	for _, store := range []string{"memory", "fsync"} {
		for _, n := range []int{1, 100} {
			b.Run(fmt.Sprintf("store=%s/maxEvents=%d", store, n), func(b *testing.B) {
				h, _ := benchFace(b, store)
				fill := ceBatch(100)
				b.ReportAllocs()
				have := 0
				b.ResetTimer()
				for range b.N {
					if have < n {
						b.StopTimer()
						for range 10 {
							serve(b, h, http.MethodPost, "/topics/nst:publish", "application/cloudevents-batch+json", fill)
						}
						have += 1000
						b.StartTimer()
					}
					w := serve(b, h, http.MethodPost, fmt.Sprintf("/topics/nst/eventsubscriptions/sub:receive?maxEvents=%d&maxWaitTime=10", n), "", nil)
					var res struct {
						Value []struct {
							BrokerProperties struct{ LockToken string }
						}
					}
					if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil || len(res.Value) != n {
						b.Fatalf("receive: %d events, %v", len(res.Value), err)
					}
					toks := make([]string, 0, n)
					for _, v := range res.Value {
						toks = append(toks, v.BrokerProperties.LockToken)
					}
					body, _ := json.Marshal(map[string]any{"lockTokens": toks})
					w = serve(b, h, http.MethodPost, "/topics/nst/eventsubscriptions/sub:acknowledge", "application/json", body)
					if !bytes.Contains(w.Body.Bytes(), []byte(`"failedLockTokens":[]`)) {
						b.Fatalf("acknowledge: %s", w.Body)
					}
					have -= n
				}
				b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}
