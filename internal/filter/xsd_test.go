package filter

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestParseXSD(t *testing.T) {
	t.Parallel()
	cases := []struct {
		typ, text string
		want      Value
	}{
		{"string", "orders", String("orders")},
		{"int", "42", Int(42)},
		{"long", "-9223372036854775808", Int(math.MinInt64)},
		{"unsignedLong", "18446744073709551615", Float(18446744073709551615)},
		{"double", "2.08", Float(2.08)},
		{"double", "INF", Float(math.Inf(1))},
		{"boolean", "true", Bool(true)},
		{"boolean", "0", Bool(false)},
		{"dateTime", "2024-05-01T12:00:00Z", Time(t0)},
		{"dateTime", "2024-05-01T14:00:00+02:00", Time(t0)},
		{"dateTime", "2024-05-01T12:00:00", Time(t0)},
		{"duration", "PT1M", Duration(time.Minute)},
		{"duration", "P1DT2H3M4.5S", Duration(26*time.Hour + 3*time.Minute + 4500*time.Millisecond)},
		{"duration", "-PT0.0000001S", DurationTicks(-1)},
		{"duration", "P10675199DT2H48M5.4775807S", DurationTicks(math.MaxInt64)},
	}
	for _, c := range cases {
		got, err := ParseXSD(c.typ, c.text)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("ParseXSD(%q, %q) = %v, %v; want %v", c.typ, c.text, got, err, c.want)
		}
	}
	for _, bad := range [][2]string{
		{"int", "x"}, {"boolean", "yes"}, {"dateTime", "May 1"}, {"duration", "1M"}, {"duration", "P"},
		{"duration", "PT"}, {"duration", "P1M"}, {"duration", "PT1.5M"}, {"duration", "P99999999999999999D"},
		{"base64Binary", "AA=="}, {"double", "x"}, {"unsignedLong", "-1"},
	} {
		if _, err := ParseXSD(bad[0], bad[1]); !errors.Is(err, ErrXSDValue) {
			t.Errorf("ParseXSD(%q, %q): %v", bad[0], bad[1], err)
		}
	}
}

func TestFormatXSDRoundTrip(t *testing.T) {
	t.Parallel()
	values := []Value{
		String("x"), Int(-5), Float(2.5), Float(1e300), Float(math.Inf(-1)), Bool(true), Bool(false),
		Time(t0), Time(time.Date(2024, 1, 2, 3, 4, 5, 600, time.UTC)),
		Duration(0), Duration(time.Minute), Duration(-90 * time.Second), DurationTicks(1),
		DurationTicks(math.MaxInt64), DurationTicks(864_000_000_000 * 3),
	}
	for _, v := range values {
		typ, text := FormatXSD(v)
		got, err := ParseXSD(typ, text)
		if err != nil || !got.Equal(v) {
			t.Errorf("%v -> %s %q -> %v, %v", v, typ, text, got, err)
		}
	}
	if typ, text := FormatXSD(Null()); typ != "" || text != "" {
		t.Error("null")
	}
	if _, text := FormatXSD(DurationTicks(math.MaxInt64)); text != "P10675199DT2H48M5.4775807S" {
		t.Errorf("TimeSpan.MaxValue formatted as %s", text)
	}
	if _, text := FormatXSD(Duration(time.Minute)); text != "PT1M" {
		t.Errorf("one minute formatted as %s", text)
	}
	if _, text := FormatXSD(Float(math.NaN())); text != "NaN" {
		t.Error("NaN")
	}
}

func FuzzParseXSD(f *testing.F) {
	for _, s := range [][2]string{
		{"duration", "P10675199DT2H48M5.4775807S"}, {"duration", "-PT1.5S"}, {"dateTime", "2024-05-01T12:00:00Z"},
		{"double", "1E+20"}, {"long", "42"}, {"boolean", "true"}, {"string", "x"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, typ, text string) {
		v, err := ParseXSD(typ, text)
		if err != nil {
			if !errors.Is(err, ErrXSDValue) {
				t.Fatalf("error %v does not wrap ErrXSDValue", err)
			}
			return
		}
		typ2, text2 := FormatXSD(v)
		v2, err := ParseXSD(typ2, text2)
		if err != nil || !v2.Equal(v) {
			t.Fatalf("%s %q -> %v -> %s %q -> %v, %v", typ, text, v, typ2, text2, v2, err)
		}
	})
}
