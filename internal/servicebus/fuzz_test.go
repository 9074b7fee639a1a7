package servicebus

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goamqp "github.com/Azure/go-amqp"

	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/broker/brokertest"
	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/store/memstore"
)

var writeSeeds = flag.Bool("write-seeds", false, "rewrite the checked-in fuzz seed corpus under testdata/fuzz")

// fuzzOps are the operations FuzzHandle picks from, with the body keys it
// uses when it builds a body from a list of values.
var fuzzOps = []struct {
	op   string
	keys []string
}{
	{OpPeekMessage, []string{"from-sequence-number", "message-count", "session-id", "omit-message-body"}},
	{OpRenewLock, []string{"lock-tokens"}},
	{OpReceiveBySequence, []string{"sequence-numbers", "receiver-settle-mode", "session-id"}},
	{OpUpdateDisposition, []string{"disposition-status", "lock-tokens", "deadletter-reason", "deadletter-description", "properties-to-modify", "session-id"}},
	{OpScheduleMessage, []string{"messages"}},
	{OpCancelScheduledMessage, []string{"sequence-numbers"}},
	{OpRenewSessionLock, []string{"session-id"}},
	{OpGetSessionState, []string{"session-id"}},
	{OpSetSessionState, []string{"session-id", "session-state"}},
	{OpGetMessageSessions, []string{"last-updated-time", "skip", "top"}},
	{OpAddRule, []string{"rule-name", "rule-description"}},
	{OpEnumerateRules, []string{"top", "skip"}},
	{OpRemoveRule, []string{"rule-name"}},
	{"com.microsoft:bogus", nil},
}

// Flags of the second input byte.
const (
	fuzzWithSession  = 1 << iota // pass the held session lock
	fuzzSessionQueue             // address the session queue "s" instead of "q"
	fuzzDLQ                      // address the dead-letter sub-queue
	fuzzZip                      // the value is a list: zip it with the operation's keys
	fuzzMissing                  // address an entity that does not exist
	fuzzStaleSession             // pass a session lock that is not held
	fuzzSubscription             // address the subscription "t/Subscriptions/sub" (rules)
)

// fuzzEnv is a deterministic broker: lock tokens come from a zero seed, so
// seeds can carry real tokens.
type fuzzEnv struct {
	b      *broker.Broker
	m      *Management
	clk    *clock.Fake
	sess   *broker.SessionLock
	tokens []broker.LockToken // locked messages: q, q's DLQ, s in session a
}

func newFuzzEnv(tb testing.TB) *fuzzEnv {
	tb.Helper()
	ctx := context.Background()
	clk := clock.NewFake(brokertest.Epoch)
	b, err := broker.New(broker.Config{Store: memstore.New(), Clock: clk, Random: func(p []byte) { clear(p) }})
	if err != nil {
		tb.Fatal(err)
	}
	if err := b.Open(ctx); err != nil {
		tb.Fatal(err)
	}
	fe := &fuzzEnv{b: b, clk: clk}
	fe.m, _ = NewManagement(Config{Broker: b, Clock: clk})
	must := func(err error) {
		if err != nil {
			b.Close()
			tb.Fatal(err)
		}
	}
	_, err = b.CreateQueue(ctx, "q", broker.QueueProperties{})
	must(err)
	_, err = b.CreateQueue(ctx, "s", broker.QueueProperties{RequiresSession: true})
	must(err)
	_, err = b.CreateTopic(ctx, "t", broker.QueueProperties{})
	must(err)
	_, err = b.CreateSubscription(ctx, "t", "sub", broker.QueueProperties{}, nil)
	must(err)
	send := func(path string, msgs ...*encoding.Message) {
		for _, m := range msgs {
			bm, err := FromAMQP(amqpMsg(tb, m))
			must(err)
			_, err = b.Send(ctx, path, []*broker.Message{bm})
			must(err)
		}
	}
	recv := func(path string, sess *broker.SessionLock) *broker.Message {
		got, err := b.Receive(ctx, path, broker.ReceiveOptions{Mode: broker.PeekLock, Session: sess})
		must(err)
		return got[0]
	}
	send("q", simple("a", "1", ""), simple("b", "2", ""), simple("c", "3", ""), simple("d", "4", ""))
	must(b.Settle(ctx, "q", recv("q", nil).LockToken, broker.Settlement{Disposition: broker.Defer}))
	must(b.Settle(ctx, "q", recv("q", nil).LockToken, broker.Settlement{Disposition: broker.DeadLetter, DeadLetterReason: "r"}))
	fe.tokens = append(fe.tokens, recv("q", nil).LockToken, recv("q/$DeadLetterQueue", nil).LockToken)
	_, err = b.Schedule(ctx, "q", []*broker.Message{{MessageID: "sched", Body: []byte("x")}}, clk.Now().Add(time.Hour))
	must(err)
	send("s", simple("e", "5", "a"), simple("f", "6", "a"), simple("g", "7", "b"))
	fe.sess, err = b.AcceptSession(ctx, "s", "a", 0)
	must(err)
	fe.tokens = append(fe.tokens, recv("s", fe.sess).LockToken)
	must(b.SetSessionState(ctx, "s", fe.sess, []byte("state")))
	return fe
}

