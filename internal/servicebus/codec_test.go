package servicebus

import (
	"bytes"
	"context"
	"reflect"
	"testing"
	"time"

	goamqp "github.com/Azure/go-amqp"

	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/broker/brokertest"
	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/store/memstore"
)

var codecTime = time.Date(2026, 3, 4, 5, 6, 7, 8e6, time.UTC)

// codecMessage is a message with application properties of every kind the
// codec maps, a two-section body and a footer.
func codecMessage() *encoding.Message {
	return &encoding.Message{
		Properties: &encoding.Properties{
			MessageID:     encoding.MessageID{Kind: encoding.IDUUID, UUID: encoding.UUID{1, 2, 3}},
			CorrelationID: encoding.MessageID{Kind: encoding.IDUlong, Ulong: 77},
			Subject:       "order", To: "shop", ContentType: "application/json",
			CreationTime: codecTime, GroupID: "g1", UserID: []byte("user"),
		},
		ApplicationProperties: encoding.Map{
			{Key: "color", Value: "red"},
			{Key: "sym", Value: encoding.Symbol("s")},
			{Key: "ch", Value: encoding.Char('é')},
			{Key: "id", Value: encoding.UUID{9}},
			{Key: "i8", Value: int8(-8)},
			{Key: "u16", Value: uint16(16)},
			{Key: "n", Value: int64(42)},
			{Key: "f", Value: float32(1.5)},
			{Key: "ok", Value: true},
			{Key: "when", Value: codecTime},
			{Key: "bin", Value: []byte{0, 1}},
			{Key: "dec", Value: encoding.Decimal64{1, 2, 3, 4, 5, 6, 7, 8}},
			{Key: "list", Value: []any{int32(1), "x"}},
			{Key: "nothing", Value: nil},
			{Key: encoding.Symbol("symkey"), Value: "v"},
		},
		Data:   [][]byte{[]byte("part one"), []byte("part two")},
		Footer: encoding.Map{{Key: encoding.Symbol("f"), Value: "foot"}},
	}
}

func encodedValue(t *testing.T, v any) []byte {
	t.Helper()
	var w encoding.Buffer
	if err := w.AppendValue(v); err != nil {
		t.Fatal(err)
	}
	return w.Bytes()
}

func TestCodecAppProperties(t *testing.T) {
	m, err := FromAMQP(amqpMsg(t, codecMessage()))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Codec{}.AppProperties(m)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"color": "red", "sym": "s", "ch": "é", "id": broker.LockToken{9}, "i8": int8(-8), "u16": uint16(16),
		"n": int64(42), "f": float32(1.5), "ok": true, "bin": []byte{0, 1},
		"dec":     encodedValue(t, encoding.Decimal64{1, 2, 3, 4, 5, 6, 7, 8}),
		"list":    encodedValue(t, []any{int32(1), "x"}),
		"nothing": nil, "symkey": "v",
	}
	when, isTime := got["when"].(time.Time)
	if !isTime || !when.Equal(codecTime) {
		t.Fatalf("when = %#v", got["when"])
	}
	delete(got, "when")
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("AppProperties:\n got %#v\nwant %#v", got, want)
	}
	// No application-properties section: nil.
	plain, _ := FromAMQP(amqpMsg(t, simple("a", "b", "")))
	if p, err := (Codec{}).AppProperties(plain); err != nil || p != nil {
		t.Fatalf("no section: %v, %v", p, err)
	}
	// A raw (JSON API) message is not the codec's.
	if p, err := (Codec{}).AppProperties(&broker.Message{Format: broker.FormatRaw, Body: []byte("x")}); err != nil || p != nil {
		t.Fatalf("raw: %v, %v", p, err)
	}
}

