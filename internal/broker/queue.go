package broker

import (
	"maps"
	"sort"
	"sync"
	"time"
)

// entryState is where a message is in the broker's in-memory index.
type entryState uint8

const (
	stPending   entryState = iota // submitted to the store, not yet durable: invisible
	stAvailable                   // may be received
	stLocked                      // locked by msg.LockToken until msg.LockedUntil
	stDeferred                    // only receivable by sequence number
	stScheduled                   // becomes available at msg.ScheduledEnqueueTime
	stSettling                    // a settlement is being made durable
	stRemoved                     // gone
)

// entry is one message in an entity's index.
type entry struct {
	// shared is the topic body this copy refers to (msg.SharedBody).
	shared *sharedBody
	msg    *Message // broker fields kept current; Body may be nil (then read by BodyRef)
	st     entryState
	heap   *seqHeap // the heap holding the entry while it is available
	hidx   int      // index in heap
	// prevSt is the state to return to when a settlement fails.
	prevSt entryState
	// committed: the Enqueue record is durable (used while st == stPending).
	committed bool
	// hot: the store keeps the body (BodyRef) and so does msg.Body, counted
	// in the broker's hot-body budget (hotbody.go).
	hot bool
}

// seqHeap is an indexed min-heap of available entries by sequence number
// (an entry's sequence number never changes while it is in a heap).
type seqHeap struct{ h minHeap[*entry] }

func (e *entry) setIndex(i int) { e.hidx = i }

func (h *seqHeap) Len() int { return len(h.h) }

func (h *seqHeap) add(e *entry) {
	if e.heap != nil {
		e.heap.del(e)
	}
	e.heap = h
	h.h.push(e.msg.SequenceNumber, e)
}

func (h *seqHeap) del(e *entry) {
	h.h.remove(e.hidx)
	e.heap = nil
}

// peekMin returns the lowest entry without removing it, or nil.
func (h *seqHeap) peekMin() *entry {
	if len(h.h) == 0 {
		return nil
	}
	return h.h[0].v
}

// subqueue is the main queue or the dead-letter sub-queue of an entity.
type subqueue struct {
	order   []*entry // by sequence number; removed entries stay until compaction
	removed int
	index   map[int64]*entry
	avail   seqHeap // available entries (non-session delivery order)
}

func newSubqueue() *subqueue { return &subqueue{index: make(map[int64]*entry)} }

// insert adds e in sequence order (appending in the common case).
func (q *subqueue) insert(e *entry) {
	seq := e.msg.SequenceNumber
	q.index[seq] = e
	n := len(q.order)
	if n == 0 || q.order[n-1].msg.SequenceNumber < seq {
		q.order = append(q.order, e)
		return
	}
	i := sort.Search(n, func(i int) bool { return q.order[i].msg.SequenceNumber >= seq })
	q.order = append(q.order, nil)
	copy(q.order[i+1:], q.order[i:])
	q.order[i] = e
}

// live reports whether x is still in this sub-queue.
func (q *subqueue) live(x *entry) bool { return q.index[x.msg.SequenceNumber] == x }

// remove drops e from the index; the order slice is compacted lazily.
func (q *subqueue) remove(e *entry) {
	delete(q.index, e.msg.SequenceNumber)
	q.removed++
	if q.removed > 64 && q.removed > len(q.order)/2 {
		keep := q.order[:0]
		for _, x := range q.order {
			if q.live(x) {
				keep = append(keep, x)
			}
		}
		for i := len(keep); i < len(q.order); i++ {
			q.order[i] = nil
		}
		q.order = keep
		q.removed = 0
	}
}

// from returns the position of the first entry with sequence number ≥ seq.
func (q *subqueue) from(seq int64) int {
	return sort.Search(len(q.order), func(i int) bool { return q.order[i].msg.SequenceNumber >= seq })
}

// session is one session of a session-enabled entity.
type session struct {
	id           string
	avail        seqHeap
	live         int // messages of the session in the main queue (any state)
	locked       bool
	lockToken    LockToken
	lockedUntil  time.Time
	state        []byte
	stateUpdated time.Time
	inReady      bool
	held         []*entry // entries locked through this session's lock (may hold settled ones)
}

