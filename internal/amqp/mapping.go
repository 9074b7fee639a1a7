package amqp

import (
	"fmt"
	"slices"
	"time"

	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/amqp/frames"
	"github.com/batonmq/baton/internal/broker"
)

// This file maps AMQP messages onto broker messages and back
// (service-bus-amqp.md §6) and dispositions onto settlements (§7.1).
//
// Inbound: the bare message (properties … footer) is stored unchanged as
// broker.Message.Body with Format FormatAMQP; the fields the broker needs
// are extracted. A Service Bus batch (message-format 0x80013700) becomes
// one broker message per data section.
//
// Outbound: a fresh header (delivery-count = broker DeliveryCount, ttl),
// delivery-annotations with x-opt-lock-token in peek-lock, the broker's
// message-annotations, then the bare bytes with broker.Message.Properties
// (abandon/defer/dead-letter changes) merged over the application-properties.

// toBrokerMessages maps one complete inbound delivery.
func toBrokerMessages(payload []byte, format uint32) ([]*broker.Message, error) {
	var view encoding.MessageView
	if err := view.Parse(payload); err != nil {
		return nil, fmt.Errorf("amqp: parse message: %w", err)
	}
	if format != frames.MessageFormatBatch {
		return []*broker.Message{toBrokerMessage(&view)}, nil
	}
	var out []*broker.Message
	for data := range view.AllData() {
		var inner encoding.MessageView
		if err := inner.Parse(data); err != nil {
			return nil, fmt.Errorf("amqp: parse batched message %d: %w", len(out), err)
		}
		out = append(out, toBrokerMessage(&inner))
	}
	if len(out) == 0 {
		return nil, &frames.Error{Condition: frames.ErrCondNotAllowed, Description: "batch message has no data sections"}
	}
	return out, nil
}

func toBrokerMessage(v *encoding.MessageView) *broker.Message {
	p := &v.Properties
	m := &broker.Message{
		MessageID:        p.MessageID.String(),
		SessionID:        p.GroupID,
		CorrelationID:    p.CorrelationID.String(),
		Subject:          p.Subject,
		To:               p.To,
		ReplyTo:          p.ReplyTo,
		ReplyToSessionID: p.ReplyToGroupID,
		ContentType:      string(p.ContentType),
		Format:           broker.FormatAMQP,
		Body:             v.Bare(),
	}
	if v.Header.HasTTL && v.Header.TTL > 0 {
		m.TimeToLive = time.Duration(v.Header.TTL) * time.Millisecond
	}
	if t, ok := v.ScheduledEnqueueTime(); ok {
		m.ScheduledEnqueueTime = t
	}
	if k, ok := v.PartitionKey(); ok {
		m.PartitionKey = k
	}
	return m
}

// appendDelivery encodes the payload of a delivery of m after dst.
func appendDelivery(dst []byte, m *broker.Message, peekLock bool) ([]byte, error) {
	bare, err := bareOf(m)
	if err != nil {
		return dst, err
	}
	d := encoding.Delivery{
		Header: encoding.Header{Priority: encoding.DefaultPriority, DeliveryCount: uint32(max(m.DeliveryCount, 0))},
		Annotations: encoding.BrokerAnnotations{
			SequenceNumber:   m.SequenceNumber,
			EnqueuedTime:     m.EnqueuedTime,
			DeadLetterSource: m.DeadLetterSource,
			MessageState:     int32(m.State),
		},
		Bare: bare,
	}
	if ttl := m.TimeToLive; ttl > 0 && ttl/time.Millisecond <= 0xffffffff {
		d.Header.TTL, d.Header.HasTTL = uint32(ttl/time.Millisecond), true
	}
	if peekLock {
		d.Annotations.LockedUntil = m.LockedUntil
		d.LockToken, d.HasLockToken = encoding.UUID(m.LockToken), true
	}
	if !m.ScheduledEnqueueTime.IsZero() {
		d.Annotations.Extra = append(d.Annotations.Extra,
			encoding.KV{Key: encoding.Symbol(encoding.AnnotationScheduledEnqueueTime), Value: m.ScheduledEnqueueTime})
	}
	if m.PartitionKey != "" {
		d.Annotations.Extra = append(d.Annotations.Extra,
			encoding.KV{Key: encoding.Symbol(encoding.AnnotationPartitionKey), Value: m.PartitionKey})
	}
	out, err := encoding.AppendDelivery(dst, &d)
	if err != nil {
		return dst, fmt.Errorf("amqp: encode delivery: %w", err)
	}
	return out, nil
}

