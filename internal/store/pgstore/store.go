package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/clock"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Config configures a Store. Zero values take defaults.
type Config struct {
	// DSN is a PostgreSQL connection string, URL
	// (postgres://user:pass@host:5432/db?sslmode=disable) or key=value form;
	// pgx's pool parameters (pool_max_conns…) are accepted.
	DSN string
	// Schema, when set, holds Baton's tables: it is created if missing and
	// put first on every connection's search_path. Empty: the connection's
	// own search_path (usually public).
	Schema string
	// KeepBodies keeps message bodies in the broker's memory. By default
	// the broker drops a body once it is stored and reads it back from
	// PostgreSQL on delivery (Store.ReadBody), so memory does not grow with
	// the backlog.
	KeepBodies bool
	// BodyCacheBytes bounds the store's cache of recently written bodies,
	// which serves ReadBody without a query while receivers keep up with
	// senders (default 64 MiB; negative: no cache). Unused with KeepBodies.
	BodyCacheBytes int
	// Node names this process in the baton_owner row (default host:pid).
	Node string
	// MaxBatchRecords and MaxBatchBytes bound one write transaction
	// (defaults 20,000 records, 32 MiB); more waits for the next one.
	MaxBatchRecords int
	MaxBatchBytes   int
	// WriteTimeout bounds one write transaction (default 30 s): a database
	// that stops answering fails the batch instead of hanging it.
	WriteTimeout time.Duration
	// ConnectTimeout bounds each connection attempt (default 10 s).
	ConnectTimeout time.Duration
	// OwnerWait is how long Open waits for another node's hold on the
	// store to end (default 5 s: a node that just died releases it when
	// PostgreSQL notices the closed connection).
	OwnerWait time.Duration
	// WaitOwner makes Open wait for the store for as long as its context
	// allows instead of OwnerWait: a standby node, which takes the store
	// over the moment its owner's session ends (docs/scale-out.md).
	WaitOwner bool
	Logger    *slog.Logger
	// Clock times the retries of a commit in doubt (default clock.Real).
	Clock clock.Clock
}

// ErrClosed is returned by a Store after Close.
var ErrClosed = errors.New("pgstore: store closed")

// ErrInUse is returned by Open when another Baton node holds the store.
var ErrInUse = errors.New("pgstore: another Baton node is using this store")

// Store is a broker.Store on PostgreSQL. See the package doc.
type Store struct {
	cfg     Config
	pool    *pgxpool.Pool
	lock    *pgxpool.Conn // holds the owner advisory lock for the store's life
	epoch   int64         // this node's fencing token (baton_owner.epoch)
	schema  string
	log     *slog.Logger
	clk     clock.Clock
	appName string
	cache   *bodyCache // nil: none

	mu      sync.Mutex
	wake    chan struct{} // a group was queued, or Close (capacity 1)
	queue   []*group      // submitted, not yet taken by the writer
	queued  int           // bytes in queue
	closed  bool
	stopped chan struct{} // closed when the writer has exited

	// Owned by the writer goroutine.
	entities map[string]bool  // entity keys stored
	pruneAt  int64            // broker time (ns) of the next dedup prune
	now      int64            // latest broker time seen in records (ns)
	batches  int64            // write batches numbered so far
	pending  map[msgKey]int64 // removed messages whose rows await purging → removing batch
	removals []pendingRemoval // the same, by batch, oldest first
	// checkLock: a write failed, so the owner lock's connection may be
	// gone (relock). s.lock belongs to the writer while it runs.
	checkLock bool
	unsure    *unsureTx // a commit whose outcome is not known yet

	fenced     chan struct{} // closed when a write found another node's epoch
	fencedOnce sync.Once

	stats struct {
		groups, records, batches, bytes, failures, inDoubt atomic.Uint64
	}
}

// Open connects, applies migrations, takes ownership of the store and
// starts its writer. A database that cannot be reached is an error.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.DSN == "" {
		return nil, errors.New("pgstore: no connection string")
	}
	if cfg.MaxBatchRecords <= 0 {
		cfg.MaxBatchRecords = 20000
	}
	if cfg.MaxBatchBytes <= 0 {
		cfg.MaxBatchBytes = 32 << 20
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 30 * time.Second
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	if cfg.OwnerWait <= 0 {
		cfg.OwnerWait = 5 * time.Second
	}
	if cfg.BodyCacheBytes == 0 {
		cfg.BodyCacheBytes = 64 << 20
	}
	if cfg.Node == "" {
		cfg.Node = DefaultNode()
	}
	s := &Store{cfg: cfg, log: cfg.Logger, clk: cfg.Clock, stopped: make(chan struct{}), fenced: make(chan struct{})}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.wake = make(chan struct{}, 1)
	if !cfg.KeepBodies && cfg.BodyCacheBytes > 0 {
		s.cache = newBodyCache(cfg.BodyCacheBytes)
	}
	if s.clk == nil {
		s.clk = clock.Real{}
	}
	// A name of this process's own: resolve terminates only its own
	// server processes.
	s.appName = "baton " + cfg.Node
	if len(s.appName) > 63 { // what the server keeps of it
		s.appName = s.appName[:63]
	}
	pcfg, err := PoolConfig(cfg, s.appName)
	if err != nil {
		return nil, err
	}
	if pcfg.MaxConns < 4 {
		pcfg.MaxConns = 4
	}
	s.pool, err = pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	if err := s.start(ctx); err != nil {
		if s.lock != nil {
			s.lock.Release()
		}
		s.pool.Close()
		return nil, fmt.Errorf("%w (database %s)", err, Redact(cfg.DSN))
	}
	go s.writer()
	return s, nil
}

