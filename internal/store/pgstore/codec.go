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
// values. docs/format/pgstore.md describes the layout field by field.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

// blobVersion opens every blob this package writes.
const blobVersion = 1

// Tags of property values.
const (
	vNil = iota
	vFalse
	vTrue
	vString
	vBytes
	vNilBytes
	vTime
	vInt8
	vInt16
	vInt32
	vInt64
	vInt
	vUint8
	vUint16
	vUint32
	vUint64
	vFloat32
	vFloat64
	vToken
	vEnd // first unknown tag
)

// Location tags of times.
const (
	tZero  = 0
	tUTC   = 1
	tLocal = 2
	tFixed = 3 // zone name and offset follow
)

// Bits of an entity's flag word.
const (
	fDeadLetterOnExpiration = 1 << iota
	fDuplicateDetection
	fSession
	fBatched
	fPartitioning
	fFilterExceptionsToDLQ
	fSupportOrdering
	fEnd // first unknown bit
)

// enc appends to a byte slice.
type enc struct{ b []byte }

func (e *enc) u(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) i(v int64)  { e.b = binary.AppendVarint(e.b, v) }
func (e *enc) byte1(v byte) {
	e.b = append(e.b, v)
}

func (e *enc) str(s string) {
	e.u(uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *enc) raw(p []byte) {
	e.u(uint64(len(p)))
	e.b = append(e.b, p...)
}

// opt writes nil as 0 and anything else as length+1.
func (e *enc) opt(p []byte) {
	if p == nil {
		e.u(0)
		return
	}
	e.u(uint64(len(p)) + 1)
	e.b = append(e.b, p...)
}

func (e *enc) flag(v bool) {
	if v {
		e.byte1(1)
	} else {
		e.byte1(0)
	}
}

func (e *enc) time(t time.Time) {
	if t.IsZero() {
		e.byte1(tZero)
		return
	}
	switch loc := t.Location(); loc {
	case time.UTC:
		e.byte1(tUTC)
	case time.Local:
		e.byte1(tLocal)
	default:
		name, off := t.Zone()
		e.byte1(tFixed)
		e.str(name)
		e.i(int64(off))
	}
	e.i(t.Unix())
	e.u(uint64(t.Nanosecond()))
}

func (e *enc) token(t broker.LockToken) {
	if t.IsZero() {
		e.byte1(0)
		return
	}
	e.byte1(16)
	e.b = append(e.b, t[:]...)
}

// props writes nil as 0 and anything else as count+1 key/value pairs.
func (e *enc) props(m map[string]any) error {
	if m == nil {
		e.u(0)
		return nil
	}
	e.u(uint64(len(m)) + 1)
	for k, v := range m {
		e.str(k)
		if err := e.value(v); err != nil {
			return fmt.Errorf("property %q: %w", k, err)
		}
	}
	return nil
}

func (e *enc) value(v any) error {
	switch x := v.(type) {
	case nil:
		e.byte1(vNil)
	case bool:
		if x {
			e.byte1(vTrue)
		} else {
			e.byte1(vFalse)
		}
	case string:
		e.byte1(vString)
		e.str(x)
	case []byte:
		if x == nil {
			e.byte1(vNilBytes)
		} else {
			e.byte1(vBytes)
			e.raw(x)
		}
	case time.Time:
		e.byte1(vTime)
		e.time(x)
	case int8:
		e.byte1(vInt8)
		e.i(int64(x))
	case int16:
		e.byte1(vInt16)
		e.i(int64(x))
	case int32:
		e.byte1(vInt32)
		e.i(int64(x))
	case int64:
		e.byte1(vInt64)
		e.i(x)
	case int:
		e.byte1(vInt)
		e.i(int64(x))
	case uint8:
		e.byte1(vUint8)
		e.u(uint64(x))
	case uint16:
		e.byte1(vUint16)
		e.u(uint64(x))
	case uint32:
		e.byte1(vUint32)
		e.u(uint64(x))
	case uint64:
		e.byte1(vUint64)
		e.u(x)
	case float32:
		e.byte1(vFloat32)
		e.b = binary.LittleEndian.AppendUint32(e.b, math.Float32bits(x))
	case float64:
		e.byte1(vFloat64)
		e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(x))
	case broker.LockToken:
		e.byte1(vToken)
		e.b = append(e.b, x[:]...)
	default:
		return fmt.Errorf("values of type %T cannot be stored", v)
	}
	return nil
}

