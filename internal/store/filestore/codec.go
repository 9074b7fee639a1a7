package filestore

// The record codec: one broker.Record (or one of the store's own compaction
// records) is one WAL record. The byte layout is documented, field by
// field, in docs/format/filestore.md; keep the two in step.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/batonmq/baton/internal/broker"
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

// Value tags of application properties.
const (
	tagNil = iota
	tagFalse
	tagTrue
	tagString
	tagBytes
	tagNilBytes
	tagTime
	tagInt8
	tagInt16
	tagInt32
	tagInt64
	tagInt
	tagUint8
	tagUint16
	tagUint32
	tagUint64
	tagFloat32
	tagFloat64
	tagLockToken
)

// Time tags.
const (
	timeZero  = 0
	timeUTC   = 1
	timeLocal = 2
	timeZone  = 3 // fixed zone: name and offset follow
)

// Flag bits of the entity properties.
const (
	propDeadLetterOnExpiration = 1 << iota
	propDuplicateDetection
	propSession
	propBatched
	propPartitioning
	propFilterExceptionsToDLQ // version 4
	propSupportOrdering       // version 4
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

// encoder appends to a byte slice.
type encoder struct{ b []byte }

func (e *encoder) byte(v byte)      { e.b = append(e.b, v) }
func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) string(s string) {
	e.uvarint(uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) bytes(p []byte) {
	e.uvarint(uint64(len(p)))
	e.b = append(e.b, p...)
}

// optBytes writes nil as 0 and anything else as len+1.
func (e *encoder) optBytes(p []byte) {
	if p == nil {
		e.uvarint(0)
		return
	}
	e.uvarint(uint64(len(p)) + 1)
	e.b = append(e.b, p...)
}

func (e *encoder) bool(v bool) {
	if v {
		e.byte(1)
	} else {
		e.byte(0)
	}
}

func (e *encoder) time(t time.Time) {
	if t.IsZero() {
		e.byte(timeZero)
		return
	}
	loc := t.Location()
	switch loc {
	case time.UTC:
		e.byte(timeUTC)
	case time.Local:
		e.byte(timeLocal)
	default:
		name, off := t.Zone()
		e.byte(timeZone)
		e.string(name)
		e.varint(int64(off))
	}
	e.varint(t.Unix())
	e.uvarint(uint64(t.Nanosecond()))
}

func (e *encoder) props(m map[string]any) error {
	if m == nil {
		e.uvarint(0)
		return nil
	}
	e.uvarint(uint64(len(m)) + 1)
	for k, v := range m {
		e.string(k)
		if err := e.value(v); err != nil {
			return fmt.Errorf("property %q: %w", k, err)
		}
	}
	return nil
}

func (e *encoder) value(v any) error {
	switch x := v.(type) {
	case nil:
		e.byte(tagNil)
	case bool:
		if x {
			e.byte(tagTrue)
		} else {
			e.byte(tagFalse)
		}
	case string:
		e.byte(tagString)
		e.string(x)
	case []byte:
		if x == nil {
			e.byte(tagNilBytes)
		} else {
			e.byte(tagBytes)
			e.bytes(x)
		}
	case time.Time:
		e.byte(tagTime)
		e.time(x)
	case int8:
		e.byte(tagInt8)
		e.varint(int64(x))
	case int16:
		e.byte(tagInt16)
		e.varint(int64(x))
	case int32:
		e.byte(tagInt32)
		e.varint(int64(x))
	case int64:
		e.byte(tagInt64)
		e.varint(x)
	case int:
		e.byte(tagInt)
		e.varint(int64(x))
	case uint8:
		e.byte(tagUint8)
		e.uvarint(uint64(x))
	case uint16:
		e.byte(tagUint16)
		e.uvarint(uint64(x))
	case uint32:
		e.byte(tagUint32)
		e.uvarint(uint64(x))
	case uint64:
		e.byte(tagUint64)
		e.uvarint(x)
	case float32:
		e.byte(tagFloat32)
		e.b = binary.LittleEndian.AppendUint32(e.b, math.Float32bits(x))
	case float64:
		e.byte(tagFloat64)
		e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(x))
	case broker.LockToken:
		e.byte(tagLockToken)
		e.b = append(e.b, x[:]...)
	default:
		return fmt.Errorf("unsupported type %T", v)
	}
	return nil
}

