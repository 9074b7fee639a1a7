package filestore

// Background maintenance: one goroutine, owned by the Store, that
//
//   - releases graveyard entries and expired duplicate-detection entries
//     (on the injected clock),
//   - removes the prefix of segments nothing pins any more (GC), and
//   - compacts: while the log is much larger than the live data, copies the
//     live items of the oldest segment forward as fresh self-contained
//     records, so that the segment stops being pinned and GC removes it.
//
// Ordering. A copy must be logged after every record that was logged before
// it and changed the item, and before every record logged after it; else a
// replay would resurrect a removed message or undo a settlement. Compaction
// therefore pauses the store: new Submits are held in memory (Submit never
// waits), the groups already handed to the log are waited for (their
// callbacks have then updated the index), the items are checked against the
// index (a copy whose source records are no longer current is dropped), the
// copies are appended, and then the held groups, in order, behind them. The
// records are read from disk before the pause, so the pause lasts about one
// group commit.

import (
	"cmp"
	"errors"
	"sync"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/wal"
)

func (s *Store) kickMaintenance() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// maintain is the maintenance goroutine.
func (s *Store) maintain() {
	defer s.wg.Done()
	timer := s.clk.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-s.kick:
		case <-timer.C():
		}
		next := s.maintainOnce()
		d := time.Hour
		if !next.IsZero() {
			d = max(next.Sub(s.clk.Now()), time.Millisecond)
		}
		timer.Stop()
		timer.Reset(d)
	}
}

// maintainOnce does one round of expiry, GC and compaction and returns when
// the next expiry is due.
func (s *Store) maintainOnce() time.Time {
	s.maintMu.Lock()
	defer s.maintMu.Unlock()
	s.mu.Lock()
	next := s.idx.expireGrave(s.clk.Now(), s.cfg.RemovedBodyGrace)
	s.mu.Unlock()
	if err := s.collect(); err != nil {
		s.cfg.Logger.Warn("filestore: removing settled segments failed", "err", err)
	}
	for range 64 {
		select {
		case <-s.stop:
			return next
		default:
		}
		target, ok := s.compactTarget()
		if !ok {
			break
		}
		progress, err := s.compact(target)
		if err != nil {
			s.cfg.Logger.Warn("filestore: compaction failed", "segment", target, "err", err)
			break
		}
		if err := s.collect(); err != nil {
			s.cfg.Logger.Warn("filestore: removing settled segments failed", "err", err)
			break
		}
		if !progress {
			break
		}
	}
	return next
}

// collect removes the segments before the oldest one that is pinned.
func (s *Store) collect() error {
	segs := s.log.Segments()
	if len(segs) < 2 {
		return nil
	}
	s.mu.Lock()
	keep := segs[len(segs)-1]
	for _, id := range segs[:len(segs)-1] {
		if s.idx.pins(id) > 0 {
			keep = id
			break
		}
	}
	s.mu.Unlock()
	if keep == segs[0] {
		return nil
	}
	// The records that unpinned these segments (completions, compaction
	// copies) must be durable before the segments go, whatever the mode.
	if s.cfg.Sync != wal.SyncAlways {
		if err := s.log.Sync(); err != nil {
			return err
		}
	}
	_, err := s.log.RemoveSegmentsBefore(keep)
	return err
}

// compactTarget returns the oldest segment if the log is large enough,
// against the live data, to be worth compacting.
func (s *Store) compactTarget() (wal.SegmentID, bool) {
	segs := s.log.Segments()
	if len(segs) < 4 {
		return 0, false
	}
	s.mu.Lock()
	live := s.idx.live
	s.mu.Unlock()
	logBytes := float64(len(segs)-2) * float64(s.cfg.SegmentSize)
	if logBytes <= s.cfg.CompactRatio*float64(live) {
		return 0, false
	}
	return segs[0], true
}

// copyItem is one live item of the segment being compacted.
type copyItem struct {
	kind kind // kindEnqueue (a message), kindEntityState, kindSessionState, kindDedup
	es   *entityState
	seq  int64
	loc  msgLoc  // message: the records read
	sess string  // session id
	pos  wal.Pos // session: the record read
	rec  []byte  // message or session: the encoded copy
	size int64   // bytes to read and copy (approximate)
}

