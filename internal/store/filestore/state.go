package filestore

// The in-memory index: per entity, where on the log each live item's
// current record is, and how many live items each segment holds (its pins).
// Guarded by Store.mu; applied in log order, at runtime from the append
// callbacks and at start from the replay.

import (
	"container/heap"
	"fmt"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/wal"
)

// op is what applying one record changes in the index. It is built from a
// broker.Record at Submit (under the broker's lock, so that no pointer into
// the broker's message is kept) or from a decoded record at replay.
type op struct {
	kind      kind
	entity    string
	seq       int64          // enqueue, update, remove
	msgID     string         // enqueue (when dedup), dedup
	until     time.Time      // enqueue (zero: no dedup entry), dedup
	def       *broker.Entity // entity put, entity state (a copy)
	lastSeq   int64          // entity state
	sessionID string         // session state
	clear     bool           // session state: nil state
	size      int32          // encoded record size
	// at is the broker's clock when it made the record, where the record
	// tells (zero otherwise); duplicate-detection entries expire on it.
	at time.Time
}

// brokerTime returns the broker's clock reading a record carries, if any.
func brokerTime(r *broker.Record) time.Time {
	switch r.Kind {
	case broker.RecEnqueue:
		if r.Msg.State != broker.StateScheduled {
			return r.Msg.EnqueuedTime
		}
	case broker.RecEntityPut:
		return r.Def.UpdatedAt
	case broker.RecSessionState:
		return r.SessionTime
	}
	return time.Time{}
}

// msgLoc is where a live message is: the record holding its body (an
// enqueue) and, if it changed since, the record holding its latest broker
// fields (an update).
type msgLoc struct {
	enq, upd         wal.Pos
	enqSize, updSize int32
}

type itemLoc struct {
	pos  wal.Pos
	size int32
}

type dedupEntry struct {
	until time.Time
	pos   wal.Pos
}

// entityState is one entity's index.
type entityState struct {
	key     string
	def     broker.Entity
	hasDef  bool // false for an entity met at replay before its definition
	defLoc  itemLoc
	lastSeq int64
	seqPos  wal.Pos // the record that set lastSeq
	msgs    msgIndex
	// removed maps the sequence numbers of messages removed less than
	// Config.RemovedBodyGrace ago to their body records (see graveyard).
	removed  map[int64]wal.Pos
	sessions map[string]itemLoc
	dedup    map[string]dedupEntry

	// Filled by the replay for Load, then dropped.
	loadMsgs     *seqIndex[*broker.Message]
	loadSessions map[string]broker.SessionSnapshot
}

func newEntityState(key string) *entityState {
	return &entityState{
		key:      key,
		msgs:     newMsgIndex(),
		removed:  make(map[int64]wal.Pos),
		sessions: make(map[string]itemLoc),
		dedup:    make(map[string]dedupEntry),
	}
}

// segUse counts what pins a segment.
type segUse struct {
	pins  int
	bytes int64 // encoded size of the pinned records (approximate live data)
}

// graveEntry keeps a removed message's body readable for a while: the
// broker may read a body just after the message's removal is durable
// (ReceiveAndDelete, or a peek racing a completion).
type graveEntry struct {
	es  *entityState
	seq int64
	pos wal.Pos
	at  time.Time
}

type dedupItem struct {
	es    *entityState
	msgID string
	until time.Time
}

type dedupRef struct {
	es    *entityState
	msgID string
}

type dedupHeap []dedupItem

func (h dedupHeap) Len() int           { return len(h) }
func (h dedupHeap) Less(i, j int) bool { return h[i].until.Before(h[j].until) }
func (h dedupHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *dedupHeap) Push(x any)        { *h = append(*h, x.(dedupItem)) }
func (h *dedupHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	old[len(old)-1] = dedupItem{}
	*h = old[:len(old)-1]
	return x
}

// index is the whole store's index.
type index struct {
	entities map[string]*entityState
	segs     map[wal.SegmentID]*segUse
	live     int64 // sum of segs[*].bytes
	grave    []graveEntry
	graveAt  int // grave[graveAt:] is the queue
	dedupQ   dedupHeap
	// dedupBySeg lists, per segment, the duplicate-detection entries set by
	// its records (some may have moved or expired since), so that
	// compaction does not scan every entry of every entity.
	dedupBySeg map[wal.SegmentID][]dedupRef
	replay     bool // building the index at start: keep Load's data too
	// now is the latest broker clock reading seen in a record. The store
	// does not share the broker's clock, so duplicate-detection entries
	// expire on the broker's time as the records show it.
	now time.Time
	// lowZero is set when a segment's pins fell to zero: GC may have
	// work.
	lowZero bool
}

