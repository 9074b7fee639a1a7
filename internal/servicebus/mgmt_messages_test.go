package servicebus

import (
	"context"
	"strings"
	"testing"
	"time"

	goamqp "github.com/Azure/go-amqp"

	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/broker"
)

const (
	condArgument      = "com.microsoft:argument-error"
	condLockLost      = "com.microsoft:message-lock-lost"
	condSessionLost   = "com.microsoft:session-lock-lost"
	condMsgNotFound   = "com.microsoft:message-not-found"
	condNotFound      = "amqp:not-found"
	condNotImpl       = "amqp:not-implemented"
	condEntityDisable = "com.microsoft:entity-disabled"
)

func peekBody(from int64, count int32) map[string]any {
	return map[string]any{"from-sequence-number": from, "message-count": count}
}

// defer1 receives the next message of path and defers it.
func (e *env) defer1(path string) int64 {
	e.T.Helper()
	m := e.Receive(path, 1, broker.PeekLock)[0]
	if err := e.Broker.Settle(e.Ctx, path, m.LockToken, broker.Settlement{Disposition: broker.Defer}); err != nil {
		e.T.Fatal(err)
	}
	return m.SequenceNumber
}

func TestPeek(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.Queue("q", broker.QueueProperties{})
	e.sendAMQP("q", simple("a", "1", ""), simple("b", "2", ""), simple("c", "3", ""))
	deferred := e.defer1("q")
	sched := e.Clock.Now().Add(time.Hour)
	m := simple("d", "4", "")
	m.MessageAnnotations = encoding.Map{{Key: encoding.Symbol(encoding.AnnotationScheduledEnqueueTime), Value: sched}}
	e.sendAMQP("q", m)
	locked := e.Receive("q", 1, broker.PeekLock)[0] // peek shows locked messages too

	resp := e.do(OpPeekMessage, "q", goRequest(t, peekBody(1, 10)), nil)
	msgs, _ := goMessages(t, goBody(t, resp))
	if len(msgs) != 4 {
		t.Fatalf("peeked %d messages, want 4", len(msgs))
	}
	wantState := map[int64]int32{1: 1, 2: 0, 3: 0, 4: 2}
	for i, gm := range msgs {
		seq := checkGoMessage(t, gm)
		if seq != int64(i+1) {
			t.Fatalf("message %d has sequence number %d: not ascending from 1", i, seq)
		}
		if st := gm.Annotations["x-opt-message-state"]; st != wantState[seq] {
			t.Errorf("message %d: state %v, want %d", seq, st, wantState[seq])
		}
		if _, has := gm.Annotations["x-opt-locked-until"]; has || gm.DeliveryAnnotations != nil {
			t.Errorf("message %d: peek carries lock fields", seq)
		}
	}
	if deferred != 1 || locked.SequenceNumber != 2 {
		t.Fatalf("setup: deferred %d locked %d", deferred, locked.SequenceNumber)
	}
	if st := msgs[3].Annotations["x-opt-scheduled-enqueue-time"].(time.Time); !st.Equal(sched) {
		t.Errorf("scheduled time %v, want %v", st, sched)
	}

	// Paging, as Go does: from the last sequence number + 1.
	resp = e.do(OpPeekMessage, "q", goRequest(t, peekBody(3, 1)), nil)
	if msgs, _ := goMessages(t, goBody(t, resp)); len(msgs) != 1 || checkGoMessage(t, msgs[0]) != 3 {
		t.Fatalf("peek from 3: %d messages", len(msgs))
	}
	// Nothing left: 204 with no body.
	resp = e.do(OpPeekMessage, "q", goRequest(t, peekBody(5, 10)), nil)
	if resp.StatusCode != StatusNoContent || resp.Body != nil || resp.ErrorCondition != "" {
		t.Fatalf("peek past the end: %+v", resp)
	}
	goResponse(t, resp)
	// The dead-letter sub-queue is empty: 204, never 404.
	resp = e.do(OpPeekMessage, "q/$DeadLetterQueue", goRequest(t, peekBody(1, 10)), nil)
	if resp.StatusCode != StatusNoContent {
		t.Fatalf("peek of an empty DLQ: %+v", resp)
	}
	// The JS shape: symbol keys, from as long, count as int, omit-message-body.
	resp = e.do(OpPeekMessage, "q", encoding.Map{
		{Key: encoding.Symbol("from-sequence-number"), Value: int64(2)},
		{Key: encoding.Symbol("message-count"), Value: int32(2)},
		{Key: "omit-message-body", Value: false},
	}, nil)
	if msgs, _ := goMessages(t, goBody(t, resp)); len(msgs) != 2 {
		t.Fatalf("JS-shaped peek: %d messages", len(msgs))
	}
}

