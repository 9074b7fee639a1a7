package sbadmin

// The responses are written by hand rather than with encoding/xml: Service
// Bus's documents need exact namespace declarations (a default namespace on
// the description, one prefixed namespace on CountDetails) and a fixed
// element order, which encoding/xml's marshaller does not give.

import (
	"bytes"
	"math"
	"strconv"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/isodur"
)

// XML namespaces of the administration API.
const (
	nsAtom     = "http://www.w3.org/2005/Atom"
	nsSB       = "http://schemas.microsoft.com/netservices/2010/10/servicebus/connect"
	nsInstance = "http://www.w3.org/2001/XMLSchema-instance"
	nsCounts   = "http://schemas.microsoft.com/netservices/2011/06/servicebus"
)

// Content types of the responses.
const (
	contentEntry = "application/atom+xml;type=entry;charset=utf-8"
	contentFeed  = "application/atom+xml;type=feed;charset=utf-8"
	contentError = "application/xml;charset=utf-8"
)

// zeroTime is how Service Bus writes "never" for a time.
const zeroTime = "0001-01-01T00:00:00Z"

// xmlWriter builds a document. Text and attribute values are escaped;
// element names are constants.
type xmlWriter struct{ bytes.Buffer }

func (w *xmlWriter) header() { w.WriteString(`<?xml version="1.0" encoding="utf-8"?>`) }

// text writes s escaped for element content or a double-quoted attribute.
// Only the named entities are used (&amp; &lt; &gt; &quot;): the JS client's
// XML parser leaves numeric references such as &#34; undecoded. Carriage
// returns become &#xD; so that parsers do not normalise them away, and
// characters XML cannot carry become U+FFFD, as encoding/xml does.
func (w *xmlWriter) text(s string) {
	for _, r := range s {
		switch {
		case r == '&':
			w.WriteString("&amp;")
		case r == '<':
			w.WriteString("&lt;")
		case r == '>':
			w.WriteString("&gt;")
		case r == '"':
			w.WriteString("&quot;")
		case r == '\r':
			w.WriteString("&#xD;")
		case r == '\t' || r == '\n' || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF:
			w.WriteRune(r)
		default:
			w.WriteRune('\uFFFD')
		}
	}
}

// elem writes <name>text</name>.
func (w *xmlWriter) elem(name, text string) {
	w.WriteByte('<')
	w.WriteString(name)
	w.WriteByte('>')
	w.text(text)
	w.WriteString("</")
	w.WriteString(name)
	w.WriteByte('>')
}

func (w *xmlWriter) boolElem(name string, v bool) { w.elem(name, strconv.FormatBool(v)) }

func (w *xmlWriter) intElem(name string, v int64) { w.elem(name, strconv.FormatInt(v, 10)) }

// formatTime writes t in RFC 3339 UTC with up to seven fractional digits,
// as Service Bus does; the zero time is zeroTime.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return zeroTime
	}
	return t.UTC().Format("2006-01-02T15:04:05.9999999Z07:00")
}

// entryMeta is what an Atom entry says about the entity it wraps.
type entryMeta struct {
	id        string // absolute URL of the entity
	title     string // the entity's name
	author    string // the namespace name
	published time.Time
	updated   time.Time
}

// openEntry writes an entry up to and including the <content> start tag.
// Every entry declares the Atom namespace, inside a feed too, as Service Bus
// does.
func (w *xmlWriter) openEntry(m entryMeta) {
	w.WriteString(`<entry xmlns="` + nsAtom + `">`)
	w.elem("id", m.id)
	w.WriteString(`<title type="text">`)
	w.text(m.title)
	w.WriteString(`</title>`)
	w.elem("published", formatTime(m.published))
	w.elem("updated", formatTime(m.updated))
	w.WriteString("<author>")
	w.elem("name", m.author)
	w.WriteString("</author>")
	w.WriteString(`<link rel="self" href="`)
	w.text(m.id)
	w.WriteString(`"/>`)
	w.WriteString(`<content type="application/xml">`)
}

func (w *xmlWriter) closeEntry() { w.WriteString("</content></entry>") }

// clamp32 fits a count into the int32 the SDKs read CountDetails into.
func clamp32(n int64) int64 {
	if n > math.MaxInt32 {
		return math.MaxInt32
	}
	return n
}