// appendHeader writes the fields of m fixed at enqueue.
func appendHeader(b []byte, m *broker.Message) []byte {
	e := enc{b}
	e.byte1(blobVersion)
	for _, s := range []string{m.MessageID, m.SessionID, m.PartitionKey, m.CorrelationID, m.Subject, m.To,
		m.ReplyTo, m.ReplyToSessionID, m.ContentType} {
		e.str(s)
	}
	e.i(int64(m.TimeToLive))
	e.time(m.ScheduledEnqueueTime)
	e.byte1(byte(m.Format))
	e.opt(m.Annotations)
	e.time(m.EnqueuedTime)
	e.time(m.ExpiresAt)
	e.i(m.BodySize)
	e.i(m.TopicSeq)
	e.flag(m.SharedBody)
	return e.b
}

// appendUpdate writes the fields of a message that settlements change.
func appendUpdate(b []byte, u *broker.MessageUpdate) ([]byte, error) {
	e := enc{b}
	e.byte1(blobVersion)
	e.i(int64(u.DeliveryCount))
	e.i(int64(u.State))
	e.flag(u.DeadLettered)
	e.str(u.DeadLetterReason)
	e.str(u.DeadLetterDescription)
	e.str(u.DeadLetterSource)
	if err := e.props(u.Properties); err != nil {
		return b, err
	}
	e.time(u.VisibleAt)
	e.token(u.PopReceipt)
	return e.b, nil
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
	e := enc{b}
	e.byte1(blobVersion)
	e.str(d.Name)
	e.byte1(byte(d.Kind))
	p := &d.Properties
	e.i(int64(p.LockDuration))
	e.i(int64(p.MaxDeliveryCount))
	e.i(int64(p.DefaultMessageTimeToLive))
	e.i(int64(p.DuplicateDetectionHistoryTimeWindow))
	e.i(p.MaxSizeInMegabytes)
	e.i(p.MaxMessageSizeInKilobytes)
	e.i(int64(p.AutoDeleteOnIdle))
	e.str(p.ForwardTo)
	e.str(p.ForwardDeadLetteredMessagesTo)
	e.str(string(p.Status))
	e.str(p.UserMetadata)
	var flags uint64
	for bit, on := range map[uint64]bool{
		fDeadLetterOnExpiration: p.DeadLetteringOnMessageExpiration,
		fDuplicateDetection:     p.RequiresDuplicateDetection,
		fSession:                p.RequiresSession,
		fBatched:                p.EnableBatchedOperations,
		fPartitioning:           p.EnablePartitioning,
		fFilterExceptionsToDLQ:  p.DeadLetteringOnFilterEvaluationExceptions,
		fSupportOrdering:        p.SupportOrdering,
	} {
		if on {
			flags |= bit
		}
	}
	e.u(flags)
	e.time(d.CreatedAt)
	e.time(d.UpdatedAt)
	if d.Metadata == nil {
		e.u(0)
	} else {
		e.u(uint64(len(d.Metadata)) + 1)
		for k, v := range d.Metadata {
			e.str(k)
			e.str(v)
		}
	}
	e.u(uint64(len(d.Rules)))
	for i := range d.Rules {
		r := &d.Rules[i]
		e.str(r.Name)
		e.byte1(byte(r.Filter.Kind))
		e.str(r.Filter.SQL)
		if err := e.props(r.Filter.Parameters); err != nil {
			return b, fmt.Errorf("rule %q: %w", r.Name, err)
		}
		c := r.Filter.Correlation
		e.flag(c != nil)
		if c != nil {
			for _, s := range []string{c.CorrelationID, c.MessageID, c.To, c.ReplyTo, c.Subject, c.SessionID,
				c.ReplyToSessionID, c.ContentType} {
				e.str(s)
			}
			if err := e.props(c.Properties); err != nil {
				return b, fmt.Errorf("rule %q: %w", r.Name, err)
			}
		}
		e.str(r.Action)
		if err := e.props(r.ActionParameters); err != nil {
			return b, fmt.Errorf("rule %q: %w", r.Name, err)
		}
		e.time(r.CreatedAt)
	}
	return e.b, nil
}

