package queuestorage

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeMessage feeds Put/Update bodies to the decoder and through the
// handler. Seeds (testdata/fuzz/FuzzDecodeMessage) are bodies the Go and JS
// SDKs sent, plus entity and declaration variants.
//
// Properties: no panic; whenever the hand-written reader takes a body,
// encoding/xml accepts it too and decodes the same text (decodeBoth), and
// decodeMessage answers exactly as encoding/xml does; a decoded text
// re-encoded by the Go SDK's escaping decodes to the same text; the handler
// answers 201 or a 4xx Azure error, never 5xx, and a 4xx changes nothing.
func FuzzDecodeMessage(f *testing.F) {
	for _, s := range []string{
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<QueueMessage><MessageText>hello</MessageText></QueueMessage>",
		`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><QueueMessage><MessageText>  spaced  </MessageText></QueueMessage>`,
		`<QueueMessage><MessageText>a&#xA;b &#34;q&#34; &lt;&amp;&gt;</MessageText></QueueMessage>`,
		`<QueueMessage><MessageText></MessageText></QueueMessage>`,
		`<QueueMessage><MessageText><![CDATA[<raw>]]></MessageText><Extra/></QueueMessage>`,
		`<QueueMessage/>`,
		`<!DOCTYPE q [<!ENTITY x "y">]><QueueMessage><MessageText>&x;</MessageText></QueueMessage>`,
		"<?xml version='1.0' encoding='utf-8'?>\n<QueueMessage>\n  <MessageText>&#x1F600;&#233;&apos;]]&gt;</MessageText>\n</QueueMessage>\n",
		"<QueueMessage><MessageText>cr\r\nlf &#13; &#xD800; &#0000000065;</MessageText></QueueMessage>",
	} {
		f.Add([]byte(s))
	}
	fx := setup(&testing.T{})
	fx.mustCreate("fuzzq")
	f.Fuzz(func(t *testing.T, body []byte) {
		decodeBoth(t, body)
		text, err := decodeMessage(body)
		if err == nil && utf8.Valid(text) && !bytes.ContainsAny(text, "\x00\r\ufffe\uffff") && validXMLChars(text) {
			var b bytes.Buffer
			b.WriteString("<QueueMessage><MessageText>")
			_ = xml.EscapeText(&b, text)
			b.WriteString("</MessageText></QueueMessage>")
			again, err := decodeMessage(b.Bytes())
			if err != nil || !bytes.Equal(again, text) {
				t.Fatalf("round trip of %q: %q, %v", text, again, err)
			}
		}
		fx.t = t
		before := fx.eng.calls
		w := fx.do("POST", "/devstoreaccount1/fuzzq/messages", string(body))
		switch {
		case w.Code == 201:
		case w.Code >= 400 && w.Code < 500 && w.Header().Get("x-ms-error-code") != "":
			if fx.eng.calls != before {
				t.Fatalf("a %d changed state", w.Code)
			}
		default:
			t.Fatalf("status %d for %q: %s", w.Code, body, w.Body.String())
		}
		if w.Code == 201 {
			want(t, fx.do("DELETE", "/devstoreaccount1/fuzzq/messages", ""), 204, "")
		}
	})
}

// validXMLChars reports whether every rune may appear in XML 1.0 text.
func validXMLChars(b []byte) bool {
	for _, r := range string(b) {
		if !(r == 0x09 || r == 0x0A || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF) {
			return false
		}
	}
	return true
}

