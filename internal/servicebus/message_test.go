package servicebus

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	goamqp "github.com/Azure/go-amqp"

	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/broker"
)

var (
	t0   = time.Date(2026, 3, 4, 5, 6, 7, 8_000_000, time.UTC)
	uuid = encoding.UUID{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10}
)

// everyType holds an application property of every AMQP type a client
// can send.
func everyType() encoding.Map {
	return encoding.Map{
		{Key: "null", Value: nil},
		{Key: "bool", Value: true},
		{Key: "ubyte", Value: uint8(200)},
		{Key: "ushort", Value: uint16(60000)},
		{Key: "uint", Value: uint32(4000000000)},
		{Key: "ulong", Value: uint64(1) << 63},
		{Key: "byte", Value: int8(-100)},
		{Key: "short", Value: int16(-30000)},
		{Key: "int", Value: int32(-2000000000)},
		{Key: "long", Value: int64(-1) << 62},
		{Key: "float", Value: float32(1.5)},
		{Key: "double", Value: 2.25},
		{Key: "decimal32", Value: encoding.Decimal32{1, 2, 3, 4}},
		{Key: "decimal64", Value: encoding.Decimal64{1, 2, 3, 4, 5, 6, 7, 8}},
		{Key: "decimal128", Value: encoding.Decimal128{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}},
		{Key: "char", Value: encoding.Char('€')},
		{Key: "timestamp", Value: t0},
		{Key: "uuid", Value: uuid},
		{Key: "binary", Value: []byte{0, 1, 2}},
		{Key: "string", Value: "héllo"},
		{Key: "symbol", Value: encoding.Symbol("sym")},
		{Key: "list", Value: []any{int32(1), "two"}},
		{Key: "map", Value: encoding.Map{{Key: "k", Value: "v"}}},
		{Key: "array", Value: []int64{1, 2, 3}},
	}
}

func fullMessage() *encoding.Message {
	return &encoding.Message{
		Header: &encoding.Header{Durable: true, Priority: 7, TTL: 90_000, HasTTL: true, DeliveryCount: 3},
		MessageAnnotations: encoding.Map{
			{Key: encoding.Symbol("x-opt-scheduled-enqueue-time"), Value: t0.Add(time.Hour)},
			{Key: "x-opt-partition-key", Value: "pk"}, // rhea writes string keys
		},
		Properties: &encoding.Properties{
			MessageID:          encoding.StringID("mid"),
			UserID:             []byte("user"),
			To:                 "to",
			Subject:            "subject",
			ReplyTo:            "reply-to",
			CorrelationID:      encoding.StringID("cid"),
			ContentType:        "application/json",
			ContentEncoding:    "gzip",
			AbsoluteExpiryTime: t0.Add(2 * time.Hour),
			CreationTime:       t0,
			GroupID:            "session-1",
			GroupSequence:      5,
			HasGroupSequence:   true,
			ReplyToGroupID:     "reply-session",
		},
		ApplicationProperties: everyType(),
		Data:                  [][]byte{[]byte(`{"a":1}`)},
		Footer:                encoding.Map{{Key: encoding.Symbol("f"), Value: "foot"}},
	}
}

func TestFromAMQPFields(t *testing.T) {
	t.Parallel()
	payload := amqpMsg(t, fullMessage())
	m, err := FromAMQP(payload)
	if err != nil {
		t.Fatal(err)
	}
	want := broker.Message{
		MessageID: "mid", SessionID: "session-1", PartitionKey: "pk", CorrelationID: "cid",
		Subject: "subject", To: "to", ReplyTo: "reply-to", ReplyToSessionID: "reply-session",
		ContentType: "application/json", TimeToLive: 90 * time.Second,
		ScheduledEnqueueTime: t0.Add(time.Hour), Format: broker.FormatAMQP,
	}
	got := *m
	got.Body = nil
	view, _ := encoding.ParseMessage(payload)
	if !bytes.Equal(got.Annotations, view.MessageAnnotationsRaw()) {
		t.Fatalf("Annotations are not the sender's message-annotations")
	}
	got.Annotations = nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("FromAMQP:\n got %+v\nwant %+v", got, want)
	}
	if !bytes.Equal(m.Body, view.Bare()) {
		t.Fatal("Body is not the bare message")
	}
	// The body is a copy.
	payload[len(payload)-1] ^= 0xff
	if bytes.Equal(m.Body, view.Bare()) {
		t.Fatal("Body aliases the payload")
	}
}

