package broker

import (
	"context"
	"time"
)

// Send enqueues a batch of messages atomically: either every message is
// durable and visible, or none is. It returns the sequence numbers in batch
// order; a message dropped as a duplicate gets 0. Messages with a future
// ScheduledEnqueueTime are scheduled.
func (b *Broker) Send(ctx context.Context, path string, msgs []*Message) ([]int64, error) {
	b.runDue()
	e, dlq, err := b.lookup(path)
	if err != nil {
		return nil, err
	}
	if dlq {
		return nil, errorf(CodeInvalidArgument, "cannot send to a dead-letter sub-queue")
	}
	if len(msgs) == 0 {
		return nil, nil
	}
	return b.send(ctx, e, msgs, sendOpts{})
}

// sendOpts are the internal variations of a send.
type sendOpts struct {
	// extra records go into the same store group as the send (an
	// auto-forward's removal from the source).
	extra []Record
	// source, when set, is written as every message's DeadLetterSource
	// (a message forwarded out of a dead-letter sub-queue).
	source string
}

// send is Send to entity e.
func (b *Broker) send(ctx context.Context, e *entity, msgs []*Message, o sendOpts) ([]int64, error) {
	if e.tp != nil {
		return b.sendTopic(ctx, e, msgs, o)
	}
	e.mu.Lock()
	qs, err := e.prepareSendOpts(msgs, b.clock.Now(), o)
	if err != nil {
		e.mu.Unlock()
		return nil, err
	}
	recs := append(qs.recs, o.extra...)
	if len(recs) == 0 {
		e.mu.Unlock()
		return qs.seqs, nil
	}
	ch := b.submitLocked(recs)
	e.mu.Unlock()

	err = wait(ch)

	e.mu.Lock()
	qs.finishLocked(err)
	e.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return qs.seqs, nil
}

// queueSend is a send to a queue prepared under its lock: pending entries
// added, records built.
type queueSend struct {
	e          *entity
	seqs       []int64 // per message; 0: a duplicate, dropped
	entries    []*entry
	recs       []Record
	dedupAdded []string
}

// prepareSendLocked checks msgs against queue e and adds them as pending
// entries: the locked part of a send, shared by send and transaction
// commits. REQUIRES: e.mu.
func (e *entity) prepareSendLocked(msgs []*Message, now time.Time) (*queueSend, error) {
	return e.prepareSendOpts(msgs, now, sendOpts{})
}

// prepareSendOpts is prepareSendLocked with the internal send options (the
// extra records are the caller's to submit).
func (e *entity) prepareSendOpts(msgs []*Message, now time.Time, o sendOpts) (*queueSend, error) {
	if err := e.checkSendLocked(msgs); err != nil {
		return nil, err
	}
	p := &e.def.Properties
	var batchBytes int64
	for _, m := range msgs {
		batchBytes += int64(len(m.Body))
	}
	if e.counts.SizeBytes+e.pendingBytes+batchBytes > p.MaxSizeInMegabytes<<20 {
		return nil, errorf(CodeQuotaExceeded, "entity %q is full: it holds %d bytes and MaxSizeInMegabytes is %d",
			e.def.Name, e.counts.SizeBytes+e.pendingBytes, p.MaxSizeInMegabytes)
	}
	b := e.b
	e.lastActivity = now
	qs := &queueSend{e: e, seqs: make([]int64, len(msgs))}
	for i, in := range msgs {
		if p.RequiresDuplicateDetection && in.MessageID != "" {
			if until, ok := e.dedup[in.MessageID]; ok && now.Before(until) {
				continue // a duplicate: accepted and dropped
			}
		}
		m := in.clone()
		e.lastSeq++
		m.SequenceNumber = e.lastSeq
		qs.seqs[i] = m.SequenceNumber
		m.EnqueuedTime = now
		m.State = StateActive
		if m.ScheduledEnqueueTime.After(now) {
			m.State = StateScheduled
			m.EnqueuedTime = m.ScheduledEnqueueTime
		}
		m.ExpiresAt = expiry(m.EnqueuedTime, m.TimeToLive, p.DefaultMessageTimeToLive)
		m.DeliveryCount = 0
		m.DeadLettered = false
		m.DeadLetterReason, m.DeadLetterDescription, m.DeadLetterSource = "", "", o.source
		m.LockToken, m.LockedUntil = LockToken{}, time.Time{}
		m.BodySize = int64(len(m.Body))
		m.BodyRef = 0
		m.TopicSeq, m.SharedBody = 0, false

		rec := Record{Kind: RecEnqueue, Entity: e.key, Msg: m}
		if p.RequiresDuplicateDetection && m.MessageID != "" {
			rec.DedupUntil = now.Add(p.DuplicateDetectionHistoryTimeWindow)
			e.dedup[m.MessageID] = rec.DedupUntil
			qs.dedupAdded = append(qs.dedupAdded, m.MessageID)
		}
		en := &entry{msg: m, st: stPending}
		e.main.insert(en)
		if p.RequiresSession {
			e.sessionLocked(m.SessionID).live++
		}
		e.pending = append(e.pending, en)
		e.pendingBytes += m.BodySize
		qs.entries = append(qs.entries, en)
		qs.recs = append(qs.recs, rec)
	}
	if len(qs.dedupAdded) > 0 && !e.dedupArmed {
		e.dedupArmed = true
		b.timers.add(timerEvent{when: now.Add(p.DuplicateDetectionHistoryTimeWindow), kind: evDedupPrune, ent: e})
	}
	return qs, nil
}

