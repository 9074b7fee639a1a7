package sbadmin

import (
	"bytes"
	"crypto/tls"
	"encoding/xml"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/store/memstore"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 123456700, time.UTC)

type fixture struct {
	t     *testing.T
	clock *clock.Fake
	b     *broker.Broker
	h     *Handler
}

func setup(t *testing.T, cfg Config) *fixture {
	t.Helper()
	return setupLimits(t, cfg, broker.Limits{})
}

// setupLimits is setup with a broker under the given limits.
func setupLimits(t *testing.T, cfg Config, limits broker.Limits) *fixture {
	t.Helper()
	f := &fixture{t: t, clock: clock.NewFake(epoch)}
	st := memstore.New()
	b, err := broker.New(broker.Config{Store: st, Clock: f.clock, Limits: limits})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b.Close()
		st.Close()
	})
	f.b = b
	cfg.Broker = b
	cfg.Clock = f.clock
	if cfg.Namespace == "" {
		cfg.Namespace = "sbtest"
	}
	f.h = New(cfg)
	return f
}

// do runs one request as a TLS client of host sb.example:5672 would send it.
func (f *fixture) do(method, target, body string, hdr ...string) *httptest.ResponseRecorder {
	f.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, target, rd)
	r.Host = "sb.example:5672"
	r.TLS = &tls.ConnectionState{}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

func (f *fixture) want(w *httptest.ResponseRecorder, status int) {
	f.t.Helper()
	if w.Code != status {
		f.t.Fatalf("status %d, want %d; body %s", w.Code, status, w.Body)
	}
}

// golden compares got with testdata/name, or rewrites it with -update. The
// body must also be well-formed XML.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	if len(got) > 0 {
		wellFormed(t, got)
	}
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs:\n got %s\nwant %s", name, got, want)
	}
}

// wellFormed fails t unless doc is well-formed XML.
func wellFormed(t *testing.T, doc []byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(doc))
	for {
		if _, err := dec.Token(); err == io.EOF {
			return
		} else if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, doc)
		}
	}
}

const fullEntry = `<?xml version="1.0" encoding="utf-8"?>
<entry xmlns="http://www.w3.org/2005/Atom">
  <content type="application/xml">
    <QueueDescription xmlns="http://schemas.microsoft.com/netservices/2010/10/servicebus/connect" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
      <LockDuration>PT45S</LockDuration>
      <MaxSizeInMegabytes>2048</MaxSizeInMegabytes>
      <RequiresDuplicateDetection>true</RequiresDuplicateDetection>
      <RequiresSession>true</RequiresSession>
      <DefaultMessageTimeToLive>P1DT0.5S</DefaultMessageTimeToLive>
      <DeadLetteringOnMessageExpiration>true</DeadLetteringOnMessageExpiration>
      <DuplicateDetectionHistoryTimeWindow>PT90S</DuplicateDetectionHistoryTimeWindow>
      <MaxDeliveryCount>7</MaxDeliveryCount>
      <EnableBatchedOperations>false</EnableBatchedOperations>
      <Status>ReceiveDisabled</Status>
      <AutoDeleteOnIdle>P7D</AutoDeleteOnIdle>
      <EnablePartitioning>true</EnablePartitioning>
      <ForwardTo>sb://sb.example/archive</ForwardTo>
      <ForwardDeadLetteredMessagesTo>dlq-archive</ForwardDeadLetteredMessagesTo>
      <UserMetadata>a &lt;b&gt; &amp; "c"</UserMetadata>
      <MaxMessageSizeInKilobytes>1024</MaxMessageSizeInKilobytes>
    </QueueDescription>
  </content>
</entry>`

