package filestore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/vfs"
	"github.com/batonmq/baton/internal/wal"
)

// Defaults applied to zero Config fields.
const (
	DefaultRemovedBodyGrace = 5 * time.Second
	DefaultCompactRatio     = 2.0
	defaultCompactChunk     = 4 << 20
	maxCopyGroupBytes       = 1 << 20
)

// Config configures a Store. The zero value gives the defaults.
type Config struct {
	// Sync is the durability mode: wal.SyncAlways ("fsync", the default:
	// Submit's done is called once the group is on disk), wal.SyncInterval
	// ("buffered": once written to the OS; synced every SyncInterval) or
	// wal.SyncNever (tests).
	Sync wal.SyncMode
	// SyncInterval is the sync period of wal.SyncInterval. Default 100ms.
	SyncInterval time.Duration
	// SegmentSize is the size of each log segment. Default 64 MiB.
	SegmentSize int64
	// ZeroFill has the log write zeros over each segment before use, so
	// that a durable append's fdatasync has no extent metadata to flush
	// (wal.Config.ZeroFill): faster syncs, every segment written twice.
	ZeroFill bool
	// Clock drives the sync timer, duplicate-detection expiry and the
	// removed-body grace. Default clock.Real.
	Clock clock.Clock
	// Logger receives background failures (GC, compaction). Default: none.
	Logger *slog.Logger
	// CompactRatio: compaction copies the oldest segment's live items
	// forward while the log, beyond two segments, is more than
	// CompactRatio times the live data. Default 2; at least 1.2.
	CompactRatio float64
	// RemovedBodyGrace is how long the body of a removed message stays
	// readable through ReadBody (the broker reads the bodies of a
	// ReceiveAndDelete after the removal is durable). Default 5s.
	RemovedBodyGrace time.Duration

	compactChunk int64 // bytes copied per compaction pause; tests lower it
}

func (c Config) withDefaults() Config {
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.SegmentSize == 0 {
		c.SegmentSize = wal.DefaultSegmentSize
	}
	if c.CompactRatio == 0 {
		c.CompactRatio = DefaultCompactRatio
	}
	if c.RemovedBodyGrace == 0 {
		c.RemovedBodyGrace = DefaultRemovedBodyGrace
	}
	if c.compactChunk == 0 {
		c.compactChunk = defaultCompactChunk
	}
	return c
}

// Validate reports a Config that cannot work. Open calls it after applying
// defaults.
func (c Config) Validate() error {
	switch {
	case c.CompactRatio < 1.2:
		return fmt.Errorf("filestore: compact ratio %v below 1.2", c.CompactRatio)
	case c.RemovedBodyGrace < 0:
		return fmt.Errorf("filestore: negative removed-body grace %v", c.RemovedBodyGrace)
	}
	return nil
}

// ParseSync maps a durability name of the configuration ("fsync",
// "buffered"; empty means "fsync") to a sync mode.
func ParseSync(name string) (wal.SyncMode, error) {
	switch name {
	case "", "fsync":
		return wal.SyncAlways, nil
	case "buffered":
		return wal.SyncInterval, nil
	}
	return 0, fmt.Errorf("filestore: unknown durability %q (want fsync or buffered)", name)
}

// ErrClosed is returned (and passed to done) after Close.
var ErrClosed = errors.New("filestore: store closed")

// RecordError reports a record that passed the log's checksums but does not
// decode: a bug or a log written by a newer version. It names the record.
type RecordError struct {
	Pos wal.Pos
	Err error
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("filestore: bad record at segment %s offset %d: %v", e.Pos.Segment, e.Pos.Offset, e.Err)
}

// Unwrap returns the cause.
func (e *RecordError) Unwrap() error { return e.Err }