// compact copies target's live items forward, Config.compactChunk bytes
// per pause. It reports whether anything was copied.
func (s *Store) compact(target wal.SegmentID) (bool, error) {
	items := s.pickItems(target)
	progress := false
	for len(items) > 0 {
		n, bytes := 0, int64(0)
		for n < len(items) && (n == 0 || bytes < s.cfg.compactChunk) {
			bytes += items[n].size
			n++
		}
		select {
		case <-s.stop:
			return progress, nil
		default:
		}
		copied, err := s.compactItems(target, items[:n])
		if err != nil {
			return progress, err
		}
		progress = progress || copied
		items = items[n:]
	}
	return progress, nil
}

// compactItems copies items forward in one pause. It reports whether
// anything was copied.
func (s *Store) compactItems(target wal.SegmentID, items []copyItem) (bool, error) {
	// Read and re-encode messages and sessions without holding anything.
	for i := range items {
		it := &items[i]
		var err error
		switch it.kind {
		case kindEnqueue:
			it.rec, err = s.messageCopy(it)
		case kindSessionState:
			it.rec, err = s.sessionCopy(it)
		}
		if errors.Is(err, wal.ErrNotFound) {
			it.kind = 0 // gone meanwhile
			continue
		}
		if err != nil {
			return false, err
		}
	}

	// Pause, drain, check and build the groups.
	s.mu.Lock()
	s.paused = true
	for s.inflight > 0 {
		s.drained.Wait()
	}
	var groups []*group
	cur := &group{}
	size := 0
	add := func(rec []byte, o op) {
		if size+len(rec) > maxCopyGroupBytes && len(cur.recs) > 0 {
			groups = append(groups, cur)
			cur, size = &group{}, 0
		}
		o.size = int32(len(rec))
		cur.recs = append(cur.recs, rec)
		cur.ops = append(cur.ops, o)
		size += len(rec)
	}
	seenEntity := make(map[*entityState]bool)
	for i := range items {
		it := &items[i]
		es := it.es
		if s.idx.entities[es.key] != es {
			continue // deleted meanwhile
		}
		switch it.kind {
		case kindEnqueue:
			m, ok := es.msgs.get(it.seq)
			if !ok || m != it.loc {
				continue
			}
			o := op{kind: kindEnqueue, entity: es.key, seq: it.seq}
			add(it.rec, o)
		case kindSessionState:
			if l, ok := es.sessions[it.sess]; !ok || l.pos != it.pos {
				continue
			}
			add(it.rec, op{kind: kindSessionState, entity: es.key, sessionID: it.sess})
		case kindEntityState:
			if seenEntity[es] || !es.hasDef {
				continue
			}
			seenEntity[es] = true
			def := es.def
			add(appendEntityState(nil, es.key, &def, es.lastSeq), op{kind: kindEntityState, entity: es.key, def: &def, lastSeq: es.lastSeq})
		case kindDedup:
			d, ok := es.dedup[it.sess]
			if !ok || d.pos.Segment != target {
				continue
			}
			add(appendDedup(nil, es.key, it.sess, d.until), op{kind: kindDedup, entity: es.key, msgID: it.sess, until: d.until})
		}
	}
	if len(cur.recs) > 0 {
		groups = append(groups, cur)
	}
	s.inflight += len(groups)
	for _, g := range groups {
		s.copied += int64(len(g.recs))
	}
	s.mu.Unlock()

	// Wait for the copies to be applied, so that collect sees the segment
	// unpinned.
	var wg sync.WaitGroup
	var errMu sync.Mutex
	var firstErr error
	wg.Add(len(groups))
	for _, g := range groups {
		g.done = func(err error) {
			if err != nil {
				errMu.Lock()
				firstErr = cmp.Or(firstErr, err)
				errMu.Unlock()
			}
			wg.Done()
		}
		s.append(g)
	}
	s.resume()
	wg.Wait()
	return len(groups) > 0, firstErr
}

