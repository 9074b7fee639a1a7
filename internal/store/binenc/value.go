package binenc

// Application property values, lock tokens.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

// Tags of property values: one byte before the value.
const (
	TagNil       = iota // nothing follows
	TagFalse            // nothing follows
	TagTrue             // nothing follows
	TagString           // a string
	TagBytes            // a byte string
	TagNilBytes         // []byte(nil); nothing follows
	TagTime             // a time
	TagInt8             // a varint, range-checked
	TagInt16            // a varint, range-checked
	TagInt32            // a varint, range-checked
	TagInt64            // a varint
	TagInt              // a varint, range-checked
	TagUint8            // a uvarint, range-checked
	TagUint16           // a uvarint, range-checked
	TagUint32           // a uvarint, range-checked
	TagUint64           // a uvarint
	TagFloat32          // 4 bytes, little-endian IEEE 754
	TagFloat64          // 8 bytes, little-endian IEEE 754
	TagLockToken        // 16 bytes
	TagEnd              // the first unknown tag
)

// Props appends nil as the uvarint 0 and anything else as its count+1,
// then each key (a string) and value (see Value), in map order. A value of
// a type Value cannot write is an error, and leaves a partial encoding.
func (e *Encoder) Props(m map[string]any) error {
	if m == nil {
		e.Uvarint(0)
		return nil
	}
	e.Uvarint(uint64(len(m)) + 1)
	for k, v := range m {
		e.String(k)
		if err := e.Value(v); err != nil {
			return fmt.Errorf("property %q: %w", k, err)
		}
	}
	return nil
}

// Value appends a tag (TagNil...) and the value: nil, bool, string,
// []byte, time.Time, the sized integers and floats, and broker.LockToken
// can be written; anything else is an error (and nothing is written).
func (e *Encoder) Value(v any) error {
	switch x := v.(type) {
	case nil:
		e.Byte(TagNil)
	case bool:
		if x {
			e.Byte(TagTrue)
		} else {
			e.Byte(TagFalse)
		}
	case string:
		e.Byte(TagString)
		e.String(x)
	case []byte:
		if x == nil {
			e.Byte(TagNilBytes)
		} else {
			e.Byte(TagBytes)
			e.Bytes(x)
		}
	case time.Time:
		e.Byte(TagTime)
		e.Time(x)
	case int8:
		e.Byte(TagInt8)
		e.Varint(int64(x))
	case int16:
		e.Byte(TagInt16)
		e.Varint(int64(x))
	case int32:
		e.Byte(TagInt32)
		e.Varint(int64(x))
	case int64:
		e.Byte(TagInt64)
		e.Varint(x)
	case int:
		e.Byte(TagInt)
		e.Varint(int64(x))
	case uint8:
		e.Byte(TagUint8)
		e.Uvarint(uint64(x))
	case uint16:
		e.Byte(TagUint16)
		e.Uvarint(uint64(x))
	case uint32:
		e.Byte(TagUint32)
		e.Uvarint(uint64(x))
	case uint64:
		e.Byte(TagUint64)
		e.Uvarint(x)
	case float32:
		e.Byte(TagFloat32)
		e.B = binary.LittleEndian.AppendUint32(e.B, math.Float32bits(x))
	case float64:
		e.Byte(TagFloat64)
		e.B = binary.LittleEndian.AppendUint64(e.B, math.Float64bits(x))
	case broker.LockToken:
		e.Byte(TagLockToken)
		e.B = append(e.B, x[:]...)
	default:
		return fmt.Errorf("unsupported type %T", v)
	}
	return nil
}

// Token appends the zero token as an empty byte string and any other as a
// byte string of its 16 bytes (so the length is the single byte 0 or 16).
func (e *Encoder) Token(t broker.LockToken) {
	if t.IsZero() {
		e.Bytes(nil)
		return
	}
	e.Bytes(t[:])
}

// Props reads what Encoder.Props wrote.
func (d *Decoder) Props() map[string]any {
	n, ok := d.count(2) // a key and a tag of at least a byte each
	if !ok {
		return nil
	}
	m := make(map[string]any, n)
	for range n {
		k := d.String()
		v := d.Value()
		if d.err != nil {
			return nil
		}
		m[k] = v
	}
	return m
}

// Value reads what Encoder.Value wrote.
func (d *Decoder) Value() any {
	switch tag := d.Byte(); tag {
	case TagNil:
		return nil
	case TagFalse:
		return false
	case TagTrue:
		return true
	case TagString:
		return d.String()
	case TagBytes:
		return d.Bytes()
	case TagNilBytes:
		return []byte(nil)
	case TagTime:
		return d.Time()
	case TagInt8:
		return int8(d.ranged(math.MinInt8, math.MaxInt8, "int8"))
	case TagInt16:
		return int16(d.ranged(math.MinInt16, math.MaxInt16, "int16"))
	case TagInt32:
		return d.Int32()
	case TagInt64:
		return d.Varint()
	case TagInt:
		return int(d.ranged(math.MinInt, math.MaxInt, "int"))
	case TagUint8:
		return uint8(d.uranged(math.MaxUint8, "uint8"))
	case TagUint16:
		return uint16(d.uranged(math.MaxUint16, "uint16"))
	case TagUint32:
		return uint32(d.uranged(math.MaxUint32, "uint32"))
	case TagUint64:
		return d.Uvarint()
	case TagFloat32:
		p := d.Raw(4)
		if d.err != nil {
			return nil
		}
		return math.Float32frombits(binary.LittleEndian.Uint32(p))
	case TagFloat64:
		p := d.Raw(8)
		if d.err != nil {
			return nil
		}
		return math.Float64frombits(binary.LittleEndian.Uint64(p))
	case TagLockToken:
		p := d.Raw(16)
		if d.err != nil {
			return nil
		}
		return broker.LockToken(p)
	default:
		d.Fail(fmt.Errorf("bad value tag %d", tag))
		return nil
	}
}

func (d *Decoder) ranged(lo, hi int64, what string) int64 {
	v := d.Varint()
	if v < lo || v > hi {
		d.Fail(fmt.Errorf("%s out of range", what))
		return 0
	}
	return v
}

func (d *Decoder) uranged(hi uint64, what string) uint64 {
	v := d.Uvarint()
	if v > hi {
		d.Fail(fmt.Errorf("%s out of range", what))
		return 0
	}
	return v
}

// Token reads what Encoder.Token wrote: a length other than 0 and 16, or
// the zero token written in full, is an error.
func (d *Decoder) Token() broker.LockToken {
	var t broker.LockToken
	switch p := d.Raw(d.Uvarint()); len(p) {
	case 0:
	case len(t):
		copy(t[:], p)
		if t.IsZero() {
			d.Fail(errors.New("zero token written in full"))
		}
	default:
		d.Fail(fmt.Errorf("bad token length %d", len(p)))
	}
	return t
}