// bareOf returns the bare message to deliver for m: the stored bytes with
// the broker's property changes merged, a properties section added when
// the sender sent none (Go reads header fields only when one is present,
// §6.1), or, for a message that did not come through AMQP, a bare message
// built from its fields.
func bareOf(m *broker.Message) ([]byte, error) {
	if m.Format != broker.FormatAMQP {
		msg := &encoding.Message{
			Properties: &encoding.Properties{
				MessageID:      encoding.StringID(m.MessageID),
				To:             m.To,
				Subject:        m.Subject,
				ReplyTo:        m.ReplyTo,
				CorrelationID:  stringIDOrNone(m.CorrelationID),
				ContentType:    encoding.Symbol(m.ContentType),
				GroupID:        m.SessionID,
				ReplyToGroupID: m.ReplyToSessionID,
			},
			ApplicationProperties: propertiesMap(m.Properties),
			Data:                  [][]byte{m.Body},
		}
		if m.MessageID == "" {
			msg.Properties.MessageID = encoding.MessageID{}
		}
		return encoding.AppendMessage(nil, msg)
	}
	bare := m.Body
	if !startsWithProperties(bare) {
		var w encoding.Buffer
		w.AppendProperties(&encoding.Properties{})
		bare = append(w.Bytes(), bare...)
	}
	if len(m.Properties) == 0 {
		return bare, nil
	}
	out, err := encoding.RewriteAppProperties(nil, bare, propertiesMap(m.Properties))
	if err != nil {
		// A stored body that does not parse (not written by this server)
		// is delivered as it is rather than never.
		return bare, nil
	}
	return out, nil
}

func stringIDOrNone(s string) encoding.MessageID {
	if s == "" {
		return encoding.MessageID{}
	}
	return encoding.StringID(s)
}

// startsWithProperties reports whether a bare message opens with a
// properties section.
func startsWithProperties(bare []byte) bool {
	r := encoding.NewReader(bare)
	code, name, err := r.ReadDescriptor()
	if err != nil {
		return false
	}
	if name != nil {
		return string(name) == "amqp:properties:list"
	}
	return code == encoding.SectionProperties
}

// propertiesMap converts broker properties into an application-properties
// map with string keys, in key order.
func propertiesMap(props map[string]any) encoding.Map {
	if len(props) == 0 {
		return nil
	}
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make(encoding.Map, 0, len(keys))
	for _, k := range keys {
		v := props[k]
		switch x := v.(type) {
		case broker.LockToken:
			v = encoding.UUID(x)
		case int:
			v = int64(x)
		}
		out = append(out, encoding.KV{Key: k, Value: v})
	}
	return out
}

// brokerProperties converts an AMQP map (message-annotations of modified,
// info of a dead-letter error) into broker properties. Keys may be symbols
// or strings; values of types the broker cannot keep are dropped.
func brokerProperties(m encoding.Map, skip ...string) map[string]any {
	var out map[string]any
	for _, kv := range m {
		var k string
		switch key := kv.Key.(type) {
		case string:
			k = key
		case encoding.Symbol:
			k = string(key)
		default:
			continue
		}
		if slices.Contains(skip, k) {
			continue
		}
		var v any
		switch x := kv.Value.(type) {
		case nil, bool, string, []byte, time.Time, int8, int16, int32, int64,
			uint8, uint16, uint32, uint64, float32, float64:
			v = x
		case encoding.Symbol:
			v = string(x)
		case encoding.UUID:
			v = broker.LockToken(x)
		case encoding.Char:
			v = string(rune(x))
		default:
			continue
		}
		if out == nil {
			out = make(map[string]any)
		}
		out[k] = v
	}
	return out
}

const (
	propDeadLetterReason      = "DeadLetterReason"
	propDeadLetterDescription = "DeadLetterErrorDescription"
)

// settlementOf maps a client's outcome onto a broker settlement (§7.1).
// A missing state (settled without outcome) releases the message.
func settlementOf(state frames.DeliveryState) broker.Settlement {
	switch s := state.(type) {
	case frames.Accepted:
		return broker.Settlement{Disposition: broker.Complete}
	case frames.Modified:
		d := broker.Abandon
		if s.UndeliverableHere {
			d = broker.Defer
		}
		return broker.Settlement{Disposition: d, Properties: brokerProperties(s.MessageAnnotations)}
	case frames.Rejected:
		st := broker.Settlement{Disposition: broker.DeadLetter}
		if s.Error != nil {
			if s.Error.Condition == frames.ErrCondDeadLetter {
				st.DeadLetterReason = lookupString(s.Error.Info, propDeadLetterReason)
				st.DeadLetterDescription = lookupString(s.Error.Info, propDeadLetterDescription)
				st.Properties = brokerProperties(s.Error.Info, propDeadLetterReason, propDeadLetterDescription)
			} else {
				st.DeadLetterReason = string(s.Error.Condition)
				st.DeadLetterDescription = s.Error.Description
			}
		}
		return st
	}
	return broker.Settlement{Disposition: broker.Release}
}

func lookupString(m encoding.Map, key string) string {
	v, _ := m.Lookup(key)
	s, _ := v.(string)
	return s
}

// confirmState is the state of the broker's settlement confirmation
// (§7.1): the outcome on success (rejected without error for dead-letter,
// the modified state echoed), rejected with the mapped condition on failure.
func confirmState(client frames.DeliveryState, s broker.Settlement, err error) frames.DeliveryState {
	if err != nil {
		return frames.Rejected{Error: amqpError(err)}
	}
	switch s.Disposition {
	case broker.Complete:
		return frames.Accepted{}
	case broker.Abandon, broker.Defer:
		if m, ok := client.(frames.Modified); ok {
			return m
		}
		return frames.Modified{UndeliverableHere: s.Disposition == broker.Defer}
	case broker.DeadLetter:
		return frames.Rejected{}
	}
	return frames.Released{}
}
