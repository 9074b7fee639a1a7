package typedval

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		typ  string
		in   any
		want any
	}{
		{"string", "x", "x"}, {"String", json.Number("12"), "12"},
		{"long", "42", int64(42)}, {"int", json.Number("-7"), int64(-7)}, {"long", int64(3), int64(3)},
		{"double", "1.5", 1.5}, {"float", float64(2), float64(2)},
		{"bool", "true", true}, {"boolean", false, false},
		{"datetime", "2026-01-02T04:04:05+01:00", at},
		{"timespan", "1m", time.Minute},
	} {
		got, err := Parse(c.typ, c.in, time.ParseDuration)
		if err != nil || got != c.want {
			t.Errorf("Parse(%q, %v) = %v (%T), %v; want %v", c.typ, c.in, got, got, err, c.want)
		}
	}
	for _, c := range []struct {
		typ, want string
		in        any
	}{
		{"long", "not a whole number", "1.5"}, {"double", "finite", "NaN"}, {"bool", "true or false", "yes"},
		{"datetime", "RFC 3339", "yesterday"}, {"", "missing", "x"}, {"money", "is not string", "1"},
		{"string", "null", nil}, {"string", "must be a string", []int{1}},
		{"long", "…", strings.Repeat("9", 100)},
	} {
		if _, err := Parse(c.typ, c.in, time.ParseDuration); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q, %v) error %v; want %q", c.typ, c.in, err, c.want)
		}
	}
}
