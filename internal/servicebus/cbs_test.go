package servicebus

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/broker/brokertest"
	"github.com/batonmq/baton/internal/clock"
)

// sasToken signs resource as the SDKs do: Go lower-cases the escaped
// resource, JS keeps its case.
func sasToken(resource, keyName, key string, expiry time.Time, lower bool) string {
	sr := url.QueryEscape(resource)
	if lower {
		sr = strings.ToLower(sr)
	}
	se := strconv.FormatInt(expiry.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(sr + "\n" + se))
	sig := url.QueryEscape(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return "SharedAccessSignature sr=" + sr + "&sig=" + sig + "&se=" + se + "&skn=" + keyName
}

func putToken(audience, typ string, token any) *Request {
	return &Request{
		Operation: "put-token",
		ApplicationProperties: encoding.Map{
			{Key: "operation", Value: "put-token"},
			{Key: "type", Value: typ},
			{Key: "name", Value: audience},
			{Key: "expiration", Value: "1767225600"},
		},
		Body: token,
	}
}

func cbsEnv(t *testing.T, keys map[string]string) (*env, *CBS) {
	t.Helper()
	e := setup(t)
	e.Queue("orders", broker.QueueProperties{})
	return e, NewCBS(CBSConfig{Keys: keys, Clock: e.Clock, Broker: e.Broker})
}

func wantAccepted(t *testing.T, resp *Response) {
	t.Helper()
	if resp.StatusCode != StatusAccepted || resp.ErrorCondition != "" {
		t.Fatalf("put-token: %d %s %s", resp.StatusCode, resp.ErrorCondition, resp.StatusDescription)
	}
	goResponse(t, resp)
}

func TestCBSAcceptsEverythingWithoutKeys(t *testing.T) {
	t.Parallel()
	e, c := cbsEnv(t, nil)
	wantAccepted(t, c.PutToken(putToken("amqp://localhost:5672/orders", TokenTypeSAS, "SharedAccessSignature junk")))
	wantAccepted(t, c.PutToken(putToken("sb://localhost/orders/$management", TokenTypeJWT, "eyJ...")))
	if !c.Authorized("anything", e.Clock.Now()) {
		t.Fatal("not authorized without keys")
	}
	// Missing entities are still 404, the way Go gets CodeNotFound.
	resp := c.PutToken(putToken("amqp://localhost:5672/nope", TokenTypeSAS, "x"))
	wantError(t, resp, StatusNotFound, condNotFound)
	if resp.StatusDescription != "The messaging entity 'nope' could not be found." {
		t.Fatalf("description %q", resp.StatusDescription)
	}
}

func TestCBSVerifiesSAS(t *testing.T) {
	t.Parallel()
	keys := map[string]string{"RootManageSharedAccessKey": "secret-key", "other": "k2"}
	e, c := cbsEnv(t, keys)
	now := e.Clock.Now()
	exp := now.Add(time.Hour)
	for _, tc := range []struct {
		name, audience, resource string
		lower                    bool
	}{
		{"go entity", "amqp://localhost:5672/orders", "amqp://localhost:5672/orders", true},
		{"go management", "amqps://localhost/orders/$management", "amqps://localhost/orders/$management", true},
		{"js entity", "sb://localhost:5672/Orders", "sb://localhost:5672/Orders", false},
		{"namespace token", "amqp://localhost:5672/orders/$management", "localhost:5672", true},
		{"dlq", "amqp://localhost:5672/orders/$DeadLetterQueue/$management", "amqp://localhost:5672/orders", true},
		{"other host", "amqp://127.0.0.1:5672/orders", "sb://myns.servicebus.windows.net/orders", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantAccepted(t, c.PutToken(putToken(tc.audience, TokenTypeSAS, sasToken(tc.resource, "RootManageSharedAccessKey", "secret-key", exp, tc.lower))))
		})
	}
	bad := []struct {
		name, audience, token string
		status                int32
		cond                  string
		desc                  string
	}{
		{"wrong key", "amqp://h/orders", sasToken("amqp://h/orders", "RootManageSharedAccessKey", "wrong", exp, true), StatusUnauthorized, "amqp:unauthorized-access", "signature"},
		{"unknown key name", "amqp://h/orders", sasToken("amqp://h/orders", "nobody", "secret-key", exp, true), StatusUnauthorized, "amqp:unauthorized-access", "unknown key"},
		{"expired", "amqp://h/orders", sasToken("amqp://h/orders", "other", "k2", now.Add(-time.Second), true), StatusUnauthorized, "amqp:unauthorized-access", "expired"},
		{"other entity", "amqp://h/orders", sasToken("amqp://h/invoices", "other", "k2", exp, true), StatusUnauthorized, "amqp:unauthorized-access", "does not cover"},
		{"prefix is not a path", "amqp://h/orders", sasToken("amqp://h/ord", "other", "k2", exp, true), StatusUnauthorized, "amqp:unauthorized-access", "does not cover"},
		{"not SAS", "amqp://h/orders", "Bearer x", StatusUnauthorized, "amqp:unauthorized-access", "not a SharedAccessSignature"},
		{"missing field", "amqp://h/orders", "SharedAccessSignature sr=a&sig=b&skn=c", StatusUnauthorized, "amqp:unauthorized-access", "lacks"},
		{"bad se", "amqp://h/orders", "SharedAccessSignature sr=a&sig=b&se=soon&skn=other", StatusUnauthorized, "amqp:unauthorized-access", "Unix time"},
		{"bad sig", "amqp://h/orders", "SharedAccessSignature sr=a&sig=%%%&se=99999999999&skn=other", StatusUnauthorized, "amqp:unauthorized-access", "base64"},
		{"tampered se", "amqp://h/orders", strings.Replace(sasToken("amqp://h/orders", "other", "k2", exp, true), "&se=", "&se=1", 1), StatusUnauthorized, "amqp:unauthorized-access", "signature"},
		{"missing entity", "amqp://h/nope", sasToken("amqp://h/nope", "other", "k2", exp, true), StatusNotFound, condNotFound, "could not be found"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			resp := c.PutToken(putToken(tc.audience, TokenTypeSAS, tc.token))
			wantError(t, resp, tc.status, tc.cond)
			if !strings.Contains(resp.StatusDescription, tc.desc) {
				t.Fatalf("description %q does not mention %q", resp.StatusDescription, tc.desc)
			}
		})
	}
	// JWT cannot be verified against SAS keys.
	wantError(t, c.PutToken(putToken("amqp://h/orders", TokenTypeJWT, "eyJ")), StatusUnauthorized, "amqp:unauthorized-access")
	// An unauthenticated client does not learn whether an entity exists.
	wantError(t, c.PutToken(putToken("amqp://h/nope", TokenTypeSAS, "x")), StatusUnauthorized, "amqp:unauthorized-access")
}