// fuzzSeeds are realistic requests: Go-shaped bodies for every operation.
func fuzzSeeds(tb testing.TB) [][]byte {
	tb.Helper()
	fe := newFuzzEnv(tb)
	defer fe.b.Close()
	tok := []goamqp.UUID{goamqp.UUID(fe.tokens[0])}
	dlqTok := []goamqp.UUID{goamqp.UUID(fe.tokens[1])}
	sessTok := []goamqp.UUID{goamqp.UUID(fe.tokens[2])}
	reason := "reason"
	sched := scheduleRequest(tb, brokertest.Epoch.Add(time.Minute), "m1", "m2")
	type seed struct {
		op    int
		flags byte
		body  any
	}
	seeds := []seed{
		{0, 0, peekBody(1, 10)},
		{0, fuzzWithSession | fuzzSessionQueue, peekBody(1, 10)},
		{0, fuzzDLQ, peekBody(1, 10)},
		{1, 0, map[string]any{"lock-tokens": tok}},
		{1, fuzzDLQ, map[string]any{"lock-tokens": dlqTok}},
		{2, 0, map[string]any{"sequence-numbers": []int64{1}, "receiver-settle-mode": uint32(1)}},
		{2, 0, map[string]any{"sequence-numbers": []int64{1}, "receiver-settle-mode": uint32(0)}},
		{3, 0, map[string]any{"disposition-status": "completed", "lock-tokens": tok}},
		{3, 0, map[string]any{"disposition-status": "abandoned", "lock-tokens": tok, "properties-to-modify": map[string]any{"k": int64(1)}}},
		{3, 0, map[string]any{"disposition-status": "suspended", "lock-tokens": tok, "deadletter-reason": &reason, "deadletter-description": &reason}},
		{3, 0, map[string]any{"disposition-status": "defered", "lock-tokens": tok}},
		{3, fuzzDLQ, map[string]any{"disposition-status": "abandoned", "lock-tokens": dlqTok}},
		{3, fuzzWithSession | fuzzSessionQueue, map[string]any{"disposition-status": "completed", "lock-tokens": sessTok}},
		{4, 0, sched},
		{5, 0, map[string]any{"sequence-numbers": []int64{5, 6}}},
		{6, fuzzWithSession | fuzzSessionQueue, map[string]any{"session-id": "a"}},
		{6, fuzzStaleSession | fuzzSessionQueue, map[string]any{"session-id": "a"}},
		{7, fuzzWithSession | fuzzSessionQueue, map[string]any{"session-id": "a"}},
		{8, fuzzWithSession | fuzzSessionQueue, map[string]any{"session-id": "a", "session-state": []byte("new")}},
		{9, fuzzSessionQueue, map[string]any{"last-updated-time": time.UnixMilli(253402300800000), "skip": int32(0), "top": int32(100)}},
		{9, fuzzSessionQueue, map[string]any{"last-updated-time": brokertest.Epoch.Add(-time.Hour), "skip": int32(1), "top": int32(1)}},
		{10, 0, map[string]any{"rule-name": "r", "rule-description": map[string]any{"sql-filter": map[string]any{"expression": "1=1"}}}},
		{11, 0, map[string]any{"top": int32(10), "skip": int32(0)}},
		{10, fuzzSubscription, map[string]any{"rule-name": "r", "rule-description": map[string]any{"sql-filter": map[string]any{"expression": "a > 1 AND b LIKE 'x%'"},
			"sql-rule-action": map[string]any{"expression": "SET c = a + 1"}}}},
		{10, fuzzSubscription, map[string]any{"rule-name": "c", "rule-description": map[string]any{"correlation-filter": map[string]any{
			"correlation-id": "id", "label": "l", "properties": map[string]any{"k": int64(1)}}}}},
		{10, fuzzSubscription, map[string]any{"rule-name": "bad", "rule-description": map[string]any{"sql-filter": map[string]any{"expression": "a == 1"}}}},
		{11, fuzzSubscription, map[string]any{"top": int32(10), "skip": int32(0)}},
		{12, fuzzSubscription, map[string]any{"rule-name": "$Default"}},
		{13, 0, map[string]any{"x": "y"}},
		{0, fuzzMissing, peekBody(1, 1)},
	}
	var out [][]byte
	for _, s := range seeds {
		var w encoding.Buffer
		v := goRequest(tb, s.body.(map[string]any))
		if err := w.AppendValue(v); err != nil {
			tb.Fatal(err)
		}
		out = append(out, append([]byte{byte(s.op), s.flags}, w.Bytes()...))
	}
	// Zipped lists and odd bodies.
	for _, z := range []struct {
		op    int
		flags byte
		value any
	}{
		{0, fuzzZip, []any{int64(2), int32(3)}},
		{1, fuzzZip, []any{[]encoding.UUID{encoding.UUID(fe.tokens[0])}}},
		{2, fuzzZip, []any{[]int64{1}, uint32(1)}},
		{3, fuzzZip, []any{"completed", []encoding.UUID{encoding.UUID(fe.tokens[0])}, nil, nil, encoding.Map{{Key: "p", Value: "v"}}}},
		{8, fuzzZip | fuzzWithSession | fuzzSessionQueue, []any{"a", nil}},
		{9, fuzzZip | fuzzSessionQueue, []any{time.UnixMilli(0), int32(0), int32(0)}},
		{0, 0, "not a map"},
		{0, 0, nil},
	} {
		var w encoding.Buffer
		if err := w.AppendValue(z.value); err != nil {
			tb.Fatal(err)
		}
		out = append(out, append([]byte{byte(z.op), z.flags}, w.Bytes()...))
	}
	return out
}

