package encoding

import (
	"bytes"
	"encoding/hex"
	"time"
)

// Symbol is an AMQP symbol: a string of ASCII characters used for
// identifiers such as error conditions and annotation keys.
type Symbol string

// Char is an AMQP char: a single Unicode code point (UTF-32).
type Char rune

// UUID is an AMQP uuid in RFC 4122 byte order.
type UUID [16]byte

// String formats u in the canonical 8-4-4-4-12 hexadecimal form.
func (u UUID) String() string {
	var buf [36]byte
	hex.Encode(buf[0:8], u[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], u[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], u[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], u[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:], u[10:])
	return string(buf[:])
}

// Decimal32 is an IEEE 754 decimal32 value, kept as its raw big-endian bytes.
type Decimal32 [4]byte

// Decimal64 is an IEEE 754 decimal64 value, kept as its raw big-endian bytes.
type Decimal64 [8]byte

// Decimal128 is an IEEE 754 decimal128 value, kept as its raw big-endian bytes.
type Decimal128 [16]byte

// Raw is an already encoded AMQP value. AppendValue copies it verbatim; the
// decoder never produces it.
type Raw []byte

// Described is a described type: a descriptor (uint64 or Symbol) and a value.
type Described struct {
	Descriptor any
	Value      any
}

// Array is an AMQP array whose elements have a type with no dedicated Go
// slice type (ubyte, decimals, lists, maps, arrays, ...) or whose element
// constructor is described.
type Array struct {
	// Code is the element format code. When encoding, any code of the right
	// type is accepted; AppendValue widens it when an element needs more room.
	Code byte
	// Descriptor, if not nil, makes every element a described value with
	// this descriptor (uint64 or Symbol); Elems then hold the bare values.
	Descriptor any
	// Elems are the element values in the generic representation.
	Elems []any
}

// KV is one entry of a Map.
type KV struct {
	Key   any
	Value any
}

// Map is an AMQP map as an ordered list of entries. Order is kept on decode
// and encode; keys can be of any type. Lookups are linear, which is faster
// than hashing for the handful of entries AMQP maps usually hold.
type Map []KV

// Get returns the value whose key equals key (same Go type and value; a
// string key does not match a Symbol key).
func (m Map) Get(key any) (any, bool) {
	for i := range m {
		if keyEqual(m[i].Key, key) {
			return m[i].Value, true
		}
	}
	return nil, false
}

// GetSymbol returns the value under the symbol key k.
func (m Map) GetSymbol(k string) (any, bool) { return m.Get(Symbol(k)) }

// GetString returns the value under the string key k.
func (m Map) GetString(k string) (any, bool) { return m.Get(k) }

// Lookup returns the value under a string or Symbol key equal to name,
// for maps whose senders disagree on the key type (fields maps, the
// properties to modify on abandon and dead-letter).
func (m Map) Lookup(name string) (any, bool) {
	for i := range m {
		switch k := m[i].Key.(type) {
		case string:
			if k == name {
				return m[i].Value, true
			}
		case Symbol:
			if string(k) == name {
				return m[i].Value, true
			}
		}
	}
	return nil, false
}

// Set replaces the value under key, or appends a new entry, and returns the
// map (which may have been reallocated, as with append).
func (m Map) Set(key, value any) Map {
	for i := range m {
		if keyEqual(m[i].Key, key) {
			m[i].Value = value
			return m
		}
	}
	return append(m, KV{Key: key, Value: value})
}

// Delete removes the entry under key, keeping the order of the others.
func (m Map) Delete(key any) Map {
	for i := range m {
		if keyEqual(m[i].Key, key) {
			return append(m[:i], m[i+1:]...)
		}
	}
	return m
}

// keyEqual compares two map keys without panicking on uncomparable types.
func keyEqual(a, b any) bool {
	switch a := a.(type) {
	case nil:
		return b == nil
	case string:
		v, ok := b.(string)
		return ok && a == v
	case Symbol:
		v, ok := b.(Symbol)
		return ok && a == v
	case uint64:
		v, ok := b.(uint64)
		return ok && a == v
	case []byte:
		v, ok := b.([]byte)
		return ok && bytes.Equal(a, v)
	case time.Time:
		v, ok := b.(time.Time)
		return ok && a.Equal(v)
	case bool, uint8, uint16, uint32, int8, int16, int32, int64, float32, float64,
		Char, UUID, Decimal32, Decimal64, Decimal128, int, uint:
		return a == b
	}
	return false
}