func TestPeekSessionScope(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.Queue("s", broker.QueueProperties{RequiresSession: true})
	e.sendAMQP("s", simple("a", "1", "x"), simple("b", "2", "y"), simple("c", "3", "x"))
	l, err := e.Broker.AcceptSession(e.Ctx, "s", "x", 0)
	if err != nil {
		t.Fatal(err)
	}
	// Go names the session only through the associated link.
	resp := e.do(OpPeekMessage, "s", goRequest(t, peekBody(1, 10)), l)
	msgs, _ := goMessages(t, goBody(t, resp))
	if len(msgs) != 2 || *msgs[0].Properties.GroupID != "x" || *msgs[1].Properties.GroupID != "x" {
		t.Fatalf("session peek returned %d messages", len(msgs))
	}
	// JS names it in the body.
	resp = e.do(OpPeekMessage, "s", goRequest(t, map[string]any{"from-sequence-number": int64(1),
		"message-count": int32(10), "session-id": "y"}), nil)
	if msgs, _ := goMessages(t, goBody(t, resp)); len(msgs) != 1 {
		t.Fatalf("session-id peek returned %d messages", len(msgs))
	}
	// Without a session: the whole entity.
	resp = e.do(OpPeekMessage, "s", goRequest(t, peekBody(1, 10)), nil)
	if msgs, _ := goMessages(t, goBody(t, resp)); len(msgs) != 3 {
		t.Fatalf("entity peek returned %d messages", len(msgs))
	}
}

func TestPeekLargeCountIsCapped(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.Queue("q", broker.QueueProperties{})
	e.Send("q", "a")
	resp := e.do(OpPeekMessage, "q", goRequest(t, peekBody(1, 1<<31-1)), nil)
	if msgs, _ := goMessages(t, goBody(t, resp)); len(msgs) != 1 {
		t.Fatalf("peek returned %d messages", len(msgs))
	}
}

func TestRenewLock(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.Queue("q", broker.QueueProperties{LockDuration: 30 * time.Second})
	e.Send("q", "a", "b")
	msgs := e.Receive("q", 2, broker.PeekLock)
	e.Advance(20 * time.Second)

	resp := e.do(OpRenewLock, "q", goRequest(t, map[string]any{"lock-tokens": []goamqp.UUID{goUUID(msgs[0].LockToken)}}), nil)
	body := goBody(t, resp)
	exp, isTimes := body["expirations"].([]time.Time)
	if !isTimes || len(exp) != 1 || !exp[0].Equal(e.Clock.Now().Add(30*time.Second)) {
		t.Fatalf("expirations decode as %T %v; Go requires []time.Time", body["expirations"], body["expirations"])
	}
	// A list of uuids works as well.
	resp = e.do(OpRenewLock, "q", encoding.Map{{Key: "lock-tokens", Value: []any{encoding.UUID(msgs[1].LockToken)}}}, nil)
	goBody(t, resp)

	e.Advance(25 * time.Second) // 45 s: msgs[1], renewed at 20 s, holds its lock until 50 s
	resp = e.do(OpRenewLock, "q", goRequest(t, map[string]any{"lock-tokens": []goamqp.UUID{goUUID(msgs[1].LockToken)}}), nil)
	goBody(t, resp)
	e.Advance(31 * time.Second)
	resp = e.do(OpRenewLock, "q", goRequest(t, map[string]any{"lock-tokens": []goamqp.UUID{goUUID(msgs[1].LockToken)}}), nil)
	wantError(t, resp, StatusGone, condLockLost)

	// An unknown token, and the token in .NET order, are lost locks.
	tag := DeliveryTag(msgs[0].LockToken)
	resp = e.do(OpRenewLock, "q", goRequest(t, map[string]any{"lock-tokens": []goamqp.UUID{goamqp.UUID(tag)}}), nil)
	wantError(t, resp, StatusGone, condLockLost)
}

