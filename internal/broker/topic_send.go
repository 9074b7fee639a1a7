package broker

import (
	"slices"
	"strings"
	"time"
)

// This file is the topic send (topic.go's file comment has the model):
// routing and the pending copies under the locks of the topic and the
// subscriptions that get copies, then, after the store group is durable,
// publishing. Plain sends (sendTopic) and transaction commits (txn.go), which
// put several entities into one store group, share it.

// topicSend is a topic send prepared under the topic's and its
// subscriptions' locks.
type topicSend struct {
	t          *entity
	seqs       []int64   // the topic's sequence number per message (0: duplicate)
	locked     []*entity // subscriptions locked by prepareTopicSendOpts
	recs       []Record
	placed     []placedCopies
	bodies     []*sharedBody
	bodyMsgs   []*Message // the record message of each body (BodyRef set by the store)
	dedupAdded []string
}

// placedCopies are the pending entries a send added to one subscription.
type placedCopies struct {
	sub     *entity
	entries []*entry
}

// prepareTopicSendLocked routes msgs (with their application properties)
// through t's subscriptions and adds the copies as pending entries.
// REQUIRES: t.mu and the mu of every subscription of t (a transaction's
// commit holds them all).
func (t *entity) prepareTopicSendLocked(msgs []*Message, props []map[string]any, now time.Time) (*topicSend, error) {
	return t.prepareTopicSendOpts(msgs, props, now, sendOpts{}, false)
}

// prepareTopicSendOpts is prepareTopicSendLocked for every kind of send.
// With lockSubs, only t.mu is held on entry: the subscriptions that get
// copies are locked here, in key order, and stay locked (ts.unlockSubs)
// until the caller has submitted the records; on error nothing stays
// locked but t.mu. Subscriptions still being created or already deleted
// are skipped (their state changes under t.mu too).
func (t *entity) prepareTopicSendOpts(msgs []*Message, props []map[string]any, now time.Time, o sendOpts, lockSubs bool) (*topicSend, error) {
	if err := t.checkSendLocked(msgs); err != nil {
		return nil, err
	}
	b := t.b
	p := &t.def.Properties
	t.lastActivity = now
	ts := &topicSend{t: t, seqs: make([]int64, len(msgs))}
	var routes []route
	routeOf := make(map[*entity]int)
	fail := func(err error) (*topicSend, error) {
		for _, id := range ts.dedupAdded {
			delete(t.dedup, id)
		}
		ts.unlockSubs()
		return nil, err
	}
	t.tp.needProps() // builds the index
	for i, in := range msgs {
		if p.RequiresDuplicateDetection && in.MessageID != "" {
			if until, ok := t.dedup[in.MessageID]; ok && now.Before(until) {
				continue
			}
		}
		t.lastSeq++
		tseq := t.lastSeq
		ts.seqs[i] = tseq
		m := in.clone()
		m.SequenceNumber = tseq
		m.EnqueuedTime = now
		m.State = StateActive
		if m.ScheduledEnqueueTime.After(now) {
			m.State = StateScheduled
			m.EnqueuedTime = m.ScheduledEnqueueTime
		}
		m.BodySize = int64(len(m.Body))
		m.BodyRef = 0
		m.DeliveryCount = 0
		m.DeadLettered = false
		m.DeadLetterReason, m.DeadLetterDescription, m.DeadLetterSource = "", "", o.source
		m.LockToken, m.LockedUntil = LockToken{}, time.Time{}
		m.TopicSeq, m.SharedBody = tseq, false

		shared := false
		view := &msgView{m: m, props: props[i], size: m.BodySize} // one per message: Eval takes an interface
		t.tp.cands = t.tp.index.candidates(view, t.tp.cands)
		for _, s := range t.tp.cands {
			if s.creating || s.deleted {
				continue // not there until its definition is durable
			}
			copies, err := s.matchViewLocked(m, view)
			if err != nil {
				return fail(err)
			}
			for _, c := range copies {
				if c == m {
					c = m.clone()
					c.SharedBody = true
					shared = true
				}
				ri, ok := routeOf[s]
				if !ok {
					ri = len(routes)
					routeOf[s] = ri
					routes = append(routes, route{sub: s})
				}
				routes[ri].msgs = append(routes[ri].msgs, c)
			}
		}
		var dedupUntil time.Time
		if p.RequiresDuplicateDetection && m.MessageID != "" {
			dedupUntil = now.Add(p.DuplicateDetectionHistoryTimeWindow)
			t.dedup[m.MessageID] = dedupUntil
			ts.dedupAdded = append(ts.dedupAdded, m.MessageID)
		}
		if shared || !dedupUntil.IsZero() {
			// The body record: also where the duplicate-detection entry
			// lives. Without copies sharing it, it is removed at once.
			bm := &Message{SequenceNumber: tseq, MessageID: m.MessageID, Format: m.Format, Body: m.Body,
				BodySize: m.BodySize, EnqueuedTime: now}
			ts.bodies = append(ts.bodies, &sharedBody{topic: t, seq: tseq})
			ts.bodyMsgs = append(ts.bodyMsgs, bm)
			ts.recs = append(ts.recs, Record{Kind: RecEnqueue, Entity: t.key, Msg: bm, DedupUntil: dedupUntil})
		}
	}
	// Lock order: subscriptions by key.
	slices.SortFunc(routes, func(a, b route) int { return strings.Compare(a.sub.key, b.sub.key) })
	if lockSubs {
		for _, r := range routes {
			r.sub.mu.Lock()
			ts.locked = append(ts.locked, r.sub)
		}
	}
	for _, r := range routes {
		if err := r.sub.acceptCopiesLocked(r.msgs); err != nil {
			return fail(err)
		}
	}
	if len(ts.dedupAdded) > 0 && !t.dedupArmed {
		t.dedupArmed = true
		b.timers.add(timerEvent{when: now.Add(p.DuplicateDetectionHistoryTimeWindow), kind: evDedupPrune, ent: t})
	}
	bodyBySeq := make(map[int64]*sharedBody, len(ts.bodies))
	for _, sb := range ts.bodies {
		bodyBySeq[sb.seq] = sb
	}
	for _, r := range routes {
		entries, rs := r.sub.enqueueCopiesLocked(r.msgs, bodyBySeq, now)
		ts.recs = append(ts.recs, rs...)
		ts.placed = append(ts.placed, placedCopies{r.sub, entries})
	}
	if len(ts.bodies) > 0 {
		t.tp.bodyMu.Lock()
		for _, sb := range ts.bodies {
			t.tp.bodies[sb.seq] = sb
		}
		t.tp.bodyMu.Unlock()
	}
	return ts, nil
}