func TestGoldenDocuments(t *testing.T) {
	t.Parallel()
	f := setup(t, Config{})

	w := f.do("GET", "/$namespaceinfo?api-version=2024-05", "")
	f.want(w, http.StatusOK)
	if ct := w.Header().Get("Content-Type"); ct != contentEntry {
		t.Fatalf("Content-Type %q", ct)
	}
	golden(t, "namespaceinfo.xml", w.Body.Bytes())

	for _, n := range []string{"archive", "dlq-archive"} {
		if _, err := f.b.CreateQueue(t.Context(), n, broker.QueueProperties{}); err != nil {
			t.Fatal(err)
		}
	}
	w = f.do("PUT", "/orders?api-version=2024-05", fullEntry, "Content-Type", "application/atom+xml;type=entry;charset=utf-8")
	f.want(w, http.StatusCreated)
	golden(t, "create-queue.xml", w.Body.Bytes())

	f.clock.Advance(90 * time.Second)
	if _, err := f.b.Send(t.Context(), "orders", []*broker.Message{{SessionID: "s", Body: []byte("hello")}}); err != nil {
		t.Fatal(err)
	}
	w = f.do("GET", "/Orders?api-version=2024-05", "")
	f.want(w, http.StatusOK)
	golden(t, "get-queue.xml", w.Body.Bytes())

	for _, n := range []string{"b", "c"} {
		f.want(f.do("PUT", "/"+n, `<entry xmlns="http://www.w3.org/2005/Atom"><content type="application/xml"><QueueDescription/></content></entry>`), http.StatusCreated)
	}
	w = f.do("GET", "/$Resources/Queues?%24skip=1&%24top=1&api-version=2024-05", "")
	f.want(w, http.StatusOK)
	if ct := w.Header().Get("Content-Type"); ct != contentFeed {
		t.Fatalf("Content-Type %q", ct)
	}
	golden(t, "list-queues-page.xml", w.Body.Bytes())

	w = f.do("GET", "/missing?api-version=2024-05", "")
	f.want(w, http.StatusNotFound)
	if w.Header().Get("x-ms-error-code") != "MessagingEntityNotFound" {
		t.Fatalf("x-ms-error-code %q", w.Header().Get("x-ms-error-code"))
	}
	golden(t, "error-not-found.xml", w.Body.Bytes())
}

