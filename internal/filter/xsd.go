package filter

// Filter parameters and correlation-filter properties travel in the
// administration API as XML Schema typed values:
//
//	<Value i:type="d6p1:long" xmlns:d6p1="http://www.w3.org/2001/XMLSchema">10</Value>
//
// ParseXSD and FormatXSD convert between those and Values so every adapter
// maps them the same way.

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ErrXSDValue means a typed XML value could not be converted.
var ErrXSDValue = errors.New("filter: invalid typed value")

// ParseXSD converts the text of an XML Schema typed value to a Value. xsdType
// is the local type name without prefix ("string", "int", "long", "double",
// "boolean", "dateTime", "duration", …), matched case-insensitively. Integer
// types become KindInt, float, double and decimal become KindFloat, dateTime
// becomes KindTime (no zone means UTC) and duration becomes KindDuration.
func ParseXSD(xsdType, text string) (Value, error) {
	switch strings.ToLower(xsdType) {
	case "string", "anyuri", "guid", "char":
		return String(text), nil
	case "int", "long", "short", "byte", "unsignedbyte", "unsignedshort", "unsignedint", "integer":
		i, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
		if err != nil {
			return Value{}, fmt.Errorf("%w: %s %q: %w", ErrXSDValue, xsdType, text, err)
		}
		return Int(i), nil
	case "unsignedlong":
		u, err := strconv.ParseUint(strings.TrimSpace(text), 10, 64)
		if err != nil {
			return Value{}, fmt.Errorf("%w: %s %q: %w", ErrXSDValue, xsdType, text, err)
		}
		if u > math.MaxInt64 {
			return Float(float64(u)), nil
		}
		return Int(int64(u)), nil
	case "double", "float", "decimal":
		s := strings.TrimSpace(text)
		switch s {
		case "INF":
			return Float(math.Inf(1)), nil
		case "-INF":
			return Float(math.Inf(-1)), nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return Value{}, fmt.Errorf("%w: %s %q: %w", ErrXSDValue, xsdType, text, err)
		}
		return Float(f), nil
	case "boolean":
		switch strings.TrimSpace(text) {
		case "true", "1":
			return Bool(true), nil
		case "false", "0":
			return Bool(false), nil
		}
		return Value{}, fmt.Errorf("%w: boolean %q", ErrXSDValue, text)
	case "datetime":
		s := strings.TrimSpace(text)
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			var err2 error
			if t, err2 = time.Parse("2006-01-02T15:04:05.999999999", s); err2 != nil {
				return Value{}, fmt.Errorf("%w: dateTime %q: %w", ErrXSDValue, text, err)
			}
		}
		return Time(t), nil
	case "duration":
		ticks, err := parseISODuration(strings.TrimSpace(text))
		if err != nil {
			return Value{}, fmt.Errorf("%w: duration %q: %w", ErrXSDValue, text, err)
		}
		return DurationTicks(ticks), nil
	}
	return Value{}, fmt.Errorf("%w: unsupported type %q", ErrXSDValue, xsdType)
}

// FormatXSD renders v as an XML Schema type name and text, the inverse of
// ParseXSD. A null Value gives ("", "") and the caller emits i:nil="true".
func FormatXSD(v Value) (xsdType, text string) {
	switch v.kind {
	case KindBool:
		if v.bits != 0 {
			return "boolean", "true"
		}
		return "boolean", "false"
	case KindInt:
		return "long", strconv.FormatInt(v.bits, 10)
	case KindFloat:
		f, _ := v.Float()
		switch {
		case math.IsInf(f, 1):
			return "double", "INF"
		case math.IsInf(f, -1):
			return "double", "-INF"
		case math.IsNaN(f):
			return "double", "NaN"
		}
		return "double", strconv.FormatFloat(f, 'G', -1, 64)
	case KindString:
		return "string", v.str
	case KindTime:
		t, _ := v.Time()
		return "dateTime", t.Format(time.RFC3339Nano)
	case KindDuration:
		return "duration", formatISODuration(v.bits)
	}
	return "", ""
}

