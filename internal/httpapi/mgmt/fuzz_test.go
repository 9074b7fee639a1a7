package mgmt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/store/memstore"
)

// Seeds beside the checked-in corpus in testdata/fuzz.
var sendSeeds = []string{
	`{"messages":[{"body":"hello"}]}`,
	`{"messages":[{"bodyBase64":"/wAB","messageId":"m","sessionId":"s","timeToLive":"PT1M","scheduledEnqueueTime":"2026-01-02T03:04:05Z"}]}`,
	`{"messages":[{"properties":{"i":1,"f":1.5,"e":1e308,"b":true,"n":null,"s":"x","big":18446744073709551616}}]}`,
	`{"messages":[{"body":"a","bodyBase64":"YQ=="}]}`,
	`{"messages":[]}`,
	`{"messages":[{"properties":{"a":{"b":[1]}}}]}`,
	`{"messages":[{"timeToLive":"P10675199DT2H48M5.4775807S"}]} `,
	`{"messages":[{"body":"\ud800"}]}`,
	`{"messages":[{}]} {}`,
	`[`,
	``,
}

// checkAPIError fails unless err is a client error (4xx) of this package.
func checkAPIError(t *testing.T, err error) {
	t.Helper()
	var ae *apiError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an *apiError", err, err)
	}
	if ae.status < 400 || ae.status >= 500 || ae.code == "" || ae.msg == "" {
		t.Fatalf("error %+v is not a 4xx with a code and a message", ae)
	}
}

// FuzzDecodeSend decodes arbitrary send bodies: never a panic, errors are
// 4xx, and what decodes holds only property types the broker keeps.
func FuzzDecodeSend(f *testing.F) {
	for _, s := range sendSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		msgs, err := decodeSend(bytes.NewReader(data))
		if err != nil {
			checkAPIError(t, err)
			return
		}
		if len(msgs) == 0 {
			t.Fatal("no messages and no error")
		}
		for _, m := range msgs {
			if m.Body == nil || m.TimeToLive < 0 {
				t.Fatalf("bad message %+v", m)
			}
			for k, v := range m.Properties {
				switch v.(type) {
				case nil, bool, string, int64, float64:
				default:
					t.Fatalf("property %q has type %T", k, v)
				}
			}
		}
	})
}

// FuzzDecodeRequests decodes arbitrary bodies into every other request
// type and converts them as the handlers do.
func FuzzDecodeRequests(f *testing.F) {
	for i, s := range []string{
		`{"lockDuration":"PT30S","maxDeliveryCount":3,"status":"active"}`,
		`{"mode":"receiveanddelete","max":5,"wait":"1s","dlq":true,"sessionId":"s","sessionLockToken":"00000000-0000-4000-8000-000000000001"}`,
		`{"lockToken":"00000000-0000-4000-8000-000000000001","disposition":"deadletter","reason":"r","properties":{"a":1}}`,
		`{"lockTokens":["00000000-0000-4000-8000-000000000001"]}`,
		`{"sequenceNumbers":[1,2],"mode":"peeklock"}`,
		`{"lockToken":"x","state":"s"}`,
		`{"sessionId":"a","wait":"PT1S"}`,
		`{"max":-1}`,
	} {
		f.Add(uint8(i), []byte(s))
	}
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		var err error
		switch kind % 8 {
		case 0:
			var q QueueProperties
			if err = decodeJSON(bytes.NewReader(data), &q); err == nil {
				err = q.check()
			}
		case 1:
			var r ReceiveRequest
			if err = decodeJSON(bytes.NewReader(data), &r); err == nil {
				_, err = r.options()
			}
		case 2:
			var r SettleRequest
			if err = decodeJSON(bytes.NewReader(data), &r); err == nil {
				_, _, err = r.toBroker()
			}
		case 3:
			var r RenewRequest
			err = decodeJSON(bytes.NewReader(data), &r)
		case 4:
			var r DeferredRequest
			if err = decodeJSON(bytes.NewReader(data), &r); err == nil {
				_, err = parseMode(r.Mode)
			}
		case 5:
			var r SessionState
			err = decodeJSON(bytes.NewReader(data), &r)
		case 6:
			var r AcceptSessionRequest
			if err = decodeJSON(bytes.NewReader(data), &r); err == nil {
				_, err = parseWait(r.Wait)
			}
		case 7:
			var r ResubmitRequest
			err = decodeJSON(bytes.NewReader(data), &r)
		}
		if err != nil {
			checkAPIError(t, err)
		}
	})
}

