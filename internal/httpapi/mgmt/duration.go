package mgmt

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

// Duration is a time.Duration in JSON: written in Go syntax ("1m0s"), read
// in Go syntax or ISO 8601 ("PT1M").
type Duration time.Duration

// MarshalJSON writes the duration in Go syntax.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a string in Go syntax or ISO 8601.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"30s\" or \"PT30S\", not %s", truncate(string(b), 40))
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// ParseDuration parses a duration in Go syntax ("90s", "1h30m") or ISO 8601
// ("PT90S", "P1DT2H", "P2W"). Years and months are refused (their length
// varies). "never" and durations longer than Go can hold are
// broker.MaxDuration. Negative durations are refused.
func ParseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, errors.New("duration is empty")
	}
	if s == "never" {
		return broker.MaxDuration, nil
	}
	if s[0] == 'P' || s[0] == 'p' {
		return parseISODuration(s)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: use Go syntax such as \"30s\" or \"1h30m\", or ISO 8601 such as \"PT30S\"", truncate(s, 40))
	}
	if d < 0 {
		return 0, fmt.Errorf("invalid duration %q: negative", truncate(s, 40))
	}
	return d, nil
}

// parseISODuration parses P[nW][nD][T[nH][nM][n[.f]S]].
func parseISODuration(s string) (time.Duration, error) {
	bad := func(why string) error {
		return fmt.Errorf("invalid ISO 8601 duration %q: %s", truncate(s, 40), why)
	}
	rest := strings.ToUpper(s[1:])
	if rest == "" || rest == "T" {
		return 0, bad("no components")
	}
	var total float64 // seconds; float so that overflow saturates instead of wrapping
	inTime := false
	var seen [256]bool // by unit, +128 after 'T'
	for rest != "" {
		if rest[0] == 'T' {
			if inTime {
				return 0, bad("a second 'T'")
			}
			inTime = true
			rest = rest[1:]
			if rest == "" {
				return 0, bad("nothing after 'T'")
			}
			continue
		}
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.' || rest[i] == ',') {
			i++
		}
		if i == 0 || i == len(rest) {
			return 0, bad("expected a number followed by a unit")
		}
		num := strings.Replace(rest[:i], ",", ".", 1)
		unit := rest[i]
		rest = rest[i+1:]
		v, err := strconv.ParseFloat(num, 64)
		if err != nil || math.IsInf(v, 0) {
			return 0, bad("bad number " + strconv.Quote(num))
		}
		var scale float64
		switch {
		case !inTime && unit == 'W':
			scale = 7 * 24 * 3600
		case !inTime && unit == 'D':
			scale = 24 * 3600
		case inTime && unit == 'H':
			scale = 3600
		case inTime && unit == 'M':
			scale = 60
		case inTime && unit == 'S':
			scale = 1
		case !inTime && (unit == 'Y' || unit == 'M'):
			return 0, bad("years and months are not supported; use days (P30D)")
		default:
			return 0, bad("unknown unit " + strconv.Quote(string(unit)))
		}
		key := int(unit)
		if inTime {
			key += 128
		}
		if seen[key] {
			return 0, bad("unit " + strconv.Quote(string(unit)) + " repeated")
		}
		seen[key] = true
		if strings.Contains(num, ".") && unit != 'S' {
			return 0, bad("only seconds may have a fraction")
		}
		total += v * scale
	}
	ns := total * 1e9
	if ns >= float64(broker.MaxDuration) {
		return broker.MaxDuration, nil
	}
	return time.Duration(math.Round(ns)), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// String returns the duration in Go syntax, or "never" for
// broker.MaxDuration.
func (d Duration) String() string {
	if time.Duration(d) == broker.MaxDuration {
		return "never"
	}
	return time.Duration(d).String()
}