func TestReceiveBySequenceNumber(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.Queue("q", broker.QueueProperties{})
	e.sendAMQP("q", simple("a", "1", ""), simple("b", "2", ""), simple("c", "3", ""))
	s1, s2 := e.defer1("q"), e.defer1("q")

	req := map[string]any{"sequence-numbers": []int64{s2, s1}, "receiver-settle-mode": uint32(1)}
	resp := e.do(OpReceiveBySequence, "q", goRequest(t, req), nil)
	msgs, entries := goMessages(t, goBody(t, resp))
	if len(msgs) != 2 {
		t.Fatalf("received %d deferred messages", len(msgs))
	}
	for i, gm := range msgs {
		checkGoMessage(t, gm)
		tok, isUUID := gm.DeliveryAnnotations["x-opt-lock-token"].(goamqp.UUID)
		if !isUUID {
			t.Fatalf("x-opt-lock-token is %T; Go requires amqp.UUID", gm.DeliveryAnnotations["x-opt-lock-token"])
		}
		if entries[i]["lock-token"] != tok {
			t.Fatalf("lock-token %v and x-opt-lock-token %v differ", entries[i]["lock-token"], tok)
		}
		if _, has := gm.Annotations["x-opt-locked-until"].(time.Time); !has {
			t.Fatal("no x-opt-locked-until")
		}
		if gm.Annotations["x-opt-message-state"] != int32(1) {
			t.Fatalf("state %v", gm.Annotations["x-opt-message-state"])
		}
		// Settle it through update-disposition, as Go does for deferred messages.
		resp := e.do(OpUpdateDisposition, "q", goRequest(t, map[string]any{
			"disposition-status": "completed", "lock-tokens": []goamqp.UUID{tok}}), nil)
		if resp.StatusCode != StatusOK || resp.Body != nil {
			t.Fatalf("complete: %+v", resp)
		}
		goResponse(t, resp)
	}
	// Gone now: 404 message-not-found, never 204.
	resp = e.do(OpReceiveBySequence, "q", goRequest(t, req), nil)
	wantError(t, resp, StatusNotFound, condMsgNotFound)
	// A sequence number that is not deferred.
	resp = e.do(OpReceiveBySequence, "q", goRequest(t, map[string]any{"sequence-numbers": []int64{3}, "receiver-settle-mode": uint32(1)}), nil)
	wantError(t, resp, StatusNotFound, condMsgNotFound)

	// ReceiveAndDelete: no lock token, the message is gone.
	s3 := e.defer1("q")
	resp = e.do(OpReceiveBySequence, "q", goRequest(t, map[string]any{"sequence-numbers": []int64{s3}, "receiver-settle-mode": uint32(0)}), nil)
	msgs, entries = goMessages(t, goBody(t, resp))
	if len(msgs) != 1 || entries[0]["lock-token"] != nil || msgs[0].DeliveryAnnotations != nil {
		t.Fatalf("R&D receive: %v %v", entries, msgs[0].DeliveryAnnotations)
	}
	if _, has := msgs[0].Annotations["x-opt-locked-until"]; has {
		t.Fatal("R&D message has x-opt-locked-until")
	}
	if got, _ := e.Broker.Peek(e.Ctx, "q", 1, 10, ""); len(got) != 0 {
		t.Fatalf("%d messages left after R&D", len(got))
	}
}

