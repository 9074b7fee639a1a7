package broker

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// timerKind is what a timer event does when it is due.
type timerKind uint8

const (
	evLockExpiry    timerKind = iota + 1 // a message lock may have expired
	evSessionExpiry                      // a session lock may have expired
	evScheduled                          // a scheduled message may be due
	evTTL                                // a message may have expired
	evDedupPrune                         // drop old duplicate-detection entries
	evIdle                               // the entity may be idle past AutoDeleteOnIdle
	evSQExpiry                           // storage queue messages may have expired
	evForward                            // retry a failed auto-forward
)

// timerEvent is one entry of the broker's timer heap. Events are hints: the
// handler checks the current state and ignores stale events, so nothing is
// ever removed from the heap early.
type timerEvent struct {
	when  time.Time
	kind  timerKind
	ent   *entity
	seq   int64
	token LockToken
	sess  *session
}

// eventHeap is a min-heap of events by time (keyed by timeKey(when)).
type eventHeap = minHeap[timerEvent]

// setIndex: events are only ever popped from the top.
func (timerEvent) setIndex(int) {}

// maxKeyTime is the latest time whose Unix nanoseconds fit an int64.
var maxKeyTime = time.Unix(0, math.MaxInt64)

// timeKey is t in Unix nanoseconds, clamped to the int64 range (a far
// future, such as an AutoDeleteOnIdle of TimeSpan.MaxValue, sorts last).
func timeKey(t time.Time) int64 {
	switch {
	case t.After(maxKeyTime):
		return math.MaxInt64
	case t.Before(time.Unix(0, math.MinInt64)):
		return math.MinInt64
	}
	return t.UnixNano()
}

// timerHeap is the broker's single timer structure.
type timerHeap struct {
	mu     sync.Mutex
	h      eventHeap
	next   atomic.Int64 // unix nanos of the earliest event; MaxInt64 when empty
	kick   chan struct{}
	inited bool
}

func (t *timerHeap) add(ev timerEvent) {
	t.mu.Lock()
	key := timeKey(ev.when)
	t.h.push(key, ev)
	top := t.h[0].key == key
	// next only moves earlier here; runDue moves it later once the events
	// it popped are fully handled, so the fast path never skips work in
	// progress.
	if w := key; w < t.next.Load() {
		t.next.Store(w)
	}
	t.mu.Unlock()
	if top && t.kick != nil {
		select {
		case t.kick <- struct{}{}:
		default:
		}
	}
}

// popDue removes and returns the events due at now. It leaves next alone:
// the caller calls refreshNext when it has handled them.
func (t *timerHeap) popDue(now time.Time, out []timerEvent) []timerEvent {
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(t.h) > 0 && !t.h[0].v.when.After(now) {
		out = append(out, t.h.remove(0))
	}
	return out
}

// refreshNext sets next to the earliest event's time.
func (t *timerHeap) refreshNext() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.h) > 0 {
		t.next.Store(t.h[0].key)
	} else {
		t.next.Store(1<<63 - 1)
	}
}

// nextDue returns the earliest event time.
func (t *timerHeap) nextDue() (time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.h) == 0 {
		return time.Time{}, false
	}
	return t.h[0].v.when, true
}

// runTimers is the goroutine that serves the timer heap.
func (b *Broker) runTimers() {
	defer b.wg.Done()
	tm := b.clock.NewTimer(time.Hour)
	defer tm.Stop()
	for {
		b.runDue()
		if when, ok := b.timers.nextDue(); ok {
			tm.Reset(when.Sub(b.clock.Now()))
		} else {
			tm.Reset(time.Hour)
		}
		select {
		case <-tm.C():
		case <-b.kick:
		case <-b.stop:
			return
		}
	}
}

// runDue handles every due timer event. Public operations call it first, so
// that with a fake clock every operation sees time-driven changes made.
func (b *Broker) runDue() {
	b.runForwards()
	now := b.clock.Now()
	if now.UnixNano() < b.timers.next.Load() {
		return
	}
	b.dueMu.Lock()
	defer b.dueMu.Unlock()
	now = b.clock.Now()
	var idle []*entity
	// Handling an event may add events that are due already (a scheduled
	// message's TTL); loop until none is due.
	for {
		evs := b.timers.popDue(now, b.dueBuf[:0])
		if len(evs) == 0 {
			b.timers.refreshNext()
			break
		}
		idle = b.handleDue(evs, now, idle)
		clear(evs)
		b.dueBuf = evs[:0]
	}
	for _, e := range idle {
		if err := b.deleteEntity(e); err != nil {
			b.log.Error("auto-delete on idle failed", "entity", e.def.Name, "err", err)
		} else {
			b.log.Info("entity deleted after being idle", "entity", e.def.Name, "autoDeleteOnIdle", e.def.Properties.AutoDeleteOnIdle)
		}
	}
	// Timers may have made messages available in forwarding entities.
	b.runForwards()
}

