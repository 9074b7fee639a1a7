package servicebus

// This file maps AMQP messages onto broker messages and back
// (service-bus-amqp.md §6).
//
// Inbound, the bare message (properties … footer) is stored unchanged as
// broker.Message.Body with Format FormatAMQP, and the fields the broker
// needs are copied out of the properties, the header and two message
// annotations. The sender's header and message annotations are not kept:
// broker.Message has no place for them.
//
// Outbound, AppendDelivery writes a fresh header (delivery-count = the
// broker's failed attempts, ttl), the lock token as a delivery annotation
// when asked, the broker's message annotations, and the bare message with
// broker.Message.Properties (the changes of abandon, defer and dead-letter)
// merged over its application-properties. A message that did not come
// through AMQP (FormatRaw, from the JSON API) gets a bare message built
// from its fields, with its body in one data section.

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/broker"
)

// MessageFormatBatch is the message-format of a Service Bus batch transfer:
// one complete encoded message in each data section (§4.2).
const MessageFormatBatch uint32 = 0x80013700

// Application properties the broker sets when it dead-letters a message.
// Clients read them as strings (Go panics on any other type).
const (
	PropDeadLetterReason      = "DeadLetterReason"
	PropDeadLetterDescription = "DeadLetterErrorDescription"
)

// FromAMQP maps one encoded AMQP message (a transfer payload of
// message-format 0, or one data section of a batch) onto a broker message.
// The returned Body is a copy of the bare message; it does not alias
// payload.
func FromAMQP(payload []byte) (*broker.Message, error) {
	var v encoding.MessageView
	if err := v.Parse(payload); err != nil {
		return nil, fmt.Errorf("servicebus: parse message: %w", err)
	}
	return fromView(&v), nil
}

// FromAMQPBatch maps the payload of a batch transfer (message-format
// MessageFormatBatch) onto broker messages, one per data section, in order.
func FromAMQPBatch(payload []byte) ([]*broker.Message, error) {
	var v encoding.MessageView
	if err := v.Parse(payload); err != nil {
		return nil, fmt.Errorf("servicebus: parse batch: %w", err)
	}
	var out []*broker.Message
	var inner encoding.MessageView
	for data := range v.AllData() {
		if err := inner.Parse(data); err != nil {
			return nil, fmt.Errorf("servicebus: parse batched message %d: %w", len(out), err)
		}
		out = append(out, fromView(&inner))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("servicebus: %w: the batch has no data sections", ErrInvalidMessage)
	}
	return out, nil
}

// FromTransfer maps the payload of a complete transfer onto broker
// messages: FromAMQPBatch for message-format MessageFormatBatch, FromAMQP
// (one message) for every other format.
func FromTransfer(payload []byte, messageFormat uint32) ([]*broker.Message, error) {
	if messageFormat == MessageFormatBatch {
		return FromAMQPBatch(payload)
	}
	m, err := FromAMQP(payload)
	if err != nil {
		return nil, err
	}
	return []*broker.Message{m}, nil
}

// ErrInvalidMessage is wrapped by mapping errors that are not decode errors.
var ErrInvalidMessage = errors.New("servicebus: invalid message")