// FuzzHandler sends arbitrary requests through the whole handler to a real
// broker: never a panic, never a 5xx, always the error shape on failure.
func FuzzHandler(f *testing.F) {
	st := memstore.New()
	b, err := broker.New(broker.Config{Store: st, Clock: clock.NewFake(epoch)})
	if err != nil {
		f.Fatal(err)
	}
	if err := b.Open(context.Background()); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { b.Close(); st.Close() })
	one := int64(1)
	for _, name := range []string{"q", "s"} {
		if _, err := b.CreateQueue(context.Background(), name, broker.QueueProperties{RequiresSession: name == "s", MaxSizeInMegabytes: one}); err != nil {
			f.Fatal(err)
		}
	}
	h := New(Config{Broker: b, MaxRequestBytes: 64 << 10})

	suffixes := []string{"", "/messages", "/receive", "/settle", "/renew", "/deferred", "/cancel-scheduled",
		"/dlq/resubmit", "/sessions", "/sessions/accept", "/sessions/a/renew", "/sessions/a/release", "/sessions/a/state"}
	methods := []string{"GET", "PUT", "PATCH", "DELETE", "POST"}
	f.Add(uint8(4), "q", uint8(1), []byte(sendSeeds[0]))
	f.Add(uint8(4), "q", uint8(2), []byte(`{"max":3}`))
	f.Add(uint8(1), "new/queue", uint8(0), []byte(`{"lockDuration":"PT30S"}`))
	f.Add(uint8(2), "q", uint8(0), []byte(`{"maxDeliveryCount":2}`))
	f.Add(uint8(4), "s", uint8(9), []byte(`{"sessionId":"a"}`))
	f.Add(uint8(0), "bad name", uint8(0), []byte(nil))
	f.Add(uint8(4), "q", uint8(7), []byte(`{"max":10}`))
	// Requests carry a cancelled context: the fake clock never moves, so a
	// receive or accept that waits would otherwise wait forever; cancelled,
	// it ends at once (and the handler writes nothing, as for a client that
	// went away).
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	f.Fuzz(func(t *testing.T, method uint8, name string, suffix uint8, body []byte) {
		if name == "q" || name == "s" {
			if m := methods[int(method)%len(methods)]; m == "DELETE" || m == "PATCH" {
				return // keep the fixture queues as they are
			}
		}
		p := "/api/v1/queues/" + name + suffixes[int(suffix)%len(suffixes)]
		r := httptest.NewRequestWithContext(cancelled, methods[int(method)%len(methods)], "/", bytes.NewReader(body))
		r.URL = &url.URL{Path: p, RawPath: "/api/v1/queues/" + url.PathEscape(name) + suffixes[int(suffix)%len(suffixes)]}
		r.RequestURI = r.URL.RequestURI()
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", r.Method, p, body, w.Code, w.Body)
		}
		if w.Code >= 400 {
			var eb ErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &eb); err != nil || eb.Error.Code == "" || eb.Error.Message == "" {
				t.Fatalf("%s %s: error body %q is not the error shape", r.Method, p, w.Body)
			}
		}
		if w.Code == http.StatusCreated && r.Method == "PUT" {
			// Keep the namespace small.
			_ = b.DeleteEntity(context.Background(), name)
		}
	})
}

// FuzzParseDuration: never a panic, never a negative duration.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"30s", "PT30S", "P1DT2H3M4.5S", "P10675199DT2H48M5.4775807S", "never", "P1Y", "-1s", "PT1,5S", "P2W"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err == nil && d < 0 {
			t.Fatalf("ParseDuration(%q) = %v", s, d)
		}
		if err == nil {
			// Go syntax round-trips.
			back, err := ParseDuration(Duration(d).String())
			if err != nil || back != d {
				t.Fatalf("round trip of %q: %v → %q → %v, %v", s, d, Duration(d).String(), back, err)
			}
		}
	})
}
