package queuestorage

// A hand-written reader for the one body every Put and Update sends,
// <QueueMessage><MessageText>…</MessageText></QueueMessage>, and a writer
// for the QueueMessagesList answers. The reader takes only the plain shape
// the SDKs send (an optional usual XML declaration, blanks between the
// tags, text with the predefined entities and character references); for
// anything else — CDATA, comments, attributes, namespaces, a BOM, a DOCTYPE,
// a carriage return, an unusual entity — it declines and decodeMessage
// falls back to encoding/xml, so answers and error codes stay those of
// encoding/xml. FuzzDecodeMessage checks the two against each other.

import (
	"bytes"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// fastDecls are the XML declarations the fast reader accepts, as the Go,
// JS, .NET and Python SDKs write them.
var fastDecls = [...]string{
	`<?xml version="1.0" encoding="UTF-8"?>`,
	`<?xml version="1.0" encoding="utf-8"?>`,
	`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`,
	`<?xml version="1.0" encoding="utf-8" standalone="yes"?>`,
	`<?xml version='1.0' encoding='utf-8'?>`,
	`<?xml version="1.0"?>`,
}

const (
	tagQueueMessage     = "<QueueMessage>"
	tagMessageText      = "<MessageText>"
	endTagMessageText   = "</MessageText>"
	endTagQueueMessage  = "</QueueMessage>"
	maxFastCharRefChars = 8 // digits of a character reference the fast reader decodes
)

// fastMessageText reads a Put/Update body of the plain shape. ok false means
// "not decided here": the caller must use encoding/xml. When ok, text is
// what encoding/xml would return; it may share memory with body.
func fastMessageText(body []byte) (text []byte, ok bool) {
	p := body
	for _, d := range fastDecls {
		if hasPrefix(p, d) {
			p = p[len(d):]
			break
		}
	}
	p = skipBlanks(p)
	if !hasPrefix(p, tagQueueMessage) {
		return nil, false
	}
	p = skipBlanks(p[len(tagQueueMessage):])
	if !hasPrefix(p, tagMessageText) {
		return nil, false
	}
	p = p[len(tagMessageText):]
	end := bytes.IndexByte(p, '<')
	if end < 0 {
		return nil, false
	}
	raw, p := p[:end], p[end:]
	if !hasPrefix(p, endTagMessageText) {
		return nil, false
	}
	p = skipBlanks(p[len(endTagMessageText):])
	if !hasPrefix(p, endTagQueueMessage) {
		return nil, false
	}
	if len(skipBlanks(p[len(endTagQueueMessage):])) != 0 {
		return nil, false
	}
	return unescapeText(raw)
}

func hasPrefix(b []byte, s string) bool { return len(b) >= len(s) && string(b[:len(s)]) == s }

// skipBlanks skips XML white space (space, tab, newline, carriage return).
func skipBlanks(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	return b
}

// unescapeText decodes character data that holds no '<': the five
// predefined entities and decimal or hexadecimal character references.
// Without any '&' it returns raw itself. It declines a carriage return
// (encoding/xml rewrites it), "]]>", invalid UTF-8, a character outside
// XML's range and every other entity.
func unescapeText(raw []byte) ([]byte, bool) {
	amp := -1
	for i := 0; i < len(raw); {
		c := raw[i]
		if plainText[c] {
			i++
			continue
		}
		switch {
		case c >= 0x20 && c < 0x80:
			if c == '&' && amp < 0 {
				amp = i
			} else if c == '>' && i >= 2 && raw[i-1] == ']' && raw[i-2] == ']' {
				return nil, false
			}
			i++
		case c == '\t' || c == '\n':
			i++
		case c < 0x80: // control characters, '\r'
			return nil, false
		default:
			r, size := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && size == 1 || !xmlChar(r) {
				return nil, false
			}
			i += size
		}
	}
	if amp < 0 {
		return raw, true
	}
	out := make([]byte, 0, len(raw))
	out = append(out, raw[:amp]...)
	for i := amp; i < len(raw); {
		c := raw[i]
		if c != '&' {
			out = append(out, c)
			i++
			continue
		}
		semi := bytes.IndexByte(raw[i:min(len(raw), i+3+maxFastCharRefChars+1)], ';')
		if semi < 0 {
			return nil, false
		}
		ref := raw[i+1 : i+semi]
		i += semi + 1
		switch string(ref) {
		case "lt":
			out = append(out, '<')
			continue
		case "gt":
			out = append(out, '>')
			continue
		case "amp":
			out = append(out, '&')
			continue
		case "apos":
			out = append(out, '\'')
			continue
		case "quot":
			out = append(out, '"')
			continue
		}
		r, ok := charRef(ref)
		if !ok {
			return nil, false
		}
		out = utf8.AppendRune(out, r)
	}
	return out, true
}

// plainText marks the bytes unescapeText passes over without a second
// look: printable ASCII but '&' and '>', tab and newline.
var plainText = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '&' && c != '>'
	}
	t['\t'], t['\n'] = true, true
	return t
}()

