// Package isodur reads and writes ISO 8601 (XML Schema) durations the way
// .NET and so Azure do: PT1M, P1DT2H, PT0.5S, and
// P10675199DT2H48M5.4775807S (TimeSpan.MaxValue) for "never". A year reads
// as 365 days and a month as 30, as .NET's XmlConvert does; values beyond
// what a time.Duration holds saturate at Max.
package isodur

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Max is the longest time.Duration; it stands for "never" (the value of
// broker.MaxDuration).
const Max = time.Duration(1<<63 - 1)

// Never is .NET's TimeSpan.MaxValue in XML duration form: what Service Bus
// writes for "never" (TTL, AutoDeleteOnIdle).
const Never = "P10675199DT2H48M5.4775807S"

// Format writes d the way .NET's XmlConvert writes a TimeSpan, and
// so the way Service Bus writes durations: PT1M, PT1H30M, P1D, PT0.5S,
// PT0S; Max ("never") is Never. Precision is one tick
// (100 ns), as in .NET.
func Format(d time.Duration) string {
	if d == Max {
		return Never
	}
	var b strings.Builder
	if d < 0 {
		b.WriteByte('-')
		d = -d
	}
	ticks := int64(d / 100)
	if ticks == 0 {
		return "PT0S"
	}
	const (
		perSecond = int64(10_000_000)
		perMinute = 60 * perSecond
		perHour   = 60 * perMinute
		perDay    = 24 * perHour
	)
	days := ticks / perDay
	ticks %= perDay
	hours := ticks / perHour
	ticks %= perHour
	minutes := ticks / perMinute
	ticks %= perMinute
	seconds := ticks / perSecond
	frac := ticks % perSecond

	b.WriteByte('P')
	if days > 0 {
		b.WriteString(strconv.FormatInt(days, 10))
		b.WriteByte('D')
	}
	if hours+minutes+seconds+frac > 0 {
		b.WriteByte('T')
		if hours > 0 {
			b.WriteString(strconv.FormatInt(hours, 10))
			b.WriteByte('H')
		}
		if minutes > 0 {
			b.WriteString(strconv.FormatInt(minutes, 10))
			b.WriteByte('M')
		}
		if seconds+frac > 0 {
			b.WriteString(strconv.FormatInt(seconds, 10))
			if frac > 0 {
				f := fmt.Sprintf("%07d", frac)
				b.WriteByte('.')
				b.WriteString(strings.TrimRight(f, "0"))
			}
			b.WriteByte('S')
		}
	}
	return b.String()
}

// ErrSyntax is wrapped by every Parse error about syntax.
var ErrSyntax = errors.New("not an ISO 8601 duration such as PT1M, P1DT2H or PT0.5S")

// Parse reads an XML Schema (ISO 8601) duration: P[nY][nM][nW][nD]
// [T[nH][nM][n[.f]S]], with a year read as 365 days and a month as 30 days,
// as .NET does. Values at or beyond what a time.Duration holds, including
// TimeSpan.MaxValue, become Max ("never"). Negative
// durations are an error: no Service Bus property takes one.
func Parse(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	if strings.HasPrefix(in, "-") {
		return 0, fmt.Errorf("duration %q is negative", s)
	}
	if len(in) < 2 || (in[0] != 'P' && in[0] != 'p') {
		return 0, fmt.Errorf("duration %q: %w", s, ErrSyntax)
	}
	rest := strings.ToUpper(in[1:])
	const day = 24 * time.Hour
	dateUnits := map[byte]time.Duration{'Y': 365 * day, 'M': 30 * day, 'W': 7 * day, 'D': day}
	timeUnits := map[byte]time.Duration{'H': time.Hour, 'M': time.Minute, 'S': time.Second}
	var total time.Duration
	overflow := false
	inTime, sawPart := false, false
	section, next := "YMWD", 0 // units allowed next, in order, each once
	for len(rest) > 0 {
		if rest[0] == 'T' {
			if inTime || len(rest) == 1 {
				return 0, fmt.Errorf("duration %q: %w", s, ErrSyntax)
			}
			inTime = true
			section, next = "HMS", 0
			rest = rest[1:]
			continue
		}
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.' || rest[i] == ',') {
			i++
		}
		if i == 0 || i == len(rest) {
			return 0, fmt.Errorf("duration %q: %w", s, ErrSyntax)
		}
		num, unit := strings.ReplaceAll(rest[:i], ",", "."), rest[i]
		rest = rest[i+1:]
		pos := strings.IndexByte(section[next:], unit)
		if pos < 0 {
			return 0, fmt.Errorf("duration %q: unit %q is out of place: %w", s, unit, ErrSyntax)
		}
		next += pos + 1
		mult := dateUnits[unit]
		if inTime {
			mult = timeUnits[unit]
		}
		v, of, err := scaled(num, mult)
		if err != nil {
			return 0, fmt.Errorf("duration %q: %w", s, ErrSyntax)
		}
		if of || total > Max-v {
			overflow = true
		} else {
			total += v
		}
		sawPart = true
	}
	if !sawPart {
		return 0, fmt.Errorf("duration %q: %w", s, ErrSyntax)
	}
	if overflow {
		return Max, nil
	}
	return total, nil
}

// scaled returns num (decimal, with an optional fraction) times unit,
// exactly to the nanosecond, and whether it overflowed.
func scaled(num string, unit time.Duration) (time.Duration, bool, error) {
	intPart, fracPart, _ := strings.Cut(num, ".")
	if strings.Contains(fracPart, ".") || (intPart == "" && fracPart == "") {
		return 0, false, ErrSyntax
	}
	var whole uint64
	if intPart != "" {
		n, err := strconv.ParseUint(intPart, 10, 64)
		if err != nil {
			var ne *strconv.NumError
			if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
				return 0, true, nil
			}
			return 0, false, err
		}
		whole = n
	}
	if whole > uint64(Max/unit) {
		return 0, true, nil
	}
	v := time.Duration(whole) * unit
	// The fraction: at most nanosecond precision is kept.
	if len(fracPart) > 9 {
		fracPart = fracPart[:9]
	}
	if fracPart != "" {
		f, err := strconv.ParseUint(fracPart, 10, 64)
		if err != nil {
			return 0, false, err
		}
		for i := len(fracPart); i < 9; i++ {
			f *= 10
		}
		// unit*f/1e9 without overflow: unit is at most a year (3.2e16 ns)
		// and f < 1e9, so split unit into seconds and nanoseconds.
		secs, nanos := uint64(unit/time.Second), uint64(unit%time.Second)
		extra := secs*f + nanos*f/1_000_000_000
		if extra > uint64(Max-v) {
			return 0, true, nil
		}
		v += time.Duration(extra)
	}
	return v, false, nil
}
