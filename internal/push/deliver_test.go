package push

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/store/memstore"
)

func TestEGClassify(t *testing.T) {
	cases := []struct {
		status        int
		err           error
		ok, retriable bool
		name, reason  string
		minDelay      time.Duration
	}{
		{200, nil, true, false, "Delivered", "", 0},
		{204, nil, true, false, "Delivered", "", 0},
		{205, nil, false, true, "Aborted", "", 10 * time.Second},
		{302, nil, false, true, "Aborted", "", 10 * time.Second},
		{400, nil, false, false, "BadRequest", "UndeliverableDueToHttpBadRequest", 10 * time.Second},
		{401, nil, false, false, "Unauthorized", "UndeliverableDueToHttpUnauthorized", 10 * time.Second},
		{403, nil, false, false, "Forbidden", "UndeliverableDueToHttpForbidden", 10 * time.Second},
		{413, nil, false, false, "PayloadTooLarge", "UndeliverableDueToHttpPayloadTooLarge", 10 * time.Second},
		{404, nil, false, true, "NotFound", "", 5 * time.Minute},
		{408, nil, false, true, "TimedOut", "", 2 * time.Minute},
		{503, nil, false, true, "Busy", "", 30 * time.Second},
		{500, nil, false, true, "Aborted", "", 10 * time.Second},
		{0, &net.DNSError{Err: "no such host"}, false, true, "ResolutionError", "", 10 * time.Second},
		{0, context.DeadlineExceeded, false, true, "TimedOut", "", 10 * time.Second},
		{0, errors.New("connection refused"), false, true, "SocketError", "", 10 * time.Second},
	}
	for _, c := range cases {
		o := classify(c.status, c.err)
		if o.ok != c.ok || o.retriable != c.retriable || o.name != c.name || o.reason != c.reason || o.minDelay != c.minDelay {
			t.Errorf("classify(%d, %v) = %+v", c.status, c.err, o)
		}
	}
}

func TestEGRetryDelay(t *testing.T) {
	want := []time.Duration{10 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 12 * time.Hour}
	for i, w := range want {
		if got := RetryDelay(i+1, 10*time.Second); got != w {
			t.Errorf("RetryDelay(%d) = %v, want %v", i+1, got, w)
		}
	}
	if got := RetryDelay(1, 5*time.Minute); got != 5*time.Minute {
		t.Errorf("a 404's minimum must win: %v", got)
	}
}

// setup is a broker on memstore with a fake clock, one subscription queue
// and a Manager (not started) delivering to url.
func setup(t *testing.T, url string, mut func(*Subscription)) (*Manager, *Subscription, *broker.Broker, *clock.Fake) {
	t.Helper()
	fake := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b, err := broker.New(broker.Config{Store: memstore.New(), Clock: fake})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if _, err := b.CreateQueue(t.Context(), "eventgrid/topics/t/s", broker.QueueProperties{LockDuration: 2 * time.Minute, MaxDeliveryCount: 1000}); err != nil {
		t.Fatal(err)
	}
	sub := &Subscription{Name: "sub", Topic: "t", TopicID: "/t", Queue: "eventgrid/topics/t/s", EndpointURL: url, SkipValidation: true}
	if mut != nil {
		mut(sub)
	}
	m, err := New(Config{Broker: b, Clock: fake}, []*Subscription{sub})
	if err != nil {
		t.Fatal(err)
	}
	return m, sub, b, fake
}

func takeOne(t *testing.T, b *broker.Broker, q string) *broker.Message {
	t.Helper()
	ms, err := b.Receive(t.Context(), q, broker.ReceiveOptions{MaxMessages: 1})
	if err != nil || len(ms) != 1 {
		t.Fatalf("receive: %v, %d", err, len(ms))
	}
	return ms[0]
}

// TestDeliverTTL: an event whose time to live has passed when its attempt
// comes due is dead-lettered with TimeToLiveExceeded, without a request.
func TestEGDeliverTTL(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	m, sub, b, fake := setup(t, srv.URL, func(s *Subscription) { s.EventTTL = time.Minute })
	if _, err := b.Send(t.Context(), sub.Queue, []*broker.Message{NewMessage([]byte(`{"id":"1"}`), "1", SchemaEventGrid, fake.Now())}); err != nil {
		t.Fatal(err)
	}
	fake.Advance(2 * time.Minute)
	if err := m.deliver(t.Context(), sub, takeOne(t, b, sub.Queue)); err != nil {
		t.Fatal(err)
	}
	dl, _ := b.Peek(t.Context(), sub.Queue+"/"+broker.DeadLetterSuffix, 0, 1, "")
	if len(dl) != 1 || dl[0].DeadLetterReason != "TimeToLiveExceeded" || hits.Load() != 0 {
		t.Fatalf("dead-letter = %v, requests = %d", dl, hits.Load())
	}
}