func TestUpdateDisposition(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status string
		check  func(t *testing.T, e *env, seq int64)
	}{
		{"completed", func(t *testing.T, e *env, seq int64) {
			if got, _ := e.Broker.Peek(e.Ctx, "q", 1, 10, ""); len(got) != 0 {
				t.Fatal("message still there")
			}
		}},
		{"abandoned", func(t *testing.T, e *env, seq int64) {
			m := e.Receive("q", 1, broker.PeekLock)[0]
			if m.DeliveryCount != 1 || m.Properties["p"] != "v" {
				t.Fatalf("abandoned: count %d properties %v", m.DeliveryCount, m.Properties)
			}
		}},
		{"defered", func(t *testing.T, e *env, seq int64) {
			got, _ := e.Broker.Peek(e.Ctx, "q", 1, 10, "")
			if got[0].State != broker.StateDeferred || got[0].Properties["p"] != "v" {
				t.Fatalf("deferred: %+v", got[0])
			}
		}},
		{"deferred", func(t *testing.T, e *env, seq int64) {
			got, _ := e.Broker.Peek(e.Ctx, "q", 1, 10, "")
			if got[0].State != broker.StateDeferred {
				t.Fatalf("deferred: %+v", got[0])
			}
		}},
		{"suspended", func(t *testing.T, e *env, seq int64) {
			resp := e.do(OpPeekMessage, "q/$DeadLetterQueue", goRequest(t, peekBody(1, 10)), nil)
			msgs, _ := goMessages(t, goBody(t, resp))
			if len(msgs) != 1 {
				t.Fatalf("%d messages in the DLQ", len(msgs))
			}
			checkGoMessage(t, msgs[0])
			ap := msgs[0].ApplicationProperties
			if ap[PropDeadLetterReason] != "why" || ap[PropDeadLetterDescription] != "because" || ap["p"] != "v" {
				t.Fatalf("dead-lettered properties %v", ap)
			}
			if _, ok := msgs[0].Annotations["x-opt-deadletter-source"]; ok {
				t.Fatalf("dead-letter source on a message dead-lettered in place: %v", msgs[0].Annotations)
			}
		}},
	} {
		t.Run(tc.status, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			e.Queue("q", broker.QueueProperties{})
			e.sendAMQP("q", simple("a", "1", ""))
			m := e.Receive("q", 1, broker.PeekLock)[0]
			reason, desc := "why", "because"
			req := map[string]any{
				"disposition-status":   tc.status,
				"lock-tokens":          []goamqp.UUID{goUUID(m.LockToken)},
				"properties-to-modify": map[string]any{"p": "v"},
			}
			if tc.status == "suspended" {
				req["deadletter-reason"] = &reason // Go sends *string
				req["deadletter-description"] = &desc
			}
			resp := e.do(OpUpdateDisposition, "q", goRequest(t, req), nil)
			if resp.StatusCode != StatusOK {
				t.Fatalf("%+v", resp)
			}
			goResponse(t, resp)
			tc.check(t, e, m.SequenceNumber)
			// The lock is gone: a second settlement is 410.
			resp = e.do(OpUpdateDisposition, "q", goRequest(t, req), nil)
			wantError(t, resp, StatusGone, condLockLost)
		})
	}
}

func TestUpdateDispositionDeadLetterNulls(t *testing.T) {
	t.Parallel()
	// JS may send null reason and description.
	e := setup(t)
	e.Queue("q", broker.QueueProperties{})
	e.Send("q", "a")
	m := e.Receive("q", 1, broker.PeekLock)[0]
	resp := e.do(OpUpdateDisposition, "q", encoding.Map{
		{Key: "disposition-status", Value: "suspended"},
		{Key: "lock-tokens", Value: []encoding.UUID{encoding.UUID(m.LockToken)}},
		{Key: "deadletter-reason", Value: nil},
		{Key: "deadletter-description", Value: nil},
		{Key: "session-id", Value: nil},
	}, nil)
	if resp.StatusCode != StatusOK {
		t.Fatalf("%+v", resp)
	}
	got := e.Receive("q/$DeadLetterQueue", 1, broker.PeekLock)
	if len(got) != 1 {
		t.Fatal("not dead-lettered")
	}
	payload, _ := AppendDelivery(nil, got[0], DeliveryOptions{PeekLock: true})
	var gm goamqp.Message
	if err := gm.UnmarshalBinary(payload); err != nil {
		t.Fatal(err)
	}
	checkGoMessage(t, &gm)
	// In the DLQ the message is settled through the DLQ's node.
	resp = e.do(OpUpdateDisposition, "q/$DeadLetterQueue", goRequest(t, map[string]any{
		"disposition-status": "completed", "lock-tokens": []goamqp.UUID{goUUID(got[0].LockToken)}}), nil)
	if resp.StatusCode != StatusOK {
		t.Fatalf("%+v", resp)
	}
}

func TestUpdateDispositionLockExpired(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.Queue("q", broker.QueueProperties{})
	e.Send("q", "a")
	m := e.Receive("q", 1, broker.PeekLock)[0]
	e.Advance(61 * time.Second)
	resp := e.do(OpUpdateDisposition, "q", goRequest(t, map[string]any{
		"disposition-status": "completed", "lock-tokens": []goamqp.UUID{goUUID(m.LockToken)}}), nil)
	wantError(t, resp, StatusGone, condLockLost)
}

