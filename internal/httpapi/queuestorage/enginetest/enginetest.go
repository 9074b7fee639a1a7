// Package enginetest is the contract suite of queuestorage.Engine: every
// Engine (the broker engine, the PostgreSQL engine) runs it and must give
// the same answers — results, order, times and broker error codes — for
// the same calls on the same fake clock. It is a test-only package.
package enginetest

import (
	"context"
	"encoding/base64"
	"maps"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/httpapi/queuestorage"
)

// Start is the fake clock's time when a test begins.
var Start = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// NewEngine returns a fresh, empty Engine whose time is clk; it closes
// the engine with t.Cleanup.
type NewEngine func(t *testing.T, clk *clock.Fake) queuestorage.Engine

// Run runs the suite, one subtest per case, each on an engine of its own.
func Run(t *testing.T, newEngine NewEngine) {
	tests := []struct {
		name string
		fn   func(*fixture)
	}{
		{"CreateQueue", testCreateQueue},
		{"Metadata", testMetadata},
		{"ListByPrefix", testListByPrefix},
		{"DeleteQueue", testDeleteQueue},
		{"PutGetPeekOrder", testPutGetPeekOrder},
		{"PutVisibility", testPutVisibility},
		{"PutArguments", testPutArguments},
		{"GetHidesThenReappears", testGetHidesThenReappears},
		{"OrderAfterReappearing", testOrderAfterReappearing},
		{"GetArguments", testGetArguments},
		{"DeleteReceipts", testDeleteReceipts},
		{"MalformedReceipts", testMalformedReceipts},
		{"Update", testUpdate},
		{"UpdateText", testUpdateText},
		{"UpdateCappedAtExpiry", testUpdateCappedAtExpiry},
		{"TTLExpiry", testTTLExpiry},
		{"TTLDefaultsAndNever", testTTLDefaultsAndNever},
		{"Clear", testClear},
		{"ApproximateCount", testApproximateCount},
		{"MissingQueue", testMissingQueue},
		{"TextNotKept", testTextNotKept},
		{"ConcurrentGets", testConcurrentGets},
		{"ConcurrentMetadataUpdates", testConcurrentMetadataUpdates},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := clock.NewFake(Start)
			tc.fn(&fixture{t: t, clk: clk, e: newEngine(t, clk), ctx: context.Background()})
		})
	}
}

// fixture is one case's engine and clock, with helpers that fail the test
// on unexpected errors.
type fixture struct {
	t   *testing.T
	clk *clock.Fake
	e   queuestorage.Engine
	ctx context.Context
}

const queue = "devstoreaccount1/q"

func (f *fixture) create(name string, md map[string]string) {
	f.t.Helper()
	if err := f.e.CreateQueue(f.ctx, name, md); err != nil {
		f.t.Fatalf("CreateQueue(%q): %v", name, err)
	}
}

func (f *fixture) put(name, text string, vis, ttl time.Duration) *queuestorage.Message {
	f.t.Helper()
	m, err := f.e.Put(f.ctx, name, []byte(text), vis, ttl)
	if err != nil {
		f.t.Fatalf("Put(%q, %q): %v", name, text, err)
	}
	return m
}

func (f *fixture) get(name string, n int, vis time.Duration) []*queuestorage.Message {
	f.t.Helper()
	ms, err := f.e.Get(f.ctx, name, n, vis)
	if err != nil {
		f.t.Fatalf("Get(%q, %d, %v): %v", name, n, vis, err)
	}
	return ms
}

func (f *fixture) peek(name string, n int) []*queuestorage.Message {
	f.t.Helper()
	ms, err := f.e.Peek(f.ctx, name, n)
	if err != nil {
		f.t.Fatalf("Peek(%q, %d): %v", name, n, err)
	}
	return ms
}

func (f *fixture) queue(name string) *queuestorage.Queue {
	f.t.Helper()
	q, err := f.e.Queue(f.ctx, name)
	if err != nil {
		f.t.Fatalf("Queue(%q): %v", name, err)
	}
	return q
}

func (f *fixture) queues(prefix string) []*queuestorage.Queue {
	f.t.Helper()
	qs, err := f.e.Queues(f.ctx, prefix)
	if err != nil {
		f.t.Fatalf("Queues(%q): %v", prefix, err)
	}
	return qs
}

func (f *fixture) count(name string) int64 {
	f.t.Helper()
	return f.queue(name).ApproximateCount
}

// setClock moves the clock forward to t, however far (a Duration spans
// only 292 years).
func (f *fixture) setClock(t time.Time) {
	for now := f.clk.Now(); now.Before(t); now = f.clk.Now() {
		f.clk.Advance(min(t.Sub(now), 100*365*24*time.Hour))
	}
}

// wantCode fails unless err carries code.
func (f *fixture) wantCode(what string, err error, code broker.Code) {
	f.t.Helper()
	if got := broker.CodeOf(err); got != code {
		f.t.Fatalf("%s: error %v (code %v); want code %v", what, err, got, code)
	}
}

// texts returns the messages' texts.
func texts(ms []*queuestorage.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = string(m.Text)
	}
	return out
}

func (f *fixture) wantTexts(what string, ms []*queuestorage.Message, want ...string) {
	f.t.Helper()
	got := texts(ms)
	if strings.Join(got, "|") != strings.Join(want, "|") || len(got) != len(want) {
		f.t.Fatalf("%s: texts %q; want %q", what, got, want)
	}
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// checkReceipt fails unless r is 16 bytes in URL-safe base64 without
// padding.
func (f *fixture) checkReceipt(r string) {
	f.t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(r)
	if err != nil || len(b) != 16 {
		f.t.Fatalf("receipt %q is not 16 bytes of URL-safe base64 without padding", r)
	}
}

func sameMD(a, b map[string]string) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return maps.Equal(a, b)
}