// TestDeliverRetrySchedule: a failed attempt becomes a scheduled copy due
// after Azure's delay, with the attempt count; the next attempt sends
// aeg-delivery-count 1.
func TestEGDeliverRetrySchedule(t *testing.T) {
	var mu sync.Mutex
	var counts []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		counts = append(counts, r.Header.Get("aeg-delivery-count"))
		if len(counts) == 1 {
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	m, sub, b, fake := setup(t, srv.URL, nil)
	if _, err := b.Send(t.Context(), sub.Queue, []*broker.Message{NewMessage([]byte(`{"id":"1","dataVersion":"2"}`), "1", SchemaEventGrid, fake.Now())}); err != nil {
		t.Fatal(err)
	}
	if err := m.deliver(t.Context(), sub, takeOne(t, b, sub.Queue)); err != nil {
		t.Fatal(err)
	}
	ms, _ := b.Peek(t.Context(), sub.Queue, 0, 5, "")
	if len(ms) != 1 || ms[0].State != broker.StateScheduled || !ms[0].EnqueuedTime.Equal(fake.Now().Add(5*time.Minute)) || ms[0].Properties[PropAttempts] != int32(1) {
		t.Fatalf("after a 404: %+v", ms)
	}
	fake.Advance(5 * time.Minute)
	if err := m.deliver(t.Context(), sub, takeOne(t, b, sub.Queue)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(counts, ",") != "0,1" {
		t.Errorf("aeg-delivery-count = %v", counts)
	}
	if info, _ := b.GetEntity(sub.Queue); info.Total() != 0 {
		t.Errorf("queue holds %d messages after success", info.Total())
	}
}

func TestEGRender(t *testing.T) {
	raw := []byte(`{"id":"1","topic":"/t","subject":"s","eventType":"T","eventTime":"2024-01-02T03:04:05Z","data":{"a":1},"dataVersion":"2","metadataVersion":"1"}`)
	body, dv, err := render(raw, SchemaEventGrid, SchemaEventGrid, "/t", time.Time{}, nil)
	if err != nil || string(body) != string(raw) || dv != "2" {
		t.Errorf("EG→EG = %s %s %v", body, dv, err)
	}
	body, _, err = render(raw, SchemaEventGrid, SchemaCloudEvents, "/t", time.Time{}, nil)
	if err != nil || string(body) != `{"data":{"a":1},"datacontenttype":"application/json","dataversion":"2","id":"1","source":"/t","specversion":"1.0","subject":"s","time":"2024-01-02T03:04:05Z","type":"T"}` {
		t.Errorf("EG→CE = %s %v", body, err)
	}
	if _, _, err := render(raw, SchemaCloudEvents, SchemaEventGrid, "/t", time.Time{}, nil); err == nil {
		t.Error("CE→EG must be refused")
	}
	mp := &InputMapping{ID: SourceField{"orderId"}, EventType: FieldDefault{"kind", "Order.Unknown"}, Subject: FieldDefault{"", "/orders"}, DataVersion: FieldDefault{DefaultValue: "2"}}
	body, dv, err = render([]byte(`{"orderId":"o-1","n":1}`), SchemaCustom, SchemaEventGrid, "/t", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), mp)
	if err != nil || dv != "2" || string(body) != `{"data":{"orderId":"o-1","n":1},"dataVersion":"2","eventTime":"2026-01-02T03:04:05Z","eventType":"Order.Unknown","id":"o-1","metadataVersion":"1","subject":"/orders","topic":"/t"}` {
		t.Errorf("custom→EG with a mapping = %s %s %v", body, dv, err)
	}
	if err := CheckSchemas(SchemaCloudEvents, SchemaEventGrid); err == nil {
		t.Error("CheckSchemas(CE, EG) must fail")
	}
}

func TestEGSubscriptionCheck(t *testing.T) {
	bad := []Subscription{
		{Name: "ab", Queue: "q", EndpointURL: "https://x"},
		{Name: "a_b_c", Queue: "q", EndpointURL: "https://x"},
		{Name: "abc", Queue: "q", EndpointURL: "ftp://x"},
		{Name: "abc", Queue: "q", EndpointURL: "https://x", MaxDeliveryAttempts: 31},
		{Name: "abc", Queue: "q", EndpointURL: "https://x", EventTTL: 1441 * time.Minute},
		{Name: "abc", Queue: "q", EndpointURL: "https://x", Headers: map[string]string{"aeg-x": "1"}},
	}
	for _, s := range bad {
		if err := s.check(); err == nil {
			t.Errorf("%+v accepted", s)
		}
	}
	ok := Subscription{Name: "abc", Queue: "q", EndpointURL: "https://x"}
	if err := ok.check(); err != nil || ok.MaxDeliveryAttempts != 30 || ok.EventTTL != 1440*time.Minute {
		t.Errorf("defaults: %+v %v", ok, err)
	}
}
