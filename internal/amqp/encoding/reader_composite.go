package encoding

import (
	"math"
	"time"
)

// enter increments the nesting depth, failing past the limit.
func (r *Reader) enter() error {
	r.depth++
	if r.depth > r.maxDepth {
		return r.fail(ErrLimit, "nesting too deep")
	}
	return nil
}

func (r *Reader) leave() { r.depth-- }

// spend reserves n elements of the allocation budget.
func (r *Reader) spend(n int) error {
	if n > r.budget {
		return r.fail(ErrLimit, "too many elements")
	}
	r.budget -= n
	return nil
}

// compositeHeader reads the size and count of a list, map or array whose
// format code c has been consumed. It returns the element count and the
// offset where the composite ends.
func (r *Reader) compositeHeader(c byte) (count, end int, err error) {
	start := r.off
	var size, n uint64
	switch c {
	case CodeList8, CodeMap8, CodeArray8:
		s, err := r.u8()
		if err != nil {
			return 0, 0, err
		}
		if s < 1 {
			return 0, 0, r.failAt(start, ErrInvalid, "composite size too small for its count")
		}
		size = uint64(s) - 1
		if uint64(s) > uint64(len(r.buf)-r.off) {
			return 0, 0, r.failAt(start, ErrTruncated, "composite size exceeds remaining input")
		}
		cnt, err := r.u8()
		if err != nil {
			return 0, 0, err
		}
		n = uint64(cnt)
	default:
		s, err := r.u32()
		if err != nil {
			return 0, 0, err
		}
		if s < 4 {
			return 0, 0, r.failAt(start, ErrInvalid, "composite size too small for its count")
		}
		size = uint64(s) - 4
		if size+4 > uint64(len(r.buf)-r.off) {
			return 0, 0, r.failAt(start, ErrTruncated, "composite size exceeds remaining input")
		}
		cnt, err := r.u32()
		if err != nil {
			return 0, 0, err
		}
		n = uint64(cnt)
	}
	end = r.off + int(size)
	switch c {
	case CodeList8, CodeList32, CodeMap8, CodeMap32:
		// Every element has at least a one-byte constructor.
		if n > size {
			return 0, 0, r.failAt(start, ErrInvalid, "composite count exceeds its size")
		}
		if (c == CodeMap8 || c == CodeMap32) && n%2 != 0 {
			return 0, 0, r.failAt(start, ErrInvalid, "map has an odd number of elements")
		}
	}
	return int(n), end, nil
}

func (r *Reader) checkEnd(end int, what string) error {
	if r.off != end {
		return r.fail(ErrInvalid, what+" elements do not match its size")
	}
	return nil
}

// ReadListHeader reads the constructor, size and count of a list (list0,
// list8 or list32) and returns the element count and the offset at which the
// list ends. The caller reads count values and should then check Offset()
// against end.
func (r *Reader) ReadListHeader() (count, end int, err error) {
	c, err := r.readCode()
	if err != nil {
		return 0, 0, err
	}
	switch c {
	case CodeList0:
		return 0, r.off, nil
	case CodeList8, CodeList32:
		return r.compositeHeader(c)
	}
	r.off--
	return 0, 0, r.unexpected("list", c)
}

// ReadMapHeader reads the constructor, size and count of a map and returns
// the number of entries (pairs) and the end offset.
func (r *Reader) ReadMapHeader() (pairs, end int, err error) {
	c, err := r.readCode()
	if err != nil {
		return 0, 0, err
	}
	if c != CodeMap8 && c != CodeMap32 {
		r.off--
		return 0, 0, r.unexpected("map", c)
	}
	n, end, err := r.compositeHeader(c)
	return n / 2, end, err
}

// ReadDescriptor reads a described-type constructor and its descriptor. A
// numeric descriptor is returned in code; a symbolic one in name (aliasing
// the input, nil for numeric descriptors).
func (r *Reader) ReadDescriptor() (code uint64, name []byte, err error) {
	c, err := r.readCode()
	if err != nil {
		return 0, nil, err
	}
	if c != CodeDescribed {
		r.off--
		return 0, nil, r.unexpected("described type", c)
	}
	return r.descriptorBody()
}

func (r *Reader) descriptorBody() (uint64, []byte, error) {
	c, err := r.readCode()
	if err != nil {
		return 0, nil, err
	}
	switch c {
	case CodeUlong0, CodeSmallUlong, CodeUlong:
		v, err := r.ulongBody(c)
		return v, nil, err
	case CodeSym8, CodeSym32:
		p, err := r.variableBody(c)
		if err == nil && p == nil {
			p = []byte{}
		}
		return 0, p, err
	}
	r.off--
	return 0, nil, r.unexpected("ulong or symbol descriptor", c)
}