func newIndex() *index {
	return &index{
		entities:   make(map[string]*entityState),
		segs:       make(map[wal.SegmentID]*segUse),
		dedupBySeg: make(map[wal.SegmentID][]dedupRef),
	}
}

func (x *index) pin(p wal.Pos, size int32) {
	if p.Segment == 0 {
		return
	}
	u := x.segs[p.Segment]
	if u == nil {
		u = &segUse{}
		x.segs[p.Segment] = u
	}
	u.pins++
	u.bytes += int64(size)
	x.live += int64(size)
}

func (x *index) unpin(p wal.Pos, size int32) {
	if p.Segment == 0 {
		return
	}
	u := x.segs[p.Segment]
	if u == nil {
		return
	}
	u.pins--
	u.bytes -= int64(size)
	x.live -= int64(size)
	if u.pins <= 0 {
		delete(x.segs, p.Segment)
		delete(x.dedupBySeg, p.Segment) // no entry pins it any more
		x.lowZero = true
	}
}

// pins returns how many items pin segment id.
func (x *index) pins(id wal.SegmentID) int {
	if u := x.segs[id]; u != nil {
		return u.pins
	}
	return 0
}

// dedupSize is the live-data weight of a duplicate-detection entry.
func dedupSize(msgID string) int32 { return int32(len(msgID)) + 32 }

// apply applies one record at pos. now stamps graveyard entries.
func (x *index) apply(o *op, pos wal.Pos, now time.Time) {
	if o.at.After(x.now) {
		x.now = o.at
	}
	es := x.entities[o.entity]
	switch o.kind {
	case kindEntityPut, kindEntityState:
		if es == nil {
			es = newEntityState(o.entity)
			x.entities[o.entity] = es
		}
		x.unpin(es.defLoc.pos, es.defLoc.size)
		es.def, es.hasDef = *o.def, true
		es.defLoc = itemLoc{pos, o.size}
		x.pin(pos, o.size)
		if o.kind == kindEntityState && o.lastSeq >= es.lastSeq {
			x.setLastSeq(es, o.lastSeq, pos)
		}
		return
	case kindEntityDelete:
		if es != nil {
			x.dropEntity(es)
		}
		return
	}
	if es == nil {
		if !x.replay {
			return // a record for an entity that does not exist: ignored
		}
		// At replay the entity's definition may sit in a later record
		// (compaction copied it forward); entities still without one at
		// the end are dropped.
		es = newEntityState(o.entity)
		x.entities[o.entity] = es
	}
	switch o.kind {
	case kindEnqueue:
		if old, ok := es.msgs.get(o.seq); ok { // a compaction copy replaces
			x.unpin(old.enq, old.enqSize)
			x.unpin(old.upd, old.updSize)
		}
		es.msgs.set(o.seq, msgLoc{enq: pos, enqSize: o.size})
		x.pin(pos, o.size)
		if o.seq >= es.lastSeq {
			x.setLastSeq(es, o.seq, pos)
		}
		if !o.until.IsZero() {
			x.setDedup(es, o.msgID, o.until, pos)
		}
	case kindUpdate:
		m, ok := es.msgs.get(o.seq)
		if !ok {
			return
		}
		x.unpin(m.upd, m.updSize)
		m.upd, m.updSize = pos, o.size
		x.pin(pos, o.size)
		es.msgs.set(o.seq, m)
	case kindRemove:
		m, ok := es.msgs.get(o.seq)
		if !ok {
			return
		}
		es.msgs.del(o.seq)
		x.unpin(m.upd, m.updSize)
		if x.replay {
			x.unpin(m.enq, m.enqSize)
			return
		}
		// The body record stays pinned (with no weight) for the grace.
		x.unpin(m.enq, m.enqSize)
		x.pin(m.enq, 0)
		es.removed[o.seq] = m.enq
		x.grave = append(x.grave, graveEntry{es: es, seq: o.seq, pos: m.enq, at: now})
	case kindSessionState:
		old, ok := es.sessions[o.sessionID]
		if ok {
			x.unpin(old.pos, old.size)
		}
		if o.clear {
			delete(es.sessions, o.sessionID)
			return
		}
		es.sessions[o.sessionID] = itemLoc{pos, o.size}
		x.pin(pos, o.size)
	case kindDedup:
		x.setDedup(es, o.msgID, o.until, pos)
	}
}

func (x *index) setLastSeq(es *entityState, seq int64, pos wal.Pos) {
	x.unpin(es.seqPos, 0)
	es.lastSeq, es.seqPos = seq, pos
	x.pin(pos, 0)
}

