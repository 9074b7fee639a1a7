package encoding

import (
	"encoding/binary"
	"math"
	"time"
	"unicode/utf8"
)

// Default decoding limits.
const (
	// DefaultMaxDepth is the default limit on nested lists, maps, arrays and
	// described values.
	DefaultMaxDepth = 32
	// minElementBudget is the element budget a Reader always has, on top of
	// one element per input byte; it covers arrays of zero-width elements
	// (null, true, false, uint0, ...) in small inputs.
	minElementBudget = 4096
)

// Reader decodes AMQP values from a byte slice. The zero value reads an
// empty input; use NewReader or Reset. A Reader is not safe for concurrent
// use. Binary values it returns alias the input.
type Reader struct {
	buf      []byte
	off      int
	depth    int
	maxDepth int
	// budget is the number of elements the Reader may still materialise
	// into slices; it bounds allocation to O(len(input)).
	budget int
}

// NewReader returns a Reader over b.
func NewReader(b []byte) *Reader {
	r := &Reader{}
	r.Reset(b)
	return r
}

// Reset makes r read b from its start, with default limits.
func (r *Reader) Reset(b []byte) {
	*r = Reader{buf: b, maxDepth: DefaultMaxDepth, budget: len(b) + minElementBudget}
}

// SetMaxDepth changes the nesting limit (values < 1 select the default).
func (r *Reader) SetMaxDepth(n int) {
	if n < 1 {
		n = DefaultMaxDepth
	}
	r.maxDepth = n
}

// SetMaxElements changes the number of elements (list, map and array
// entries) the Reader may materialise before failing with ErrLimit. The
// default is the input length plus 4096.
func (r *Reader) SetMaxElements(n int) { r.budget = max(n, 0) }

// Offset returns the number of bytes consumed so far.
func (r *Reader) Offset() int { return r.off }

// Len returns the number of unread bytes.
func (r *Reader) Len() int { return len(r.buf) - r.off }

// Rest returns the unread bytes (aliasing the input).
func (r *Reader) Rest() []byte { return r.buf[r.off:] }

// Input returns the whole input slice.
func (r *Reader) Input() []byte { return r.buf }

// Seek moves the read position to off, which must be within the input.
func (r *Reader) Seek(off int) error {
	if off < 0 || off > len(r.buf) {
		return r.fail(ErrTruncated, "seek out of range")
	}
	r.off = off
	return nil
}

// Errorf returns a *DecodeError at the current offset. It lets packages
// built on the Reader report errors in the same form.
func (r *Reader) Errorf(cause error, reason string) error { return r.fail(cause, reason) }

func (r *Reader) fail(cause error, reason string) error {
	return &DecodeError{Offset: r.off, Reason: reason, Err: cause}
}

func (r *Reader) failAt(off int, cause error, reason string) error {
	return &DecodeError{Offset: off, Reason: reason, Err: cause}
}

func (r *Reader) unexpected(want string, code byte) error {
	return r.fail(ErrUnexpectedType, "expected "+want+", found "+codeName(code))
}

// PeekCode returns the next format code without consuming it.
func (r *Reader) PeekCode() (byte, error) {
	if r.off >= len(r.buf) {
		return 0, r.fail(ErrTruncated, "expected a value")
	}
	return r.buf[r.off], nil
}

// ReadNull consumes a null if one is next and reports whether it did.
func (r *Reader) ReadNull() bool {
	if r.off < len(r.buf) && r.buf[r.off] == CodeNull {
		r.off++
		return true
	}
	return false
}

func (r *Reader) readCode() (byte, error) {
	if r.off >= len(r.buf) {
		return 0, r.fail(ErrTruncated, "expected a value")
	}
	c := r.buf[r.off]
	r.off++
	return c, nil
}

// take consumes n bytes.
func (r *Reader) take(n int) ([]byte, error) {
	if n < 0 || n > len(r.buf)-r.off {
		return nil, r.fail(ErrTruncated, "value runs past end of input")
	}
	p := r.buf[r.off : r.off+n : r.off+n]
	r.off += n
	return p, nil
}

func (r *Reader) u8() (byte, error) {
	if r.off >= len(r.buf) {
		return 0, r.fail(ErrTruncated, "value runs past end of input")
	}
	v := r.buf[r.off]
	r.off++
	return v, nil
}

func (r *Reader) u16() (uint16, error) {
	p, err := r.take(2)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint16(p), nil
}

func (r *Reader) u32() (uint32, error) {
	p, err := r.take(4)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(p), nil
}

func (r *Reader) u64() (uint64, error) {
	p, err := r.take(8)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint64(p), nil
}

// ReadBool reads a boolean (true, false or the one-byte boolean form).
func (r *Reader) ReadBool() (bool, error) {
	c, err := r.readCode()
	if err != nil {
		return false, err
	}
	return r.boolBody(c)
}