// queueDescription writes a QueueDescription with every element Service
// Bus writes, in its order (.NET clients care; Go and JS do not).
func (w *xmlWriter) queueDescription(info *broker.EntityInfo) {
	p := info.Properties
	c := info.Counts
	w.WriteString(`<QueueDescription xmlns="` + nsSB + `" xmlns:i="` + nsInstance + `">`)
	w.elem("LockDuration", isodur.Format(p.LockDuration))
	w.intElem("MaxSizeInMegabytes", p.MaxSizeInMegabytes)
	w.boolElem("RequiresDuplicateDetection", p.RequiresDuplicateDetection)
	w.boolElem("RequiresSession", p.RequiresSession)
	w.elem("DefaultMessageTimeToLive", isodur.Format(p.DefaultMessageTimeToLive))
	w.boolElem("DeadLetteringOnMessageExpiration", p.DeadLetteringOnMessageExpiration)
	w.elem("DuplicateDetectionHistoryTimeWindow", isodur.Format(p.DuplicateDetectionHistoryTimeWindow))
	w.intElem("MaxDeliveryCount", int64(p.MaxDeliveryCount))
	w.boolElem("EnableBatchedOperations", p.EnableBatchedOperations)
	w.intElem("SizeInBytes", c.SizeBytes)
	w.intElem("MessageCount", c.Total())
	w.boolElem("IsAnonymousAccessible", false)
	w.WriteString("<AuthorizationRules/>")
	w.elem("Status", string(p.Status))
	if p.ForwardTo != "" {
		w.elem("ForwardTo", p.ForwardTo)
	}
	w.elem("CreatedAt", formatTime(info.CreatedAt))
	w.elem("UpdatedAt", formatTime(info.UpdatedAt))
	w.elem("AccessedAt", formatTime(info.AccessedAt))
	w.boolElem("SupportOrdering", true)
	w.countDetails(c)
	w.elem("AutoDeleteOnIdle", isodur.Format(p.AutoDeleteOnIdle))
	w.boolElem("EnablePartitioning", p.EnablePartitioning)
	w.elem("EntityAvailabilityStatus", "Available")
	w.boolElem("EnableExpress", false)
	if p.ForwardDeadLetteredMessagesTo != "" {
		w.elem("ForwardDeadLetteredMessagesTo", p.ForwardDeadLetteredMessagesTo)
	}
	if p.UserMetadata != "" {
		w.elem("UserMetadata", p.UserMetadata)
	}
	w.intElem("MaxMessageSizeInKilobytes", p.MaxMessageSizeInKilobytes)
	w.WriteString("</QueueDescription>")
}

// countDetails writes CountDetails with exactly one prefixed namespace
// declaration, which JS looks up to read the children. Deferred messages
// count as active, as in Service Bus; Baton does not forward, so the
// transfer counts are zero.
func (w *xmlWriter) countDetails(c broker.Counts) {
	w.WriteString(`<CountDetails xmlns:d2p1="` + nsCounts + `">`)
	w.intElem("d2p1:ActiveMessageCount", clamp32(c.Active+c.Deferred))
	w.intElem("d2p1:DeadLetterMessageCount", clamp32(c.DeadLettered))
	w.intElem("d2p1:ScheduledMessageCount", clamp32(c.Scheduled))
	w.intElem("d2p1:TransferMessageCount", 0)
	w.intElem("d2p1:TransferDeadLetterMessageCount", 0)
	w.WriteString("</CountDetails>")
}

// namespaceInfo writes a NamespaceInfo description.
func (w *xmlWriter) namespaceInfo(name, sku string, created, modified time.Time) {
	w.WriteString(`<NamespaceInfo xmlns="` + nsSB + `" xmlns:i="` + nsInstance + `">`)
	w.elem("CreatedTime", formatTime(created))
	w.elem("MessagingSKU", sku)
	w.elem("ModifiedTime", formatTime(modified))
	w.elem("Name", name)
	w.elem("NamespaceType", "Messaging")
	w.WriteString("</NamespaceInfo>")
}

// errorBody writes Service Bus's error document:
// <Error><Code>404</Code><Detail>...</Detail></Error>.
func errorBody(status int, detail string) []byte {
	var w xmlWriter
	w.WriteString("<Error>")
	w.intElem("Code", int64(status))
	w.elem("Detail", detail)
	w.WriteString("</Error>")
	return w.Bytes()
}