// scheduleRequest builds a schedule-message body the way Go's
// ScheduleMessages does.
func scheduleRequest(t testing.TB, at time.Time, ids ...string) map[string]any {
	var list []any
	for _, id := range ids {
		m := &goamqp.Message{
			Data:        [][]byte{[]byte("body " + id)},
			Properties:  &goamqp.MessageProperties{MessageID: id},
			Annotations: goamqp.Annotations{"x-opt-scheduled-enqueue-time": &at},
		}
		b, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		list = append(list, map[string]any{"message-id": id, "message": b})
	}
	return map[string]any{"messages": list}
}

func TestScheduleAndCancel(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.Queue("q", broker.QueueProperties{})
	e.Send("q", "first")
	at := e.Clock.Now().Add(time.Hour).Truncate(time.Millisecond)
	resp := e.do(OpScheduleMessage, "q", goRequest(t, scheduleRequest(t, at, "a", "b", "c")), nil)
	body := goBody(t, resp)
	seqs, isLongs := body["sequence-numbers"].([]int64)
	if !isLongs || len(seqs) != 3 || seqs[0] != 2 || seqs[2] != 4 {
		t.Fatalf("sequence-numbers decode as %T %v; Go requires []int64", body["sequence-numbers"], body["sequence-numbers"])
	}
	peeked, _ := e.Broker.Peek(e.Ctx, "q", 2, 10, "")
	if len(peeked) != 3 || peeked[0].State != broker.StateScheduled || !peeked[0].ScheduledEnqueueTime.Equal(at) ||
		peeked[1].MessageID != "b" {
		t.Fatalf("scheduled messages %+v", peeked)
	}

	// Cancel one known number and one unknown: lenient 200, the known one goes.
	resp = e.do(OpCancelScheduledMessage, "q", goRequest(t, map[string]any{"sequence-numbers": []int64{seqs[1], 999}}), nil)
	if resp.StatusCode != StatusOK {
		t.Fatalf("cancel: %+v", resp)
	}
	goResponse(t, resp)
	resp = e.do(OpCancelScheduledMessage, "q", goRequest(t, map[string]any{"sequence-numbers": []int64{seqs[0], seqs[2]}}), nil)
	if resp.StatusCode != StatusOK {
		t.Fatalf("cancel: %+v", resp)
	}
	if peeked, _ := e.Broker.Peek(e.Ctx, "q", 2, 10, ""); len(peeked) != 0 {
		t.Fatalf("%d scheduled messages left", len(peeked))
	}
	// Cancelling a message that is not scheduled is also a 200, and leaves it alone.
	resp = e.do(OpCancelScheduledMessage, "q", goRequest(t, map[string]any{"sequence-numbers": []int64{1}}), nil)
	if resp.StatusCode != StatusOK {
		t.Fatalf("cancel: %+v", resp)
	}
	if peeked, _ := e.Broker.Peek(e.Ctx, "q", 1, 10, ""); len(peeked) != 1 {
		t.Fatal("cancel removed an active message")
	}

	// A time in the past enqueues at once.
	resp = e.do(OpScheduleMessage, "q", goRequest(t, scheduleRequest(t, e.Clock.Now().Add(-time.Minute), "now")), nil)
	goBody(t, resp)
	if got := e.Receive("q", 2, broker.PeekLock); len(got) != 2 {
		t.Fatalf("received %d messages", len(got))
	}
}

func TestScheduleActivates(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.Queue("q", broker.QueueProperties{})
	at := e.Clock.Now().Add(time.Minute).Truncate(time.Millisecond)
	goBody(t, e.do(OpScheduleMessage, "q", goRequest(t, scheduleRequest(t, at, "a")), nil))
	if got := e.Receive("q", 1, broker.PeekLock); len(got) != 0 {
		t.Fatal("a scheduled message was delivered early")
	}
	e.Advance(time.Minute)
	got := e.Receive("q", 1, broker.PeekLock)
	if len(got) != 1 {
		t.Fatal("the scheduled message did not activate")
	}
	payload, _ := AppendDelivery(nil, got[0], DeliveryOptions{PeekLock: true})
	var gm goamqp.Message
	if err := gm.UnmarshalBinary(payload); err != nil {
		t.Fatal(err)
	}
	checkGoMessage(t, &gm)
	if gm.Properties.MessageID != "a" || string(gm.GetData()) != "body a" || gm.Annotations["x-opt-message-state"] != int32(0) {
		t.Fatalf("activated message %+v %v", gm.Properties, gm.Annotations)
	}
}