// Store is a broker.Store on a write-ahead log. Its methods are safe for
// concurrent use.
type Store struct {
	cfg Config
	log *wal.Log
	clk clock.Clock

	// mu guards the index and the fields below it. No WAL method is ever
	// called with mu held (the WAL's callbacks take it).
	mu       sync.Mutex
	idx      *index
	closed   bool
	loaded   bool // Load was called (or a Submit came first)
	inflight int  // groups handed to the WAL whose callback has not run
	drained  *sync.Cond
	// paused holds new groups in held instead of appending them, while
	// compaction copies items forward (see compact.go).
	paused bool
	held   []*group
	active wal.SegmentID // newest segment seen in a callback
	// replayedMsgs counts the messages the replay decoded (for Load).
	replayedMsgs int
	copied       int64 // records copied forward by compaction

	bufPool sync.Pool // of *[]byte: encoding buffers

	maintMu sync.Mutex    // serialises maintainOnce (the goroutine and tests)
	kick    chan struct{} // capacity 1: maintenance has work
	stop    chan struct{}
	wg      sync.WaitGroup // the maintenance goroutine
}

// group is one Submit: its encoded records and what they change.
type group struct {
	recs [][]byte
	ops  []op
	buf  *[]byte // recs are slices of it; back to the pool after append
	done func(error)
}

// Open opens (or creates) the store in dir of fsys and rebuilds its index
// from the log. A damaged log is reported as a *wal.CorruptionError (see
// wal.IsCorruption) naming the segment and offset; a record that does not
// decode as a *RecordError.
func Open(fsys vfs.FS, dir string, cfg Config) (*Store, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	l, err := wal.Open(fsys, filepath.Join(dir, "wal"), wal.Config{
		SegmentSize:  cfg.SegmentSize,
		SyncMode:     cfg.Sync,
		SyncInterval: cfg.SyncInterval,
		Clock:        cfg.Clock,
		ZeroFill:     cfg.ZeroFill,
	})
	if err != nil {
		return nil, fmt.Errorf("filestore: open %s: %w", dir, err)
	}
	s := &Store{
		cfg:  cfg,
		log:  l,
		clk:  cfg.Clock,
		idx:  newIndex(),
		kick: make(chan struct{}, 1),
		stop: make(chan struct{}),
	}
	s.drained = sync.NewCond(&s.mu)
	if err := s.replay(); err != nil {
		_ = l.Close()
		return nil, err
	}
	if segs := l.Segments(); len(segs) > 0 {
		s.active = segs[len(segs)-1]
	}
	s.wg.Add(1)
	go s.maintain()
	s.kickMaintenance()
	return s, nil
}

// replay rebuilds the index, and Load's snapshot, from the whole log.
func (s *Store) replay() error {
	x := s.idx
	x.replay = true
	var slab []broker.Message
	var r record
	var o op
	err := s.log.Replay(func(pos wal.Pos, b []byte) error {
		if len(slab) == 0 {
			slab = make([]broker.Message, 1024)
		}
		r = record{}
		if err := decodeInto(&r, b, &slab[0]); err != nil {
			return &RecordError{Pos: pos, Err: err}
		}
		opOf(&r, int32(len(b)), &o)
		x.apply(&o, pos, time.Time{})
		es := x.entities[o.entity]
		if es == nil {
			return nil
		}
		switch r.kind {
		case kindEnqueue:
			if es.loadMsgs == nil {
				x := newSeqIndex[*broker.Message]()
				es.loadMsgs = &x
			}
			m := &slab[0]
			slab = slab[1:]
			s.replayedMsgs++
			m.Body = nil
			m.BodyRef = uint64(m.SequenceNumber)
			es.loadMsgs.set(m.SequenceNumber, m)
		case kindUpdate:
			if es.loadMsgs != nil {
				if m, ok := es.loadMsgs.get(r.Update.Seq); ok {
					r.Update.Apply(m)
				}
			}
		case kindRemove:
			if es.loadMsgs != nil {
				es.loadMsgs.del(r.Seq)
			}
		case kindSessionState:
			if es.loadSessions == nil {
				es.loadSessions = make(map[string]broker.SessionSnapshot)
			}
			if r.SessionState == nil {
				delete(es.loadSessions, r.SessionID)
			} else {
				es.loadSessions[r.SessionID] = broker.SessionSnapshot{ID: r.SessionID, State: r.SessionState, UpdatedAt: r.SessionTime}
			}
		}
		return nil
	})
	if err != nil {
		var re *RecordError
		if errors.As(err, &re) {
			return err
		}
		return fmt.Errorf("filestore: replay: %w", err)
	}
	for _, es := range x.entities {
		if !es.hasDef {
			x.dropEntity(es)
		}
	}
	x.expireDedup()
	x.lowZero = false
	x.replay = false
	return nil
}

