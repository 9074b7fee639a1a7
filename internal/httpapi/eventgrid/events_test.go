package eventgrid

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/clock"
)

var testLimits = limits{maxEvent: 1 << 20, maxEvents: 5000}

func TestEGDecodeEventGridEvents(t *testing.T) {
	const topic = "/subscriptions/x/resourceGroups/y/providers/Microsoft.EventGrid/topics/t"
	ok := `[{"id":"1","subject":"s","eventType":"T","eventTime":"2024-01-02T03:04:05.575175885Z","data":{"b":2, "a":"<x>"},"dataVersion":"1.0"}]`
	evs, err := decodeEventGridEvents([]byte(ok), topic, testLimits)
	if err != nil || len(evs) != 1 {
		t.Fatalf("decode: %v", err)
	}
	want := `{"id":"1","topic":"` + topic + `","subject":"s","eventType":"T","eventTime":"2024-01-02T03:04:05.575175885Z","data":{"b":2, "a":"<x>"},"dataVersion":"1.0","metadataVersion":"1"}`
	if string(evs[0].Raw) != want {
		t.Errorf("stamped = %s\nwant      %s", evs[0].Raw, want)
	}
	// Absent data stays absent; topic given exactly is accepted.
	evs, err = decodeEventGridEvents([]byte(`[{"id":"1","subject":"s","eventType":"T","eventTime":"2024-01-02T03:04:05Z","topic":"`+topic+`","metadataVersion":"1"}]`), topic, testLimits)
	if err != nil || strings.Contains(string(evs[0].Raw), `"data"`) || !strings.Contains(string(evs[0].Raw), `"dataVersion":""`) {
		t.Errorf("no data: %s %v", evs[0].Raw, err)
	}
	bad := map[string]string{
		"object":           `{"id":"1"}`,
		"empty":            ``,
		"empty array":      `[]`,
		"not json":         `[{"id":]`,
		"missing id":       `[{"subject":"s","eventType":"T","eventTime":"2024-01-02T03:04:05Z"}]`,
		"blank subject":    `[{"id":"1","subject":"  ","eventType":"T","eventTime":"2024-01-02T03:04:05Z"}]`,
		"numeric type":     `[{"id":"1","subject":"s","eventType":5,"eventTime":"2024-01-02T03:04:05Z"}]`,
		"bad time":         `[{"id":"1","subject":"s","eventType":"T","eventTime":"2024-01-02 03:04:05"}]`,
		"metadataVersion":  `[{"id":"1","subject":"s","eventType":"T","eventTime":"2024-01-02T03:04:05Z","metadataVersion":"2"}]`,
		"other topic":      `[{"id":"1","subject":"s","eventType":"T","eventTime":"2024-01-02T03:04:05Z","topic":"/other"}]`,
		"array element":    `[1]`,
		"second is broken": `[{"id":"1","subject":"s","eventType":"T","eventTime":"2024-01-02T03:04:05Z"},{"id":"2"}]`,
	}
	for name, body := range bad {
		if _, err := decodeEventGridEvents([]byte(body), topic, testLimits); err == nil {
			t.Errorf("%s: accepted", name)
		} else if ie, ok := err.(*inputError); !ok || ie.status != http.StatusBadRequest {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := decodeEventGridEvents([]byte(`{"id":"1"}`), topic, testLimits); err == nil || !strings.Contains(err.Error(), "Expected: StartArray, actual: StartObject") {
		t.Errorf("single object error = %v", err)
	}
	big := `[{"id":"1","subject":"s","eventType":"T","eventTime":"2024-01-02T03:04:05Z","data":"` + strings.Repeat("x", 2000) + `"}]`
	if _, err := decodeEventGridEvents([]byte(big), topic, limits{maxEvent: 1000}); err == nil || err.(*inputError).status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized event: %v", err)
	}
}

func TestEGDecodeCloudEvents(t *testing.T) {
	good := `{"id":"1","source":"/s","specversion":"1.0","type":"T","time":"2024-01-02T03:04:05.1234567+02:00","subject":"x","myext":5,"data":{"a":1},"nullext":null}`
	evs, err := decodeCloudEvents([]byte(good), false, testLimits)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(evs[0].Raw, &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m["nullext"]; ok || m["myext"] != float64(5) {
		t.Errorf("normalised = %s", evs[0].Raw)
	}
	if _, err := decodeCloudEvents([]byte(`[`+good+`,`+good+`]`), true, testLimits); err != nil {
		t.Errorf("batch: %v", err)
	}
	bad := map[string]string{
		"missing source":   `{"id":"1","specversion":"1.0","type":"T"}`,
		"empty id":         `{"id":"","source":"/s","specversion":"1.0","type":"T"}`,
		"specversion 0.3":  `{"id":"1","source":"/s","specversion":"0.3","type":"T"}`,
		"numeric id":       `{"id":1,"source":"/s","specversion":"1.0","type":"T"}`,
		"bad time":         `{"id":"1","source":"/s","specversion":"1.0","type":"T","time":"now"}`,
		"empty subject":    `{"id":"1","source":"/s","specversion":"1.0","type":"T","subject":""}`,
		"both data":        `{"id":"1","source":"/s","specversion":"1.0","type":"T","data":1,"data_base64":"AQ=="}`,
		"bad base64":       `{"id":"1","source":"/s","specversion":"1.0","type":"T","data_base64":"%%%"}`,
		"upper-case ext":   `{"id":"1","source":"/s","specversion":"1.0","type":"T","myExt":1}`,
		"object extension": `{"id":"1","source":"/s","specversion":"1.0","type":"T","ext":{"a":1}}`,
		"array as single":  `[{"id":"1","source":"/s","specversion":"1.0","type":"T"}]`,
		"null event":       `null`,
	}
	for name, body := range bad {
		if _, err := decodeCloudEvents([]byte(body), false, testLimits); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestEGDecodeBinaryCloudEvent(t *testing.T) {
	h := http.Header{}
	h.Set("ce-id", "1")
	h.Set("ce-source", "/s")
	h.Set("ce-specversion", "1.0")
	h.Set("ce-type", "T")
	h.Set("ce-subject", "%E2%82%AC%20euro")
	h.Set("Content-Type", "application/octet-stream")
	ev, err := decodeBinaryCloudEvent(h, []byte{0, 1, 2}, testLimits)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"data_base64":"AAEC","datacontenttype":"application/octet-stream","id":"1","source":"/s","specversion":"1.0","subject":"€ euro","type":"T"}`
	if string(ev.Raw) != want {
		t.Errorf("binary = %s", ev.Raw)
	}
	h.Set("Content-Type", "text/plain")
	if ev, err = decodeBinaryCloudEvent(h, []byte("hi"), testLimits); err != nil || !strings.Contains(string(ev.Raw), `"data":"hi"`) {
		t.Errorf("text = %s %v", ev.Raw, err)
	}
	h.Set("Content-Type", "application/json")
	if _, err = decodeBinaryCloudEvent(h, []byte("{bad"), testLimits); err == nil {
		t.Error("invalid JSON body accepted")
	}
	h.Set("ce-datacontenttype", "x")
	if _, err = decodeBinaryCloudEvent(h, nil, testLimits); err == nil {
		t.Error("ce-datacontenttype accepted")
	}
	h.Del("ce-datacontenttype")
	h.Set("ce-subject", "%C0%A0")
	if _, err = decodeBinaryCloudEvent(h, nil, testLimits); err == nil {
		t.Error("overlong UTF-8 accepted")
	}
}

func TestEGSASVerify(t *testing.T) {
	const key = "YmF0b24ta2V5"
	h := &Handler{cfg: Config{Clock: clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}}
	r, _ := http.NewRequest("POST", "https://127.0.0.1:8443/orders/api/events", nil)
	exp := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	tok := signSAS("https://orders.westus2-1.eventgrid.azure.net/api/events?api-version=2018-01-01", exp, key)
	if err := h.checkSAS(r, tok, []string{key}, "/orders/api/events"); err != nil {
		t.Errorf("upper-case escapes: %v", err)
	}
	// .NET's lower-case escapes verify too: the raw text is signed.
	lower := strings.ReplaceAll(strings.ReplaceAll(tok[:strings.LastIndex(tok, "&s=")], "%3A", "%3a"), "%2F", "%2f")
	if err := h.checkSAS(r, resign(lower, key), []string{key}, "/orders/api/events"); err != nil {
		t.Errorf("lower-case escapes: %v", err)
	}
	for _, e := range []string{"1/2/2026 12:00:00 AM +00:00", "2026-01-02 00:00:00+00:00", "2026-01-02T00:00:00.123456", "2026-01-02T00:00:00Z"} {
		if err := h.checkSAS(r, resign("r=https%3A%2F%2Fx%2Forders&e="+url.QueryEscape(e), key), []string{key}, "/orders/api/events"); err != nil {
			t.Errorf("expiry %q: %v", e, err)
		}
	}
	cases := map[string]int{
		tok: 200,
		signSAS("https://x/api/events", exp.Add(-48*time.Hour), key): 401,
		signSAS("https://x/api/events", exp, "b3RoZXI="):             401,
		signSAS("https://x/other/path", exp, key):                    401,
		"r=x&e=y":                          400,
		"r=x&e=never&s=AAAA":               400,
		"r=x&e=2027-01-01T00:00:00Z&s=%%%": 400,
	}
	for tk, want := range cases {
		err := h.checkSAS(r, tk, []string{key}, "/orders/api/events")
		got := 200
		if err != nil {
			got = toAPIError(err).status
		}
		if got != want {
			t.Errorf("token %q: %d (%v), want %d", tk, got, err, want)
		}
	}
}

// resign appends the signature of the raw text signed with key.
func resign(signed, key string) string {
	kb, _ := base64.StdEncoding.DecodeString(key)
	mac := hmac.New(sha256.New, kb)
	mac.Write([]byte(signed))
	return signed + "&s=" + url.QueryEscape(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
}