func TestFromAMQPIDKinds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		id   encoding.MessageID
		want string
	}{
		{encoding.MessageID{}, ""},
		{encoding.StringID("s"), "s"},
		{encoding.MessageID{Kind: encoding.IDUlong, Ulong: 42}, "42"},
		{encoding.MessageID{Kind: encoding.IDUUID, UUID: uuid}, "01234567-89ab-cdef-fedc-ba9876543210"},
		{encoding.MessageID{Kind: encoding.IDBinary, Binary: []byte{0xca, 0xfe}}, "cafe"},
	} {
		m, err := FromAMQP(amqpMsg(t, &encoding.Message{
			Properties: &encoding.Properties{MessageID: tc.id, CorrelationID: tc.id}, Data: [][]byte{nil}}))
		if err != nil {
			t.Fatal(err)
		}
		if tc.id.IsZero() {
			// No id: the broker assigns a UUID and writes it into the
			// stored properties.
			view, err := encoding.ParseMessage(m.Body)
			if err != nil || len(m.MessageID) != 36 || view.Properties.MessageID.Str != m.MessageID || m.CorrelationID != "" {
				t.Errorf("assigned id %q, stored %+v, correlation %q, %v", m.MessageID, view, m.CorrelationID, err)
			}
			continue
		}
		if m.MessageID != tc.want || m.CorrelationID != tc.want {
			t.Errorf("id %+v: MessageID %q CorrelationID %q, want %q", tc.id, m.MessageID, m.CorrelationID, tc.want)
		}
	}
}

func TestFromAMQPErrors(t *testing.T) {
	t.Parallel()
	for _, p := range [][]byte{nil, {0x00}, {0x00, 0x53, 0x75}, {0x40}} {
		if _, err := FromAMQP(p); err == nil {
			t.Errorf("FromAMQP(%x) accepted", p)
		}
	}
	if _, err := FromAMQPBatch(amqpMsg(t, &encoding.Message{HasValue: true, Value: "x"})); err == nil {
		t.Error("a batch without data sections was accepted")
	}
}

func TestFromAMQPBatch(t *testing.T) {
	t.Parallel()
	inner1 := amqpMsg(t, simple("a", "one", ""))
	inner2 := amqpMsg(t, simple("b", "two", "s"))
	env := amqpMsg(t, &encoding.Message{Properties: &encoding.Properties{MessageID: encoding.StringID("a")},
		Data: [][]byte{inner1, inner2}})
	msgs, err := FromAMQPBatch(env)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].MessageID != "a" || msgs[1].MessageID != "b" || msgs[1].SessionID != "s" {
		t.Fatalf("batch: %+v", msgs)
	}
	if msgs, err := FromTransfer(env, MessageFormatBatch); err != nil || len(msgs) != 2 {
		t.Fatalf("FromTransfer batch: %v %v", msgs, err)
	}
	if msgs, err := FromTransfer(env, 0); err != nil || len(msgs) != 1 || msgs[0].MessageID != "a" {
		t.Fatalf("FromTransfer single: %v %v", msgs, err)
	}
	if _, err := FromTransfer([]byte{0x40}, 0); err == nil {
		t.Fatal("FromTransfer accepted garbage")
	}
	// A bad inner message fails the batch.
	bad := amqpMsg(t, &encoding.Message{Data: [][]byte{inner1, {0x40}}})
	if _, err := FromAMQPBatch(bad); err == nil {
		t.Fatal("a batch with a bad inner message was accepted")
	}
}