// parseISODuration parses [-]P[nD][T[nH][nM][n[.f]S]] into 100 ns ticks, the
// form .NET writes TimeSpan values in (for example PT1M or
// P10675199DT2H48M5.4775807S).
func parseISODuration(s string) (int64, error) {
	neg := false
	if strings.HasPrefix(s, "-") {
		neg = true
		s = s[1:]
	}
	if !strings.HasPrefix(s, "P") || len(s) < 2 {
		return 0, errors.New("must start with P")
	}
	s = s[1:]
	var total int64
	inTime := false
	seen := false
	for len(s) > 0 {
		if s[0] == 'T' {
			if inTime {
				return 0, errors.New("repeated T")
			}
			inTime = true
			s = s[1:]
			if len(s) == 0 {
				return 0, errors.New("empty time part")
			}
			continue
		}
		i := 0
		for i < len(s) && (isASCIIDigit(s[i]) || s[i] == '.') {
			i++
		}
		if i == 0 || i == len(s) {
			return 0, errors.New("number and unit expected")
		}
		num, unit := s[:i], s[i]
		s = s[i+1:]
		var scale int64
		switch {
		case unit == 'D' && !inTime:
			scale = 24 * 3600 * ticksPerSecond
		case unit == 'H' && inTime:
			scale = 3600 * ticksPerSecond
		case unit == 'M' && inTime:
			scale = 60 * ticksPerSecond
		case unit == 'S' && inTime:
			scale = ticksPerSecond
		default:
			return 0, fmt.Errorf("unsupported unit %q", unit)
		}
		whole, frac, hasFrac := strings.Cut(num, ".")
		if hasFrac && unit != 'S' {
			return 0, errors.New("fraction allowed only in seconds")
		}
		w, err := strconv.ParseInt(whole, 10, 64)
		if err != nil {
			return 0, err
		}
		if w > math.MaxInt64/scale {
			return 0, errors.New("out of range")
		}
		add := w * scale
		if hasFrac {
			if len(frac) == 0 || strings.ContainsAny(frac, ".") {
				return 0, errors.New("bad fraction")
			}
			digits := (frac + "0000000")[:7]
			f, err := strconv.ParseInt(digits, 10, 64)
			if err != nil {
				return 0, err
			}
			add += f
		}
		if total > math.MaxInt64-add {
			return 0, errors.New("out of range")
		}
		total += add
		seen = true
	}
	if !seen {
		return 0, errors.New("no components")
	}
	if neg {
		total = -total
	}
	return total, nil
}

// formatISODuration writes ticks in the form parseISODuration reads.
func formatISODuration(ticks int64) string {
	var b strings.Builder
	u := uint64(ticks)
	if ticks < 0 {
		b.WriteByte('-')
		u = uint64(-ticks) // MinInt64 wraps to its own magnitude as uint64
	}
	const day = 24 * 3600 * ticksPerSecond
	days := u / day
	rem := u % day
	h := rem / (3600 * ticksPerSecond)
	rem %= 3600 * ticksPerSecond
	m := rem / (60 * ticksPerSecond)
	rem %= 60 * ticksPerSecond
	sec := rem / ticksPerSecond
	frac := rem % ticksPerSecond
	b.WriteByte('P')
	if days > 0 {
		b.WriteString(strconv.FormatUint(days, 10))
		b.WriteByte('D')
	}
	if h > 0 || m > 0 || sec > 0 || frac > 0 || days == 0 {
		b.WriteByte('T')
		if h > 0 {
			b.WriteString(strconv.FormatUint(h, 10))
			b.WriteByte('H')
		}
		if m > 0 {
			b.WriteString(strconv.FormatUint(m, 10))
			b.WriteByte('M')
		}
		if sec > 0 || frac > 0 || (h == 0 && m == 0) {
			b.WriteString(strconv.FormatUint(sec, 10))
			if frac > 0 {
				fs := strconv.FormatUint(frac+ticksPerSecond, 10)[1:] // 7 digits with leading zeros
				b.WriteByte('.')
				b.WriteString(strings.TrimRight(fs, "0"))
			}
			b.WriteByte('S')
		}
	}
	return b.String()
}