// opOf fills o from a decoded record.
func opOf(r *record, size int32, o *op) {
	*o = op{kind: r.kind, entity: r.Entity, size: size}
	if r.kind != kindEntityState && r.kind != kindDedup {
		o.at = brokerTime(&r.Record)
	}
	switch r.kind {
	case kindEntityPut, kindEntityState:
		o.def, o.lastSeq = r.Def, r.lastSeq
	case kindEnqueue:
		o.seq = r.Msg.SequenceNumber
		if !r.DedupUntil.IsZero() {
			o.msgID, o.until = r.Msg.MessageID, r.DedupUntil
		}
	case kindUpdate:
		o.seq = r.Update.Seq
	case kindRemove:
		o.seq = r.Seq
	case kindSessionState:
		o.sessionID, o.clear = r.SessionID, r.SessionState == nil
	case kindDedup:
		o.msgID, o.until = r.msgID, r.DedupUntil
	}
}

// Load returns the stored state, with every message's Body nil and BodyRef
// set. The first call, before any Submit, returns what the replay at Open
// decoded; later calls read the live messages back from the log.
func (s *Store) Load(ctx context.Context) (*broker.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	fromReplay := !s.loaded
	s.loaded = true
	snap := &broker.Snapshot{Entities: make([]*broker.EntitySnapshot, 0, len(s.idx.entities))}
	for _, es := range s.idx.entities {
		out := &broker.EntitySnapshot{
			Def:      es.def,
			LastSeq:  es.lastSeq,
			Messages: make([]*broker.Message, 0, es.msgs.len()),
			Dedup:    make(map[string]time.Time, len(es.dedup)),
		}
		if fromReplay {
			if es.loadMsgs != nil {
				// In order: the broker sorts them, and sorted input sorts
				// in linear time.
				es.loadMsgs.eachInOrder(func(_ int64, m *broker.Message) bool {
					out.Messages = append(out.Messages, m)
					return true
				})
			}
			for _, ss := range es.loadSessions {
				out.Sessions = append(out.Sessions, ss)
			}
			es.loadMsgs, es.loadSessions = nil, nil
		} else {
			// Reading with mu held stalls appends; this path only serves
			// a second broker opened on the same store (tests).
			var err error
			es.msgs.eachInOrder(func(_ int64, loc msgLoc) bool {
				var m *broker.Message
				if m, _, err = s.readMessage(loc); err != nil {
					return false
				}
				m.Body, m.BodyRef = nil, uint64(m.SequenceNumber)
				out.Messages = append(out.Messages, m)
				return true
			})
			if err != nil {
				return nil, err
			}
			for _, l := range es.sessions {
				b, err := s.log.ReadAt(l.pos)
				if err != nil {
					return nil, fmt.Errorf("filestore: load: %w", err)
				}
				r, err := decodeRecord(b)
				if err != nil || r.kind != kindSessionState {
					return nil, &RecordError{Pos: l.pos, Err: errors.Join(err, errors.New("not a session state"))}
				}
				out.Sessions = append(out.Sessions, broker.SessionSnapshot{ID: r.SessionID, State: r.SessionState, UpdatedAt: r.SessionTime})
			}
		}
		for id, d := range es.dedup {
			out.Dedup[id] = d.until
		}
		snap.Entities = append(snap.Entities, out)
	}
	if fromReplay && s.replayedMsgs > 0 {
		compactSlabs(snap, s.replayedMsgs)
	}
	s.replayedMsgs = 0
	return snap, nil
}

