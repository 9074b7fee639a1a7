package pgstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/store/pgstore"
	"github.com/batonmq/baton/internal/store/pgstore/pgtest"
)

// TestStandbyTakesOver: a node opened with WaitOwner waits while another
// owns the store, reads the owner's published endpoints, and takes the
// store over the moment the owner's session ends (here its lock
// connection is cut, as when PostgreSQL notices a dead machine); the new
// owner's epoch clears the old endpoints, the old owner can no longer
// publish or write, and learns it through Fenced.
func TestStandbyTakesOver(t *testing.T) {
	srv := pgtest.Shared(t)
	ctx := context.Background()
	cfg := pgstore.Config{DSN: srv.DSN(), Schema: srv.NewSchema(t), Node: "a"}
	a := openStore(t, cfg)
	defer a.Close()
	if err := submit(a, broker.Record{Kind: broker.RecEntityPut, Entity: "q", Def: queueDef("q")}); err != nil {
		t.Fatal(err)
	}
	obs, err := pgstore.NewObserver(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer obs.Close()
	if w, err := obs.Owner(ctx); err != nil || w.Epoch != a.Epoch() || w.Node != "a" || w.Endpoints != nil {
		t.Fatalf("owner before publishing: %+v, %v", w, err)
	}
	if err := a.Publish(ctx, map[string]string{"amqp": "10.0.0.1:5672", "mgmt": "10.0.0.1:8088"}); err != nil {
		t.Fatal(err)
	}
	if w, err := obs.Owner(ctx); err != nil || w.Endpoints["amqp"] != "10.0.0.1:5672" || w.Endpoints["mgmt"] != "10.0.0.1:8088" {
		t.Fatalf("owner after publishing: %+v, %v", w, err)
	}

	bcfg := cfg
	bcfg.Node, bcfg.WaitOwner = "b", true
	type opened struct {
		s   *pgstore.Store
		err error
	}
	done := make(chan opened, 1)
	go func() {
		s, err := pgstore.Open(ctx, bcfg)
		done <- opened{s, err}
	}()
	// b waits: it asks for the owner lock again and again (its backend has
	// run pg_try_advisory_lock), not failed after OwnerWait — and it holds
	// no snapshot meanwhile (backend_xmin is NULL), which would stop every
	// vacuum of the database.
	conn, err := pgx.Connect(ctx, srv.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	ownerLock := `l.locktype = 'advisory' AND ((l.classid::int8 << 32) | l.objid::int8) = hashtextextended('baton:owner:' || $1, 0)`
	waitFor(t, func() bool {
		var n int
		err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid()
			AND query LIKE '%pg_try_advisory_lock%' AND backend_xmin IS NULL AND state = 'idle'`).Scan(&n)
		return err == nil && n == 1
	})
	select {
	case o := <-done:
		t.Fatalf("standby returned while the store was owned: %v", o.err)
	default:
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(l.pid)) FROM pg_locks l WHERE l.granted AND `+ownerLock,
		cfg.Schema).Scan(&n); err != nil || n != 1 {
		t.Fatalf("terminating the owner's lock connection: %d, %v", n, err)
	}
	o := <-done
	if o.err != nil {
		t.Fatal(o.err)
	}
	b := o.s
	defer b.Close()
	if b.Epoch() != a.Epoch()+1 {
		t.Fatalf("epochs %d then %d", a.Epoch(), b.Epoch())
	}
	if w, err := obs.Owner(ctx); err != nil || w.Epoch != b.Epoch() || w.Node != "b" || w.Endpoints != nil {
		t.Fatalf("owner after the take-over: %+v, %v (the old endpoints must be gone)", w, err)
	}
	if err := a.Publish(ctx, map[string]string{"amqp": "stale"}); !errors.Is(err, pgstore.ErrFenced) {
		t.Fatalf("publish by the replaced node: %v; want ErrFenced", err)
	}
	select {
	case <-a.Fenced():
	default:
		t.Fatal("Fenced not closed after a refused publish")
	}
	if err := b.Publish(ctx, map[string]string{"amqp": "10.0.0.2:5672"}); err != nil {
		t.Fatal(err)
	}
	if w, _ := obs.Owner(ctx); w.Endpoints["amqp"] != "10.0.0.2:5672" {
		t.Fatalf("endpoints %v", w.Endpoints)
	}
	select {
	case <-b.Fenced():
		t.Fatal("the new owner is fenced")
	default:
	}
	// A clean stop withdraws the endpoints.
	b.Close()
	if w, err := obs.Owner(ctx); err != nil || w.Endpoints != nil {
		t.Fatalf("endpoints after the owner stopped: %+v, %v", w, err)
	}
}

// TestFencedOnWrite: a replaced owner learns it from its first write.
func TestFencedOnWrite(t *testing.T) {
	srv := pgtest.Shared(t)
	cfg := pgstore.Config{DSN: srv.DSN(), Schema: srv.NewSchema(t)}
	a := openStore(t, cfg)
	defer a.Close()
	conn, err := pgx.Connect(context.Background(), srv.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	// Another node takes the epoch (as one that found the lock free would).
	if _, err := conn.Exec(context.Background(), `UPDATE `+pgx.Identifier{cfg.Schema, "baton_owner"}.Sanitize()+` SET epoch = epoch + 1`); err != nil {
		t.Fatal(err)
	}
	if err := submit(a, broker.Record{Kind: broker.RecEntityPut, Entity: "q", Def: queueDef("q")}); err == nil {
		t.Fatal("write by a replaced owner succeeded")
	}
	<-a.Fenced()
}

// TestStandbyCancelled: a standby's wait ends with its context.
func TestStandbyCancelled(t *testing.T) {
	srv := pgtest.Shared(t)
	cfg := pgstore.Config{DSN: srv.DSN(), Schema: srv.NewSchema(t)}
	a := openStore(t, cfg)
	defer a.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		cfg.WaitOwner = true
		s, err := pgstore.Open(ctx, cfg)
		if s != nil {
			s.Close()
		}
		done <- err
	}()
	conn, err := pgx.Connect(context.Background(), srv.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	waitFor(t, func() bool { // the standby is asking for the owner lock
		var n int
		err := conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid()
			AND query LIKE '%pg_try_advisory_lock%' AND state = 'idle'`).Scan(&n)
		return err == nil && n == 1
	})
	cancel()
	if err := <-done; err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled standby: %v; want context.Canceled", err)
	}
}

// waitFor polls cond until it holds (the test's deadline bounds it).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for !cond() {
		time.Sleep(10 * time.Millisecond)
	}
}
