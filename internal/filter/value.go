package filter

import (
	"math"
	"strconv"
	"time"
)

// Kind is the type tag of a Value.
type Kind uint8

// The kinds a Value can hold. They mirror the .NET types Service Bus uses for
// filter operands: null, System.Boolean, System.Int64 (all integer widths
// widen to it), System.Double (float and double), System.String,
// System.DateTime and System.TimeSpan.
const (
	KindNull Kind = iota
	KindBool
	KindInt
	KindFloat
	KindString
	KindTime
	KindDuration
)

// String returns the lowercase name of the kind.
func (k Kind) String() string {
	switch k {
	case KindNull:
		return "null"
	case KindBool:
		return "bool"
	case KindInt:
		return "int"
	case KindFloat:
		return "float"
	case KindString:
		return "string"
	case KindTime:
		return "time"
	case KindDuration:
		return "duration"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is a compact tagged value: a property value, a constant, or the
// result of an expression. The zero Value is null (unknown).
//
// Values are passed by value and never point into shared mutable state, so
// evaluating a filter does not allocate. Times and durations are kept, as in
// .NET, as signed counts of 100-nanosecond ticks (times counted from the Unix
// epoch, UTC), which covers the full range of System.DateTime and
// System.TimeSpan (including TimeSpan.MaxValue, Service Bus's "infinite"
// time to live).
type Value struct {
	kind Kind
	bits int64 // bool (0/1), int, float bits, time ticks, duration ticks
	str  string
}

// ticksPerSecond is the number of 100 ns ticks in a second.
const ticksPerSecond = 10_000_000

// Null returns the null Value. It is the same as Value{}.
func Null() Value { return Value{} }

// Bool returns a boolean Value.
func Bool(b bool) Value {
	v := Value{kind: KindBool}
	if b {
		v.bits = 1
	}
	return v
}

// Int returns an integer Value.
func Int(i int64) Value { return Value{kind: KindInt, bits: i} }

// Float returns a floating-point Value.
func Float(f float64) Value { return Value{kind: KindFloat, bits: int64(math.Float64bits(f))} }

// String returns a string Value.
func String(s string) Value { return Value{kind: KindString, str: s} }

// Time returns a time Value. Precision is 100 ns; the location is dropped.
func Time(t time.Time) Value {
	ticks := t.Unix()*ticksPerSecond + int64(t.Nanosecond())/100
	return Value{kind: KindTime, bits: ticks}
}

// TimeTicks returns a time Value from 100 ns ticks since the Unix epoch (UTC).
func TimeTicks(ticks int64) Value { return Value{kind: KindTime, bits: ticks} }

// Duration returns a duration Value. Precision is 100 ns.
func Duration(d time.Duration) Value { return Value{kind: KindDuration, bits: int64(d / 100)} }

// DurationTicks returns a duration Value from 100 ns ticks, as a .NET
// TimeSpan counts them. Use it for durations beyond time.Duration's range.
func DurationTicks(ticks int64) Value { return Value{kind: KindDuration, bits: ticks} }

// Kind returns the type tag.
func (v Value) Kind() Kind { return v.kind }

// IsNull reports whether v is null.
func (v Value) IsNull() bool { return v.kind == KindNull }

// Bool returns the boolean held by v; ok is false if v is not a bool.
func (v Value) Bool() (b, ok bool) { return v.bits != 0, v.kind == KindBool }

// Int returns the integer held by v; ok is false if v is not an int.
func (v Value) Int() (int64, bool) { return v.bits, v.kind == KindInt }

// Float returns the float held by v; ok is false if v is not a float.
func (v Value) Float() (float64, bool) {
	return math.Float64frombits(uint64(v.bits)), v.kind == KindFloat
}

// Str returns the string held by v; ok is false if v is not a string.
func (v Value) Str() (string, bool) { return v.str, v.kind == KindString }

// Time returns the time held by v in UTC; ok is false if v is not a time.
func (v Value) Time() (time.Time, bool) {
	if v.kind != KindTime {
		return time.Time{}, false
	}
	sec := v.bits / ticksPerSecond
	rem := v.bits % ticksPerSecond
	if rem < 0 {
		sec--
		rem += ticksPerSecond
	}
	return time.Unix(sec, rem*100).UTC(), true
}

// Ticks returns the raw 100 ns tick count of a time or duration Value.
func (v Value) Ticks() (int64, bool) {
	return v.bits, v.kind == KindTime || v.kind == KindDuration
}

// Duration returns the duration held by v, saturated to the range of
// time.Duration; ok is false if v is not a duration.
func (v Value) Duration() (time.Duration, bool) {
	if v.kind != KindDuration {
		return 0, false
	}
	const limit = math.MaxInt64 / 100
	switch {
	case v.bits > limit:
		return math.MaxInt64, true
	case v.bits < -limit:
		return math.MinInt64, true
	}
	return time.Duration(v.bits * 100), true
}

// String formats v for diagnostics and tests. Strings are quoted the way
// filter text quotes them.
func (v Value) String() string {
	switch v.kind {
	case KindNull:
		return "NULL"
	case KindBool:
		if v.bits != 0 {
			return "TRUE"
		}
		return "FALSE"
	case KindInt:
		return strconv.FormatInt(v.bits, 10)
	case KindFloat:
		f, _ := v.Float()
		return strconv.FormatFloat(f, 'g', -1, 64)
	case KindString:
		return quoteString(v.str)
	case KindTime:
		t, _ := v.Time()
		return t.Format(time.RFC3339Nano)
	case KindDuration:
		return formatISODuration(v.bits)
	}
	return v.kind.String()
}

// Equal reports whether a and b are the same value of the same kind (no
// numeric promotion). It is meant for tests and for callers that compare
// stored values; filter evaluation uses SQL equality instead.
func (v Value) Equal(o Value) bool {
	if v.kind != o.kind {
		return false
	}
	if v.kind == KindFloat {
		a, _ := v.Float()
		b, _ := o.Float()
		return a == b || (a != a && b != b)
	}
	return v.bits == o.bits && v.str == o.str
}

func quoteString(s string) string {
	out := make([]byte, 0, len(s)+2)
	out = append(out, '\'')
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			out = append(out, '\'')
		}
		out = append(out, s[i])
	}
	out = append(out, '\'')
	return string(out)
}
