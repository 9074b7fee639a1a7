package broker

// Storage queue message operations. Each follows the engine's path:
// decide and submit under the entity's mutex, wait for durability outside
// it, then apply (or undo). See storagequeue.go for the model.

import (
	"bytes"
	"cmp"
	"context"
	"strings"
	"time"
)

// sqClearChunk bounds the records of one group a Clear submits, so that a
// huge queue's Clear never exceeds what a store takes in one group.
const sqClearChunk = 4096

// Put adds a message with text (copied). It is hidden for visibility (0:
// visible at once) and expires after ttl (0: SQDefaultTTL; negative: never;
// visibility must be shorter). It returns once the message is durable; the
// returned receipt is valid at once for Update and Delete.
func (q *StorageQueues) Put(ctx context.Context, name string, text []byte, visibility, ttl time.Duration) (*SQMessage, error) {
	b := q.b
	e, err := q.entity(name)
	if err != nil {
		return nil, err
	}
	if ttl == 0 {
		ttl = SQDefaultTTL
	}
	if err := sqCheckVisibility(visibility); err != nil {
		return nil, err
	}
	if ttl > 0 && visibility >= ttl {
		return nil, errorf(CodeInvalidArgument, "visibility timeout %v is not shorter than the time to live %v", visibility, ttl)
	}
	body := bytes.Clone(text)
	if body == nil {
		body = []byte{}
	}

	e.mu.Lock()
	if err := e.existsLocked(); err != nil {
		e.mu.Unlock()
		return nil, err
	}
	if err := e.sqCheckTextLocked(body); err != nil {
		e.mu.Unlock()
		return nil, err
	}
	now := b.clock.Now()
	e.lastActivity = now
	id := b.newToken().String()
	for e.sq.byID[id] != nil { // only with a broker Random that repeats itself
		id = b.newToken().String()
	}
	e.lastSeq++
	m := &Message{
		MessageID:      id,
		Format:         FormatRaw,
		Body:           body,
		SequenceNumber: e.lastSeq,
		EnqueuedTime:   now,
		ExpiresAt:      sqExpiry(now, ttl),
		BodySize:       int64(len(body)),
		VisibleAt:      now.Add(visibility),
		PopReceipt:     b.newToken(),
	}
	en := &sqEntry{msg: m, vidx: -1, xidx: -1, busy: true}
	e.sq.byID[id] = en
	rec := m.clone()
	ch := b.submitLocked([]Record{{Kind: RecEnqueue, Entity: e.key, Msg: rec}})
	e.mu.Unlock()

	err = wait(ch)

	e.mu.Lock()
	defer e.mu.Unlock()
	en.busy = false
	if err != nil {
		e.sqDropLocked(en)
		return nil, err
	}
	out := sqMessageOf(m, true)
	if en.gone {
		return out, nil // cleared while it was being put
	}
	if rec.BodyRef != 0 {
		m.BodyRef, m.Body = rec.BodyRef, nil // the store keeps it
	}
	e.sqCommitLocked(en)
	e.sqRestLocked(en, b.clock.Now())
	return out, nil
}

// Get dequeues up to n visible messages (n ≤ 0: 1), in ascending VisibleAt,
// ties by insertion order. Atomically per message it adds one to
// DequeueCount, mints a new receipt (the previous one is no longer valid)
// and hides the message until now+visibility (which may pass its expiry).
// The changes are durable (one store group per call) before Get returns.
// No visible message: an empty result.
func (q *StorageQueues) Get(ctx context.Context, name string, n int, visibility time.Duration) ([]*SQMessage, error) {
	b := q.b
	e, err := q.entity(name)
	if err != nil {
		return nil, err
	}
	if n <= 0 {
		n = 1
	}
	if n > b.limits.MaxReceiveBatch {
		return nil, errorf(CodeInvalidArgument, "cannot get %d messages at once; the limit is %d", n, b.limits.MaxReceiveBatch)
	}
	if err := sqCheckVisibility(visibility); err != nil {
		return nil, err
	}

	e.mu.Lock()
	if err := e.existsLocked(); err != nil {
		e.mu.Unlock()
		return nil, err
	}
	now := b.clock.Now()
	e.lastActivity = now
	var taken []*sqEntry
	var recs, purged []Record
	for len(taken) < n {
		en := e.sq.visible.min()
		if en == nil || now.Before(en.msg.VisibleAt) {
			break
		}
		if en.expired(now) {
			// Purged now; its removal joins the Get's group.
			e.sqDropLocked(en)
			purged = append(purged, Record{Kind: RecRemove, Entity: e.key, Seq: en.msg.SequenceNumber})
			continue
		}
		e.sqTakeLocked(en)
		en.busy = true
		u := updateOf(en.msg)
		u.DeliveryCount = sqDequeueCount(u.DeliveryCount)
		u.VisibleAt = now.Add(visibility)
		u.PopReceipt = b.newToken()
		taken = append(taken, en)
		recs = append(recs, Record{Kind: RecUpdate, Entity: e.key, Update: u})
	}
	if len(taken) == 0 {
		b.submitAsyncLocked(purged)
		e.mu.Unlock()
		return []*SQMessage{}, nil
	}
	ch := b.submitLocked(append(recs, purged...)) // recs[i] stays taken[i]'s
	e.mu.Unlock()

	err = wait(ch)

	e.mu.Lock()
	now = b.clock.Now()
	var msgs []*Message
	if err == nil {
		msgs = make([]*Message, len(taken))
	}
	for i, en := range taken {
		en.busy = false
		if err == nil {
			recs[i].Update.Apply(en.msg)
			msgs[i] = en.msg.clone()
		}
		e.sqRestLocked(en, now)
	}
	e.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return b.sqWithBodies(ctx, e, msgs, true)
}

