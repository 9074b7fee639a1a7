package queuestorage

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHgetIsHeaderGet checks that every key hget is given is canonical, so
// that it reads what Header.Get would.
func TestHgetIsHeaderGet(t *testing.T) {
	for _, k := range []string{"Content-Encoding", "Content-Language", "Content-Length", "Content-Md5", "Content-Type", "Date",
		"If-Modified-Since", "If-Match", "If-None-Match", "If-Unmodified-Since", "Range", "X-Ms-Version", "X-Ms-Client-Request-Id", "Origin"} {
		if c := http.CanonicalHeaderKey(k); c != k {
			t.Fatalf("%q is not canonical (%q)", k, c)
		}
		h := http.Header{}
		h.Set(strings.ToLower(k), "v")
		if hget(h, k) != h.Get(k) {
			t.Fatalf("hget(%q) = %q, Get %q", k, hget(h, k), h.Get(k))
		}
	}
}

// TestPrimaryStringToSign compares appendPrimary with stringsToSign[0] on
// requests shaped like the SDKs', and checks that it declines the
// requests where it could differ.
func TestPrimaryStringToSign(t *testing.T) {
	reqs := []*http.Request{
		newReq("POST", "/devstoreaccount1/q1/messages?visibilitytimeout=0&messagettl=-1", "<QueueMessage><MessageText>x</MessageText></QueueMessage>", "x-ms-client-request-id", "id1"),
		newReq("GET", "/devstoreaccount1/q1/messages?numofmessages=32&visibilitytimeout=300", ""),
		newReq("DELETE", "/devstoreaccount1/q1/messages/abc?popreceipt=AgAA%2B%2F%3D%3D", ""),
		newReq("GET", "/devstoreaccount1?comp=list&prefix=&include=metadata&Comp=x", "", "x-ms-meta-B", " b ", "Content-MD5", "md5", "Range", "bytes=0-1"),
		newReq("PUT", "/devstoreaccount1/q1?comp=metadata", "", "Content-Language", "en", "Content-Encoding", "gzip", "If-Match", "*", "Date", "Tue, 24 Nov 2026 06:47:14 GMT"),
	}
	for _, r := range reqs {
		r.Header.Add("x-ms-meta-multi", "1")
		r.Header.Add("x-ms-meta-multi", " 2 ")
		in := inputOf(r)
		sc := getScratch()
		s, ok := sc.appendPrimary(in, DevAccount)
		if !ok || string(s) != stringsToSign(in, DevAccount)[0] {
			t.Fatalf("%s %s: ok %v\n%q\nwant\n%q", r.Method, r.RequestURI, ok, s, stringsToSign(in, DevAccount)[0])
		}
		putScratch(sc)
	}
	r := newReq("GET", "/devstoreaccount1/q1/messages", "")
	r.Header["x-ms-a b"] = []string{"1"}
	r.Header["X-MS-A B"] = []string{"2"}
	sc := getScratch()
	defer putScratch(sc)
	if _, ok := sc.appendPrimary(inputOf(r), DevAccount); ok {
		t.Fatal("names equal but for case were not declined")
	}
	r = newReq("GET", "/devstoreaccount1/q1/messages", "")
	r.Header["X-Ms-\u00e9"] = []string{"1"}
	if _, ok := sc.appendPrimary(inputOf(r), DevAccount); ok {
		t.Fatal("a non-ASCII name was not declined")
	}
}

// TestSharedKeyVariantsStillAccepted signs with a variant other than the
// primary (the JS SDK's culture order, dropped empty parameters) and a
// second account key: the fallback must accept them.
func TestSharedKeyVariantsStillAccepted(t *testing.T) {
	key2 := base64.StdEncoding.EncodeToString([]byte("second-key"))
	fx := setup(t, func(c *Config) { c.Accounts = map[string]string{DevAccount: "c2Vjb25k," + key2} })
	fx.h.anon = false
	for _, variant := range []int{0, 1, 3} {
		r := newReq("GET", "/devstoreaccount1?comp=list&prefix=", "", "x-ms-meta-a_b", "1", "x-ms-meta-a1", "2")
		cands := stringsToSign(inputOf(r), DevAccount)
		if variant >= len(cands) {
			t.Fatalf("%d variants", len(cands))
		}
		raw, _ := base64.StdEncoding.DecodeString(key2)
		r.Header.Set("Authorization", "SharedKey devstoreaccount1:"+base64.StdEncoding.EncodeToString(sign(raw, cands[variant])))
		w := httptest.NewRecorder()
		fx.h.ServeHTTP(w, r)
		want(t, w, 200, "")
	}
	r := newReq("GET", "/devstoreaccount1?comp=list", "")
	r.Header.Set("Authorization", "SharedKey devstoreaccount1:"+base64.StdEncoding.EncodeToString(sign([]byte("wrong"), stringsToSign(inputOf(r), DevAccount)[0])))
	w := httptest.NewRecorder()
	fx.h.ServeHTTP(w, r)
	want(t, w, 403, "AuthenticationFailed")
	if !strings.Contains(w.Body.String(), "Server used following string to sign") {
		t.Fatalf("body %s", w.Body.String())
	}
}
