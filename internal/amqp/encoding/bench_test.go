package encoding

import (
	"bytes"
	"testing"
	"time"
)

// benchMessage is a typical Service Bus message as the Go SDK sends it:
// a header with TTL, properties, five application properties and a 1 KiB
// data body.
func benchMessage() *Message {
	return &Message{
		Header: &Header{Priority: DefaultPriority, TTL: 3600000, HasTTL: true},
		Properties: &Properties{
			MessageID:     StringID("7c5f0a9e-44a3-4d43-9c3b-0d6b3d1f2a10"),
			To:            "orders",
			Subject:       "order-created",
			CorrelationID: StringID("c-123"),
			ContentType:   "application/json",
			GroupID:       "customer-42",
		},
		ApplicationProperties: Map{
			{"tenant", "contoso"},
			{"region", "westeurope"},
			{"attempt", int32(1)},
			{"priority", int64(5)},
			{"express", true},
		},
		Data: [][]byte{bytes.Repeat([]byte{'x'}, 1024)},
	}
}

func BenchmarkAppendMessage(b *testing.B) {
	m := benchMessage()
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendMessage(buf[:0], m); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkParseMessage(b *testing.B) {
	payload, _ := AppendMessage(nil, benchMessage())
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseMessage(payload); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMessageViewParse reuses one MessageView, as a connection's
// reader goroutine can.
func BenchmarkMessageViewParse(b *testing.B) {
	payload, _ := AppendMessage(nil, benchMessage())
	var m MessageView
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Parse(payload); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppProperties(b *testing.B) {
	payload, _ := AppendMessage(nil, benchMessage())
	m, _ := ParseMessage(payload)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.AppProperties(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendDelivery re-emits a stored message with broker annotations,
// the per-delivery encode path.
func BenchmarkAppendDelivery(b *testing.B) {
	payload, _ := AppendMessage(nil, benchMessage())
	m, _ := ParseMessage(payload)
	now := time.UnixMilli(1767225600123)
	d := Delivery{
		Header: Header{Priority: DefaultPriority, TTL: 3600000, HasTTL: true, DeliveryCount: 1},
		Annotations: BrokerAnnotations{
			SequenceNumber: 123456, EnqueuedTime: now, LockedUntil: now.Add(time.Minute),
		},
		SenderAnnotations: m.MessageAnnotationsRaw(),
		Bare:              m.Bare(),
	}
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendDelivery(buf[:0], &d); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkRewriteAppProperties(b *testing.B) {
	payload, _ := AppendMessage(nil, benchMessage())
	m, _ := ParseMessage(payload)
	mods := Map{{Symbol("attempt"), int32(2)}, {Symbol("DeadLetterReason"), "x"}}
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = RewriteAppProperties(buf[:0], m.Bare(), mods); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkManagementBody encodes and decodes a peek response body holding
// ten messages.
func BenchmarkManagementBody(b *testing.B) {
	payload, _ := AppendMessage(nil, benchMessage())
	list := make([]any, 10)
	for i := range list {
		list[i] = Map{{"message", payload}}
	}
	body := Map{{"messages", list}}
	var w Buffer
	b.ReportAllocs()
	for b.Loop() {
		w.Reset()
		if err := w.AppendValue(body); err != nil {
			b.Fatal(err)
		}
		if _, err := NewReader(w.Bytes()).ReadValue(); err != nil {
			b.Fatal(err)
		}
	}
}
