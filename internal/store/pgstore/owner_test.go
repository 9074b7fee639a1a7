package pgstore_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/store/pgstore"
	"github.com/batonmq/baton/internal/store/pgstore/pgtest"
)

func openStore(t *testing.T, cfg pgstore.Config) *pgstore.Store {
	t.Helper()
	s, err := pgstore.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func submit(s broker.Store, recs ...broker.Record) error {
	ch := make(chan error, 1)
	s.Submit(recs, func(err error) { ch <- err })
	return <-ch
}

func queueDef(name string) *broker.Entity {
	return &broker.Entity{Name: name, Kind: broker.KindQueue, Properties: broker.DefaultQueueProperties()}
}

// TestNodesStartTogether starts four nodes on one new schema at once: the
// migrations run once, one node owns the store, the others are told it is
// in use; when the owner stops, another starts and migrates nothing.
func TestNodesStartTogether(t *testing.T) {
	srv := pgtest.Shared(t)
	cfg := pgstore.Config{DSN: srv.DSN(), Schema: srv.NewSchema(t), OwnerWait: 200 * time.Millisecond}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		owners []*pgstore.Store
		errs   []error
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := pgstore.Open(context.Background(), cfg)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			owners = append(owners, s)
		}()
	}
	wg.Wait()
	if len(owners) != 1 || len(errs) != 3 {
		t.Fatalf("%d owners, errors %v; want 1 owner", len(owners), errs)
	}
	for _, err := range errs {
		if !errors.Is(err, pgstore.ErrInUse) {
			t.Fatalf("error %v; want ErrInUse", err)
		}
	}
	conn, err := pgx.Connect(context.Background(), srv.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	versions := func() []int {
		rows, err := conn.Query(context.Background(), `SELECT version FROM `+pgx.Identifier{cfg.Schema, "baton_schema_version"}.Sanitize()+` ORDER BY version`)
		if err != nil {
			t.Fatal(err)
		}
		v, err := pgx.CollectRows(rows, pgx.RowTo[int])
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := versions(); len(v) != pgstore.SchemaVersion() || v[len(v)-1] != pgstore.SchemaVersion() {
		t.Fatalf("schema versions %v; want 1..%d once each", v, pgstore.SchemaVersion())
	}
	first := owners[0].Epoch()
	owners[0].Close()
	s := openStore(t, cfg)
	defer s.Close()
	if s.Epoch() != first+1 {
		t.Fatalf("epoch %d after %d", s.Epoch(), first)
	}
	if v := versions(); len(v) != pgstore.SchemaVersion() {
		t.Fatalf("schema versions %v after a restart", v)
	}
}

// TestFencing: when a node's hold on the store is lost (here its lock
// connection is cut) and another node takes the store over, the old node
// can no longer write, so the new one's state stays the truth.
func TestFencing(t *testing.T) {
	srv := pgtest.Shared(t)
	cfg := pgstore.Config{DSN: srv.DSN(), Schema: srv.NewSchema(t), OwnerWait: 200 * time.Millisecond}
	old := openStore(t, cfg)
	defer old.Close()
	if _, err := old.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := submit(old, broker.Record{Kind: broker.RecEntityPut, Entity: "q", Def: queueDef("q")}); err != nil {
		t.Fatal(err)
	}
	if _, err := pgstore.Open(context.Background(), cfg); !errors.Is(err, pgstore.ErrInUse) {
		t.Fatalf("second node while the first holds the store: %v; want ErrInUse", err)
	}
	conn, err := pgx.Connect(context.Background(), srv.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), `SELECT count(pg_terminate_backend(l.pid)) FROM pg_locks l
		WHERE l.locktype = 'advisory' AND l.granted AND ((l.classid::int8 << 32) | l.objid::int8) = hashtextextended('baton:owner:' || $1, 0)`,
		cfg.Schema).Scan(&n); err != nil || n != 1 {
		t.Fatalf("terminating the owner's lock connection: %d, %v", n, err)
	}
	taker := openStore(t, cfg)
	defer taker.Close()
	if taker.Epoch() != old.Epoch()+1 {
		t.Fatalf("epochs %d then %d", old.Epoch(), taker.Epoch())
	}
	msg := &broker.Message{SequenceNumber: 1, Body: []byte("stale")}
	err = submit(old, broker.Record{Kind: broker.RecEnqueue, Entity: "q", Msg: msg})
	if err == nil || !strings.Contains(err.Error(), "no longer owns the store") {
		t.Fatalf("write by the replaced node: %v; want a fencing error", err)
	}
	snap, err := taker.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Entities) != 1 || len(snap.Entities[0].Messages) != 0 {
		t.Fatalf("snapshot after the fenced write: %+v", snap.Entities)
	}
}