// errTruncated is a blob that ends early.
var errTruncated = errors.New("pgstore: blob ends early")

// dec reads a blob; the first error sticks and later reads return zero
// values.
type dec struct {
	b   []byte
	off int
	err error
}

func (d *dec) fail(err error) {
	if d.err == nil {
		d.err = fmt.Errorf("%w (at byte %d)", err, d.off)
	}
}

func (d *dec) byte1() byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.b) {
		d.fail(errTruncated)
		return 0
	}
	v := d.b[d.off]
	d.off++
	return v
}

func (d *dec) u() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail(errors.New("pgstore: bad varint"))
		return 0
	}
	d.off += n
	return v
}

func (d *dec) i() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.fail(errors.New("pgstore: bad varint"))
		return 0
	}
	d.off += n
	return v
}

// i32 reads a varint that must fit 32 bits.
func (d *dec) i32() int32 {
	v := d.i()
	if v < math.MinInt32 || v > math.MaxInt32 {
		d.fail(errors.New("pgstore: value out of 32-bit range"))
		return 0
	}
	return int32(v)
}

// next returns the next n bytes, not copied.
func (d *dec) next(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)-d.off) {
		d.fail(errTruncated)
		return nil
	}
	p := d.b[d.off : d.off+int(n)]
	d.off += int(n)
	return p
}

func (d *dec) str() string { return string(d.next(d.u())) }

// raw returns a copy of a length-prefixed byte string.
func (d *dec) raw() []byte {
	p := d.next(d.u())
	if d.err != nil {
		return nil
	}
	return append([]byte{}, p...)
}

// opt reads what enc.opt wrote, copied; nil stays nil.
func (d *dec) opt() []byte {
	n := d.u()
	if n == 0 || d.err != nil {
		return nil
	}
	return append([]byte{}, d.next(n-1)...)
}

func (d *dec) flag() bool {
	switch d.byte1() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail(errors.New("pgstore: bad boolean"))
	return false
}

func (d *dec) time() time.Time {
	var loc *time.Location
	switch tag := d.byte1(); tag {
	case tZero:
		return time.Time{}
	case tUTC:
		loc = time.UTC
	case tLocal:
		loc = time.Local
	case tFixed:
		name := d.str()
		off := d.i()
		if off < -7*24*3600 || off > 7*24*3600 {
			d.fail(errors.New("pgstore: bad zone offset"))
			return time.Time{}
		}
		loc = time.FixedZone(name, int(off))
	default:
		d.fail(fmt.Errorf("pgstore: bad time tag %d", tag))
		return time.Time{}
	}
	sec, nsec := d.i(), d.u()
	if nsec >= 1e9 {
		d.fail(errors.New("pgstore: bad nanoseconds"))
	}
	if d.err != nil {
		return time.Time{}
	}
	t := time.Unix(sec, int64(nsec)).In(loc)
	if t.IsZero() {
		d.fail(errors.New("pgstore: zero time written as a time"))
		return time.Time{}
	}
	return t
}

