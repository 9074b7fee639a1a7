package filestore

// The record codec: one broker.Record (or one of the store's own compaction
// records) is one WAL record. The byte layout is documented, field by
// field, in docs/format/filestore.md; keep the two in step.

import (
	"errors"
	"fmt"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/store/binenc"
)

// recordVersion is the first byte of every record written. Version 2 added
// the message's Annotations; version 3 a storage queue's Metadata and a
// message's VisibleAt and PopReceipt; version 4 a subscription's Rules and
// a message's TopicSeq and SharedBody. Older versions still decode.
const recordVersion = 4

// kind is the second byte of a record. The broker's kinds keep their
// numbers; the store's own records (written by compaction) come after.
type kind uint8

const (
	kindEntityPut    = kind(broker.RecEntityPut)
	kindEntityDelete = kind(broker.RecEntityDelete)
	kindEnqueue      = kind(broker.RecEnqueue)
	kindUpdate       = kind(broker.RecUpdate)
	kindRemove       = kind(broker.RecRemove)
	kindSessionState = kind(broker.RecSessionState)
	// kindEntityState is an entity definition together with the entity's
	// highest sequence number: compaction's copy of both.
	kindEntityState kind = 16
	// kindDedup is a duplicate-detection entry whose message is gone:
	// compaction's copy of it.
	kindDedup kind = 17
)

// record is a decoded record: a broker.Record plus what the store's own
// records carry.
type record struct {
	broker.Record
	kind    kind
	lastSeq int64  // kindEntityState
	msgID   string // kindDedup
	// body is the message body of kindEnqueue, a slice of the encoded
	// record (not copied).
	body    []byte
	bodyNil bool
}

// encoder is the shared encoder with the record header.
type encoder struct{ binenc.Encoder }

// decoder is the shared decoder with the record's version (1 to
// recordVersion).
type decoder struct {
	binenc.Decoder
	version byte
}

// entityLayout is what a definition holds in a record of version v.
func entityLayout(v byte) binenc.EntityLayout {
	l := binenc.EntityCurrent
	if v < 4 { // versions 1 to 3 had no rules and two fewer flags
		l.Rules = false
		l.FlagEnd = binenc.FlagPartitioning << 1
	}
	if v < 3 { // versions 1 and 2 had no metadata
		l.Metadata = false
	}
	return l
}

func (e *encoder) header(k kind, entity string) {
	e.Byte(recordVersion)
	e.Byte(byte(k))
	e.String(entity)
}

// message writes every field of m except the body.
func (e *encoder) message(m *broker.Message) error {
	e.Varint(m.SequenceNumber)
	e.String(m.MessageID)
	e.String(m.SessionID)
	e.String(m.PartitionKey)
	e.String(m.CorrelationID)
	e.String(m.Subject)
	e.String(m.To)
	e.String(m.ReplyTo)
	e.String(m.ReplyToSessionID)
	e.String(m.ContentType)
	e.Duration(m.TimeToLive)
	e.Time(m.ScheduledEnqueueTime)
	e.Byte(byte(m.Format))
	e.Time(m.EnqueuedTime)
	e.Time(m.ExpiresAt)
	e.Varint(int64(m.DeliveryCount))
	e.Varint(int64(m.State))
	e.Bool(m.DeadLettered)
	e.String(m.DeadLetterReason)
	e.String(m.DeadLetterDescription)
	e.String(m.DeadLetterSource)
	e.Varint(m.BodySize)
	e.Bytes(m.Annotations)
	if err := e.Props(m.Properties); err != nil {
		return err
	}
	e.Time(m.VisibleAt)
	e.Token(m.PopReceipt)
	e.Varint(m.TopicSeq)
	e.Bool(m.SharedBody)
	return nil
}

