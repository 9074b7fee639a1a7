package encoding

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// AppendValue encodes v, a value in the generic representation described
// in the package documentation. It returns an error wrapping
// ErrUnsupportedType for Go types it does not know; the buffer may then
// hold a partial encoding, so truncate it to its previous length.
func (w *Buffer) AppendValue(v any) error {
	switch v := v.(type) {
	case nil:
		w.AppendNull()
	case bool:
		w.AppendBool(v)
	case uint8:
		w.AppendUint8(v)
	case uint16:
		w.AppendUint16(v)
	case uint32:
		w.AppendUint32(v)
	case uint64:
		w.AppendUint64(v)
	case uint:
		w.AppendUint64(uint64(v))
	case int8:
		w.AppendInt8(v)
	case int16:
		w.AppendInt16(v)
	case int32:
		w.AppendInt32(v)
	case int64:
		w.AppendInt64(v)
	case int:
		w.AppendInt64(int64(v))
	case float32:
		w.AppendFloat32(v)
	case float64:
		w.AppendFloat64(v)
	case Decimal32:
		w.AppendDecimal32(v)
	case Decimal64:
		w.AppendDecimal64(v)
	case Decimal128:
		w.AppendDecimal128(v)
	case Char:
		w.AppendChar(v)
	case time.Time:
		w.AppendTimestamp(v)
	case UUID:
		w.AppendUUID(v)
	case []byte:
		w.AppendBinary(v)
	case string:
		w.AppendString(v)
	case Symbol:
		w.AppendSymbol(string(v))
	case Raw:
		w.b = append(w.b, v...)
	case []any:
		return w.appendList(v, false)
	case Map:
		return w.appendMap(v, false)
	case Described:
		if err := w.appendDescriptorValue(v.Descriptor); err != nil {
			return err
		}
		return w.AppendValue(v.Value)
	case *Described:
		if v == nil {
			w.AppendNull()
			return nil
		}
		return w.AppendValue(*v)
	default:
		if isArray(v) {
			return w.appendArray(v, false)
		}
		return fmt.Errorf("%w: %T", ErrUnsupportedType, v)
	}
	return nil
}

func (w *Buffer) appendDescriptorValue(d any) error {
	switch d := d.(type) {
	case uint64:
		w.AppendDescriptor(d)
	case Symbol:
		w.AppendSymbolDescriptor(string(d))
	case string:
		w.AppendSymbolDescriptor(d)
	default:
		return fmt.Errorf("%w: descriptor of type %T (want uint64 or Symbol)", ErrUnsupportedType, d)
	}
	return nil
}

func isArray(v any) bool {
	switch v.(type) {
	case []bool, []uint16, []uint32, []uint64, []int8, []int16, []int32, []int64,
		[]float32, []float64, []Char, []time.Time, []UUID, [][]byte, []string, []Symbol,
		Array, *Array:
		return true
	}
	return false
}

// placeholder writes the 8 bytes of a 32-bit size and count to patch later.
func (w *Buffer) placeholder() int {
	start := len(w.b)
	w.b = append(w.b, 0, 0, 0, 0, 0, 0, 0, 0)
	return start
}

// patch fills in a size/count placeholder at start. If compact is set and
// they fit, it switches the constructor at start-1 to the 8-bit form small.
func (w *Buffer) patch(start, count int, compact bool, small byte) {
	body := len(w.b) - start - 8
	if compact && body+1 < 256 && count < 256 {
		w.b[start-1] = small
		w.b[start] = byte(body + 1)
		w.b[start+1] = byte(count)
		copy(w.b[start+2:], w.b[start+8:])
		w.b = w.b[:len(w.b)-6]
		return
	}
	binary.BigEndian.PutUint32(w.b[start:], uint32(body+4))
	binary.BigEndian.PutUint32(w.b[start+4:], uint32(count))
}

// appendList writes a list; nested means it is an array element (no
// constructor, always the 32-bit form).
func (w *Buffer) appendList(v []any, nested bool) error {
	if !nested {
		if len(v) == 0 {
			w.b = append(w.b, CodeList0)
			return nil
		}
		w.b = append(w.b, CodeList32)
	}
	start := w.placeholder()
	for _, e := range v {
		if err := w.AppendValue(e); err != nil {
			return err
		}
	}
	w.patch(start, len(v), !nested, CodeList8)
	return nil
}

func (w *Buffer) appendMap(m Map, nested bool) error {
	if !nested {
		w.b = append(w.b, CodeMap32)
	}
	start := w.placeholder()
	for _, kv := range m {
		if err := w.AppendValue(kv.Key); err != nil {
			return err
		}
		if err := w.AppendValue(kv.Value); err != nil {
			return err
		}
	}
	w.patch(start, 2*len(m), !nested, CodeMap8)
	return nil
}

// appendArray writes an array value; nested means it is an element of an
// array of arrays (no constructor, always 32-bit).
func (w *Buffer) appendArray(v any, nested bool) error {
	if !nested {
		w.b = append(w.b, CodeArray32)
	}
	start := w.placeholder()
	n, err := w.arrayElements(v)
	if err != nil {
		return err
	}
	w.patch(start, n, !nested, CodeArray8)
	return nil
}