func TestCodecRewrite(t *testing.T) {
	m, err := FromAMQP(amqpMsg(t, codecMessage()))
	if err != nil {
		t.Fatal(err)
	}
	props, err := Codec{}.AppProperties(m)
	if err != nil {
		t.Fatal(err)
	}
	// What a rule action does: change one, remove one, add two, and change
	// system properties.
	props["color"] = "blue"
	delete(props, "n")
	delete(props, "ch") // go-amqp cannot decode a char
	props["added"] = int64(7)
	props["RuleName"] = "r1"
	c := *m
	c.Subject = "changed"
	c.CorrelationID = "corr"
	c.SessionID = ""
	body, err := Codec{}.Rewrite(&c, props)
	if err != nil {
		t.Fatal(err)
	}
	v, err := encoding.ParseMessage(body)
	if err != nil {
		t.Fatalf("the rewritten message does not parse: %v", err)
	}
	p := v.Properties
	if p.MessageID.Kind != encoding.IDUUID || p.MessageID.UUID != (encoding.UUID{1, 2, 3}) || p.CorrelationID.Kind != encoding.IDString || p.CorrelationID.Str != "corr" ||
		p.Subject != "changed" || p.To != "shop" || p.ContentType != "application/json" || p.GroupID != "" ||
		!p.CreationTime.Equal(codecTime) || string(p.UserID) != "user" {
		t.Fatalf("properties %+v", p)
	}
	apm, err := v.AppProperties()
	if err != nil {
		t.Fatal(err)
	}
	ap := map[string]any{}
	for _, kv := range apm {
		ap[asString(kv.Key)] = kv.Value
	}
	if ap["color"] != "blue" || ap["added"] != int64(7) || ap["RuleName"] != "r1" || ap["n"] != nil {
		t.Fatalf("changed properties %#v", ap)
	}
	// Untouched properties keep their AMQP types.
	if ap["sym"] != encoding.Symbol("s") || ap["id"] != (encoding.UUID{9}) || ap["ch"] != nil || ap["i8"] != int8(-8) ||
		ap["f"] != float32(1.5) || !bytes.Equal(ap["bin"].([]byte), []byte{0, 1}) || ap["symkey"] != "v" ||
		ap["dec"] != (encoding.Decimal64{1, 2, 3, 4, 5, 6, 7, 8}) || ap["u16"] != uint16(16) {
		t.Fatalf("kept properties %#v", ap)
	}
	if l, isList := ap["list"].([]any); !isList || len(l) != 2 {
		t.Fatalf("list property decodes as %#v", ap["list"])
	}
	if !bytes.Equal(v.BodyRaw(), mustParse(t, m.Body).BodyRaw()) || !bytes.Equal(v.FooterRaw(), mustParse(t, m.Body).FooterRaw()) {
		t.Fatal("body or footer changed")
	}
	// The rewritten message reads back as the same properties.
	c.Body = body
	again, err := Codec{}.AppProperties(&c)
	if err != nil {
		t.Fatal(err)
	}
	delete(again, "when")
	delete(props, "when")
	delete(again, "symkey") // read back as a string key
	delete(props, "symkey")
	if !reflect.DeepEqual(again, props) {
		t.Fatalf("read back:\n got %#v\nwant %#v", again, props)
	}
	// A message with no properties section at all gets one.
	bare, err := Codec{}.Rewrite(&broker.Message{Format: broker.FormatAMQP, MessageID: "x", Body: amqpMsg(t, &encoding.Message{Value: "v", HasValue: true})},
		map[string]any{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	var gm2 goamqp.Message
	if err := gm2.UnmarshalBinary(bare); err != nil || gm2.Properties.MessageID != "x" || gm2.ApplicationProperties["k"] != "v" || gm2.Value != "v" {
		t.Fatalf("rewrite of a value message: %+v %v", gm2, err)
	}
	if _, err := (Codec{}).Rewrite(&broker.Message{Format: broker.FormatAMQP, Body: []byte{0x00, 0x53}}, nil); err == nil {
		t.Fatal("Rewrite of a broken body succeeded")
	}
}

// newCodecBroker is a broker on memstore with the codec, as the server
// builds it.
func newCodecBroker(t *testing.T, limits broker.Limits) *broker.Broker {
	t.Helper()
	b, err := broker.New(broker.Config{Store: memstore.New(), Clock: clock.NewFake(brokertest.Epoch), Codec: Codec{}, Limits: limits})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestTopicRoutingWithCodec sends AMQP messages to a topic and checks that
// rules see their application properties and that an action's copy is
// delivered with the change and RuleName.
func TestTopicRoutingWithCodec(t *testing.T) {
	ctx := context.Background()
	b := newCodecBroker(t, broker.Limits{})
	if _, err := b.CreateTopic(ctx, "t", broker.QueueProperties{}); err != nil {
		t.Fatal(err)
	}
	red := broker.Rule{Name: "red", Filter: broker.RuleFilter{Kind: broker.FilterSQL, SQL: "color = 'red' AND n > 10"},
		Action: "SET color = 'crimson'; SET sys.Label = 'relabelled'"}
	if _, err := b.CreateSubscription(ctx, "t", "reds", broker.QueueProperties{}, &red); err != nil {
		t.Fatal(err)
	}
	corr := broker.Rule{Name: "c", Filter: broker.RuleFilter{Kind: broker.FilterCorrelation,
		Correlation: &broker.CorrelationFilter{Properties: map[string]any{"sym": "s"}}}}
	if _, err := b.CreateSubscription(ctx, "t", "syms", broker.QueueProperties{}, &corr); err != nil {
		t.Fatal(err)
	}
	send := func(m *encoding.Message) {
		bm, err := FromAMQP(amqpMsg(t, m))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Send(ctx, "t", []*broker.Message{bm}); err != nil {
			t.Fatal(err)
		}
	}
	msg := func(id string, props encoding.Map) *encoding.Message {
		return &encoding.Message{Properties: &encoding.Properties{MessageID: encoding.StringID(id), Subject: "s"},
			ApplicationProperties: props, Data: [][]byte{[]byte(id)}}
	}
	send(msg("match", encoding.Map{{Key: "color", Value: "red"}, {Key: "n", Value: int32(11)}, {Key: "sym", Value: encoding.Symbol("s")}}))
	send(msg("small", encoding.Map{{Key: "color", Value: "red"}, {Key: "n", Value: int32(1)}}))
	send(msg("blue", encoding.Map{{Key: "color", Value: "blue"}, {Key: "n", Value: int64(99)}}))

	got, err := b.Receive(ctx, "t/Subscriptions/reds", broker.ReceiveOptions{Mode: broker.ReceiveAndDelete, MaxMessages: 10})
	if err != nil || len(got) != 1 {
		t.Fatalf("reds received %d, %v", len(got), err)
	}
	payload, err := AppendDelivery(nil, got[0], DeliveryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var gm goamqp.Message
	if err := gm.UnmarshalBinary(payload); err != nil {
		t.Fatal(err)
	}
	if gm.Properties.MessageID != "match" || *gm.Properties.Subject != "relabelled" || gm.ApplicationProperties["color"] != "crimson" ||
		gm.ApplicationProperties["RuleName"] != "red" || gm.ApplicationProperties["n"] != int32(11) ||
		gm.ApplicationProperties["sym"] != "s" || string(gm.GetData()) != "match" {
		t.Fatalf("action copy: %+v subject %q %#v %q %T %T", gm.Properties, *gm.Properties.Subject, gm.ApplicationProperties, gm.GetData(), gm.ApplicationProperties["n"], gm.ApplicationProperties["sym"])
	}
	got, err = b.Receive(ctx, "t/Subscriptions/syms", broker.ReceiveOptions{Mode: broker.ReceiveAndDelete, MaxMessages: 10})
	if err != nil || len(got) != 1 || got[0].MessageID != "match" {
		t.Fatalf("syms received %v, %v", got, err)
	}
}

func mustParse(t *testing.T, b []byte) *encoding.MessageView {
	t.Helper()
	v, err := encoding.ParseMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestDeliveryDeadLetterFields: a dead-lettered message whose reason lives
// only in its broker fields is delivered with DeadLetterReason and
// DeadLetterErrorDescription application properties (strings); one that
// carries them as properties keeps those.
func TestDeliveryDeadLetterFields(t *testing.T) {
	for _, raw := range []bool{false, true} {
		m, err := FromAMQP(amqpMsg(t, simple("id", "body", "")))
		if err != nil {
			t.Fatal(err)
		}
		if raw {
			m = &broker.Message{MessageID: "id", Format: broker.FormatRaw, Body: []byte("body")}
		}
		m.SequenceNumber, m.EnqueuedTime = 1, codecTime
		m.DeadLettered, m.DeadLetterReason, m.DeadLetterDescription = true, "FilterEvaluationException", "division by zero"
		payload, err := AppendDelivery(nil, m, DeliveryOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var gm goamqp.Message
		if err := gm.UnmarshalBinary(payload); err != nil {
			t.Fatal(err)
		}
		if gm.ApplicationProperties[PropDeadLetterReason] != "FilterEvaluationException" || gm.ApplicationProperties[PropDeadLetterDescription] != "division by zero" {
			t.Fatalf("raw=%v: %v", raw, gm.ApplicationProperties)
		}
		m.Properties = map[string]any{PropDeadLetterReason: "mine"}
		payload, _ = AppendDelivery(nil, m, DeliveryOptions{})
		gm = goamqp.Message{}
		if err := gm.UnmarshalBinary(payload); err != nil || gm.ApplicationProperties[PropDeadLetterReason] != "mine" {
			t.Fatalf("raw=%v: properties win: %v %v", raw, gm.ApplicationProperties, err)
		}
	}
}