func (e *encoder) header(k kind, entity string) {
	e.byte(recordVersion)
	e.byte(byte(k))
	e.string(entity)
}

func (e *encoder) def(d *broker.Entity) {
	e.string(d.Name)
	e.byte(byte(d.Kind))
	p := &d.Properties
	e.varint(int64(p.LockDuration))
	e.varint(int64(p.MaxDeliveryCount))
	e.varint(int64(p.DefaultMessageTimeToLive))
	e.varint(int64(p.DuplicateDetectionHistoryTimeWindow))
	e.varint(p.MaxSizeInMegabytes)
	e.varint(p.MaxMessageSizeInKilobytes)
	e.varint(int64(p.AutoDeleteOnIdle))
	e.string(p.ForwardTo)
	e.string(p.ForwardDeadLetteredMessagesTo)
	e.string(string(p.Status))
	e.string(p.UserMetadata)
	var flags uint64
	if p.DeadLetteringOnMessageExpiration {
		flags |= propDeadLetterOnExpiration
	}
	if p.RequiresDuplicateDetection {
		flags |= propDuplicateDetection
	}
	if p.RequiresSession {
		flags |= propSession
	}
	if p.EnableBatchedOperations {
		flags |= propBatched
	}
	if p.EnablePartitioning {
		flags |= propPartitioning
	}
	if p.DeadLetteringOnFilterEvaluationExceptions {
		flags |= propFilterExceptionsToDLQ
	}
	if p.SupportOrdering {
		flags |= propSupportOrdering
	}
	e.uvarint(flags)
	e.time(d.CreatedAt)
	e.time(d.UpdatedAt)
	e.metadata(d.Metadata)
	e.rules(d.Rules)
}

// checkDef reports a definition the encoder cannot write (a rule parameter
// of a type properties cannot hold). def() itself assumes it was checked.
func checkDef(d *broker.Entity) error {
	var e encoder
	for _, r := range d.Rules {
		ps := []map[string]any{r.Filter.Parameters, r.ActionParameters}
		if r.Filter.Correlation != nil {
			ps = append(ps, r.Filter.Correlation.Properties)
		}
		for _, p := range ps {
			if err := e.props(p); err != nil {
				return fmt.Errorf("rule %q: %w", r.Name, err)
			}
		}
	}
	return nil
}

// rules writes a subscription's rules: count, then each rule.
func (e *encoder) rules(rs []broker.Rule) {
	e.uvarint(uint64(len(rs)))
	for i := range rs {
		r := &rs[i]
		e.string(r.Name)
		e.byte(byte(r.Filter.Kind))
		e.string(r.Filter.SQL)
		_ = e.props(r.Filter.Parameters) // checked by checkDef
		c := r.Filter.Correlation
		e.bool(c != nil)
		if c != nil {
			for _, s := range []string{c.CorrelationID, c.MessageID, c.To, c.ReplyTo, c.Subject, c.SessionID, c.ReplyToSessionID, c.ContentType} {
				e.string(s)
			}
			_ = e.props(c.Properties)
		}
		e.string(r.Action)
		_ = e.props(r.ActionParameters)
		e.time(r.CreatedAt)
	}
}

// metadata writes nil as 0 and anything else as count+1 name/value pairs.
func (e *encoder) metadata(m map[string]string) {
	if m == nil {
		e.uvarint(0)
		return
	}
	e.uvarint(uint64(len(m)) + 1)
	for k, v := range m {
		e.string(k)
		e.string(v)
	}
}

// token writes the zero token as an empty byte string and any other as its
// 16 bytes.
func (e *encoder) token(t broker.LockToken) {
	if t.IsZero() {
		e.bytes(nil)
		return
	}
	e.bytes(t[:])
}