// roundTrip sends orig through FromAMQP and the broker, receives it in
// peek-lock and returns its delivery payload.
func roundTrip(t *testing.T, orig *encoding.Message) ([]byte, *broker.Message) {
	t.Helper()
	e := setup(t)
	e.Queue("q", broker.QueueProperties{})
	e.sendAMQP("q", orig)
	e.Clock.Set(t0.Add(time.Hour + time.Second)) // past the scheduled time, within the TTL
	got := e.Receive("q", 1, broker.PeekLock)
	if len(got) != 1 {
		t.Fatalf("received %d messages", len(got))
	}
	payload, err := AppendDelivery(nil, got[0], DeliveryOptions{PeekLock: true})
	if err != nil {
		t.Fatal(err)
	}
	return payload, got[0]
}

// TestRoundTripEveryType sends a message with every property type through
// FromAMQP, the broker and AppendDelivery: the bare message and every
// value's type survive.
func TestRoundTripEveryType(t *testing.T) {
	t.Parallel()
	orig := fullMessage()
	payload, _ := roundTrip(t, orig)
	view, err := encoding.ParseMessage(payload)
	if err != nil {
		t.Fatal(err)
	}
	origView, _ := encoding.ParseMessage(amqpMsg(t, orig))
	if !bytes.Equal(view.Bare(), origView.Bare()) {
		t.Fatal("the bare message changed")
	}
	ap, err := view.AppProperties()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ap, everyType()) {
		t.Fatalf("application properties:\n got %#v\nwant %#v", ap, everyType())
	}
	if !view.HasHeader || view.Header.DeliveryCount != 0 || view.Header.TTL != 90_000 {
		t.Fatalf("header %+v", view.Header)
	}
}

// TestRoundTripGo checks what go-amqp, and so the Go SDK, reads from a
// delivered message. go-amqp cannot decode decimals and chars, so they
// are left out.
func TestRoundTripGo(t *testing.T) {
	t.Parallel()
	orig := fullMessage()
	var props encoding.Map
	for _, kv := range orig.ApplicationProperties {
		if k := kv.Key.(string); k != "char" && (len(k) < 7 || k[:7] != "decimal") {
			props = append(props, kv)
		}
	}
	orig.ApplicationProperties = props
	payload, m := roundTrip(t, orig)

	var gm goamqp.Message
	if err := gm.UnmarshalBinary(payload); err != nil {
		t.Fatal(err)
	}
	seq := checkGoMessage(t, &gm)
	if seq != m.SequenceNumber {
		t.Errorf("sequence number %d, want %d", seq, m.SequenceNumber)
	}
	if gm.Header.DeliveryCount != 0 || gm.Header.TTL != 90*time.Second {
		t.Errorf("header %+v", gm.Header)
	}
	if lu := gm.Annotations["x-opt-locked-until"].(time.Time); !lu.Equal(m.LockedUntil) {
		t.Errorf("locked-until %v, want %v", lu, m.LockedUntil)
	}
	if st := gm.Annotations["x-opt-scheduled-enqueue-time"].(time.Time); !st.Equal(t0.Add(time.Hour)) || gm.Annotations["x-opt-partition-key"] != "pk" {
		t.Errorf("annotations %v", gm.Annotations)
	}
	if gm.DeliveryAnnotations != nil {
		t.Errorf("delivery annotations without IncludeLockToken: %v", gm.DeliveryAnnotations)
	}
	p := gm.Properties
	if p.MessageID != "mid" || *p.GroupID != "session-1" || *p.Subject != "subject" || *p.To != "to" ||
		*p.ReplyTo != "reply-to" || p.CorrelationID != "cid" || *p.ContentType != "application/json" ||
		*p.ReplyToGroupID != "reply-session" || *p.ContentEncoding != "gzip" || *p.GroupSequence != 5 {
		t.Errorf("properties %+v", p)
	}
	want := map[string]any{
		"null": nil, "bool": true, "ubyte": uint8(200), "ushort": uint16(60000), "uint": uint32(4000000000),
		"ulong": uint64(1) << 63, "byte": int8(-100), "short": int16(-30000), "int": int32(-2000000000),
		"long": int64(-1) << 62, "float": float32(1.5), "double": 2.25,
		"uuid": goamqp.UUID(uuid), "binary": []byte{0, 1, 2}, "string": "héllo", "symbol": "sym",
		"array": []int64{1, 2, 3},
	}
	for k, v := range want {
		if !reflect.DeepEqual(gm.ApplicationProperties[k], v) {
			t.Errorf("go-amqp property %s = %#v (%T), want %#v (%T)", k, gm.ApplicationProperties[k], gm.ApplicationProperties[k], v, v)
		}
	}
	if ts := gm.ApplicationProperties["timestamp"].(time.Time); !ts.Equal(t0) {
		t.Errorf("timestamp property %v", ts)
	}
	if string(gm.GetData()) != `{"a":1}` {
		t.Errorf("data %q", gm.GetData())
	}
}

