package mgmt

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/store/memstore"
)

// epoch is where every test's fake clock starts.
var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// fixture is one API server over a real loopback listener, backed by a
// broker on memstore with a fake clock.
type fixture struct {
	t     testing.TB
	ctx   context.Context
	clock *clock.Fake
	b     *broker.Broker
	srv   *httptest.Server
	c     *Client
}

type setupOptions struct {
	ready    func() bool
	maxBytes int64
}

func setup(t testing.TB) *fixture { return setupWith(t, setupOptions{}) }

func setupWith(t testing.TB, o setupOptions) *fixture {
	t.Helper()
	f := &fixture{t: t, ctx: t.Context(), clock: clock.NewFake(epoch)}
	st := memstore.New()
	b, err := broker.New(broker.Config{Store: st, Clock: f.clock})
	if err != nil {
		t.Fatalf("broker.New: %v", err)
	}
	if err := b.Open(f.ctx); err != nil {
		t.Fatalf("broker.Open: %v", err)
	}
	f.b = b
	f.srv = httptest.NewServer(New(Config{Broker: b, Ready: o.ready, MaxRequestBytes: o.maxBytes}))
	t.Cleanup(func() {
		f.srv.Close()
		b.Close()
		st.Close()
	})
	f.c, err = NewClient(f.srv.URL, f.srv.Client())
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return f
}

// queue creates a queue through the API.
func (f *fixture) queue(name string, props QueueProperties) *Queue {
	f.t.Helper()
	q, err := f.c.CreateQueue(f.ctx, name, props)
	if err != nil {
		f.t.Fatalf("CreateQueue(%q): %v", name, err)
	}
	return q
}

// send sends text messages through the API.
func (f *fixture) send(queue string, bodies ...string) []int64 {
	f.t.Helper()
	msgs := make([]SendMessage, len(bodies))
	for i, b := range bodies {
		msgs[i] = TextMessage(b)
	}
	seqs, err := f.c.Send(f.ctx, queue, msgs...)
	if err != nil {
		f.t.Fatalf("Send(%q): %v", queue, err)
	}
	return seqs
}

// receive receives in peek-lock mode without waiting.
func (f *fixture) receive(queue string, max int) []*Message {
	f.t.Helper()
	msgs, err := f.c.Receive(f.ctx, queue, ReceiveRequest{Max: max})
	if err != nil {
		f.t.Fatalf("Receive(%q): %v", queue, err)
	}
	return msgs
}

// raw sends a request with a raw body and returns the status and body.
func (f *fixture) raw(method, path, body string, header ...string) (int, []byte) {
	f.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(f.ctx, method, f.srv.URL+path, rd)
	if err != nil {
		f.t.Fatalf("NewRequest: %v", err)
	}
	if method == "POST" || method == "PUT" || method == "PATCH" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatalf("read body: %v", err)
	}
	return resp.StatusCode, b
}

// wantError checks that a raw request fails with status and code in the
// API's error shape, and returns the message.
func (f *fixture) wantError(status int, code, method, path, body string, header ...string) string {
	f.t.Helper()
	got, b := f.raw(method, path, body, header...)
	var eb ErrorBody
	if err := json.Unmarshal(b, &eb); err != nil {
		f.t.Fatalf("%s %s: body %q is not the error shape: %v", method, path, b, err)
	}
	if got != status || eb.Error.Code != code {
		f.t.Fatalf("%s %s %s: got %d %s (%s), want %d %s", method, path, body, got, eb.Error.Code, eb.Error.Message, status, code)
	}
	if eb.Error.Message == "" {
		f.t.Fatalf("%s %s: error without a message", method, path)
	}
	return eb.Error.Message
}

// wantAPIError checks that err is an *APIError with status and code.
func wantAPIError(t *testing.T, err error, status int, code string) *APIError {
	t.Helper()
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an *APIError", err, err)
	}
	if ae.Status != status || ae.Code != code {
		t.Fatalf("got %d %s (%s), want %d %s", ae.Status, ae.Code, ae.Message, status, code)
	}
	return ae
}

// state is what a queue holds, for checking that a failed request changed
// nothing.
type state struct {
	Counts broker.Counts
	Main   []*Message
	DLQ    []*Message
}

func (f *fixture) state(name string) state {
	f.t.Helper()
	info, err := f.b.GetEntity(name)
	if err != nil {
		f.t.Fatalf("GetEntity(%q): %v", name, err)
	}
	st := state{Counts: info.Counts}
	for _, dlq := range []bool{false, true} {
		msgs, err := f.b.Peek(f.ctx, entityPath(name, dlq), 0, 5000, "")
		if err != nil {
			f.t.Fatalf("Peek(%q): %v", name, err)
		}
		if dlq {
			st.DLQ = messagesOf(msgs).Messages
		} else {
			st.Main = messagesOf(msgs).Messages
		}
	}
	return st
}

// unchanged checks that name holds what before says.
func (f *fixture) unchanged(name string, before state) {
	f.t.Helper()
	after := f.state(name)
	if !reflect.DeepEqual(before, after) {
		a, _ := json.Marshal(before)
		b, _ := json.Marshal(after)
		f.t.Fatalf("queue %q changed:\nbefore %s\nafter  %s", name, a, b)
	}
}

func ptr[T any](v T) *T { return &v }

func dur(d time.Duration) *Duration { v := Duration(d); return &v }