func TestCBSAuthorized(t *testing.T) {
	t.Parallel()
	e, c := cbsEnv(t, map[string]string{"k": "v"})
	e.Queue("other", broker.QueueProperties{})
	now := e.Clock.Now()
	if c.Authorized("orders", now) {
		t.Fatal("authorized before any put-token")
	}
	wantAccepted(t, c.PutToken(putToken("amqp://h/orders", TokenTypeSAS, sasToken("amqp://h/orders", "k", "v", now.Add(10*time.Minute), true))))
	for path, want := range map[string]bool{
		"orders": true, "ORDERS": true, "orders/$management": true, "orders/$DeadLetterQueue": true,
		"/orders/": true, "other": false, "orders2": false, "": false,
	} {
		if got := c.Authorized(path, now); got != want {
			t.Errorf("Authorized(%q) = %v, want %v", path, got, want)
		}
	}
	// The claim ends with the token; a renewal with a later se extends it.
	if c.Authorized("orders", now.Add(10*time.Minute)) {
		t.Fatal("authorized after the token expired")
	}
	e.Advance(5 * time.Minute)
	wantAccepted(t, c.PutToken(putToken("amqp://h/orders", TokenTypeSAS, sasToken("amqp://h/orders", "k", "v", now.Add(20*time.Minute), true))))
	if !c.Authorized("orders/$management", now.Add(15*time.Minute)) {
		t.Fatal("the renewed claim does not count")
	}
	// A namespace token covers every entity.
	wantAccepted(t, c.PutToken(putToken("amqp://h/other", TokenTypeSAS, sasToken("h", "k", "v", now.Add(time.Hour), true))))
	if !c.Authorized("other", now.Add(30*time.Minute)) {
		t.Fatal("namespace claim not recorded for its audience")
	}
	// Claims compare without case, as entity paths do.
	c3 := NewCBS(CBSConfig{Keys: map[string]string{"k": "v"}, Clock: e.Clock})
	wantAccepted(t, c3.PutToken(putToken("sb://h/Other/$DeadLetterQueue", TokenTypeSAS, sasToken("sb://h/Other", "k", "v", now.Add(time.Hour), false))))
	if !c3.Authorized("other/$deadletterqueue", now) || !c3.Authorized("OTHER/$DeadLetterQueue/$management", now) || c3.Authorized("other", now) {
		t.Fatal("a mixed-case claim does not count, or counts too widely")
	}
	// Claims are per CBS (per connection).
	c2 := NewCBS(CBSConfig{Keys: map[string]string{"k": "v"}, Clock: e.Clock})
	if c2.Authorized("orders", now) {
		t.Fatal("a claim leaked to another connection")
	}
}

