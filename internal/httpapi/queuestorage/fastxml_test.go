package queuestorage

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The reference writer: what the handlers rendered before appendMessage
// (fastxml.go), kept to check the hand-written writer against it.

// messageXML is one QueueMessage of a response; absent fields are omitted.
type messageXML struct {
	MessageID       string  `xml:"MessageId"`
	InsertionTime   string  `xml:"InsertionTime"`
	ExpirationTime  string  `xml:"ExpirationTime"`
	PopReceipt      string  `xml:"PopReceipt,omitempty"`
	TimeNextVisible string  `xml:"TimeNextVisible,omitempty"`
	DequeueCount    *int64  `xml:"DequeueCount"`
	MessageText     *string `xml:"MessageText"`
}

type messagesListXML struct {
	XMLName  xml.Name     `xml:"QueueMessagesList"`
	Messages []messageXML `xml:"QueueMessage"`
}

// render writes a QueueMessagesList with escape (literal newlines in
// MessageText, as Azure writes them).
func (l messagesListXML) render() []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><QueueMessagesList>`)
	el := func(name, v string) {
		b.WriteString("<" + name + ">")
		escape(&b, v)
		b.WriteString("</" + name + ">")
	}
	for _, m := range l.Messages {
		b.WriteString("<QueueMessage>")
		el("MessageId", m.MessageID)
		el("InsertionTime", m.InsertionTime)
		el("ExpirationTime", m.ExpirationTime)
		if m.PopReceipt != "" {
			el("PopReceipt", m.PopReceipt)
		}
		if m.TimeNextVisible != "" {
			el("TimeNextVisible", m.TimeNextVisible)
		}
		if m.DequeueCount != nil {
			el("DequeueCount", strconv.FormatInt(*m.DequeueCount, 10))
		}
		if m.MessageText != nil {
			el("MessageText", *m.MessageText)
		}
		b.WriteString("</QueueMessage>")
	}
	b.WriteString("</QueueMessagesList>")
	return []byte(b.String())
}

// refExpiry formats an expiration time as the reference did.
func refExpiry(t time.Time) string {
	if t.IsZero() || t.UTC().Year() >= 9999 {
		return neverExpiresAt
	}
	return rfc1123(t)
}

// refRender renders msgs with the reference writer in the shape of Put
// (receipt, no text), Get (both) or Peek (text, no receipt).
func refRender(msgs []*Message, receipt, text bool) []byte {
	doc := messagesListXML{}
	for _, m := range msgs {
		x := messageXML{MessageID: m.ID, InsertionTime: rfc1123(m.InsertedAt), ExpirationTime: refExpiry(m.ExpiresAt)}
		if receipt {
			x.PopReceipt, x.TimeNextVisible = m.Receipt, rfc1123(m.VisibleAt)
		}
		if text {
			count, t := m.DequeueCount, string(m.Text)
			x.DequeueCount, x.MessageText = &count, &t
		}
		doc.Messages = append(doc.Messages, x)
	}
	return doc.render()
}

func TestAppendMessageMatchesReference(t *testing.T) {
	at := time.Date(2026, 11, 24, 6, 47, 14, 999, time.FixedZone("x", 3600))
	msgs := []*Message{
		{ID: "5d0a4e0c-3b1f-4a55-9d33-0c2f1b1f3a01", Text: []byte("hello"), InsertedAt: at, ExpiresAt: at.Add(time.Hour), VisibleAt: at, DequeueCount: 1, Receipt: "AgAAAAMAAAAAAAAA+/=="},
		{ID: "a&b<c>\"d'", Text: []byte("<x>&amp;\"'\n\t\r]]>\u00e9\U0001F600"), InsertedAt: at, ExpiresAt: time.Time{}, VisibleAt: at.Add(time.Minute), DequeueCount: 12345678901, Receipt: ""},
		{ID: "never", Text: []byte{}, InsertedAt: at, ExpiresAt: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), VisibleAt: at},
		{ID: "nil-text", Text: nil, InsertedAt: time.Time{}, ExpiresAt: time.Date(9998, 12, 31, 23, 59, 59, 0, time.UTC), VisibleAt: time.Time{}, DequeueCount: -1},
	}
	for _, shape := range []struct {
		name          string
		receipt, text bool
	}{{"put", true, false}, {"get", true, true}, {"peek", false, true}} {
		for n := 0; n <= len(msgs); n++ {
			want := refRender(msgs[:n], shape.receipt, shape.text)
			b := append([]byte(xmlDecl), "<QueueMessagesList>"...)
			for _, m := range msgs[:n] {
				b = appendMessage(b, m, shape.receipt, shape.text)
			}
			b = append(b, "</QueueMessagesList>"...)
			if !bytes.Equal(b, want) {
				t.Fatalf("%s, %d messages:\n got %s\nwant %s", shape.name, n, b, want)
			}
		}
	}
}

// decodeBoth runs both readers on body. It fails t when the fast reader
// accepts what encoding/xml refuses or decodes it differently.
func decodeBoth(t *testing.T, body []byte) (fast bool, text []byte, err error) {
	t.Helper()
	ftext, ok := fastMessageText(body)
	text, err = decodeMessageXML(body)
	if ok {
		if err != nil {
			t.Fatalf("fast reader accepted %q (%q); encoding/xml: %v", body, ftext, err)
		}
		if !bytes.Equal(ftext, text) || ftext == nil {
			t.Fatalf("fast reader decoded %q as %q; encoding/xml as %q", body, ftext, text)
		}
	}
	got, gerr := decodeMessage(body)
	if (gerr == nil) != (err == nil) || !bytes.Equal(got, text) {
		t.Fatalf("decodeMessage(%q) = %q, %v; encoding/xml %q, %v", body, got, gerr, text, err)
	}
	if gerr != nil && gerr.Error() != err.Error() {
		t.Fatalf("decodeMessage(%q): %v; encoding/xml: %v", body, gerr, err)
	}
	return ok, text, err
}

func TestDecodeMessageFastAgainstEncodingXML(t *testing.T) {
	const pre, post = "<QueueMessage><MessageText>", "</MessageText></QueueMessage>"
	// fast: the reader must take these itself (the SDKs' shapes).
	for _, c := range []struct {
		body, text string
	}{
		{"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + pre + "hello world" + post, "hello world"},
		{`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + pre + "  spaced  " + post, "  spaced  "},
		{`<?xml version='1.0' encoding='utf-8'?>` + "\n" + pre + "py" + post, "py"},
		{`<?xml version="1.0" encoding="utf-8"?>` + pre + "net" + post, "net"},
		{`<?xml version="1.0"?>` + pre + "v" + post, "v"},
		{pre + post, ""},
		{pre + "line1&#xA;line2 &#34;q&#34; &lt;tag&gt; &amp; &apos;" + post, "line1\nline2 \"q\" <tag> & '"},
		{pre + "&#x1F600;&#233;&#x00e9;&#9;&#13;" + post, "\U0001F600\u00e9\u00e9\t\r"},
		{pre + "tab\there\nnew line > ]] ] >" + post, "tab\there\nnew line > ]] ] >"},
		{pre + "\u00e9\u4e2d\U0001F600\ufffd" + post, "\u00e9\u4e2d\U0001F600\ufffd"},
		{" \n\t<QueueMessage>\r\n  <MessageText>x</MessageText>\n</QueueMessage>\r\n ", "x"},
		{pre + "]]&gt;" + post, "]]>"},
	} {
		fast, text, err := decodeBoth(t, []byte(c.body))
		if err != nil || string(text) != c.text {
			t.Fatalf("%q: %q, %v; want %q", c.body, text, err, c.text)
		}
		if !fast {
			t.Fatalf("%q: the fast reader declined", c.body)
		}
	}
	// Everything else is for encoding/xml: the answers must be the same
	// whichever reader took them.
	for _, body := range []string{
		"", " ", "\xef\xbb\xbf" + pre + "bom" + post,
		pre + "<![CDATA[<raw>&]]>" + post,
		pre + "a<!-- c -->b" + post,
		pre + "cr\r\nlf\rx" + post,
		pre + "]]>" + post,
		pre + "&nbsp;" + post, pre + "&#0;" + post, pre + "&#xD800;" + post, pre + "&#x110000;" + post,
		pre + "&#;" + post, pre + "&#x;" + post, pre + "&#X41;" + post, pre + "&amp" + post, pre + "& " + post,
		pre + "&#0000000065;" + post, pre + "&#x000000041;" + post,
		pre + "\x00" + post, pre + "\x7f" + post, pre + "\xff" + post, pre + "\xed\xa0\x80" + post, pre + "\uffff" + post,
		`<QueueMessage xmlns="urn:x"><MessageText>ns</MessageText></QueueMessage>`,
		`<QueueMessage><MessageText a="1">attr</MessageText></QueueMessage>`,
		`<QueueMessage><MessageText/></QueueMessage>`,
		`<QueueMessage></QueueMessage>`, `<QueueMessage/>`,
		pre + "a" + post + "<x/>", pre + "a" + post + "junk", pre + "a" + post + "<!-- c -->",
		`<QueueMessage><MessageText>a</MessageText><MessageText>b</MessageText></QueueMessage>`,
		`<QueueMessage><Other/><MessageText>a</MessageText></QueueMessage>`,
		`<QueueMessage>junk<MessageText>a</MessageText></QueueMessage>`,
		`<queuemessage><MessageText>a</MessageText></queuemessage>`,
		`<?xml version="1.1"?>` + pre + "v" + post,
		`<?xml version="1.0" encoding="ISO-8859-1"?>` + pre + "v" + post,
		`<!DOCTYPE q [<!ENTITY x "y">]>` + pre + "&x;" + post,
		pre + "abc", "<QueueMessage><MessageText>abc</MessageText>",
		"\v" + pre + "a" + post, pre + "a" + post + "\u00a0",
	} {
		decodeBoth(t, []byte(body))
	}
}

