package servicebus

// The message operations of the $management node (service-bus-amqp.md
// §8.2–§8.7).

import (
	"context"
	"math"
	"time"

	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/broker"
)

// peek answers peek-message: a list of {message: binary} in ascending
// sequence order from from-sequence-number, or 204 when there is none.
func (m *Management) peek(ctx context.Context, req *Request, body encoding.Map) (*Response, error) {
	from, err := requiredInt(body, "from-sequence-number", 0, math.MaxInt64)
	if err != nil {
		return nil, err
	}
	count, err := requiredInt(body, "message-count", 1, math.MaxInt32)
	if err != nil {
		return nil, err
	}
	// The SDKs page on the last sequence number returned, so a smaller
	// page than asked for is safe.
	count = min(count, int64(m.broker.Limits().MaxPeekBatch))
	sid, _, err := stringField(body, "session-id")
	if err != nil {
		return nil, err
	}
	if sid == "" && req.Session != nil {
		sid = req.Session.SessionID
	}
	if _, _, err := boolField(body, "omit-message-body"); err != nil {
		return nil, err
	}
	msgs, err := m.broker.Peek(ctx, req.Entity, from, int(count), sid)
	if err != nil {
		return nil, err
	}
	if len(msgs) == 0 {
		return noContent(), nil
	}
	list := make([]any, len(msgs))
	for i, msg := range msgs {
		b, err := AppendDelivery(nil, msg, DeliveryOptions{})
		if err != nil {
			return nil, err
		}
		list[i] = encoding.Map{{Key: "message", Value: b}}
	}
	return ok(encoding.Map{{Key: "messages", Value: list}}), nil
}

// boolField reads an optional boolean field (omit-message-body, which JS
// may send to peek; the body is returned anyway).
func boolField(body encoding.Map, key string) (bool, bool, error) {
	v, present := lookup(body, key)
	if !present {
		return false, false, nil
	}
	b, isBool := v.(bool)
	if !isBool {
		return false, false, argErrorf("field %q is %s; it must be a boolean", key, typeName(v))
	}
	return b, true, nil
}

// renewLock answers renew-lock: expirations as array<timestamp>.
func (m *Management) renewLock(ctx context.Context, req *Request, body encoding.Map) (*Response, error) {
	tokens, err := lockTokensField(body, "lock-tokens")
	if err != nil {
		return nil, err
	}
	exp, err := m.broker.RenewLock(ctx, req.Entity, tokens)
	if err != nil {
		return nil, err
	}
	return ok(encoding.Map{{Key: "expirations", Value: exp}}), nil
}

// receiveBySequence answers receive-by-sequence-number: deferred messages
// by sequence number, locked (receiver-settle-mode 1, the default) or
// deleted (0). Each list entry carries the lock token under lock-token
// (JS) and as the delivery annotation x-opt-lock-token (Go).
func (m *Management) receiveBySequence(ctx context.Context, req *Request, body encoding.Map) (*Response, error) {
	seqs, err := sequenceNumbersField(body, "sequence-numbers")
	if err != nil {
		return nil, err
	}
	if len(seqs) == 0 {
		return nil, argErrorf("field %q is empty", "sequence-numbers")
	}
	settle, present, err := intField(body, "receiver-settle-mode", 0, 1)
	if err != nil {
		return nil, err
	}
	mode := broker.PeekLock
	if present && settle == 0 {
		mode = broker.ReceiveAndDelete
	}
	sess, err := sessionOf(req, body)
	if err != nil {
		return nil, err
	}
	msgs, err := m.broker.ReceiveDeferred(ctx, req.Entity, seqs, mode, sess)
	if err != nil {
		return nil, err
	}
	if len(msgs) == 0 { // unreachable: the broker returns every number or an error
		return nil, &broker.Error{Code: broker.CodeMessageNotFound, Message: "no deferred message was found"}
	}
	peekLock := mode == broker.PeekLock
	list := make([]any, len(msgs))
	for i, msg := range msgs {
		b, err := AppendDelivery(nil, msg, DeliveryOptions{PeekLock: peekLock, IncludeLockToken: peekLock})
		if err != nil {
			return nil, err
		}
		entry := encoding.Map{{Key: "message", Value: b}}
		if peekLock {
			entry = append(encoding.Map{{Key: "lock-token", Value: encoding.UUID(msg.LockToken)}}, entry...)
		}
		list[i] = entry
	}
	return ok(encoding.Map{{Key: "messages", Value: list}}), nil
}

