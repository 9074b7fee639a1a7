package servicebus

// This file implements the $cbs node (service-bus-amqp.md §2): put-token
// verifies a token and records a claim on the audience's entity path;
// Authorized tells the server whether a link may attach.
//
// A SAS token reads
//
//	SharedAccessSignature sr=<url-encoded resource>&sig=<url-encoded base64 HMAC-SHA256>&se=<unix seconds>&skn=<key name>
//
// and is signed over the sr text exactly as it appears in the token, a
// newline and the se text, keyed with the UTF-8 bytes of the key. Go
// lower-cases the whole escaped resource; JS keeps its case.
//
// Scope: the token's resource covers an entity path when, with scheme and
// host removed, it is a prefix of the path at a '/' boundary ("q" covers
// "q" and "q/$management"; a namespace token, whose resource is only a
// host, covers everything). Hosts are not compared: Baton is one
// namespace, and clients may reach it under several names.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/batonmq/baton/internal/amqp/frames"
	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/clock"
)

// Token types of put-token.
const (
	TokenTypeSAS = "servicebus.windows.net:sastoken"
	TokenTypeJWT = "jwt"
)

const sasPrefix = "SharedAccessSignature "

// CBSConfig configures a CBS.
type CBSConfig struct {
	// Keys maps SAS key names to keys. Empty accepts every token and
	// authorizes every link.
	Keys map[string]string
	// Clock defaults to clock.Real.
	Clock clock.Clock
	// Broker, when set, is asked whether the audience's entity exists; a
	// missing entity is answered with 404 (Go's CodeNotFound).
	Broker broker.Engine
}

// CBS answers put-token requests and keeps the claims of one connection.
// Make one per AMQP connection. It is safe for concurrent use.
type CBS struct {
	keys   map[string]string
	clock  clock.Clock
	broker broker.Engine

	mu     sync.Mutex
	claims map[string]time.Time // entity path (lower case) → expiry; guarded by mu
}

// NewCBS returns a CBS with no claims.
func NewCBS(cfg CBSConfig) *CBS {
	c := &CBS{keys: cfg.Keys, clock: cfg.Clock, broker: cfg.Broker, claims: make(map[string]time.Time)}
	if c.clock == nil {
		c.clock = clock.Real{}
	}
	return c
}

// PutToken answers a $cbs request. put-token with a valid token for an
// existing entity is 202 "Accepted"; a bad, expired or unknown-key token
// is 401 (amqp:unauthorized-access); an audience naming a missing entity
// is 404 (amqp:not-found, "The messaging entity '…' could not be found.");
// a malformed request is 400.
func (c *CBS) PutToken(req *Request) *Response {
	if req.Operation != "put-token" {
		return &Response{StatusCode: StatusNotImplemented,
			StatusDescription: fmt.Sprintf("the $cbs operation %q is not supported; only put-token is", req.Operation),
			ErrorCondition:    string(frames.ErrCondNotImplemented)}
	}
	typ, _, err := stringField(req.ApplicationProperties, "type")
	if err != nil {
		return errorResponse(err, "")
	}
	audience, _, err := stringField(req.ApplicationProperties, "name")
	if err != nil {
		return errorResponse(err, "")
	}
	if audience == "" {
		return errorResponse(argErrorf("put-token has no %q (audience) application property", "name"), "")
	}
	token, isString := req.Body.(string)
	if !isString {
		return errorResponse(argErrorf("the put-token body is %s; it must be the token as a string", typeName(req.Body)), "")
	}
	path := audiencePath(audience)
	now := c.clock.Now()
	expiry := time.Time{}
	switch typ {
	case TokenTypeSAS:
		if len(c.keys) > 0 {
			exp, err := c.verifySAS(token, path, now)
			if err != nil {
				return unauthorized(err.Error())
			}
			expiry = exp
		}
	case TokenTypeJWT:
		if len(c.keys) > 0 {
			return unauthorized("JWT tokens cannot be verified by this broker; use a SharedAccessSignature token")
		}
	default:
		return errorResponse(argErrorf("token type %q is not supported; use %q or %q", typ, TokenTypeSAS, TokenTypeJWT), "")
	}
	// The token is checked first, so that a client without a valid token
	// learns nothing about which entities exist.
	if resp := c.checkEntity(path); resp != nil {
		return resp
	}
	if len(c.keys) > 0 {
		c.mu.Lock()
		for p, exp := range c.claims {
			if !now.Before(exp) {
				delete(c.claims, p)
			}
		}
		key := normalizePath(path)
		if old, ok := c.claims[key]; !ok || expiry.After(old) {
			c.claims[key] = expiry
		}
		c.mu.Unlock()
	}
	return &Response{StatusCode: StatusAccepted, StatusDescription: "Accepted"}
}

// Authorized reports whether the connection holds an unexpired claim that
// covers entityPath (a link address: "q", "q/$management",
// "q/$DeadLetterQueue"). With no keys configured it is always true.
func (c *CBS) Authorized(entityPath string, now time.Time) bool {
	if len(c.keys) == 0 {
		return true
	}
	p := normalizePath(entityPath)
	c.mu.Lock()
	defer c.mu.Unlock()
	for claim, exp := range c.claims {
		if now.Before(exp) && covers(claim, p) {
			return true
		}
	}
	return false
}

