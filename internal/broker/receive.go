package broker

import (
	"context"
	"time"
)

// ReceiveOptions control a receive.
type ReceiveOptions struct {
	Mode        ReceiveMode
	MaxMessages int           // default 1; at most Limits.MaxReceiveBatch
	Wait        time.Duration // how long to wait for a first message; 0: do not wait
	// Session names the session of a session-enabled entity; the caller
	// must hold its lock (AcceptSession).
	Session *SessionLock
	// LockDuration overrides the entity's LockDuration for this receive
	// (Storage Queue visibility timeouts). Zero: the entity's.
	LockDuration time.Duration
}

// Receive takes up to MaxMessages messages, waiting up to Wait for the
// first. In PeekLock mode they are locked; in ReceiveAndDelete mode they are
// durably removed before they are returned. No message and no error means
// the wait ended with the entity empty.
func (b *Broker) Receive(ctx context.Context, path string, opts ReceiveOptions) ([]*Message, error) {
	b.runDue()
	e, dlq, err := b.lookup(path)
	if err != nil {
		return nil, err
	}
	if opts.MaxMessages <= 0 {
		opts.MaxMessages = 1
	}
	if opts.MaxMessages > b.limits.MaxReceiveBatch {
		return nil, errorf(CodeInvalidArgument, "MaxMessages %d is over the limit of %d", opts.MaxMessages, b.limits.MaxReceiveBatch)
	}
	if opts.LockDuration < 0 || opts.LockDuration > 7*24*time.Hour {
		return nil, errorf(CodeInvalidArgument, "LockDuration %v out of range", opts.LockDuration)
	}
	var timer <-chan time.Time
	for {
		e.mu.Lock()
		msgs, ch, err := e.takeLocked(dlq, opts)
		if err != nil || len(msgs) > 0 || opts.Wait <= 0 || b.draining.Load() {
			e.mu.Unlock()
			if err == nil && ch != nil {
				msgs, err = e.finishDeleteLocked(msgs, ch)
			}
			if err != nil {
				return nil, err
			}
			return b.withBodies(ctx, e, msgs)
		}
		w := &waiter{ch: make(chan struct{}, 1), dlq: dlq, session: opts.Session != nil}
		e.addWaiterLocked(w)
		e.mu.Unlock()
		if timer == nil {
			t := b.clock.NewTimer(opts.Wait)
			defer t.Stop()
			timer = t.C()
		}
		select {
		case <-w.ch:
			b.runDue()
			continue
		case <-timer:
		case <-ctx.Done():
			err = ctx.Err()
		case <-b.stop:
			err = ErrClosed
		}
		e.mu.Lock()
		if !e.removeWaiterLocked(w) {
			e.wakeLocked(1, dlq) // we were woken but are leaving: pass it on
		}
		e.mu.Unlock()
		return nil, err
	}
}

// takeLocked takes messages for a receive. In ReceiveAndDelete mode the
// entries are left settling and ch carries the durability of their removal.
func (e *entity) takeLocked(dlq bool, opts ReceiveOptions) ([]*Message, <-chan error, error) {
	if err := e.usableLocked(); err != nil {
		return nil, nil, err
	}
	p := &e.def.Properties
	if p.Status == StatusDisabled || p.Status == StatusReceiveDisabled {
		return nil, nil, errorf(CodeEntityDisabled, "entity %q is %s; receives are refused", e.def.Name, p.Status)
	}
	now := e.b.clock.Now()
	e.lastActivity = now
	var h *seqHeap
	var sess *session
	switch {
	case dlq:
		if opts.Session != nil {
			return nil, nil, errorf(CodeInvalidArgument, "the dead-letter sub-queue has no sessions")
		}
		h = &e.dlq.avail
	case p.RequiresSession:
		if opts.Session == nil {
			return nil, nil, errorf(CodeInvalidArgument, "entity %q requires sessions; accept a session to receive", e.def.Name)
		}
		s, err := e.heldSessionLocked(opts.Session, now)
		if err != nil {
			return nil, nil, err
		}
		sess = s
		h = &s.avail
	default:
		if opts.Session != nil {
			return nil, nil, errorf(CodeInvalidArgument, "entity %q does not require sessions", e.def.Name)
		}
		h = &e.main.avail
	}
	lockFor := p.LockDuration
	if opts.LockDuration > 0 {
		lockFor = opts.LockDuration
	}
	n := min(opts.MaxMessages, h.Len())
	if n == 0 {
		return nil, nil, nil
	}
	out := make([]*Message, 0, n)
	var recs []Record
	for range n {
		en := h.peekMin()
		if opts.Mode == ReceiveAndDelete {
			e.beginSettleLocked(en)
			recs = append(recs, Record{Kind: RecRemove, Entity: e.key, Seq: en.msg.SequenceNumber})
			out = append(out, en.msg.clone())
			continue
		}
		m := en.msg
		m.LockToken = e.b.newToken()
		if sess != nil {
			m.LockedUntil = sess.lockedUntil
		} else {
			m.LockedUntil = now.Add(lockFor)
		}
		e.setStateLocked(en, stLocked)
		e.byToken[m.LockToken] = en
		if sess == nil {
			e.b.timers.add(timerEvent{when: m.LockedUntil, kind: evLockExpiry, ent: e, seq: m.SequenceNumber, token: m.LockToken})
		} else {
			sess.hold(en)
		}
		out = append(out, m.clone())
	}
	if recs != nil {
		return out, e.b.submitLocked(recs), nil
	}
	return out, nil, nil
}

