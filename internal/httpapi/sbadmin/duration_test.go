package sbadmin

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
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
		{broker.MaxDuration, neverText},
	} {
		if got := formatDuration(tc.d); got != tc.want {
			t.Errorf("formatDuration(%v) = %q, want %q", tc.d, got, tc.want)
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
		{neverText, broker.MaxDuration},
		{"P106751DT23H47M16.854775807S", broker.MaxDuration},
		{"P106751DT23H47M16.854775806S", broker.MaxDuration - 1},
		{"P99999999999999999999D", broker.MaxDuration},
		{"PT99999999999999999999S", broker.MaxDuration},
	} {
		got, err := parseDuration(tc.s)
		if err != nil || got != tc.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", tc.s, got, err, tc.want)
		}
	}
	for _, s := range []string{"", "P", "PT", "1M", "PT1", "PTM", "P1H", "PT1D", "P1DT", "PT1S1M", "PT1M1M",
		"PT1..5S", "P1D1D", "PTT1S", "-PT1M", "PT-1M", "PT1MX", "60s", "00:01:00", "P1.2.3D"} {
		if d, err := parseDuration(s); err == nil {
			t.Errorf("parseDuration(%q) = %v, want an error", s, d)
		}
	}
	// Round trip at tick precision.
	for _, d := range []time.Duration{time.Second, 7 * time.Minute, 36 * time.Hour, 1234567800 * time.Nanosecond, broker.MaxDuration} {
		back, err := parseDuration(formatDuration(d))
		if err != nil || back != d {
			t.Errorf("round trip of %v: %v, %v", d, back, err)
		}
	}
}

// sign makes a token the way the Service Bus SDKs do.
func sign(key, keyName, resource string, expiry time.Time) string {
	sr := strings.ToLower(url.QueryEscape(resource))
	se := fmt.Sprint(expiry.Unix())
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(sr + "\n" + se))
	sig := url.QueryEscape(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return fmt.Sprintf("SharedAccessSignature sr=%s&sig=%s&se=%s&skn=%s", sr, sig, se, keyName)
}

func TestAuthorize(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	keys := map[string]string{"RootManageSharedAccessKey": "s3cret", "other": "k2"}
	res := "https://sb.example:5672/q1?api-version=2024-05"
	req := func(auth string) *http.Request {
		r, _ := http.NewRequest("GET", res, nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		return r
	}
	if err := authorize(nil, req(""), now); err != nil {
		t.Fatalf("no keys, no token: %v", err)
	}
	if err := authorize(nil, req("SharedAccessSignature garbage"), now); err != nil {
		t.Fatalf("no keys, any token: %v", err)
	}
	good := sign("s3cret", "RootManageSharedAccessKey", res, now.Add(time.Hour))
	if err := authorize(keys, req(good), now); err != nil {
		t.Fatalf("good token: %v", err)
	}
	if err := authorize(keys, req(sign("k2", "other", "sb.example", now.Add(time.Minute))), now); err != nil {
		t.Fatalf("second key: %v", err)
	}
	// A token whose sr is not lower-cased (other SDKs) verifies too.
	mac := hmac.New(sha256.New, []byte("s3cret"))
	sr := url.QueryEscape("https://SB.example/Q1")
	se := fmt.Sprint(now.Add(time.Hour).Unix())
	mac.Write([]byte(sr + "\n" + se))
	mixed := "SharedAccessSignature sr=" + sr + "&sig=" + url.QueryEscape(base64.StdEncoding.EncodeToString(mac.Sum(nil))) + "&se=" + se + "&skn=RootManageSharedAccessKey"
	if err := authorize(keys, req(mixed), now); err != nil {
		t.Fatalf("mixed-case sr: %v", err)
	}
	for name, auth := range map[string]string{
		"missing":      "",
		"not SAS":      "Bearer abc",
		"wrong key":    sign("nope", "RootManageSharedAccessKey", res, now.Add(time.Hour)),
		"unknown name": sign("s3cret", "someone", res, now.Add(time.Hour)),
		"expired":      sign("s3cret", "RootManageSharedAccessKey", res, now),
		"no sig":       "SharedAccessSignature sr=x&se=1&skn=RootManageSharedAccessKey",
		"bad se":       strings.Replace(good, "&se=", "&se=x", 1),
		"bad sig":      strings.Replace(good, "&sig=", "&sig=!!", 1),
		"tampered sr":  strings.Replace(good, "sr=https", "sr=http", 1),
	} {
		err := authorize(keys, req(auth), now)
		if !errors.Is(err, errUnauthorized) {
			t.Errorf("%s: %v, want unauthorized", name, err)
		}
	}
}