// finishLocked publishes the entries once their records are durable (err
// nil) or drops them. REQUIRES: qs.e.mu.
func (qs *queueSend) finishLocked(err error) {
	e := qs.e
	for _, en := range qs.entries {
		e.pendingBytes -= en.msg.BodySize
		if err == nil {
			en.committed = true
			if en.msg.BodyRef != 0 && !e.keepHotLocked(en) {
				en.msg.Body = nil // the store keeps it; read back on delivery
			}
			continue
		}
		en.st = stRemoved
		e.detachLocked(en)
	}
	if err != nil {
		for _, id := range qs.dedupAdded {
			delete(e.dedup, id)
		}
	}
	e.publishPendingLocked(e.b.clock.Now())
}

// checkMessageLocked validates one message of a batch against the entity.
func (e *entity) checkMessageLocked(m *Message, i int) error {
	return CheckMessage(&e.def, e.b.limits, m, i)
}

// CheckMessage checks message i of a send to the queue or topic def under
// limits l: its size, ids, session and properties. Engines that keep
// entities elsewhere make the same checks with it.
func CheckMessage(def *Entity, l Limits, m *Message, i int) error {
	p := &def.Properties
	if int64(len(m.Body)) > p.MaxMessageSizeInKilobytes<<10 {
		return errorf(CodeMessageTooLarge, "message %d is %d bytes; entity %q allows %d KB", i, len(m.Body), def.Name, p.MaxMessageSizeInKilobytes)
	}
	if len(m.MessageID) > l.MaxMessageIDLength {
		return errorf(CodeInvalidArgument, "message %d: MessageId is longer than %d characters", i, l.MaxMessageIDLength)
	}
	if len(m.SessionID) > l.MaxMessageIDLength {
		return errorf(CodeInvalidArgument, "message %d: SessionId is longer than %d characters", i, l.MaxMessageIDLength)
	}
	if p.RequiresSession && m.SessionID == "" {
		return errorf(CodeInvalidArgument, "message %d has no SessionId; entity %q requires sessions", i, def.Name)
	}
	if m.TimeToLive < 0 {
		return errorf(CodeInvalidArgument, "message %d: TimeToLive %v is negative", i, m.TimeToLive)
	}
	for k, v := range m.Properties {
		if err := validatePropertyValue(k, v); err != nil {
			return err
		}
	}
	return nil
}

// Expiry is when a message enqueued at t expires: its TTL, capped by the
// entity's default ttl; zero means never.
func Expiry(t time.Time, ttl, def time.Duration) time.Time { return expiry(t, ttl, def) }

// expiry computes when a message enqueued at t expires: the message's TTL,
// capped by the entity's default; zero means never.
func expiry(t time.Time, ttl, def time.Duration) time.Time {
	if ttl == 0 || ttl > def {
		ttl = def
	}
	if ttl >= MaxDuration/2 {
		return time.Time{}
	}
	return t.Add(ttl)
}

// publishPendingLocked publishes, in sequence order, every durable entry at
// the head of the pending list, and wakes receivers for them.
func (e *entity) publishPendingLocked(now time.Time) {
	i := 0
	woken := 0
	for ; i < len(e.pending); i++ {
		en := e.pending[i]
		if en.st == stRemoved {
			continue
		}
		if !en.committed {
			break
		}
		e.publishLocked(en, now)
		if en.st == stAvailable {
			woken++
		}
	}
	clear(e.pending[:i])
	e.pending = e.pending[i:]
	if len(e.pending) == 0 {
		e.pending = nil
	}
	if woken > 0 {
		e.wakeLocked(woken, false)
	}
}

// Schedule enqueues messages to become active at t and returns their
// sequence numbers (usable with CancelScheduled).
func (b *Broker) Schedule(ctx context.Context, path string, msgs []*Message, t time.Time) ([]int64, error) {
	cp := make([]*Message, len(msgs))
	for i, m := range msgs {
		c := *m
		c.ScheduledEnqueueTime = t
		cp[i] = &c
	}
	return b.Send(ctx, path, cp)
}

// CancelScheduled removes scheduled messages. Every sequence number must be
// a scheduled message of the entity; otherwise nothing changes.
func (b *Broker) CancelScheduled(ctx context.Context, path string, seqs []int64) error {
	b.runDue()
	seqs = uniqueSeqs(seqs) // a number given twice cancels once
	e, dlq, err := b.lookup(path)
	if err != nil {
		return err
	}
	if dlq {
		return errorf(CodeInvalidArgument, "a dead-letter sub-queue has no scheduled messages")
	}
	if e.tp != nil {
		return b.cancelTopicScheduled(e, seqs)
	}
	e.mu.Lock()
	if err := e.usableLocked(); err != nil {
		e.mu.Unlock()
		return err
	}
	ens := make([]*entry, 0, len(seqs))
	recs := make([]Record, 0, len(seqs))
	for _, s := range seqs {
		en := e.main.index[s]
		if en == nil || en.st != stScheduled {
			e.mu.Unlock()
			return errorf(CodeMessageNotFound, "no scheduled message with sequence number %d in %q", s, e.def.Name)
		}
		ens = append(ens, en)
		recs = append(recs, Record{Kind: RecRemove, Entity: e.key, Seq: s})
	}
	for _, en := range ens {
		e.beginSettleLocked(en)
	}
	ch := b.submitLocked(recs)
	e.mu.Unlock()
	err = wait(ch)
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, en := range ens {
		if en.st != stSettling {
			continue
		}
		if err != nil {
			e.revertLocked(en, b.clock.Now())
		} else {
			e.removeLocked(en)
		}
	}
	return err
}

// uniqueSeqs returns seqs without repeats, in their first order.
func uniqueSeqs(seqs []int64) []int64 {
	seen := make(map[int64]bool, len(seqs))
	out := seqs[:0:0]
	for _, s := range seqs {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