// FuzzDecodeACL feeds Set ACL bodies. Properties: no panic; an accepted
// document has at most 5 identifiers of 1–64 characters with permissions
// in raup, and what Get ACL renders decodes to the same identifiers.
func FuzzDecodeACL(f *testing.F) {
	for _, s := range []string{
		`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<SignedIdentifiers><SignedIdentifier><AccessPolicy><Expiry>2049-06-11T20:00:00Z</Expiry><Permission>raup</Permission><Start>2021-06-11T20:00:00Z</Start></AccessPolicy><Id>policy</Id></SignedIdentifier></SignedIdentifiers>`,
		`<SignedIdentifiers></SignedIdentifiers>`,
		`<SignedIdentifiers><SignedIdentifier><Id>a</Id><AccessPolicy><Start></Start><Expiry>2030-01-01T00:00:00.0000000Z</Expiry><Permission>r</Permission></AccessPolicy></SignedIdentifier></SignedIdentifiers>`,
		`<SignedIdentifiers><SignedIdentifier><Id>a</Id></SignedIdentifier><SignedIdentifier><Id>a</Id></SignedIdentifier></SignedIdentifiers>`,
		`<SignedIdentifiers><SignedIdentifier><Id>x</Id><AccessPolicy><Start>2030-01-01</Start></AccessPolicy></SignedIdentifier></SignedIdentifiers>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		items, err := decodeACLBody(body)
		if err != nil {
			return
		}
		if len(items) > 5 {
			t.Fatalf("%d identifiers accepted", len(items))
		}
		for _, s := range items {
			if s.ID == "" || len(s.ID) > 64 {
				t.Fatalf("id %q accepted", s.ID)
			}
			if s.Policy != nil && strings.Trim(s.Policy.Permission, "raup") != "" {
				t.Fatalf("permission %q accepted", s.Policy.Permission)
			}
		}
		out := marshalDoc(signedIdentifiers{Items: decodeACL(map[string]string{aclKey: encodeACL(items)})})
		again, err := decodeACLBody(out)
		if err != nil || len(again) != len(items) {
			t.Fatalf("re-decoding %s: %v", out, err)
		}
		for i := range items {
			a, b := items[i], again[i]
			if a.ID != b.ID || (a.Policy == nil) != (b.Policy == nil) || a.Policy != nil && *a.Policy != *b.Policy {
				t.Fatalf("round trip %+v → %+v", a, b)
			}
		}
	})
}

// FuzzSharedKey canonicalises arbitrary requests. Seeds are request shapes
// the Go and JS SDKs sent. Properties: no panic; the pooled fast
// string-to-sign (appendPrimary), when it takes the request, is exactly
// stringsToSign's first; a request signed with the server's own first
// string-to-sign is authenticated by the handler, and a signature over
// anything else is 403 AuthenticationFailed.
func FuzzSharedKey(f *testing.F) {
	f.Add("GET", "/devstoreaccount1", "comp=list&include=metadata&maxresults=2&prefix=", "x-ms-client-request-id", "1", "")
	f.Add("PUT", "/devstoreaccount1/q1", "timeout=30", "x-ms-meta-a_b", "v", "")
	f.Add("PUT", "/devstoreaccount1/q1/messages/a1b2", "popreceipt=pr1%2B%2F%3D&visibilitytimeout=0", "x-ms-meta-MyKey", "x", "application/xml")
	f.Add("POST", "/devstoreaccount1/my%20q/messages", "messagettl=-1&visibilitytimeout=5", "Content-Language", "en", "text/plain")
	f.Add("DELETE", "/devstoreaccount1/q1/messages", "a=1&A=2&b=+", "x-ms-date", "Tue, 24 Nov 2026 06:47:14 GMT", "")
	fx := setup(&testing.T{}, func(c *Config) { c.AllowAnonymous = false })
	f.Fuzz(func(t *testing.T, method, path, rawQuery, hname, hvalue, ctype string) {
		if method == "" || strings.ContainsAny(method, " \t\r\n") || !strings.HasPrefix(path, "/") {
			return
		}
		u, err := url.Parse(path + "?" + rawQuery)
		if err != nil || u.Path == "" {
			return
		}
		r := &http.Request{Method: method, URL: u, RequestURI: u.RequestURI(), Header: http.Header{}, Host: "127.0.0.1", Body: http.NoBody}
		r.Header.Set("x-ms-version", "2018-03-28")
		if hname != "" && validHeader(hname, hvalue) {
			r.Header.Set(hname, hvalue)
		}
		if ctype != "" && validHeader("Content-Type", ctype) {
			r.Header.Set("Content-Type", ctype)
		}
		in := inputOf(r)
		candidates := stringsToSign(in, DevAccount)
		if len(candidates) == 0 {
			t.Fatal("no string to sign")
		}
		_ = stringToSignLite(in, DevAccount)
		sc := getScratch()
		if s, ok := sc.appendPrimary(in, DevAccount); ok && string(s) != candidates[0] {
			t.Fatalf("primary string to sign\n%q\nstringsToSign[0]\n%q", s, candidates[0])
		}
		putScratch(sc)
		q := &request{r: r, account: DevAccount}
		r.Header.Set("Authorization", "SharedKey devstoreaccount1:"+base64.StdEncoding.EncodeToString(sign(devKey(), candidates[0])))
		if err := fx.h.sharedKey(q, false, strings.TrimPrefix(r.Header.Get("Authorization"), "SharedKey ")); err != nil {
			t.Fatalf("own signature rejected: %v", err)
		}
		bad := base64.StdEncoding.EncodeToString(sign(devKey(), candidates[0]+"x"))
		if err := fx.h.sharedKey(q, false, "devstoreaccount1:"+bad); err == nil {
			t.Fatal("a signature over another string was accepted")
		}
		w := httptest.NewRecorder()
		fx.h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("status %d: %s", w.Code, w.Body.String())
		}
	})
}

func validHeader(name, value string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return name != ""
}
