package broker

import "time"

// This file prepares a topic send inside a transaction commit: the same
// routing as sendTopic (topic.go), split into a step under the locks of the
// topic and all its subscriptions (held by the commit) and a step after
// the store group is durable, so that several entities can join one group.

// topicSend is a topic send prepared under the topic's and its
// subscriptions' locks.
type topicSend struct {
	t          *entity
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
// REQUIRES: t.mu and the mu of every subscription of t.
func (t *entity) prepareTopicSendLocked(msgs []*Message, props []map[string]any, now time.Time) (*topicSend, error) {
	if err := t.checkSendLocked(msgs); err != nil {
		return nil, err
	}
	b := t.b
	p := &t.def.Properties
	t.lastActivity = now
	ts := &topicSend{t: t}
	var routes []route
	routeOf := make(map[*entity]int)
	fail := func(err error) (*topicSend, error) {
		for _, id := range ts.dedupAdded {
			delete(t.dedup, id)
		}
		return nil, err
	}
	for i, in := range msgs {
		if p.RequiresDuplicateDetection && in.MessageID != "" {
			if until, ok := t.dedup[in.MessageID]; ok && now.Before(until) {
				continue
			}
		}
		t.lastSeq++
		tseq := t.lastSeq
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
		m.DeadLetterReason, m.DeadLetterDescription, m.DeadLetterSource = "", "", ""
		m.LockToken, m.LockedUntil = LockToken{}, time.Time{}
		m.TopicSeq, m.SharedBody = tseq, false

		shared := false
		for _, s := range t.tp.subs {
			if s.creating {
				continue // not there until its definition is durable
			}
			copies, err := s.matchLocked(m, props[i], now)
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
			bm := &Message{SequenceNumber: tseq, MessageID: m.MessageID, Format: m.Format, Body: m.Body,
				BodySize: m.BodySize, EnqueuedTime: now}
			ts.bodies = append(ts.bodies, &sharedBody{topic: t, seq: tseq})
			ts.bodyMsgs = append(ts.bodyMsgs, bm)
			ts.recs = append(ts.recs, Record{Kind: RecEnqueue, Entity: t.key, Msg: bm, DedupUntil: dedupUntil})
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