// TestOpenErrors: a database that cannot be reached, a bad connection
// string and a missing schema are clear errors.
func TestOpenErrors(t *testing.T) {
	srv := pgtest.Shared(t)
	_, err := pgstore.Open(context.Background(), pgstore.Config{DSN: "host=" + t.TempDir() + " user=postgres password=secret", ConnectTimeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), "connecting") || strings.Contains(err.Error(), "secret") {
		t.Fatalf("unreachable database: %v", err)
	}
	if _, err := pgstore.Open(context.Background(), pgstore.Config{DSN: "postgres://x:y@host:notaport/db"}); err == nil {
		t.Fatal("bad connection string accepted")
	}
	_, err = pgstore.Open(context.Background(), pgstore.Config{DSN: srv.DSN() + " search_path=nosuchschema"})
	if err == nil || !strings.Contains(err.Error(), "no schema") {
		t.Fatalf("missing schema: %v", err)
	}
	if got := pgstore.Redact("postgres://u:pw@h/db"); strings.Contains(got, "pw") {
		t.Fatalf("Redact = %q", got)
	}
}

// TestUnstorableGroupFailsAlone: a group the codec cannot write fails at
// Submit without touching the groups around it.
func TestUnstorableGroupFailsAlone(t *testing.T) {
	srv := pgtest.Shared(t)
	s := openStore(t, pgstore.Config{DSN: srv.DSN(), Schema: srv.NewSchema(t)})
	defer s.Close()
	if err := submit(s, broker.Record{Kind: broker.RecEntityPut, Entity: "q", Def: queueDef("q")}); err != nil {
		t.Fatal(err)
	}
	bad := &broker.Message{SequenceNumber: 1, Properties: map[string]any{"x": struct{}{}}}
	if err := submit(s, broker.Record{Kind: broker.RecEnqueue, Entity: "q", Msg: bad}); err == nil {
		t.Fatal("unstorable property accepted")
	}
	if err := submit(s, broker.Record{Kind: broker.RecEntityPut, Entity: "a\x00b", Def: queueDef("a\x00b")}); err == nil {
		t.Fatal("entity key with NUL accepted")
	}
	// Client strings that PostgreSQL text could not hold are stored exactly.
	odd := &broker.Message{SequenceNumber: 2, MessageID: "\x00\xff", SessionID: "s\x00", Body: []byte{0}}
	if err := submit(s, broker.Record{Kind: broker.RecEnqueue, Entity: "q", Msg: odd, DedupUntil: time.Unix(2e9, 0)},
		broker.Record{Kind: broker.RecSessionState, Entity: "q", SessionID: "s\x00", SessionState: []byte("st"), SessionTime: time.Unix(1e9, 0)}); err != nil {
		t.Fatal(err)
	}
	snap, err := s.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	es := snap.Entities[0]
	if len(es.Messages) != 1 || es.Messages[0].MessageID != "\x00\xff" || es.Messages[0].SessionID != "s\x00" || es.LastSeq != 2 ||
		!es.Dedup["\x00\xff"].Equal(time.Unix(2e9, 0)) || len(es.Sessions) != 1 || es.Sessions[0].ID != "s\x00" {
		t.Fatalf("snapshot %+v %+v", es, es.Messages)
	}
}

// TestReadBodyAfterWipe: an entity deleted and created again under the
// same name never serves a body of its former self (from the cache or the
// table).
func TestReadBodyAfterWipe(t *testing.T) {
	srv := pgtest.Shared(t)
	s := openStore(t, pgstore.Config{DSN: srv.DSN(), Schema: srv.NewSchema(t)})
	defer s.Close()
	ctx := context.Background()
	put := broker.Record{Kind: broker.RecEntityPut, Entity: "q", Def: queueDef("q")}
	enq := func(body string) broker.Record {
		return broker.Record{Kind: broker.RecEnqueue, Entity: "q", Msg: &broker.Message{SequenceNumber: 1, Body: []byte(body)}}
	}
	if err := submit(s, put, enq("old")); err != nil {
		t.Fatal(err)
	}
	if b, err := s.ReadBody(ctx, "q", 1); err != nil || string(b) != "old" {
		t.Fatalf("ReadBody = %q, %v", b, err)
	}
	if err := submit(s, broker.Record{Kind: broker.RecEntityDelete, Entity: "q"}, put); err != nil {
		t.Fatal(err)
	}
	if b, err := s.ReadBody(ctx, "q", 1); err == nil {
		t.Fatalf("ReadBody after the wipe = %q", b)
	}
	if err := submit(s, enq("new")); err != nil {
		t.Fatal(err)
	}
	if b, err := s.ReadBody(ctx, "q", 1); err != nil || string(b) != "new" {
		t.Fatalf("ReadBody = %q, %v", b, err)
	}
	if st := s.Stats(); st.BodyCacheHits != 2 || st.BodyCacheMisses != 1 {
		t.Fatalf("cache stats %+v", st)
	}
}