func unauthorized(desc string) *Response {
	return &Response{StatusCode: StatusUnauthorized, StatusDescription: desc,
		ErrorCondition: string(frames.ErrCondUnauthorizedAccess)}
}

// checkEntity answers 404 when path names an entity that does not exist.
func (c *CBS) checkEntity(path string) *Response {
	if c.broker == nil {
		return nil
	}
	name := entityName(path)
	if name == "" {
		return nil // a namespace audience
	}
	if _, err := c.broker.Definition(name); err != nil {
		if broker.CodeOf(err) == broker.CodeNotFound {
			return &Response{StatusCode: StatusNotFound, StatusDescription: notFoundDescription(path),
				ErrorCondition: string(frames.ErrCondNotFound)}
		}
		return errorResponse(err, path)
	}
	return nil
}

// entityName strips the node and sub-queue suffixes off an entity path:
// "q/$DeadLetterQueue/$management" → "q".
func entityName(path string) string {
	for _, suffix := range [...]string{"/$management", "/$deadletterqueue", "/$transfer"} {
		if len(path) >= len(suffix) && strings.EqualFold(path[len(path)-len(suffix):], suffix) {
			path = path[:len(path)-len(suffix)]
		}
	}
	return path
}

// audiencePath returns the entity path an audience names: the URL path
// without the leading and trailing '/', or "" for a namespace audience.
// Audiences look like amqp://host:port/q, amqps://host/q/$management or
// sb://host:port/q; one without a scheme is taken as host/path.
func audiencePath(audience string) string {
	s := audience
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[i+1:]
	} else {
		s = ""
	}
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	return strings.Trim(s, "/")
}

func normalizePath(p string) string { return strings.ToLower(strings.Trim(p, "/")) }

// covers reports whether the claim path covers p (both normalized).
func covers(claim, p string) bool {
	if claim == "" {
		return true
	}
	return p == claim || strings.HasPrefix(p, claim) && p[len(claim)] == '/'
}

// verifySAS verifies a SAS token for the entity path and returns its
// expiry.
func (c *CBS) verifySAS(token, path string, now time.Time) (time.Time, error) {
	if len(token) < len(sasPrefix) || !strings.EqualFold(token[:len(sasPrefix)], sasPrefix) {
		return time.Time{}, fmt.Errorf("the token is not a SharedAccessSignature token")
	}
	var sr, sig, se, skn string
	for part := range strings.SplitSeq(strings.TrimSpace(token[len(sasPrefix):]), "&") {
		k, v, _ := strings.Cut(part, "=")
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "sr":
			sr = v
		case "sig":
			sig = v
		case "se":
			se = v
		case "skn":
			skn = v
		}
	}
	if sr == "" || sig == "" || se == "" || skn == "" {
		return time.Time{}, fmt.Errorf("the SharedAccessSignature token lacks one of sr, sig, se and skn")
	}
	keyName, err := url.QueryUnescape(skn)
	if err != nil {
		keyName = skn
	}
	key, known := c.keys[keyName]
	if !known {
		return time.Time{}, fmt.Errorf("the SharedAccessSignature token names the unknown key %q", keyName)
	}
	secs, err := strconv.ParseInt(se, 10, 64)
	if err != nil || secs < 0 {
		return time.Time{}, fmt.Errorf("the SharedAccessSignature token's expiry se=%q is not a Unix time", se)
	}
	expiry := time.Unix(min(secs, 1<<40), 0).UTC()
	got, err := decodeSig(sig)
	if err != nil {
		return time.Time{}, fmt.Errorf("the SharedAccessSignature token's sig is not base64")
	}
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(sr + "\n" + se))
	if !hmac.Equal(mac.Sum(nil), got) {
		return time.Time{}, fmt.Errorf("the SharedAccessSignature token's signature does not match key %q", keyName)
	}
	if !now.Before(expiry) {
		return time.Time{}, fmt.Errorf("the SharedAccessSignature token expired at %s", expiry.Format(time.RFC3339))
	}
	resource, err := url.QueryUnescape(sr)
	if err != nil {
		return time.Time{}, fmt.Errorf("the SharedAccessSignature token's resource sr=%q is not url-encoded", sr)
	}
	scope := normalizePath(audiencePath(resourceURL(resource)))
	if !covers(scope, normalizePath(path)) {
		return time.Time{}, fmt.Errorf("the SharedAccessSignature token's resource %q does not cover the audience's entity %q", resource, path)
	}
	return expiry, nil
}

// resourceURL makes a resource without a scheme ("host/q", as a namespace
// token from a connection string has it) parse like an audience.
func resourceURL(r string) string {
	if strings.Contains(r, "://") {
		return r
	}
	return "sb://" + r
}

func decodeSig(sig string) ([]byte, error) {
	if s, err := url.QueryUnescape(sig); err == nil {
		sig = s
	}
	if b, err := base64.StdEncoding.DecodeString(sig); err == nil {
		return b, nil
	}
	b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(sig, "="))
	if err != nil {
		return nil, fmt.Errorf("servicebus: decode signature: %w", err)
	}
	return b, nil
}