func (r *Reader) descriptorValue() (any, error) {
	code, name, err := r.descriptorBody()
	if err != nil {
		return nil, err
	}
	if name != nil {
		return Symbol(name), nil
	}
	return code, nil
}

// IsDescribed reports whether the next value is a described type.
func (r *Reader) IsDescribed() bool {
	return r.off < len(r.buf) && r.buf[r.off] == CodeDescribed
}

// ReadValue decodes the next value into the generic representation (see the
// package documentation).
func (r *Reader) ReadValue() (any, error) {
	c, err := r.readCode()
	if err != nil {
		return nil, err
	}
	if c == CodeDescribed {
		if err := r.enter(); err != nil {
			return nil, err
		}
		d, err := r.descriptorValue()
		if err != nil {
			return nil, err
		}
		v, err := r.ReadValue()
		if err != nil {
			return nil, err
		}
		r.leave()
		return Described{Descriptor: d, Value: v}, nil
	}
	return r.valueBody(c)
}

// ReadMap reads a map into a Map.
func (r *Reader) ReadMap() (Map, error) {
	c, err := r.PeekCode()
	if err != nil {
		return nil, err
	}
	if c != CodeMap8 && c != CodeMap32 {
		return nil, r.unexpected("map", c)
	}
	r.off++
	return r.mapBody(c)
}

// ReadList reads a list into a []any.
func (r *Reader) ReadList() ([]any, error) {
	c, err := r.PeekCode()
	if err != nil {
		return nil, err
	}
	if c != CodeList0 && c != CodeList8 && c != CodeList32 {
		return nil, r.unexpected("list", c)
	}
	r.off++
	return r.listBody(c)
}

// ReadSymbolMulti reads a "multiple" symbol field: a single symbol or an
// array of symbols.
func (r *Reader) ReadSymbolMulti() ([]Symbol, error) {
	c, err := r.PeekCode()
	if err != nil {
		return nil, err
	}
	switch c {
	case CodeSym8, CodeSym32:
		s, err := r.ReadSymbol()
		if err != nil {
			return nil, err
		}
		return []Symbol{s}, nil
	case CodeArray8, CodeArray32:
		start := r.off
		v, err := r.ReadValue()
		if err != nil {
			return nil, err
		}
		if s, ok := v.([]Symbol); ok {
			return s, nil
		}
		return nil, r.failAt(start, ErrUnexpectedType, "expected an array of symbols")
	}
	return nil, r.unexpected("symbol or array of symbols", c)
}

// valueBody decodes a value whose constructor c has been consumed.
func (r *Reader) valueBody(c byte) (any, error) {
	switch c {
	case CodeNull:
		return nil, nil
	case CodeTrue, CodeFalse, CodeBool:
		return r.boolBody(c)
	case CodeUbyte:
		return r.u8()
	case CodeUshort:
		return r.u16()
	case CodeUint0, CodeSmallUint, CodeUint:
		return r.uintBody(c)
	case CodeUlong0, CodeSmallUlong, CodeUlong:
		return r.ulongBody(c)
	case CodeByte:
		v, err := r.u8()
		return int8(v), err
	case CodeShort:
		v, err := r.u16()
		return int16(v), err
	case CodeSmallInt:
		v, err := r.u8()
		return int32(int8(v)), err
	case CodeInt:
		v, err := r.u32()
		return int32(v), err
	case CodeSmallLong:
		v, err := r.u8()
		return int64(int8(v)), err
	case CodeLong:
		v, err := r.u64()
		return int64(v), err
	case CodeFloat:
		v, err := r.u32()
		return math.Float32frombits(v), err
	case CodeDouble:
		v, err := r.u64()
		return math.Float64frombits(v), err
	case CodeDecimal32:
		var d Decimal32
		p, err := r.take(4)
		copy(d[:], p)
		return d, err
	case CodeDecimal64:
		var d Decimal64
		p, err := r.take(8)
		copy(d[:], p)
		return d, err
	case CodeDecimal128:
		var d Decimal128
		p, err := r.take(16)
		copy(d[:], p)
		return d, err
	case CodeChar:
		return r.charBody()
	case CodeTimestamp:
		v, err := r.u64()
		if err != nil {
			return nil, err
		}
		return time.UnixMilli(int64(v)).UTC(), nil
	case CodeUUID:
		var u UUID
		p, err := r.take(16)
		copy(u[:], p)
		return u, err
	case CodeVbin8, CodeVbin32:
		p, err := r.variableBody(c)
		if err != nil {
			return nil, err
		}
		if p == nil {
			p = []byte{}
		}
		return p, nil
	case CodeStr8, CodeStr32:
		p, err := r.stringBody(c)
		return string(p), err
	case CodeSym8, CodeSym32:
		p, err := r.variableBody(c)
		if err != nil {
			return nil, err
		}
		if v := internSymbol(p); v != nil {
			return v, nil
		}
		return Symbol(p), nil
	case CodeList0, CodeList8, CodeList32:
		return r.listBody(c)
	case CodeMap8, CodeMap32:
		return r.mapBody(c)
	case CodeArray8, CodeArray32:
		return r.arrayBody(c)
	}
	r.off--
	return nil, r.fail(ErrInvalid, "unknown format code")
}

