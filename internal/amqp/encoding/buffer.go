package encoding

import (
	"encoding/binary"
	"math"
	"time"
)

// Buffer appends AMQP encodings to a byte slice. The zero value is an empty
// buffer ready to use. A Buffer is not safe for concurrent use.
type Buffer struct {
	b []byte
}

// NewBuffer returns a Buffer that appends to b (b[:len(b)] is kept).
func NewBuffer(b []byte) *Buffer { return &Buffer{b: b} }

// SetBytes makes the buffer append to b, so a Buffer declared on the stack
// can write into a caller's slice.
func (w *Buffer) SetBytes(b []byte) { w.b = b }

// Bytes returns the encoded bytes. They alias the buffer until the next
// append or Reset.
func (w *Buffer) Bytes() []byte { return w.b }

// Len returns the number of bytes in the buffer.
func (w *Buffer) Len() int { return len(w.b) }

// Reset empties the buffer, keeping its capacity.
func (w *Buffer) Reset() { w.b = w.b[:0] }

// Truncate discards all but the first n bytes.
func (w *Buffer) Truncate(n int) { w.b = w.b[:n] }

// AppendRaw appends already encoded bytes verbatim.
func (w *Buffer) AppendRaw(p []byte) { w.b = append(w.b, p...) }

// AppendNull appends null.
func (w *Buffer) AppendNull() { w.b = append(w.b, CodeNull) }

// AppendBool appends a boolean in its one-byte form (true/false codes).
func (w *Buffer) AppendBool(v bool) {
	if v {
		w.b = append(w.b, CodeTrue)
	} else {
		w.b = append(w.b, CodeFalse)
	}
}

// AppendUint8 appends a ubyte.
func (w *Buffer) AppendUint8(v uint8) { w.b = append(w.b, CodeUbyte, v) }

// AppendUint16 appends a ushort.
func (w *Buffer) AppendUint16(v uint16) {
	w.b = binary.BigEndian.AppendUint16(append(w.b, CodeUshort), v)
}

// AppendUint32 appends a uint using uint0, smalluint or uint.
func (w *Buffer) AppendUint32(v uint32) {
	switch {
	case v == 0:
		w.b = append(w.b, CodeUint0)
	case v < 256:
		w.b = append(w.b, CodeSmallUint, byte(v))
	default:
		w.b = binary.BigEndian.AppendUint32(append(w.b, CodeUint), v)
	}
}

// AppendUint64 appends a ulong using ulong0, smallulong or ulong.
func (w *Buffer) AppendUint64(v uint64) {
	switch {
	case v == 0:
		w.b = append(w.b, CodeUlong0)
	case v < 256:
		w.b = append(w.b, CodeSmallUlong, byte(v))
	default:
		w.b = binary.BigEndian.AppendUint64(append(w.b, CodeUlong), v)
	}
}

// AppendInt8 appends a byte.
func (w *Buffer) AppendInt8(v int8) { w.b = append(w.b, CodeByte, byte(v)) }

// AppendInt16 appends a short.
func (w *Buffer) AppendInt16(v int16) {
	w.b = binary.BigEndian.AppendUint16(append(w.b, CodeShort), uint16(v))
}

// AppendInt32 appends an int using smallint or int.
func (w *Buffer) AppendInt32(v int32) {
	if v >= -128 && v <= 127 {
		w.b = append(w.b, CodeSmallInt, byte(int8(v)))
		return
	}
	w.b = binary.BigEndian.AppendUint32(append(w.b, CodeInt), uint32(v))
}

// AppendInt64 appends a long using smalllong or long.
func (w *Buffer) AppendInt64(v int64) {
	if v >= -128 && v <= 127 {
		w.b = append(w.b, CodeSmallLong, byte(int8(v)))
		return
	}
	w.b = binary.BigEndian.AppendUint64(append(w.b, CodeLong), uint64(v))
}

// AppendInt64Wide appends a long always in its 8-byte form (code 0x81), for
// peers that require it (for example com.microsoft:locked-until-utc).
func (w *Buffer) AppendInt64Wide(v int64) {
	w.b = binary.BigEndian.AppendUint64(append(w.b, CodeLong), uint64(v))
}

// AppendFloat32 appends a float.
func (w *Buffer) AppendFloat32(v float32) {
	w.b = binary.BigEndian.AppendUint32(append(w.b, CodeFloat), math.Float32bits(v))
}

// AppendFloat64 appends a double.
func (w *Buffer) AppendFloat64(v float64) {
	w.b = binary.BigEndian.AppendUint64(append(w.b, CodeDouble), math.Float64bits(v))
}

// AppendDecimal32 appends a decimal32.
func (w *Buffer) AppendDecimal32(v Decimal32) { w.b = append(append(w.b, CodeDecimal32), v[:]...) }

// AppendDecimal64 appends a decimal64.
func (w *Buffer) AppendDecimal64(v Decimal64) { w.b = append(append(w.b, CodeDecimal64), v[:]...) }

// AppendDecimal128 appends a decimal128.
func (w *Buffer) AppendDecimal128(v Decimal128) {
	w.b = append(append(w.b, CodeDecimal128), v[:]...)
}

// AppendChar appends a char.
func (w *Buffer) AppendChar(v Char) {
	w.b = binary.BigEndian.AppendUint32(append(w.b, CodeChar), uint32(v))
}