func TestAppendDeliveryLockToken(t *testing.T) {
	t.Parallel()
	m := &broker.Message{Format: broker.FormatAMQP, Body: amqpMsg(t, simple("x", "b", "")),
		SequenceNumber: 7, EnqueuedTime: t0, LockToken: broker.LockToken(uuid), LockedUntil: t0.Add(time.Minute),
		DeliveryCount: 2, State: broker.StateDeferred}
	payload, err := AppendDelivery([]byte("prefix"), m, DeliveryOptions{PeekLock: true, IncludeLockToken: true})
	if err != nil {
		t.Fatal(err)
	}
	if string(payload[:6]) != "prefix" {
		t.Fatal("dst was not kept")
	}
	var gm goamqp.Message
	if err := gm.UnmarshalBinary(payload[6:]); err != nil {
		t.Fatal(err)
	}
	checkGoMessage(t, &gm)
	if tok, isUUID := gm.DeliveryAnnotations["x-opt-lock-token"].(goamqp.UUID); !isUUID || tok != goamqp.UUID(uuid) {
		t.Fatalf("x-opt-lock-token %#v, want the uuid in RFC 4122 order", gm.DeliveryAnnotations["x-opt-lock-token"])
	}
	if gm.Header.DeliveryCount != 2 || gm.Annotations["x-opt-message-state"] != int32(1) {
		t.Fatalf("header %+v annotations %v", gm.Header, gm.Annotations)
	}
	// Without PeekLock neither the lock nor the token is written.
	payload, _ = AppendDelivery(nil, m, DeliveryOptions{})
	gm = goamqp.Message{}
	if err := gm.UnmarshalBinary(payload); err != nil {
		t.Fatal(err)
	}
	if _, has := gm.Annotations["x-opt-locked-until"]; has || gm.DeliveryAnnotations != nil {
		t.Fatalf("peek delivery has lock fields: %v %v", gm.Annotations, gm.DeliveryAnnotations)
	}
}

func TestDeliveryTagByteOrder(t *testing.T) {
	t.Parallel()
	tok := broker.LockToken(uuid)
	tag := DeliveryTag(tok)
	// .NET Guid.ToByteArray order: 0-3 reversed, 4-5 and 6-7 swapped.
	want := [16]byte{0x67, 0x45, 0x23, 0x01, 0xab, 0x89, 0xef, 0xcd, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10}
	if tag != want {
		t.Fatalf("tag %x, want %x", tag, want)
	}
	back, ok := LockTokenFromDeliveryTag(tag[:])
	if !ok || back != tok {
		t.Fatalf("LockTokenFromDeliveryTag = %v %v", back, ok)
	}
	if _, ok := LockTokenFromDeliveryTag(tag[:15]); ok {
		t.Fatal("a 15-byte tag was accepted")
	}
}