func fromView(v *encoding.MessageView) *broker.Message {
	p := &v.Properties
	m := &broker.Message{
		MessageID:        idString(p.MessageID),
		SessionID:        p.GroupID,
		CorrelationID:    idString(p.CorrelationID),
		Subject:          p.Subject,
		To:               p.To,
		ReplyTo:          p.ReplyTo,
		ReplyToSessionID: p.ReplyToGroupID,
		ContentType:      string(p.ContentType),
		Format:           broker.FormatAMQP,
		Body:             bytes.Clone(v.Bare()),
	}
	if m.Body == nil {
		m.Body = []byte{}
	}
	if p.MessageID.IsZero() {
		// Service Bus gives a message sent without an id one of its own
		// (the JS SDK relies on it); it is written into the stored
		// properties so that every delivery carries it.
		m.Body, m.MessageID = withMessageID(v, m.Body)
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
	if raw := v.MessageAnnotationsRaw(); len(raw) > 0 {
		// Kept whole and re-emitted at delivery after the broker's own
		// annotations (x-opt-via-partition-key, an application's keys).
		m.Annotations = bytes.Clone(raw)
	}
	return m
}

// idString is the string form of a message-id or correlation-id: the
// string itself, the decimal ulong, the canonical uuid or the hex binary.
func idString(id encoding.MessageID) string {
	if id.Kind == encoding.IDString {
		return id.Str
	}
	return id.String()
}

// DeliveryOptions choose what AppendDelivery writes besides the message.
type DeliveryOptions struct {
	// PeekLock writes x-opt-locked-until (the message's LockedUntil). Leave
	// it unset for ReceiveAndDelete deliveries and for peeked messages.
	PeekLock bool
	// IncludeLockToken writes the delivery annotation x-opt-lock-token
	// (uuid). receive-by-sequence-number needs it (the encoded message has
	// no delivery tag); a link delivery carries the token as its tag.
	IncludeLockToken bool
}

// AppendDelivery encodes m as a complete AMQP message after dst: header,
// delivery annotations (the lock token, if asked), message annotations
// (x-opt-sequence-number, x-opt-enqueued-time, x-opt-locked-until,
// x-opt-message-state, x-opt-scheduled-enqueue-time, x-opt-partition-key,
// x-opt-deadletter-source) and the bare message with m.Properties merged
// over its application-properties. On error dst is returned unchanged.
func AppendDelivery(dst []byte, m *broker.Message, opts DeliveryOptions) ([]byte, error) {
	bare, err := bareMessage(m)
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
		SenderAnnotations: m.Annotations,
		Bare:              bare,
	}
	if ttl, ok := headerTTL(m); ok {
		d.Header.TTL, d.Header.HasTTL = ttl, true
	}
	if opts.PeekLock && !m.LockedUntil.IsZero() {
		d.Annotations.LockedUntil = m.LockedUntil
	}
	if opts.IncludeLockToken && !m.LockToken.IsZero() {
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
		return dst, fmt.Errorf("servicebus: encode delivery of message %d: %w", m.SequenceNumber, err)
	}
	return out, nil
}

// headerTTL is the header ttl to deliver: the sender's TTL, or the
// effective one when the entity's default is shorter, when it fits a uint
// of milliseconds (§6.4).
func headerTTL(m *broker.Message) (uint32, bool) {
	ttl := m.TimeToLive
	if !m.ExpiresAt.IsZero() && !m.EnqueuedTime.IsZero() {
		if eff := m.ExpiresAt.Sub(m.EnqueuedTime); eff > 0 && (ttl <= 0 || eff < ttl) {
			ttl = eff
		}
	}
	ms := ttl / time.Millisecond
	if ms <= 0 || ms > math.MaxUint32 {
		return 0, false
	}
	return uint32(ms), true
}

// DeliveryTag returns the delivery tag of a peek-lock delivery: the lock
// token in .NET Guid byte order (§6.3).
func DeliveryTag(t broker.LockToken) [16]byte { return encoding.UUID(t).DotNetBytes() }

// LockTokenFromDeliveryTag is the inverse of DeliveryTag. It reports false
// when tag is not 16 bytes long.
func LockTokenFromDeliveryTag(tag []byte) (broker.LockToken, bool) {
	u, ok := encoding.UUIDFromDotNetBytes(tag)
	return broker.LockToken(u), ok
}

// bareMessage returns the bare message to deliver for m.
func bareMessage(m *broker.Message) ([]byte, error) {
	if m.Format != broker.FormatAMQP {
		return rawBare(m)
	}
	bare := m.Body
	if !startsWithProperties(bare) {
		// Go reads the header only when a properties section is present (§6.1).
		var w encoding.Buffer
		w.AppendProperties(&encoding.Properties{})
		bare = append(w.Bytes(), bare...)
	}
	mods := propertiesMap(m.Properties)
	mods = append(mods, deadLetterFields(m)...)
	mods = append(mods, deadLetterFixes(bare, mods)...)
	if len(mods) == 0 {
		return bare, nil
	}
	out, err := encoding.RewriteAppProperties(nil, bare, mods)
	if err != nil {
		return nil, fmt.Errorf("servicebus: merge application properties of message %d: %w", m.SequenceNumber, err)
	}
	return out, nil
}