// TestFastReaderLongText checks a large text with entities spread through
// it.
func TestFastReaderLongText(t *testing.T) {
	var raw, want strings.Builder
	for i := range 5000 {
		raw.WriteString("x" + strconv.Itoa(i) + "&amp;&#x4e2d;")
		want.WriteString("x" + strconv.Itoa(i) + "&\u4e2d")
	}
	body := []byte("<QueueMessage><MessageText>" + raw.String() + "</MessageText></QueueMessage>")
	fast, text, err := decodeBoth(t, body)
	if !fast || err != nil || string(text) != want.String() {
		t.Fatalf("fast %v, err %v, %d bytes", fast, err, len(text))
	}
}

// TestPooledBodiesConcurrentPuts puts distinct texts (plain and escaped,
// so both the aliasing and the copying reader run) from several goroutines
// through the handler, whose body buffers are pooled, and checks that every
// stored text is the one that was sent.
func TestPooledBodiesConcurrentPuts(t *testing.T) {
	fx := setup(t)
	fx.mustCreate("pooled")
	const workers, each = 4, 40
	var wg sync.WaitGroup
	errs := make(chan string, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				text := fmt.Sprintf("w%d-i%d-%s", w, i, strings.Repeat(string(rune('a'+w)), 100*i))
				body := text
				if i%2 == 1 {
					body = strings.ReplaceAll(text, "a", "&#97;")
				}
				r := newReq("POST", "/devstoreaccount1/pooled/messages", "<QueueMessage><MessageText>"+body+"</MessageText></QueueMessage>")
				r.Header.Set("Authorization", "SharedKey devstoreaccount1:"+testSignature(devKey(), DevAccount, r))
				if w := fx.serve(r); w.Code != 201 {
					errs <- fmt.Sprintf("put %s: %d %s", text[:8], w.Code, w.Body.String())
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	got := map[string]bool{}
	for _, m := range fx.eng.queues[DevAccount+"/pooled"].msgs {
		got[string(m.Text)] = true
	}
	for w := range workers {
		for i := range each {
			text := fmt.Sprintf("w%d-i%d-%s", w, i, strings.Repeat(string(rune('a'+w)), 100*i))
			if !got[text] {
				t.Fatalf("text %q… not stored intact (%d texts stored)", text[:min(len(text), 12)], len(got))
			}
		}
	}
	if len(got) != workers*each {
		t.Fatalf("%d distinct texts stored, want %d", len(got), workers*each)
	}
}

// TestAppendRFC1123 compares the hand-written formatter with
// time.Format(http.TimeFormat) over many instants, zones and years.
func TestAppendRFC1123(t *testing.T) {
	zones := []*time.Location{time.UTC, time.FixedZone("e", 5*3600+1800), time.FixedZone("w", -11*3600)}
	times := []time.Time{{}, time.Date(999, 12, 31, 23, 59, 59, 0, time.UTC), time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-5, 3, 1, 1, 2, 3, 0, time.UTC)}
	for i := range 5000 {
		times = append(times, time.Unix(int64(i)*7919*3607+int64(i%3)*86399, int64(i)*1234567))
	}
	for _, tm := range times {
		for _, z := range zones {
			tz := tm.In(z)
			if got, want := string(appendRFC1123([]byte("x"), tz)), "x"+rfc1123(tz); got != want {
				t.Fatalf("%v: %q, want %q", tz, got, want)
			}
		}
	}
}

// TestNewUUID checks the version-4 layout and that two differ.
func TestNewUUID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a, b := newUUID(), newUUID()
	if !re.MatchString(a) || !re.MatchString(b) || a == b {
		t.Fatalf("%q, %q", a, b)
	}
}
