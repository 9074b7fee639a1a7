package mgmt

import (
	"bytes"
	"net/url"
	"reflect"
	"testing"
	"time"
)

func TestSessions(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.queue("s", QueueProperties{RequiresSession: ptr(true), LockDuration: dur(20 * time.Second)})
	send := func(session, body string) {
		t.Helper()
		m := TextMessage(body)
		m.SessionID = session
		if _, err := f.c.Send(f.ctx, "s", m); err != nil {
			t.Fatal(err)
		}
	}
	send("b/2", "b1")
	send("a", "a1")
	send("a", "a2")

	ids, err := f.c.ListSessions(f.ctx, "s", ListSessionsOptions{})
	if err != nil || !reflect.DeepEqual(ids, []string{"a", "b/2"}) {
		t.Fatalf("list: %v %v", ids, err)
	}
	if ids, _ := f.c.ListSessions(f.ctx, "s", ListSessionsOptions{Skip: 1, Top: 1}); !reflect.DeepEqual(ids, []string{"b/2"}) {
		t.Fatalf("list skip 1: %v", ids)
	}

	// Without a session, a session queue refuses receives.
	_, err = f.c.Receive(f.ctx, "s", ReceiveRequest{})
	wantAPIError(t, err, 400, "InvalidArgument")

	// Next available session: the first one with messages.
	l, err := f.c.AcceptSession(f.ctx, "s", "", 0)
	if err != nil || l.SessionID != "b/2" || l.LockToken == "" || !l.LockedUntil.Equal(epoch.Add(20*time.Second)) {
		t.Fatalf("accept next: %+v %v", l, err)
	}
	msgs, err := f.c.Receive(f.ctx, "s", ReceiveRequest{SessionID: l.SessionID, SessionLockToken: l.LockToken, Max: 5})
	if err != nil || len(msgs) != 1 || *msgs[0].Body != "b1" || msgs[0].SessionID != "b/2" {
		t.Fatalf("receive b/2: %+v %v", msgs, err)
	}
	if err := f.c.Complete(f.ctx, "s", msgs[0].LockToken, false); err != nil {
		t.Fatal(err)
	}

	// State, with a '/' in the session id and binary state.
	if st, err := f.c.GetSessionState(f.ctx, "s", l); err != nil || st != nil {
		t.Fatalf("initial state: %q %v", st, err)
	}
	for _, want := range [][]byte{[]byte("step 2"), {0xff, 0x00}} {
		if err := f.c.SetSessionState(f.ctx, "s", l, want); err != nil {
			t.Fatal(err)
		}
		if got, err := f.c.GetSessionState(f.ctx, "s", l); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("state: %q %v, want %q", got, err, want)
		}
	}
	// The token may also come in the query of a PUT.
	if code, body := f.raw("PUT", "/api/v1/queues/s/sessions/b%2F2/state?lockToken="+l.LockToken, `{"state":"q"}`); code != 204 {
		t.Fatalf("PUT state with query token: %d %s", code, body)
	}

	f.clock.Advance(15 * time.Second)
	renewed, err := f.c.RenewSession(f.ctx, "s", l)
	if err != nil || !renewed.LockedUntil.Equal(epoch.Add(35*time.Second)) {
		t.Fatalf("renew: %+v %v", renewed, err)
	}

	// Another receiver cannot take a held session.
	_, err = f.c.AcceptSession(f.ctx, "s", "b/2", 0)
	wantAPIError(t, err, 409, "SessionCannotBeLocked")

	if err := f.c.ReleaseSession(f.ctx, "s", l); err != nil {
		t.Fatal(err)
	}
	_, err = f.c.GetSessionState(f.ctx, "s", l)
	wantAPIError(t, err, 410, "SessionLockLost")
	_, err = f.c.RenewSession(f.ctx, "s", l)
	wantAPIError(t, err, 410, "SessionLockLost")

	// By id.
	la, err := f.c.AcceptSession(f.ctx, "s", "a", 0)
	if err != nil || la.SessionID != "a" {
		t.Fatalf("accept a: %+v %v", la, err)
	}
	msgs, err = f.c.Receive(f.ctx, "s", ReceiveRequest{SessionID: "a", SessionLockToken: la.LockToken, Max: 5, Mode: ModeReceiveAndDelete})
	if err != nil || len(msgs) != 2 {
		t.Fatalf("receive a: %+v %v", msgs, err)
	}
	// A session lock of another session does not fit.
	_, err = f.c.Receive(f.ctx, "s", ReceiveRequest{SessionID: "b/2", SessionLockToken: la.LockToken})
	wantAPIError(t, err, 410, "SessionLockLost")
	if err := f.c.ReleaseSession(f.ctx, "s", la); err != nil {
		t.Fatal(err)
	}

	// None left: accepting the next session times out.
	_, err = f.c.AcceptSession(f.ctx, "s", "", 0)
	wantAPIError(t, err, 408, "Timeout")
}

