package broker

// The in-memory index of a storage queue. Every method REQUIRES entity.mu.
//
// A message is *idle* when no write about it is in flight, it is durable
// (its Put committed) and it is still there. Idle messages, and only they,
// sit in two indexed heaps: visible, by (VisibleAt, sequence number), the
// order Get and Peek serve; and expiry, by ExpiresAt, which drives the purge
// timer. An operation takes a message out of both (it becomes busy), and
// puts it back (rest) once its write has finished — or purges it then if it
// expired meanwhile.

import (
	"container/heap"
	"math"
	"time"
)

// sqEntry is one storage queue message in its entity's index.
type sqEntry struct {
	msg       *Message // committed state; Body may be nil (then read through BodyRef)
	vidx      int      // position in sqState.visible; -1 when out
	xidx      int      // position in sqState.expiry; -1 when out
	busy      bool     // a Put, Get, Update or Delete of it is being made durable
	clearing  int      // Clears in flight that remove it
	committed bool     // its Put is durable: it exists and is counted
	gone      bool     // removed from the index (deleted, cleared or purged)
}

func (en *sqEntry) idle() bool { return !en.busy && en.clearing == 0 && en.committed && !en.gone }

func (en *sqEntry) expired(now time.Time) bool {
	return !en.msg.ExpiresAt.IsZero() && !now.Before(en.msg.ExpiresAt)
}

// sqState is a storage queue's index.
type sqState struct {
	byID    map[string]*sqEntry // every message not gone, busy ones included
	visible sqHeap
	expiry  sqHeap
	armed   time.Time // when the purge event in the broker's timer heap is due; zero: none
	// SetMetadata calls submitted and applied (the newest applied wins).
	defSubmitted, defApplied uint64
}

func newSQState() *sqState {
	return &sqState{byID: make(map[string]*sqEntry), expiry: sqHeap{byExpiry: true}}
}

// sqHeap is an indexed min-heap of entries, by (VisibleAt, seq) or by
// ExpiresAt.
type sqHeap struct {
	items    []*sqEntry
	byExpiry bool
}

func (h *sqHeap) Len() int { return len(h.items) }

func (h *sqHeap) Less(i, j int) bool { return h.less(h.items[i], h.items[j]) }

func (h *sqHeap) less(a, b *sqEntry) bool {
	if h.byExpiry {
		return a.msg.ExpiresAt.Before(b.msg.ExpiresAt)
	}
	if !a.msg.VisibleAt.Equal(b.msg.VisibleAt) {
		return a.msg.VisibleAt.Before(b.msg.VisibleAt)
	}
	return a.msg.SequenceNumber < b.msg.SequenceNumber
}

func (h *sqHeap) pos(en *sqEntry) *int {
	if h.byExpiry {
		return &en.xidx
	}
	return &en.vidx
}

func (h *sqHeap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	*h.pos(h.items[i]) = i
	*h.pos(h.items[j]) = j
}

func (h *sqHeap) Push(x any) {
	en := x.(*sqEntry)
	*h.pos(en) = len(h.items)
	h.items = append(h.items, en)
}

func (h *sqHeap) Pop() any {
	n := len(h.items) - 1
	en := h.items[n]
	h.items[n] = nil
	h.items = h.items[:n]
	*h.pos(en) = -1
	return en
}

func (h *sqHeap) add(en *sqEntry) { heap.Push(h, en) }

func (h *sqHeap) del(en *sqEntry) {
	if i := *h.pos(en); i >= 0 {
		heap.Remove(h, i)
	}
}

func (h *sqHeap) min() *sqEntry {
	if len(h.items) == 0 {
		return nil
	}
	return h.items[0]
}

// firstVisible returns, in heap order, up to n entries that are visible at
// now and not expired, and the expired ones met on the way (for the caller
// to purge). It walks the heap as a tree, best first, without changing it.
func (h *sqHeap) firstVisible(n int, now time.Time) (out, expired []*sqEntry) {
	if len(h.items) == 0 {
		return nil, nil
	}
	cand := &sqFrontier{h: h, idx: []int{0}}
	for cand.Len() > 0 && len(out) < n {
		i := heap.Pop(cand).(int)
		en := h.items[i]
		if now.Before(en.msg.VisibleAt) {
			break // the rest is later still
		}
		if en.expired(now) {
			expired = append(expired, en)
		} else {
			out = append(out, en)
		}
		for _, c := range []int{2*i + 1, 2*i + 2} {
			if c < len(h.items) {
				heap.Push(cand, c)
			}
		}
	}
	return out, expired
}