// appendEnqueue encodes an enqueue of m. The body comes first, right after
// the entity, so that ReadBody finds it without decoding the rest.
func appendEnqueue(b []byte, entity string, m *broker.Message, dedupUntil time.Time) ([]byte, error) {
	e := encoder{binenc.Encoder{B: b}}
	e.header(kindEnqueue, entity)
	e.OptBytes(m.Body)
	e.Time(dedupUntil)
	if err := e.message(m); err != nil {
		return b, err
	}
	return e.B, nil
}

// appendRecord encodes a broker record.
func appendRecord(b []byte, r *broker.Record) ([]byte, error) {
	switch r.Kind {
	case broker.RecEnqueue:
		if r.Msg == nil {
			return b, errors.New("enqueue without a message")
		}
		return appendEnqueue(b, r.Entity, r.Msg, r.DedupUntil)
	case broker.RecEntityPut:
		if r.Def == nil {
			return b, errors.New("entity put without a definition")
		}
		e := encoder{binenc.Encoder{B: b}}
		e.header(kindEntityPut, r.Entity)
		if err := e.Entity(r.Def); err != nil {
			return b, err
		}
		return e.B, nil
	case broker.RecEntityDelete:
		e := encoder{binenc.Encoder{B: b}}
		e.header(kindEntityDelete, r.Entity)
		return e.B, nil
	case broker.RecUpdate:
		if r.Update == nil {
			return b, errors.New("update without a message update")
		}
		e := encoder{binenc.Encoder{B: b}}
		e.header(kindUpdate, r.Entity)
		e.Varint(r.Update.Seq)
		if err := e.Update(r.Update); err != nil {
			return b, err
		}
		return e.B, nil
	case broker.RecRemove:
		e := encoder{binenc.Encoder{B: b}}
		e.header(kindRemove, r.Entity)
		e.Varint(r.Seq)
		return e.B, nil
	case broker.RecSessionState:
		e := encoder{binenc.Encoder{B: b}}
		e.header(kindSessionState, r.Entity)
		e.String(r.SessionID)
		e.OptBytes(r.SessionState)
		e.Time(r.SessionTime)
		return e.B, nil
	}
	return b, fmt.Errorf("unknown record kind %d", r.Kind)
}

// appendEntityState encodes compaction's copy of an entity. The
// definition was written by a put before, so it encodes.
func appendEntityState(b []byte, entity string, def *broker.Entity, lastSeq int64) []byte {
	e := encoder{binenc.Encoder{B: b}}
	e.header(kindEntityState, entity)
	_ = e.Entity(def)
	e.Varint(lastSeq)
	return e.B
}

// appendDedup encodes compaction's copy of a duplicate-detection entry.
func appendDedup(b []byte, entity, msgID string, until time.Time) []byte {
	e := encoder{binenc.Encoder{B: b}}
	e.header(kindDedup, entity)
	e.String(msgID)
	e.Time(until)
	return e.B
}

func (d *decoder) message(m *broker.Message) {
	m.SequenceNumber = d.Varint()
	m.MessageID = d.String()
	m.SessionID = d.String()
	m.PartitionKey = d.String()
	m.CorrelationID = d.String()
	m.Subject = d.String()
	m.To = d.String()
	m.ReplyTo = d.String()
	m.ReplyToSessionID = d.String()
	m.ContentType = d.String()
	m.TimeToLive = d.Duration()
	m.ScheduledEnqueueTime = d.Time()
	m.Format = broker.Format(d.Byte())
	m.EnqueuedTime = d.Time()
	m.ExpiresAt = d.Time()
	m.DeliveryCount = d.Int32()
	m.State = broker.MessageState(d.Int32())
	m.DeadLettered = d.Bool()
	m.DeadLetterReason = d.String()
	m.DeadLetterDescription = d.String()
	m.DeadLetterSource = d.String()
	m.BodySize = d.Varint()
	if d.version >= 2 { // version 1 had no annotations
		if a := d.Bytes(); len(a) > 0 {
			m.Annotations = a
		}
	}
	m.Properties = d.Props()
	if d.version >= 3 { // versions 1 and 2 had no storage queue fields
		m.VisibleAt = d.Time()
		m.PopReceipt = d.Token()
	}
	if d.version >= 4 { // versions 1 to 3 had no topic fields
		m.TopicSeq = d.Varint()
		m.SharedBody = d.Bool()
	}
}