func TestRouting(t *testing.T) {
	t.Parallel()
	f := setup(t, Config{})
	empty := `<entry xmlns="http://www.w3.org/2005/Atom"><content type="application/xml"><QueueDescription/></content></entry>`
	f.want(f.do("PUT", "/a/b/c", empty), http.StatusCreated)
	f.want(f.do("GET", "/a/b/c", ""), http.StatusOK)
	f.want(f.do("GET", "/A/B/C/", ""), http.StatusOK)
	f.want(f.do("PUT", "/a/b/c", empty), http.StatusConflict)
	f.want(f.do("PUT", "/a/b/c", empty, "If-Match", "*"), http.StatusOK)
	f.want(f.do("PUT", "/nope", empty, "If-Match", "*"), http.StatusNotFound)
	f.want(f.do("POST", "/a/b/c", ""), http.StatusMethodNotAllowed)
	f.want(f.do("POST", "/$namespaceinfo", ""), http.StatusMethodNotAllowed)
	f.want(f.do("GET", "/$NAMESPACEINFO", ""), http.StatusOK)
	f.want(f.do("GET", "/", ""), http.StatusNotFound)
	f.want(f.do("GET", "/$Resources/EventHubs", ""), http.StatusNotFound)
	f.want(f.do("GET", "/a/b/c/$DeadLetterQueue", ""), http.StatusBadRequest)
	f.want(f.do("GET", "/t1/Subscriptions/s1", ""), http.StatusNotFound)
	f.want(f.do("GET", "/t1/Subscriptions?&%24top=10", ""), http.StatusNotFound)
	f.want(f.do("GET", "/t1/Subscriptions/s1/Rules/", ""), http.StatusNotFound)
	f.want(f.do("GET", "/t1/Subscriptions/s1/Rules/r1", ""), http.StatusNotFound)
	f.want(f.do("PUT", "/t1/Subscriptions/s1/Rules/r1", empty), http.StatusBadRequest)
	topic := `<entry xmlns="http://www.w3.org/2005/Atom"><content type="application/xml"><TopicDescription/></content></entry>`
	sub := `<entry xmlns="http://www.w3.org/2005/Atom"><content type="application/xml"><SubscriptionDescription/></content></entry>`
	rule := `<entry xmlns="http://www.w3.org/2005/Atom"><content type="application/xml"><RuleDescription><Filter i:type="FalseFilter" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"/></RuleDescription></content></entry>`
	f.want(f.do("PUT", "/a/t2", topic), http.StatusCreated)
	f.want(f.do("PUT", "/a/t2", topic), http.StatusConflict)
	f.want(f.do("PUT", "/a/t2", empty), http.StatusConflict)
	f.want(f.do("PUT", "/a/t2", empty, "If-Match", "*"), http.StatusBadRequest) // a topic, not a queue
	f.want(f.do("PUT", "/a/t2", sub), http.StatusBadRequest)
	f.want(f.do("PUT", "/a/t2/Subscriptions/s", topic), http.StatusBadRequest)
	f.want(f.do("PUT", "/a/t2/Subscriptions/s", sub, "If-Match", "*"), http.StatusNotFound)
	f.want(f.do("PUT", "/a/t2/subscriptions/s", sub), http.StatusCreated)
	f.want(f.do("PUT", "/A/T2/Subscriptions/S", sub), http.StatusConflict)
	f.want(f.do("GET", "/A/T2/SUBSCRIPTIONS/S/", ""), http.StatusOK)
	f.want(f.do("PUT", "/a/t2/Subscriptions/s/Rules/r", sub), http.StatusBadRequest)
	f.want(f.do("PUT", "/a/t2/Subscriptions/s/Rules/r", rule, "If-Match", "*"), http.StatusNotFound)
	f.want(f.do("PUT", "/a/t2/Subscriptions/s/Rules/r", rule), http.StatusCreated)
	f.want(f.do("PUT", "/a/t2/Subscriptions/s/rules/R", rule), http.StatusConflict)
	f.want(f.do("PUT", "/a/t2/Subscriptions/s/Rules/r", rule, "If-Match", "*"), http.StatusOK)
	f.want(f.do("PUT", "/a/t2/Subscriptions/s/Rules/", rule), http.StatusConflict) // no name: $Default, which exists
	f.want(f.do("GET", "/a/t2/Subscriptions/s/RULES/r", ""), http.StatusOK)
	f.want(f.do("POST", "/a/t2/Subscriptions/s/Rules/r", ""), http.StatusMethodNotAllowed)
	f.want(f.do("POST", "/a/t2/Subscriptions/s/Rules", ""), http.StatusMethodNotAllowed)
	f.want(f.do("PUT", "/a/t2/Subscriptions", sub), http.StatusMethodNotAllowed)
	f.want(f.do("DELETE", "/a/t2/Subscriptions/s/Rules/r", ""), http.StatusOK)
	f.want(f.do("DELETE", "/a/t2/Subscriptions/s/Rules/r", ""), http.StatusNotFound)
	f.want(f.do("DELETE", "/a/t2/Subscriptions/s", ""), http.StatusOK)
	f.want(f.do("DELETE", "/a/t2/Subscriptions/s", ""), http.StatusNotFound)
	f.want(f.do("PUT", "/a/t2/Subscriptions/s", sub), http.StatusCreated)
	f.want(f.do("DELETE", "/a/t2", ""), http.StatusOK)
	f.want(f.do("GET", "/a/t2/Subscriptions/s", ""), http.StatusNotFound) // went with its topic
	f.want(f.do("GET", "/$Resources/Queues?$top=x", ""), http.StatusBadRequest)
	f.want(f.do("DELETE", "/a/b/c", ""), http.StatusOK)
	f.want(f.do("DELETE", "/a/b/c", ""), http.StatusNotFound)

	// Paging edges: past the end is an empty feed without a next link.
	w := f.do("GET", "/$Resources/Queues?$skip=5", "")
	f.want(w, http.StatusOK)
	if strings.Contains(w.Body.String(), "<entry") || strings.Contains(w.Body.String(), `rel="next"`) {
		t.Fatalf("page past the end: %s", w.Body)
	}
}