// updateDisposition answers update-disposition: settles messages by lock
// token (§7.2). Settlement stops at the first token that fails.
func (m *Management) updateDisposition(ctx context.Context, req *Request, body encoding.Map) (*Response, error) {
	status, present, err := stringField(body, "disposition-status")
	if err != nil {
		return nil, err
	}
	if !present {
		return nil, argErrorf("field %q is missing", "disposition-status")
	}
	var s broker.Settlement
	switch status {
	case "completed":
		s.Disposition = broker.Complete
	case "abandoned":
		s.Disposition = broker.Abandon
	case "suspended":
		s.Disposition = broker.DeadLetter
	case "defered", "deferred":
		s.Disposition = broker.Defer
	default:
		return nil, argErrorf("disposition-status %q is not one of completed, abandoned, suspended, defered", status)
	}
	tokens, err := lockTokensField(body, "lock-tokens")
	if err != nil {
		return nil, err
	}
	if s.DeadLetterReason, _, err = stringField(body, "deadletter-reason"); err != nil {
		return nil, err
	}
	if s.DeadLetterDescription, _, err = stringField(body, "deadletter-description"); err != nil {
		return nil, err
	}
	mods, err := mapField(body, "properties-to-modify")
	if err != nil {
		return nil, err
	}
	if s.Properties, err = brokerProperties(mods); err != nil {
		return nil, err
	}
	if _, _, err := stringField(body, "session-id"); err != nil {
		return nil, err
	}
	for _, t := range tokens {
		if err := m.broker.Settle(ctx, req.Entity, t, s); err != nil {
			return nil, err
		}
	}
	return ok(nil), nil
}

// brokerProperties converts properties-to-modify into broker application
// properties. Keys must be strings or symbols; values must have a type an
// application property can hold.
func brokerProperties(mods encoding.Map) (map[string]any, error) {
	if len(mods) == 0 {
		return nil, nil
	}
	out := make(map[string]any, len(mods))
	for _, kv := range mods {
		var k string
		switch key := kv.Key.(type) {
		case string:
			k = key
		case encoding.Symbol:
			k = string(key)
		default:
			return nil, argErrorf("properties-to-modify has a key of type %s; keys are strings", typeName(kv.Key))
		}
		v, err := propertyValue(k, kv.Value)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

// propertyValue converts an AMQP value into a broker property value.
func propertyValue(k string, v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, string, []byte, time.Time, int8, int16, int32, int64,
		uint8, uint16, uint32, uint64, float32, float64:
		return x, nil
	case encoding.Symbol:
		return string(x), nil
	case encoding.Char:
		return string(rune(x)), nil
	case encoding.UUID:
		return broker.LockToken(x), nil
	}
	return nil, argErrorf("property %q is %s; application properties hold only simple values", k, typeName(v))
}

// schedule answers schedule-message: each entry's message binary is
// parsed and mapped exactly as a transfer would be, and enqueued at its
// x-opt-scheduled-enqueue-time. The response lists the sequence numbers
// in request order as array<long>.
func (m *Management) schedule(ctx context.Context, req *Request, body encoding.Map) (*Response, error) {
	entries, err := listField(body, "messages")
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, argErrorf("field %q is empty", "messages")
	}
	msgs := make([]*broker.Message, len(entries))
	for i, e := range entries {
		em, isMap := e.(encoding.Map)
		if !isMap {
			return nil, argErrorf("messages[%d] is %s; it must be a map", i, typeName(e))
		}
		bin, _, err := binaryField(em, "message")
		if err != nil {
			return nil, argErrorf("messages[%d]: %w", i, err)
		}
		if bin == nil {
			return nil, argErrorf("messages[%d] has no %q binary", i, "message")
		}
		for _, key := range [...]string{"message-id", "session-id", "partition-key", "via-partition-key"} {
			if _, _, err := idField(em, key); err != nil {
				return nil, argErrorf("messages[%d]: %w", i, err)
			}
		}
		bm, err := FromAMQP(bin)
		if err != nil {
			return nil, argErrorf("messages[%d] is not a valid AMQP message: %w", i, err)
		}
		if bm.ScheduledEnqueueTime.IsZero() {
			return nil, argErrorf("messages[%d] has no x-opt-scheduled-enqueue-time timestamp annotation", i)
		}
		msgs[i] = bm
	}
	seqs, err := m.broker.Send(ctx, req.Entity, msgs)
	if err != nil {
		return nil, err
	}
	return ok(encoding.Map{{Key: "sequence-numbers", Value: seqs}}), nil
}

// idField checks an optional identifier field of a schedule entry: a
// string, symbol, ulong, uuid or binary (message-id may be any of them).
func idField(m encoding.Map, key string) (any, bool, error) {
	v, present := lookup(m, key)
	if !present {
		return nil, false, nil
	}
	switch v.(type) {
	case string, encoding.Symbol, uint64, encoding.UUID, []byte:
		return v, true, nil
	}
	return nil, false, argErrorf("field %q is %s; it must be a string", key, typeName(v))
}

// cancelScheduled answers cancel-scheduled-message. Sequence numbers that
// name no scheduled message are ignored (§8.7: a lenient 200).
func (m *Management) cancelScheduled(ctx context.Context, req *Request, body encoding.Map) (*Response, error) {
	seqs, err := sequenceNumbersField(body, "sequence-numbers")
	if err != nil {
		return nil, err
	}
	if len(seqs) == 0 {
		return ok(nil), nil
	}
	err = m.broker.CancelScheduled(ctx, req.Entity, seqs)
	if broker.CodeOf(err) == broker.CodeMessageNotFound {
		// The broker cancels all or nothing; cancel the ones that exist.
		err = nil
		for _, s := range seqs {
			if e := m.broker.CancelScheduled(ctx, req.Entity, []int64{s}); e != nil && broker.CodeOf(e) != broker.CodeMessageNotFound {
				err = e
				break
			}
		}
	}
	if err != nil {
		return nil, err
	}
	return ok(nil), nil
}