// hold records en as locked through the session's lock.
func (s *session) hold(en *entry) {
	if len(s.held) >= 64 {
		keep := s.held[:0]
		for _, x := range s.held {
			if x.st == stLocked || x.st == stSettling {
				keep = append(keep, x)
			}
		}
		clear(s.held[len(keep):])
		s.held = keep
	}
	s.held = append(s.held, en)
}

func (s *session) lockValid(now time.Time) bool { return s.locked && now.Before(s.lockedUntil) }

// waiter is a receiver waiting for messages or a session.
type waiter struct {
	ch      chan struct{} // buffered 1; a value means "look again"
	dlq     bool
	session bool // waits on a session entity (woken by broadcast)
}

// entity is the in-memory state of one entity.
type entity struct {
	b   *Broker
	key string

	mu           sync.Mutex
	def          Entity
	lastSeq      int64
	main, dlq    *subqueue
	byToken      map[LockToken]*entry
	sessions     map[string]*session
	ready        []*session           // sessions that may be accepted (lazily validated)
	dedup        map[string]time.Time // message id → remembered until
	dedupArmed   bool                 // a dedup prune event is in the timer heap
	waiters      []*waiter
	pending      []*entry // enqueued, not yet published, by sequence number
	pendingBytes int64    // bodies of pending entries
	hotBytes     int64    // bodies kept in memory, see hotbody.go
	counts       Counts
	lastActivity time.Time
	creating     bool
	deleted      bool
	// sessionLost remembers (bounded, oldest first out) lock tokens of
	// messages unlocked because their session lock ended.
	sessionLost      map[LockToken]struct{}
	sessionLostOrder []LockToken
	// sq is a storage queue's index (storagequeue_index.go); nil for
	// every other kind.
	sq *sqState
	// tp is a topic's state (topic.go); nil for every other kind.
	tp *topicState
	// topic is a subscription's topic; nil for every other kind. Fixed at
	// creation.
	topic *entity
	// rules are a subscription's compiled rules, guarded by topic.mu.
	rules []*compiledRule
}

func newEntity(b *Broker, def Entity) *entity {
	e := &entity{
		b:        b,
		key:      def.Key(),
		def:      def,
		main:     newSubqueue(),
		dlq:      newSubqueue(),
		byToken:  make(map[LockToken]*entry),
		sessions: make(map[string]*session),
		dedup:    make(map[string]time.Time),
	}
	switch def.Kind {
	case KindStorageQueue:
		e.sq = newSQState()
	case KindTopic:
		e.tp = newTopicState()
	}
	return e
}

// existsLocked reports an entity still being created, or deleted, as not
// found.
func (e *entity) existsLocked() error {
	if e.deleted || e.creating {
		return errorf(CodeNotFound, "entity %q not found", e.def.Name)
	}
	return nil
}

// usableLocked is existsLocked for the Service Bus operations, which a
// storage queue refuses.
func (e *entity) usableLocked() error {
	if err := e.existsLocked(); err != nil {
		return err
	}
	if e.sq != nil {
		return errorf(CodeInvalidArgument, "entity %q is a storage queue; Service Bus operations do not apply to it", e.def.Name)
	}
	if e.tp != nil {
		return errorf(CodeInvalidArgument, "entity %q is a topic; receive from one of its subscriptions", e.def.Name)
	}
	return nil
}

func (e *entity) infoLocked() *EntityInfo {
	info := &EntityInfo{Entity: e.def, Counts: e.counts, AccessedAt: e.lastActivity}
	info.Metadata = maps.Clone(e.def.Metadata)
	if e.tp != nil {
		info.SubscriptionCount = len(e.tp.subs)
	}
	return info
}

func (e *entity) sub(dlq bool) *subqueue {
	if dlq {
		return e.dlq
	}
	return e.main
}

func (e *entity) sessionLocked(id string) *session {
	s := e.sessions[id]
	if s == nil {
		s = &session{id: id}
		e.sessions[id] = s
	}
	return s
}