// Peek returns up to n (≤ 0: 1) visible, unexpired messages in Get's order
// without changing anything; they carry no receipt.
func (q *StorageQueues) Peek(ctx context.Context, name string, n int) ([]*SQMessage, error) {
	b := q.b
	e, err := q.entity(name)
	if err != nil {
		return nil, err
	}
	if n <= 0 {
		n = 1
	}
	if n > b.limits.MaxPeekBatch {
		return nil, errorf(CodeInvalidArgument, "cannot peek %d messages at once; the limit is %d", n, b.limits.MaxPeekBatch)
	}
	e.mu.Lock()
	if err := e.existsLocked(); err != nil {
		e.mu.Unlock()
		return nil, err
	}
	now := b.clock.Now()
	ens, expired := e.sq.visible.firstVisible(n, now)
	msgs := make([]*Message, len(ens))
	for i, en := range ens {
		msgs[i] = en.msg.clone()
	}
	for _, en := range expired {
		e.sqPurgeLocked(en)
	}
	e.mu.Unlock()
	return b.sqWithBodies(ctx, e, msgs, false)
}

// Delete deletes message id if receipt is its current receipt. An unknown
// id, a receipt that is not the current one and an expired message are
// CodeMessageNotFound; a receipt that is not one of ours is
// CodeInvalidArgument. A receipt stays valid after its visibility timeout
// lapses, until the message is dequeued again, updated, deleted or expires.
func (q *StorageQueues) Delete(ctx context.Context, name, id, receipt string) error {
	b := q.b
	e, err := q.entity(name)
	if err != nil {
		return err
	}
	tok, err := parseReceipt(receipt)
	if err != nil {
		return err
	}
	e.mu.Lock()
	en, err := e.sqHeldLocked(id, tok, b.clock.Now())
	if err != nil {
		e.mu.Unlock()
		return err
	}
	e.sqTakeLocked(en)
	en.busy = true
	ch := b.submitLocked([]Record{{Kind: RecRemove, Entity: e.key, Seq: en.msg.SequenceNumber}})
	e.mu.Unlock()

	err = wait(ch)

	e.mu.Lock()
	defer e.mu.Unlock()
	en.busy = false
	if err != nil {
		e.sqRestLocked(en, b.clock.Now())
		return err
	}
	e.sqDropLocked(en)
	return nil
}

// Update hides message id until now+visibility (0: visible now; never past
// its expiry) and mints a new receipt, checking receipt as Delete does.
// text, when not nil, replaces the message text (empty: blank it); nil
// keeps it. DequeueCount, InsertedAt and ExpiresAt do not change. The
// result carries the new receipt and VisibleAt, and Text only when it was
// replaced.
func (q *StorageQueues) Update(ctx context.Context, name, id, receipt string, visibility time.Duration, text []byte) (*SQMessage, error) {
	b := q.b
	e, err := q.entity(name)
	if err != nil {
		return nil, err
	}
	if err := sqCheckVisibility(visibility); err != nil {
		return nil, err
	}
	tok, err := parseReceipt(receipt)
	if err != nil {
		return nil, err
	}
	var body []byte
	if text != nil {
		body = bytes.Clone(text)
		if body == nil {
			body = []byte{}
		}
	}
	e.mu.Lock()
	now := b.clock.Now()
	en, err := e.sqHeldLocked(id, tok, now)
	if err == nil && body != nil {
		err = e.sqCheckTextLocked(body)
	}
	if err != nil {
		e.mu.Unlock()
		return nil, err
	}
	e.lastActivity = now
	e.sqTakeLocked(en)
	en.busy = true
	c := en.msg.clone()
	c.VisibleAt = now.Add(visibility)
	if !c.ExpiresAt.IsZero() && c.VisibleAt.After(c.ExpiresAt) {
		c.VisibleAt = c.ExpiresAt
	}
	c.PopReceipt = b.newToken()
	var rec Record
	if body != nil {
		c.Body, c.BodySize, c.BodyRef = body, int64(len(body)), 0
		rec = Record{Kind: RecEnqueue, Entity: e.key, Msg: c} // replaces the message
	} else {
		rec = Record{Kind: RecUpdate, Entity: e.key, Update: updateOf(c)}
	}
	ch := b.submitLocked([]Record{rec})
	e.mu.Unlock()

	err = wait(ch)

	e.mu.Lock()
	defer e.mu.Unlock()
	en.busy = false
	if err != nil {
		e.sqRestLocked(en, b.clock.Now())
		return nil, err
	}
	out := sqMessageOf(c, true)
	out.Text = body
	if body != nil {
		if c.BodyRef != 0 {
			c.Body = nil // the store keeps it
		}
		if !en.gone {
			e.counts.SizeBytes += c.BodySize - en.msg.BodySize
		}
		en.msg = c
	} else {
		rec.Update.Apply(en.msg)
	}
	e.sqRestLocked(en, b.clock.Now())
	return out, nil
}

