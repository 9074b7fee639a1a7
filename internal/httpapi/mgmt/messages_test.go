package mgmt

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestSendReceiveComplete(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.queue("orders", QueueProperties{LockDuration: dur(30 * time.Second)})

	code, body := f.raw("POST", "/api/v1/queues/orders/messages", `{"messages":[
		{"body":"hello","messageId":"m1","correlationId":"c1","subject":"s","to":"t","replyTo":"r",
		 "replyToSessionId":"rs","contentType":"text/plain","partitionKey":"pk","timeToLive":"PT1H",
		 "properties":{"int":42,"big":9007199254740993,"float":1.5,"exp":1e3,"bool":true,"null":null,"str":"v"}},
		{"bodyBase64":"/wAB"},
		{}]}`)
	if code != http.StatusCreated || string(body) != `{"sequenceNumbers":[1,2,3]}`+"\n" {
		t.Fatalf("send: %d %s", code, body)
	}

	msgs, err := f.c.Receive(f.ctx, "orders", ReceiveRequest{Mode: "PeekLock", Max: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 3 {
		t.Fatalf("received %d messages", len(msgs))
	}
	m := msgs[0]
	if *m.Body != "hello" || m.BodyBase64 != "" || m.MessageID != "m1" || m.CorrelationID != "c1" || m.Subject != "s" ||
		m.To != "t" || m.ReplyTo != "r" || m.ReplyToSessionID != "rs" || m.ContentType != "text/plain" ||
		m.PartitionKey != "pk" || *m.TimeToLive != Duration(time.Hour) || m.SequenceNumber != 1 ||
		!m.EnqueuedTime.Equal(epoch) || !m.ExpiresAt.Equal(epoch.Add(time.Hour)) || m.DeliveryCount != 0 ||
		m.LockToken == "" || !m.LockedUntil.Equal(epoch.Add(30*time.Second)) || m.State != "Active" {
		t.Fatalf("message: %+v", m)
	}
	wantProps := map[string]any{"int": 42.0, "big": 9007199254740993.0, "float": 1.5, "exp": 1000.0, "bool": true, "null": nil, "str": "v"}
	if fmt.Sprint(m.Properties) != fmt.Sprint(wantProps) {
		t.Fatalf("properties: %v", m.Properties)
	}
	// Integers are kept as int64 by the broker, floats as float64.
	peeked, err := f.b.Peek(f.ctx, "orders", 1, 1, "")
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := peeked[0].Properties["big"].(int64); !ok || v != 9007199254740993 {
		t.Fatalf("big: %T %v", peeked[0].Properties["big"], peeked[0].Properties["big"])
	}
	if _, ok := peeked[0].Properties["exp"].(float64); !ok {
		t.Fatalf("exp: %T", peeked[0].Properties["exp"])
	}
	// A binary body comes back as base64, an empty one as "".
	if msgs[1].Body != nil || msgs[1].BodyBase64 != "/wAB" {
		t.Fatalf("binary body: %+v", msgs[1])
	}
	if b, _ := msgs[1].BodyBytes(); !bytes.Equal(b, []byte{0xff, 0, 1}) {
		t.Fatalf("BodyBytes: %v", b)
	}
	if msgs[2].Body == nil || *msgs[2].Body != "" {
		t.Fatalf("empty body: %+v", msgs[2])
	}

	for _, m := range msgs {
		if err := f.c.Complete(f.ctx, "orders", m.LockToken, false); err != nil {
			t.Fatal(err)
		}
	}
	// Double complete: the lock is gone.
	before := f.state("orders")
	err = f.c.Complete(f.ctx, "orders", msgs[0].LockToken, false)
	wantAPIError(t, err, http.StatusGone, "LockLost")
	f.unchanged("orders", before)
	if before.Counts.Active != 0 || before.Counts.SizeBytes != 0 {
		t.Fatalf("counts after complete: %+v", before.Counts)
	}
	// Nothing left.
	if msgs := f.receive("orders", 1); len(msgs) != 0 {
		t.Fatalf("received %d after complete", len(msgs))
	}
}

func TestReceiveAndDeleteAndPeek(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.queue("q", QueueProperties{})
	f.send("q", "a", "b", "c")

	got, err := f.c.Peek(f.ctx, "q", PeekOptions{From: 2, Max: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || *got[0].Body != "b" || got[0].LockToken != "" {
		t.Fatalf("peek from 2: %+v", got)
	}
	if got, _ := f.c.Peek(f.ctx, "q", PeekOptions{}); len(got) != 1 || *got[0].Body != "a" {
		t.Fatalf("peek default max: %+v", got)
	}
	msgs, err := f.c.Receive(f.ctx, "q", ReceiveRequest{Mode: ModeReceiveAndDelete, Max: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].LockToken != "" || *msgs[1].Body != "b" {
		t.Fatalf("receive and delete: %+v", msgs)
	}
	if q, _ := f.c.GetQueue(f.ctx, "q"); q.ActiveMessageCount != 1 {
		t.Fatalf("count after receive and delete: %d", q.ActiveMessageCount)
	}

	before := f.state("q")
	for _, tc := range []struct{ name, method, path, body string }{
		{"peek bad from", "GET", "/api/v1/queues/q/messages?from=x", ""},
		{"peek bad max", "GET", "/api/v1/queues/q/messages?max=0", ""},
		{"peek max over limit", "GET", "/api/v1/queues/q/messages?max=5001", ""},
		{"peek bad dlq", "GET", "/api/v1/queues/q/messages?dlq=maybe", ""},
		{"peek unknown param", "GET", "/api/v1/queues/q/messages?count=3", ""},
		{"peek repeated param", "GET", "/api/v1/queues/q/messages?max=1&max=2", ""},
		{"receive bad mode", "POST", "/api/v1/queues/q/receive", `{"mode":"peek"}`},
		{"receive negative max", "POST", "/api/v1/queues/q/receive", `{"max":-1}`},
		{"receive max over limit", "POST", "/api/v1/queues/q/receive", `{"max":5001}`},
		{"receive bad wait", "POST", "/api/v1/queues/q/receive", `{"wait":"soon"}`},
		{"receive wait too long", "POST", "/api/v1/queues/q/receive", `{"wait":"1h"}`},
		{"receive unknown field", "POST", "/api/v1/queues/q/receive", `{"maxMessages":1}`},
		{"receive malformed", "POST", "/api/v1/queues/q/receive", `{"max":1`},
		{"receive session on plain queue", "POST", "/api/v1/queues/q/receive", `{"sessionId":"s","sessionLockToken":"00000000-0000-4000-8000-000000000001"}`},
		{"receive session without token", "POST", "/api/v1/queues/q/receive", `{"sessionId":"s"}`},
		{"receive token without session", "POST", "/api/v1/queues/q/receive", `{"sessionLockToken":"00000000-0000-4000-8000-000000000001"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.t = t
			f.wantError(400, "InvalidArgument", tc.method, tc.path, tc.body)
		})
	}
	f.t = t
	f.unchanged("q", before)
	f.wantError(404, "NotFound", "GET", "/api/v1/queues/nope/messages", "")
	f.wantError(404, "NotFound", "POST", "/api/v1/queues/nope/receive", "")
	f.unchanged("q", before)
}

func TestReceiveWait(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.queue("q", QueueProperties{})
	type result struct {
		msgs []*Message
		err  error
	}
	wait := func() chan result {
		ch := make(chan result, 1)
		go func() {
			msgs, err := f.c.Receive(f.ctx, "q", ReceiveRequest{Wait: dur(5 * time.Second)})
			ch <- result{msgs, err}
		}()
		f.clock.BlockUntil(2) // the broker's timer goroutine and the waiting receive
		return ch
	}

	// A message sent while the receive waits is delivered to it.
	ch := wait()
	f.send("q", "late")
	r := <-ch
	if r.err != nil || len(r.msgs) != 1 || *r.msgs[0].Body != "late" {
		t.Fatalf("waiting receive: %+v %v", r.msgs, r.err)
	}
	// Nothing comes: an empty list when the wait ends.
	ch = wait()
	f.clock.Advance(5 * time.Second)
	r = <-ch
	if r.err != nil || len(r.msgs) != 0 {
		t.Fatalf("empty wait: %+v %v", r.msgs, r.err)
	}
}

func TestSettleDispositions(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.queue("q", QueueProperties{MaxDeliveryCount: ptr(int32(5))})
	f.send("q", "m1", "m2", "m3", "m4")
	msgs := f.receive("q", 4)
	settle := func(m *Message, req SettleRequest) {
		t.Helper()
		req.LockToken = m.LockToken
		if err := f.c.Settle(f.ctx, "q", req); err != nil {
			t.Fatalf("settle %s: %v", req.Disposition, err)
		}
	}
	settle(msgs[0], SettleRequest{Disposition: "abandon", Properties: map[string]any{"tries": 1}})
	settle(msgs[1], SettleRequest{Disposition: "release"})
	settle(msgs[2], SettleRequest{Disposition: "defer"})
	settle(msgs[3], SettleRequest{Disposition: "DeadLetter", Reason: "bad", Description: "it was bad", Properties: map[string]any{"k": "v"}})

	q, _ := f.c.GetQueue(f.ctx, "q")
	if q.ActiveMessageCount != 2 || q.DeferredMessageCount != 1 || q.DeadLetterMessageCount != 1 {
		t.Fatalf("counts: %+v", q)
	}
	again := f.receive("q", 2)
	if len(again) != 2 || again[0].DeliveryCount != 1 || again[0].Properties["tries"] != 1.0 || again[1].DeliveryCount != 0 {
		t.Fatalf("after abandon and release: %+v %+v", again[0], again[1])
	}
	for _, m := range again {
		settle(m, SettleRequest{Disposition: "complete"})
	}

	// Deferred: by sequence number.
	def, err := f.c.ReceiveDeferred(f.ctx, "q", DeferredRequest{SequenceNumbers: []int64{msgs[2].SequenceNumber}})
	if err != nil || len(def) != 1 || *def[0].Body != "m3" || def[0].State != "Deferred" || def[0].LockToken == "" {
		t.Fatalf("deferred: %+v %v", def, err)
	}
	settle(def[0], SettleRequest{Disposition: "complete"})
	_, err = f.c.ReceiveDeferred(f.ctx, "q", DeferredRequest{SequenceNumbers: []int64{msgs[2].SequenceNumber}})
	wantAPIError(t, err, 404, "MessageNotFound")

	// Dead-lettered: reason, description, source and properties.
	dl, err := f.c.Peek(f.ctx, "q", PeekOptions{DLQ: true, Max: 10})
	if err != nil || len(dl) != 1 {
		t.Fatalf("dlq peek: %+v %v", dl, err)
	}
	d := dl[0]
	if !d.DeadLettered || d.DeadLetterReason != "bad" || d.DeadLetterDescription != "it was bad" || d.DeadLetterSource != "" ||
		d.Properties["DeadLetterReason"] != "bad" || d.Properties["k"] != "v" {
		t.Fatalf("dead-lettered: %+v", d)
	}
	dm, err := f.c.Receive(f.ctx, "q", ReceiveRequest{DLQ: true})
	if err != nil || len(dm) != 1 {
		t.Fatalf("dlq receive: %+v %v", dm, err)
	}
	// The lock belongs to the dead-letter sub-queue.
	wantAPIError(t, f.c.Complete(f.ctx, "q", dm[0].LockToken, false), 410, "LockLost")
	if err := f.c.Complete(f.ctx, "q", dm[0].LockToken, true); err != nil {
		t.Fatal(err)
	}
	if q, _ := f.c.GetQueue(f.ctx, "q"); q.ActiveMessageCount+q.DeferredMessageCount+q.DeadLetterMessageCount != 0 {
		t.Fatalf("counts at the end: %+v", q)
	}
}

func TestSettleBadInput(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.queue("q", QueueProperties{})
	f.send("q", "x")
	m := f.receive("q", 1)[0]
	before := f.state("q")
	unknown := "00000000-0000-4000-8000-00000000abcd"
	for _, tc := range []struct {
		name, path, body string
		status           int
		code             string
	}{
		{"missing token", "settle", `{"disposition":"complete"}`, 400, "InvalidArgument"},
		{"bad token", "settle", `{"lockToken":"nope","disposition":"complete"}`, 400, "InvalidArgument"},
		{"bad token hex", "settle", `{"lockToken":"zzzzzzzz-0000-4000-8000-000000000000","disposition":"complete"}`, 400, "InvalidArgument"},
		{"unknown token", "settle", `{"lockToken":"` + unknown + `","disposition":"complete"}`, 410, "LockLost"},
		{"missing disposition", "settle", `{"lockToken":"` + m.LockToken + `"}`, 400, "InvalidArgument"},
		{"bad disposition", "settle", `{"lockToken":"` + m.LockToken + `","disposition":"delete"}`, 400, "InvalidArgument"},
		{"reason on complete", "settle", `{"lockToken":"` + m.LockToken + `","disposition":"complete","reason":"x"}`, 400, "InvalidArgument"},
		{"properties on complete", "settle", `{"lockToken":"` + m.LockToken + `","disposition":"complete","properties":{"a":1}}`, 400, "InvalidArgument"},
		{"nested property", "settle", `{"lockToken":"` + m.LockToken + `","disposition":"abandon","properties":{"a":{"b":1}}}`, 400, "InvalidArgument"},
		{"wrong sub-queue", "settle", `{"lockToken":"` + m.LockToken + `","disposition":"complete","dlq":true}`, 410, "LockLost"},
		{"unknown field", "settle", `{"lockToken":"` + m.LockToken + `","disposition":"complete","force":true}`, 400, "InvalidArgument"},
		{"malformed", "settle", `{"lockToken":`, 400, "InvalidArgument"},
		{"renew empty", "renew", `{"lockTokens":[]}`, 400, "InvalidArgument"},
		{"renew bad token", "renew", `{"lockTokens":["x"]}`, 400, "InvalidArgument"},
		{"renew unknown token", "renew", `{"lockTokens":["` + m.LockToken + `","` + unknown + `"]}`, 410, "LockLost"},
		{"deferred empty", "deferred", `{"sequenceNumbers":[]}`, 400, "InvalidArgument"},
		{"deferred not deferred", "deferred", `{"sequenceNumbers":[1]}`, 404, "MessageNotFound"},
		{"deferred bad mode", "deferred", `{"sequenceNumbers":[1],"mode":"x"}`, 400, "InvalidArgument"},
		{"cancel empty", "cancel-scheduled", `{}`, 400, "InvalidArgument"},
		{"cancel not scheduled", "cancel-scheduled", `{"sequenceNumbers":[1]}`, 404, "MessageNotFound"},
		{"cancel wrong type", "cancel-scheduled", `{"sequenceNumbers":["1"]}`, 400, "InvalidArgument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.t = t
			f.wantError(tc.status, tc.code, "POST", "/api/v1/queues/q/"+tc.path, tc.body)
		})
	}
	f.t = t
	f.unchanged("q", before)
	// The lock is still good.
	if err := f.c.Complete(f.ctx, "q", m.LockToken, false); err != nil {
		t.Fatal(err)
	}
}

func TestLockExpiryAndRenew(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.queue("q", QueueProperties{LockDuration: dur(10 * time.Second)})
	f.send("q", "a", "b")
	msgs := f.receive("q", 2)

	f.clock.Advance(8 * time.Second)
	until, err := f.c.RenewLocks(f.ctx, "q", RenewRequest{LockTokens: []string{msgs[0].LockToken}})
	if err != nil || len(until) != 1 || !until[0].Equal(epoch.Add(18*time.Second)) {
		t.Fatalf("renew: %v %v", until, err)
	}
	f.clock.Advance(3 * time.Second) // msgs[1]'s lock expired at 10 s
	before := f.state("q")
	wantAPIError(t, f.c.Complete(f.ctx, "q", msgs[1].LockToken, false), 410, "LockLost")
	_, err = f.c.RenewLocks(f.ctx, "q", RenewRequest{LockTokens: []string{msgs[1].LockToken}})
	wantAPIError(t, err, 410, "LockLost")
	f.unchanged("q", before)
	if err := f.c.Complete(f.ctx, "q", msgs[0].LockToken, false); err != nil {
		t.Fatalf("complete after renew: %v", err)
	}
	again := f.receive("q", 1)
	if len(again) != 1 || *again[0].Body != "b" || again[0].DeliveryCount != 1 {
		t.Fatalf("after expiry: %+v", again)
	}
}

func TestScheduleAndCancel(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.queue("q", QueueProperties{})
	at := epoch.Add(time.Hour)
	m := TextMessage("later")
	m.ScheduledEnqueueTime = &at
	seqs, err := f.c.Send(f.ctx, "q", m, m)
	if err != nil {
		t.Fatal(err)
	}
	q, _ := f.c.GetQueue(f.ctx, "q")
	if q.ScheduledMessageCount != 2 || q.ActiveMessageCount != 0 {
		t.Fatalf("counts: %+v", q)
	}
	p, _ := f.c.Peek(f.ctx, "q", PeekOptions{Max: 5})
	if len(p) != 2 || p[0].State != "Scheduled" || !p[0].ScheduledEnqueueTime.Equal(at) {
		t.Fatalf("peek scheduled: %+v", p)
	}
	if err := f.c.CancelScheduled(f.ctx, "q", seqs[0]); err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, f.c.CancelScheduled(f.ctx, "q", seqs[0]), 404, "MessageNotFound")
	f.clock.Advance(time.Hour)
	got := f.receive("q", 5)
	if len(got) != 1 || got[0].SequenceNumber != seqs[1] {
		t.Fatalf("after the schedule: %+v", got)
	}
	// RFC 3339 is required.
	f.wantError(400, "InvalidArgument", "POST", "/api/v1/queues/q/messages", `{"messages":[{"scheduledEnqueueTime":"tomorrow"}]}`)
}

func TestSendBadInput(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.queue("small", QueueProperties{MaxMessageSizeInKilobytes: ptr(int64(1))})
	f.queue("sess", QueueProperties{RequiresSession: ptr(true)})
	f.send("small", "keep")
	before, beforeSess := f.state("small"), f.state("sess")

	big := strings.Repeat("x", 2048)
	cases := []struct {
		name, queue, body string
		status            int
		code              string
	}{
		{"too large", "small", `{"messages":[{"body":"` + big + `"}]}`, 413, "MessageTooLarge"},
		{"too large in a batch", "small", `{"messages":[{"body":"ok"},{"bodyBase64":"` + base64.StdEncoding.EncodeToString([]byte(big)) + `"}]}`, 413, "MessageTooLarge"},
		{"no messages", "small", `{"messages":[]}`, 400, "InvalidArgument"},
		{"empty body", "small", ``, 400, "InvalidArgument"},
		{"body and base64", "small", `{"messages":[{"body":"a","bodyBase64":"YQ=="}]}`, 400, "InvalidArgument"},
		{"bad base64", "small", `{"messages":[{"bodyBase64":"!!"}]}`, 400, "InvalidArgument"},
		{"nested property", "small", `{"messages":[{"properties":{"a":[1]}}]}`, 400, "InvalidArgument"},
		{"huge number", "small", `{"messages":[{"properties":{"a":1e999}}]}`, 400, "InvalidArgument"},
		{"unknown field", "small", `{"messages":[{"text":"a"}]}`, 400, "InvalidArgument"},
		{"body not a string", "small", `{"messages":[{"body":42}]}`, 400, "InvalidArgument"},
		{"negative ttl", "small", `{"messages":[{"timeToLive":"-1s"}]}`, 400, "InvalidArgument"},
		{"zero ttl", "small", `{"messages":[{"timeToLive":"0s"}]}`, 400, "InvalidArgument"},
		{"long message id", "small", `{"messages":[{"messageId":"` + strings.Repeat("m", 129) + `"}]}`, 400, "InvalidArgument"},
		{"malformed", "small", `{"messages":[{"body":"a"}`, 400, "InvalidArgument"},
		{"no session id", "sess", `{"messages":[{"body":"a"}]}`, 400, "InvalidArgument"},
		{"unknown queue", "nope", `{"messages":[{"body":"a"}]}`, 404, "NotFound"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f.t = t
			f.wantError(tc.status, tc.code, "POST", "/api/v1/queues/"+tc.queue+"/messages", tc.body)
		})
	}
	f.t = t
	f.unchanged("small", before)
	f.unchanged("sess", beforeSess)
	// The error says why.
	msg := f.wantError(413, "MessageTooLarge", "POST", "/api/v1/queues/small/messages", `{"messages":[{"body":"`+big+`"}]}`)
	if !strings.Contains(msg, "1 KB") {
		t.Fatalf("message %q", msg)
	}
}

func TestResubmit(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.queue("q", QueueProperties{})
	for i := range 3 {
		m := TextMessage(fmt.Sprintf("m%d", i))
		m.MessageID = fmt.Sprintf("id%d", i)
		m.Properties = map[string]any{"n": i, "keep": "yes"}
		if _, err := f.c.Send(f.ctx, "q", m); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range f.receive("q", 3) {
		if err := f.c.Settle(f.ctx, "q", SettleRequest{LockToken: m.LockToken, Disposition: "deadletter", Reason: "poison", Description: "bad input"}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := f.c.ResubmitDeadLetters(f.ctx, "q", 2)
	if err != nil || res.Resubmitted != 2 || res.Skipped != 0 {
		t.Fatalf("resubmit 2: %+v %v", res, err)
	}
	q, _ := f.c.GetQueue(f.ctx, "q")
	if q.ActiveMessageCount != 2 || q.DeadLetterMessageCount != 1 {
		t.Fatalf("counts after resubmitting 2: %+v", q)
	}
	code, body := f.raw("POST", "/api/v1/queues/q/dlq/resubmit", `{}`) // all that are left
	if code != 200 || string(body) != `{"resubmitted":1}`+"\n" {
		t.Fatalf("resubmit the rest: %d %s", code, body)
	}
	msgs := f.receive("q", 10)
	if len(msgs) != 3 {
		t.Fatalf("received %d", len(msgs))
	}
	for i, m := range msgs {
		if *m.Body != fmt.Sprintf("m%d", i) || m.MessageID != fmt.Sprintf("id%d", i) || m.DeliveryCount != 0 || m.DeadLettered ||
			m.Properties["n"] != float64(i) || m.Properties["keep"] != "yes" || len(m.Properties) != 2 {
			t.Fatalf("resubmitted message %d: %+v", i, m)
		}
	}
	if res, err := f.c.ResubmitDeadLetters(f.ctx, "q", 0); err != nil || res.Resubmitted != 0 {
		t.Fatalf("resubmit of an empty DLQ: %+v %v", res, err)
	}
	_, err = f.c.ResubmitDeadLetters(f.ctx, "nope", 0)
	wantAPIError(t, err, 404, "NotFound")
	f.wantError(400, "InvalidArgument", "POST", "/api/v1/queues/q/dlq/resubmit", `{"max":-1}`)
}

func TestResubmitDuplicateIsNotLost(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.queue("q", QueueProperties{RequiresDuplicateDetection: ptr(true)})
	m := TextMessage("once")
	m.MessageID = "same"
	if _, err := f.c.Send(f.ctx, "q", m); err != nil {
		t.Fatal(err)
	}
	got := f.receive("q", 1)
	if err := f.c.Settle(f.ctx, "q", SettleRequest{LockToken: got[0].LockToken, Disposition: "deadletter"}); err != nil {
		t.Fatal(err)
	}
	// Inside the detection window the copy is dropped: the original must
	// stay dead-lettered, and available.
	res, err := f.c.ResubmitDeadLetters(f.ctx, "q", 0)
	if err != nil || res.Resubmitted != 0 || res.Skipped != 1 {
		t.Fatalf("resubmit: %+v %v", res, err)
	}
	dl, err := f.c.Receive(f.ctx, "q", ReceiveRequest{DLQ: true})
	if err != nil || len(dl) != 1 || *dl[0].Body != "once" {
		t.Fatalf("the original is gone: %+v %v", dl, err)
	}
	if err := f.c.Settle(f.ctx, "q", SettleRequest{LockToken: dl[0].LockToken, Disposition: "release", DLQ: true}); err != nil {
		t.Fatal(err)
	}
	// After the window it goes through.
	f.clock.Advance(11 * time.Minute)
	res, err = f.c.ResubmitDeadLetters(f.ctx, "q", 0)
	if err != nil || res.Resubmitted != 1 {
		t.Fatalf("resubmit after the window: %+v %v", res, err)
	}
}

func TestMessageJSONShape(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.queue("q", QueueProperties{})
	f.send("q", "hi")
	code, body := f.raw("POST", "/api/v1/queues/q/receive", `{"max":1}`)
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	var raw struct {
		Messages []map[string]json.RawMessage `json:"messages"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"body", "sequenceNumber", "enqueuedTime", "deliveryCount", "lockToken", "lockedUntil", "state"} {
		if _, ok := raw.Messages[0][k]; !ok {
			t.Errorf("field %q missing from %s", k, body)
		}
	}
	if _, ok := raw.Messages[0]["expiresAt"]; ok {
		t.Errorf("expiresAt present for a message that never expires: %s", body)
	}
}