// dropSessionIfIdleLocked forgets a session that holds nothing.
func (e *entity) dropSessionIfIdleLocked(s *session) {
	if s.live == 0 && !s.locked && s.state == nil && !s.inReady {
		delete(e.sessions, s.id)
	}
}

// countLocked adjusts the counters for an entry entering (+1) or leaving (-1)
// state st. A settling entry counts as the state it came from.
func (e *entity) countLocked(en *entry, st entryState, sign int64) {
	m := en.msg
	if st == stSettling {
		st = en.prevSt
	}
	if m.DeadLettered {
		if st != stPending && st != stRemoved {
			e.counts.DeadLettered += sign
			e.counts.SizeBytes += sign * m.BodySize
		}
		return
	}
	switch st {
	case stAvailable, stLocked:
		if m.State == StateDeferred {
			e.counts.Deferred += sign
		} else {
			e.counts.Active += sign
		}
	case stDeferred:
		e.counts.Deferred += sign
	case stScheduled:
		e.counts.Scheduled += sign
	default:
		return
	}
	e.counts.SizeBytes += sign * m.BodySize
}

// setStateLocked moves en to st, keeping counts, heaps and session
// bookkeeping right.
func (e *entity) setStateLocked(en *entry, st entryState) {
	old := en.st
	if old == st {
		return
	}
	e.countLocked(en, old, -1)
	en.st = st
	e.countLocked(en, st, +1)
	if old == stAvailable && en.heap != nil {
		en.heap.del(en)
	}
	if old == stLocked || old == stSettling {
		if st != stSettling && st != stLocked {
			delete(e.byToken, en.msg.LockToken)
			en.msg.LockToken = LockToken{}
			en.msg.LockedUntil = time.Time{}
		}
	}
	if st == stAvailable {
		e.makeAvailableLocked(en)
		if e.forwardsLocked(en.msg.DeadLettered) {
			e.markForwardLocked()
		}
	}
}

// makeAvailableLocked puts an available entry where receivers find it.
func (e *entity) makeAvailableLocked(en *entry) {
	if en.msg.DeadLettered || !e.def.Properties.RequiresSession {
		e.sub(en.msg.DeadLettered).avail.add(en)
		return
	}
	s := e.sessionLocked(en.msg.SessionID)
	s.avail.add(en)
	if !s.locked && !s.inReady {
		s.inReady = true
		e.ready = append(e.ready, s)
	}
}

// beginSettleLocked marks en as settling, remembering where it was.
func (e *entity) beginSettleLocked(en *entry) {
	en.prevSt = en.st
	e.setStateLocked(en, stSettling)
}

// revertLocked puts a settling entry back where it was after a failed
// write, re-arming the timer its state needs.
func (e *entity) revertLocked(en *entry, now time.Time) {
	if en.st != stSettling {
		return
	}
	e.setStateLocked(en, en.prevSt)
	switch en.st {
	case stLocked:
		e.b.timers.add(timerEvent{when: en.msg.LockedUntil, kind: evLockExpiry, ent: e, seq: en.msg.SequenceNumber, token: en.msg.LockToken})
	case stScheduled:
		e.b.timers.add(timerEvent{when: en.msg.ScheduledEnqueueTime, kind: evScheduled, ent: e, seq: en.msg.SequenceNumber})
	case stAvailable:
		e.wakeLocked(1, en.msg.DeadLettered)
		e.armTTLLocked(en)
	case stDeferred:
		e.armTTLLocked(en)
	}
	_ = now
}

// removeLocked deletes an entry from the entity.
func (e *entity) removeLocked(en *entry) {
	e.setStateLocked(en, stRemoved)
	e.detachLocked(en)
	e.releaseHotLocked(en)
	if sb := en.shared; sb != nil {
		en.shared = nil
		sb.release()
	}
}

// detachLocked takes a (stRemoved) entry out of its sub-queue and session.
func (e *entity) detachLocked(en *entry) {
	e.sub(en.msg.DeadLettered).remove(en)
	if !en.msg.DeadLettered && e.def.Properties.RequiresSession {
		if s := e.sessions[en.msg.SessionID]; s != nil {
			s.live--
			e.dropSessionIfIdleLocked(s)
		}
	}
}