// resume appends the groups held during a pause, in order, and ends it.
func (s *Store) resume() {
	for {
		s.mu.Lock()
		if len(s.held) == 0 {
			s.paused = false
			s.mu.Unlock()
			return
		}
		batch := s.held
		s.held = nil
		s.inflight += len(batch)
		s.mu.Unlock()
		for _, g := range batch {
			s.append(g)
		}
	}
}

// pickItems lists the live items pinning target. Messages are scanned a
// batch of pages at a time, releasing s.mu in between, so that a large
// index does not stall the appends' callbacks; items found stale later are
// dropped when the copies are checked.
func (s *Store) pickItems(target wal.SegmentID) []copyItem {
	var items []copyItem
	s.mu.Lock()
	ents := make([]*entityState, 0, len(s.idx.entities))
	for _, es := range s.idx.entities {
		ents = append(ents, es)
		if es.defLoc.pos.Segment == target || es.seqPos.Segment == target {
			items = append(items, copyItem{kind: kindEntityState, es: es, size: int64(es.defLoc.size)})
		}
		for id, l := range es.sessions {
			if l.pos.Segment == target {
				items = append(items, copyItem{kind: kindSessionState, es: es, sess: id, pos: l.pos, size: int64(l.size)})
			}
		}
	}
	for _, ref := range s.idx.dedupBySeg[target] {
		if d, ok := ref.es.dedup[ref.msgID]; ok && d.pos.Segment == target {
			items = append(items, copyItem{kind: kindDedup, es: ref.es, sess: ref.msgID, size: int64(dedupSize(ref.msgID))})
		}
	}
	s.mu.Unlock()

	const pagesPerLock = 256
	for _, es := range ents {
		s.mu.Lock()
		bases := es.msgs.bases()
		s.mu.Unlock()
		for len(bases) > 0 {
			n := min(len(bases), pagesPerLock)
			s.mu.Lock()
			es.msgs.eachIn(bases[:n], func(seq int64, m msgLoc) {
				if m.enq.Segment == target || m.upd.Segment == target {
					items = append(items, copyItem{kind: kindEnqueue, es: es, seq: seq, loc: m, size: int64(m.enqSize)})
				}
			})
			s.mu.Unlock()
			bases = bases[n:]
		}
	}
	return items
}

// readMessage reads a message's records: its enqueue, with its latest
// update applied. body is a slice of the enqueue record.
func (s *Store) readMessage(loc msgLoc) (m *broker.Message, body []byte, err error) {
	b, err := s.log.ReadAt(loc.enq)
	if err != nil {
		return nil, nil, err
	}
	r, err := decodeRecord(b)
	if err != nil {
		return nil, nil, &RecordError{Pos: loc.enq, Err: err}
	}
	if r.kind != kindEnqueue {
		return nil, nil, &RecordError{Pos: loc.enq, Err: errors.New("not an enqueue")}
	}
	m = r.Msg
	if !r.bodyNil {
		body = r.body
	}
	if loc.upd.Segment != 0 {
		ub, err := s.log.ReadAt(loc.upd)
		if err != nil {
			return nil, nil, err
		}
		u, err := decodeRecord(ub)
		if err != nil || u.kind != kindUpdate {
			return nil, nil, &RecordError{Pos: loc.upd, Err: errors.Join(err, errors.New("not an update"))}
		}
		u.Update.Apply(m)
	}
	return m, body, nil
}

// messageCopy encodes a message's current state as one enqueue record. Its
// duplicate-detection entry, if any, is copied on its own (kindDedup).
func (s *Store) messageCopy(it *copyItem) ([]byte, error) {
	m, body, err := s.readMessage(it.loc)
	if err != nil {
		return nil, err
	}
	m.Body = body
	return appendEnqueue(nil, it.es.key, m, time.Time{})
}

// sessionCopy reads a session's latest state record (it is self-contained
// and is copied as it is).
func (s *Store) sessionCopy(it *copyItem) ([]byte, error) {
	b, err := s.log.ReadAt(it.pos)
	if err != nil {
		return nil, err
	}
	r, err := decodeRecord(b)
	if err != nil || r.kind != kindSessionState {
		return nil, &RecordError{Pos: it.pos, Err: errors.Join(err, errors.New("not a session state"))}
	}
	return b, nil
}