func TestBadBodies(t *testing.T) {
	t.Parallel()
	f := setup(t, Config{MaxRequestBytes: 4096})
	wrap := func(desc string) string {
		return `<entry xmlns="http://www.w3.org/2005/Atom"><content type="application/xml"><QueueDescription>` + desc + `</QueueDescription></content></entry>`
	}
	for _, tc := range []struct {
		name, body, detail string
		status             int
	}{
		{"empty", "", "no body", 400},
		{"not xml", "{}", "not well-formed", 400},
		{"truncated", `<entry><content>`, "not well-formed", 400},
		{"wrong root", `<feed/>`, "<feed>", 400},
		{"no content", `<entry/>`, "no <content>", 400},
		{"empty content", `<entry><content/></entry>`, "holds no QueueDescription", 400},
		{"two roots", `<entry><content><QueueDescription/></content></entry><entry/>`, "second document element", 400},
		{"bad duration", wrap(`<LockDuration>1 minute</LockDuration>`), "LockDuration", 400},
		{"negative duration", wrap(`<LockDuration>-PT1M</LockDuration>`), "negative", 400},
		{"zero duration", wrap(`<LockDuration>PT0S</LockDuration>`), "must be positive", 400},
		{"bad bool", wrap(`<RequiresSession>yes</RequiresSession>`), "RequiresSession", 400},
		{"bad int", wrap(`<MaxDeliveryCount>99999999999</MaxDeliveryCount>`), "MaxDeliveryCount", 400},
		{"zero int", wrap(`<MaxSizeInMegabytes>0</MaxSizeInMegabytes>`), "must be positive", 400},
		{"bad status", wrap(`<Status>Sleeping</Status>`), "Status", 400},
		{"two errors", wrap(`<Status>Sleeping</Status><MaxDeliveryCount>x</MaxDeliveryCount>`), "MaxDeliveryCount", 400},
		{"out of range", wrap(`<LockDuration>PT6M</LockDuration>`), "LockDuration", 400},
		{"bad forward", wrap(`<ForwardTo>a b</ForwardTo>`), "a b", 400},
		{"metadata too long", wrap(`<UserMetadata>` + strings.Repeat("x", 1025) + `</UserMetadata>`), "UserMetadata", 400},
		{"too large", wrap(`<UserMetadata>` + strings.Repeat("x", 5000) + `</UserMetadata>`), "larger than 4096", 413},
	} {
		w := f.do("PUT", "/q", tc.body)
		if w.Code != tc.status || !strings.Contains(w.Body.String(), xmlEscape(tc.detail)) {
			t.Errorf("%s: %d %s; want %d mentioning %q", tc.name, w.Code, w.Body, tc.status, tc.detail)
		}
	}
	// Nothing was created by any of them.
	if len(f.b.ListEntities(0)) != 0 {
		t.Fatal("a bad request created a queue")
	}
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func TestEveryBrokerCodeMapped(t *testing.T) {
	t.Parallel()
	for c := broker.CodeUnknown; c <= broker.CodeTimeout; c++ {
		m, ok := statusOf[c]
		if !ok || m.status < 400 || m.code == "" {
			t.Errorf("broker code %v has no mapping", c)
		}
	}
	if broker.Code(int(broker.CodeTimeout)+1).String() != "Code(15)" {
		t.Error("a broker code was added after CodeTimeout: map it in statusOf and extend this test")
	}
}

func TestTextEscaping(t *testing.T) {
	t.Parallel()
	var w xmlWriter
	w.text("a<b>&\"c' \t\n\r\x00\xff é 😀")
	want := "a&lt;b&gt;&amp;&quot;c' \t\n&#xD;\uFFFD\uFFFD é 😀"
	if w.String() != want {
		t.Fatalf("got %q, want %q", w.String(), want)
	}
	var back struct {
		V string `xml:"v"`
	}
	if err := xml.Unmarshal([]byte("<x><v>"+w.String()+"</v></x>"), &back); err != nil || back.V != "a<b>&\"c' \t\n\r\uFFFD\uFFFD é 😀" {
		t.Fatalf("read back %q, %v", back.V, err)
	}
}
