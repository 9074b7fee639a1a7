package eventgrid

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// authenticate checks a request's credential against keys (base64 strings).
// No keys: every request passes (a topic without keys is open, as the spec
// allows). resourcePath is the path being accessed, for SAS prefix checks.
func (h *Handler) authenticate(r *http.Request, keys []string, resourcePath string) error {
	if h.cfg.AuthDisabled || len(keys) == 0 {
		return nil
	}
	authz := r.Header.Get("Authorization")
	if k := r.Header.Get("aeg-sas-key"); k != "" {
		return h.checkKey(r, k, keys)
	}
	if k := r.URL.Query().Get("aeg-sas-key"); k != "" {
		return h.checkKey(r, k, keys)
	}
	if tok := r.Header.Get("aeg-sas-token"); tok != "" {
		return h.checkSAS(r, tok, keys, resourcePath)
	}
	scheme, rest, _ := strings.Cut(authz, " ")
	switch strings.ToLower(scheme) {
	case "sharedaccesskey":
		return h.checkKey(r, strings.TrimSpace(rest), keys)
	case "sharedaccesssignature":
		return h.checkSAS(r, strings.TrimSpace(rest), keys, resourcePath)
	case "bearer":
		if h.cfg.AcceptBearer {
			return nil
		}
		return newError(http.StatusUnauthorized, "Unauthorized", "Bearer tokens are not accepted by this Baton (set eventGrid.acceptBearer for development); use aeg-sas-key, aeg-sas-token or SharedAccessKey.")
	case "":
		return newError(http.StatusUnauthorized, "Unauthorized", "The request has no credential: send aeg-sas-key, aeg-sas-token or Authorization: SharedAccessKey/SharedAccessSignature.")
	}
	return newError(http.StatusUnauthorized, "Unauthorized", "The Authorization scheme "+scheme+" is not supported.")
}

func (h *Handler) unauthorized(r *http.Request, reason string) error {
	return newError(http.StatusUnauthorized, "Unauthorized", "The request authorization key is not authorized for "+strings.ToUpper(r.Host)+". This is due to the reason: "+reason)
}

func (h *Handler) checkKey(r *http.Request, given string, keys []string) error {
	for _, k := range keys {
		if subtle.ConstantTimeCompare([]byte(given), []byte(k)) == 1 {
			return nil
		}
	}
	return h.unauthorized(r, "the key is not one of the topic's keys.")
}

const sasFormat = "Invalid key in aeg-sas-token. Valid format :r=UrlEncodedResource&e=UrlEncodedUtcExpiration&s=UrlEncodedSignature."

// checkSAS verifies r=…&e=…&s=…: the HMAC-SHA256, with the base64-decoded
// key, of the raw token text before the last "&s=" (so both URL-encoding
// styles verify), the expiry in any of the formats producers write, and the
// resource as a case-insensitive path prefix (hosts are not compared: a
// local server rarely has the cloud host name).
func (h *Handler) checkSAS(r *http.Request, tok string, keys []string, resourcePath string) error {
	i := strings.LastIndex(tok, "&s=")
	if i < 0 {
		return newError(http.StatusBadRequest, "BadRequest", sasFormat+" The signature s is missing.")
	}
	signed, sigText := tok[:i], tok[i+3:]
	vals, err := url.ParseQuery(signed)
	if err != nil || vals.Get("r") == "" || vals.Get("e") == "" {
		return newError(http.StatusBadRequest, "BadRequest", sasFormat)
	}
	sigStr, err := url.QueryUnescape(sigText)
	if err != nil {
		return newError(http.StatusBadRequest, "BadRequest", sasFormat+" The signature is not URL-encoded correctly.")
	}
	sig, err := base64.StdEncoding.DecodeString(sigStr)
	if err != nil {
		return newError(http.StatusBadRequest, "BadRequest", sasFormat+" The signature is not base64.")
	}
	exp, ok := parseExpiry(vals.Get("e"))
	if !ok {
		return newError(http.StatusBadRequest, "BadRequest", sasFormat+" The expiration "+vals.Get("e")+" is not a date.")
	}
	if !h.cfg.Clock.Now().Before(exp) {
		return h.unauthorized(r, "the SAS token expired at "+exp.UTC().Format(time.RFC3339)+".")
	}
	if res, err := url.Parse(vals.Get("r")); err == nil && res.Path != "" && res.Path != "/" {
		want := strings.ToLower(strings.TrimSuffix(res.Path, "/"))
		got := strings.ToLower(resourcePath)
		if !strings.HasPrefix(got, want) && !strings.HasPrefix(want, "/api/events") {
			return h.unauthorized(r, "the SAS token's resource "+res.Path+" does not cover "+resourcePath+".")
		}
	}
	for _, k := range keys {
		kb, err := base64.StdEncoding.DecodeString(k)
		if err != nil {
			kb = []byte(k)
		}
		mac := hmac.New(sha256.New, kb)
		mac.Write([]byte(signed))
		if hmac.Equal(mac.Sum(nil), sig) {
			return nil
		}
	}
	return h.unauthorized(r, "the SAS token's signature does not match any of the topic's keys.")
}

// expiryLayouts are the expiry formats producers write (spec §1.2).
var expiryLayouts = []string{
	time.RFC3339Nano,
	"1/2/2006 3:04:05 PM -07:00",
	"1/2/2006 3:04:05 PM",
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
}

func parseExpiry(s string) (time.Time, bool) {
	for _, l := range expiryLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// signSAS builds a SAS token for resource, valid until exp (used by tests
// and documented for users).
func signSAS(resource string, exp time.Time, key string) string {
	kb, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		kb = []byte(key)
	}
	signed := "r=" + url.QueryEscape(resource) + "&e=" + url.QueryEscape(exp.UTC().Format("1/2/2006 3:04:05 PM"))
	mac := hmac.New(sha256.New, kb)
	mac.Write([]byte(signed))
	return signed + "&s=" + url.QueryEscape(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
}