func TestNotImplemented(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.Queue("q", broker.QueueProperties{})
	for _, op := range []string{"com.microsoft:batch-delete-messages", "nonsense", ""} {
		resp := e.do(op, "q", encoding.Map{{Key: "rule-name", Value: "r"}}, nil)
		wantError(t, resp, StatusNotImplemented, condNotImpl)
	}
}

// TestArgumentErrors covers the malformed requests: each is a 400 with
// com.microsoft:argument-error and a description naming the problem.
func TestArgumentErrors(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.Queue("q", broker.QueueProperties{})
	e.Send("q", "a")
	m := e.Receive("q", 1, broker.PeekLock)[0]
	tok := encoding.UUID(m.LockToken)
	for _, tc := range []struct {
		name string
		op   string
		body any
		want string // in the description
	}{
		{"no body", OpPeekMessage, nil, "no body"},
		{"string body", OpPeekMessage, "x", "must be an amqp-value map"},
		{"list body", OpRenewLock, []any{tok}, "must be an amqp-value map"},
		{"peek no from", OpPeekMessage, encoding.Map{{Key: "message-count", Value: int32(1)}}, "from-sequence-number"},
		{"peek no count", OpPeekMessage, encoding.Map{{Key: "from-sequence-number", Value: int64(1)}}, "message-count"},
		{"peek count 0", OpPeekMessage, encoding.Map{{Key: "from-sequence-number", Value: int64(1)}, {Key: "message-count", Value: int32(0)}}, "between"},
		{"peek from string", OpPeekMessage, encoding.Map{{Key: "from-sequence-number", Value: "1"}, {Key: "message-count", Value: int32(1)}}, "integer"},
		{"peek from negative", OpPeekMessage, encoding.Map{{Key: "from-sequence-number", Value: int64(-1)}, {Key: "message-count", Value: int32(1)}}, "between"},
		{"peek from huge ulong", OpPeekMessage, encoding.Map{{Key: "from-sequence-number", Value: uint64(1 << 63)}, {Key: "message-count", Value: int32(1)}}, "integer"},
		{"peek session-id int", OpPeekMessage, encoding.Map{{Key: "from-sequence-number", Value: int64(1)}, {Key: "message-count", Value: int32(1)}, {Key: "session-id", Value: int32(1)}}, "string"},
		{"peek omit-body string", OpPeekMessage, encoding.Map{{Key: "from-sequence-number", Value: int64(1)}, {Key: "message-count", Value: int32(1)}, {Key: "omit-message-body", Value: "yes"}}, "boolean"},
		{"renew no tokens", OpRenewLock, encoding.Map{{Key: "x", Value: int32(1)}}, "lock-tokens"},
		{"renew empty tokens", OpRenewLock, encoding.Map{{Key: "lock-tokens", Value: []encoding.UUID{}}}, "empty"},
		{"renew string tokens", OpRenewLock, encoding.Map{{Key: "lock-tokens", Value: []string{tok.String()}}}, "uuids"},
		{"renew one uuid", OpRenewLock, encoding.Map{{Key: "lock-tokens", Value: tok}}, "array of uuids"},
		{"renew list of strings", OpRenewLock, encoding.Map{{Key: "lock-tokens", Value: []any{"x"}}}, "element 0"},
		{"rbs no numbers", OpReceiveBySequence, encoding.Map{{Key: "receiver-settle-mode", Value: uint32(1)}}, "sequence-numbers"},
		{"rbs empty numbers", OpReceiveBySequence, encoding.Map{{Key: "sequence-numbers", Value: []int64{}}}, "empty"},
		{"rbs numbers as list of strings", OpReceiveBySequence, encoding.Map{{Key: "sequence-numbers", Value: []any{"1"}}}, "element 0"},
		{"rbs numbers as timestamps", OpReceiveBySequence, encoding.Map{{Key: "sequence-numbers", Value: []time.Time{t0}}}, "array of longs"},
		{"rbs zero number", OpReceiveBySequence, encoding.Map{{Key: "sequence-numbers", Value: []int64{0}}}, "positive"},
		{"rbs settle mode 2", OpReceiveBySequence, encoding.Map{{Key: "sequence-numbers", Value: []int64{1}}, {Key: "receiver-settle-mode", Value: uint32(2)}}, "between"},
		{"ud no status", OpUpdateDisposition, encoding.Map{{Key: "lock-tokens", Value: []encoding.UUID{tok}}}, "disposition-status"},
		{"ud bad status", OpUpdateDisposition, encoding.Map{{Key: "disposition-status", Value: "eaten"}, {Key: "lock-tokens", Value: []encoding.UUID{tok}}}, "eaten"},
		{"ud status int", OpUpdateDisposition, encoding.Map{{Key: "disposition-status", Value: int32(1)}, {Key: "lock-tokens", Value: []encoding.UUID{tok}}}, "string"},
		{"ud no tokens", OpUpdateDisposition, encoding.Map{{Key: "disposition-status", Value: "completed"}}, "lock-tokens"},
		{"ud reason int", OpUpdateDisposition, encoding.Map{{Key: "disposition-status", Value: "suspended"}, {Key: "lock-tokens", Value: []encoding.UUID{tok}}, {Key: "deadletter-reason", Value: int32(1)}}, "deadletter-reason"},
		{"ud description list", OpUpdateDisposition, encoding.Map{{Key: "disposition-status", Value: "suspended"}, {Key: "lock-tokens", Value: []encoding.UUID{tok}}, {Key: "deadletter-description", Value: []any{}}}, "deadletter-description"},
		{"ud props not map", OpUpdateDisposition, encoding.Map{{Key: "disposition-status", Value: "abandoned"}, {Key: "lock-tokens", Value: []encoding.UUID{tok}}, {Key: "properties-to-modify", Value: "x"}}, "map"},
		{"ud props int key", OpUpdateDisposition, encoding.Map{{Key: "disposition-status", Value: "abandoned"}, {Key: "lock-tokens", Value: []encoding.UUID{tok}}, {Key: "properties-to-modify", Value: encoding.Map{{Key: int32(1), Value: "v"}}}}, "key"},
		{"ud props list value", OpUpdateDisposition, encoding.Map{{Key: "disposition-status", Value: "abandoned"}, {Key: "lock-tokens", Value: []encoding.UUID{tok}}, {Key: "properties-to-modify", Value: encoding.Map{{Key: "k", Value: []any{int32(1)}}}}}, "simple values"},
		{"schedule no messages", OpScheduleMessage, encoding.Map{{Key: "x", Value: int32(1)}}, "messages"},
		{"schedule empty", OpScheduleMessage, encoding.Map{{Key: "messages", Value: []any{}}}, "empty"},
		{"schedule messages map", OpScheduleMessage, encoding.Map{{Key: "messages", Value: encoding.Map{{Key: "message", Value: []byte{}}}}}, "list"},
		{"schedule entry not map", OpScheduleMessage, encoding.Map{{Key: "messages", Value: []any{"x"}}}, "messages[0]"},
		{"schedule no binary", OpScheduleMessage, encoding.Map{{Key: "messages", Value: []any{encoding.Map{{Key: "message-id", Value: "x"}}}}}, "binary"},
		{"schedule message string", OpScheduleMessage, encoding.Map{{Key: "messages", Value: []any{encoding.Map{{Key: "message", Value: "x"}}}}}, "binary"},
		{"schedule bad binary", OpScheduleMessage, encoding.Map{{Key: "messages", Value: []any{encoding.Map{{Key: "message", Value: []byte{1, 2, 3}}}}}}, "not a valid AMQP message"},
		{"schedule no time", OpScheduleMessage, encoding.Map{{Key: "messages", Value: []any{encoding.Map{{Key: "message", Value: amqpMsg(t, simple("a", "b", ""))}}}}}, "x-opt-scheduled-enqueue-time"},
		{"schedule id list", OpScheduleMessage, encoding.Map{{Key: "messages", Value: []any{encoding.Map{{Key: "message", Value: amqpMsg(t, simple("a", "b", ""))}, {Key: "message-id", Value: []any{}}}}}}, "message-id"},
		{"cancel no numbers", OpCancelScheduledMessage, encoding.Map{{Key: "x", Value: int32(1)}}, "sequence-numbers"},
		{"cancel numbers string", OpCancelScheduledMessage, encoding.Map{{Key: "sequence-numbers", Value: "1"}}, "array of longs"},
		{"set state no key", OpSetSessionState, encoding.Map{{Key: "session-id", Value: "s"}}, "session-state"},
		{"set state string", OpSetSessionState, encoding.Map{{Key: "session-id", Value: "s"}, {Key: "session-state", Value: "x"}}, "binary"},
		{"sessions time string", OpGetMessageSessions, encoding.Map{{Key: "last-updated-time", Value: "yesterday"}}, "timestamp"},
		{"sessions negative skip", OpGetMessageSessions, encoding.Map{{Key: "skip", Value: int32(-1)}}, "between"},
		{"sessions top string", OpGetMessageSessions, encoding.Map{{Key: "top", Value: "100"}}, "integer"},
		{"renew session id int", OpRenewSessionLock, encoding.Map{{Key: "session-id", Value: int64(1)}}, "string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.do(tc.op, "q", tc.body, nil)
			wantError(t, resp, StatusBadRequest, condArgument)
			if !strings.Contains(resp.StatusDescription, tc.want) {
				t.Fatalf("description %q does not mention %q", resp.StatusDescription, tc.want)
			}
		})
	}
	// None of the malformed requests touched the locked message.
	if _, err := e.Broker.RenewLock(e.Ctx, "q", []broker.LockToken{m.LockToken}); err != nil {
		t.Fatal(err)
	}
}