// AppendTimestamp appends a timestamp (milliseconds since the Unix epoch;
// sub-millisecond precision is dropped).
func (w *Buffer) AppendTimestamp(t time.Time) {
	w.b = binary.BigEndian.AppendUint64(append(w.b, CodeTimestamp), uint64(t.UnixMilli()))
}

// AppendTimestampMillis appends a timestamp given in Unix milliseconds.
func (w *Buffer) AppendTimestampMillis(ms int64) {
	w.b = binary.BigEndian.AppendUint64(append(w.b, CodeTimestamp), uint64(ms))
}

// AppendUUID appends a uuid.
func (w *Buffer) AppendUUID(v UUID) { w.b = append(append(w.b, CodeUUID), v[:]...) }

// AppendBinary appends a binary using vbin8 or vbin32.
func (w *Buffer) AppendBinary(p []byte) {
	w.appendVariable(CodeVbin8, CodeVbin32, len(p))
	w.b = append(w.b, p...)
}

// AppendString appends a string using str8 or str32. The caller must supply
// valid UTF-8.
func (w *Buffer) AppendString(s string) {
	w.appendVariable(CodeStr8, CodeStr32, len(s))
	w.b = append(w.b, s...)
}

// AppendSymbol appends a symbol using sym8 or sym32.
func (w *Buffer) AppendSymbol(s string) {
	w.appendVariable(CodeSym8, CodeSym32, len(s))
	w.b = append(w.b, s...)
}

func (w *Buffer) appendVariable(small, large byte, n int) {
	if n < 256 {
		w.b = append(w.b, small, byte(n))
		return
	}
	w.b = binary.BigEndian.AppendUint32(append(w.b, large), uint32(n))
}

// AppendDescriptor appends the described-type constructor with a numeric
// descriptor (0x00 smallulong/ulong). The described value must follow.
func (w *Buffer) AppendDescriptor(code uint64) {
	w.b = append(w.b, CodeDescribed)
	w.AppendUint64(code)
}

// AppendSymbolDescriptor appends the described-type constructor with a
// symbolic descriptor. The described value must follow.
func (w *Buffer) AppendSymbolDescriptor(name string) {
	w.b = append(w.b, CodeDescribed)
	w.AppendSymbol(name)
}

// Composite is a list or map being written; see BeginList and BeginMap.
type Composite struct {
	start int // offset of the 32-bit constructor
	count int // elements written so far (as counted by the caller)
	// fields mode: offset and count right after the last non-null field.
	trimLen   int
	trimCount int
}

// BeginList starts a list. Write the elements, then call EndList with the
// number of elements written.
func (w *Buffer) BeginList() Composite {
	start := len(w.b)
	w.b = append(w.b, CodeList32, 0, 0, 0, 0, 0, 0, 0, 0)
	return Composite{start: start}
}

// EndList finishes a list of count elements, using list0 or list8 when they
// fit.
func (w *Buffer) EndList(c Composite, count int) {
	w.endComposite(c, count, CodeList8, CodeList32, true)
}

// BeginMap starts a map. Write alternating keys and values, then call EndMap
// with the number of entries (pairs).
func (w *Buffer) BeginMap() Composite {
	start := len(w.b)
	w.b = append(w.b, CodeMap32, 0, 0, 0, 0, 0, 0, 0, 0)
	return Composite{start: start}
}

// EndMap finishes a map of pairs entries, using map8 when it fits.
func (w *Buffer) EndMap(c Composite, pairs int) {
	w.endComposite(c, 2*pairs, CodeMap8, CodeMap32, false)
}

func (w *Buffer) endComposite(c Composite, count int, small, large byte, allowZero bool) {
	body := len(w.b) - c.start - 9
	if allowZero && count == 0 && body == 0 {
		w.b[c.start] = CodeList0
		w.b = w.b[:c.start+1]
		return
	}
	if body+1 < 256 && count < 256 {
		w.b[c.start] = small
		w.b[c.start+1] = byte(body + 1)
		w.b[c.start+2] = byte(count)
		copy(w.b[c.start+3:], w.b[c.start+9:])
		w.b = w.b[:len(w.b)-6]
		return
	}
	w.b[c.start] = large
	binary.BigEndian.PutUint32(w.b[c.start+1:], uint32(body+4))
	binary.BigEndian.PutUint32(w.b[c.start+5:], uint32(count))
}

// BeginFields starts the field list of a composite type (a performative or
// message section). After each field call Field (the field was written) or
// Null (it was absent); EndFields drops trailing absent fields as the spec
// recommends.
func (w *Buffer) BeginFields() Composite {
	c := w.BeginList()
	c.trimLen = len(w.b)
	return c
}

// Field records that a non-null field was just written.
func (w *Buffer) Field(c *Composite) {
	c.count++
	c.trimLen = len(w.b)
	c.trimCount = c.count
}

// Null writes an absent field.
func (w *Buffer) Null(c *Composite) {
	w.b = append(w.b, CodeNull)
	c.count++
}

// EndFields finishes a field list started with BeginFields.
func (w *Buffer) EndFields(c Composite) {
	w.b = w.b[:c.trimLen]
	w.EndList(c, c.trimCount)
}