func (r *Reader) listBody(c byte) ([]any, error) {
	if c == CodeList0 {
		return []any{}, nil
	}
	n, end, err := r.compositeHeader(c)
	if err != nil {
		return nil, err
	}
	if err := r.enter(); err != nil {
		return nil, err
	}
	if err := r.spend(n); err != nil {
		return nil, err
	}
	out := make([]any, n)
	for i := range out {
		if out[i], err = r.ReadValue(); err != nil {
			return nil, err
		}
	}
	r.leave()
	return out, r.checkEnd(end, "list")
}

func (r *Reader) mapBody(c byte) (Map, error) {
	n, end, err := r.compositeHeader(c)
	if err != nil {
		return nil, err
	}
	if err := r.enter(); err != nil {
		return nil, err
	}
	if err := r.spend(n); err != nil {
		return nil, err
	}
	out := make(Map, n/2)
	for i := range out {
		if out[i].Key, err = r.ReadValue(); err != nil {
			return nil, err
		}
		if out[i].Value, err = r.ReadValue(); err != nil {
			return nil, err
		}
	}
	r.leave()
	return out, r.checkEnd(end, "map")
}

// arrayHeader reads an array's size, count and element constructor after
// its format code c. It checks the count against the bytes available for
// the element type.
func (r *Reader) arrayHeader(c byte) (count, end int, elem byte, desc any, err error) {
	start := r.off
	count, end, err = r.compositeHeader(c)
	if err != nil {
		return 0, 0, 0, nil, err
	}
	elem, err = r.readCode()
	if err != nil {
		return 0, 0, 0, nil, err
	}
	if elem == CodeDescribed {
		if desc, err = r.descriptorValue(); err != nil {
			return 0, 0, 0, nil, err
		}
		if elem, err = r.readCode(); err != nil {
			return 0, 0, 0, nil, err
		}
	}
	avail := uint64(0)
	if end > r.off {
		avail = uint64(end - r.off)
	} else if end < r.off {
		return 0, 0, 0, nil, r.failAt(start, ErrInvalid, "array constructor overruns its size")
	}
	if w, ok := fixedWidth(elem); ok {
		if uint64(w)*uint64(count) != avail {
			return 0, 0, 0, nil, r.failAt(start, ErrInvalid, "array size does not match its count")
		}
		return count, end, elem, desc, nil
	}
	switch elem {
	case CodeVbin8, CodeStr8, CodeSym8, CodeList8, CodeMap8, CodeArray8:
		if uint64(count) > avail {
			return 0, 0, 0, nil, r.failAt(start, ErrInvalid, "array count exceeds its size")
		}
	case CodeVbin32, CodeStr32, CodeSym32, CodeList32, CodeMap32, CodeArray32:
		if 4*uint64(count) > avail {
			return 0, 0, 0, nil, r.failAt(start, ErrInvalid, "array count exceeds its size")
		}
	default:
		return 0, 0, 0, nil, r.fail(ErrInvalid, "invalid array element constructor")
	}
	return count, end, elem, desc, nil
}