// message writes every field of m except the body.
func (e *encoder) message(m *broker.Message) error {
	e.varint(m.SequenceNumber)
	e.string(m.MessageID)
	e.string(m.SessionID)
	e.string(m.PartitionKey)
	e.string(m.CorrelationID)
	e.string(m.Subject)
	e.string(m.To)
	e.string(m.ReplyTo)
	e.string(m.ReplyToSessionID)
	e.string(m.ContentType)
	e.varint(int64(m.TimeToLive))
	e.time(m.ScheduledEnqueueTime)
	e.byte(byte(m.Format))
	e.time(m.EnqueuedTime)
	e.time(m.ExpiresAt)
	e.varint(int64(m.DeliveryCount))
	e.varint(int64(m.State))
	e.bool(m.DeadLettered)
	e.string(m.DeadLetterReason)
	e.string(m.DeadLetterDescription)
	e.string(m.DeadLetterSource)
	e.varint(m.BodySize)
	e.bytes(m.Annotations)
	if err := e.props(m.Properties); err != nil {
		return err
	}
	e.time(m.VisibleAt)
	e.token(m.PopReceipt)
	e.varint(m.TopicSeq)
	e.bool(m.SharedBody)
	return nil
}

// appendEnqueue encodes an enqueue of m. The body comes first, right after
// the entity, so that ReadBody finds it without decoding the rest.
func appendEnqueue(b []byte, entity string, m *broker.Message, dedupUntil time.Time) ([]byte, error) {
	e := encoder{b}
	e.header(kindEnqueue, entity)
	e.optBytes(m.Body)
	e.time(dedupUntil)
	if err := e.message(m); err != nil {
		return b, err
	}
	return e.b, nil
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
		if err := checkDef(r.Def); err != nil {
			return b, err
		}
		e := encoder{b}
		e.header(kindEntityPut, r.Entity)
		e.def(r.Def)
		return e.b, nil
	case broker.RecEntityDelete:
		e := encoder{b}
		e.header(kindEntityDelete, r.Entity)
		return e.b, nil
	case broker.RecUpdate:
		if r.Update == nil {
			return b, errors.New("update without a message update")
		}
		e := encoder{b}
		e.header(kindUpdate, r.Entity)
		u := r.Update
		e.varint(u.Seq)
		e.varint(int64(u.DeliveryCount))
		e.varint(int64(u.State))
		e.bool(u.DeadLettered)
		e.string(u.DeadLetterReason)
		e.string(u.DeadLetterDescription)
		e.string(u.DeadLetterSource)
		if err := e.props(u.Properties); err != nil {
			return b, err
		}
		e.time(u.VisibleAt)
		e.token(u.PopReceipt)
		return e.b, nil
	case broker.RecRemove:
		e := encoder{b}
		e.header(kindRemove, r.Entity)
		e.varint(r.Seq)
		return e.b, nil
	case broker.RecSessionState:
		e := encoder{b}
		e.header(kindSessionState, r.Entity)
		e.string(r.SessionID)
		e.optBytes(r.SessionState)
		e.time(r.SessionTime)
		return e.b, nil
	}
	return b, fmt.Errorf("unknown record kind %d", r.Kind)
}

// appendEntityState encodes compaction's copy of an entity.
func appendEntityState(b []byte, entity string, def *broker.Entity, lastSeq int64) []byte {
	e := encoder{b}
	e.header(kindEntityState, entity)
	e.def(def)
	e.varint(lastSeq)
	return e.b
}

// appendDedup encodes compaction's copy of a duplicate-detection entry.
func appendDedup(b []byte, entity, msgID string, until time.Time) []byte {
	e := encoder{b}
	e.header(kindDedup, entity)
	e.string(msgID)
	e.time(until)
	return e.b
}

// errShort is returned for a record that ends early.
var errShort = errors.New("record ends early")

// decoder reads a record. The first error sticks; later reads return zero
// values.
type decoder struct {
	b       []byte
	off     int
	err     error
	version byte // the record's version (1 to recordVersion)
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = fmt.Errorf("%w at byte %d", err, d.off)
	}
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.b) {
		d.fail(errShort)
		return 0
	}
	v := d.b[d.off]
	d.off++
	return v
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail(errors.New("bad varint"))
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.fail(errors.New("bad varint"))
		return 0
	}
	d.off += n
	return v
}

// int32 reads a varint that must fit in 32 bits.
func (d *decoder) int32() int32 {
	v := d.varint()
	if v < math.MinInt32 || v > math.MaxInt32 {
		d.fail(errors.New("value out of 32-bit range"))
		return 0
	}
	return int32(v)
}