func (r *Reader) boolBody(c byte) (bool, error) {
	switch c {
	case CodeTrue:
		return true, nil
	case CodeFalse:
		return false, nil
	case CodeBool:
		v, err := r.u8()
		if err != nil {
			return false, err
		}
		switch v {
		case 0:
			return false, nil
		case 1:
			return true, nil
		}
		r.off--
		return false, r.fail(ErrInvalid, "boolean value is neither 0 nor 1")
	}
	r.off--
	return false, r.unexpected("boolean", c)
}

// ReadUint8 reads a ubyte.
func (r *Reader) ReadUint8() (uint8, error) {
	c, err := r.readCode()
	if err != nil {
		return 0, err
	}
	if c != CodeUbyte {
		r.off--
		return 0, r.unexpected("ubyte", c)
	}
	return r.u8()
}

// ReadUint16 reads a ushort.
func (r *Reader) ReadUint16() (uint16, error) {
	c, err := r.readCode()
	if err != nil {
		return 0, err
	}
	if c != CodeUshort {
		r.off--
		return 0, r.unexpected("ushort", c)
	}
	return r.u16()
}

// ReadUint32 reads a uint in any of its encodings.
func (r *Reader) ReadUint32() (uint32, error) {
	c, err := r.readCode()
	if err != nil {
		return 0, err
	}
	return r.uintBody(c)
}

func (r *Reader) uintBody(c byte) (uint32, error) {
	switch c {
	case CodeUint0:
		return 0, nil
	case CodeSmallUint:
		v, err := r.u8()
		return uint32(v), err
	case CodeUint:
		return r.u32()
	}
	r.off--
	return 0, r.unexpected("uint", c)
}

// ReadUint64 reads a ulong in any of its encodings.
func (r *Reader) ReadUint64() (uint64, error) {
	c, err := r.readCode()
	if err != nil {
		return 0, err
	}
	return r.ulongBody(c)
}

func (r *Reader) ulongBody(c byte) (uint64, error) {
	switch c {
	case CodeUlong0:
		return 0, nil
	case CodeSmallUlong:
		v, err := r.u8()
		return uint64(v), err
	case CodeUlong:
		return r.u64()
	}
	r.off--
	return 0, r.unexpected("ulong", c)
}

// ReadInt8 reads a byte.
func (r *Reader) ReadInt8() (int8, error) {
	c, err := r.readCode()
	if err != nil {
		return 0, err
	}
	if c != CodeByte {
		r.off--
		return 0, r.unexpected("byte", c)
	}
	v, err := r.u8()
	return int8(v), err
}

// ReadInt16 reads a short.
func (r *Reader) ReadInt16() (int16, error) {
	c, err := r.readCode()
	if err != nil {
		return 0, err
	}
	if c != CodeShort {
		r.off--
		return 0, r.unexpected("short", c)
	}
	v, err := r.u16()
	return int16(v), err
}

// ReadInt32 reads an int in either encoding.
func (r *Reader) ReadInt32() (int32, error) {
	c, err := r.readCode()
	if err != nil {
		return 0, err
	}
	switch c {
	case CodeSmallInt:
		v, err := r.u8()
		return int32(int8(v)), err
	case CodeInt:
		v, err := r.u32()
		return int32(v), err
	}
	r.off--
	return 0, r.unexpected("int", c)
}

// ReadInt64 reads a long in either encoding.
func (r *Reader) ReadInt64() (int64, error) {
	c, err := r.readCode()
	if err != nil {
		return 0, err
	}
	switch c {
	case CodeSmallLong:
		v, err := r.u8()
		return int64(int8(v)), err
	case CodeLong:
		v, err := r.u64()
		return int64(v), err
	}
	r.off--
	return 0, r.unexpected("long", c)
}

// ReadFloat32 reads a float.
func (r *Reader) ReadFloat32() (float32, error) {
	c, err := r.readCode()
	if err != nil {
		return 0, err
	}
	if c != CodeFloat {
		r.off--
		return 0, r.unexpected("float", c)
	}
	v, err := r.u32()
	return math.Float32frombits(v), err
}

// ReadFloat64 reads a double.
func (r *Reader) ReadFloat64() (float64, error) {
	c, err := r.readCode()
	if err != nil {
		return 0, err
	}
	if c != CodeDouble {
		r.off--
		return 0, r.unexpected("double", c)
	}
	v, err := r.u64()
	return math.Float64frombits(v), err
}

// ReadChar reads a char.
func (r *Reader) ReadChar() (Char, error) {
	c, err := r.readCode()
	if err != nil {
		return 0, err
	}
	if c != CodeChar {
		r.off--
		return 0, r.unexpected("char", c)
	}
	return r.charBody()
}