func TestWriteFuzzSeeds(t *testing.T) {
	if !*writeSeeds {
		t.Skip("run with -write-seeds to rewrite testdata/fuzz/FuzzHandle")
	}
	for name, seeds := range map[string][][]byte{"FuzzHandle": fuzzSeeds(t), "FuzzCodec": codecSeeds(t)} {
		dir := filepath.Join("testdata", "fuzz", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, s := range seeds {
			content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// FuzzHandle feeds decoded request bodies to every operation, on plain,
// session and dead-letter entities, with and without a session lock, and
// checks that Handle answers with a well-formed response.
func FuzzHandle(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		op := fuzzOps[int(data[0])%len(fuzzOps)]
		flags := data[1]
		r := encoding.NewReader(data[2:])
		body, err := r.ReadValue()
		if err != nil {
			return
		}
		if l, isList := body.([]any); isList && flags&fuzzZip != 0 {
			m := encoding.Map{}
			for i, v := range l {
				if i < len(op.keys) {
					m = append(m, encoding.KV{Key: op.keys[i], Value: v})
				}
			}
			body = m
		}
		fe := newFuzzEnv(t)
		defer fe.b.Close()
		entity := "q"
		if flags&fuzzSessionQueue != 0 {
			entity = "s"
		}
		if flags&fuzzDLQ != 0 {
			entity += "/$DeadLetterQueue"
		}
		if flags&fuzzSubscription != 0 {
			entity = "t/Subscriptions/sub"
			if flags&fuzzDLQ != 0 {
				entity += "/$DeadLetterQueue"
			}
		}
		if flags&fuzzMissing != 0 {
			entity = "missing"
		}
		req := &Request{Operation: op.op, Entity: entity, Body: body, AssociatedLinkName: "link"}
		if flags&fuzzWithSession != 0 {
			req.Session = fe.sess
		}
		if flags&fuzzStaleSession != 0 {
			req.Session = &broker.SessionLock{SessionID: "a", Token: broker.LockToken{1}, LockedUntil: fe.clk.Now().Add(time.Hour)}
		}
		before := broker.SessionLock{}
		if req.Session != nil {
			before = *req.Session
		}
		resp := fe.m.Handle(context.Background(), req)
		checkResponse(t, resp)
		if req.Session != nil && *req.Session != before {
			t.Fatal("Handle modified the request's session lock")
		}
		// The broker is still consistent enough to answer a peek.
		resp = fe.m.Handle(context.Background(), &Request{Operation: OpPeekMessage, Entity: "q",
			Body: encoding.Map{{Key: "from-sequence-number", Value: int64(1)}, {Key: "message-count", Value: int32(100)}}})
		checkResponse(t, resp)
	})
}

var knownStatus = map[int32]bool{200: true, 204: true, 400: true, 403: true, 404: true, 408: true, 409: true, 410: true, 413: true, 501: true, 503: true}

// checkResponse checks that resp is what the SDKs can read: a known int32
// status, a condition and description on errors and only there, no body
// on errors and 204, a non-empty map body on 200 (or none), every value
// encodable and decodable by go-amqp as map[string]any.
func checkResponse(t *testing.T, resp *Response) {
	t.Helper()
	if resp == nil {
		t.Fatal("nil response")
	}
	if !knownStatus[resp.StatusCode] {
		t.Fatalf("status %d (%s: %s)", resp.StatusCode, resp.ErrorCondition, resp.StatusDescription)
	}
	if strings.Contains(resp.StatusDescription, "panic") {
		t.Fatalf("panic: %s", resp.StatusDescription)
	}
	switch {
	case resp.StatusCode >= 300:
		if resp.ErrorCondition == "" || resp.StatusDescription == "" || resp.Body != nil {
			t.Fatalf("malformed error response %+v", resp)
		}
	case resp.StatusCode == StatusNoContent:
		if resp.Body != nil || resp.ErrorCondition != "" {
			t.Fatalf("malformed 204 %+v", resp)
		}
	default:
		if resp.ErrorCondition != "" {
			t.Fatalf("success with a condition %+v", resp)
		}
		if resp.Body != nil {
			m, isMap := resp.Body.(encoding.Map)
			if !isMap || len(m) == 0 {
				t.Fatalf("success body %#v is not a non-empty map", resp.Body)
			}
			for _, kv := range m {
				if _, isString := kv.Key.(string); !isString {
					t.Fatalf("body key %#v is not a string", kv.Key)
				}
			}
		}
	}
	gm := goResponse(t, resp)
	if resp.Body != nil {
		if _, isMap := gm.Value.(map[string]any); !isMap {
			t.Fatalf("go-amqp decodes the body as %T", gm.Value)
		}
	}
}