// finishDeleteLocked waits for a ReceiveAndDelete removal and completes it.
// REQUIRES: e.mu not held (the name says which lock it takes afterwards).
func (e *entity) finishDeleteLocked(msgs []*Message, ch <-chan error) ([]*Message, error) {
	err := wait(ch)
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.b.clock.Now()
	for _, m := range msgs {
		en := e.sub(m.DeadLettered).index[m.SequenceNumber]
		if en == nil || en.st != stSettling {
			continue
		}
		if err != nil {
			e.revertLocked(en, now)
		} else {
			e.removeLocked(en)
		}
	}
	if err != nil {
		return nil, err
	}
	return msgs, nil
}

// withBodies reads from the store the bodies the broker does not hold.
func (b *Broker) withBodies(ctx context.Context, e *entity, msgs []*Message) ([]*Message, error) {
	for _, m := range msgs {
		if m.Body == nil && m.SharedBody && e.topic != nil {
			body, err := b.store.ReadBody(ctx, e.topic.key, uint64(m.TopicSeq))
			if err != nil {
				return nil, storeErr(err)
			}
			m.Body = body
			continue
		}
		if m.Body == nil && m.BodyRef != 0 {
			body, err := b.store.ReadBody(ctx, e.key, m.BodyRef)
			if err != nil {
				return nil, storeErr(err)
			}
			m.Body = body
		}
	}
	return msgs, nil
}

// Peek returns up to max messages with sequence number ≥ from, in order,
// without locking them: available, locked, deferred and scheduled messages
// alike. sessionID, when set, limits the peek to one session.
func (b *Broker) Peek(ctx context.Context, path string, from int64, max int, sessionID string) ([]*Message, error) {
	b.runDue()
	e, dlq, err := b.lookup(path)
	if err != nil {
		return nil, err
	}
	if max <= 0 {
		max = 1
	}
	if max > b.limits.MaxPeekBatch {
		return nil, errorf(CodeInvalidArgument, "peek count %d is over the limit of %d", max, b.limits.MaxPeekBatch)
	}
	e.mu.Lock()
	if err := e.usableLocked(); err != nil {
		e.mu.Unlock()
		return nil, err
	}
	q := e.sub(dlq)
	var out []*Message
	for i := q.from(from); i < len(q.order) && len(out) < max; i++ {
		en := q.order[i]
		if !q.live(en) || en.st == stPending {
			continue
		}
		if sessionID != "" && en.msg.SessionID != sessionID {
			continue
		}
		m := en.msg.clone()
		m.LockToken, m.LockedUntil = LockToken{}, time.Time{}
		out = append(out, m)
	}
	e.mu.Unlock()
	return b.withBodies(ctx, e, out)
}

// ReceiveDeferred takes deferred messages by sequence number. Every number
// must name a deferred message (of the session, when sess is set);
// otherwise nothing changes and the error is CodeMessageNotFound.
func (b *Broker) ReceiveDeferred(ctx context.Context, path string, seqs []int64, mode ReceiveMode, sess *SessionLock) ([]*Message, error) {
	b.runDue()
	seqs = uniqueSeqs(seqs) // a number given twice is one message
	e, dlq, err := b.lookup(path)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	if err := e.usableLocked(); err != nil {
		e.mu.Unlock()
		return nil, err
	}
	now := b.clock.Now()
	if !dlq && e.def.Properties.RequiresSession {
		if sess == nil {
			e.mu.Unlock()
			return nil, errorf(CodeInvalidArgument, "entity %q requires sessions; accept a session first", e.def.Name)
		}
		if _, err := e.heldSessionLocked(sess, now); err != nil {
			e.mu.Unlock()
			return nil, err
		}
	}
	q := e.sub(dlq)
	ens := make([]*entry, 0, len(seqs))
	for _, s := range seqs {
		en := q.index[s]
		if en == nil || en.st != stDeferred || (sess != nil && !dlq && en.msg.SessionID != sess.SessionID) {
			e.mu.Unlock()
			return nil, errorf(CodeMessageNotFound, "failed to lock one or more specified messages: no deferred message with sequence number %d", s)
		}
		ens = append(ens, en)
	}
	out := make([]*Message, 0, len(ens))
	var recs []Record
	lockFor := e.def.Properties.LockDuration
	for _, en := range ens {
		if mode == ReceiveAndDelete {
			e.beginSettleLocked(en)
			recs = append(recs, Record{Kind: RecRemove, Entity: e.key, Seq: en.msg.SequenceNumber})
			out = append(out, en.msg.clone())
			continue
		}
		m := en.msg
		m.LockToken = b.newToken()
		m.LockedUntil = now.Add(lockFor)
		if sess != nil && !dlq {
			s := e.sessions[sess.SessionID]
			m.LockedUntil = s.lockedUntil
			s.hold(en)
		}
		e.setStateLocked(en, stLocked)
		e.byToken[m.LockToken] = en
		if sess == nil || dlq {
			b.timers.add(timerEvent{when: m.LockedUntil, kind: evLockExpiry, ent: e, seq: m.SequenceNumber, token: m.LockToken})
		}
		out = append(out, m.clone())
	}
	if recs != nil {
		ch := b.submitLocked(recs)
		e.mu.Unlock()
		out, err = e.finishDeleteLocked(out, ch)
		if err != nil {
			return nil, err
		}
		return b.withBodies(ctx, e, out)
	}
	e.mu.Unlock()
	return b.withBodies(ctx, e, out)
}
