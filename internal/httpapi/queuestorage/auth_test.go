package queuestorage

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestCanonResource: §4.2 — path as sent (account twice with path-style),
// names lower-cased, values decoded ('+' is a space) and sorted, empty
// values kept or dropped.
func TestCanonResource(t *testing.T) {
	t.Parallel()
	got := canonResource("devstoreaccount1", "/devstoreaccount1/my%20q/messages", "popreceipt=a%2Bb%2F%3D&NumOfMessages=2&x=b&x=a&p=a+b&prefix=", true)
	want := "/devstoreaccount1/devstoreaccount1/my%20q/messages\nnumofmessages:2\np:a b\npopreceipt:a+b/=\nprefix:\nx:a,b"
	if got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	if got := canonResource("acct", "", "prefix=&comp=list", false); got != "/acct/\ncomp:list" {
		t.Fatalf("without empty: %q", got)
	}
	if got := canonResourceCase("acct", "/acct", "Comp=list&b=1", true, false); got != "/acct/acct\nComp:list\nb:1" {
		t.Fatalf("names as sent: %q", got)
	}
}

// TestHeaderOrders: the metadata names of §4.2's example (MyKey, a_b, a1)
// sort differently in the byte order and in the JS culture emulation.
func TestHeaderOrders(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	for _, k := range []string{"x-ms-meta-mykey", "x-ms-meta-a_b", "x-ms-meta-a1", "x-ms-date", "x-ms-version", "x-ms-client-request-id", "Content-Type"} {
		h[k] = []string{"v"}
	}
	names := func(order headerOrder) string {
		var out []string
		for _, line := range strings.Split(strings.TrimSpace(canonHeaders(h, order)), "\n") {
			out = append(out, strings.TrimSuffix(line, ":v"))
		}
		return strings.Join(out, " ")
	}
	if got := names(orderBytes); got != "x-ms-client-request-id x-ms-date x-ms-meta-a1 x-ms-meta-a_b x-ms-meta-mykey x-ms-version" {
		t.Errorf("byte order: %s", got)
	}
	if got := names(orderJSCulture); got != "x-ms-client-request-id x-ms-date x-ms-meta-a_b x-ms-meta-a1 x-ms-meta-mykey x-ms-version" {
		t.Errorf("JS order: %s", got)
	}
	if got := names(orderIgnoreSymbs); got != "x-ms-client-request-id x-ms-date x-ms-meta-a1 x-ms-meta-a_b x-ms-meta-mykey x-ms-version" {
		t.Errorf(".NET order: %s", got)
	}
}