// restore rebuilds the index from a store snapshot.
func (e *entity) restore(es *EntitySnapshot, now time.Time) {
	if e.sq != nil {
		e.sqRestore(es, now)
		return
	}
	if e.tp != nil {
		e.topicRestore(es, now)
		return
	}
	e.lastSeq = es.LastSeq
	msgs := append([]*Message(nil), es.Messages...)
	sort.Slice(msgs, func(i, j int) bool { return msgs[i].SequenceNumber < msgs[j].SequenceNumber })
	for _, m := range msgs {
		if m.SequenceNumber > e.lastSeq {
			e.lastSeq = m.SequenceNumber
		}
		m.LockToken, m.LockedUntil = LockToken{}, time.Time{}
		en := &entry{msg: m, st: stPending, committed: true}
		e.sub(m.DeadLettered).insert(en)
		if !m.DeadLettered && e.def.Properties.RequiresSession {
			e.sessionLocked(m.SessionID).live++
		}
		e.publishLocked(en, now)
	}
	for _, s := range es.Sessions {
		ss := e.sessionLocked(s.ID)
		ss.state, ss.stateUpdated = s.State, s.UpdatedAt
	}
	for id, until := range es.Dedup {
		if now.Before(until) {
			e.dedup[id] = until
		}
	}
	e.lastActivity = now
	e.scheduleIdleLocked()
	if len(e.dedup) > 0 {
		e.dedupArmed = true
		e.b.timers.add(timerEvent{when: now.Add(e.def.Properties.DuplicateDetectionHistoryTimeWindow), kind: evDedupPrune, ent: e})
	}
}

// publishLocked makes a durable entry visible in the state its message says.
func (e *entity) publishLocked(en *entry, now time.Time) {
	m := en.msg
	switch {
	case m.State == StateDeferred:
		e.setStateLocked(en, stDeferred)
		e.armTTLLocked(en)
	case m.DeadLettered:
		e.setStateLocked(en, stAvailable)
	case m.State == StateScheduled:
		if !m.ScheduledEnqueueTime.After(now) {
			m.State = StateActive
			e.setStateLocked(en, stAvailable)
			e.armTTLLocked(en)
		} else {
			e.setStateLocked(en, stScheduled)
			e.b.timers.add(timerEvent{when: m.ScheduledEnqueueTime, kind: evScheduled, ent: e, seq: m.SequenceNumber})
		}
	default:
		e.setStateLocked(en, stAvailable)
		e.armTTLLocked(en)
	}
}

func (e *entity) armTTLLocked(en *entry) {
	if !en.msg.ExpiresAt.IsZero() && !en.msg.DeadLettered {
		e.b.timers.add(timerEvent{when: en.msg.ExpiresAt, kind: evTTL, ent: e, seq: en.msg.SequenceNumber})
	}
}

// addWaiterLocked registers a waiter.
func (e *entity) addWaiterLocked(w *waiter) { e.waiters = append(e.waiters, w) }

// removeWaiterLocked unregisters w; it reports whether w was still waiting
// (false: it was woken).
func (e *entity) removeWaiterLocked(w *waiter) bool {
	for i, x := range e.waiters {
		if x == w {
			e.waiters = append(e.waiters[:i], e.waiters[i+1:]...)
			return true
		}
	}
	return false
}

// wakeLocked wakes up to n waiters of the given sub-queue; session waiters
// are all woken since any of them may be the one that matches.
func (e *entity) wakeLocked(n int, dlq bool) {
	keep := e.waiters[:0]
	for _, w := range e.waiters {
		if w.dlq == dlq && (n > 0 || w.session) {
			if !w.session {
				n--
			}
			select {
			case w.ch <- struct{}{}:
			default:
			}
			continue
		}
		keep = append(keep, w)
	}
	for i := len(keep); i < len(e.waiters); i++ {
		e.waiters[i] = nil
	}
	e.waiters = keep
}

func (e *entity) wakeAllLocked() {
	for _, w := range e.waiters {
		select {
		case w.ch <- struct{}{}:
		default:
		}
	}
	clear(e.waiters)
	e.waiters = e.waiters[:0]
}
