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
)

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