// signWith signs s with the dev key.
func signWith(key []byte, s string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// TestSharedKeyVariants: a JS-ordered signature over metadata headers, the
// Content-Length 0 rule, and the failures of §4.2 and §5.2.
func TestSharedKeyVariants(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	r := newReq("PUT", "/devstoreaccount1/jsq?timeout=30", "", "x-ms-meta-mykey", "1", "x-ms-meta-a_b", "2", "x-ms-meta-a1", "3")
	s := "PUT\n\n\n\n\n\n\n\n\n\n\n\n" + "x-ms-date:" + r.Header.Get("x-ms-date") + "\nx-ms-meta-a_b:2\nx-ms-meta-a1:3\nx-ms-meta-mykey:1\nx-ms-version:2018-03-28\n" +
		"/devstoreaccount1/devstoreaccount1/jsq\ntimeout:30"
	r.Header.Set("Authorization", "SharedKey devstoreaccount1:"+signWith(devKey(), s))
	want(t, fx.serve(r), 201, "")

	// Go azqueue v1.0.0 signs a hand-added mixed-case parameter name as sent.
	r = newReq("GET", "/devstoreaccount1?comp=list&Tag=x", "")
	s = "GET\n\n\n\n\n\n\n\n\n\n\n\n" + "x-ms-date:" + r.Header.Get("x-ms-date") + "\nx-ms-version:2018-03-28\n" +
		"/devstoreaccount1/devstoreaccount1\nTag:x\ncomp:list"
	r.Header.Set("Authorization", "SharedKey devstoreaccount1:"+signWith(devKey(), s))
	want(t, fx.serve(r), 200, "")

	// Wrong key: 403 with the string the server signed.
	r = newReq("GET", "/devstoreaccount1?comp=list", "")
	r.Header.Set("Authorization", "SharedKey devstoreaccount1:"+testSignature([]byte("wrong"), DevAccount, r))
	w := fx.serve(r)
	want(t, w, 403, "AuthenticationFailed")
	if !strings.Contains(w.Body.String(), "<AuthenticationErrorDetail>The MAC signature found in the HTTP request") ||
		!strings.Contains(w.Body.String(), "Server used following string to sign: 'GET\n") {
		t.Fatalf("detail: %s", w.Body.String())
	}
	for _, c := range []struct{ auth, code string }{
		{"SharedKey devstoreaccount1", "InvalidAuthenticationInfo"},
		{"SharedKey devstoreaccount1:!!!", "InvalidAuthenticationInfo"},
		{"Basic abc", "InvalidAuthenticationInfo"},
		{"SharedKey other:" + base64.StdEncoding.EncodeToString([]byte("x")), "AuthenticationFailed"},
		{"Bearer x.y.z", "AuthenticationFailed"},
	} {
		r = newReq("GET", "/devstoreaccount1?comp=list", "")
		r.Header.Set("Authorization", c.auth)
		want(t, fx.serve(r), statusOf(c.code), c.code)
	}
	// No credentials.
	w = fx.serve(newReq("GET", "/devstoreaccount1?comp=list", ""))
	want(t, w, 401, "NoAuthenticationInformation")
	if w.Header().Get("WWW-Authenticate") == "" {
		t.Fatal("no WWW-Authenticate challenge")
	}
	anon := setup(t, func(c *Config) { c.AllowAnonymous = true })
	want(t, anon.serve(newReq("GET", "/devstoreaccount1?comp=list", "")), 200, "")
}

// TestSharedKeyLite: §4.3.
func TestSharedKeyLite(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	r := newReq("GET", "/devstoreaccount1?comp=list&prefix=a", "")
	s := "GET\n\n\n\nx-ms-date:" + r.Header.Get("x-ms-date") + "\nx-ms-version:2018-03-28\n/devstoreaccount1/devstoreaccount1?comp=list"
	r.Header.Set("Authorization", "SharedKeyLite devstoreaccount1:"+signWith(devKey(), s))
	want(t, fx.serve(r), 200, "")
}

// accountSAS builds an account SAS query (sv decides the layout).
func accountSAS(sv, sp, srt, st, se string) string {
	fields := []string{DevAccount, sp, "q", srt, st, se, "", "", sv}
	if sv >= "2020-12-06" {
		fields = append(fields, "")
	}
	sig := signWith(devKey(), strings.Join(fields, "\n")+"\n")
	v := url.Values{"sv": {sv}, "ss": {"q"}, "srt": {srt}, "sp": {sp}, "se": {se}, "sig": {sig}}
	if st != "" {
		v.Set("st", st)
	}
	return v.Encode()
}

// serviceSAS builds a queue SAS query.
func serviceSAS(queue, canonName, sp, st, se, si string) string {
	if canonName == "" {
		canonName = "/queue/" + DevAccount + "/" + queue
	}
	s := strings.Join([]string{sp, st, se, canonName, si, "", "https", "2020-02-10"}, "\n")
	v := url.Values{"sv": {"2020-02-10"}, "spr": {"https"}, "sig": {signWith(devKey(), s)}}
	for k, x := range map[string]string{"sp": sp, "st": st, "se": se, "si": si} {
		if x != "" {
			v.Set(k, x)
		}
	}
	return v.Encode()
}

// TestAccountSAS: both string-to-sign layouts, expiry, permissions and
// resource types (§4.4).
func TestAccountSAS(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	const future, past = "2030-01-01T00:00:00Z", "2026-01-01T00:00:00Z"
	for _, sv := range []string{"2020-02-10", "2026-06-06"} {
		want(t, fx.serve(newReq("GET", "/devstoreaccount1?comp=list&"+accountSAS(sv, "l", "s", "", future), "")), 200, "")
	}
	want(t, fx.serve(newReq("PUT", "/devstoreaccount1/sasq?"+accountSAS("2026-06-06", "c", "c", "2026-01-01", future), "")), 201, "")
	for _, c := range []struct {
		method, target, q string
		code              string
	}{
		{"GET", "/devstoreaccount1?comp=list", accountSAS("2026-06-06", "l", "s", "", past), "AuthenticationFailed"},
		{"GET", "/devstoreaccount1?comp=list", accountSAS("2026-06-06", "l", "s", "2029-01-01T00:00Z", future), "AuthenticationFailed"},
		{"GET", "/devstoreaccount1?comp=list", accountSAS("2026-06-06", "r", "s", "", future), "AuthorizationPermissionMismatch"},
		{"GET", "/devstoreaccount1?comp=list", accountSAS("2026-06-06", "l", "co", "", future), "AuthorizationResourceTypeMismatch"},
		{"POST", "/devstoreaccount1/sasq/messages", accountSAS("2026-06-06", "r", "o", "", future), "AuthorizationPermissionMismatch"},
		{"GET", "/devstoreaccount1/sasq?comp=acl", accountSAS("2026-06-06", "rwdlacup", "sco", "", future), "AuthorizationFailure"},
		{"GET", "/devstoreaccount1?comp=list", strings.Replace(accountSAS("2026-06-06", "l", "s", "", future), "sp=l", "sp=lr", 1), "AuthenticationFailed"},
	} {
		want(t, fx.serve(newReq(c.method, join(c.target, c.q), "<QueueMessage><MessageText>x</MessageText></QueueMessage>")), statusOf(c.code), c.code)
	}
	q := accountSAS("2026-06-06", "a", "o", "", future)
	want(t, fx.serve(newReq("POST", "/devstoreaccount1/sasq/messages?"+q, "<QueueMessage><MessageText>x</MessageText></QueueMessage>")), 201, "")
}

// TestServiceSAS: §4.5 — ad-hoc and stored-policy tokens, the doubled
// canonical name, operations a queue SAS can never authorise.
func TestServiceSAS(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.mustCreate("sq1")
	const future = "2030-01-01T00:00:00Z"
	acl := `<?xml version="1.0" encoding="UTF-8"?><SignedIdentifiers><SignedIdentifier><AccessPolicy><Permission>ra</Permission><Expiry>2030-01-01T00:00:00Z</Expiry><Start>2026-01-01T00:00:00Z</Start></AccessPolicy><Id>pol</Id></SignedIdentifier>` +
		`<SignedIdentifier><Id>old</Id><AccessPolicy><Expiry>2026-01-01T00:00:00Z</Expiry><Permission>raup</Permission></AccessPolicy></SignedIdentifier></SignedIdentifiers>`
	want(t, fx.do("PUT", "/devstoreaccount1/sq1?comp=acl", acl), 204, "")
	msg := "<QueueMessage><MessageText>x</MessageText></QueueMessage>"
	want(t, fx.serve(newReq("POST", "/devstoreaccount1/sq1/messages?"+serviceSAS("sq1", "", "a", "", future, ""), msg)), 201, "")
	want(t, fx.serve(newReq("POST", "/devstoreaccount1/sq1/messages?"+serviceSAS("sq1", "/queue/devstoreaccount1/devstoreaccount1/sq1", "a", "", future, ""), msg)), 201, "")
	want(t, fx.serve(newReq("POST", "/devstoreaccount1/sq1/messages?"+serviceSAS("sq1", "", "", "", "", "pol"), msg)), 201, "")
	want(t, fx.serve(newReq("GET", "/devstoreaccount1/sq1/messages?peekonly=true&"+serviceSAS("sq1", "", "", "", "", "pol"), "")), 200, "")
	for _, c := range []struct {
		method, target, q, code string
	}{
		{"GET", "/devstoreaccount1/sq1/messages", serviceSAS("sq1", "", "", "", "", "pol"), "AuthorizationPermissionMismatch"},
		{"GET", "/devstoreaccount1/sq1/messages", serviceSAS("sq1", "", "", "", "", "old"), "AuthenticationFailed"},
		{"GET", "/devstoreaccount1/sq1/messages", serviceSAS("sq1", "", "", "", "", "nope"), "AuthenticationFailed"},
		{"GET", "/devstoreaccount1/sq1/messages", serviceSAS("sq1", "", "p", "", "", "pol"), "AuthenticationFailed"},
		{"GET", "/devstoreaccount1/sq1?comp=metadata", serviceSAS("sq1", "", "a", "", future, ""), "AuthorizationPermissionMismatch"},
		{"PUT", "/devstoreaccount1/sq2", serviceSAS("sq2", "", "raup", "", future, ""), "AuthorizationFailure"},
		{"GET", "/devstoreaccount1/sq1?comp=acl", serviceSAS("sq1", "", "raup", "", future, ""), "AuthorizationFailure"},
		{"GET", "/devstoreaccount1/sq1/messages", serviceSAS("other", "", "p", "", future, ""), "AuthenticationFailed"},
		{"GET", "/devstoreaccount1/sq1/messages", serviceSAS("sq1", "", "p", "", "2026-01-01", ""), "AuthenticationFailed"},
	} {
		want(t, fx.serve(newReq(c.method, join(c.target, c.q), "")), statusOf(c.code), c.code)
	}
}

// TestACL: §2.8 — any child order, round trip in Azure's time format,
// limits, hidden from metadata, kept across Set Metadata.
func TestACL(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.mustCreate("aclq", "x-ms-meta-k", "v")
	w := fx.do("GET", "/devstoreaccount1/aclq?comp=acl", "")
	want(t, w, 200, "")
	if w.Body.String() != `<?xml version="1.0" encoding="utf-8"?><SignedIdentifiers></SignedIdentifiers>` {
		t.Fatalf("empty ACL: %s", w.Body.String())
	}
	want(t, fx.do("PUT", "/devstoreaccount1/aclq?comp=acl", `<SignedIdentifiers><SignedIdentifier><AccessPolicy><Permission>raup</Permission><Expiry>2049-06-11T20:00:00Z</Expiry><Start>2021-06-11T20:00:00Z</Start></AccessPolicy><Id>p1</Id></SignedIdentifier></SignedIdentifiers>`), 204, "")
	want(t, fx.do("PUT", "/devstoreaccount1/aclq?comp=metadata", "", "x-ms-meta-k", "w"), 204, "")
	w = fx.do("GET", "/devstoreaccount1/aclq?comp=acl", "")
	wantACL := `<?xml version="1.0" encoding="utf-8"?><SignedIdentifiers><SignedIdentifier><Id>p1</Id><AccessPolicy><Start>2021-06-11T20:00:00.0000000Z</Start><Expiry>2049-06-11T20:00:00.0000000Z</Expiry><Permission>raup</Permission></AccessPolicy></SignedIdentifier></SignedIdentifiers>`
	if w.Body.String() != wantACL {
		t.Fatalf("ACL:\n%s\nwant\n%s", w.Body.String(), wantACL)
	}
	w = fx.do("GET", "/devstoreaccount1/aclq?comp=metadata", "")
	for k := range w.Header() {
		if strings.Contains(k, "$") {
			t.Fatalf("reserved key leaks: %v", w.Header())
		}
	}
	six := "<SignedIdentifiers>" + strings.Repeat("<SignedIdentifier><Id>x</Id></SignedIdentifier>", 6) + "</SignedIdentifiers>"
	for _, body := range []string{six,
		"<SignedIdentifiers><SignedIdentifier><Id>" + strings.Repeat("i", 65) + "</Id></SignedIdentifier></SignedIdentifiers>",
		"<SignedIdentifiers><SignedIdentifier><Id>a</Id><AccessPolicy><Permission>rw</Permission></AccessPolicy></SignedIdentifier></SignedIdentifiers>",
		"<SignedIdentifiers><SignedIdentifier><Id>a</Id><AccessPolicy><Start>soon</Start></AccessPolicy></SignedIdentifier></SignedIdentifiers>",
		"<SignedIdentifiers>",
	} {
		want(t, fx.do("PUT", "/devstoreaccount1/aclq?comp=acl", body), 400, "InvalidXmlDocument")
	}
	// Start may be missing; an empty document clears.
	want(t, fx.do("PUT", "/devstoreaccount1/aclq?comp=acl", "<SignedIdentifiers><SignedIdentifier><Id>a</Id><AccessPolicy><Expiry>2049-06-11T20:00:00.0000000Z</Expiry><Permission>r</Permission></AccessPolicy></SignedIdentifier></SignedIdentifiers>"), 204, "")
	want(t, fx.do("PUT", "/devstoreaccount1/aclq?comp=acl", "<SignedIdentifiers></SignedIdentifiers>"), 204, "")
	w = fx.do("GET", "/devstoreaccount1/aclq?comp=acl", "")
	if !strings.HasSuffix(w.Body.String(), "<SignedIdentifiers></SignedIdentifiers>") {
		t.Fatalf("cleared ACL: %s", w.Body.String())
	}
	if meta(fx.do("GET", "/devstoreaccount1/aclq?comp=metadata", ""), "k") != "w" {
		t.Fatal("Set ACL lost the metadata")
	}
}

// TestServiceProperties: defaults, partial set (202), persistence in
// StateDir, stats, CORS validation.
func TestServiceProperties(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fx := setup(t, func(c *Config) { c.StateDir = dir })
	w := fx.do("GET", "/devstoreaccount1?restype=service&comp=properties", "")
	want(t, w, 200, "")
	def := `<?xml version="1.0" encoding="utf-8"?><StorageServiceProperties><Logging><Version>1.0</Version><Delete>false</Delete><Read>false</Read><Write>false</Write><RetentionPolicy><Enabled>false</Enabled></RetentionPolicy></Logging>` +
		`<HourMetrics><Version>1.0</Version><Enabled>false</Enabled><RetentionPolicy><Enabled>false</Enabled></RetentionPolicy></HourMetrics><MinuteMetrics><Version>1.0</Version><Enabled>false</Enabled><RetentionPolicy><Enabled>false</Enabled></RetentionPolicy></MinuteMetrics><Cors></Cors></StorageServiceProperties>`
	if w.Body.String() != def {
		t.Fatalf("defaults:\n%s\nwant\n%s", w.Body.String(), def)
	}
	cors := `<StorageServiceProperties><Cors><CorsRule><AllowedOrigins>http://app.example</AllowedOrigins><AllowedMethods>GET,PUT,POST,DELETE</AllowedMethods><MaxAgeInSeconds>60</MaxAgeInSeconds><ExposedHeaders>x-ms-*</ExposedHeaders><AllowedHeaders>x-ms-meta-*,content-type,x-ms-version</AllowedHeaders></CorsRule></Cors></StorageServiceProperties>`
	want(t, fx.do("PUT", "/devstoreaccount1?restype=service&comp=properties", cors), 202, "")
	fresh := setup(t, func(c *Config) { c.StateDir = dir })
	w = fresh.do("GET", "/devstoreaccount1?restype=service&comp=properties", "")
	if !strings.Contains(w.Body.String(), "<Logging><Version>1.0</Version>") || !strings.Contains(w.Body.String(), "<AllowedOrigins>http://app.example</AllowedOrigins>") {
		t.Fatalf("not kept across restarts: %s", w.Body.String())
	}
	tooMany := "<StorageServiceProperties><Cors>" + strings.Repeat("<CorsRule><AllowedOrigins>*</AllowedOrigins><AllowedMethods>GET</AllowedMethods></CorsRule>", 6) + "</Cors></StorageServiceProperties>"
	for _, body := range []string{tooMany, "<StorageServiceProperties><Cors><CorsRule><AllowedOrigins>*</AllowedOrigins><AllowedMethods>FETCH</AllowedMethods></CorsRule></Cors></StorageServiceProperties>", "<nope"} {
		want(t, fx.do("PUT", "/devstoreaccount1?restype=service&comp=properties", body), 400, "InvalidXmlDocument")
	}
	w = fx.do("GET", "/devstoreaccount1?restype=service&comp=stats", "")
	if w.Body.String() != `<?xml version="1.0" encoding="utf-8"?><StorageServiceStats><GeoReplication><Status>live</Status><LastSyncTime>Tue, 24 Nov 2026 06:47:14 GMT</LastSyncTime></GeoReplication></StorageServiceStats>` {
		t.Fatalf("stats: %s", w.Body.String())
	}
}

// TestCORS: preflight without rules, with a matching and a refusing rule;
// headers on actual requests (§2.15).
func TestCORS(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	pre := func(origin, method, headers string) *httptest.ResponseRecorder {
		r := newReq("OPTIONS", "/devstoreaccount1/corsq/messages", "")
		r.Header.Del("x-ms-date")
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		if method != "" {
			r.Header.Set("Access-Control-Request-Method", method)
		}
		if headers != "" {
			r.Header.Set("Access-Control-Request-Headers", headers)
		}
		return fx.serve(r)
	}
	want(t, pre("http://app.example", "POST", ""), 403, "CorsPreflightFailure")
	want(t, fx.do("PUT", "/devstoreaccount1?restype=service&comp=properties",
		`<StorageServiceProperties><Cors><CorsRule><AllowedOrigins>http://app.example</AllowedOrigins><AllowedMethods>GET,POST</AllowedMethods><MaxAgeInSeconds>60</MaxAgeInSeconds><ExposedHeaders>x-ms-request-id</ExposedHeaders><AllowedHeaders>x-ms-meta-*,content-type,x-ms-version,x-ms-date,authorization</AllowedHeaders></CorsRule></Cors></StorageServiceProperties>`), 202, "")
	w := pre("http://app.example", "POST", "content-type,x-ms-meta-abc,x-ms-version")
	want(t, w, 200, "")
	h := w.Header()
	if h.Get("Access-Control-Allow-Origin") != "http://app.example" || h.Get("Access-Control-Allow-Methods") != "POST" ||
		h.Get("Access-Control-Allow-Headers") != "content-type,x-ms-meta-abc,x-ms-version" || h.Get("Access-Control-Max-Age") != "60" ||
		h.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("preflight headers %v", h)
	}
	want(t, pre("http://evil.example", "POST", ""), 403, "CorsPreflightFailure")
	want(t, pre("http://app.example", "DELETE", ""), 403, "CorsPreflightFailure")
	want(t, pre("http://app.example", "POST", "x-custom"), 403, "CorsPreflightFailure")
	want(t, pre("", "POST", ""), 400, "InvalidHeaderValue")
	w = fx.do("GET", "/devstoreaccount1?comp=list", "", "Origin", "http://app.example")
	if w.Header().Get("Access-Control-Allow-Origin") != "http://app.example" || w.Header().Get("Access-Control-Expose-Headers") != "x-ms-request-id" {
		t.Fatalf("actual request headers %v", w.Header())
	}
	w = fx.do("GET", "/devstoreaccount1?comp=list", "", "Origin", "http://evil.example")
	if w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("CORS headers for a foreign origin")
	}
}

// join appends a query to a target that may already have one.
func join(target, q string) string {
	if strings.Contains(target, "?") {
		return target + "&" + q
	}
	return target + "?" + q
}
