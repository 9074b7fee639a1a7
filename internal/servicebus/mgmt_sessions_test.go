package servicebus

import (
	"bytes"
	"testing"
	"time"

	goamqp "github.com/Azure/go-amqp"

	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/broker"
)

func sessionEnv(t *testing.T) (*env, *broker.SessionLock) {
	t.Helper()
	e := setup(t)
	e.Queue("s", broker.QueueProperties{RequiresSession: true, LockDuration: 30 * time.Second})
	e.sendAMQP("s", simple("a", "1", "x"), simple("b", "2", "y"))
	l, err := e.Broker.AcceptSession(e.Ctx, "s", "x", 0)
	if err != nil {
		t.Fatal(err)
	}
	return e, l
}

func TestRenewSessionLock(t *testing.T) {
	t.Parallel()
	e, l := sessionEnv(t)
	before := *l
	e.Advance(20 * time.Second)
	resp := e.do(OpRenewSessionLock, "s", goRequest(t, map[string]any{"session-id": "x"}), l)
	body := goBody(t, resp)
	exp, isTime := body["expiration"].(time.Time)
	if !isTime || !exp.Equal(e.Clock.Now().Add(30*time.Second)) {
		t.Fatalf("expiration decodes as %T %v; Go requires time.Time", body["expiration"], body["expiration"])
	}
	if *l != before {
		t.Fatal("Handle modified the caller's SessionLock")
	}
	// Renewed: still valid after the first lock would have expired.
	e.Advance(20 * time.Second)
	goBody(t, e.do(OpRenewSessionLock, "s", goRequest(t, map[string]any{"session-id": "x"}), l))

	// Not held by the associated link, another session, or no session.
	wantError(t, e.do(OpRenewSessionLock, "s", goRequest(t, map[string]any{"session-id": "y"}), l), StatusGone, condSessionLost)
	wantError(t, e.do(OpRenewSessionLock, "s", goRequest(t, map[string]any{"session-id": "x"}), nil), StatusGone, condSessionLost)
	wantError(t, e.do(OpRenewSessionLock, "s", encoding.Map{{Key: "x", Value: int32(1)}}, nil), StatusGone, condSessionLost)
	// Expired.
	e.Advance(31 * time.Second)
	wantError(t, e.do(OpRenewSessionLock, "s", goRequest(t, map[string]any{"session-id": "x"}), l), StatusGone, condSessionLost)
	// A lock token from another acceptance of the same session.
	l2, err := e.Broker.AcceptSession(e.Ctx, "s", "x", 0)
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, e.do(OpRenewSessionLock, "s", goRequest(t, map[string]any{"session-id": "x"}), l), StatusGone, condSessionLost)
	goBody(t, e.do(OpRenewSessionLock, "s", goRequest(t, map[string]any{"session-id": "x"}), l2))
}

func TestSessionState(t *testing.T) {
	t.Parallel()
	e, l := sessionEnv(t)
	get := func() map[string]any {
		t.Helper()
		return goBody(t, e.do(OpGetSessionState, "s", goRequest(t, map[string]any{"session-id": "x"}), l))
	}
	// No state: the key is there with a null value (Go: nil, nil).
	body := get()
	if v, has := body["session-state"]; !has || v != nil {
		t.Fatalf("get-session-state without state: %#v", body)
	}
	// Set, as Go does (with a tracking-id application property).
	resp := e.m.Handle(e.Ctx, &Request{Operation: OpSetSessionState, Entity: "s", Session: l,
		ApplicationProperties: encoding.Map{{Key: "com.microsoft:tracking-id", Value: "t"}},
		Body:                  goRequest(t, map[string]any{"session-id": "x", "session-state": []byte("state!")})})
	if resp.StatusCode != StatusOK || resp.Body != nil {
		t.Fatalf("set: %+v", resp)
	}
	goResponse(t, resp)
	if b, isBin := get()["session-state"].([]byte); !isBin || !bytes.Equal(b, []byte("state!")) {
		t.Fatalf("state %#v", get()["session-state"])
	}
	// Null clears.
	goResponse(t, e.do(OpSetSessionState, "s", encoding.Map{{Key: "session-id", Value: "x"}, {Key: "session-state", Value: nil}}, l))
	if v := get()["session-state"]; v != nil {
		t.Fatalf("state after clearing: %#v", v)
	}
	// Empty binary clears too.
	if resp := e.do(OpSetSessionState, "s", goRequest(t, map[string]any{"session-id": "x", "session-state": []byte("s")}), l); resp.StatusCode != StatusOK {
		t.Fatalf("set: %+v", resp)
	}
	goResponse(t, e.do(OpSetSessionState, "s", goRequest(t, map[string]any{"session-id": "x", "session-state": []byte{}}), l))
	if v := get()["session-state"]; v != nil {
		t.Fatalf("state after an empty set: %#v", v)
	}

	// Without the session lock.
	wantError(t, e.do(OpGetSessionState, "s", goRequest(t, map[string]any{"session-id": "x"}), nil), StatusGone, condSessionLost)
	wantError(t, e.do(OpSetSessionState, "s", goRequest(t, map[string]any{"session-id": "y", "session-state": []byte("s")}), l), StatusGone, condSessionLost)
	e.Advance(time.Minute)
	wantError(t, e.do(OpGetSessionState, "s", goRequest(t, map[string]any{"session-id": "x"}), l), StatusGone, condSessionLost)
	wantError(t, e.do(OpSetSessionState, "s", goRequest(t, map[string]any{"session-id": "x", "session-state": []byte("s")}), l), StatusGone, condSessionLost)
}