// TestEntityErrors: every operation on a missing entity is a 404 that both
// SDKs recognise; on a disabled entity the broker's refusal comes through.
func TestEntityErrors(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tok := []goamqp.UUID{{1}}
	bodies := map[string]map[string]any{
		OpPeekMessage:            peekBody(1, 1),
		OpRenewLock:              {"lock-tokens": tok},
		OpReceiveBySequence:      {"sequence-numbers": []int64{1}, "receiver-settle-mode": uint32(1)},
		OpUpdateDisposition:      {"disposition-status": "completed", "lock-tokens": tok},
		OpScheduleMessage:        scheduleRequest(t, t0, "a"),
		OpCancelScheduledMessage: {"sequence-numbers": []int64{1}},
		OpGetMessageSessions:     {"last-updated-time": time.UnixMilli(253402300800000), "skip": int32(0), "top": int32(100)},
	}
	for op, body := range bodies {
		resp := e.do(op, "missing", goRequest(t, body), nil)
		wantError(t, resp, StatusNotFound, condNotFound)
		if resp.StatusDescription != "The messaging entity 'missing' could not be found." {
			t.Errorf("%s: description %q", op, resp.StatusDescription)
		}
	}

	e.Queue("off", broker.QueueProperties{Status: broker.StatusSendDisabled})
	resp := e.do(OpScheduleMessage, "off", goRequest(t, scheduleRequest(t, t0, "a")), nil)
	wantError(t, resp, StatusForbidden, condEntityDisable)
	resp = e.do(OpScheduleMessage, "off/$DeadLetterQueue", goRequest(t, scheduleRequest(t, t0, "a")), nil)
	wantError(t, resp, StatusBadRequest, condArgument)
}