func TestAcceptSessionWait(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.queue("s", QueueProperties{RequiresSession: ptr(true)})
	type result struct {
		l   *SessionLock
		err error
	}
	ch := make(chan result, 1)
	go func() {
		l, err := f.c.AcceptSession(f.ctx, "s", "", time.Second)
		ch <- result{l, err}
	}()
	f.clock.BlockUntil(2)
	m := TextMessage("x")
	m.SessionID = "late"
	if _, err := f.c.Send(f.ctx, "s", m); err != nil {
		t.Fatal(err)
	}
	if r := <-ch; r.err != nil || r.l.SessionID != "late" {
		t.Fatalf("accept with wait: %+v %v", r.l, r.err)
	}
}

func TestSessionBadInput(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.queue("plain", QueueProperties{})
	f.queue("s", QueueProperties{RequiresSession: ptr(true)})
	f.send("plain", "x")
	m := TextMessage("y")
	m.SessionID = "a"
	if _, err := f.c.Send(f.ctx, "s", m); err != nil {
		t.Fatal(err)
	}
	l, err := f.c.AcceptSession(f.ctx, "s", "a", 0)
	if err != nil {
		t.Fatal(err)
	}
	beforePlain, beforeS := f.state("plain"), f.state("s")
	token := url.QueryEscape(l.LockToken)
	other := "00000000-0000-4000-8000-00000000abcd"
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		// Session operations on a queue without sessions.
		{"accept on plain", "POST", "/api/v1/queues/plain/sessions/accept", `{}`, 400, "InvalidArgument"},
		{"list on plain", "GET", "/api/v1/queues/plain/sessions", "", 400, "InvalidArgument"},
		{"renew on plain", "POST", "/api/v1/queues/plain/sessions/a/renew", `{"lockToken":"` + l.LockToken + `"}`, 400, "InvalidArgument"},
		{"release on plain", "POST", "/api/v1/queues/plain/sessions/a/release", `{"lockToken":"` + l.LockToken + `"}`, 400, "InvalidArgument"},
		{"get state on plain", "GET", "/api/v1/queues/plain/sessions/a/state?lockToken=" + token, "", 400, "InvalidArgument"},
		{"set state on plain", "PUT", "/api/v1/queues/plain/sessions/a/state", `{"lockToken":"` + l.LockToken + `","state":"x"}`, 400, "InvalidArgument"},
		// Bad requests on a session queue.
		{"accept bad wait", "POST", "/api/v1/queues/s/sessions/accept", `{"wait":"forever"}`, 400, "InvalidArgument"},
		{"accept unknown field", "POST", "/api/v1/queues/s/sessions/accept", `{"session":"a"}`, 400, "InvalidArgument"},
		{"accept held", "POST", "/api/v1/queues/s/sessions/accept", `{"sessionId":"a"}`, 409, "SessionCannotBeLocked"},
		{"renew no token", "POST", "/api/v1/queues/s/sessions/a/renew", `{}`, 400, "InvalidArgument"},
		{"renew bad token", "POST", "/api/v1/queues/s/sessions/a/renew", `{"lockToken":"abc"}`, 400, "InvalidArgument"},
		{"renew other token", "POST", "/api/v1/queues/s/sessions/a/renew", `{"lockToken":"` + other + `"}`, 410, "SessionLockLost"},
		{"state other token", "GET", "/api/v1/queues/s/sessions/a/state?lockToken=" + other, "", 410, "SessionLockLost"},
		{"state tokens differ", "GET", "/api/v1/queues/s/sessions/a/state?lockToken=" + token, `{"lockToken":"` + other + `"}`, 400, "InvalidArgument"},
		{"state both forms", "PUT", "/api/v1/queues/s/sessions/a/state", `{"lockToken":"` + l.LockToken + `","state":"x","stateBase64":"eA=="}`, 400, "InvalidArgument"},
		{"state bad base64", "PUT", "/api/v1/queues/s/sessions/a/state", `{"lockToken":"` + l.LockToken + `","stateBase64":"%%"}`, 400, "InvalidArgument"},
		{"list bad skip", "GET", "/api/v1/queues/s/sessions?skip=x", "", 400, "InvalidArgument"},
		{"list negative top", "GET", "/api/v1/queues/s/sessions?top=-1", "", 400, "InvalidArgument"},
		{"list bad since", "GET", "/api/v1/queues/s/sessions?updatedSince=yesterday", "", 400, "InvalidArgument"},
		{"list unknown param", "GET", "/api/v1/queues/s/sessions?max=1", "", 400, "InvalidArgument"},
		{"unknown queue", "POST", "/api/v1/queues/nope/sessions/accept", `{}`, 404, "NotFound"},
		{"unknown queue renew", "POST", "/api/v1/queues/nope/sessions/a/renew", `{"lockToken":"` + other + `"}`, 404, "NotFound"},
		{"deferred without session", "POST", "/api/v1/queues/s/deferred", `{"sequenceNumbers":[1]}`, 400, "InvalidArgument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.t = t
			f.wantError(tc.status, tc.code, tc.method, tc.path, tc.body)
		})
	}
	f.t = t
	f.unchanged("plain", beforePlain)
	f.unchanged("s", beforeS)
	if st, err := f.c.GetSessionState(f.ctx, "s", l); err != nil || st != nil {
		t.Fatalf("state changed by a bad request: %q %v", st, err)
	}
}