// charRef decodes "#123" or "#x7B" to a character in XML's range.
func charRef(ref []byte) (rune, bool) {
	if len(ref) < 2 || ref[0] != '#' {
		return 0, false
	}
	digits, base := ref[1:], 10
	if digits[0] == 'x' {
		digits, base = digits[1:], 16
	}
	if len(digits) == 0 || len(digits) > maxFastCharRefChars {
		return 0, false
	}
	var n rune
	for _, d := range digits {
		switch {
		case d >= '0' && d <= '9':
			n = n*rune(base) + rune(d-'0')
		case base == 16 && d >= 'a' && d <= 'f':
			n = n*16 + rune(d-'a'+10)
		case base == 16 && d >= 'A' && d <= 'F':
			n = n*16 + rune(d-'A'+10)
		default:
			return 0, false
		}
	}
	return n, xmlChar(n)
}

// xmlChar reports whether r may appear in XML 1.0 text (the Char
// production).
func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// outBuf is a pooled response buffer.
type outBuf struct{ b []byte }

var outPool = sync.Pool{New: func() any { return &outBuf{b: make([]byte, 0, 2048)} }}

// maxPooledOut bounds the buffers kept for reuse (a Get of 32 large
// messages is not kept).
const maxPooledOut = 64 << 10

func getOut() *outBuf { return outPool.Get().(*outBuf) }

func putOut(o *outBuf) {
	if cap(o.b) <= maxPooledOut {
		o.b = o.b[:0]
		outPool.Put(o)
	}
}

const xmlDecl = `<?xml version="1.0" encoding="utf-8"?>`

// appendMessage appends one <QueueMessage> of a QueueMessagesList: what
// messagesListXML.render writes. receipt false leaves out PopReceipt and
// TimeNextVisible (Peek); text false leaves out DequeueCount and
// MessageText (Put).
func appendMessage(b []byte, m *Message, receipt, text bool) []byte {
	b = append(b, "<QueueMessage><MessageId>"...)
	b = appendEscaped(b, m.ID)
	b = append(b, "</MessageId><InsertionTime>"...)
	b = appendRFC1123(b, m.InsertedAt)
	b = append(b, "</InsertionTime><ExpirationTime>"...)
	if neverExpires(m.ExpiresAt) {
		b = append(b, neverExpiresAt...)
	} else {
		b = appendRFC1123(b, m.ExpiresAt)
	}
	b = append(b, "</ExpirationTime>"...)
	if receipt {
		if m.Receipt != "" {
			b = append(b, "<PopReceipt>"...)
			b = appendEscaped(b, m.Receipt)
			b = append(b, "</PopReceipt>"...)
		}
		b = append(b, "<TimeNextVisible>"...)
		b = appendRFC1123(b, m.VisibleAt)
		b = append(b, "</TimeNextVisible>"...)
	}
	if text {
		b = append(b, "<DequeueCount>"...)
		b = strconv.AppendInt(b, m.DequeueCount, 10)
		b = append(b, "</DequeueCount><MessageText>"...)
		b = appendEscaped(b, m.Text)
		b = append(b, "</MessageText>"...)
	}
	return append(b, "</QueueMessage>"...)
}

// appendRFC1123 appends t as rfc1123 formats it ("Mon, 02 Jan 2006
// 15:04:05 GMT"), by hand for four-digit years.
func appendRFC1123(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 1000 || year > 9999 {
		return t.AppendFormat(b, timeFormatGMT)
	}
	hour, minute, sec := t.Clock()
	const days, months = "SunMonTueWedThuFriSat", "JanFebMarAprMayJunJulAugSepOctNovDec"
	wd := int(t.Weekday()) * 3
	mo := (int(month) - 1) * 3
	return append(b, days[wd], days[wd+1], days[wd+2], ',', ' ',
		byte('0'+day/10), byte('0'+day%10), ' ',
		months[mo], months[mo+1], months[mo+2], ' ',
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), ' ',
		byte('0'+hour/10), byte('0'+hour%10), ':', byte('0'+minute/10), byte('0'+minute%10), ':', byte('0'+sec/10), byte('0'+sec%10),
		' ', 'G', 'M', 'T')
}

// timeFormatGMT is http.TimeFormat.
const timeFormatGMT = "Mon, 02 Jan 2006 15:04:05 GMT"

// appendEscaped appends s escaped as escape does.
func appendEscaped[S ~string | ~[]byte](b []byte, s S) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '"':
			esc = "&quot;"
		default:
			continue
		}
		b = append(b, s[last:i]...)
		b = append(b, esc...)
		last = i + 1
	}
	return append(b, s[last:]...)
}