func (r *Reader) charBody() (Char, error) {
	v, err := r.u32()
	if err != nil {
		return 0, err
	}
	if v > utf8.MaxRune || !utf8.ValidRune(rune(v)) {
		return 0, r.failAt(r.off-4, ErrInvalid, "char is not a valid Unicode code point")
	}
	return Char(v), nil
}

// ReadTimestamp reads a timestamp as a UTC time.Time.
func (r *Reader) ReadTimestamp() (time.Time, error) {
	ms, err := r.ReadTimestampMillis()
	if err != nil {
		return time.Time{}, err
	}
	return time.UnixMilli(ms).UTC(), nil
}

// ReadTimestampMillis reads a timestamp as Unix milliseconds.
func (r *Reader) ReadTimestampMillis() (int64, error) {
	c, err := r.readCode()
	if err != nil {
		return 0, err
	}
	if c != CodeTimestamp {
		r.off--
		return 0, r.unexpected("timestamp", c)
	}
	v, err := r.u64()
	return int64(v), err
}

// ReadUUID reads a uuid.
func (r *Reader) ReadUUID() (UUID, error) {
	var u UUID
	c, err := r.readCode()
	if err != nil {
		return u, err
	}
	if c != CodeUUID {
		r.off--
		return u, r.unexpected("uuid", c)
	}
	p, err := r.take(16)
	copy(u[:], p)
	return u, err
}

// variableBody reads the length prefix of a vbin/str/sym encoding and
// returns the payload bytes (aliasing the input).
func (r *Reader) variableBody(c byte) ([]byte, error) {
	var n int
	switch c {
	case CodeVbin8, CodeStr8, CodeSym8:
		v, err := r.u8()
		if err != nil {
			return nil, err
		}
		n = int(v)
	default:
		v, err := r.u32()
		if err != nil {
			return nil, err
		}
		if uint64(v) > uint64(len(r.buf)-r.off) {
			return nil, r.failAt(r.off-4, ErrTruncated, "length exceeds remaining input")
		}
		n = int(v)
	}
	return r.take(n)
}

// ReadBinary reads a binary. The result aliases the input.
func (r *Reader) ReadBinary() ([]byte, error) {
	c, err := r.readCode()
	if err != nil {
		return nil, err
	}
	if c != CodeVbin8 && c != CodeVbin32 {
		r.off--
		return nil, r.unexpected("binary", c)
	}
	return r.variableBody(c)
}

// ReadStringBytes reads a string and returns its validated UTF-8 bytes,
// aliasing the input (no allocation).
func (r *Reader) ReadStringBytes() ([]byte, error) {
	c, err := r.readCode()
	if err != nil {
		return nil, err
	}
	if c != CodeStr8 && c != CodeStr32 {
		r.off--
		return nil, r.unexpected("string", c)
	}
	return r.stringBody(c)
}

func (r *Reader) stringBody(c byte) ([]byte, error) {
	start := r.off
	p, err := r.variableBody(c)
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(p) {
		return nil, r.failAt(start, ErrInvalid, "string is not valid UTF-8")
	}
	return p, nil
}

// ReadString reads a string.
func (r *Reader) ReadString() (string, error) {
	p, err := r.ReadStringBytes()
	return string(p), err
}

// ReadSymbolBytes reads a symbol and returns its bytes, aliasing the input.
func (r *Reader) ReadSymbolBytes() ([]byte, error) {
	c, err := r.readCode()
	if err != nil {
		return nil, err
	}
	if c != CodeSym8 && c != CodeSym32 {
		r.off--
		return nil, r.unexpected("symbol", c)
	}
	return r.variableBody(c)
}

// ReadSymbol reads a symbol.
func (r *Reader) ReadSymbol() (Symbol, error) {
	p, err := r.ReadSymbolBytes()
	return Symbol(p), err
}

// ReadDecimal32 reads a decimal32.
func (r *Reader) ReadDecimal32() (Decimal32, error) {
	var d Decimal32
	err := r.readFixed(CodeDecimal32, d[:])
	return d, err
}

// ReadDecimal64 reads a decimal64.
func (r *Reader) ReadDecimal64() (Decimal64, error) {
	var d Decimal64
	err := r.readFixed(CodeDecimal64, d[:])
	return d, err
}

// ReadDecimal128 reads a decimal128.
func (r *Reader) ReadDecimal128() (Decimal128, error) {
	var d Decimal128
	err := r.readFixed(CodeDecimal128, d[:])
	return d, err
}

func (r *Reader) readFixed(code byte, dst []byte) error {
	c, err := r.readCode()
	if err != nil {
		return err
	}
	if c != code {
		r.off--
		return r.unexpected(codeName(code), c)
	}
	p, err := r.take(len(dst))
	copy(dst, p)
	return err
}