// PoolConfig parses cfg.DSN and sets what every connection of a store, an
// observer or another component keeping state in the schema (pgengine)
// needs: the connect timeout, the schema, the application
// name, and TCP keepalives on both ends, so that PostgreSQL ends the
// session of a node whose machine died (releasing its owner lock, so a
// standby takes over) and a node notices a database that vanished. The
// DSN's own tcp_keepalives_* settings win. (On a Unix socket PostgreSQL
// ignores them.)
func PoolConfig(cfg Config, appName string) (*pgxpool.Config, error) {
	pcfg, err := pgxpool.ParseConfig(cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("pgstore: connection string: %w", err)
	}
	pcfg.ConnConfig.ConnectTimeout = cfg.ConnectTimeout
	if cfg.Schema != "" {
		pcfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{cfg.Schema}.Sanitize()
	}
	pcfg.ConnConfig.RuntimeParams["application_name"] = appName
	for k, v := range map[string]string{"tcp_keepalives_idle": "10", "tcp_keepalives_interval": "5", "tcp_keepalives_count": "3"} {
		if _, set := pcfg.ConnConfig.RuntimeParams[k]; !set {
			pcfg.ConnConfig.RuntimeParams[k] = v
		}
	}
	d := &net.Dialer{KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: 10 * time.Second, Interval: 5 * time.Second, Count: 3}}
	pcfg.ConnConfig.DialFunc = d.DialContext
	return pcfg, nil
}

// start connects, migrates, takes ownership and reads the entity keys.
func (s *Store) start(ctx context.Context) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: connecting: %w", err)
	}
	s.lock = conn
	if s.cfg.Schema != "" {
		if _, err := conn.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{s.cfg.Schema}.Sanitize()); err != nil {
			return fmt.Errorf("pgstore: creating schema %q: %w", s.cfg.Schema, err)
		}
	}
	applied, err := Migrate(ctx, conn.Conn())
	if err != nil {
		return err
	}
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&s.schema); err != nil {
		return fmt.Errorf("pgstore: %w", err)
	}
	if len(applied) > 0 {
		s.log.Info("pgstore: schema migrated", "schema", s.schema, "versions", applied)
	}
	// The owner lock: a session advisory lock held by this connection for
	// the store's life. lock_timeout bounds the wait for a holder that is
	// going away. A standby (WaitOwner) asks again every ownerPoll until it
	// gets the lock or ctx ends: a statement waiting on the lock would hold
	// a snapshot all that time, and with it PostgreSQL's xmin horizon, so
	// that no dead row of any table could be vacuumed (or its index entries
	// skipped) while a standby waits; the shared queue tables
	// (--shared-service-bus, --shared-storage-queues) churn through dead
	// rows by the thousand each second.
	if s.cfg.WaitOwner {
		s.log.Info("pgstore: waiting to own the store (standby)", "schema", s.schema)
		if err := s.pollOwner(ctx, conn.Conn()); err != nil {
			return err
		}
	} else {
		if _, err := conn.Exec(ctx, fmt.Sprintf(`SET lock_timeout = %d`, s.cfg.OwnerWait.Milliseconds())); err != nil {
			return fmt.Errorf("pgstore: %w", err)
		}
		_, err = conn.Exec(ctx, `SELECT pg_advisory_lock(`+lockKeySQL+`)`, "owner")
		if err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "55P03" { // lock_not_available
				var node string
				_ = conn.QueryRow(ctx, `SELECT node FROM baton_owner WHERE id = 1`).Scan(&node)
				return fmt.Errorf("%w (schema %q, held by node %q): one Baton node at a time serves a store (run the others with --standby)", ErrInUse, s.schema, node)
			}
			if ctx.Err() != nil {
				return fmt.Errorf("pgstore: waiting for the owner lock: %w", ctx.Err())
			}
			return fmt.Errorf("pgstore: taking the owner lock: %w", err)
		}
		if _, err := conn.Exec(ctx, `SET lock_timeout = 0`); err != nil {
			return fmt.Errorf("pgstore: %w", err)
		}
	}
	// The new epoch; the exclusive fence lock waits for the batches a
	// previous owner has in flight (baton_fence takes it shared).
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('baton:fence:' || current_schema(), 0))`); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `UPDATE baton_owner SET epoch = epoch + 1, node = $1, since = now(), endpoints = NULL WHERE id = 1 RETURNING epoch`,
			s.cfg.Node).Scan(&s.epoch)
	})
	if err != nil {
		return fmt.Errorf("pgstore: taking ownership: %w", err)
	}
	// Rows of messages removed before the last stop are no longer read:
	// delete them, keeping their sequence numbers in last_seq.
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `CREATE TEMP TABLE baton_purge ON COMMIT DROP AS
			SELECT r.batch, u.entity, u.seq FROM baton_removed r, unnest(r.entities, r.seqs) AS u(entity, seq)`)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE baton_entity e SET last_seq = x.seq FROM (SELECT entity, max(seq) AS seq FROM baton_purge GROUP BY entity) x
			WHERE e.key = x.entity AND e.last_seq < x.seq`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM baton_message m USING baton_purge x WHERE m.entity = x.entity AND m.seq = x.seq AND m.wb < x.batch`); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM baton_removed`)
		return err
	})
	if err != nil {
		return fmt.Errorf("pgstore: purging removed messages: %w", err)
	}
	s.pending = map[msgKey]int64{}
	rows, err := conn.Query(ctx, `SELECT key FROM baton_entity`)
	if err != nil {
		return fmt.Errorf("pgstore: reading entities: %w", err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("pgstore: reading entities: %w", err)
	}
	s.entities = make(map[string]bool, len(keys))
	for _, k := range keys {
		s.entities[k] = true
	}
	return nil
}