func maxLen[T ~string | ~[]byte](s []T) int {
	m := 0
	for _, e := range s {
		m = max(m, len(e))
	}
	return m
}

func (w *Buffer) arrayElements(v any) (int, error) {
	switch v := v.(type) {
	case []bool:
		w.b = append(w.b, CodeBool)
		for _, e := range v {
			if e {
				w.b = append(w.b, 1)
			} else {
				w.b = append(w.b, 0)
			}
		}
		return len(v), nil
	case []uint16:
		w.b = append(w.b, CodeUshort)
		for _, e := range v {
			w.b = binary.BigEndian.AppendUint16(w.b, e)
		}
		return len(v), nil
	case []uint32:
		w.b = append(w.b, CodeUint)
		for _, e := range v {
			w.b = binary.BigEndian.AppendUint32(w.b, e)
		}
		return len(v), nil
	case []uint64:
		w.b = append(w.b, CodeUlong)
		for _, e := range v {
			w.b = binary.BigEndian.AppendUint64(w.b, e)
		}
		return len(v), nil
	case []int8:
		w.b = append(w.b, CodeByte)
		for _, e := range v {
			w.b = append(w.b, byte(e))
		}
		return len(v), nil
	case []int16:
		w.b = append(w.b, CodeShort)
		for _, e := range v {
			w.b = binary.BigEndian.AppendUint16(w.b, uint16(e))
		}
		return len(v), nil
	case []int32:
		w.b = append(w.b, CodeInt)
		for _, e := range v {
			w.b = binary.BigEndian.AppendUint32(w.b, uint32(e))
		}
		return len(v), nil
	case []int64:
		w.b = append(w.b, CodeLong)
		for _, e := range v {
			w.b = binary.BigEndian.AppendUint64(w.b, uint64(e))
		}
		return len(v), nil
	case []float32:
		w.b = append(w.b, CodeFloat)
		for _, e := range v {
			w.b = binary.BigEndian.AppendUint32(w.b, math.Float32bits(e))
		}
		return len(v), nil
	case []float64:
		w.b = append(w.b, CodeDouble)
		for _, e := range v {
			w.b = binary.BigEndian.AppendUint64(w.b, math.Float64bits(e))
		}
		return len(v), nil
	case []Char:
		w.b = append(w.b, CodeChar)
		for _, e := range v {
			w.b = binary.BigEndian.AppendUint32(w.b, uint32(e))
		}
		return len(v), nil
	case []time.Time:
		w.b = append(w.b, CodeTimestamp)
		for _, e := range v {
			w.b = binary.BigEndian.AppendUint64(w.b, uint64(e.UnixMilli()))
		}
		return len(v), nil
	case []UUID:
		w.b = append(w.b, CodeUUID)
		for _, e := range v {
			w.b = append(w.b, e[:]...)
		}
		return len(v), nil
	case [][]byte:
		appendVariableElements(w, CodeVbin8, CodeVbin32, v)
		return len(v), nil
	case []string:
		appendVariableElements(w, CodeStr8, CodeStr32, v)
		return len(v), nil
	case []Symbol:
		appendVariableElements(w, CodeSym8, CodeSym32, v)
		return len(v), nil
	case *Array:
		if v == nil {
			return 0, fmt.Errorf("%w: nil *Array", ErrUnsupportedType)
		}
		return w.genericArrayElements(*v)
	case Array:
		return w.genericArrayElements(v)
	}
	return 0, fmt.Errorf("%w: %T", ErrUnsupportedType, v)
}

func appendVariableElements[T ~string | ~[]byte](w *Buffer, small, large byte, s []T) {
	if maxLen(s) < 256 {
		w.b = append(w.b, small)
		for _, e := range s {
			w.b = append(append(w.b, byte(len(e))), e...)
		}
		return
	}
	w.b = append(w.b, large)
	for _, e := range s {
		w.b = append(binary.BigEndian.AppendUint32(w.b, uint32(len(e))), e...)
	}
}

// wideCode maps a format code to the form used inside arrays: one code per
// type that can hold every value of that type.
func wideCode(code byte) byte {
	switch code {
	case CodeTrue, CodeFalse:
		return CodeBool
	case CodeUint0, CodeSmallUint:
		return CodeUint
	case CodeUlong0, CodeSmallUlong:
		return CodeUlong
	case CodeSmallInt:
		return CodeInt
	case CodeSmallLong:
		return CodeLong
	case CodeList0, CodeList8:
		return CodeList32
	case CodeMap8:
		return CodeMap32
	case CodeArray8:
		return CodeArray32
	}
	return code
}

