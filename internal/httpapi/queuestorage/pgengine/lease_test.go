package pgengine

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/httpapi/queuestorage/enginetest"
	"github.com/batonmq/baton/internal/store/pgstore/pgtest"
)

// sweeper is an engine whose sweep ticks the test drives with its own
// fake clock and observes.
type sweeper struct {
	*Engine
	clk   *clock.Fake
	ticks chan sweepResult
}

func openSweeper(t *testing.T, schema, node string) *sweeper {
	t.Helper()
	s := &sweeper{clk: clock.NewFake(enginetest.Start), ticks: make(chan sweepResult, 1)}
	s.Engine = open(t, schema, Config{Clock: s.clk, Node: node, SweepInterval: time.Second,
		onSweep: func(r sweepResult) { s.ticks <- r }})
	return s
}

// tick advances the clock by d (at least the sweep interval) once the
// sweep timer is armed, and returns what the sweep it fires did.
func (s *sweeper) tick(t *testing.T, d time.Duration) sweepResult {
	t.Helper()
	s.clk.BlockUntil(1)
	s.clk.Advance(d)
	r := <-s.ticks
	if r.Err != nil {
		t.Fatalf("sweep of %s: %v", s.cfg.Node, r.Err)
	}
	return r
}

// leaseRow reads the sweep lease.
func leaseRow(t *testing.T, schema string) (holder string, term int64, live bool) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), pgtest.Shared(t).DSN()+" search_path="+schema)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	err = conn.QueryRow(context.Background(), `SELECT holder, term, expires_at > now() FROM baton_leases WHERE name = $1`, sweepLease).
		Scan(&holder, &term, &live)
	if err != nil {
		t.Fatal(err)
	}
	return holder, term, live
}

func execSQL(t *testing.T, schema, sql string, args ...any) int64 {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), pgtest.Shared(t).DSN()+" search_path="+schema)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	tag, err := conn.Exec(context.Background(), sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	return tag.RowsAffected()
}

// TestSweepLease: one engine of several sweeps at a time; the others take
// over when it closes (Close releases the lease) or when its lease lapses
// (a node that died).
func TestSweepLease(t *testing.T) {
	schema := pgtest.Shared(t).NewSchema(t)
	ctx := context.Background()
	a := openSweeper(t, schema, "node-a")
	b := openSweeper(t, schema, "node-b")

	ra := a.tick(t, time.Second)
	if !ra.Held {
		t.Fatal("the first engine to sweep did not get the lease")
	}
	if rb := b.tick(t, time.Second); rb.Held {
		t.Fatalf("both engines hold the sweep lease: %+v, %+v", ra, rb)
	}
	if h, term, live := leaseRow(t, schema); h != "node-a" || term != ra.Term || !live {
		t.Fatalf("lease row: %s term %d live %v; want node-a term %d", h, term, live, ra.Term)
	}

	// The holder deletes expired messages; they are invisible before.
	const q = "devstoreaccount1/q"
	if err := a.CreateQueue(ctx, q, nil); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := a.Put(ctx, q, []byte("short"), 0, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Put(ctx, q, []byte("long"), 0, -1); err != nil {
		t.Fatal(err)
	}
	if rb := b.tick(t, 2*time.Minute); rb.Held || rb.Deleted != 0 {
		t.Fatalf("a non-holder swept: %+v", rb)
	}
	if n := execSQL(t, schema, `SELECT 1 FROM baton_sq_messages`); n != 4 {
		t.Fatalf("%d rows before the holder's sweep; want 4", n)
	}
	if r := a.tick(t, 2*time.Minute); !r.Held || r.Term != ra.Term || r.Deleted != 3 {
		t.Fatalf("holder's sweep: %+v; want held, term %d, 3 deleted", r, ra.Term)
	}
	if n := execSQL(t, schema, `SELECT 1 FROM baton_sq_messages`); n != 1 {
		t.Fatalf("%d rows after the sweep; want 1", n)
	}

	// Close releases: the other takes over at its next tick, next term.
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, live := leaseRow(t, schema); live {
		t.Fatal("Close did not release the lease")
	}
	rb := b.tick(t, time.Second)
	if !rb.Held || rb.Term != ra.Term+1 {
		t.Fatalf("after the holder closed: %+v; want held with term %d", rb, ra.Term+1)
	}
	if r := b.tick(t, time.Second); !r.Held || r.Term != rb.Term {
		t.Fatalf("renewal: %+v; want held, term %d", r, rb.Term)
	}

	// A holder that died (its lease lapsed without a release) is replaced;
	// its next tick finds the lease taken.
	c := openSweeper(t, schema, "node-c")
	if r := c.tick(t, time.Second); r.Held {
		t.Fatalf("node-c took a live lease: %+v", r)
	}
	execSQL(t, schema, `UPDATE baton_leases SET expires_at = now() - interval '1 second' WHERE holder = 'node-b'`)
	rc := c.tick(t, time.Second)
	if !rc.Held || rc.Term != rb.Term+1 {
		t.Fatalf("after node-b's lease lapsed: %+v; want held with term %d", rc, rb.Term+1)
	}
	if r := b.tick(t, time.Second); r.Held {
		t.Fatalf("node-b still sweeps after node-c took over: %+v", r)
	}
	if h, term, live := leaseRow(t, schema); h != "node-c" || term != rc.Term || !live {
		t.Fatalf("lease row: %s term %d live %v", h, term, live)
	}
}

// TestSweepVacuums: the lease holder vacuums the message table once per
// VacuumInterval (when it has enough dead rows; here always); other
// engines never do, nor does one with a negative interval.
func TestSweepVacuums(t *testing.T) {
	schema := pgtest.Shared(t).NewSchema(t)
	start := func(node string, interval time.Duration, always bool) *sweeper {
		s := &sweeper{clk: clock.NewFake(enginetest.Start), ticks: make(chan sweepResult, 1)}
		s.Engine = open(t, schema, Config{Clock: s.clk, Node: node, SweepInterval: time.Second, VacuumInterval: interval,
			onSweep: func(r sweepResult) { s.ticks <- r }, vacuumAlways: always})
		return s
	}
	a := start("node-a", 10*time.Second, true)
	b := start("node-b", 10*time.Second, true)
	if r := a.tick(t, time.Second); !r.Held || !r.Vacuumed {
		t.Fatalf("the holder's first sweep: %+v; want held and vacuumed", r)
	}
	if r := b.tick(t, 20*time.Second); r.Held || r.Vacuumed {
		t.Fatalf("a non-holder: %+v; want neither", r)
	}
	if r := a.tick(t, 9*time.Second); r.Vacuumed {
		t.Fatalf("vacuumed again before the interval: %+v", r)
	}
	if r := a.tick(t, time.Second); !r.Vacuumed {
		t.Fatalf("not vacuumed once the interval passed: %+v", r)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	// With the dead-row threshold: a table with few dead rows is left to
	// autovacuum.
	c := start("node-c", time.Second, false)
	if r := c.tick(t, time.Second); !r.Held || r.Vacuumed || r.Err != nil {
		t.Fatalf("a table with few dead rows: %+v; want held, not vacuumed", r)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	d := start("node-d", -1, true)
	for range 3 {
		if r := d.tick(t, time.Minute); !r.Held || r.Vacuumed {
			t.Fatalf("VacuumInterval < 0: %+v; want held, never vacuumed", r)
		}
	}
}
