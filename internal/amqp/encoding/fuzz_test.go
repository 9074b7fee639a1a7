package encoding

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var writeSeeds = flag.Bool("write-seeds", false, "rewrite the checked-in fuzz seed corpora under testdata/fuzz")

// valueSeeds are encoded values covering every type.
func valueSeeds(tb testing.TB) [][]byte {
	tb.Helper()
	values := []any{
		nil, true, false, uint8(1), uint16(2), uint32(0), uint32(7), uint32(70000), uint64(0), uint64(9), uint64(1 << 40),
		int8(-1), int16(-2), int32(-3), int32(1 << 20), int64(-4), int64(1 << 40), float32(1.5), 2.5,
		Decimal32{1}, Decimal64{2}, Decimal128{3}, Char('x'), time.UnixMilli(1767225600123).UTC(), testLockTok,
		[]byte("bin"), "str", Symbol("sym"), []any{uint32(1), "two", []any{}}, Map{{Symbol("k"), Map{{"n", int64(1)}}}},
		[]Symbol{"a", "b"}, []int64{1, 2}, []UUID{testLockTok}, []time.Time{testEnqueued}, []string{"x"}, [][]byte{{1}},
		[]bool{true}, []uint16{1}, []uint32{1}, []uint64{1}, []int8{1}, []int16{1}, []int32{1}, []float32{1}, []float64{1}, []Char{'a'},
		Array{Code: CodeMap8, Elems: []any{Map{{"k", "v"}}}},
		Array{Code: CodeStr8, Descriptor: uint64(0x137000000c), Elems: []any{"s"}},
		Described{Descriptor: uint64(0x137000000c), Value: "session-1"},
		Described{Descriptor: Symbol("com.microsoft:correlation-filter"), Value: Map{{"label", "x"}}},
		Map{{"messages", []any{Map{{"lock-token", testLockTok}, {"message", []byte{0, 0x53, 0x75, 0xa0, 0}}}}}},
	}
	out := make([][]byte, 0, len(values))
	for _, v := range values {
		var w Buffer
		if err := w.AppendValue(v); err != nil {
			tb.Fatalf("%T: %v", v, err)
		}
		out = append(out, w.Bytes())
	}
	return out
}