// Clear deletes every message of a storage queue, visible or not, the
// ones other operations are changing included.
func (q *StorageQueues) Clear(ctx context.Context, name string) error {
	b := q.b
	e, err := q.entity(name)
	if err != nil {
		return err
	}
	e.mu.Lock()
	if err := e.existsLocked(); err != nil {
		e.mu.Unlock()
		return err
	}
	e.lastActivity = b.clock.Now()
	ens := make([]*sqEntry, 0, len(e.sq.byID))
	for _, en := range e.sq.byID {
		ens = append(ens, en)
	}
	var chs []<-chan error
	for start := 0; start < len(ens); start += sqClearChunk {
		chunk := ens[start:min(start+sqClearChunk, len(ens))]
		recs := make([]Record, len(chunk))
		for i, en := range chunk {
			e.sqTakeLocked(en)
			en.clearing++
			recs[i] = Record{Kind: RecRemove, Entity: e.key, Seq: en.msg.SequenceNumber}
		}
		chs = append(chs, b.submitLocked(recs))
	}
	e.mu.Unlock()

	errs := make([]error, len(chs))
	for i, ch := range chs {
		errs[i] = wait(ch)
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	now := b.clock.Now()
	var first error
	for i, en := range ens {
		en.clearing--
		if err := errs[i/sqClearChunk]; err != nil {
			first = cmp.Or(first, err)
			e.sqRestLocked(en, now)
			continue
		}
		e.sqDropLocked(en)
	}
	return first
}

// sqHeldLocked finds message id for Delete or Update: it must exist, be
// unexpired, idle and hold receipt tok.
func (e *entity) sqHeldLocked(id string, tok LockToken, now time.Time) (*sqEntry, error) {
	if err := e.existsLocked(); err != nil {
		return nil, err
	}
	en := e.sq.byID[strings.ToLower(id)]
	switch {
	case en == nil || !en.committed || en.gone:
		return nil, errorf(CodeMessageNotFound, "message %q not found in %q", id, e.def.Name)
	case en.expired(now):
		if en.idle() {
			e.sqPurgeLocked(en)
		}
		return nil, errorf(CodeMessageNotFound, "message %q expired at %s", id, en.msg.ExpiresAt.Format(time.RFC3339))
	case en.busy || en.clearing > 0:
		return nil, errorf(CodeMessageNotFound, "message %q is being changed by another request; pop receipt %s is no longer current", id, formatReceipt(tok))
	case en.msg.PopReceipt != tok:
		return nil, errorf(CodeMessageNotFound, "pop receipt %s is not the current receipt of message %q: a later Get or Update replaced it", formatReceipt(tok), id)
	}
	return en, nil
}

// sqCheckTextLocked checks a message text against the entity's message
// size.
func (e *entity) sqCheckTextLocked(text []byte) error {
	if limit := e.def.Properties.MaxMessageSizeInKilobytes << 10; int64(len(text)) > limit {
		return errorf(CodeMessageTooLarge, "the message text is %d bytes; storage queue %q allows %d", len(text), e.def.Name, limit)
	}
	return nil
}

// sqCheckVisibility checks a visibility timeout.
func sqCheckVisibility(d time.Duration) error {
	if d < 0 || d > SQMaxVisibility {
		return errorf(CodeInvalidArgument, "visibility timeout %v out of range [0, %v]", d, SQMaxVisibility)
	}
	return nil
}

// sqWithBodies reads the bodies the broker does not hold and renders the
// messages.
func (b *Broker) sqWithBodies(ctx context.Context, e *entity, msgs []*Message, receipts bool) ([]*SQMessage, error) {
	msgs, err := b.withBodies(ctx, e, msgs)
	if err != nil {
		return nil, err
	}
	out := make([]*SQMessage, len(msgs))
	for i, m := range msgs {
		out[i] = sqMessageOf(m, receipts)
	}
	return out, nil
}