// compactSlabs copies the messages into one new slab when most of the
// replay's slabs hold removed messages, so that the few live ones do not
// keep them all alive.
func compactSlabs(snap *broker.Snapshot, decoded int) {
	live := 0
	for _, es := range snap.Entities {
		live += len(es.Messages)
	}
	if live >= decoded*3/4 {
		return
	}
	slab := make([]broker.Message, live)
	for _, es := range snap.Entities {
		for i, m := range es.Messages {
			slab[0] = *m
			es.Messages[i] = &slab[0]
			slab = slab[1:]
		}
	}
}

// Submit encodes the group and hands it to the log as one atomic append; done
// is called from the log's completion goroutine once the group is durable (per
// Config.Sync) and applied, or with the error that stopped it. It sets
// Msg.BodyRef of every enqueued message (to its sequence number) before it
// returns.
func (s *Store) Submit(recs []broker.Record, done func(error)) {
	g, err := s.prepare(recs)
	if err != nil {
		done(fmt.Errorf("filestore: %w", err))
		return
	}
	g.done = done
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.putBuf(g)
		done(ErrClosed)
		return
	}
	if !s.loaded {
		// Load's snapshot would now be stale.
		s.loaded = true
		for _, es := range s.idx.entities {
			es.loadMsgs, es.loadSessions = nil, nil
		}
	}
	if s.paused {
		s.held = append(s.held, g)
		s.mu.Unlock()
		return
	}
	s.inflight++
	s.mu.Unlock()
	s.append(g)
}

// prepare encodes recs into one pooled buffer and builds their ops.
func (s *Store) prepare(recs []broker.Record) (*group, error) {
	if len(recs) == 0 {
		return nil, errors.New("empty group")
	}
	g := &group{recs: make([][]byte, len(recs)), ops: make([]op, len(recs))}
	g.buf = s.getBuf()
	b := (*g.buf)[:0]
	ends := make([]int, len(recs))
	for i := range recs {
		r := &recs[i]
		var err error
		if b, err = appendRecord(b, r); err != nil {
			*g.buf = b
			s.putBuf(g)
			return nil, fmt.Errorf("record %d (%s of %q): %w", i, kindName(kind(r.Kind)), r.Entity, err)
		}
		ends[i] = len(b)
		o := &g.ops[i]
		*o = op{kind: kind(r.Kind), entity: r.Entity, at: brokerTime(r)}
		switch r.Kind {
		case broker.RecEntityPut:
			d := *r.Def
			o.def = &d
		case broker.RecEnqueue:
			o.seq = r.Msg.SequenceNumber
			if !r.DedupUntil.IsZero() {
				o.msgID, o.until = r.Msg.MessageID, r.DedupUntil
			}
			if r.Msg.SequenceNumber > 0 {
				r.Msg.BodyRef = uint64(r.Msg.SequenceNumber)
			}
		case broker.RecUpdate:
			o.seq = r.Update.Seq
		case broker.RecRemove:
			o.seq = r.Seq
		case broker.RecSessionState:
			o.sessionID, o.clear = r.SessionID, r.SessionState == nil
		}
	}
	*g.buf = b
	start := 0
	for i, end := range ends {
		g.recs[i] = b[start:end:end]
		g.ops[i].size = int32(end - start)
		start = end
	}
	return g, nil
}

func (s *Store) getBuf() *[]byte {
	if p, ok := s.bufPool.Get().(*[]byte); ok {
		return p
	}
	b := make([]byte, 0, 4<<10)
	return &b
}

func (s *Store) putBuf(g *group) {
	if g.buf != nil && cap(*g.buf) <= 1<<20 {
		s.bufPool.Put(g.buf)
	}
	g.buf, g.recs = nil, nil
}