// messageSeeds are realistic transfer payloads.
func messageSeeds(tb testing.TB) [][]byte {
	tb.Helper()
	full := sampleMessage(tb)
	full.DeliveryAnnotations = Map{{Symbol("x-opt-lock-token"), testLockTok}}
	full.Footer = Map{{Symbol("x-sig"), []byte{1}}}
	msgs := []*Message{
		sampleMessage(tb),
		full,
		{Properties: &Properties{MessageID: StringID("put-token-1"), ReplyTo: "$cbs$$cbs-reply-to-1", To: "$cbs"},
			ApplicationProperties: Map{{"operation", "put-token"}, {"type", "servicebus.windows.net:sastoken"},
				{"name", "amqp://localhost/q"}, {"expiration", "1767225600"}},
			Value: "SharedAccessSignature sr=x&sig=y&se=1&skn=k", HasValue: true},
		{Properties: &Properties{CorrelationID: StringID("req")},
			ApplicationProperties: Map{{"statusCode", int32(200)}, {"status-code", int32(200)}},
			Value:                 Map{{"expirations", []time.Time{testEnqueued}}}, HasValue: true},
		{Header: &Header{Priority: 4}, Sequence: [][]any{{"a", int32(1)}}},
		{Properties: &Properties{MessageID: MessageID{Kind: IDUUID, UUID: testLockTok}}, Data: [][]byte{{1}, {2}}},
	}
	var out [][]byte
	for _, m := range msgs {
		b, err := AppendMessage(nil, m)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// writeCorpus writes seeds in the "go test fuzz v1" format.
func writeCorpus(tb testing.TB, name string, seeds [][]byte) {
	tb.Helper()
	dir := filepath.Join("testdata", "fuzz", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	for i, s := range seeds {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(body), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

func TestWriteSeedCorpora(t *testing.T) {
	if !*writeSeeds {
		t.Skip("run with -write-seeds to regenerate testdata/fuzz")
	}
	writeCorpus(t, "FuzzReadValue", valueSeeds(t))
	writeCorpus(t, "FuzzParseMessage", messageSeeds(t))
}

// FuzzReadValue checks that the decoder never panics, that SkipValue and
// ReadValue agree, and that whatever decodes re-encodes to bytes that
// decode to the same value.
func FuzzReadValue(f *testing.F) {
	for _, s := range valueSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(in)
		v, err := r.ReadValue()
		s := NewReader(in)
		serr := s.SkipValue()
		if (err == nil) != (serr == nil) {
			t.Fatalf("ReadValue err %v, SkipValue err %v", err, serr)
		}
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || de.Offset < 0 || de.Offset > len(in) {
				t.Fatalf("bad error %#v", err)
			}
			return
		}
		if r.Offset() != s.Offset() {
			t.Fatalf("ReadValue consumed %d, SkipValue %d", r.Offset(), s.Offset())
		}
		var w Buffer
		if err := w.AppendValue(v); err != nil {
			t.Fatalf("re-encode %#v: %v", v, err)
		}
		v2, err := NewReader(w.Bytes()).ReadValue()
		if err != nil {
			t.Fatalf("decode re-encoded %x: %v", w.Bytes(), err)
		}
		if !valueEqual(v, v2) {
			t.Fatalf("round trip changed value\n%#v\n%#v", v, v2)
		}
		var w2 Buffer
		_ = w2.AppendValue(v2)
		if !bytes.Equal(w.Bytes(), w2.Bytes()) {
			t.Fatalf("encoding not stable\n%x\n%x", w.Bytes(), w2.Bytes())
		}
	})
}

// FuzzParseMessage checks that ParseMessage never panics and that every
// message it accepts can be re-emitted for delivery and have its
// application-properties rewritten, with the bare bytes preserved.
func FuzzParseMessage(f *testing.F) {
	for _, s := range messageSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		// Helpers given raw, unvalidated bytes must fail cleanly too.
		_, _ = RewriteAppProperties(nil, in, Map{{"k", "v"}})
		_, _ = AppendDelivery(nil, &Delivery{SenderAnnotations: in})
		_, _, _ = LookupMap(in, "k")
		m, err := ParseMessage(in)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *DecodeError", err)
			}
			return
		}
		if !bytes.HasSuffix(in, m.Bare()) {
			t.Fatal("bare is not a suffix of the payload")
		}
		if _, err := m.AppProperties(); err != nil {
			t.Fatalf("validated app properties do not decode: %v", err)
		}
		if _, err := m.DeliveryAnnotations(); err != nil {
			t.Fatalf("validated delivery annotations do not decode: %v", err)
		}
		out, err := AppendDelivery(nil, &Delivery{
			Header:            m.Header,
			HasLockToken:      true,
			Annotations:       BrokerAnnotations{SequenceNumber: 1, EnqueuedTime: testEnqueued},
			SenderAnnotations: m.MessageAnnotationsRaw(),
			Bare:              m.Bare(),
		})
		if err != nil {
			t.Fatalf("AppendDelivery: %v", err)
		}
		d, err := ParseMessage(out)
		if err != nil {
			t.Fatalf("delivery does not parse: %v\n%x", err, out)
		}
		if !bytes.Equal(d.Bare(), m.Bare()) || d.Header != m.Header {
			t.Fatal("delivery changed the bare message or header")
		}
		rw, err := RewriteAppProperties(nil, m.Bare(), Map{{Symbol("DeadLetterReason"), "r"}})
		if err != nil {
			t.Fatalf("RewriteAppProperties: %v", err)
		}
		n, err := ParseMessage(rw)
		if err != nil {
			t.Fatalf("rewritten message does not parse: %v\n%x", err, rw)
		}
		if v, ok, err := n.AppProperty("DeadLetterReason"); err != nil || !ok || v != "r" {
			t.Fatalf("rewritten property: %v %v %v", v, ok, err)
		}
		if !bytes.Equal(n.BodyRaw(), m.BodyRaw()) || !bytes.Equal(n.PropertiesRaw(), m.PropertiesRaw()) {
			t.Fatal("rewrite changed other sections")
		}
	})
}