func TestGetMessageSessions(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.Queue("s", broker.QueueProperties{RequiresSession: true})
	sentinel := time.UnixMilli(253402300800000) // what Go v1.11 sends
	list := func(since time.Time, skip, top int32) *Response {
		return e.do(OpGetMessageSessions, "s", goRequest(t, map[string]any{"last-updated-time": since, "skip": skip, "top": top}), nil)
	}
	// No sessions: 204.
	resp := list(sentinel, 0, 100)
	if resp.StatusCode != StatusNoContent || resp.Body != nil {
		t.Fatalf("empty: %+v", resp)
	}
	goResponse(t, resp)

	e.sendAMQP("s", simple("a", "1", "c"), simple("b", "2", "a"), simple("c", "3", "b"), simple("d", "4", "a"))
	body := goBody(t, list(sentinel, 0, 100))
	ids, isStrings := body["sessions-ids"].([]string)
	if !isStrings || len(ids) != 3 || ids[0] != "a" || ids[2] != "c" {
		t.Fatalf("sessions-ids decode as %T %v; Go accepts []string", body["sessions-ids"], body["sessions-ids"])
	}
	if skip, isInt := body["skip"].(int32); !isInt || skip != 3 {
		t.Fatalf("skip %T %v", body["skip"], body["skip"])
	}
	// Paging.
	body = goBody(t, list(sentinel, 1, 1))
	if ids := body["sessions-ids"].([]string); len(ids) != 1 || ids[0] != "b" || body["skip"] != int32(2) {
		t.Fatalf("page: %v", body)
	}
	if resp := list(sentinel, 3, 100); resp.StatusCode != StatusNoContent {
		t.Fatalf("past the end: %+v", resp)
	}
	// A real time lists sessions whose state changed since.
	since := e.Clock.Now()
	e.Advance(time.Second)
	l, err := e.Broker.AcceptSession(e.Ctx, "s", "b", 0)
	if err != nil {
		t.Fatal(err)
	}
	goResponse(t, e.do(OpSetSessionState, "s", goRequest(t, map[string]any{"session-id": "b", "session-state": []byte("x")}), l))
	body = goBody(t, list(since, 0, 100))
	if ids := body["sessions-ids"].([]string); len(ids) != 1 || ids[0] != "b" {
		t.Fatalf("updated since: %v", body)
	}
	// JS shape: no time, symbol keys.
	body = goBody(t, e.do(OpGetMessageSessions, "s", encoding.Map{{Key: encoding.Symbol("skip"), Value: int32(0)}}, nil))
	if ids := body["sessions-ids"].([]string); len(ids) != 3 {
		t.Fatalf("all sessions: %v", body)
	}
	// On an entity without sessions.
	e.Queue("q", broker.QueueProperties{})
	wantError(t, e.do(OpGetMessageSessions, "q", goRequest(t, map[string]any{"last-updated-time": sentinel}), nil), StatusBadRequest, condArgument)
}

func TestSessionMessageOperations(t *testing.T) {
	t.Parallel()
	e, l := sessionEnv(t)
	msgs, err := e.Broker.Receive(e.Ctx, "s", broker.ReceiveOptions{Mode: broker.PeekLock, Session: l})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("session receive: %v %v", msgs, err)
	}
	// Defer through management, then receive it by sequence number in the session.
	goResponse(t, e.do(OpUpdateDisposition, "s", goRequest(t, map[string]any{"disposition-status": "defered",
		"lock-tokens": []goamqp.UUID{goUUID(msgs[0].LockToken)}}), l))
	req := goRequest(t, map[string]any{"sequence-numbers": []int64{msgs[0].SequenceNumber}, "receiver-settle-mode": uint32(1)})
	// Without the session: lost.
	wantError(t, e.do(OpReceiveBySequence, "s", goRequest(t, map[string]any{"sequence-numbers": []int64{1},
		"receiver-settle-mode": uint32(1), "session-id": "x"}), nil), StatusGone, condSessionLost)
	got, _ := goMessages(t, goBody(t, e.do(OpReceiveBySequence, "s", req, l)))
	if len(got) != 1 {
		t.Fatalf("deferred receive: %d", len(got))
	}
	tok := got[0].DeliveryAnnotations["x-opt-lock-token"].(goamqp.UUID)
	if lu := got[0].Annotations["x-opt-locked-until"].(time.Time); !lu.Equal(l.LockedUntil) {
		t.Fatalf("locked-until %v, want the session's %v", lu, l.LockedUntil)
	}
	// Message locks of a session entity are renewed with the session.
	wantError(t, e.do(OpRenewLock, "s", goRequest(t, map[string]any{"lock-tokens": []goamqp.UUID{tok}}), l), StatusBadRequest, condArgument)
	// The session lock expires: settlement is a 410. The spec wants
	// com.microsoft:session-lock-lost; the broker's expiry timer forgets
	// the message locks with the session lock, so it reports
	// message-lock-lost (Go maps both to CodeLockLost).
	e.Advance(31 * time.Second)
	resp := e.do(OpUpdateDisposition, "s", goRequest(t, map[string]any{"disposition-status": "completed",
		"lock-tokens": []goamqp.UUID{tok}}), l)
	if resp.ErrorCondition != condSessionLost {
		wantError(t, resp, StatusGone, condLockLost)
	}
}