// unlockSubs releases the subscriptions prepareTopicSendOpts locked.
func (ts *topicSend) unlockSubs() {
	for i := len(ts.locked) - 1; i >= 0; i-- {
		ts.locked[i].mu.Unlock()
	}
	ts.locked = nil
}

// abortLocked undoes a prepared send that will not be submitted.
// REQUIRES: the locks prepareTopicSendLocked needed.
func (ts *topicSend) abortLocked() {
	t := ts.t
	for _, pl := range ts.placed {
		s := pl.sub
		for _, en := range pl.entries {
			s.pendingBytes -= en.msg.BodySize
			en.st = stRemoved
			en.shared = nil
			s.detachLocked(en)
		}
		s.publishPendingLocked(t.b.clock.Now())
	}
	ts.dropBodies()
	for _, id := range ts.dedupAdded {
		delete(t.dedup, id)
	}
}

// dropBodies forgets the bodies of a send that did not happen.
func (ts *topicSend) dropBodies() {
	tp := ts.t.tp
	tp.bodyMu.Lock()
	for _, sb := range ts.bodies {
		if tp.bodies[sb.seq] == sb {
			delete(tp.bodies, sb.seq)
		}
	}
	tp.bodyMu.Unlock()
}

// finish publishes the copies once the group is durable (err nil) or
// drops them, taking each subscription's lock in turn.
func (ts *topicSend) finish(err error) {
	t := ts.t
	var release []*sharedBody
	if err != nil {
		ts.dropBodies()
	} else {
		for i, sb := range ts.bodies {
			if ts.bodyMsgs[i].BodyRef != 0 {
				sb.stored()
			}
			if sb.refs.Load() == 0 {
				release = append(release, sb) // a dedup-only record
			}
		}
	}
	for _, pl := range ts.placed {
		s := pl.sub
		s.mu.Lock()
		for _, en := range pl.entries {
			s.pendingBytes -= en.msg.BodySize
			if err == nil {
				en.committed = true
				if en.shared != nil && en.shared.onDisk.Load() || !en.msg.SharedBody && en.msg.BodyRef != 0 {
					en.msg.Body = nil
				}
				continue
			}
			en.st = stRemoved
			s.detachLocked(en)
		}
		s.publishPendingLocked(t.b.clock.Now())
		s.mu.Unlock()
	}
	if err != nil {
		t.mu.Lock()
		for _, id := range ts.dedupAdded {
			delete(t.dedup, id)
		}
		t.mu.Unlock()
		return
	}
	for _, sb := range release {
		sb.refs.Add(1)
		sb.release()
	}
}