// handleDue handles due events; REQUIRES: b.dueMu held. Entities idle past
// their AutoDeleteOnIdle are appended to idle for the caller to delete.
func (b *Broker) handleDue(evs []timerEvent, now time.Time, idle []*entity) []*entity {
	for _, ev := range evs {
		e := ev.ent
		e.mu.Lock()
		if e.deleted {
			e.mu.Unlock()
			continue
		}
		switch ev.kind {
		case evLockExpiry:
			e.expireLockLocked(ev, now)
		case evSessionExpiry:
			s := ev.sess
			if s.locked && s.lockToken == ev.token && !now.Before(s.lockedUntil) {
				e.releaseSessionLocked(s, now)
			}
		case evScheduled:
			if en := e.main.index[ev.seq]; en != nil && en.st == stScheduled && !now.Before(en.msg.ScheduledEnqueueTime) {
				en.msg.State = StateActive
				e.setStateLocked(en, stAvailable)
				e.armTTLLocked(en)
				e.wakeLocked(1, false)
			}
		case evTTL:
			if en := e.main.index[ev.seq]; en != nil {
				e.expireTTLLocked(en, now)
			}
		case evDedupPrune:
			for id, until := range e.dedup {
				if !now.Before(until) {
					delete(e.dedup, id)
				}
			}
			if len(e.dedup) > 0 {
				b.timers.add(timerEvent{when: now.Add(e.def.Properties.DuplicateDetectionHistoryTimeWindow), kind: evDedupPrune, ent: e})
			} else {
				e.dedupArmed = false
			}
		case evSQExpiry:
			if e.sq != nil {
				e.sqExpireLocked(ev.when, now)
			}
		case evForward:
			if e.forwardsLocked(false) || e.forwardsLocked(true) {
				e.markForwardLocked()
			}
		case evIdle:
			if d := e.def.Properties.AutoDeleteOnIdle; d < MaxDuration {
				if deadline := e.lastActivity.Add(d); !now.Before(deadline) {
					idle = append(idle, e)
				} else {
					b.timers.add(timerEvent{when: deadline, kind: evIdle, ent: e})
				}
			}
		}
		e.mu.Unlock()
	}
	return idle
}

// scheduleIdleLocked arms the auto-delete-on-idle check.
func (e *entity) scheduleIdleLocked() {
	if d := e.def.Properties.AutoDeleteOnIdle; d < MaxDuration {
		e.b.timers.add(timerEvent{when: e.lastActivity.Add(d), kind: evIdle, ent: e})
	}
}

// expireLockLocked handles a message lock whose time has come: the message
// is available again with one more failed delivery, or dead-lettered.
func (e *entity) expireLockLocked(ev timerEvent, now time.Time) {
	en := e.byToken[ev.token]
	if en == nil || en.st != stLocked || now.Before(en.msg.LockedUntil) {
		return
	}
	if e.def.Properties.RequiresSession && !en.msg.DeadLettered {
		return // session messages are unlocked with their session
	}
	e.failDeliveryLocked(en, nil, now, true)
}

// failDeliveryLocked counts a failed delivery of a locked entry (abandon or
// lock expiry) and makes it available, or dead-letters it when it reaches
// MaxDeliveryCount. With write set it submits the record without waiting
// (lock expiry); an abandon has written it already.
func (e *entity) failDeliveryLocked(en *entry, props map[string]any, now time.Time, write bool) {
	m := en.msg
	if !m.DeadLettered {
		m.DeliveryCount++
	}
	m.Properties = mergeProperties(m.Properties, props)
	if !m.DeadLettered && m.DeliveryCount >= e.def.Properties.MaxDeliveryCount {
		e.deadLetterLocked(en, "MaxDeliveryCountExceeded", maxDeliveryDescription(e.def.Properties.MaxDeliveryCount), nil)
	} else {
		e.unlockLocked(en, now)
	}
	if write {
		e.b.submitAsyncLocked([]Record{{Kind: RecUpdate, Entity: e.key, Update: updateOf(m)}})
	}
}

func maxDeliveryDescription(n int32) string {
	return "Message could not be consumed after " + itoa(int64(n)) + " delivery attempts."
}

// unlockLocked returns a locked entry to where it waits: deferred or
// available.
func (e *entity) unlockLocked(en *entry, now time.Time) {
	if en.msg.State == StateDeferred {
		e.setStateLocked(en, stDeferred)
	} else {
		e.setStateLocked(en, stAvailable)
		e.wakeLocked(1, en.msg.DeadLettered)
	}
	if !en.msg.ExpiresAt.IsZero() && !now.Before(en.msg.ExpiresAt) {
		e.expireTTLLocked(en, now)
	}
}

// expireTTLLocked drops or dead-letters an expired message that is not
// locked (locked messages are checked again when they are unlocked).
func (e *entity) expireTTLLocked(en *entry, now time.Time) {
	m := en.msg
	if m.DeadLettered || m.ExpiresAt.IsZero() || now.Before(m.ExpiresAt) {
		return
	}
	if en.st != stAvailable && en.st != stDeferred {
		return
	}
	if e.def.Properties.DeadLetteringOnMessageExpiration {
		e.deadLetterLocked(en, "TTLExpiredException", "The message expired and was dead lettered.", nil)
		e.b.submitAsyncLocked([]Record{{Kind: RecUpdate, Entity: e.key, Update: updateOf(m)}})
		return
	}
	e.removeLocked(en)
	e.b.submitAsyncLocked([]Record{{Kind: RecRemove, Entity: e.key, Seq: m.SequenceNumber}})
}

// deadLetterLocked moves an entry into the dead-letter sub-queue (in memory;
// the caller writes the record, deadLetterUpdate).
func (e *entity) deadLetterLocked(en *entry, reason, desc string, props map[string]any) {
	u := deadLetterUpdate(en.msg, reason, desc, props)
	e.setStateLocked(en, stRemoved)
	e.detachLocked(en)
	u.Apply(en.msg)
	e.dlq.insert(en)
	e.setStateLocked(en, stAvailable)
	e.wakeLocked(1, true)
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