func TestNewManagementNeedsBroker(t *testing.T) {
	t.Parallel()
	if _, err := NewManagement(Config{}); err == nil {
		t.Fatal("NewManagement without a broker succeeded")
	}
}

func TestHandleContextCancelled(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.Queue("q", broker.QueueProperties{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// Operations that do not wait still answer; the response is well formed either way.
	resp := e.m.Handle(ctx, &Request{Operation: OpPeekMessage, Entity: "q", Body: goRequest(t, peekBody(1, 1))})
	goResponse(t, resp)
}

// A deferred message abandoned after receive-by-sequence-number counts a
// delivery and stays deferred (the SDK's TestDeferredMessages/Abandon).
func TestAbandonDeferredStaysDeferred(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.Queue("q", broker.QueueProperties{})
	e.Send("q", "a")
	seq := e.defer1("q")
	_, entries := goMessages(t, goBody(t, e.do(OpReceiveBySequence, "q", goRequest(t, map[string]any{
		"sequence-numbers": []int64{seq}, "receiver-settle-mode": uint32(1)}), nil)))
	tok := entries[0]["lock-token"].(goamqp.UUID)
	resp := e.do(OpUpdateDisposition, "q", goRequest(t, map[string]any{"disposition-status": "abandoned",
		"lock-tokens": []goamqp.UUID{tok}}), nil)
	if resp.StatusCode != StatusOK {
		t.Fatalf("abandon: %+v", resp)
	}
	got, _ := e.Broker.Peek(e.Ctx, "q", 1, 10, "")
	if got[0].State != broker.StateDeferred || got[0].DeliveryCount != 1 {
		t.Fatalf("after abandon: state %v count %d", got[0].State, got[0].DeliveryCount)
	}
}