// sqFrontier is the min-heap of heap positions that firstVisible may take
// next.
type sqFrontier struct {
	h   *sqHeap
	idx []int
}

func (f *sqFrontier) Len() int           { return len(f.idx) }
func (f *sqFrontier) Less(i, j int) bool { return f.h.Less(f.idx[i], f.idx[j]) }
func (f *sqFrontier) Swap(i, j int)      { f.idx[i], f.idx[j] = f.idx[j], f.idx[i] }
func (f *sqFrontier) Push(x any)         { f.idx = append(f.idx, x.(int)) }
func (f *sqFrontier) Pop() any {
	n := len(f.idx) - 1
	x := f.idx[n]
	f.idx = f.idx[:n]
	return x
}

// sqIndexLocked puts an idle entry into the heaps and arms the purge timer.
func (e *entity) sqIndexLocked(en *sqEntry) {
	e.sq.visible.add(en)
	if !en.msg.ExpiresAt.IsZero() {
		e.sq.expiry.add(en)
		e.sqArmLocked()
	}
}

// sqTakeLocked takes an entry out of the heaps.
func (e *entity) sqTakeLocked(en *sqEntry) {
	e.sq.visible.del(en)
	e.sq.expiry.del(en)
}

// sqRestLocked puts an entry whose operation has finished back where it
// belongs: into the heaps when it is idle, or purged when it expired.
func (e *entity) sqRestLocked(en *sqEntry, now time.Time) {
	if !en.idle() || en.vidx >= 0 {
		return
	}
	if en.expired(now) {
		e.sqPurgeLocked(en)
		return
	}
	e.sqIndexLocked(en)
}

// sqCommitLocked counts an entry whose Put is durable.
func (e *entity) sqCommitLocked(en *sqEntry) {
	en.committed = true
	e.counts.Active++
	e.counts.SizeBytes += en.msg.BodySize
}

// sqDropLocked forgets an entry (its removal is durable, or its Put failed).
func (e *entity) sqDropLocked(en *sqEntry) {
	if en.gone {
		return
	}
	e.sqTakeLocked(en)
	en.gone = true
	if e.sq.byID[en.msg.MessageID] == en {
		delete(e.sq.byID, en.msg.MessageID)
	}
	if en.committed {
		e.counts.Active--
		e.counts.SizeBytes -= en.msg.BodySize
	}
}

// sqPurgeLocked removes an expired idle entry. Expired messages are
// invisible to every operation, so the removal need not be durable before
// the entry goes: a restart would find it expired and purge it again.
func (e *entity) sqPurgeLocked(en *sqEntry) {
	e.sqDropLocked(en)
	e.b.submitAsyncLocked([]Record{{Kind: RecRemove, Entity: e.key, Seq: en.msg.SequenceNumber}})
}

// sqArmLocked makes sure a purge event is due at the earliest expiry.
func (e *entity) sqArmLocked() {
	first := e.sq.expiry.min()
	if first == nil {
		return
	}
	at := first.msg.ExpiresAt
	if !e.sq.armed.IsZero() && !at.Before(e.sq.armed) {
		return // an event at or before it is pending
	}
	e.sq.armed = at
	e.b.timers.add(timerEvent{when: at, kind: evSQExpiry, ent: e})
}

// sqExpireLocked handles a purge event due at when: it purges every idle
// entry expired by now and arms the next event.
func (e *entity) sqExpireLocked(when, now time.Time) {
	if e.sq.armed.Equal(when) {
		e.sq.armed = time.Time{} // that event is this one; stale ones leave it
	}
	for {
		en := e.sq.expiry.min()
		if en == nil || !en.expired(now) {
			break
		}
		e.sqPurgeLocked(en)
	}
	e.sqArmLocked()
}

// sqRestore rebuilds the index from a store snapshot. Expired messages are
// indexed too: the purge timer, due at once, removes them.
func (e *entity) sqRestore(es *EntitySnapshot, now time.Time) {
	e.lastSeq = es.LastSeq
	for _, m := range es.Messages {
		if m.SequenceNumber > e.lastSeq {
			e.lastSeq = m.SequenceNumber
		}
		m.LockToken, m.LockedUntil = LockToken{}, time.Time{}
		en := &sqEntry{msg: m, vidx: -1, xidx: -1}
		e.sq.byID[m.MessageID] = en
		e.sqCommitLocked(en)
		e.sqIndexLocked(en)
	}
	e.lastActivity = now
}

// sqDequeueCount adds one to a dequeue count, saturating.
func sqDequeueCount(n int32) int32 {
	if n == math.MaxInt32 {
		return n
	}
	return n + 1
}
