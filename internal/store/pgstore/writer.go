package pgstore

// The writer: Submit encodes a group at once (on the caller's goroutine,
// so encoding spreads over the broker's goroutines) and queues it; one
// writer goroutine takes every queued group, folds them, in submission
// order, into the net change they make, writes that as one pipelined
// pgx.Batch — a single round trip and a single implicit transaction — and
// calls each group's done after the commit, in order. While a transaction
// is in flight new groups queue up and go into the next one: group commit,
// so that concurrent senders share commits.

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/batonmq/baton/internal/broker"
)

// group is one submitted group of records, encoded.
type group struct {
	recs  []rec
	done  func(error)
	bytes int
}

// rec is one encoded record. Messages, updates and definitions are copied
// at Submit, so the broker may change its own after done.
type rec struct {
	kind   broker.RecordKind
	entity string

	def *defRow // RecEntityPut

	seq int64   // RecEnqueue, RecUpdate, RecRemove
	msg *msgRow // RecEnqueue (whole row), RecUpdate (state fields and upd)

	dedupID    string // RecEnqueue with DedupUntil
	dedupUntil int64

	sessionID string // RecSessionState
	state     []byte // nil clears
	stateAt   int64

	// at is the broker's time the record shows (Unix ns, 0: none): an
	// enqueue's time unless scheduled, a definition's update time, a
	// session state's time. Duplicate-detection pruning goes by it, so it
	// may lag the broker's clock but never lead it.
	at int64
}

type defRow struct {
	name string
	kind int16
	blob []byte
}

// msgRow is a message row; an update fills only the state fields and upd.
type msgRow struct {
	state         int32
	deadLettered  bool
	deliveryCount int32
	hdr, upd      []byte
	body          []byte
}

// unixNano is t in Unix nanoseconds, 0 for the zero time.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// textOK reports whether s can be a PostgreSQL text value.
func textOK(s string) bool {
	return utf8.ValidString(s) && !containsNUL(s)
}

func containsNUL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return true
		}
	}
	return false
}

// Submit encodes recs and queues them for the writer. A group that cannot
// be stored (a property of a type the codec does not know, an entity key
// that is not valid text) fails at once and alone.
func (s *Store) Submit(recs []broker.Record, done func(error)) {
	g, err := s.prepare(recs)
	if err != nil {
		done(fmt.Errorf("pgstore: %w", err))
		return
	}
	g.done = done
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		done(ErrClosed)
		return
	}
	s.queue = append(s.queue, g)
	s.queued += g.bytes
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Store) prepare(recs []broker.Record) (*group, error) {
	if len(recs) == 0 {
		return nil, errors.New("empty group")
	}
	g := &group{recs: make([]rec, len(recs))}
	for i := range recs {
		r := &recs[i]
		o := &g.recs[i]
		o.kind, o.entity = r.Kind, r.Entity
		if !textOK(r.Entity) {
			return nil, fmt.Errorf("record %d: entity key %q is not valid text", i, r.Entity)
		}
		switch r.Kind {
		case broker.RecEntityPut:
			if r.Def == nil {
				return nil, fmt.Errorf("record %d: entity put without a definition", i)
			}
			if !textOK(r.Def.Name) {
				return nil, fmt.Errorf("record %d: entity name %q is not valid text", i, r.Def.Name)
			}
			blob, err := appendDef(nil, r.Def)
			if err != nil {
				return nil, fmt.Errorf("record %d: definition of %q: %w", i, r.Entity, err)
			}
			o.def = &defRow{name: r.Def.Name, kind: int16(r.Def.Kind), blob: blob}
			o.at = unixNano(r.Def.UpdatedAt)
			g.bytes += len(blob)
		case broker.RecEntityDelete:
		case broker.RecEnqueue:
			m := r.Msg
			if m == nil {
				return nil, fmt.Errorf("record %d: enqueue without a message", i)
			}
			u := updateOf(m)
			upd, err := appendUpdate(nil, &u)
			if err != nil {
				return nil, fmt.Errorf("record %d: message %d of %q: %w", i, m.SequenceNumber, r.Entity, err)
			}
			o.seq = m.SequenceNumber
			o.msg = &msgRow{state: int32(m.State), deadLettered: m.DeadLettered, deliveryCount: m.DeliveryCount,
				hdr: appendHeader(nil, m), upd: upd, body: m.Body}
			if !r.DedupUntil.IsZero() {
				o.dedupID, o.dedupUntil = m.MessageID, unixNano(r.DedupUntil)
			}
			if m.State != broker.StateScheduled {
				o.at = unixNano(m.EnqueuedTime)
			}
			g.bytes += len(o.msg.hdr) + len(upd) + len(m.Body)
			if !s.cfg.KeepBodies && m.Body != nil && m.SequenceNumber > 0 {
				m.BodyRef = uint64(m.SequenceNumber) // ReadBody(entity, seq)
			}
		case broker.RecUpdate:
			u := r.Update
			if u == nil {
				return nil, fmt.Errorf("record %d: update without a message update", i)
			}
			upd, err := appendUpdate(nil, u)
			if err != nil {
				return nil, fmt.Errorf("record %d: update of message %d of %q: %w", i, u.Seq, r.Entity, err)
			}
			o.seq = u.Seq
			o.msg = &msgRow{state: int32(u.State), deadLettered: u.DeadLettered, deliveryCount: u.DeliveryCount, upd: upd}
			g.bytes += len(upd)
		case broker.RecRemove:
			o.seq = r.Seq
		case broker.RecSessionState:
			o.sessionID, o.state, o.stateAt = r.SessionID, r.SessionState, unixNano(r.SessionTime)
			o.at = o.stateAt
			g.bytes += len(r.SessionState)
		default:
			return nil, fmt.Errorf("record %d: unknown record kind %d", i, r.Kind)
		}
	}
	return g, nil
}

