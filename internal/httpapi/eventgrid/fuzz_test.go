package eventgrid

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/clock"
)

// checkStored checks the invariant every accepted event must hold: its
// stored JSON is one valid object that decodes again to an acceptable
// event of the same schema (so no receiver's SDK can choke on it).
func checkStored(t *testing.T, evs []event, again func([]byte) error) {
	t.Helper()
	for _, ev := range evs {
		if !json.Valid(ev.Raw) {
			t.Fatalf("stored event is not valid JSON: %s", ev.Raw)
		}
		if err := again(ev.Raw); err != nil {
			t.Fatalf("stored event %s is refused when decoded again: %v", ev.Raw, err)
		}
	}
}

func FuzzEGEventGridEvents(f *testing.F) {
	f.Add([]byte(`[{"id":"1","subject":"s","eventType":"T","eventTime":"2024-01-02T03:04:05.6Z","data":{"x":1},"dataVersion":"1.0"}]`))
	f.Add([]byte(`[{"id":"1","subject":"s","eventType":"T","eventTime":"2024-01-02T03:04:05.575175885+01:00","topic":"/t/x","metadataVersion":"1"}]`))
	f.Add([]byte(`{"id":"1"}`))
	f.Add([]byte(`[{"id":"\u003c","subject":"\ud800","eventType":"T","eventTime":"2024-01-02T03:04:05Z","data":null}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := decodeEventGridEvents(body, "/t/x", testLimits)
		if err != nil {
			return
		}
		checkStored(t, evs, func(raw []byte) error {
			_, err := decodeEventGridEvents(append(append([]byte{'['}, raw...), ']'), "/t/x", testLimits)
			return err
		})
		for _, ev := range evs {
			var v struct{ EventTime string }
			if json.Unmarshal(ev.Raw, &v) != nil {
				t.Fatal("stored event does not decode")
			}
			if _, err := time.Parse(time.RFC3339Nano, v.EventTime); err != nil {
				t.Fatalf("stored eventTime %q is not RFC 3339", v.EventTime)
			}
		}
	})
}

func FuzzEGCloudEvents(f *testing.F) {
	f.Add([]byte(`{"id":"1","source":"/s","specversion":"1.0","type":"T","time":"2024-01-02T03:04:05Z","data":{"a":1}}`), false)
	f.Add([]byte(`[{"id":"1","source":"/s","specversion":"1.0","type":"T","data_base64":"AQID","datacontenttype":"application/octet-stream"}]`), true)
	f.Add([]byte(`{"id":"1","source":"/s","specversion":"1.0","type":"T","ext":null,"subject":null,"n":5}`), false)
	f.Fuzz(func(t *testing.T, body []byte, batch bool) {
		evs, err := decodeCloudEvents(body, batch, testLimits)
		if err != nil {
			return
		}
		checkStored(t, evs, func(raw []byte) error {
			_, err := decodeCloudEvents(raw, false, testLimits)
			return err
		})
	})
}

func FuzzEGBinaryCloudEvent(f *testing.F) {
	f.Add("1", "/s", "T", "%E2%82%AC", "application/json", []byte(`{"a":1}`))
	f.Add("1", "/s", "T", `"quoted"`, "application/octet-stream", []byte{0, 1, 2})
	f.Add("1", "/s", "T", "%C0%A0", "text/plain", []byte("hi"))
	f.Fuzz(func(t *testing.T, id, source, typ, subject, ct string, body []byte) {
		h := http.Header{}
		h.Set("ce-id", id)
		h.Set("ce-source", source)
		h.Set("ce-type", typ)
		h.Set("ce-specversion", "1.0")
		h.Set("ce-subject", subject)
		h.Set("Content-Type", ct)
		ev, err := decodeBinaryCloudEvent(h, body, testLimits)
		if err != nil {
			return
		}
		checkStored(t, []event{ev}, func(raw []byte) error {
			_, err := decodeCloudEvents(raw, false, testLimits)
			return err
		})
	})
}

func FuzzEGSAS(f *testing.F) {
	f.Add("r=https%3a%2f%2fx%2fapi%2fevents&e=1%2f2%2f2026+12%3a00%3a00+AM&s=abc%3d")
	f.Add("r=x&e=2026-01-02T00:00:00Z&s=AAAA")
	f.Add("&s=")
	h := &Handler{cfg: Config{Clock: clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}}
	r, _ := http.NewRequest("POST", "https://127.0.0.1/api/events", nil)
	f.Fuzz(func(t *testing.T, tok string) {
		err := h.checkSAS(r, tok, []string{"YmF0b24ta2V5"}, "/api/events")
		if err == nil {
			t.Fatalf("a fuzzed token verified: %q", tok)
		}
	})
}
