package pgstore

// The blob codec. Everything a message, an update or an entity definition
// carries that the SQL never looks at is kept in a bytea "blob" of its own
// binary layout, so that any byte string a client sends (a NUL in a session
// id, invalid UTF-8 in a property) is stored exactly and can never make a
// statement fail: a failed statement would fail every group of its batch.
//
// Three blobs, each opened by its version byte:
//
//	header  a message's fields fixed at enqueue (ids, addressing, times,
//	        annotations, topic link): baton_message.hdr
//	update  the fields settlements change (MessageUpdate): baton_message.upd;
//	        an Update record replaces it whole
//	def     an entity definition with its properties, metadata and rules:
//	        baton_entity.def
//
// Integers are varints, strings and byte strings are length-prefixed,
// times are (location tag, seconds, nanoseconds) so that every time.Time a
// Go program can hold survives, and application properties are tagged
// values: the primitives of internal/store/binenc, which the filestore's
// records share. docs/format/pgstore.md describes the layout field by field.

import (
	"fmt"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/store/binenc"
)

// blobVersion opens every blob this package writes.
const blobVersion = 1

// appendHeader writes the fields of m fixed at enqueue.
func appendHeader(b []byte, m *broker.Message) []byte {
	e := binenc.Encoder{B: b}
	e.Byte(blobVersion)
	for _, s := range []string{m.MessageID, m.SessionID, m.PartitionKey, m.CorrelationID, m.Subject, m.To,
		m.ReplyTo, m.ReplyToSessionID, m.ContentType} {
		e.String(s)
	}
	e.Duration(m.TimeToLive)
	e.Time(m.ScheduledEnqueueTime)
	e.Byte(byte(m.Format))
	e.OptBytes(m.Annotations)
	e.Time(m.EnqueuedTime)
	e.Time(m.ExpiresAt)
	e.Varint(m.BodySize)
	e.Varint(m.TopicSeq)
	e.Bool(m.SharedBody)
	return e.B
}

// appendUpdate writes the fields of a message that settlements change.
func appendUpdate(b []byte, u *broker.MessageUpdate) ([]byte, error) {
	e := binenc.Encoder{B: b}
	e.Byte(blobVersion)
	if err := e.Update(u); err != nil {
		return b, fmt.Errorf("pgstore: %w", err)
	}
	return e.B, nil
}

// updateOf returns the settlement fields of m.
func updateOf(m *broker.Message) broker.MessageUpdate {
	return broker.MessageUpdate{
		Seq:                   m.SequenceNumber,
		DeliveryCount:         m.DeliveryCount,
		State:                 m.State,
		DeadLettered:          m.DeadLettered,
		DeadLetterReason:      m.DeadLetterReason,
		DeadLetterDescription: m.DeadLetterDescription,
		DeadLetterSource:      m.DeadLetterSource,
		Properties:            m.Properties,
		VisibleAt:             m.VisibleAt,
		PopReceipt:            m.PopReceipt,
	}
}

// appendDef writes an entity definition.
func appendDef(b []byte, d *broker.Entity) ([]byte, error) {
	e := binenc.Encoder{B: b}
	e.Byte(blobVersion)
	if err := e.Entity(d); err != nil {
		return b, fmt.Errorf("pgstore: %w", err)
	}
	return e.B, nil
}

// open returns a decoder of b past its version byte.
func open(b []byte, what string) binenc.Decoder {
	d := binenc.NewDecoder(b)
	if v := d.Byte(); d.Err() == nil && v != blobVersion {
		d.Fail(fmt.Errorf("%s blob of unknown version %d", what, v))
	}
	return d
}

// closeDec reports the first error, or bytes left over.
func closeDec(d *binenc.Decoder, what string) error {
	if err := d.Err(); err != nil {
		return fmt.Errorf("pgstore: %s: %w", what, err)
	}
	if n := d.Left(); n != 0 {
		return fmt.Errorf("pgstore: %s: %d bytes after the end", what, n)
	}
	return nil
}

// decodeHeader reads a header blob into m.
func decodeHeader(b []byte, m *broker.Message) error {
	d := open(b, "header")
	for _, s := range []*string{&m.MessageID, &m.SessionID, &m.PartitionKey, &m.CorrelationID, &m.Subject, &m.To,
		&m.ReplyTo, &m.ReplyToSessionID, &m.ContentType} {
		*s = d.String()
	}
	m.TimeToLive = d.Duration()
	m.ScheduledEnqueueTime = d.Time()
	m.Format = broker.Format(d.Byte())
	if a, ok := d.OptBytes(); ok {
		m.Annotations = append([]byte{}, a...)
	}
	m.EnqueuedTime = d.Time()
	m.ExpiresAt = d.Time()
	m.BodySize = d.Varint()
	m.TopicSeq = d.Varint()
	m.SharedBody = d.Bool()
	return closeDec(&d, "message header")
}

// decodeUpdate reads an update blob into m.
func decodeUpdate(b []byte, m *broker.Message) error {
	d := open(b, "update")
	m.DeliveryCount = d.Int32()
	m.State = broker.MessageState(d.Int32())
	m.DeadLettered = d.Bool()
	m.DeadLetterReason = d.String()
	m.DeadLetterDescription = d.String()
	m.DeadLetterSource = d.String()
	m.Properties = d.Props()
	m.VisibleAt = d.Time()
	m.PopReceipt = d.Token()
	return closeDec(&d, "message update")
}

// decodeDef reads a definition blob.
func decodeDef(b []byte) (*broker.Entity, error) {
	d := open(b, "definition")
	def := d.Entity(binenc.EntityCurrent)
	if err := closeDec(&d, "entity definition"); err != nil {
		return nil, err
	}
	return def, nil
}

// Exported forms of the blob codec, for the other components that keep
// messages and definitions in the schema (internal/pgbroker) and write the
// same blobs.

// EncodeHeader returns the header blob of m.
func EncodeHeader(m *broker.Message) []byte { return appendHeader(nil, m) }

// DecodeHeader reads a header blob into m.
func DecodeHeader(b []byte, m *broker.Message) error { return decodeHeader(b, m) }

// EncodeUpdate returns the update blob of m (its settlement fields).
func EncodeUpdate(m *broker.Message) ([]byte, error) {
	u := updateOf(m)
	return appendUpdate(nil, &u)
}

// DecodeUpdate reads an update blob into m.
func DecodeUpdate(b []byte, m *broker.Message) error { return decodeUpdate(b, m) }

// EncodeDef returns the definition blob of d.
func EncodeDef(d *broker.Entity) ([]byte, error) { return appendDef(nil, d) }

// DecodeDef reads a definition blob.
func DecodeDef(b []byte) (*broker.Entity, error) { return decodeDef(b) }