func TestCBSMalformed(t *testing.T) {
	t.Parallel()
	_, c := cbsEnv(t, nil)
	for _, tc := range []struct {
		name   string
		req    *Request
		status int32
		cond   string
	}{
		{"other operation", &Request{Operation: "delete-token"}, StatusNotImplemented, condNotImpl},
		{"no audience", &Request{Operation: "put-token", ApplicationProperties: encoding.Map{{Key: "type", Value: TokenTypeSAS}}, Body: "t"}, StatusBadRequest, condArgument},
		{"audience int", &Request{Operation: "put-token", ApplicationProperties: encoding.Map{{Key: "type", Value: TokenTypeSAS}, {Key: "name", Value: int32(1)}}, Body: "t"}, StatusBadRequest, condArgument},
		{"type int", &Request{Operation: "put-token", ApplicationProperties: encoding.Map{{Key: "type", Value: int32(1)}, {Key: "name", Value: "amqp://h/orders"}}, Body: "t"}, StatusBadRequest, condArgument},
		{"unknown type", putToken("amqp://h/orders", "kerberos", "t"), StatusBadRequest, condArgument},
		{"binary token", putToken("amqp://h/orders", TokenTypeSAS, []byte("t")), StatusBadRequest, condArgument},
		{"no token", putToken("amqp://h/orders", TokenTypeSAS, nil), StatusBadRequest, condArgument},
	} {
		t.Run(tc.name, func(t *testing.T) { wantError(t, c.PutToken(tc.req), tc.status, tc.cond) })
	}
	// Symbol keys and values are accepted.
	wantAccepted(t, c.PutToken(&Request{Operation: "put-token", Body: "t", ApplicationProperties: encoding.Map{
		{Key: encoding.Symbol("type"), Value: encoding.Symbol(TokenTypeSAS)}, {Key: encoding.Symbol("name"), Value: "amqp://h/orders"}}}))
	// A namespace audience needs no entity.
	wantAccepted(t, c.PutToken(putToken("amqp://localhost:5672/", TokenTypeSAS, "t")))
	wantAccepted(t, c.PutToken(putToken("localhost", TokenTypeSAS, "t")))
}

func TestAudiencePath(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"amqp://localhost:5672/orders":                    "orders",
		"amqps://ns.servicebus.windows.net/q/$management": "q/$management",
		"sb://localhost:5672/t/Subscriptions/s/":          "t/Subscriptions/s",
		"localhost:5672/q":                                "q",
		"localhost":                                       "",
		"amqp://h/q?x=1":                                  "q",
		"":                                                "",
	} {
		if got := audiencePath(in); got != want {
			t.Errorf("audiencePath(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"q": "q", "q/$management": "q", "q/$DeadLetterQueue/$management": "q",
		"q/$Transfer/$DeadLetterQueue": "q", "t/Subscriptions/s/$management": "t/Subscriptions/s",
	} {
		if got := entityName(in); got != want {
			t.Errorf("entityName(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzPutToken feeds arbitrary tokens and audiences to a CBS with keys.
func FuzzPutToken(f *testing.F) {
	exp := time.Unix(1<<33, 0)
	for _, s := range []string{
		sasToken("amqp://h/orders", "k", "v", exp, true),
		sasToken("h", "k", "v", exp, false),
		"SharedAccessSignature sr=&sig=&se=&skn=",
		"SharedAccessSignature sr=a%zz&sig=%%&se=-1&skn=%",
		"",
	} {
		f.Add("amqp://h/orders", s)
		f.Add("sb://h/orders/$DeadLetterQueue/$management", s)
	}
	f.Fuzz(func(t *testing.T, audience, token string) {
		c := NewCBS(CBSConfig{Keys: map[string]string{"k": "v"}, Clock: clock.NewFake(brokertest.Epoch)})
		resp := c.PutToken(putToken(audience, TokenTypeSAS, token))
		switch resp.StatusCode {
		case StatusAccepted:
			if !c.Authorized(audiencePath(audience), brokertest.Epoch) {
				t.Fatal("accepted but not authorized")
			}
		case StatusUnauthorized, StatusBadRequest:
			if resp.ErrorCondition == "" || resp.StatusDescription == "" {
				t.Fatalf("malformed error %+v", resp)
			}
		default:
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
}