// writer runs until Close, writing queued groups batch by batch.
func (s *Store) writer() {
	defer close(s.stopped)
	for {
		if s.unsure != nil && !s.settle() {
			// The outcome of the last transaction is not known yet (the
			// database went away during its commit): its groups wait for
			// it, new ones fail at once, and it is asked again on the next
			// submission or a second later.
			if s.failQueued() {
				s.abandonUnsure()
				return
			}
			t := s.clk.NewTimer(time.Second)
			select {
			case <-s.wake:
			case <-t.C():
			}
			t.Stop()
			continue
		}
		batch, recs, bytes, closed := s.take()
		if batch == nil {
			if closed {
				return
			}
			<-s.wake
			continue
		}
		p := s.fold(batch)
		purge := s.duePurges(p)
		prune := p.now > 0 && p.now >= s.pruneAt
		ref, err, unknown := s.write(p, purge, prune)
		switch {
		case err == nil:
			s.committed(p, purge, prune)
		case unknown:
			s.log.Warn("pgstore: the database went away while committing; waiting to learn the outcome", "groups", len(batch), "err", err)
			s.stats.inDoubt.Add(1)
			s.unsure = &unsureTx{ref: ref, err: err, p: p, purge: purge, prune: prune, groups: batch, recs: recs, bytes: bytes}
			continue
		}
		s.finish(batch, recs, bytes, err)
	}
}

// take removes queued groups up to the batch bounds (at least one).
func (s *Store) take() (batch []*group, recs, bytes int, closed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 {
		return nil, 0, 0, s.closed
	}
	n := 0
	for n < len(s.queue) {
		g := s.queue[n]
		if n > 0 && (recs+len(g.recs) > s.cfg.MaxBatchRecords || bytes+g.bytes > s.cfg.MaxBatchBytes) {
			break
		}
		n++
		recs += len(g.recs)
		bytes += g.bytes
	}
	batch = make([]*group, n)
	copy(batch, s.queue)
	rest := copy(s.queue, s.queue[n:])
	clear(s.queue[rest:])
	s.queue = s.queue[:rest]
	s.queued -= bytes
	return batch, recs, bytes, false
}

// finish reports a batch's outcome to its groups, in order.
func (s *Store) finish(batch []*group, recs, bytes int, err error) {
	if err != nil {
		s.stats.failures.Add(1)
		s.log.Warn("pgstore: write failed", "groups", len(batch), "records", recs, "err", err)
		err = fmt.Errorf("pgstore: writing %d records: %w", recs, err)
	} else {
		s.stats.batches.Add(1)
		s.stats.groups.Add(uint64(len(batch)))
		s.stats.records.Add(uint64(recs))
		s.stats.bytes.Add(uint64(bytes))
	}
	for _, g := range batch {
		g.done(err)
	}
}

// unsureTx is a transaction whose commit was sent but whose outcome was
// lost with the connection.
type unsureTx struct {
	ref         txRef
	err         error
	p           *plan
	purge       []pendingRemoval
	prune       bool
	groups      []*group
	recs, bytes int
}

// settle asks the database how the unsure transaction ended and, when it
// can tell, completes its groups accordingly.
func (s *Store) settle() bool {
	u := s.unsure
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ConnectTimeout)
	defer cancel()
	committed, err := s.resolve(ctx, u.ref)
	if err != nil {
		s.log.Warn("pgstore: cannot learn the outcome of the transaction in doubt yet", "groups", len(u.groups), "err", err)
		return false
	}
	s.unsure = nil
	if committed {
		s.log.Info("pgstore: the transaction in doubt had committed", "groups", len(u.groups))
		s.committed(u.p, u.purge, u.prune)
		s.finish(u.groups, u.recs, u.bytes, nil)
	} else {
		s.log.Info("pgstore: the transaction in doubt had not committed", "groups", len(u.groups))
		s.finish(u.groups, u.recs, u.bytes, u.err)
	}
	return true
}

// errInDoubt fails groups submitted while an earlier write's outcome is
// unknown.
var errInDoubt = errors.New("pgstore: the database is unreachable (the outcome of an earlier commit is not known yet)")

// failQueued fails every queued group with errInDoubt; it reports whether
// the store is closed.
func (s *Store) failQueued() (closed bool) {
	s.mu.Lock()
	q := s.queue
	s.queue, s.queued = nil, 0
	closed = s.closed
	s.mu.Unlock()
	for _, g := range q {
		s.stats.failures.Add(1)
		g.done(errInDoubt)
	}
	return closed
}

// abandonUnsure, at Close, fails the groups of a transaction whose outcome
// could not be learnt: they may have committed (the next start finds
// them), so a client that retries may store a message twice — never lose
// one.
func (s *Store) abandonUnsure() {
	u := s.unsure
	s.unsure = nil
	s.finish(u.groups, u.recs, u.bytes, fmt.Errorf("pgstore: closed with the outcome of a commit unknown: %w", u.err))
}