// append hands g to the log. REQUIRES: s.mu not held; s.inflight counts g.
func (s *Store) append(g *group) {
	err := s.log.AppendAsync(g.recs, func(pos []wal.Pos, err error) { s.applied(g, pos, err) })
	s.putBuf(g)
	if err != nil {
		s.applied(g, nil, err)
	}
}

// applied runs when g's append has finished (on the log's completion goroutine,
// in log order): it applies g to the index and calls done.
func (s *Store) applied(g *group, pos []wal.Pos, err error) {
	s.mu.Lock()
	kick := false
	if err == nil {
		now := s.clk.Now()
		for i := range g.ops {
			s.idx.apply(&g.ops[i], pos[i], now)
		}
		s.idx.expireDedup()
		if seg := pos[len(pos)-1].Segment; seg != s.active {
			s.active = seg
			kick = true
		}
		if s.idx.lowZero {
			s.idx.lowZero = false
			kick = true
		}
	}
	s.inflight--
	if s.inflight == 0 {
		s.drained.Broadcast()
	}
	s.mu.Unlock()
	if kick {
		s.kickMaintenance()
	}
	if g.done != nil {
		if err != nil {
			err = fmt.Errorf("filestore: append: %w", err)
		}
		g.done(err)
	}
}

// ReadBody reads the body of message ref (its sequence number) of entity
// from the log.
func (s *Store) ReadBody(ctx context.Context, entity string, ref uint64) ([]byte, error) {
	seq := int64(ref)
	for attempt := 0; ; attempt++ {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, ErrClosed
		}
		var pos wal.Pos
		if es := s.idx.entities[entity]; es != nil {
			if m, ok := es.msgs.get(seq); ok {
				pos = m.enq
			} else if p, ok := es.removed[seq]; ok {
				pos = p
			}
		}
		s.mu.Unlock()
		if pos.Segment == 0 {
			return nil, fmt.Errorf("filestore: no message %d in %q", seq, entity)
		}
		b, err := s.log.ReadAt(pos)
		if errors.Is(err, wal.ErrNotFound) && attempt < 3 {
			continue // compaction moved it and removed the segment; look again
		}
		if err != nil {
			return nil, fmt.Errorf("filestore: read body of message %d in %q: %w", seq, entity, err)
		}
		body, err := readBody(b)
		if err != nil {
			return nil, &RecordError{Pos: pos, Err: err}
		}
		if body == nil {
			body = []byte{}
		}
		return body, nil
	}
}

// Sync waits until every group acknowledged (done called) before the call
// is on disk, in any sync mode.
func (s *Store) Sync() error {
	if err := s.log.Sync(); err != nil {
		return fmt.Errorf("filestore: sync: %w", err)
	}
	return nil
}

// Close stops the background work, waits for every group submitted so far,
// syncs and closes the log. Later calls fail with ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	s.wg.Wait()
	if err := s.log.Close(); err != nil {
		return fmt.Errorf("filestore: close: %w", err)
	}
	return nil
}

// Stats reports the log's counters (syncs, records, bytes) and the store's
// live data.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	live, copied := s.idx.live, s.copied
	s.mu.Unlock()
	return Stats{WAL: s.log.Stats(), Segments: len(s.log.Segments()), LiveBytes: live, Copied: copied}
}

// Stats are a store's counters.
type Stats struct {
	WAL       wal.Stats
	Segments  int   // segment files on disk
	LiveBytes int64 // encoded size of the records the state still needs
	Copied    int64 // records copied forward by compaction since Open
}

func kindName(k kind) string {
	switch k {
	case kindEntityPut:
		return "entity put"
	case kindEntityDelete:
		return "entity delete"
	case kindEnqueue:
		return "enqueue"
	case kindUpdate:
		return "update"
	case kindRemove:
		return "remove"
	case kindSessionState:
		return "session state"
	case kindEntityState:
		return "entity state"
	case kindDedup:
		return "dedup"
	}
	return fmt.Sprintf("kind %d", k)
}