// raw returns the next n bytes, not copied.
func (d *decoder) raw(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)-d.off) {
		d.fail(errShort)
		return nil
	}
	p := d.b[d.off : d.off+int(n)]
	d.off += int(n)
	return p
}

func (d *decoder) string() string { return string(d.raw(d.uvarint())) }

// bytes returns a copy of a length-prefixed byte string.
func (d *decoder) bytes() []byte {
	p := d.raw(d.uvarint())
	if d.err != nil {
		return nil
	}
	return append([]byte{}, p...)
}

// optBytes reads what encoder.optBytes wrote, not copied; ok is false for
// nil.
func (d *decoder) optBytes() (p []byte, ok bool) {
	n := d.uvarint()
	if n == 0 || d.err != nil {
		return nil, false
	}
	return d.raw(n - 1), d.err == nil
}

func (d *decoder) bool() bool {
	switch d.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail(errors.New("bad boolean"))
	return false
}

func (d *decoder) time() time.Time {
	tag := d.byte()
	var loc *time.Location
	switch tag {
	case timeZero:
		return time.Time{}
	case timeUTC:
		loc = time.UTC
	case timeLocal:
		loc = time.Local
	case timeZone:
		name := d.string()
		off := d.varint()
		if off < -7*24*3600 || off > 7*24*3600 {
			d.fail(errors.New("bad zone offset"))
			return time.Time{}
		}
		loc = time.FixedZone(name, int(off))
	default:
		d.fail(fmt.Errorf("bad time tag %d", tag))
		return time.Time{}
	}
	sec := d.varint()
	nsec := d.uvarint()
	if nsec >= 1e9 {
		d.fail(errors.New("bad nanoseconds"))
	}
	if d.err != nil {
		return time.Time{}
	}
	t := time.Unix(sec, int64(nsec)).In(loc)
	if t.IsZero() {
		// The zero time has its own tag; anything else naming it is
		// not what the encoder writes.
		d.fail(errors.New("zero time with a location"))
		return time.Time{}
	}
	return t
}

func (d *decoder) props() map[string]any {
	n := d.uvarint()
	if n == 0 || d.err != nil {
		return nil
	}
	n--
	// Each property takes at least two bytes: bound the map by the input.
	if n > uint64(len(d.b)-d.off)/2 {
		d.fail(errShort)
		return nil
	}
	m := make(map[string]any, n)
	for range n {
		k := d.string()
		v := d.value()
		if d.err != nil {
			return nil
		}
		m[k] = v
	}
	return m
}

func (d *decoder) value() any {
	tag := d.byte()
	switch tag {
	case tagNil:
		return nil
	case tagFalse:
		return false
	case tagTrue:
		return true
	case tagString:
		return d.string()
	case tagBytes:
		return d.bytes()
	case tagNilBytes:
		return []byte(nil)
	case tagTime:
		return d.time()
	case tagInt8:
		v := d.varint()
		if v < math.MinInt8 || v > math.MaxInt8 {
			d.fail(errors.New("int8 out of range"))
		}
		return int8(v)
	case tagInt16:
		v := d.varint()
		if v < math.MinInt16 || v > math.MaxInt16 {
			d.fail(errors.New("int16 out of range"))
		}
		return int16(v)
	case tagInt32:
		return d.int32()
	case tagInt64:
		return d.varint()
	case tagInt:
		v := d.varint()
		if int64(int(v)) != v {
			d.fail(errors.New("int out of range"))
		}
		return int(v)
	case tagUint8:
		v := d.uvarint()
		if v > math.MaxUint8 {
			d.fail(errors.New("uint8 out of range"))
		}
		return uint8(v)
	case tagUint16:
		v := d.uvarint()
		if v > math.MaxUint16 {
			d.fail(errors.New("uint16 out of range"))
		}
		return uint16(v)
	case tagUint32:
		v := d.uvarint()
		if v > math.MaxUint32 {
			d.fail(errors.New("uint32 out of range"))
		}
		return uint32(v)
	case tagUint64:
		return d.uvarint()
	case tagFloat32:
		p := d.raw(4)
		if d.err != nil {
			return nil
		}
		return math.Float32frombits(binary.LittleEndian.Uint32(p))
	case tagFloat64:
		p := d.raw(8)
		if d.err != nil {
			return nil
		}
		return math.Float64frombits(binary.LittleEndian.Uint64(p))
	case tagLockToken:
		p := d.raw(16)
		if d.err != nil {
			return nil
		}
		return broker.LockToken(p)
	}
	d.fail(fmt.Errorf("bad value tag %d", tag))
	return nil
}

