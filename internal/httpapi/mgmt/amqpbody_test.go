package mgmt

import (
	"encoding/base64"
	"testing"

	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/broker"
)

// TestAMQPMessages: messages that came in over AMQP show their data or
// value body and their application-properties, with broker changes merged.
func TestAMQPMessages(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.queue("q", QueueProperties{})
	bare := func(m *encoding.Message) []byte {
		b, err := encoding.AppendMessage(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	data := bare(&encoding.Message{
		Properties:            &encoding.Properties{MessageID: encoding.StringID("m1")},
		ApplicationProperties: encoding.Map{{Key: "k", Value: "v"}, {Key: encoding.Symbol("n"), Value: int32(7)}, {Key: "s", Value: encoding.Symbol("sym")}},
		Data:                  [][]byte{[]byte("hello")},
	})
	value := bare(&encoding.Message{Value: "as a value", HasValue: true})
	two := bare(&encoding.Message{Data: [][]byte{[]byte("a"), []byte("b")}})
	var msgs []*broker.Message
	for _, b := range [][]byte{data, value, two, []byte("not amqp")} {
		msgs = append(msgs, &broker.Message{Format: broker.FormatAMQP, Body: b, MessageID: "m1"})
	}
	if _, err := f.b.Send(f.ctx, "q", msgs); err != nil {
		t.Fatal(err)
	}

	got := f.receive("q", 4)
	if len(got) != 4 {
		t.Fatalf("received %d", len(got))
	}
	if got[0].Format != "amqp" || got[0].Body == nil || *got[0].Body != "hello" ||
		got[0].Properties["k"] != "v" || got[0].Properties["n"] != 7.0 || got[0].Properties["s"] != "sym" {
		t.Fatalf("data body: %+v", got[0])
	}
	if got[1].Body == nil || *got[1].Body != "as a value" {
		t.Fatalf("value body: %+v", got[1])
	}
	for i, want := range [][]byte{two, []byte("not amqp")} {
		m := got[2+i]
		if m.Body != nil || m.BodyBase64 != base64.StdEncoding.EncodeToString(want) || m.Format != "amqp" {
			t.Fatalf("raw body %d: %+v", i, m)
		}
	}
	// An abandon's property changes win over the message's own.
	if err := f.c.Settle(f.ctx, "q", SettleRequest{LockToken: got[0].LockToken, Disposition: "abandon", Properties: map[string]any{"k": "changed"}}); err != nil {
		t.Fatal(err)
	}
	p, err := f.c.Peek(f.ctx, "q", PeekOptions{})
	if err != nil || p[0].Properties["k"] != "changed" || p[0].Properties["n"] != 7.0 {
		t.Fatalf("after abandon: %+v %v", p, err)
	}
}
