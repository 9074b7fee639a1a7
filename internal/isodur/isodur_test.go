package isodur

import (
	"testing"
	"time"
)

func TestFormatDuration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "PT0S"},
		{time.Minute, "PT1M"},
		{45 * time.Second, "PT45S"},
		{90 * time.Second, "PT1M30S"},
		{time.Hour + 30*time.Minute, "PT1H30M"},
		{24 * time.Hour, "P1D"},
		{14*24*time.Hour + 12*time.Hour, "P14DT12H"},
		{24*time.Hour + 500*time.Millisecond, "P1DT0.5S"},
		{1234567800 * time.Nanosecond, "PT1.2345678S"},
		{150 * time.Nanosecond, "PT0.0000001S"},
		{99 * time.Nanosecond, "PT0S"},
		{-time.Minute, "-PT1M"},
		{Max, Never},
	} {
		if got := Format(tc.d); got != tc.want {
			t.Errorf("Format(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		s    string
		want time.Duration
	}{
		{"PT1M", time.Minute},
		{"pt1m", time.Minute},
		{" PT30S ", 30 * time.Second},
		{"PT90S", 90 * time.Second},
		{"PT0.5S", 500 * time.Millisecond},
		{"PT1,5S", 1500 * time.Millisecond},
		{"PT.25S", 250 * time.Millisecond},
		{"PT1.2345678S", 1234567800 * time.Nanosecond},
		{"PT0.0000000001S", 0},
		{"P1D", 24 * time.Hour},
		{"P1W", 7 * 24 * time.Hour},
		{"P1Y", 365 * 24 * time.Hour},
		{"P1M", 30 * 24 * time.Hour},
		{"P1DT2H3M4S", 26*time.Hour + 3*time.Minute + 4*time.Second},
		{"PT1.5H", 90 * time.Minute},
		{"P0.5D", 12 * time.Hour},
		{"PT0S", 0},
		{Never, Max},
		{"P106751DT23H47M16.854775807S", Max},
		{"P106751DT23H47M16.854775806S", Max - 1},
		{"P99999999999999999999D", Max},
		{"PT99999999999999999999S", Max},
	} {
		got, err := Parse(tc.s)
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %v, %v; want %v", tc.s, got, err, tc.want)
		}
	}
	for _, s := range []string{"", "P", "PT", "1M", "PT1", "PTM", "P1H", "PT1D", "P1DT", "PT1S1M", "PT1M1M",
		"PT1..5S", "P1D1D", "PTT1S", "-PT1M", "PT-1M", "PT1MX", "60s", "00:01:00", "P1.2.3D"} {
		if d, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) = %v, want an error", s, d)
		}
	}
	// Round trip at tick precision.
	for _, d := range []time.Duration{time.Second, 7 * time.Minute, 36 * time.Hour, 1234567800 * time.Nanosecond, Max} {
		back, err := Parse(Format(d))
		if err != nil || back != d {
			t.Errorf("round trip of %v: %v, %v", d, back, err)
		}
	}
}