func (d *decoder) def() *broker.Entity {
	def := &broker.Entity{}
	def.Name = d.string()
	def.Kind = broker.Kind(d.byte())
	p := &def.Properties
	p.LockDuration = time.Duration(d.varint())
	p.MaxDeliveryCount = d.int32()
	p.DefaultMessageTimeToLive = time.Duration(d.varint())
	p.DuplicateDetectionHistoryTimeWindow = time.Duration(d.varint())
	p.MaxSizeInMegabytes = d.varint()
	p.MaxMessageSizeInKilobytes = d.varint()
	p.AutoDeleteOnIdle = time.Duration(d.varint())
	p.ForwardTo = d.string()
	p.ForwardDeadLetteredMessagesTo = d.string()
	p.Status = broker.Status(d.string())
	p.UserMetadata = d.string()
	flags := d.uvarint()
	if flags >= propSupportOrdering<<1 || d.version < 4 && flags >= propPartitioning<<1 {
		d.fail(errors.New("unknown entity flags"))
	}
	p.DeadLetteringOnMessageExpiration = flags&propDeadLetterOnExpiration != 0
	p.RequiresDuplicateDetection = flags&propDuplicateDetection != 0
	p.RequiresSession = flags&propSession != 0
	p.EnableBatchedOperations = flags&propBatched != 0
	p.EnablePartitioning = flags&propPartitioning != 0
	p.DeadLetteringOnFilterEvaluationExceptions = flags&propFilterExceptionsToDLQ != 0
	p.SupportOrdering = flags&propSupportOrdering != 0
	def.CreatedAt = d.time()
	def.UpdatedAt = d.time()
	if d.version >= 3 { // versions 1 and 2 had no metadata
		def.Metadata = d.metadata()
	}
	if d.version >= 4 { // versions 1 to 3 had no rules
		def.Rules = d.rules()
	}
	return def
}

func (d *decoder) rules() []broker.Rule {
	n := d.uvarint()
	if n == 0 || d.err != nil {
		return nil
	}
	// Each rule takes at least 8 bytes: bound the slice by the input.
	if n > uint64(len(d.b)-d.off)/8 {
		d.fail(errShort)
		return nil
	}
	rs := make([]broker.Rule, n)
	for i := range rs {
		r := &rs[i]
		r.Name = d.string()
		r.Filter.Kind = broker.FilterKind(d.byte())
		r.Filter.SQL = d.string()
		r.Filter.Parameters = d.props()
		if d.bool() {
			c := &broker.CorrelationFilter{}
			for _, s := range []*string{&c.CorrelationID, &c.MessageID, &c.To, &c.ReplyTo, &c.Subject, &c.SessionID, &c.ReplyToSessionID, &c.ContentType} {
				*s = d.string()
			}
			c.Properties = d.props()
			r.Filter.Correlation = c
		}
		r.Action = d.string()
		r.ActionParameters = d.props()
		r.CreatedAt = d.time()
		if d.err != nil {
			return nil
		}
	}
	return rs
}

func (d *decoder) metadata() map[string]string {
	n := d.uvarint()
	if n == 0 || d.err != nil {
		return nil
	}
	n--
	// Each entry takes at least two bytes: bound the map by the input.
	if n > uint64(len(d.b)-d.off)/2 {
		d.fail(errShort)
		return nil
	}
	m := make(map[string]string, n)
	for range n {
		k := d.string()
		v := d.string()
		if d.err != nil {
			return nil
		}
		m[k] = v
	}
	return m
}

// token reads what encoder.token wrote.
func (d *decoder) token() broker.LockToken {
	var t broker.LockToken
	switch p := d.raw(d.uvarint()); len(p) {
	case 0:
	case len(t):
		copy(t[:], p)
		if t.IsZero() {
			d.fail(errors.New("zero token written in full"))
		}
	default:
		d.fail(errors.New("bad token length"))
	}
	return t
}