// Epoch returns this node's fencing token.
func (s *Store) Epoch() int64 { return s.epoch }

// Node returns this node's name in baton_owner.
func (s *Store) Node() string { return s.cfg.Node }

// Schema returns the schema that holds the tables.
func (s *Store) Schema() string { return s.schema }

// Load reads the whole stored state in one consistent snapshot.
func (s *Store) Load(ctx context.Context) (*broker.Snapshot, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	var snap *broker.Snapshot
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		snap, err = s.load(ctx, tx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: loading: %w", err)
	}
	return snap, nil
}

func (s *Store) load(ctx context.Context, tx pgx.Tx) (*broker.Snapshot, error) {
	snap := &broker.Snapshot{}
	byKey := map[string]*broker.EntitySnapshot{}
	rows, err := tx.Query(ctx, `SELECT key, def, last_seq FROM baton_entity`)
	if err != nil {
		return nil, err
	}
	var (
		key  string
		blob []byte
		seq  int64
	)
	_, err = pgx.ForEachRow(rows, []any{&key, &blob, &seq}, func() error {
		def, err := decodeDef(blob)
		if err != nil {
			return fmt.Errorf("entity %q: %w", key, err)
		}
		es := &broker.EntitySnapshot{Def: *def, LastSeq: seq, Dedup: map[string]time.Time{}}
		byKey[key] = es
		snap.Entities = append(snap.Entities, es)
		return nil
	})
	if err != nil {
		return nil, err
	}
	body := "NULL::bytea"
	if s.cfg.KeepBodies {
		body = "body"
	}
	rows, err = tx.Query(ctx, `SELECT entity, seq, hdr, upd, body IS NULL, `+body+` FROM baton_message`)
	if err != nil {
		return nil, err
	}
	var (
		hdr, upd, b []byte
		noBody      bool
	)
	_, err = pgx.ForEachRow(rows, []any{&key, &seq, &hdr, &upd, &noBody, &b}, func() error {
		es := byKey[key]
		if es == nil {
			return nil // cannot happen: entities are deleted with their messages
		}
		if seq > es.LastSeq {
			es.LastSeq = seq // last_seq is written only when rows go
		}
		m := &broker.Message{SequenceNumber: seq}
		if err := decodeHeader(hdr, m); err != nil {
			return fmt.Errorf("message %d of %q: %w", seq, key, err)
		}
		if err := decodeUpdate(upd, m); err != nil {
			return fmt.Errorf("message %d of %q: %w", seq, key, err)
		}
		switch {
		case noBody:
		case s.cfg.KeepBodies:
			m.Body = append([]byte{}, b...)
		case seq > 0:
			m.BodyRef = uint64(seq)
		}
		es.Messages = append(es.Messages, m)
		return nil
	})
	if err != nil {
		return nil, err
	}
	rows, err = tx.Query(ctx, `SELECT entity, id, state, updated_ns FROM baton_session`)
	if err != nil {
		return nil, err
	}
	var (
		id, state []byte
		ns        int64
	)
	_, err = pgx.ForEachRow(rows, []any{&key, &id, &state, &ns}, func() error {
		if es := byKey[key]; es != nil {
			es.Sessions = append(es.Sessions, broker.SessionSnapshot{ID: string(id), State: append([]byte{}, state...), UpdatedAt: time.Unix(0, ns)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	rows, err = tx.Query(ctx, `SELECT entity, message_id, until_ns FROM baton_dedup`)
	if err != nil {
		return nil, err
	}
	_, err = pgx.ForEachRow(rows, []any{&key, &id, &ns}, func() error {
		if es := byKey[key]; es != nil {
			es.Dedup[string(id)] = time.Unix(0, ns)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return snap, nil
}

// ReadBody reads the body of message ref (its sequence number) of entity.
func (s *Store) ReadBody(ctx context.Context, entity string, ref uint64) ([]byte, error) {
	if s.cache != nil {
		if b, ok := s.cache.get(msgKey{entity, int64(ref)}); ok {
			return append([]byte{}, b...), nil
		}
	}
	var body []byte
	err := s.pool.QueryRow(ctx, `SELECT body FROM baton_message WHERE entity = $1 AND seq = $2`, entity, int64(ref)).Scan(&body)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("pgstore: no message %d in %q", ref, entity)
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: reading the body of message %d in %q: %w", ref, entity, err)
	}
	return body, nil
}

// Close writes what was submitted, stops the writer and releases the
// database connections (and with them the owner lock).
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		<-s.stopped
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	<-s.stopped
	// Release the owner lock at once (closing the connection would too,
	// but the server notices that a moment later), unless the connection
	// is gone and took the lock with it.
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ConnectTimeout)
	_, _ = s.lock.Exec(ctx, `UPDATE baton_owner SET endpoints = NULL WHERE id = 1 AND epoch = $1`, s.epoch)
	_, _ = s.lock.Exec(ctx, `SELECT pg_advisory_unlock(`+lockKeySQL+`)`, "owner")
	cancel()
	s.lock.Release()
	s.pool.Close()
	return nil
}

// Stats are the store's counters since Open.
type Stats struct {
	Groups   uint64 // groups of records submitted and written
	Records  uint64 // records written
	Batches  uint64 // write transactions committed (group commits)
	Bytes    uint64 // blob and body bytes written
	Failures uint64 // write transactions that failed
	InDoubt  uint64 // commits whose answer was lost, later looked up

	BodyCacheHits, BodyCacheMisses uint64 // ReadBody served from the cache, or by a query
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	var hits, misses uint64
	if s.cache != nil {
		hits, misses = s.cache.stats()
	}
	return Stats{
		BodyCacheHits:   hits,
		BodyCacheMisses: misses,
		Groups:          s.stats.groups.Load(),
		Records:         s.stats.records.Load(),
		Batches:         s.stats.batches.Load(),
		Bytes:           s.stats.bytes.Load(),
		Failures:        s.stats.failures.Load(),
		InDoubt:         s.stats.inDoubt.Load(),
	}
}

// Redact returns dsn with any password replaced by "xxxxx", for messages.
func Redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		return u.String()
	}
	var parts []string
	for _, f := range strings.Fields(dsn) {
		if k, _, ok := strings.Cut(f, "="); ok && strings.EqualFold(k, "password") {
			f = k + "=xxxxx"
		}
		parts = append(parts, f)
	}
	return strings.Join(parts, " ")
}

// DSNSets reports whether a connection string (a URL or key=value pairs)
// sets the parameter key.
func DSNSets(dsn, key string) bool {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		return u.Query().Has(key)
	}
	for _, f := range strings.Fields(dsn) {
		if k, _, ok := strings.Cut(f, "="); ok && strings.TrimSpace(k) == key {
			return true
		}
	}
	return false
}

// ownerPoll is how often a standby asks for the owner lock.
const ownerPoll = 100 * time.Millisecond

// pollOwner takes the owner lock on conn, asking every ownerPoll until it
// gets it or ctx ends.
func (s *Store) pollOwner(ctx context.Context, conn *pgx.Conn) error {
	for {
		var got bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+lockKeySQL+`)`, "owner").Scan(&got); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("pgstore: waiting for the owner lock: %w", ctx.Err())
			}
			return fmt.Errorf("pgstore: taking the owner lock: %w", err)
		}
		if got {
			return nil
		}
		t := s.clk.NewTimer(ownerPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("pgstore: waiting for the owner lock: %w", ctx.Err())
		case <-t.C():
		}
	}
}
