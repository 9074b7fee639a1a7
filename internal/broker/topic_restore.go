package broker

import (
	"time"
)

// topicRestore rebuilds a topic from its snapshot: its messages are the
// stored bodies that subscription copies share.
func (e *entity) topicRestore(es *EntitySnapshot, now time.Time) {
	e.lastSeq = es.LastSeq
	for _, m := range es.Messages {
		if m.SequenceNumber > e.lastSeq {
			e.lastSeq = m.SequenceNumber
		}
		sb := &sharedBody{topic: e, seq: m.SequenceNumber}
		if m.BodyRef != 0 || m.Body == nil {
			sb.stored()
		} else {
			sb.body = m.Body
		}
		e.tp.bodies[m.SequenceNumber] = sb
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

// linkTopicsLocked, at Open, attaches subscriptions to their topics,
// compiles their rules, counts the copies that share each topic body and
// removes bodies no copy uses. REQUIRES: b.mu.
func (b *Broker) linkTopicsLocked() {
	for _, e := range b.entities {
		if e.def.Kind != KindSubscription {
			continue
		}
		tname, _, ok := SplitSubscriptionPath(e.def.Name)
		t := b.entities[EntityKey(tname)]
		if !ok || t == nil || t.tp == nil {
			b.log.Error("subscription without its topic; it is ignored", "subscription", e.def.Name)
			delete(b.entities, e.key)
			b.submitAsyncLocked([]Record{{Kind: RecEntityDelete, Entity: e.key}})
			continue
		}
		e.topic = t
		t.tp.addSub(e)
		for i := range e.def.Rules {
			cr, err := compileRule(&e.def.Rules[i])
			if err != nil {
				b.log.Error("stored rule does not compile; it matches nothing", "subscription", e.def.Name, "rule", e.def.Rules[i].Name, "err", err)
				cr = &compiledRule{name: e.def.Rules[i].Name, never: true}
			}
			e.rules = append(e.rules, cr)
		}
		for _, q := range []*subqueue{e.main, e.dlq} {
			for _, en := range q.index {
				if !en.msg.SharedBody {
					continue
				}
				sb := t.tp.bodies[en.msg.TopicSeq]
				if sb == nil {
					b.log.Error("stored message refers to a missing topic body", "subscription", e.def.Name, "seq", en.msg.SequenceNumber)
					continue
				}
				sb.refs.Add(1)
				en.shared = sb
				if en.msg.Body == nil && !sb.onDisk.Load() {
					en.msg.Body = sb.body
				}
			}
		}
	}
	for _, t := range b.entities {
		if t.tp == nil {
			continue
		}
		var orphans []Record
		for seq, sb := range t.tp.bodies {
			sb.body = nil // the copies hold it now
			if sb.refs.Load() == 0 {
				delete(t.tp.bodies, seq)
				orphans = append(orphans, Record{Kind: RecRemove, Entity: t.key, Seq: seq})
			}
		}
		b.submitAsyncLocked(orphans)
	}
}

// releaseSharedLocked drops the topic-body references of every message of
// a deleted subscription.
func (e *entity) releaseSharedLocked() {
	for _, q := range []*subqueue{e.main, e.dlq} {
		for _, en := range q.index {
			if sb := en.shared; sb != nil {
				en.shared = nil
				sb.release()
			}
		}
	}
}

// cancelTopicScheduled removes the scheduled copies a topic send made.
// Every sequence number must have at least one scheduled copy.
func (b *Broker) cancelTopicScheduled(t *entity, seqs []int64) error {
	want := make(map[int64]bool, len(seqs))
	for _, s := range seqs {
		want[s] = false
	}
	t.mu.Lock()
	if err := t.existsLocked(); err != nil {
		t.mu.Unlock()
		return err
	}
	type found struct {
		sub *entity
		ens []*entry
	}
	var all []found
	var recs []Record
	subs := t.tp.subs
	for _, s := range subs {
		s.mu.Lock()
	}
	unlock := func() {
		for _, s := range subs {
			s.mu.Unlock()
		}
		t.mu.Unlock()
	}
	for _, s := range subs {
		var ens []*entry
		for _, en := range s.main.index {
			if _, ok := want[en.msg.TopicSeq]; ok && en.st == stScheduled {
				want[en.msg.TopicSeq] = true
				ens = append(ens, en)
				recs = append(recs, Record{Kind: RecRemove, Entity: s.key, Seq: en.msg.SequenceNumber})
			}
		}
		if len(ens) > 0 {
			all = append(all, found{s, ens})
		}
	}
	for s, ok := range want {
		if !ok {
			unlock()
			return errorf(CodeMessageNotFound, "no scheduled message with sequence number %d in topic %q", s, t.def.Name)
		}
	}
	for _, f := range all {
		for _, en := range f.ens {
			f.sub.beginSettleLocked(en)
		}
	}
	ch := b.submitLocked(recs)
	unlock()
	err := wait(ch)
	now := b.clock.Now()
	for _, f := range all {
		f.sub.mu.Lock()
		for _, en := range f.ens {
			if en.st != stSettling {
				continue
			}
			if err != nil {
				f.sub.revertLocked(en, now)
			} else {
				f.sub.removeLocked(en)
			}
		}
		f.sub.mu.Unlock()
	}
	return err
}
