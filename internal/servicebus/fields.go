package servicebus

// This file reads the fields of management request bodies. Keys are
// strings or symbols (service-bus-amqp.md §8). Every reader checks the kind
// of the value and returns an error wrapping ErrArgument when it is wrong:
//
//   - integers: any AMQP integer type whose value fits the target;
//   - lock tokens: array<uuid> (what both SDKs send) or a list of uuids;
//   - sequence numbers: an array or list of integers;
//   - timestamps: timestamp only; binaries: binary only;
//   - strings: string or symbol.
//
// A null value counts as absent.

import (
	"math"
	"time"

	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/broker"
)

// bodyMap returns the request body as a map.
func bodyMap(body any) (encoding.Map, error) {
	switch b := body.(type) {
	case encoding.Map:
		return b, nil
	case nil:
		return nil, argErrorf("the request has no body; it must be an amqp-value map")
	}
	return nil, argErrorf("the request body is %s; it must be an amqp-value map", typeName(body))
}

func lookup(m encoding.Map, key string) (any, bool) {
	v, ok := m.Lookup(key)
	if !ok || v == nil {
		return nil, false
	}
	return v, true
}

// stringField reads an optional string (or symbol) field.
func stringField(m encoding.Map, key string) (string, bool, error) {
	v, ok := lookup(m, key)
	if !ok {
		return "", false, nil
	}
	switch s := v.(type) {
	case string:
		return s, true, nil
	case encoding.Symbol:
		return string(s), true, nil
	}
	return "", false, argErrorf("field %q is %s; it must be a string", key, typeName(v))
}

// asInt64 converts any AMQP integer to int64.
func asInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		if x > math.MaxInt64 {
			return 0, false
		}
		return int64(x), true
	}
	return 0, false
}

// intField reads an optional integer field in [lo, hi].
func intField(m encoding.Map, key string, lo, hi int64) (int64, bool, error) {
	v, ok := lookup(m, key)
	if !ok {
		return 0, false, nil
	}
	n, isInt := asInt64(v)
	if !isInt {
		return 0, false, argErrorf("field %q is %s; it must be an integer", key, typeName(v))
	}
	if n < lo || n > hi {
		return 0, false, argErrorf("field %q is %d; it must be between %d and %d", key, n, lo, hi)
	}
	return n, true, nil
}

// requiredInt reads a required integer field in [lo, hi].
func requiredInt(m encoding.Map, key string, lo, hi int64) (int64, error) {
	n, ok, err := intField(m, key, lo, hi)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, argErrorf("field %q is missing", key)
	}
	return n, nil
}

// timeField reads an optional timestamp field.
func timeField(m encoding.Map, key string) (time.Time, bool, error) {
	v, ok := lookup(m, key)
	if !ok {
		return time.Time{}, false, nil
	}
	t, isTime := v.(time.Time)
	if !isTime {
		return time.Time{}, false, argErrorf("field %q is %s; it must be a timestamp", key, typeName(v))
	}
	return t, true, nil
}

// binaryField reads a binary field. present reports whether the key is in
// the map at all (a null value is present but nil).
func binaryField(m encoding.Map, key string) (b []byte, present bool, err error) {
	v, present := m.Lookup(key)
	if !present || v == nil {
		return nil, present, nil
	}
	b, ok := v.([]byte)
	if !ok {
		return nil, true, argErrorf("field %q is %s; it must be binary", key, typeName(v))
	}
	return b, true, nil
}

// mapField reads an optional map field.
func mapField(m encoding.Map, key string) (encoding.Map, error) {
	v, ok := lookup(m, key)
	if !ok {
		return nil, nil
	}
	mm, isMap := v.(encoding.Map)
	if !isMap {
		return nil, argErrorf("field %q is %s; it must be a map", key, typeName(v))
	}
	return mm, nil
}

// listField reads a required list field. An array of maps (what some
// encoders produce for a list of maps) is accepted too.
func listField(m encoding.Map, key string) ([]any, error) {
	v, ok := lookup(m, key)
	if !ok {
		return nil, argErrorf("field %q is missing", key)
	}
	switch l := v.(type) {
	case []any:
		return l, nil
	case encoding.Array:
		if l.Descriptor == nil {
			return l.Elems, nil
		}
	}
	return nil, argErrorf("field %q is %s; it must be a list", key, typeName(v))
}

// lockTokensField reads a required, non-empty array<uuid> (or list of
// uuids) of lock tokens.
func lockTokensField(m encoding.Map, key string) ([]broker.LockToken, error) {
	v, ok := lookup(m, key)
	if !ok {
		return nil, argErrorf("field %q is missing", key)
	}
	var out []broker.LockToken
	switch l := v.(type) {
	case []encoding.UUID:
		out = make([]broker.LockToken, len(l))
		for i, u := range l {
			out[i] = broker.LockToken(u)
		}
	case []any:
		out = make([]broker.LockToken, len(l))
		for i, e := range l {
			u, isUUID := e.(encoding.UUID)
			if !isUUID {
				return nil, argErrorf("field %q: element %d is %s; lock tokens are uuids", key, i, typeName(e))
			}
			out[i] = broker.LockToken(u)
		}
	default:
		return nil, argErrorf("field %q is %s; it must be an array of uuids", key, typeName(v))
	}
	if len(out) == 0 {
		return nil, argErrorf("field %q is empty", key)
	}
	return out, nil
}

// sequenceNumbersField reads a required array (or list) of sequence
// numbers. Each must be positive.
func sequenceNumbersField(m encoding.Map, key string) ([]int64, error) {
	v, ok := lookup(m, key)
	if !ok {
		return nil, argErrorf("field %q is missing", key)
	}
	var out []int64
	switch l := v.(type) {
	case []int64:
		out = l
	case []int32:
		out = make([]int64, len(l))
		for i, n := range l {
			out[i] = int64(n)
		}
	case []uint64:
		out = make([]int64, len(l))
		for i, n := range l {
			if n > math.MaxInt64 {
				return nil, argErrorf("field %q: element %d is out of range", key, i)
			}
			out[i] = int64(n)
		}
	case []uint32:
		out = make([]int64, len(l))
		for i, n := range l {
			out[i] = int64(n)
		}
	case []any:
		out = make([]int64, len(l))
		for i, e := range l {
			n, isInt := asInt64(e)
			if !isInt {
				return nil, argErrorf("field %q: element %d is %s; sequence numbers are longs", key, i, typeName(e))
			}
			out[i] = n
		}
	default:
		return nil, argErrorf("field %q is %s; it must be an array of longs", key, typeName(v))
	}
	for i, n := range out {
		if n <= 0 {
			return nil, argErrorf("field %q: element %d is %d; sequence numbers are positive", key, i, n)
		}
	}
	return out, nil
}

// typeName names the AMQP type of a decoded value, for error descriptions.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case int8, int16, int32, int64, uint8, uint16, uint32, uint64:
		return "an integer"
	case float32, float64:
		return "a floating-point number"
	case string:
		return "a string"
	case encoding.Symbol:
		return "a symbol"
	case []byte:
		return "binary"
	case time.Time:
		return "a timestamp"
	case encoding.UUID:
		return "a uuid"
	case encoding.Map:
		return "a map"
	case []any:
		return "a list"
	case encoding.Described:
		return "a described value"
	case encoding.Char:
		return "a char"
	case encoding.Decimal32, encoding.Decimal64, encoding.Decimal128:
		return "a decimal"
	}
	return "an array or other value"
}
