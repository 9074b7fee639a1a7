package mgmt

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/store/memstore"
)

// FuzzDecodeRule decodes arbitrary rule bodies as PUT .../rules/{rule}
// does: never a panic, errors are 4xx, and a rule that decodes has a known
// filter kind with the fields of that kind only.
func FuzzDecodeRule(f *testing.F) {
	for _, s := range []string{
		`{"filter":{"type":"SqlFilter","sqlExpression":"color = @c AND qty > 10","parameters":{"@c":"red"}}}`,
		`{"name":"r","filter":{"type":"correlation","correlationId":"id","label":"L","properties":{"n":1,"f":1.5,"b":true,"t":{"type":"datetime","value":"2026-01-02T03:04:05Z"}}}}`,
		`{"filter":{"type":"true"},"action":{"sqlExpression":"SET sys.Label = @l","parameters":{"l":{"type":"timespan","value":"PT1H"}}}}`,
		`{"filter":{"type":"FalseFilter","sqlExpression":"1=1"}}`,
		`{"filter":{"type":"sql","parameters":{"p":{"type":"long","value":"x"}}}}`,
		`{"filter":{"type":"correlation"}}`,
		`{"filter":{"type":"other"}}`,
		`{"name":"other","filter":{"type":"true"}}`,
		`{"filter":{"type":"sql","sqlExpression":"a=1","parameters":{"":1}}}`,
		`{"filter":{"type":"correlation","properties":{"x":{"type":"double","value":1,"extra":2}}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := decodeRule(bytes.NewReader(data), "rule")
		if err != nil {
			checkAPIError(t, err)
			return
		}
		if r.Name != "rule" {
			t.Fatalf("name %q", r.Name)
		}
		switch r.Filter.Kind {
		case broker.FilterSQL:
			if r.Filter.SQL == "" || r.Filter.Correlation != nil {
				t.Fatalf("bad SQL filter %+v", r.Filter)
			}
		case broker.FilterCorrelation:
			if r.Filter.Correlation == nil || r.Filter.SQL != "" || len(r.Filter.Parameters) > 0 {
				t.Fatalf("bad correlation filter %+v", r.Filter)
			}
		case broker.FilterTrue, broker.FilterFalse:
			if r.Filter.Correlation != nil || r.Filter.SQL != "" || len(r.Filter.Parameters) > 0 {
				t.Fatalf("bad %s %+v", r.Filter.Kind, r.Filter)
			}
		default:
			t.Fatalf("kind %v", r.Filter.Kind)
		}
		for _, m := range []map[string]any{r.Filter.Parameters, r.ActionParameters} {
			for k, v := range m {
				if _, ok := broker.FilterValue(v); !ok {
					t.Fatalf("value %q has type %T, which filters cannot use", k, v)
				}
			}
		}
	})
}

// FuzzDecodeTopicRequests decodes arbitrary topic and subscription
// property bodies: never a panic, errors are 4xx.
func FuzzDecodeTopicRequests(f *testing.F) {
	for i, s := range []string{
		`{"defaultMessageTimeToLive":"PT1H","requiresDuplicateDetection":true,"duplicateDetectionHistoryTimeWindow":"PT10M","status":"sendDisabled"}`,
		`{"lockDuration":"PT30S","maxDeliveryCount":3,"requiresSession":true,"forwardTo":"q","defaultRule":{"filter":{"type":"sql","sqlExpression":"a > 1"}}}`,
		`{"maxSizeInMegabytes":0}`,
		`{"lockDuration":"0s","status":"paused"}`,
	} {
		f.Add(uint8(i), []byte(s))
	}
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		var err error
		if kind%2 == 0 {
			var p TopicProperties
			if err = decodeJSON(bytes.NewReader(data), &p); err == nil {
				err = p.check()
			}
		} else {
			var p SubscriptionProperties
			if err = decodeJSON(bytes.NewReader(data), &p); err == nil {
				err = p.check()
				if err == nil && p.DefaultRule != nil {
					_, err = p.DefaultRule.toBroker("")
				}
			}
		}
		if err != nil {
			checkAPIError(t, err)
		}
	})
}

// FuzzTopicHandler sends arbitrary requests to the topic, subscription and
// rule routes of a real broker: never a panic, never a 5xx, always the
// error shape on failure.
func FuzzTopicHandler(f *testing.F) {
	st := memstore.New()
	b, err := broker.New(broker.Config{Store: st, Clock: clock.NewFake(epoch)})
	if err != nil {
		f.Fatal(err)
	}
	if err := b.Open(context.Background()); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { b.Close(); st.Close() })
	bg := context.Background()
	if _, err := b.CreateTopic(bg, "t", broker.QueueProperties{MaxSizeInMegabytes: 1}); err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"s", "q"} {
		if _, err := b.CreateSubscription(bg, "t", s, broker.QueueProperties{RequiresSession: s == "q"}, nil); err != nil {
			f.Fatal(err)
		}
	}
	h := New(Config{Broker: b, MaxRequestBytes: 64 << 10})
	paths := []string{"/api/v1/topics", "/api/v1/topics/%s", "/api/v1/topics/%s/messages", "/api/v1/topics/%s/subscriptions",
		"/api/v1/topics/t/subscriptions/%s", "/api/v1/topics/t/subscriptions/%s/rules", "/api/v1/topics/t/subscriptions/s/rules/%s",
		"/api/v1/topics/t/subscriptions/%s/receive", "/api/v1/topics/t/subscriptions/%s/messages", "/api/v1/topics/t/cancel-scheduled"}
	methods := []string{"GET", "PUT", "PATCH", "DELETE", "POST"}
	f.Add(uint8(1), uint8(1), "new", []byte(`{"defaultMessageTimeToLive":"PT1H"}`), false)
	f.Add(uint8(1), uint8(4), "x", []byte(`{"lockDuration":"PT30S","defaultRule":{"filter":{"type":"sql","sqlExpression":"a = @p","parameters":{"p":1}}}}`), false)
	f.Add(uint8(1), uint8(6), "r", []byte(`{"filter":{"type":"correlation","label":"x"},"action":{"sqlExpression":"SET a = 1"}}`), true)
	f.Add(uint8(4), uint8(2), "t", []byte(`{"messages":[{"body":"x","properties":{"a":1}}]}`), false)
	f.Add(uint8(4), uint8(7), "s", []byte(`{"max":2}`), false)
	f.Add(uint8(2), uint8(4), "s", []byte(`{"maxDeliveryCount":0}`), false)
	f.Add(uint8(0), uint8(8), "s", []byte(nil), false)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	f.Fuzz(func(t *testing.T, method, path uint8, name string, body []byte, ifMatch bool) {
		m := methods[int(method)%len(methods)]
		tmpl := paths[int(path)%len(paths)]
		if (name == "t" || name == "s" || name == "q") && (m == "DELETE" || m == "PATCH") {
			return // keep the fixture as it is
		}
		p := strings.ReplaceAll(tmpl, "%s", name)
		r := httptest.NewRequestWithContext(cancelled, m, "/", bytes.NewReader(body))
		r.URL = &url.URL{Path: p, RawPath: strings.ReplaceAll(tmpl, "%s", url.PathEscape(name))}
		r.RequestURI = r.URL.RequestURI()
		r.Header.Set("Content-Type", "application/json")
		if ifMatch {
			r.Header.Set("If-Match", "*")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", m, p, body, w.Code, w.Body)
		}
		if w.Code >= 400 {
			var eb ErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &eb); err != nil || eb.Error.Code == "" || eb.Error.Message == "" {
				t.Fatalf("%s %s: error body %q is not the error shape", m, p, w.Body)
			}
		}
		if w.Code == http.StatusCreated && m == "PUT" {
			// Keep the namespace small.
			switch int(path) % len(paths) {
			case 1:
				_ = b.DeleteEntity(bg, name)
			case 4:
				_ = b.DeleteEntity(bg, broker.SubscriptionPath("t", name))
			case 6:
				_ = b.RemoveRule(bg, "t", "s", name)
			}
		}
	})
}
