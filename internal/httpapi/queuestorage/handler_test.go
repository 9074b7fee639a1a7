package queuestorage

import (
	"encoding/xml"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

// TestErrorTable: every broker code maps to an Azure code, every row has a
// status and message, and codes are spelled as Azure spells them.
func TestErrorTable(t *testing.T) {
	t.Parallel()
	for c := broker.CodeUnknown; c <= broker.CodeTimeout; c++ {
		e := fromBroker(&broker.Error{Code: c, Message: "x"}, false)
		if e.code == "" || statusOf(e.code) < 400 {
			t.Errorf("broker code %v maps to %q (%d)", c, e.code, statusOf(e.code))
		}
	}
	seen := map[string]bool{}
	for _, s := range errorTable {
		if s.status < 400 || s.message == "" || !regexp.MustCompile(`^[A-Z][A-Za-z]+$`).MatchString(s.code) {
			t.Errorf("bad row %+v", s)
		}
		if seen[s.code] && s.broker == broker.CodeUnknown {
			t.Errorf("code %s listed twice", s.code)
		}
		seen[s.code] = true
	}
	if e := fromBroker(&broker.Error{Code: broker.CodeInvalidArgument}, true); e.code != "PopReceiptMismatch" {
		t.Errorf("malformed receipt maps to %s", e.code)
	}
}

// TestErrorShape: §5.1 — header, XML body with Code, Message with
// RequestId and Time, detail elements; HEAD without a body.
func TestErrorShape(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	w := fx.do("GET", "/devstoreaccount1/missing?comp=metadata", "")
	want(t, w, 404, "QueueNotFound")
	body := w.Body.String()
	re := regexp.MustCompile(`^<\?xml version="1.0" encoding="utf-8"\?><Error><Code>QueueNotFound</Code><Message>The specified queue does not exist.\nRequestId:` +
		w.Header().Get("x-ms-request-id") + `\nTime:2026-11-24T06:47:14.0000000Z</Message></Error>$`)
	if !re.MatchString(body) {
		t.Fatalf("error body %s", body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/xml" {
		t.Fatalf("Content-Type %q", ct)
	}
	w = fx.do("HEAD", "/devstoreaccount1/missing?comp=metadata", "")
	want(t, w, 404, "QueueNotFound")
	if w.Body.Len() != 0 {
		t.Fatal("HEAD error has a body")
	}
	w = fx.do("GET", "/devstoreaccount1/qu1/messages?numofmessages=33", "")
	want(t, w, 400, "OutOfRangeQueryParameterValue")
	if !strings.Contains(w.Body.String(), "<QueryParameterName>numofmessages</QueryParameterName><QueryParameterValue>33</QueryParameterValue><MinimumAllowed>1</MinimumAllowed><MaximumAllowed>32</MaximumAllowed>") {
		t.Fatalf("details: %s", w.Body.String())
	}
}

// TestCommonHeaders: request id, version echo (any version), client
// request id echo.
func TestCommonHeaders(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	w := fx.do("GET", "/devstoreaccount1?comp=list", "", "x-ms-version", "2099-01-01", "x-ms-client-request-id", "abc")
	want(t, w, 200, "")
	if w.Header().Get("x-ms-version") != "2099-01-01" || w.Header().Get("x-ms-client-request-id") != "abc" {
		t.Fatalf("headers %v", w.Header())
	}
	w2 := fx.do("GET", "/devstoreaccount1/?comp=list", "")
	want(t, w2, 200, "")
	if w.Header().Get("x-ms-request-id") == w2.Header().Get("x-ms-request-id") {
		t.Fatal("request ids repeat")
	}
}

// TestRouting: unknown account, unknown routes and verbs.
func TestRouting(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	for _, c := range []struct {
		method, target string
		status         int
		code           string
	}{
		{"GET", "/nobody?comp=list", 404, "ResourceNotFound"},
		{"GET", "/devstoreaccount1", 400, "InvalidUri"},
		{"POST", "/devstoreaccount1?comp=list", 405, "UnsupportedHttpVerb"},
		{"POST", "/devstoreaccount1/qu1", 405, "UnsupportedHttpVerb"},
		{"GET", "/devstoreaccount1/qu1/other", 400, "InvalidUri"},
		{"GET", "/devstoreaccount1/qu1?comp=bogus", 400, "InvalidQueryParameterValue"},
		{"PATCH", "/devstoreaccount1/qu1/messages/x?popreceipt=a", 405, "UnsupportedHttpVerb"},
	} {
		want(t, fx.do(c.method, c.target, ""), c.status, c.code)
	}
}

// TestQueueNames: §3.4 — length → OutOfRangeInput, characters →
// InvalidResourceName; nothing is created.
func TestQueueNames(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	for name, code := range map[string]string{
		"ab": "OutOfRangeInput", strings.Repeat("a", 64): "OutOfRangeInput",
		"Upper": "InvalidResourceName", "-abc": "InvalidResourceName", "abc-": "InvalidResourceName",
		"a--b": "InvalidResourceName", "a_b": "InvalidResourceName", "a.b1": "InvalidResourceName",
	} {
		want(t, fx.do("PUT", "/devstoreaccount1/"+name, ""), 400, code)
	}
	for _, ok := range []string{"abc", strings.Repeat("a", 63), "a-b-1", "123"} {
		fx.mustCreate(ok)
	}
	if fx.eng.calls != 4 {
		t.Fatalf("engine calls %d", fx.eng.calls)
	}
}

// TestCreateIdempotency: §2.4 — 201 new, 204 same metadata (names
// case-insensitive), 409 otherwise.
func TestCreateIdempotency(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.mustCreate("qu1", "x-ms-meta-Color", "blue")
	want(t, fx.do("PUT", "/devstoreaccount1/qu1", "", "x-ms-meta-color", "blue"), 204, "")
	want(t, fx.do("PUT", "/devstoreaccount1/qu1", "", "x-ms-meta-color", "red"), 409, "QueueAlreadyExists")
	want(t, fx.do("PUT", "/devstoreaccount1/qu1", ""), 409, "QueueAlreadyExists")
	fx.mustCreate("qu2")
	want(t, fx.do("PUT", "/devstoreaccount1/qu2", ""), 204, "")
	want(t, fx.do("PUT", "/devstoreaccount1/qu2", "", "x-ms-meta-a", "1"), 409, "QueueAlreadyExists")
	// ACL does not count as metadata.
	want(t, fx.do("PUT", "/devstoreaccount1/qu2?comp=acl", `<SignedIdentifiers><SignedIdentifier><Id>p</Id><AccessPolicy><Permission>r</Permission></AccessPolicy></SignedIdentifier></SignedIdentifiers>`), 204, "")
	want(t, fx.do("PUT", "/devstoreaccount1/qu2", ""), 204, "")
}

// TestMetadata: get/set with the count header; validation.
func TestMetadata(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.mustCreate("qu1", "x-ms-meta-a", "1")
	fx.putMsg("qu1", "hello")
	w := fx.do("GET", "/devstoreaccount1/qu1?comp=metadata", "")
	want(t, w, 200, "")
	if meta(w, "a") != "1" || w.Header().Get("x-ms-approximate-messages-count") != "1" {
		t.Fatalf("headers %v", w.Header())
	}
	want(t, fx.do("PUT", "/devstoreaccount1/qu1?comp=metadata", "", "x-ms-meta-B", "2"), 204, "")
	w = fx.do("HEAD", "/devstoreaccount1/qu1?comp=metadata", "")
	if w.Code != 200 || meta(w, "a") != "" || meta(w, "b") != "2" {
		t.Fatalf("after set: %d %v", w.Code, w.Header())
	}
	want(t, fx.do("PUT", "/devstoreaccount1/qu1?comp=metadata", "", "x-ms-meta-1bad", "x"), 400, "InvalidMetadata")
	want(t, fx.do("PUT", "/devstoreaccount1/qu1?comp=metadata", "", "x-ms-meta-big", strings.Repeat("v", 9000)), 400, "MetadataTooLarge")
	want(t, fx.do("PUT", "/devstoreaccount1/missing?comp=metadata", ""), 404, "QueueNotFound")
}

// TestListQueues: prefix, name-based marker, maxresults, include=metadata,
// XML shape.
func TestListQueues(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	for _, n := range []string{"zeta", "alpha", "beta2", "beta1"} {
		fx.mustCreate(n, "x-ms-meta-k", n)
	}
	w := fx.do("GET", "/devstoreaccount1?comp=list&maxresults=2&include=metadata", "")
	want(t, w, 200, "")
	wantBody := `<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="http://example.com/devstoreaccount1/"><MaxResults>2</MaxResults><Queues>` +
		`<Queue><Name>alpha</Name><Metadata><k>alpha</k></Metadata></Queue><Queue><Name>beta1</Name><Metadata><k>beta1</k></Metadata></Queue></Queues>` +
		`<NextMarker>/devstoreaccount1/beta2</NextMarker></EnumerationResults>`
	if w.Body.String() != wantBody {
		t.Fatalf("list:\n%s\nwant\n%s", w.Body.String(), wantBody)
	}
	w = fx.do("GET", "/devstoreaccount1?comp=list&maxresults=2&marker=%2Fdevstoreaccount1%2Fbeta2", "")
	if !strings.Contains(w.Body.String(), "<Queue><Name>beta2</Name></Queue><Queue><Name>zeta</Name></Queue></Queues><NextMarker></NextMarker>") {
		t.Fatalf("page 2: %s", w.Body.String())
	}
	w = fx.do("GET", "/devstoreaccount1?comp=list&prefix=beta", "")
	if !strings.Contains(w.Body.String(), "<Prefix>beta</Prefix><Queues><Queue><Name>beta1</Name></Queue><Queue><Name>beta2</Name></Queue></Queues>") {
		t.Fatalf("prefix: %s", w.Body.String())
	}
	want(t, fx.do("GET", "/devstoreaccount1?comp=list&maxresults=0", ""), 400, "OutOfRangeQueryParameterValue")
	want(t, fx.do("GET", "/devstoreaccount1?comp=list&maxresults=100000", ""), 200, "")
	want(t, fx.do("GET", "/devstoreaccount1?comp=list&maxresults=x", ""), 400, "InvalidQueryParameterValue")
	// Other accounts do not see these queues.
	r := newReq("GET", "/other?comp=list", "")
	r.Header.Set("Authorization", "SharedKey other:"+testSignature([]byte("other-key"), "other", r))
	w = fx.serve(r)
	want(t, w, 200, "")
	if strings.Contains(w.Body.String(), "<Queue>") {
		t.Fatalf("other account lists %s", w.Body.String())
	}
}

// TestMessageLifecycle: put → get → update (new receipt, visibility) →
// delete; XML shapes of §3.2.
func TestMessageLifecycle(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.mustCreate("qu1")
	w := fx.do("POST", "/devstoreaccount1/qu1/messages?messagettl=-1", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><QueueMessage><MessageText>  a &amp; b&#xA;</MessageText></QueueMessage>`)
	want(t, w, 201, "")
	if !regexp.MustCompile(`^<\?xml version="1.0" encoding="utf-8"\?><QueueMessagesList><QueueMessage><MessageId>[0-9a-f-]{36}</MessageId><InsertionTime>Tue, 24 Nov 2026 06:47:14 GMT</InsertionTime><ExpirationTime>Fri, 31 Dec 9999 23:59:59 GMT</ExpirationTime><PopReceipt>[A-Za-z0-9_-]+</PopReceipt><TimeNextVisible>Tue, 24 Nov 2026 06:47:14 GMT</TimeNextVisible></QueueMessage></QueueMessagesList>$`).MatchString(w.Body.String()) {
		t.Fatalf("put: %s", w.Body.String())
	}
	w = fx.do("GET", "/devstoreaccount1/qu1/messages?peekonly=TRUE", "")
	if !regexp.MustCompile(`<QueueMessage><MessageId>[^<]+</MessageId><InsertionTime>[^<]+</InsertionTime><ExpirationTime>[^<]+</ExpirationTime><DequeueCount>0</DequeueCount><MessageText>  a &amp; b\n</MessageText></QueueMessage>`).MatchString(w.Body.String()) {
		t.Fatalf("peek: %s", w.Body.String())
	}
	w = fx.do("GET", "/devstoreaccount1/qu1/messages?numofmessages=32&visibilitytimeout=10", "")
	want(t, w, 200, "")
	var doc messagesListXML
	if err := xml.Unmarshal(w.Body.Bytes(), &doc); err != nil || len(doc.Messages) != 1 {
		t.Fatalf("get: %s %v", w.Body.String(), err)
	}
	m := doc.Messages[0]
	if *m.MessageText != "  a & b\n" || *m.DequeueCount != 1 || m.TimeNextVisible != "Tue, 24 Nov 2026 06:47:24 GMT" {
		t.Fatalf("got %+v", m)
	}
	// Invisible now: empty list.
	w = fx.do("GET", "/devstoreaccount1/qu1/messages", "")
	if w.Body.String() != `<?xml version="1.0" encoding="utf-8"?><QueueMessagesList></QueueMessagesList>` {
		t.Fatalf("empty get: %s", w.Body.String())
	}
	// Update without a body keeps the text.
	w = fx.do("PUT", "/devstoreaccount1/qu1/messages/"+m.MessageID+"?popreceipt="+m.PopReceipt+"&visibilitytimeout=0", "")
	want(t, w, 204, "")
	newPR := w.Header().Get("x-ms-popreceipt")
	if newPR == "" || newPR == m.PopReceipt || w.Header().Get("x-ms-time-next-visible") != "Tue, 24 Nov 2026 06:47:14 GMT" {
		t.Fatalf("update headers %v", w.Header())
	}
	// The old receipt is stale.
	want(t, fx.do("DELETE", "/devstoreaccount1/qu1/messages/"+m.MessageID+"?popreceipt="+m.PopReceipt, ""), 404, "MessageNotFound")
	want(t, fx.do("DELETE", "/devstoreaccount1/qu1/messages/"+m.MessageID+"?popreceipt=bad!", ""), 400, "PopReceiptMismatch")
	want(t, fx.do("DELETE", "/devstoreaccount1/qu1/messages/"+m.MessageID, ""), 400, "MissingRequiredQueryParameter")
	// Update with a body replaces the text.
	w = fx.do("PUT", "/devstoreaccount1/qu1/messages/"+m.MessageID+"?popreceipt="+newPR+"&visibilitytimeout=0", "<QueueMessage><MessageText>new</MessageText></QueueMessage>")
	want(t, w, 204, "")
	newPR = w.Header().Get("x-ms-popreceipt")
	w = fx.do("GET", "/devstoreaccount1/qu1/messages?peekonly=true", "")
	if !strings.Contains(w.Body.String(), "<MessageText>new</MessageText>") {
		t.Fatalf("after update: %s", w.Body.String())
	}
	want(t, fx.do("DELETE", "/devstoreaccount1/qu1/messages/"+m.MessageID+"?popreceipt="+newPR, ""), 204, "")
	want(t, fx.do("DELETE", "/devstoreaccount1/qu1/messages/"+m.MessageID+"?popreceipt="+newPR, ""), 404, "MessageNotFound")
	// Clear.
	fx.putMsg("qu1", "a")
	fx.putMsg("qu1", "b")
	want(t, fx.do("DELETE", "/devstoreaccount1/qu1/messages", ""), 204, "")
	w = fx.do("GET", "/devstoreaccount1/qu1?comp=metadata", "")
	if w.Header().Get("x-ms-approximate-messages-count") != "0" {
		t.Fatalf("after clear: %v", w.Header())
	}
	want(t, fx.do("POST", "/devstoreaccount1/missing/messages", "<QueueMessage><MessageText>x</MessageText></QueueMessage>"), 404, "QueueNotFound")
}

// TestMessageValidation: §2.9–2.13 parameter and body rules; nothing
// changes on a rejected request.
func TestMessageValidation(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.mustCreate("qu1")
	id, pr := fx.putMsg("qu1", "x")
	before := fx.eng.calls
	msg := "<QueueMessage><MessageText>x</MessageText></QueueMessage>"
	for _, c := range []struct {
		method, target, body string
		status               int
		code                 string
	}{
		{"POST", "/devstoreaccount1/qu1/messages?visibilitytimeout=-1", msg, 400, "OutOfRangeQueryParameterValue"},
		{"POST", "/devstoreaccount1/qu1/messages?visibilitytimeout=604801", msg, 400, "OutOfRangeQueryParameterValue"},
		{"POST", "/devstoreaccount1/qu1/messages?visibilitytimeout=abc", msg, 400, "InvalidQueryParameterValue"},
		{"POST", "/devstoreaccount1/qu1/messages?messagettl=0", msg, 400, "InvalidQueryParameterValue"},
		{"POST", "/devstoreaccount1/qu1/messages?messagettl=-2", msg, 400, "InvalidQueryParameterValue"},
		{"POST", "/devstoreaccount1/qu1/messages?messagettl=1&visibilitytimeout=2", msg, 400, "InvalidQueryParameterValue"},
		{"POST", "/devstoreaccount1/qu1/messages?messagettl=5&visibilitytimeout=5", msg, 400, "InvalidQueryParameterValue"},
		{"POST", "/devstoreaccount1/qu1/messages", "", 400, "InvalidXmlDocument"},
		{"POST", "/devstoreaccount1/qu1/messages", "<QueueMessage>", 400, "InvalidXmlDocument"},
		{"POST", "/devstoreaccount1/qu1/messages", "<QueueMessage></QueueMessage>", 400, "InvalidXmlDocument"},
		{"POST", "/devstoreaccount1/qu1/messages", "<Other><MessageText>x</MessageText></Other>", 400, "InvalidXmlDocument"},
		{"POST", "/devstoreaccount1/qu1/messages", msg + "<x/>", 400, "InvalidXmlDocument"},
		{"POST", "/devstoreaccount1/qu1/messages", "<QueueMessage><MessageText>" + strings.Repeat("a", 65537) + "</MessageText></QueueMessage>", 413, "RequestBodyTooLarge"},
		{"POST", "/devstoreaccount1/qu1/messages", strings.Repeat(" ", DefaultMaxRequestBytes+1), 413, "RequestBodyTooLarge"},
		{"GET", "/devstoreaccount1/qu1/messages?numofmessages=0", "", 400, "OutOfRangeQueryParameterValue"},
		{"GET", "/devstoreaccount1/qu1/messages?numofmessages=33", "", 400, "OutOfRangeQueryParameterValue"},
		{"GET", "/devstoreaccount1/qu1/messages?visibilitytimeout=0", "", 400, "OutOfRangeQueryParameterValue"},
		{"GET", "/devstoreaccount1/qu1/messages?visibilitytimeout=604801", "", 400, "OutOfRangeQueryParameterValue"},
		{"GET", "/devstoreaccount1/qu1/messages?peekonly=true&numofmessages=33", "", 400, "OutOfRangeQueryParameterValue"},
		{"PUT", "/devstoreaccount1/qu1/messages/" + id + "?popreceipt=" + pr, "", 400, "MissingRequiredQueryParameter"},
		{"PUT", "/devstoreaccount1/qu1/messages/" + id + "?popreceipt=" + pr + "&visibilitytimeout=604801", "", 400, "OutOfRangeQueryParameterValue"},
		{"PUT", "/devstoreaccount1/qu1/messages/" + id + "?visibilitytimeout=1", "", 400, "MissingRequiredQueryParameter"},
		{"PUT", "/devstoreaccount1/qu1/messages/" + id + "?popreceipt=" + pr + "&visibilitytimeout=1", "<QueueMessage><MessageText>" + strings.Repeat("é", 32769) + "</MessageText></QueueMessage>", 413, "RequestBodyTooLarge"},
		{"PUT", "/devstoreaccount1/qu1/messages/" + id + "?popreceipt=" + pr + "&visibilitytimeout=1", "<bad", 400, "InvalidXmlDocument"},
	} {
		w := fx.do(c.method, c.target, c.body)
		if w.Code != c.status || w.Header().Get("x-ms-error-code") != c.code {
			t.Errorf("%s %.80s: %d %s, want %d %s", c.method, c.target, w.Code, w.Header().Get("x-ms-error-code"), c.status, c.code)
		}
	}
	if fx.eng.calls != before {
		t.Fatalf("rejected requests changed state (%d calls)", fx.eng.calls-before)
	}
	// The limit is on the decoded text: 64 KiB of '&amp;' is fine.
	w := fx.do("POST", "/devstoreaccount1/qu1/messages", "<QueueMessage><MessageText>"+strings.Repeat("&amp;", 65536)+"</MessageText></QueueMessage>")
	want(t, w, 201, "")
	// The receipt from Put works at once.
	want(t, fx.do("PUT", "/devstoreaccount1/qu1/messages/"+id+"?popreceipt="+pr+"&visibilitytimeout=5", ""), 204, "")
}

// TestVisibilityAndTTL with the fake clock.
func TestVisibilityAndTTL(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.mustCreate("qu1")
	want(t, fx.do("POST", "/devstoreaccount1/qu1/messages?visibilitytimeout=10&messagettl=20", "<QueueMessage><MessageText>later</MessageText></QueueMessage>"), 201, "")
	if w := fx.do("GET", "/devstoreaccount1/qu1/messages", ""); strings.Contains(w.Body.String(), "later") {
		t.Fatal("visible before its visibility timeout")
	}
	fx.clock.Advance(10 * time.Second)
	w := fx.do("GET", "/devstoreaccount1/qu1/messages?visibilitytimeout=1", "")
	if !strings.Contains(w.Body.String(), "<DequeueCount>1</DequeueCount><MessageText>later</MessageText>") {
		t.Fatalf("get: %s", w.Body.String())
	}
	fx.clock.Advance(10 * time.Second)
	if w := fx.do("GET", "/devstoreaccount1/qu1/messages?peekonly=true", ""); strings.Contains(w.Body.String(), "later") {
		t.Fatal("expired message is visible")
	}
}

// meta returns a metadata header as written (lower-case name).
func meta(w *httptest.ResponseRecorder, name string) string {
	v := w.Header()["x-ms-meta-"+name]
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// TestProductionStyleURL: the account may come from the host name
// (§1.1); the signed resource is then "/account" + path.
func TestProductionStyleURL(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	r := newReq("PUT", "/hostq", "")
	r.Host = "devstoreaccount1.queue.localhost:10001"
	r.Header.Set("Authorization", "SharedKey devstoreaccount1:"+testSignature(devKey(), DevAccount, r))
	want(t, fx.serve(r), 201, "")
	r = newReq("GET", "/?comp=list", "")
	r.Host = "devstoreaccount1.queue.localhost"
	r.Header.Set("Authorization", "SharedKey devstoreaccount1:"+testSignature(devKey(), DevAccount, r))
	w := fx.serve(r)
	want(t, w, 200, "")
	if !strings.Contains(w.Body.String(), `ServiceEndpoint="http://devstoreaccount1.queue.localhost/"`) || !strings.Contains(w.Body.String(), "<Name>hostq</Name>") {
		t.Fatalf("list: %s", w.Body.String())
	}
	// Path-style still wins on such a host, and unknown labels are not accounts.
	want(t, fx.do("GET", "/devstoreaccount1/hostq?comp=metadata", ""), 200, "")
	r = newReq("GET", "/?comp=list", "")
	r.Host = "baton.internal"
	want(t, fx.serve(r), 404, "ResourceNotFound")
}
