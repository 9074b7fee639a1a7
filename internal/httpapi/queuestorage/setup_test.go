package queuestorage

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/clock"
)

var epoch = time.Date(2026, 11, 24, 6, 47, 14, 0, time.UTC)

// fixture is a handler over a memEngine with a fake clock.
type fixture struct {
	t     *testing.T
	clock *clock.Fake
	eng   *memEngine
	h     *Handler
}

func setup(t *testing.T, mod ...func(*Config)) *fixture {
	t.Helper()
	fc := clock.NewFake(epoch)
	eng := newMemEngine(fc)
	cfg := Config{Engine: eng, Clock: fc, Accounts: map[string]string{"other": base64.StdEncoding.EncodeToString([]byte("other-key"))}}
	for _, m := range mod {
		m(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, clock: fc, eng: eng, h: h}
}

// testSignature signs a request as the Go SDK does (byte-ordered headers),
// written independently of canon.go.
func testSignature(key []byte, account string, r *http.Request) string {
	cl := r.Header.Get("Content-Length")
	if cl == "0" {
		cl = ""
	}
	var hdrs []string
	for k, v := range r.Header {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-ms-") {
			hdrs = append(hdrs, lk+":"+strings.Join(v, ","))
		}
	}
	sort.Strings(hdrs)
	path, rawQuery, _ := strings.Cut(r.RequestURI, "?")
	res := "/" + account + path
	q, _ := url.ParseQuery(rawQuery)
	var names []string
	lowered := map[string][]string{}
	for k, v := range q {
		lk := strings.ToLower(k)
		if _, ok := lowered[lk]; !ok {
			names = append(names, lk)
		}
		lowered[lk] = append(lowered[lk], v...)
	}
	sort.Strings(names)
	for _, n := range names {
		vs := lowered[n]
		sort.Strings(vs)
		res += "\n" + n + ":" + strings.Join(vs, ",")
	}
	s := r.Method + "\n\n\n" + cl + "\n\n" + r.Header.Get("Content-Type") + "\n\n\n\n\n\n\n"
	for _, h := range hdrs {
		s += h + "\n"
	}
	s += res
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// sign is the HMAC-SHA256 of s under key.
func sign(key []byte, s string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return m.Sum(nil)
}

func devKey() []byte {
	k, _ := base64.StdEncoding.DecodeString(DevKey)
	return k
}

// newReq builds a request with x-ms-date and x-ms-version set.
func newReq(method, target, body string, hdr ...string) *http.Request {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.Header.Set("x-ms-date", epoch.Format(http.TimeFormat))
	r.Header.Set("x-ms-version", "2018-03-28")
	if body != "" {
		r.Header.Set("Content-Type", "application/xml")
		r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	} else if method == http.MethodPut || method == http.MethodPost {
		r.Header.Set("Content-Length", "0")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	return r
}

// serve runs r through the handler.
func (fx *fixture) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	fx.h.ServeHTTP(w, r)
	return w
}

// do sends a request signed with the dev account's key.
func (fx *fixture) do(method, target, body string, hdr ...string) *httptest.ResponseRecorder {
	fx.t.Helper()
	r := newReq(method, target, body, hdr...)
	r.Header.Set("Authorization", "SharedKey devstoreaccount1:"+testSignature(devKey(), DevAccount, r))
	return fx.serve(r)
}

// want checks status and, for errors, the x-ms-error-code header and body
// code.
func want(t *testing.T, w *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d; body %s", w.Code, status, w.Body.String())
	}
	if got := w.Header().Get("x-ms-error-code"); got != code {
		t.Fatalf("x-ms-error-code %q, want %q; body %s", got, code, w.Body.String())
	}
	if code != "" && w.Body.Len() > 0 && !strings.Contains(w.Body.String(), "<Code>"+code+"</Code>") {
		t.Fatalf("body lacks <Code>%s</Code>: %s", code, w.Body.String())
	}
	if w.Header().Get("x-ms-request-id") == "" || w.Header().Get("x-ms-version") == "" {
		t.Fatalf("missing x-ms-request-id or x-ms-version: %v", w.Header())
	}
}

// mustCreate creates a queue.
func (fx *fixture) mustCreate(name string, hdr ...string) {
	fx.t.Helper()
	want(fx.t, fx.do("PUT", "/devstoreaccount1/"+name, "", hdr...), 201, "")
}

// putMsg puts a message and returns id and receipt.
func (fx *fixture) putMsg(queue, text string) (string, string) {
	fx.t.Helper()
	w := fx.do("POST", "/devstoreaccount1/"+queue+"/messages", "<QueueMessage><MessageText>"+text+"</MessageText></QueueMessage>")
	want(fx.t, w, 201, "")
	var doc messagesListXML
	if err := xml.Unmarshal(w.Body.Bytes(), &doc); err != nil || len(doc.Messages) != 1 {
		fx.t.Fatalf("put response %s: %v", w.Body.String(), err)
	}
	return doc.Messages[0].MessageID, doc.Messages[0].PopReceipt
}