func collect[T any](r *Reader, n int, read func() (T, error)) ([]T, error) {
	out := make([]T, n)
	for i := range out {
		v, err := read()
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func (r *Reader) arrayBody(c byte) (any, error) {
	n, end, elem, desc, err := r.arrayHeader(c)
	if err != nil {
		return nil, err
	}
	if err := r.enter(); err != nil {
		return nil, err
	}
	if err := r.spend(n); err != nil {
		return nil, err
	}
	var out any
	if desc != nil {
		out, err = r.genericArray(n, elem, desc)
	} else {
		out, err = r.typedArray(n, elem)
	}
	if err != nil {
		return nil, err
	}
	r.leave()
	return out, r.checkEnd(end, "array")
}

func (r *Reader) genericArray(n int, elem byte, desc any) (Array, error) {
	elems, err := collect(r, n, func() (any, error) { return r.valueBody(elem) })
	return Array{Code: elem, Descriptor: desc, Elems: elems}, err
}

func (r *Reader) typedArray(n int, elem byte) (any, error) {
	switch elem {
	case CodeTrue, CodeFalse, CodeBool:
		return collect(r, n, func() (bool, error) { return r.boolBody(elem) })
	case CodeUshort:
		return collect(r, n, r.u16)
	case CodeUint0, CodeSmallUint, CodeUint:
		return collect(r, n, func() (uint32, error) { return r.uintBody(elem) })
	case CodeUlong0, CodeSmallUlong, CodeUlong:
		return collect(r, n, func() (uint64, error) { return r.ulongBody(elem) })
	case CodeByte:
		return collect(r, n, func() (int8, error) { v, err := r.u8(); return int8(v), err })
	case CodeShort:
		return collect(r, n, func() (int16, error) { v, err := r.u16(); return int16(v), err })
	case CodeSmallInt:
		return collect(r, n, func() (int32, error) { v, err := r.u8(); return int32(int8(v)), err })
	case CodeInt:
		return collect(r, n, func() (int32, error) { v, err := r.u32(); return int32(v), err })
	case CodeSmallLong:
		return collect(r, n, func() (int64, error) { v, err := r.u8(); return int64(int8(v)), err })
	case CodeLong:
		return collect(r, n, func() (int64, error) { v, err := r.u64(); return int64(v), err })
	case CodeFloat, CodeDouble, CodeChar, CodeTimestamp, CodeUUID:
		return r.typedArrayFixed(n, elem)
	case CodeVbin8, CodeVbin32:
		return collect(r, n, func() ([]byte, error) {
			p, err := r.variableBody(elem)
			if p == nil && err == nil {
				p = []byte{}
			}
			return p, err
		})
	case CodeStr8, CodeStr32:
		return collect(r, n, func() (string, error) { p, err := r.stringBody(elem); return string(p), err })
	case CodeSym8, CodeSym32:
		return collect(r, n, func() (Symbol, error) { p, err := r.variableBody(elem); return Symbol(p), err })
	}
	return r.genericArray(n, elem, nil)
}

func (r *Reader) typedArrayFixed(n int, elem byte) (any, error) {
	switch elem {
	case CodeFloat:
		return collect(r, n, func() (float32, error) { v, err := r.u32(); return math.Float32frombits(v), err })
	case CodeDouble:
		return collect(r, n, func() (float64, error) { v, err := r.u64(); return math.Float64frombits(v), err })
	case CodeChar:
		return collect(r, n, r.charBody)
	case CodeTimestamp:
		return collect(r, n, func() (time.Time, error) {
			v, err := r.u64()
			return time.UnixMilli(int64(v)).UTC(), err
		})
	}
	return collect(r, n, func() (UUID, error) {
		var u UUID
		p, err := r.take(16)
		copy(u[:], p)
		return u, err
	})
}

// internSymbol returns well-known symbols as preallocated interface values,
// so decoding the usual annotation keys does not allocate. It returns nil
// for other symbols.
func internSymbol(p []byte) any {
	switch string(p) {
	case AnnotationSequenceNumber:
		return Symbol(AnnotationSequenceNumber)
	case AnnotationEnqueuedTime:
		return Symbol(AnnotationEnqueuedTime)
	case AnnotationLockedUntil:
		return Symbol(AnnotationLockedUntil)
	case AnnotationEnqueueSequenceNumber:
		return Symbol(AnnotationEnqueueSequenceNumber)
	case AnnotationScheduledEnqueueTime:
		return Symbol(AnnotationScheduledEnqueueTime)
	case AnnotationPartitionKey:
		return Symbol(AnnotationPartitionKey)
	case AnnotationViaPartitionKey:
		return Symbol(AnnotationViaPartitionKey)
	case AnnotationDeadLetterSource:
		return Symbol(AnnotationDeadLetterSource)
	case AnnotationMessageState:
		return Symbol(AnnotationMessageState)
	case AnnotationLockToken:
		return Symbol(AnnotationLockToken)
	}
	return nil
}