func TestAppendDeliveryPropertiesMerged(t *testing.T) {
	t.Parallel()
	bare := amqpMsg(t, &encoding.Message{
		Properties:            &encoding.Properties{MessageID: encoding.StringID("x")},
		ApplicationProperties: encoding.Map{{Key: "keep", Value: int32(1)}, {Key: "over", Value: "old"}},
		Data:                  [][]byte{[]byte("b")},
	})
	m := &broker.Message{Format: broker.FormatAMQP, Body: bare, SequenceNumber: 1, EnqueuedTime: t0,
		DeadLettered: true, DeadLetterSource: "q",
		Properties: map[string]any{"over": int(5), PropDeadLetterReason: "r", PropDeadLetterDescription: nil,
			"tok": broker.LockToken(uuid), "u": uint(3)}}
	payload, err := AppendDelivery(nil, m, DeliveryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var gm goamqp.Message
	if err := gm.UnmarshalBinary(payload); err != nil {
		t.Fatal(err)
	}
	checkGoMessage(t, &gm)
	ap := gm.ApplicationProperties
	if ap["keep"] != int32(1) || ap["over"] != int64(5) || ap[PropDeadLetterReason] != "r" ||
		ap[PropDeadLetterDescription] != "" || ap["tok"] != goamqp.UUID(uuid) || ap["u"] != uint64(3) {
		t.Fatalf("application properties %#v", ap)
	}
	if gm.Annotations["x-opt-deadletter-source"] != "q" {
		t.Fatalf("annotations %v", gm.Annotations)
	}
}

// A sender's own DeadLetterReason of another type would panic the Go SDK;
// it is delivered as a string.
func TestAppendDeliveryFixesDeadLetterTypes(t *testing.T) {
	t.Parallel()
	bare := amqpMsg(t, &encoding.Message{
		Properties:            &encoding.Properties{},
		ApplicationProperties: encoding.Map{{Key: PropDeadLetterReason, Value: int32(7)}, {Key: PropDeadLetterDescription, Value: nil}},
	})
	payload, err := AppendDelivery(nil, &broker.Message{Format: broker.FormatAMQP, Body: bare, EnqueuedTime: t0}, DeliveryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var gm goamqp.Message
	if err := gm.UnmarshalBinary(payload); err != nil {
		t.Fatal(err)
	}
	checkGoMessage(t, &gm)
	if gm.ApplicationProperties[PropDeadLetterReason] != "7" || gm.ApplicationProperties[PropDeadLetterDescription] != "" {
		t.Fatalf("application properties %#v", gm.ApplicationProperties)
	}
}

func TestAppendDeliveryAddsProperties(t *testing.T) {
	t.Parallel()
	// A bare message without a properties section (only a body) gets an
	// empty one: Go reads the header only when properties are present.
	bare := amqpMsg(t, &encoding.Message{HasValue: true, Value: "v"})
	payload, err := AppendDelivery(nil, &broker.Message{Format: broker.FormatAMQP, Body: bare, EnqueuedTime: t0,
		TimeToLive: time.Minute}, DeliveryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var gm goamqp.Message
	if err := gm.UnmarshalBinary(payload); err != nil {
		t.Fatal(err)
	}
	checkGoMessage(t, &gm)
	if gm.Value != "v" || gm.Header.TTL != time.Minute {
		t.Fatalf("value %v header %+v", gm.Value, gm.Header)
	}
}

func TestAppendDeliveryRaw(t *testing.T) {
	t.Parallel()
	m := &broker.Message{Format: broker.FormatRaw, Body: []byte("raw body"), MessageID: "m", SessionID: "s",
		CorrelationID: "c", Subject: "l", To: "t", ReplyTo: "r", ReplyToSessionID: "rs", ContentType: "text/plain",
		Properties: map[string]any{"n": int64(1), "s": "x", "t": t0}, SequenceNumber: 3, EnqueuedTime: t0,
		PartitionKey: "pk"}
	payload, err := AppendDelivery(nil, m, DeliveryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var gm goamqp.Message
	if err := gm.UnmarshalBinary(payload); err != nil {
		t.Fatal(err)
	}
	checkGoMessage(t, &gm)
	p := gm.Properties
	if p.MessageID != "m" || *p.GroupID != "s" || p.CorrelationID != "c" || *p.Subject != "l" || *p.To != "t" ||
		*p.ReplyTo != "r" || *p.ReplyToGroupID != "rs" || *p.ContentType != "text/plain" {
		t.Fatalf("properties %+v", p)
	}
	if string(gm.GetData()) != "raw body" || len(gm.Data) != 1 {
		t.Fatalf("data %q", gm.Data)
	}
	if gm.ApplicationProperties["n"] != int64(1) || !gm.ApplicationProperties["t"].(time.Time).Equal(t0) || gm.Annotations["x-opt-partition-key"] != "pk" {
		t.Fatalf("application properties %v annotations %v", gm.ApplicationProperties, gm.Annotations)
	}
	// An empty raw body is still one data section.
	m.Body, m.MessageID, m.Properties = nil, "", nil
	payload, err = AppendDelivery(nil, m, DeliveryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	gm = goamqp.Message{}
	if err := gm.UnmarshalBinary(payload); err != nil {
		t.Fatal(err)
	}
	if len(gm.Data) != 1 || gm.Properties.MessageID != nil {
		t.Fatalf("data %q message-id %v", gm.Data, gm.Properties.MessageID)
	}
}

func TestHeaderTTL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ttl     time.Duration
		expires time.Duration // after enqueue; 0: never
		want    uint32
		has     bool
	}{
		{0, 0, 0, false},
		{time.Minute, time.Minute, 60000, true},
		{time.Hour, time.Minute, 60000, true}, // the entity's default is shorter
		{0, 2 * time.Second, 2000, true},
		{0, 60 * 24 * time.Hour, 0, false}, // over a uint of ms
		{time.Microsecond, 0, 0, false},
	} {
		m := &broker.Message{TimeToLive: tc.ttl, EnqueuedTime: t0}
		if tc.expires > 0 {
			m.ExpiresAt = t0.Add(tc.expires)
		}
		got, has := headerTTL(m)
		if got != tc.want || has != tc.has {
			t.Errorf("ttl %v expires %v: got %d %v, want %d %v", tc.ttl, tc.expires, got, has, tc.want, tc.has)
		}
	}
}

func TestAppendDeliveryBadBody(t *testing.T) {
	t.Parallel()
	// A stored body whose application-properties cannot be merged is an
	// error, not a panic.
	m := &broker.Message{Format: broker.FormatAMQP, Body: []byte{0x00, 0x53, 0x73, 0x45, 0x00, 0x53, 0x74, 0xc1},
		Properties: map[string]any{"a": "b"}}
	if _, err := AppendDelivery(nil, m, DeliveryOptions{}); err == nil {
		t.Fatal("a truncated body was accepted")
	}
}

// Sections may use symbolic descriptors; the properties check and the
// dead-letter fix-up read them too.
func TestSymbolicDescriptors(t *testing.T) {
	t.Parallel()
	var w encoding.Buffer
	w.AppendSymbolDescriptor("amqp:properties:list")
	c := w.BeginList()
	w.AppendString("id")
	w.EndList(c, 1)
	w.AppendSymbolDescriptor("amqp:application-properties:map")
	if err := w.AppendValue(encoding.Map{{Key: PropDeadLetterReason, Value: int64(1)}}); err != nil {
		t.Fatal(err)
	}
	w.AppendSymbolDescriptor("amqp:data:binary")
	w.AppendBinary([]byte("body"))
	bare := w.Bytes()
	if !startsWithProperties(bare) {
		t.Fatal("symbolic properties not recognised")
	}
	payload, err := AppendDelivery(nil, &broker.Message{Format: broker.FormatAMQP, Body: bare, EnqueuedTime: t0}, DeliveryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// (go-amqp cannot decode symbolic section descriptors; Baton's codec can.)
	view, err := encoding.ParseMessage(payload)
	if err != nil {
		t.Fatal(err)
	}
	ap, _ := view.AppProperties()
	data, _ := view.Data()
	if view.Properties.MessageID.Str != "id" || !reflect.DeepEqual(ap, encoding.Map{{Key: PropDeadLetterReason, Value: "1"}}) || string(data) != "body" {
		t.Fatalf("%+v %v", view.Properties, ap)
	}
	// A bare message that starts with something else gets properties.
	var v encoding.Buffer
	v.AppendSymbolDescriptor("amqp:amqp-value:*")
	v.AppendString("x")
	if startsWithProperties(v.Bytes()) || appPropertiesRaw(v.Bytes()) != nil {
		t.Fatal("amqp-value taken for properties")
	}
}