func (d *dec) token() broker.LockToken {
	var t broker.LockToken
	switch n := d.byte1(); n {
	case 0:
	case 16:
		copy(t[:], d.next(16))
		if d.err == nil && t.IsZero() {
			d.fail(errors.New("pgstore: zero token written in full"))
		}
	default:
		d.fail(fmt.Errorf("pgstore: bad token length %d", n))
	}
	return t
}

func (d *dec) props() map[string]any {
	n := d.u()
	if n == 0 || d.err != nil {
		return nil
	}
	n--
	// A property takes at least two bytes: bound the map by the input.
	if n > uint64(len(d.b)-d.off)/2 {
		d.fail(errTruncated)
		return nil
	}
	m := make(map[string]any, n)
	for range n {
		k := d.str()
		v := d.value()
		if d.err != nil {
			return nil
		}
		m[k] = v
	}
	return m
}

func (d *dec) value() any {
	switch tag := d.byte1(); tag {
	case vNil:
		return nil
	case vFalse:
		return false
	case vTrue:
		return true
	case vString:
		return d.str()
	case vBytes:
		return d.raw()
	case vNilBytes:
		return []byte(nil)
	case vTime:
		return d.time()
	case vInt8:
		return int8(d.ranged(math.MinInt8, math.MaxInt8))
	case vInt16:
		return int16(d.ranged(math.MinInt16, math.MaxInt16))
	case vInt32:
		return d.i32()
	case vInt64:
		return d.i()
	case vInt:
		return int(d.ranged(math.MinInt, math.MaxInt))
	case vUint8:
		return uint8(d.uranged(math.MaxUint8))
	case vUint16:
		return uint16(d.uranged(math.MaxUint16))
	case vUint32:
		return uint32(d.uranged(math.MaxUint32))
	case vUint64:
		return d.u()
	case vFloat32:
		if p := d.next(4); p != nil {
			return math.Float32frombits(binary.LittleEndian.Uint32(p))
		}
		return nil
	case vFloat64:
		if p := d.next(8); p != nil {
			return math.Float64frombits(binary.LittleEndian.Uint64(p))
		}
		return nil
	case vToken:
		var t broker.LockToken
		copy(t[:], d.next(16))
		return t
	default:
		if d.err == nil {
			d.fail(fmt.Errorf("pgstore: bad value tag %d", tag))
		}
		return nil
	}
}

func (d *dec) ranged(lo, hi int64) int64 {
	v := d.i()
	if v < lo || v > hi {
		d.fail(errors.New("pgstore: integer out of range"))
		return 0
	}
	return v
}

func (d *dec) uranged(hi uint64) uint64 {
	v := d.u()
	if v > hi {
		d.fail(errors.New("pgstore: integer out of range"))
		return 0
	}
	return v
}

// open reads the version byte.
func (d *dec) open(what string) {
	if v := d.byte1(); d.err == nil && v != blobVersion {
		d.fail(fmt.Errorf("pgstore: %s blob of unknown version %d", what, v))
	}
}

// close reports the first error, or bytes left over.
func (d *dec) close(what string) error {
	if d.err != nil {
		return fmt.Errorf("%s: %w", what, d.err)
	}
	if d.off != len(d.b) {
		return fmt.Errorf("%s: %d bytes after the end", what, len(d.b)-d.off)
	}
	return nil
}

// decodeHeader reads a header blob into m.
func decodeHeader(b []byte, m *broker.Message) error {
	d := dec{b: b}
	d.open("header")
	for _, s := range []*string{&m.MessageID, &m.SessionID, &m.PartitionKey, &m.CorrelationID, &m.Subject, &m.To,
		&m.ReplyTo, &m.ReplyToSessionID, &m.ContentType} {
		*s = d.str()
	}
	m.TimeToLive = time.Duration(d.i())
	m.ScheduledEnqueueTime = d.time()
	m.Format = broker.Format(d.byte1())
	m.Annotations = d.opt()
	m.EnqueuedTime = d.time()
	m.ExpiresAt = d.time()
	m.BodySize = d.i()
	m.TopicSeq = d.i()
	m.SharedBody = d.flag()
	return d.close("pgstore: message header")
}