func (d *decoder) message(m *broker.Message) {
	m.SequenceNumber = d.varint()
	m.MessageID = d.string()
	m.SessionID = d.string()
	m.PartitionKey = d.string()
	m.CorrelationID = d.string()
	m.Subject = d.string()
	m.To = d.string()
	m.ReplyTo = d.string()
	m.ReplyToSessionID = d.string()
	m.ContentType = d.string()
	m.TimeToLive = time.Duration(d.varint())
	m.ScheduledEnqueueTime = d.time()
	m.Format = broker.Format(d.byte())
	m.EnqueuedTime = d.time()
	m.ExpiresAt = d.time()
	m.DeliveryCount = d.int32()
	m.State = broker.MessageState(d.int32())
	m.DeadLettered = d.bool()
	m.DeadLetterReason = d.string()
	m.DeadLetterDescription = d.string()
	m.DeadLetterSource = d.string()
	m.BodySize = d.varint()
	if d.version >= 2 { // version 1 had no annotations
		if a := d.bytes(); len(a) > 0 {
			m.Annotations = a
		}
	}
	m.Properties = d.props()
	if d.version >= 3 { // versions 1 and 2 had no storage queue fields
		m.VisibleAt = d.time()
		m.PopReceipt = d.token()
	}
	if d.version >= 4 { // versions 1 to 3 had no topic fields
		m.TopicSeq = d.varint()
		m.SharedBody = d.bool()
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
	d := decoder{b: b}
	if d.version = d.byte(); d.err == nil && (d.version < 1 || d.version > recordVersion) {
		return fmt.Errorf("unknown record version %d", d.version)
	}
	r.kind = kind(d.byte())
	r.Entity = d.string()
	switch r.kind {
	case kindEntityPut, kindEntityState:
		r.Kind = broker.RecEntityPut
		r.Def = d.def()
		if r.kind == kindEntityState {
			r.lastSeq = d.varint()
		}
	case kindEntityDelete:
		r.Kind = broker.RecEntityDelete
	case kindEnqueue:
		r.Kind = broker.RecEnqueue
		body, ok := d.optBytes()
		r.body, r.bodyNil = body, !ok
		r.DedupUntil = d.time()
		if msg == nil {
			msg = &broker.Message{}
		}
		d.message(msg)
		r.Msg = msg
	case kindUpdate:
		r.Kind = broker.RecUpdate
		u := &broker.MessageUpdate{}
		u.Seq = d.varint()
		u.DeliveryCount = d.int32()
		u.State = broker.MessageState(d.int32())
		u.DeadLettered = d.bool()
		u.DeadLetterReason = d.string()
		u.DeadLetterDescription = d.string()
		u.DeadLetterSource = d.string()
		u.Properties = d.props()
		if d.version >= 3 {
			u.VisibleAt = d.time()
			u.PopReceipt = d.token()
		}
		r.Update = u
	case kindRemove:
		r.Kind = broker.RecRemove
		r.Seq = d.varint()
	case kindSessionState:
		r.Kind = broker.RecSessionState
		r.SessionID = d.string()
		if st, ok := d.optBytes(); ok {
			r.SessionState = append([]byte{}, st...)
		}
		r.SessionTime = d.time()
	case kindDedup:
		r.msgID = d.string()
		r.DedupUntil = d.time()
	default:
		if d.err == nil {
			return fmt.Errorf("unknown record kind %d", r.kind)
		}
	}
	if d.err != nil {
		return d.err
	}
	if d.off != len(b) {
		return fmt.Errorf("%d bytes after the end of a kind %d record", len(b)-d.off, r.kind)
	}
	return nil
}

// readBody returns the body of an encoded enqueue record, a slice of b
// (nil for a nil body). It reads only the fields before the body; the
// record's checksum was verified by the log.
func readBody(b []byte) ([]byte, error) {
	d := decoder{b: b}
	if v := d.byte(); d.err == nil && (v < 1 || v > recordVersion) {
		return nil, fmt.Errorf("unknown record version %d", v)
	}
	if k := kind(d.byte()); d.err == nil && k != kindEnqueue {
		return nil, fmt.Errorf("record of kind %d holds no body", k)
	}
	d.raw(d.uvarint()) // entity
	body, _ := d.optBytes()
	if d.err != nil {
		return nil, d.err
	}
	return body, nil
}
