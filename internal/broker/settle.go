package broker

import (
	"context"
	"time"
)

// Settle settles a locked message by its lock token. Complete, Abandon,
// Defer and DeadLetter are made durable before Settle returns; Release only
// unlocks. An unknown, expired or already settled token is CodeLockLost;
// for a session message whose session lock is gone, CodeSessionLockLost.
func (b *Broker) Settle(ctx context.Context, path string, token LockToken, s Settlement) error {
	return b.SettleMany(ctx, []SettleRequest{{Path: path, Token: token, Settlement: s}})[0]
}

// SettleRequest is one settlement of SettleMany.
type SettleRequest struct {
	Path  string
	Token LockToken
	Settlement
}

// SettleMany is Settle for several locked messages at once, of one entity or
// several: each entity's settlements are written as one store group, all
// groups are submitted before any is waited for, and each request gets its
// own answer (errs[i] for reqs[i], nil when settled). A protocol face that
// receives many settlements together (an AMQP client completing a stream of
// deliveries) thus pays one hand-off to the store per entity, not one per
// message.
func (b *Broker) SettleMany(ctx context.Context, reqs []SettleRequest) []error {
	b.runDue()
	errs := make([]error, len(reqs))
	type item struct {
		i   int
		dlq bool
		en  *entry
		rec Record
	}
	type group struct {
		e     *entity
		items []item
		ch    <-chan error
	}
	var groups []*group
	for i := range reqs {
		r := &reqs[i]
		e, dlq, err := b.lookup(r.Path)
		if err == nil {
			err = validateProperties(r.Properties)
		}
		if err != nil {
			errs[i] = err
			continue
		}
		var g *group
		for _, x := range groups {
			if x.e == e {
				g = x
				break
			}
		}
		if g == nil {
			g = &group{e: e}
			groups = append(groups, g)
		}
		g.items = append(g.items, item{i: i, dlq: dlq})
	}
	for _, g := range groups {
		e := g.e
		e.mu.Lock()
		now := b.clock.Now()
		var recs []Record
		kept := g.items[:0]
		for _, it := range g.items {
			r := &reqs[it.i]
			en, err := e.lockedEntryLocked(r.Token, it.dlq, now)
			if err != nil {
				errs[it.i] = err
				continue
			}
			e.lastActivity = now
			if r.Disposition == Release {
				e.unlockLocked(en, now)
				continue
			}
			rec, err := e.settleRecordLocked(en, r.Settlement)
			if err != nil {
				errs[it.i] = err
				continue
			}
			e.beginSettleLocked(en)
			it.en, it.rec = en, rec
			recs = append(recs, rec)
			kept = append(kept, it)
		}
		g.items = kept
		if len(recs) > 0 {
			g.ch = b.submitLocked(recs)
		}
		e.mu.Unlock()
	}
	for _, g := range groups {
		if g.ch == nil {
			continue
		}
		err := wait(g.ch)
		e := g.e
		e.mu.Lock()
		now := b.clock.Now()
		for _, it := range g.items {
			errs[it.i] = e.settledLocked(it.en, reqs[it.i].Settlement, it.rec, err, now)
		}
		e.mu.Unlock()
	}
	return errs
}

func validateProperties(props map[string]any) error {
	for k, v := range props {
		if err := validatePropertyValue(k, v); err != nil {
			return err
		}
	}
	return nil
}

// settleRecordLocked builds the record of settlement s (not Release) of
// the locked entry en, without changing anything.
func (e *entity) settleRecordLocked(en *entry, s Settlement) (Record, error) {
	m := en.msg
	switch s.Disposition {
	case Complete:
		return Record{Kind: RecRemove, Entity: e.key, Seq: m.SequenceNumber}, nil
	case Abandon:
		u := updateOf(m)
		if !m.DeadLettered {
			u.DeliveryCount++
		}
		u.Properties = mergeProperties(m.Properties, s.Properties)
		if !m.DeadLettered && u.DeliveryCount >= e.def.Properties.MaxDeliveryCount {
			// Computed again at commit by failDeliveryLocked; the record
			// written is the final state.
			c := *m
			u.Apply(&c)
			u = deadLetterUpdate(&c, "MaxDeliveryCountExceeded", maxDeliveryDescription(e.def.Properties.MaxDeliveryCount), nil)
		}
		return Record{Kind: RecUpdate, Entity: e.key, Update: u}, nil
	case Defer:
		u := updateOf(m)
		u.State = StateDeferred
		u.Properties = mergeProperties(m.Properties, s.Properties)
		return Record{Kind: RecUpdate, Entity: e.key, Update: u}, nil
	case DeadLetter:
		if m.DeadLettered {
			return Record{}, errorf(CodeInvalidArgument, "message %d is already in the dead-letter sub-queue", m.SequenceNumber)
		}
		return Record{Kind: RecUpdate, Entity: e.key, Update: deadLetterUpdate(m, s.DeadLetterReason, s.DeadLetterDescription, s.Properties)}, nil
	}
	return Record{}, errorf(CodeInvalidArgument, "unknown disposition %d", s.Disposition)
}