func (w *Buffer) genericArrayElements(a Array) (int, error) {
	code := wideCode(a.Code)
	switch code {
	case CodeVbin8, CodeStr8, CodeSym8:
		for _, e := range a.Elems {
			var n int
			switch e := e.(type) {
			case []byte:
				n = len(e)
			case string:
				n = len(e)
			case Symbol:
				n = len(e)
			}
			if n > 255 {
				code += 0x10 // vbin8->vbin32, str8->str32, sym8->sym32
				break
			}
		}
	}
	if a.Descriptor != nil {
		if err := w.appendDescriptorValue(a.Descriptor); err != nil {
			return 0, err
		}
	}
	w.b = append(w.b, code)
	for _, e := range a.Elems {
		if err := w.appendBody(code, e); err != nil {
			return 0, err
		}
	}
	return len(a.Elems), nil
}

func mismatch(code byte, v any) error {
	return fmt.Errorf("%w: %T in an array of %s", ErrUnsupportedType, v, codeName(code))
}

// appendBody writes the value v without its constructor, as an element of
// an array whose element constructor is code.
func (w *Buffer) appendBody(code byte, v any) error {
	ok := true
	switch code {
	case CodeNull:
		ok = v == nil
	case CodeBool:
		var b bool
		if b, ok = v.(bool); ok {
			if b {
				w.b = append(w.b, 1)
			} else {
				w.b = append(w.b, 0)
			}
		}
	case CodeUbyte:
		var x uint8
		if x, ok = v.(uint8); ok {
			w.b = append(w.b, x)
		}
	case CodeUshort:
		var x uint16
		if x, ok = v.(uint16); ok {
			w.b = binary.BigEndian.AppendUint16(w.b, x)
		}
	case CodeUint:
		var x uint32
		if x, ok = v.(uint32); ok {
			w.b = binary.BigEndian.AppendUint32(w.b, x)
		}
	case CodeUlong:
		var x uint64
		if x, ok = v.(uint64); ok {
			w.b = binary.BigEndian.AppendUint64(w.b, x)
		}
	case CodeByte:
		var x int8
		if x, ok = v.(int8); ok {
			w.b = append(w.b, byte(x))
		}
	case CodeShort:
		var x int16
		if x, ok = v.(int16); ok {
			w.b = binary.BigEndian.AppendUint16(w.b, uint16(x))
		}
	case CodeInt:
		var x int32
		if x, ok = v.(int32); ok {
			w.b = binary.BigEndian.AppendUint32(w.b, uint32(x))
		}
	case CodeLong:
		var x int64
		if x, ok = v.(int64); ok {
			w.b = binary.BigEndian.AppendUint64(w.b, uint64(x))
		}
	case CodeFloat:
		var x float32
		if x, ok = v.(float32); ok {
			w.b = binary.BigEndian.AppendUint32(w.b, math.Float32bits(x))
		}
	case CodeDouble:
		var x float64
		if x, ok = v.(float64); ok {
			w.b = binary.BigEndian.AppendUint64(w.b, math.Float64bits(x))
		}
	case CodeDecimal32:
		var x Decimal32
		if x, ok = v.(Decimal32); ok {
			w.b = append(w.b, x[:]...)
		}
	case CodeDecimal64:
		var x Decimal64
		if x, ok = v.(Decimal64); ok {
			w.b = append(w.b, x[:]...)
		}
	case CodeDecimal128:
		var x Decimal128
		if x, ok = v.(Decimal128); ok {
			w.b = append(w.b, x[:]...)
		}
	case CodeChar:
		var x Char
		if x, ok = v.(Char); ok {
			w.b = binary.BigEndian.AppendUint32(w.b, uint32(x))
		}
	case CodeTimestamp:
		var x time.Time
		if x, ok = v.(time.Time); ok {
			w.b = binary.BigEndian.AppendUint64(w.b, uint64(x.UnixMilli()))
		}
	case CodeUUID:
		var x UUID
		if x, ok = v.(UUID); ok {
			w.b = append(w.b, x[:]...)
		}
	case CodeVbin8, CodeVbin32, CodeStr8, CodeStr32, CodeSym8, CodeSym32:
		var p []byte
		switch e := v.(type) {
		case []byte:
			ok = code == CodeVbin8 || code == CodeVbin32
			p = e
		case string:
			ok = code == CodeStr8 || code == CodeStr32
			p = []byte(e)
		case Symbol:
			ok = code == CodeSym8 || code == CodeSym32
			p = []byte(e)
		default:
			ok = false
		}
		if ok {
			if code&0xf0 == 0xa0 {
				w.b = append(w.b, byte(len(p)))
			} else {
				w.b = binary.BigEndian.AppendUint32(w.b, uint32(len(p)))
			}
			w.b = append(w.b, p...)
		}
	case CodeList32:
		var l []any
		if l, ok = v.([]any); ok {
			return w.appendList(l, true)
		}
	case CodeMap32:
		var m Map
		if m, ok = v.(Map); ok {
			return w.appendMap(m, true)
		}
	case CodeArray32:
		if ok = isArray(v); ok {
			return w.appendArray(v, true)
		}
	default:
		return fmt.Errorf("%w: array element code %#02x", ErrUnsupportedType, code)
	}
	if !ok {
		return mismatch(code, v)
	}
	return nil
}