func (x *index) setDedup(es *entityState, msgID string, until time.Time, pos wal.Pos) {
	if old, ok := es.dedup[msgID]; ok {
		x.unpin(old.pos, dedupSize(msgID))
	}
	es.dedup[msgID] = dedupEntry{until: until, pos: pos}
	x.pin(pos, dedupSize(msgID))
	x.dedupBySeg[pos.Segment] = append(x.dedupBySeg[pos.Segment], dedupRef{es, msgID})
	heap.Push(&x.dedupQ, dedupItem{es: es, msgID: msgID, until: until})
}

// dropEntity forgets an entity and releases everything it pinned. Its
// graveyard entries release themselves when their grace ends.
func (x *index) dropEntity(es *entityState) {
	if x.entities[es.key] == es {
		delete(x.entities, es.key)
	}
	x.unpin(es.defLoc.pos, es.defLoc.size)
	x.unpin(es.seqPos, 0)
	es.msgs.each(func(_ int64, m msgLoc) bool {
		x.unpin(m.enq, m.enqSize)
		x.unpin(m.upd, m.updSize)
		return true
	})
	for _, s := range es.sessions {
		x.unpin(s.pos, s.size)
	}
	for id, d := range es.dedup {
		x.unpin(d.pos, dedupSize(id))
	}
	es.msgs, es.sessions, es.dedup = newMsgIndex(), map[string]itemLoc{}, map[string]dedupEntry{}
	es.loadMsgs, es.loadSessions = nil, nil
}

// expireDedup releases the duplicate-detection entries whose window has
// passed by the broker's time (x.now).
func (x *index) expireDedup() {
	for len(x.dedupQ) > 0 && !x.now.Before(x.dedupQ[0].until) {
		it := heap.Pop(&x.dedupQ).(dedupItem)
		if d, ok := it.es.dedup[it.msgID]; ok && d.until.Equal(it.until) {
			delete(it.es.dedup, it.msgID)
			x.unpin(d.pos, dedupSize(it.msgID))
		}
	}
}

// expireGrave releases graveyard entries older than grace. It returns when
// the next one is due (zero: none).
func (x *index) expireGrave(now time.Time, grace time.Duration) time.Time {
	for x.graveAt < len(x.grave) {
		g := &x.grave[x.graveAt]
		if now.Sub(g.at) < grace {
			break
		}
		x.unpin(g.pos, 0)
		if p, ok := g.es.removed[g.seq]; ok && p == g.pos {
			delete(g.es.removed, g.seq)
		}
		*g = graveEntry{}
		x.graveAt++
	}
	if x.graveAt == len(x.grave) {
		x.grave, x.graveAt = x.grave[:0], 0
	} else if x.graveAt > 1024 && x.graveAt > len(x.grave)/2 {
		n := copy(x.grave, x.grave[x.graveAt:])
		clear(x.grave[n:])
		x.grave, x.graveAt = x.grave[:n], 0
	}
	if x.graveAt < len(x.grave) {
		return x.grave[x.graveAt].at.Add(grace)
	}
	return time.Time{}
}

// verify recomputes the segment pins from the index and compares them with
// the counts kept incrementally. Tests call it; a mismatch would keep
// segments forever or remove live ones.
func (x *index) verify() error {
	want := make(map[wal.SegmentID]segUse)
	add := func(p wal.Pos, size int32) {
		if p.Segment == 0 {
			return
		}
		u := want[p.Segment]
		u.pins++
		u.bytes += int64(size)
		want[p.Segment] = u
	}
	var live int64
	for key, es := range x.entities {
		if es.key != key {
			return fmt.Errorf("entity %q filed under %q", es.key, key)
		}
		add(es.defLoc.pos, es.defLoc.size)
		add(es.seqPos, 0)
		es.msgs.each(func(seq int64, m msgLoc) bool {
			add(m.enq, m.enqSize)
			add(m.upd, m.updSize)
			return true
		})
		for _, s := range es.sessions {
			add(s.pos, s.size)
		}
		for id, d := range es.dedup {
			add(d.pos, dedupSize(id))
		}
	}
	for _, g := range x.grave[x.graveAt:] {
		add(g.pos, 0)
	}
	for id, u := range want {
		live += u.bytes
		if got := x.segs[id]; got == nil || *got != u {
			return fmt.Errorf("segment %s: pins %+v, recomputed %+v", id, got, u)
		}
	}
	for id, u := range x.segs {
		if _, ok := want[id]; !ok {
			return fmt.Errorf("segment %s: pins %+v, recomputed none", id, *u)
		}
	}
	if live != x.live {
		return fmt.Errorf("live bytes %d, recomputed %d", x.live, live)
	}
	return nil
}
