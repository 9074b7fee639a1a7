package sbadmin

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// sasPrefix starts a Service Bus SAS token in the Authorization header.
const sasPrefix = "SharedAccessSignature "

// errUnauthorized is wrapped by every authentication failure.
var errUnauthorized = errors.New("sbadmin: unauthorized")

// authorize checks the request's SAS token. With no keys configured every
// request is accepted, with or without a token. With keys, the token must
// name a configured key (skn), be unexpired (se) at now, and carry the
// HMAC-SHA256 signature, under that key, of its url-encoded resource (sr),
// a newline and se. The token's scope (sr) is not compared with the
// request: a key configured here is a namespace key, which grants every
// entity.
func authorize(keys map[string]string, r *http.Request, now time.Time) error {
	if len(keys) == 0 {
		return nil
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		return fmt.Errorf("%w: no Authorization header; send a SharedAccessSignature token", errUnauthorized)
	}
	return verifySAS(keys, h, now)
}

// verifySAS verifies one "SharedAccessSignature sr=..&sig=..&se=..&skn=.."
// token.
func verifySAS(keys map[string]string, token string, now time.Time) error {
	if len(token) < len(sasPrefix) || !strings.EqualFold(token[:len(sasPrefix)], sasPrefix) {
		return fmt.Errorf("%w: the Authorization header is not a SharedAccessSignature token", errUnauthorized)
	}
	fields := map[string]string{}
	for _, part := range strings.Split(strings.TrimSpace(token[len(sasPrefix):]), "&") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		fields[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	sr, sig, se, skn := fields["sr"], fields["sig"], fields["se"], fields["skn"]
	if sr == "" || sig == "" || se == "" || skn == "" {
		return fmt.Errorf("%w: the token lacks one of sr, sig, se, skn", errUnauthorized)
	}
	keyName, err := url.QueryUnescape(skn)
	if err != nil {
		keyName = skn
	}
	key, ok := keys[keyName]
	if !ok {
		return fmt.Errorf("%w: unknown key name %q", errUnauthorized, keyName)
	}
	expiry, err := strconv.ParseInt(se, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: se=%q is not a Unix time", errUnauthorized, se)
	}
	if now.Unix() >= expiry {
		return fmt.Errorf("%w: the token expired at %s", errUnauthorized, time.Unix(expiry, 0).UTC().Format(time.RFC3339))
	}
	got, err := decodeSig(sig)
	if err != nil {
		return fmt.Errorf("%w: sig is not base64", errUnauthorized)
	}
	// Clients sign the resource exactly as they put it in sr; encodings
	// differ between SDKs (Go lower-cases url.QueryEscape, .NET and JS use
	// their own escaping), so try the text as sent first, then the usual
	// re-encodings of it.
	for _, res := range resourceForms(sr) {
		mac := hmac.New(sha256.New, []byte(key))
		mac.Write([]byte(res + "\n" + se))
		if hmac.Equal(mac.Sum(nil), got) {
			return nil
		}
	}
	return fmt.Errorf("%w: the signature does not match key %q", errUnauthorized, keyName)
}

func decodeSig(sig string) ([]byte, error) {
	if s, err := url.QueryUnescape(sig); err == nil {
		sig = s
	}
	if b, err := base64.StdEncoding.DecodeString(sig); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(sig, "="))
}

func resourceForms(sr string) []string {
	forms := []string{sr}
	if raw, err := url.QueryUnescape(sr); err == nil {
		esc := url.QueryEscape(raw)
		forms = append(forms, esc, strings.ToLower(esc), raw)
	}
	return forms
}
