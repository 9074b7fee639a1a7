// Package binenc holds the binary encoding primitives the durable stores
// share: varints, length-prefixed strings and byte strings, booleans,
// times, tagged application property values, metadata maps, lock tokens
// and entity definitions with their rules.
//
// An Encoder appends to a byte slice and never fails, except for a
// property value of a type the encoding has no tag for. A Decoder reads
// such bytes back: the first error sticks (later reads return zero
// values), every length is checked against the input left, and a count
// that cannot fit the input fails before anything is allocated, so that
// damaged or hostile input costs no more than its own size.
//
// Each store keeps its own record or blob layout (version bytes, field
// order, what is optional); the byte forms of the primitives here are
// documented in docs/format/filestore.md and docs/format/pgstore.md, and
// must not change: the filestore's records on disk are decoded with them.
package binenc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// Location tags of a time.
const (
	TimeZero  = 0 // the zero time.Time; nothing follows
	TimeUTC   = 1
	TimeLocal = 2
	TimeZone  = 3 // a fixed zone: its name and offset follow
)

// maxZoneOffset bounds the offset of a fixed zone, in seconds.
const maxZoneOffset = 7 * 24 * 3600

// ErrShort is the error of input that ends early (or of a count larger
// than the input left could hold).
var ErrShort = errors.New("input ends early")

// Encoder appends to B.
type Encoder struct{ B []byte }

// Byte appends one byte.
func (e *Encoder) Byte(v byte) { e.B = append(e.B, v) }

// Uvarint appends an unsigned varint.
func (e *Encoder) Uvarint(v uint64) { e.B = binary.AppendUvarint(e.B, v) }

// Varint appends a signed (zigzag) varint.
func (e *Encoder) Varint(v int64) { e.B = binary.AppendVarint(e.B, v) }

// Duration appends a duration as a varint of nanoseconds.
func (e *Encoder) Duration(d time.Duration) { e.Varint(int64(d)) }

// String appends the length of s as a uvarint, then its bytes.
func (e *Encoder) String(s string) {
	e.Uvarint(uint64(len(s)))
	e.B = append(e.B, s...)
}

// Bytes appends the length of p as a uvarint, then its bytes; nil and
// empty are alike.
func (e *Encoder) Bytes(p []byte) {
	e.Uvarint(uint64(len(p)))
	e.B = append(e.B, p...)
}

// OptBytes appends nil as the uvarint 0 and anything else as its length+1,
// then its bytes.
func (e *Encoder) OptBytes(p []byte) {
	if p == nil {
		e.Uvarint(0)
		return
	}
	e.Uvarint(uint64(len(p)) + 1)
	e.B = append(e.B, p...)
}

// Bool appends 1 or 0.
func (e *Encoder) Bool(v bool) {
	if v {
		e.Byte(1)
	} else {
		e.Byte(0)
	}
}

// Time appends a location tag, then (but for the zero time) the Unix
// seconds as a varint and the nanoseconds as a uvarint. A location other
// than UTC and Local is written as the fixed zone t is in: its name and
// offset (a varint of seconds) follow the tag.
func (e *Encoder) Time(t time.Time) {
	if t.IsZero() {
		e.Byte(TimeZero)
		return
	}
	switch t.Location() {
	case time.UTC:
		e.Byte(TimeUTC)
	case time.Local:
		e.Byte(TimeLocal)
	default:
		name, off := t.Zone()
		e.Byte(TimeZone)
		e.String(name)
		e.Varint(int64(off))
	}
	e.Varint(t.Unix())
	e.Uvarint(uint64(t.Nanosecond()))
}

// Metadata appends nil as the uvarint 0 and anything else as its count+1,
// then each name and value as strings (in map order).
func (e *Encoder) Metadata(m map[string]string) {
	if m == nil {
		e.Uvarint(0)
		return
	}
	e.Uvarint(uint64(len(m)) + 1)
	for k, v := range m {
		e.String(k)
		e.String(v)
	}
}

// Decoder reads what an Encoder wrote. The first error sticks; later
// reads return zero values.
type Decoder struct {
	b   []byte
	off int
	err error
}

// NewDecoder returns a decoder of b. The decoder's results that are byte
// slices (Raw, OptBytes) are slices of b; everything else is copied.
func NewDecoder(b []byte) Decoder { return Decoder{b: b} }

// Err returns the first error, which names the offset it happened at.
func (d *Decoder) Err() error { return d.err }

// Offset returns the number of bytes read.
func (d *Decoder) Offset() int { return d.off }