// decodeUpdate reads an update blob into m.
func decodeUpdate(b []byte, m *broker.Message) error {
	d := dec{b: b}
	d.open("update")
	m.DeliveryCount = d.i32()
	m.State = broker.MessageState(d.i32())
	m.DeadLettered = d.flag()
	m.DeadLetterReason = d.str()
	m.DeadLetterDescription = d.str()
	m.DeadLetterSource = d.str()
	m.Properties = d.props()
	m.VisibleAt = d.time()
	m.PopReceipt = d.token()
	return d.close("pgstore: message update")
}

// decodeDef reads a definition blob.
func decodeDef(b []byte) (*broker.Entity, error) {
	d := dec{b: b}
	d.open("definition")
	def := &broker.Entity{}
	def.Name = d.str()
	def.Kind = broker.Kind(d.byte1())
	p := &def.Properties
	p.LockDuration = time.Duration(d.i())
	p.MaxDeliveryCount = d.i32()
	p.DefaultMessageTimeToLive = time.Duration(d.i())
	p.DuplicateDetectionHistoryTimeWindow = time.Duration(d.i())
	p.MaxSizeInMegabytes = d.i()
	p.MaxMessageSizeInKilobytes = d.i()
	p.AutoDeleteOnIdle = time.Duration(d.i())
	p.ForwardTo = d.str()
	p.ForwardDeadLetteredMessagesTo = d.str()
	p.Status = broker.Status(d.str())
	p.UserMetadata = d.str()
	flags := d.u()
	if flags >= fEnd {
		d.fail(fmt.Errorf("pgstore: unknown entity flags %#x", flags))
	}
	p.DeadLetteringOnMessageExpiration = flags&fDeadLetterOnExpiration != 0
	p.RequiresDuplicateDetection = flags&fDuplicateDetection != 0
	p.RequiresSession = flags&fSession != 0
	p.EnableBatchedOperations = flags&fBatched != 0
	p.EnablePartitioning = flags&fPartitioning != 0
	p.DeadLetteringOnFilterEvaluationExceptions = flags&fFilterExceptionsToDLQ != 0
	p.SupportOrdering = flags&fSupportOrdering != 0
	def.CreatedAt = d.time()
	def.UpdatedAt = d.time()
	if n := d.u(); n > 0 && d.err == nil {
		n--
		if n > uint64(len(d.b)-d.off)/2 {
			d.fail(errTruncated)
		} else {
			def.Metadata = make(map[string]string, n)
			for range n {
				k := d.str()
				def.Metadata[k] = d.str()
			}
		}
	}
	if n := d.u(); n > 0 && d.err == nil {
		// A rule takes at least eight bytes: bound the slice by the input.
		if n > uint64(len(d.b)-d.off)/8 {
			d.fail(errTruncated)
		} else {
			def.Rules = make([]broker.Rule, n)
			for i := range def.Rules {
				d.rule(&def.Rules[i])
			}
		}
	}
	if err := d.close("pgstore: entity definition"); err != nil {
		return nil, err
	}
	return def, nil
}

func (d *dec) rule(r *broker.Rule) {
	r.Name = d.str()
	r.Filter.Kind = broker.FilterKind(d.byte1())
	r.Filter.SQL = d.str()
	r.Filter.Parameters = d.props()
	if d.flag() {
		c := &broker.CorrelationFilter{}
		for _, s := range []*string{&c.CorrelationID, &c.MessageID, &c.To, &c.ReplyTo, &c.Subject, &c.SessionID,
			&c.ReplyToSessionID, &c.ContentType} {
			*s = d.str()
		}
		c.Properties = d.props()
		r.Filter.Correlation = c
	}
	r.Action = d.str()
	r.ActionParameters = d.props()
	r.CreatedAt = d.time()
}