// decodeRecord decodes a whole record. The message body of an enqueue is
// left in r.body as a slice of b; everything else is copied out of b.
func decodeRecord(b []byte) (*record, error) {
	r := &record{}
	if err := decodeInto(r, b, nil); err != nil {
		return nil, err
	}
	return r, nil
}

// decodeInto decodes b into r; msg, when not nil, receives the message of
// an enqueue (so that a caller can allocate messages in bulk).
func decodeInto(r *record, b []byte, msg *broker.Message) error {
	d := decoder{Decoder: binenc.NewDecoder(b)}
	if d.version = d.Byte(); d.Err() == nil && (d.version < 1 || d.version > recordVersion) {
		return fmt.Errorf("unknown record version %d", d.version)
	}
	r.kind = kind(d.Byte())
	r.Entity = d.String()
	switch r.kind {
	case kindEntityPut, kindEntityState:
		r.Kind = broker.RecEntityPut
		r.Def = d.Entity(entityLayout(d.version))
		if r.kind == kindEntityState {
			r.lastSeq = d.Varint()
		}
	case kindEntityDelete:
		r.Kind = broker.RecEntityDelete
	case kindEnqueue:
		r.Kind = broker.RecEnqueue
		body, ok := d.OptBytes()
		r.body, r.bodyNil = body, !ok
		r.DedupUntil = d.Time()
		if msg == nil {
			msg = &broker.Message{}
		}
		d.message(msg)
		r.Msg = msg
	case kindUpdate:
		r.Kind = broker.RecUpdate
		u := &broker.MessageUpdate{}
		u.Seq = d.Varint()
		u.DeliveryCount = d.Int32()
		u.State = broker.MessageState(d.Int32())
		u.DeadLettered = d.Bool()
		u.DeadLetterReason = d.String()
		u.DeadLetterDescription = d.String()
		u.DeadLetterSource = d.String()
		u.Properties = d.Props()
		if d.version >= 3 {
			u.VisibleAt = d.Time()
			u.PopReceipt = d.Token()
		}
		r.Update = u
	case kindRemove:
		r.Kind = broker.RecRemove
		r.Seq = d.Varint()
	case kindSessionState:
		r.Kind = broker.RecSessionState
		r.SessionID = d.String()
		if st, ok := d.OptBytes(); ok {
			r.SessionState = append([]byte{}, st...)
		}
		r.SessionTime = d.Time()
	case kindDedup:
		r.msgID = d.String()
		r.DedupUntil = d.Time()
	default:
		if d.Err() == nil {
			return fmt.Errorf("unknown record kind %d", r.kind)
		}
	}
	if d.Err() != nil {
		return d.Err()
	}
	if d.Offset() != len(b) {
		return fmt.Errorf("%d bytes after the end of a kind %d record", len(b)-d.Offset(), r.kind)
	}
	return nil
}

// readBody returns the body of an encoded enqueue record, a slice of b
// (nil for a nil body). It reads only the fields before the body; the
// record's checksum was verified by the log.
func readBody(b []byte) ([]byte, error) {
	d := decoder{Decoder: binenc.NewDecoder(b)}
	if v := d.Byte(); d.Err() == nil && (v < 1 || v > recordVersion) {
		return nil, fmt.Errorf("unknown record version %d", v)
	}
	if k := kind(d.Byte()); d.Err() == nil && k != kindEnqueue {
		return nil, fmt.Errorf("record of kind %d holds no body", k)
	}
	d.Raw(d.Uvarint()) // entity
	body, _ := d.OptBytes()
	if d.Err() != nil {
		return nil, d.Err()
	}
	return body, nil
}
