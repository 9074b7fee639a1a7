package pgengine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/store/pgstore/pgtest"
)

// TestDatabaseUnavailable: while the database is down every operation
// fails with CodeStoreUnavailable (the face's 503), without hanging; once
// it is back the engine serves again, and nothing acknowledged is lost.
func TestDatabaseUnavailable(t *testing.T) {
	srv := pgtest.Require(t, pgtest.Options{})
	ctx := context.Background()
	e, err := Open(ctx, Config{DSN: srv.DSN(), Node: "unavailable", ConnectTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	const q = "devstoreaccount1/q"
	if err := e.CreateQueue(ctx, q, nil); err != nil {
		t.Fatal(err)
	}
	m, err := e.Put(ctx, q, []byte("kept"), 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	unavailable := func(what string, err error) {
		t.Helper()
		if broker.CodeOf(err) != broker.CodeStoreUnavailable {
			t.Fatalf("%s with the database down: %v (code %v); want StoreUnavailable", what, err, broker.CodeOf(err))
		}
	}
	_, err = e.Put(ctx, q, []byte("x"), 0, 0)
	unavailable("Put", err)
	_, err = e.Get(ctx, q, 1, time.Second)
	unavailable("Get", err)
	_, err = e.Peek(ctx, q, 1)
	unavailable("Peek", err)
	_, err = e.Queue(ctx, q)
	unavailable("Queue", err)
	unavailable("DeleteMessage", e.DeleteMessage(ctx, q, m.ID, m.Receipt))
	_, err = e.Update(ctx, q, m.ID, m.Receipt, 0, nil)
	unavailable("Update", err)
	unavailable("Clear", e.Clear(ctx, q))
	unavailable("CreateQueue", e.CreateQueue(ctx, "devstoreaccount1/other", nil))
	unavailable("UpdateMetadata", e.UpdateMetadata(ctx, q, func(md map[string]string) map[string]string { return md }))
	unavailable("DeleteQueue", e.DeleteQueue(ctx, q))
	_, err = e.Queues(ctx, "")
	unavailable("Queues", err)
	// A caller's context bounds the wait.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = e.Get(cctx, q, 1, time.Second)
	if err == nil {
		t.Fatal("Get with a cancelled context succeeded")
	}

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	// Connections the pool held died with the server; each failed attempt
	// drops one. The engine answers again within a few calls.
	for i := 0; ; i++ {
		got, err := e.Peek(ctx, q, 32)
		if err == nil {
			if len(got) != 1 || got[0].ID != m.ID || string(got[0].Text) != "kept" {
				t.Fatalf("after the restart: %+v", got)
			}
			break
		}
		unavailable("Peek after the restart", err)
		if i > 20 {
			t.Fatalf("still failing after the restart: %v", err)
		}
	}
	if err := e.DeleteMessage(ctx, q, m.ID, m.Receipt); err != nil {
		t.Fatal(err)
	}
}

// TestOpenErrors: Open fails clearly on a database it cannot reach, and
// never prints the password.
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