// Left returns the number of bytes not read yet.
func (d *Decoder) Left() int { return len(d.b) - d.off }

// Fail records err (with the offset) unless an error is recorded already.
func (d *Decoder) Fail(err error) {
	if d.err == nil {
		d.err = fmt.Errorf("%w at byte %d", err, d.off)
	}
}

// Byte reads one byte.
func (d *Decoder) Byte() byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.b) {
		d.Fail(ErrShort)
		return 0
	}
	v := d.b[d.off]
	d.off++
	return v
}

// Uvarint reads an unsigned varint.
func (d *Decoder) Uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.Fail(errors.New("bad varint"))
		return 0
	}
	d.off += n
	return v
}

// Varint reads a signed varint.
func (d *Decoder) Varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.Fail(errors.New("bad varint"))
		return 0
	}
	d.off += n
	return v
}

// Int32 reads a varint that must fit in 32 bits.
func (d *Decoder) Int32() int32 {
	v := d.Varint()
	if v < math.MinInt32 || v > math.MaxInt32 {
		d.Fail(errors.New("value out of 32-bit range"))
		return 0
	}
	return int32(v)
}

// Duration reads what Encoder.Duration wrote.
func (d *Decoder) Duration() time.Duration { return time.Duration(d.Varint()) }

// Raw returns the next n bytes, a slice of the input (not copied).
func (d *Decoder) Raw(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)-d.off) {
		d.Fail(ErrShort)
		return nil
	}
	p := d.b[d.off : d.off+int(n)]
	d.off += int(n)
	return p
}

// String reads what Encoder.String wrote.
func (d *Decoder) String() string { return string(d.Raw(d.Uvarint())) }

// Bytes reads what Encoder.Bytes wrote, copied (empty, not nil, for a
// length of zero).
func (d *Decoder) Bytes() []byte {
	p := d.Raw(d.Uvarint())
	if d.err != nil {
		return nil
	}
	return append([]byte{}, p...)
}

// OptBytes reads what Encoder.OptBytes wrote, a slice of the input (not
// copied); ok is false for nil (and after an error).
func (d *Decoder) OptBytes() (p []byte, ok bool) {
	n := d.Uvarint()
	if n == 0 || d.err != nil {
		return nil, false
	}
	return d.Raw(n - 1), d.err == nil
}

// Bool reads what Encoder.Bool wrote: a byte other than 0 and 1 is an
// error.
func (d *Decoder) Bool() bool {
	switch d.Byte() {
	case 0:
		return false
	case 1:
		return true
	}
	d.Fail(errors.New("bad boolean"))
	return false
}

// Time reads what Encoder.Time wrote.
func (d *Decoder) Time() time.Time {
	var loc *time.Location
	switch tag := d.Byte(); tag {
	case TimeZero:
		return time.Time{}
	case TimeUTC:
		loc = time.UTC
	case TimeLocal:
		loc = time.Local
	case TimeZone:
		name := d.String()
		off := d.Varint()
		if off < -maxZoneOffset || off > maxZoneOffset {
			d.Fail(errors.New("bad zone offset"))
			return time.Time{}
		}
		loc = time.FixedZone(name, int(off))
	default:
		d.Fail(fmt.Errorf("bad time tag %d", tag))
		return time.Time{}
	}
	sec, nsec := d.Varint(), d.Uvarint()
	if nsec >= 1e9 {
		d.Fail(errors.New("bad nanoseconds"))
	}
	if d.err != nil {
		return time.Time{}
	}
	t := time.Unix(sec, int64(nsec)).In(loc)
	if t.IsZero() {
		// The zero time has its own tag; anything else naming it is
		// not what the encoder writes.
		d.Fail(errors.New("zero time with a location"))
		return time.Time{}
	}
	return t
}

// count reads what a nil-or-count+1 prefix wrote (Metadata, Props): ok is
// false for nil. Each entry takes at least min bytes, which bounds the
// count by the input left.
func (d *Decoder) count(min uint64) (n uint64, ok bool) {
	n = d.Uvarint()
	if n == 0 || d.err != nil {
		return 0, false
	}
	n--
	if n > uint64(d.Left())/min {
		d.Fail(ErrShort)
		return 0, false
	}
	return n, true
}

// Metadata reads what Encoder.Metadata wrote.
func (d *Decoder) Metadata() map[string]string {
	n, ok := d.count(2) // a name and a value of at least a byte each
	if !ok {
		return nil
	}
	m := make(map[string]string, n)
	for range n {
		k := d.String()
		v := d.String()
		if d.err != nil {
			return nil
		}
		m[k] = v
	}
	return m
}
