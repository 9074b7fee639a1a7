package pgbroker

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/store/pgstore/pgtest"
)

// TestDatabaseUnavailable: while the database is down every operation
// fails with CodeStoreUnavailable, without hanging; once it is back the
// engine serves again, and nothing acknowledged is lost.
func TestDatabaseUnavailable(t *testing.T) {
	srv := pgtest.Require(t, pgtest.Options{})
	ctx := t.Context()
	e, err := Open(ctx, Config{DSN: srv.DSN(), Node: "unavailable", ConnectTimeout: 2 * time.Second, PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := e.CreateQueue(ctx, "q", broker.QueueProperties{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateQueue(ctx, "s", broker.QueueProperties{RequiresSession: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Send(ctx, "q", []*broker.Message{msg("locked"), msg("kept")}); err != nil {
		t.Fatal(err)
	}
	locked, err := e.Receive(ctx, "q", broker.ReceiveOptions{})
	if err != nil || len(locked) != 1 {
		t.Fatalf("receive: %v %v", locked, err)
	}
	l, err := e.AcceptSession(ctx, "s", "x", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	e.ents.init(time.Second) // the cached definitions would hide the outage from some calls
	unavailable := func(what string, err error) {
		t.Helper()
		if broker.CodeOf(err) != broker.CodeStoreUnavailable {
			t.Fatalf("%s with the database down: %v (code %v); want StoreUnavailable", what, err, broker.CodeOf(err))
		}
	}
	tok := locked[0].LockToken
	_, err = e.Send(ctx, "q", []*broker.Message{msg("x")})
	unavailable("Send", err)
	_, err = e.Receive(ctx, "q", broker.ReceiveOptions{Wait: time.Second})
	unavailable("Receive", err)
	_, err = e.Peek(ctx, "q", 0, 5, "")
	unavailable("Peek", err)
	_, err = e.GetEntity("q")
	unavailable("GetEntity", err)
	_, err = e.Entities(ctx, 0)
	unavailable("Entities", err)
	_, err = e.CreateQueue(ctx, "other", broker.QueueProperties{})
	unavailable("CreateQueue", err)
	_, err = e.UpdateQueue(ctx, "q", broker.QueueProperties{})
	unavailable("UpdateQueue", err)
	unavailable("Settle", e.Settle(ctx, "q", tok, broker.Settlement{Disposition: broker.Abandon}))
	unavailable("Complete", e.Settle(ctx, "q", tok, broker.Settlement{Disposition: broker.Complete}))
	unavailable("SettleMany", e.SettleMany(ctx, []broker.SettleRequest{{Path: "q", Token: tok}})[0])
	_, err = e.RenewLock(ctx, "q", []broker.LockToken{tok})
	unavailable("RenewLock", err)
	_, err = e.Schedule(ctx, "q", []*broker.Message{msg("x")}, time.Now().Add(time.Hour))
	unavailable("Schedule", err)
	unavailable("CancelScheduled", e.CancelScheduled(ctx, "q", []int64{1}))
	_, err = e.ReceiveDeferred(ctx, "q", []int64{1}, broker.PeekLock, nil)
	unavailable("ReceiveDeferred", err)
	_, err = e.AcceptSession(ctx, "s", "", time.Second)
	unavailable("AcceptSession", err)
	_, err = e.RenewSessionLock(ctx, "s", l)
	unavailable("RenewSessionLock", err)
	_, err = e.GetSessionState(ctx, "s", l)
	unavailable("GetSessionState", err)
	unavailable("SetSessionState", e.SetSessionState(ctx, "s", l, []byte("x")))
	_, err = e.ListSessions(ctx, "s", time.Time{}, 0, 0)
	unavailable("ListSessions", err)
	unavailable("ReleaseSession", e.ReleaseSession(ctx, "s", l))
	unavailable("DeleteEntity", e.DeleteEntity(ctx, "q"))
	// A caller's context bounds the wait.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := e.Receive(cctx, "q", broker.ReceiveOptions{Wait: time.Second}); err == nil {
		t.Fatal("Receive with a cancelled context succeeded")
	}

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	// Connections the pool held died with the server; each failed attempt
	// drops one. The engine answers again within a few calls.
	for i := 0; ; i++ {
		got, err := e.Peek(ctx, "q", 0, 5, "")
		if err == nil {
			if len(got) != 2 || string(got[0].Body) != "locked" || string(got[1].Body) != "kept" {
				t.Fatalf("after the restart: %+v", got)
			}
			break
		}
		unavailable("Peek after the restart", err)
		if i > 40 {
			t.Fatalf("still failing after the restart: %v", err)
		}
	}
	if err := e.Settle(ctx, "q", tok, broker.Settlement{Disposition: broker.Complete}); err != nil {
		t.Fatal(err)
	}
	// The pool of lock statements (claims, renewals) also drops its dead
	// connections one failed attempt at a time.
	for i := 0; ; i++ {
		_, err := e.RenewLock(ctx, "q", []broker.LockToken{{1}})
		if broker.CodeOf(err) == broker.CodeLockLost {
			break
		}
		unavailable("RenewLock after the restart", err)
		if i > 40 {
			t.Fatalf("still failing after the restart: %v", err)
		}
	}
	// A waiting receiver on the engine is still woken (the listener
	// reconnected, or polling finds the message).
	got := make(chan []*broker.Message, 1)
	go func() {
		m, _ := e.Receive(ctx, "q", broker.ReceiveOptions{Wait: time.Minute, MaxMessages: 5})
		got <- m
	}()
	if m := within(t, got, time.Minute, "receive after the restart"); len(m) != 1 || string(m[0].Body) != "kept" {
		t.Fatalf("receive after the restart: %+v", m)
	}
}

// TestOpenErrors: Open fails clearly on a database it cannot reach, and
// never shows the password.
func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	for _, dsn := range []string{
		"host=/nonexistent-baton-dir port=5432 user=u password=s3cretpw dbname=x sslmode=disable connect_timeout=2",
		"postgres://u:s3cretpw@/x?host=/nonexistent-baton-dir&sslmode=disable&connect_timeout=2",
	} {
		e, err := Open(ctx, Config{DSN: dsn})
		if err == nil {
			e.Close()
			t.Fatalf("Open(%s) succeeded", dsn)
		}
		if strings.Contains(err.Error(), "s3cretpw") {
			t.Fatalf("the error shows the password: %v", err)
		}
		if !strings.Contains(err.Error(), "nonexistent-baton-dir") {
			t.Fatalf("the error does not say which database: %v", err)
		}
	}
	if _, err := Open(ctx, Config{}); err == nil {
		t.Fatal("Open without a DSN succeeded")
	}
}