// settledLocked finishes settlement s of en, whose record rec was written
// with result err: it applies the settlement, or puts en back as it was.
func (e *entity) settledLocked(en *entry, s Settlement, rec Record, err error, now time.Time) error {
	m := en.msg
	if en.st != stSettling {
		return errorf(CodeLockLost, "the lock on message %d was lost while it was settled", m.SequenceNumber)
	}
	if err != nil {
		e.revertLocked(en, now)
		return err
	}
	switch s.Disposition {
	case Complete:
		e.removeLocked(en)
	case Abandon:
		en.st = stLocked // back to the lock (counts are the same), then fail it
		e.failDeliveryLocked(en, s.Properties, now, false)
	case Defer:
		m.Properties = rec.Update.Properties
		e.setStateLocked(en, stDeferred) // counts leave as Active, enter as Deferred
		m.State = StateDeferred
		e.armTTLLocked(en)
	case DeadLetter:
		e.deadLetterLocked(en, s.DeadLetterReason, s.DeadLetterDescription, s.Properties)
	}
	return nil
}

// deadLetterUpdate is the record of m moved to the dead-letter sub-queue.
// DeadLetterSource is left as it is: Service Bus sets it only on messages
// auto-forwarded out of a dead-letter queue.
func deadLetterUpdate(m *Message, reason, desc string, props map[string]any) *MessageUpdate {
	c := *m
	upd := make(map[string]any, len(props)+2)
	for k, v := range props {
		upd[k] = v
	}
	upd["DeadLetterReason"] = reason
	upd["DeadLetterErrorDescription"] = desc
	c.Properties = mergeProperties(c.Properties, upd)
	c.DeadLettered = true
	c.State = StateActive
	c.DeadLetterReason, c.DeadLetterDescription = reason, desc
	return updateOf(&c)
}

// lockedEntryLocked finds the entry locked by token, checking the lock and,
// for session messages, the session lock.
func (e *entity) lockedEntryLocked(token LockToken, dlq bool, now time.Time) (*entry, error) {
	if err := e.usableLocked(); err != nil {
		return nil, err
	}
	en := e.byToken[token]
	if en == nil && !dlq {
		if _, ok := e.sessionLost[token]; ok {
			return nil, errorf(CodeSessionLockLost, "the session lock under which the message was received was lost (lock token %s)", token)
		}
	}
	if en == nil || en.st != stLocked || en.msg.DeadLettered != dlq {
		return nil, errorf(CodeLockLost, "the lock supplied is invalid: it expired, or the message was already settled or removed (lock token %s)", token)
	}
	if !dlq && e.def.Properties.RequiresSession {
		s := e.sessions[en.msg.SessionID]
		if s == nil || !s.lockValid(now) {
			return nil, errorf(CodeSessionLockLost, "the session lock of session %q was lost", en.msg.SessionID)
		}
		return en, nil
	}
	if !now.Before(en.msg.LockedUntil) {
		return nil, errorf(CodeLockLost, "the lock on message %d expired at %s", en.msg.SequenceNumber, en.msg.LockedUntil.Format(time.RFC3339Nano))
	}
	return en, nil
}

// RenewLock extends message locks by the entity's LockDuration and returns
// the new expiry of each. Session messages are renewed with their session
// (RenewSessionLock).
func (b *Broker) RenewLock(ctx context.Context, path string, tokens []LockToken) ([]time.Time, error) {
	b.runDue()
	e, dlq, err := b.lookup(path)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := b.clock.Now()
	ens := make([]*entry, len(tokens))
	for i, t := range tokens {
		en, err := e.lockedEntryLocked(t, dlq, now)
		if err != nil {
			return nil, err
		}
		if !dlq && e.def.Properties.RequiresSession {
			return nil, errorf(CodeInvalidArgument, "message locks of a session entity are renewed with the session lock")
		}
		ens[i] = en
	}
	out := make([]time.Time, len(ens))
	for i, en := range ens {
		en.msg.LockedUntil = now.Add(e.def.Properties.LockDuration)
		b.timers.add(timerEvent{when: en.msg.LockedUntil, kind: evLockExpiry, ent: e, seq: en.msg.SequenceNumber, token: en.msg.LockToken})
		out[i] = en.msg.LockedUntil
	}
	e.lastActivity = now
	return out, nil
}