// rawBare builds a bare message for a message sent without AMQP.
func rawBare(m *broker.Message) ([]byte, error) {
	body := m.Body
	if body == nil {
		body = []byte{}
	}
	msg := &encoding.Message{
		Properties: &encoding.Properties{
			MessageID:      stringIDOrNone(m.MessageID),
			To:             m.To,
			Subject:        m.Subject,
			ReplyTo:        m.ReplyTo,
			CorrelationID:  stringIDOrNone(m.CorrelationID),
			ContentType:    encoding.Symbol(m.ContentType),
			GroupID:        m.SessionID,
			ReplyToGroupID: m.ReplyToSessionID,
		},
		ApplicationProperties: append(propertiesMap(m.Properties), deadLetterFields(m)...),
		Data:                  [][]byte{body},
	}
	out, err := encoding.AppendMessage(nil, msg)
	if err != nil {
		return nil, fmt.Errorf("servicebus: encode message %d: %w", m.SequenceNumber, err)
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
	var r encoding.Reader
	r.Reset(bare)
	code, name, err := r.ReadDescriptor()
	if err != nil {
		return false
	}
	if name != nil {
		return string(name) == "amqp:properties:list"
	}
	return code == encoding.SectionProperties
}

// propertiesMap converts broker properties into application-properties
// with string keys, in key order. DeadLetterReason and
// DeadLetterErrorDescription are always strings.
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
		case uint:
			v = uint64(x)
		}
		if k == PropDeadLetterReason || k == PropDeadLetterDescription {
			v = asString(v)
		}
		out = append(out, encoding.KV{Key: k, Value: v})
	}
	return out
}

// deadLetterFields returns DeadLetterReason and DeadLetterErrorDescription
// from a dead-lettered message's own fields when its Properties do not
// carry them (the broker's routing dead-letters a copy whose rule failed
// to evaluate that way), so that clients always see the reason.
func deadLetterFields(m *broker.Message) encoding.Map {
	if !m.DeadLettered {
		return nil
	}
	var out encoding.Map
	if _, set := m.Properties[PropDeadLetterReason]; !set && m.DeadLetterReason != "" {
		out = append(out, encoding.KV{Key: PropDeadLetterReason, Value: m.DeadLetterReason})
	}
	if _, set := m.Properties[PropDeadLetterDescription]; !set && m.DeadLetterDescription != "" {
		out = append(out, encoding.KV{Key: PropDeadLetterDescription, Value: m.DeadLetterDescription})
	}
	return out
}

// deadLetterFixes returns modifications that turn a DeadLetterReason or
// DeadLetterErrorDescription of the bare message's own
// application-properties into a string when the sender gave it another
// type (or null), unless mods already sets it.
func deadLetterFixes(bare []byte, mods encoding.Map) encoding.Map {
	raw := appPropertiesRaw(bare)
	if raw == nil {
		return nil
	}
	var fixes encoding.Map
	for _, key := range [...]string{PropDeadLetterReason, PropDeadLetterDescription} {
		if _, set := mods.Get(key); set {
			continue
		}
		v, ok, err := encoding.LookupMap(raw, key)
		if err != nil || !ok {
			continue
		}
		if _, isString := v.(string); !isString {
			fixes = append(fixes, encoding.KV{Key: key, Value: asString(v)})
		}
	}
	return fixes
}

// appPropertiesRaw returns the encoded application-properties map of a
// bare message, or nil.
func appPropertiesRaw(bare []byte) []byte {
	var r encoding.Reader
	r.Reset(bare)
	for r.Len() > 0 {
		code, name, err := r.ReadDescriptor()
		if err != nil {
			return nil
		}
		if name != nil {
			switch string(name) {
			case "amqp:properties:list":
				code = encoding.SectionProperties
			case "amqp:application-properties:map":
				code = encoding.SectionApplicationProps
			default:
				return nil
			}
		}
		switch code {
		case encoding.SectionProperties:
			if err := r.SkipValue(); err != nil {
				return nil
			}
		case encoding.SectionApplicationProps:
			raw, err := r.RawValue()
			if err != nil {
				return nil
			}
			return raw
		default:
			return nil
		}
	}
	return nil
}

// asString renders a property value as the string a client expects.
func asString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case encoding.Symbol:
		return string(x)
	case []byte:
		return string(x)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case encoding.UUID:
		return x.String()
	case broker.LockToken:
		return x.String()
	}
	return fmt.Sprint(v)
}

// withMessageID returns the bare message with a new string message-id (a
// random UUID) in its properties section, and the id.
func withMessageID(v *encoding.MessageView, bare []byte) ([]byte, string) {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	id := encoding.UUID(u).String()
	props := v.Properties
	props.MessageID = encoding.StringID(id)
	var w encoding.Buffer
	w.AppendProperties(&props)
	rest := bare
	if v.HasProperties {
		// The bare message opens with the properties section: skip it.
		r := encoding.NewReader(bare)
		if _, _, err := r.ReadDescriptor(); err == nil && r.SkipValue() == nil {
			rest = bare[r.Offset():]
		}
	}
	return append(w.Bytes(), rest...), id
}