func TestResubmitSessionMessages(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.queue("s", QueueProperties{RequiresSession: ptr(true)})
	m := TextMessage("x")
	m.SessionID = "a"
	if _, err := f.c.Send(f.ctx, "s", m, m); err != nil {
		t.Fatal(err)
	}
	l, err := f.c.AcceptSession(f.ctx, "s", "a", 0)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := f.c.Receive(f.ctx, "s", ReceiveRequest{SessionID: "a", SessionLockToken: l.LockToken, Max: 2})
	if err != nil || len(msgs) != 2 {
		t.Fatalf("receive: %+v %v", msgs, err)
	}
	for _, m := range msgs {
		if err := f.c.Settle(f.ctx, "s", SettleRequest{LockToken: m.LockToken, Disposition: "deadletter"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.c.ReleaseSession(f.ctx, "s", l); err != nil {
		t.Fatal(err)
	}
	res, err := f.c.ResubmitDeadLetters(f.ctx, "s", 0)
	if err != nil || res.Resubmitted != 2 {
		t.Fatalf("resubmit: %+v %v", res, err)
	}
	p, err := f.c.Peek(f.ctx, "s", PeekOptions{Max: 10, SessionID: "a"})
	if err != nil || len(p) != 2 || p[0].SessionID != "a" {
		t.Fatalf("resubmitted to the session: %+v %v", p, err)
	}
}
