package servicebus

import (
	"bytes"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/broker"
)

// codecSeeds are bare messages: the codec test message, plain ones, a
// value body, a message with only application properties, and odd maps.
func codecSeeds(tb testing.TB) [][]byte {
	tb.Helper()
	var out [][]byte
	for _, m := range []*encoding.Message{
		codecMessage(),
		simple("a", "body", "s"),
		{Value: "v", HasValue: true},
		{ApplicationProperties: encoding.Map{{Key: "k", Value: int64(1)}, {Key: "k", Value: "dup"}}},
		{Properties: &encoding.Properties{Subject: "x"}, ApplicationProperties: encoding.Map{{Key: encoding.Symbol("sym"), Value: "symbol key"},
			{Key: "m", Value: encoding.Map{{Key: "inner", Value: true}}}, {Key: "t", Value: time.UnixMilli(0)}},
			Sequence: [][]any{{int32(1)}}},
	} {
		out = append(out, amqpMsg(tb, m))
	}
	return out
}

// FuzzCodec feeds bare messages to the codec: AppProperties yields only
// broker property types, and Rewrite of what it read (plus a change) is a
// message that parses, reads back as the same properties and keeps the
// body sections byte for byte.
func FuzzCodec(f *testing.F) {
	for _, s := range codecSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := FromAMQP(data)
		if err != nil {
			// Not a message FromAMQP accepts: the codec must still not
			// panic on it.
			raw := &broker.Message{Format: broker.FormatAMQP, Body: data}
			if p, err := (Codec{}).AppProperties(raw); err == nil {
				_, _ = Codec{}.Rewrite(raw, p)
			}
			return
		}
		props, err := Codec{}.AppProperties(m)
		if err != nil {
			return
		}
		for k, v := range props {
			switch v.(type) {
			case nil, bool, string, []byte, time.Time, int8, int16, int32, int64,
				uint8, uint16, uint32, uint64, float32, float64, broker.LockToken:
			default:
				t.Fatalf("property %q has type %T", k, v)
			}
		}
		if props == nil {
			props = map[string]any{}
		}
		props["RuleName"] = "fuzz"
		m.Subject = "changed"
		body, err := Codec{}.Rewrite(m, props)
		if err != nil {
			t.Fatalf("Rewrite of a message AppProperties read: %v", err)
		}
		v, err := encoding.ParseMessage(body)
		if err != nil {
			t.Fatalf("the rewritten message does not parse: %v", err)
		}
		if v.Properties.Subject != "changed" || idString(v.Properties.MessageID) != m.MessageID {
			t.Fatalf("properties %+v", v.Properties)
		}
		c := *m
		c.Body = body
		again, err := Codec{}.AppProperties(&c)
		if err != nil {
			t.Fatalf("AppProperties of the rewritten message: %v", err)
		}
		if len(again) != len(props) {
			t.Fatalf("read back %d properties, wrote %d", len(again), len(props))
		}
		for k, want := range props {
			if got, found := again[k]; !found || !sameValue(got, want) {
				t.Fatalf("property %q: read back %#v, wrote %#v", k, got, want)
			}
		}
		orig, err := encoding.ParseMessage(m.Body)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(orig.BodyRaw(), v.BodyRaw()) || !bytes.Equal(orig.FooterRaw(), v.FooterRaw()) {
			t.Fatal("body or footer changed")
		}
	})
}
