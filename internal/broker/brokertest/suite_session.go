package brokertest

import (
	"slices"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

func sessionMsg(sid, body string) *broker.Message {
	return &broker.Message{SessionID: sid, Body: []byte(body)}
}

func testSessions(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	env.Queue("s", broker.QueueProperties{RequiresSession: true, LockDuration: 30 * time.Second})
	b := env.Broker
	env.SendMsgs("s", sessionMsg("A", "a1"), sessionMsg("B", "b1"), sessionMsg("A", "a2"), sessionMsg("A", "a3"))
	la, err := b.AcceptSession(env.Ctx, "s", "A", 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.AcceptSession(env.Ctx, "s", "A", 0)
	WantCode(t, err, broker.CodeSessionCannotBeLocked)
	got, err := b.Receive(env.Ctx, "s", broker.ReceiveOptions{Session: la, MaxMessages: 2})
	if err != nil || !slices.Equal(Bodies(got), []string{"a1", "a2"}) {
		t.Fatalf("session A = %v, %v", Bodies(got), err)
	}
	if !got[0].LockedUntil.Equal(la.LockedUntil) {
		t.Fatalf("message lock %v; want the session's %v", got[0].LockedUntil, la.LockedUntil)
	}
	env.Settle("s", got[0], broker.Settlement{Disposition: broker.Complete})
	env.Settle("s", got[1], broker.Settlement{Disposition: broker.Abandon})
	got, _ = b.Receive(env.Ctx, "s", broker.ReceiveOptions{Session: la, MaxMessages: 5})
	if !slices.Equal(Bodies(got), []string{"a2", "a3"}) || got[0].DeliveryCount != 1 {
		t.Fatalf("session A after abandon = %v", Bodies(got))
	}
	// State.
	if st, err := b.GetSessionState(env.Ctx, "s", la); err != nil || st != nil {
		t.Fatalf("initial state = %q, %v", st, err)
	}
	if err := b.SetSessionState(env.Ctx, "s", la, []byte("step 2")); err != nil {
		t.Fatal(err)
	}
	if st, _ := b.GetSessionState(env.Ctx, "s", la); string(st) != "step 2" {
		t.Fatalf("state = %q", st)
	}
	// Renew.
	env.Advance(20 * time.Second)
	until, err := b.RenewSessionLock(env.Ctx, "s", la)
	if err != nil || !until.Equal(Epoch.Add(50*time.Second)) {
		t.Fatalf("renew = %v, %v", until, err)
	}
	env.Advance(20 * time.Second) // past the first lock, inside the renewed one
	env.Settle("s", got[0], broker.Settlement{Disposition: broker.Complete})
	ids, err := b.ListSessions(env.Ctx, "s", time.Time{}, 0, 100)
	if err != nil || !slices.Equal(ids, []string{"A", "B"}) {
		t.Fatalf("ListSessions = %v, %v", ids, err)
	}
	ids, _ = b.ListSessions(env.Ctx, "s", Epoch.Add(-time.Second), 0, 100)
	if !slices.Equal(ids, []string{"A"}) {
		t.Fatalf("ListSessions updated since = %v", ids)
	}
	if err := b.ReleaseSession(env.Ctx, "s", la); err != nil {
		t.Fatal(err)
	}
	// a3 was locked through the session: released without a count.
	env.Restart()
	la, err = b2(env).AcceptSession(env.Ctx, "s", "A", 0)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := env.Broker.GetSessionState(env.Ctx, "s", la); string(st) != "step 2" {
		t.Fatalf("state after restart = %q", st)
	}
	got, _ = env.Broker.Receive(env.Ctx, "s", broker.ReceiveOptions{Session: la, MaxMessages: 5})
	if !slices.Equal(Bodies(got), []string{"a3"}) || got[0].DeliveryCount != 0 {
		t.Fatalf("after restart = %+v", got)
	}
	if err := env.Broker.SetSessionState(env.Ctx, "s", la, nil); err != nil {
		t.Fatal(err)
	}
	env.Settle("s", got[0], broker.Settlement{Disposition: broker.Complete})
	ids, _ = env.Broker.ListSessions(env.Ctx, "s", time.Time{}, 0, 100)
	if !slices.Equal(ids, []string{"B"}) {
		t.Fatalf("sessions after A emptied = %v", ids)
	}
}

func b2(env *Env) *broker.Broker { return env.Broker }

func testSessionNextAvailable(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	env.Queue("s", broker.QueueProperties{RequiresSession: true})
	b := env.Broker
	_, err := b.AcceptSession(env.Ctx, "s", "", 0)
	WantCode(t, err, broker.CodeTimeout)
	env.SendMsgs("s", sessionMsg("X", "x1"), sessionMsg("Y", "y1"))
	l1, err := b.AcceptSession(env.Ctx, "s", "", 0)
	if err != nil || l1.SessionID != "X" {
		t.Fatalf("first next-available = %+v, %v", l1, err)
	}
	l2, err := b.AcceptSession(env.Ctx, "s", "", 0)
	if err != nil || l2.SessionID != "Y" {
		t.Fatalf("second next-available = %+v, %v", l2, err)
	}
	_, err = b.AcceptSession(env.Ctx, "s", "", 0)
	WantCode(t, err, broker.CodeTimeout)
	// A waiting accept is woken by a send to a new session.
	type result struct {
		l   *broker.SessionLock
		err error
	}
	res := make(chan result, 1)
	go func() {
		l, err := b.AcceptSession(env.Ctx, "s", "", time.Hour)
		res <- result{l, err}
	}()
	env.Clock.BlockUntil(2) // the broker's timer goroutine and the waiting accept
	env.SendMsgs("s", sessionMsg("Z", "z1"))
	r := <-res
	if r.err != nil || r.l.SessionID != "Z" {
		t.Fatalf("woken accept = %+v, %v", r.l, r.err)
	}
	// Releasing X makes it available to the next acceptor.
	if err := b.ReleaseSession(env.Ctx, "s", l1); err != nil {
		t.Fatal(err)
	}
	l4, err := b.AcceptSession(env.Ctx, "s", "", 0)
	if err != nil || l4.SessionID != "X" {
		t.Fatalf("after release = %+v, %v", l4, err)
	}
}

func testSessionLockExpiry(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	env.Queue("s", broker.QueueProperties{RequiresSession: true, LockDuration: 10 * time.Second})
	b := env.Broker
	env.SendMsgs("s", sessionMsg("A", "a1"))
	l, _ := b.AcceptSession(env.Ctx, "s", "A", 0)
	got, _ := b.Receive(env.Ctx, "s", broker.ReceiveOptions{Session: l})
	env.Advance(10 * time.Second)
	WantCode(t, b.Settle(env.Ctx, "s", got[0].LockToken, broker.Settlement{Disposition: broker.Complete}), broker.CodeSessionLockLost)
	_, err := b.Receive(env.Ctx, "s", broker.ReceiveOptions{Session: l})
	WantCode(t, err, broker.CodeSessionLockLost)
	_, err = b.RenewSessionLock(env.Ctx, "s", l)
	WantCode(t, err, broker.CodeSessionLockLost)
	WantCode(t, b.SetSessionState(env.Ctx, "s", l, []byte("x")), broker.CodeSessionLockLost)
	_, err = b.GetSessionState(env.Ctx, "s", l)
	WantCode(t, err, broker.CodeSessionLockLost)
	l2, err := b.AcceptSession(env.Ctx, "s", "", 0)
	if err != nil || l2.SessionID != "A" {
		t.Fatalf("accept after expiry = %+v, %v", l2, err)
	}
	got2, _ := b.Receive(env.Ctx, "s", broker.ReceiveOptions{Session: l2})
	if len(got2) != 1 || got2[0].DeliveryCount != 0 {
		t.Fatalf("after session expiry = %+v", got2)
	}
	// The old session token cannot act on the new lock's messages.
	_, err = b.Receive(env.Ctx, "s", broker.ReceiveOptions{Session: l})
	WantCode(t, err, broker.CodeSessionLockLost)
}

func testSessionErrors(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	env.Queue("s", broker.QueueProperties{RequiresSession: true})
	env.Queue("plain", broker.QueueProperties{})
	b := env.Broker
	_, err := b.Send(env.Ctx, "s", []*broker.Message{{Body: []byte("no session")}})
	WantCode(t, err, broker.CodeInvalidArgument)
	_, err = b.Receive(env.Ctx, "s", broker.ReceiveOptions{})
	WantCode(t, err, broker.CodeInvalidArgument)
	_, err = b.AcceptSession(env.Ctx, "plain", "A", 0)
	WantCode(t, err, broker.CodeInvalidArgument)
	_, err = b.ListSessions(env.Ctx, "plain", time.Time{}, 0, 10)
	WantCode(t, err, broker.CodeInvalidArgument)
	_, err = b.Receive(env.Ctx, "plain", broker.ReceiveOptions{Session: &broker.SessionLock{SessionID: "A"}})
	WantCode(t, err, broker.CodeInvalidArgument)
	_, err = b.AcceptSession(env.Ctx, "s/$DeadLetterQueue", "A", 0)
	WantCode(t, err, broker.CodeInvalidArgument)
	_, err = b.GetSessionState(env.Ctx, "s", &broker.SessionLock{SessionID: "A"})
	WantCode(t, err, broker.CodeSessionLockLost)
	for name, err := range map[string]error{
		"GetSessionState": func() error {
			_, err := b.GetSessionState(env.Ctx, "plain", &broker.SessionLock{SessionID: "A"})
			return err
		}(),
		"SetSessionState": b.SetSessionState(env.Ctx, "plain", &broker.SessionLock{SessionID: "A"}, []byte("x")),
		"RenewSessionLock": func() error {
			_, err := b.RenewSessionLock(env.Ctx, "plain", &broker.SessionLock{SessionID: "A"})
			return err
		}(),
		"ReleaseSession": b.ReleaseSession(env.Ctx, "plain", &broker.SessionLock{SessionID: "A"}),
	} {
		if broker.CodeOf(err) != broker.CodeInvalidArgument {
			t.Errorf("%s on a queue without sessions = %v; want InvalidArgument", name, err)
		}
	}
	if err := b.ReleaseSession(env.Ctx, "s", &broker.SessionLock{SessionID: "A"}); err != nil {
		t.Fatalf("releasing a lock that is not held: %v", err)
	}
	// The DLQ of a session queue is received without sessions.
	env.SendMsgs("s", sessionMsg("A", "a"))
	l, _ := b.AcceptSession(env.Ctx, "s", "A", 0)
	m, _ := b.Receive(env.Ctx, "s", broker.ReceiveOptions{Session: l})
	env.Settle("s", m[0], broker.Settlement{Disposition: broker.DeadLetter, DeadLetterReason: "r"})
	d := env.Receive("s/$DeadLetterQueue", 1, broker.PeekLock)
	if len(d) != 1 || d[0].SessionID != "A" {
		t.Fatalf("session DLQ = %+v", d)
	}
	env.Settle("s/$DeadLetterQueue", d[0], broker.Settlement{Disposition: broker.Complete})
	env.WantCounts("s", 0, 0, 0, 0)
}

func testRestartKeepsState(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	env.Queue("q", broker.QueueProperties{})
	env.SendMsgs("q", &broker.Message{MessageID: "id", SessionID: "", Body: []byte("a"), Properties: map[string]any{
		"s": "str", "i8": int8(-1), "i16": int16(-2), "i32": int32(-3), "i64": int64(-4), "u8": uint8(1), "u16": uint16(2),
		"u32": uint32(3), "u64": uint64(4), "f32": float32(1.5), "f64": 2.5, "b": true, "bin": []byte{1, 2}, "nil": nil,
		"t": Epoch, "uuid": broker.LockToken{9},
	}})
	env.Send("q", "b", "c")
	locked := env.Receive("q", 2, broker.PeekLock)
	env.Settle("q", locked[1], broker.Settlement{Disposition: broker.Complete})
	env.Restart()
	// Locks do not survive a restart: the locked message is available again
	// with the same count, and its old token is unknown.
	WantCode(t, env.Broker.Settle(env.Ctx, "q", locked[0].LockToken, broker.Settlement{Disposition: broker.Complete}), broker.CodeLockLost)
	got := env.Receive("q", 10, broker.PeekLock)
	if !slices.Equal(Bodies(got), []string{"a", "c"}) || got[0].DeliveryCount != 0 {
		t.Fatalf("after restart = %v", Bodies(got))
	}
	p := got[0].Properties
	if p["s"] != "str" || p["i8"] != int8(-1) || p["i16"] != int16(-2) || p["i32"] != int32(-3) || p["i64"] != int64(-4) ||
		p["u8"] != uint8(1) || p["u16"] != uint16(2) || p["u32"] != uint32(3) || p["u64"] != uint64(4) || p["f32"] != float32(1.5) ||
		p["f64"] != 2.5 || p["b"] != true || string(p["bin"].([]byte)) != "\x01\x02" || p["nil"] != nil ||
		!p["t"].(time.Time).Equal(Epoch) || p["uuid"] != (broker.LockToken{9}) {
		t.Fatalf("properties after restart = %#v", p)
	}
	if _, ok := p["nil"]; !ok {
		t.Fatal("nil property lost")
	}
}
