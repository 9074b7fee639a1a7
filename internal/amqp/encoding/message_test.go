package encoding

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

var (
	testEnqueued = time.UnixMilli(1767225600123).UTC()
	testLockTok  = UUID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
)

// sampleMessage is a typical Service Bus message: properties, five
// application properties and a 1 KiB data body, plus a header and
// annotations as an SDK sends them.
func sampleMessage(tb testing.TB) *Message {
	tb.Helper()
	return &Message{
		Header:             &Header{Durable: true, Priority: DefaultPriority, TTL: 60000, HasTTL: true},
		MessageAnnotations: Map{{Symbol(AnnotationPartitionKey), "pk"}, {Symbol(AnnotationScheduledEnqueueTime), testEnqueued}},
		Properties: &Properties{
			MessageID:     StringID("7c5f0a9e-44a3-4d43-9c3b-0d6b3d1f2a10"),
			To:            "orders",
			Subject:       "created",
			ReplyTo:       "replies",
			CorrelationID: MessageID{Kind: IDUlong, Ulong: 42},
			ContentType:   "application/json",
			CreationTime:  testEnqueued,
			GroupID:       "session-1",
		},
		ApplicationProperties: Map{
			{"tenant", "contoso"},
			{"attempt", int32(3)},
			{"priority", int64(7)},
			{"urgent", true},
			{"ratio", 0.5},
		},
		Data: [][]byte{bytes.Repeat([]byte("x"), 1024)},
	}
}

func encodeSample(tb testing.TB) []byte {
	tb.Helper()
	b, err := AppendMessage(nil, sampleMessage(tb))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestParseMessageAllSections(t *testing.T) {
	t.Parallel()
	msg := sampleMessage(t)
	msg.DeliveryAnnotations = Map{{Symbol("x-opt-foo"), "bar"}}
	msg.Footer = Map{{Symbol("x-hash"), []byte{1, 2}}}
	payload, err := AppendMessage(nil, msg)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseMessage(payload)
	if err != nil {
		t.Fatal(err)
	}
	if !m.HasHeader || m.Header != *msg.Header {
		t.Errorf("header = %+v", m.Header)
	}
	if !m.HasProperties {
		t.Fatal("no properties")
	}
	p := m.Properties
	if p.MessageID.Key() != msg.Properties.MessageID.Key() || p.To != "orders" || p.Subject != "created" ||
		p.ReplyTo != "replies" || p.CorrelationID.Ulong != 42 || p.ContentType != "application/json" ||
		!p.CreationTime.Equal(testEnqueued) || p.GroupID != "session-1" || p.HasGroupSequence {
		t.Errorf("properties = %+v", p)
	}
	if pk, ok := m.PartitionKey(); !ok || pk != "pk" {
		t.Errorf("partition key %q %v", pk, ok)
	}
	if st, ok := m.ScheduledEnqueueTime(); !ok || !st.Equal(testEnqueued) {
		t.Errorf("scheduled %v %v", st, ok)
	}
	da, err := m.DeliveryAnnotations()
	if err != nil || len(da) != 1 {
		t.Errorf("delivery annotations %v %v", da, err)
	}
	ap, err := m.AppProperties()
	if err != nil || !valueEqual(ap, msg.ApplicationProperties) {
		t.Errorf("app properties %#v %v", ap, err)
	}
	if v, ok, err := m.AppProperty("attempt"); err != nil || !ok || v != int32(3) {
		t.Errorf("AppProperty = %v %v %v", v, ok, err)
	}
	if _, ok, err := m.AppProperty("missing"); err != nil || ok {
		t.Errorf("AppProperty missing = %v %v", ok, err)
	}
	if d, ok := m.Data(); !ok || len(d) != 1024 {
		t.Errorf("data %d %v", len(d), ok)
	}
	if m.FooterRaw() == nil {
		t.Error("no footer")
	}
	// The bare message is properties onward, byte for byte.
	var w Buffer
	w.AppendProperties(msg.Properties)
	if !bytes.HasPrefix(m.Bare(), w.Bytes()) || !bytes.HasSuffix(payload, m.Bare()) {
		t.Error("bare message is not the properties-onward suffix")
	}
}

func TestParseMessageBodies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		msg  Message
		kind BodyKind
	}{
		{"none", Message{Properties: &Properties{To: "q"}}, BodyNone},
		{"two data", Message{Data: [][]byte{{1}, {2}}}, BodyData},
		{"sequence", Message{Sequence: [][]any{{"a"}, {int32(1)}}}, BodySequence},
		{"value map", Message{Value: Map{{"k", []int64{1, 2}}}, HasValue: true}, BodyValue},
		{"value null", Message{HasValue: true}, BodyValue},
	}
	for _, tt := range tests {
		payload, err := AppendMessage(nil, &tt.msg)
		if err != nil {
			t.Fatal(err)
		}
		m, err := ParseMessage(payload)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if m.Body != tt.kind {
			t.Errorf("%s: body %v, want %v", tt.name, m.Body, tt.kind)
		}
		if _, ok := m.Data(); ok != (tt.name == "none" && false) {
			t.Errorf("%s: Data() ok=%v", tt.name, ok)
		}
	}
}

func section(t *testing.T, code uint64, value any) []byte {
	t.Helper()
	var w Buffer
	w.AppendDescriptor(code)
	if err := w.AppendValue(value); err != nil {
		t.Fatal(err)
	}
	return w.Bytes()
}

func TestParseMessageErrors(t *testing.T) {
	t.Parallel()
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	props := section(t, SectionProperties, []any{"id"})
	data := section(t, SectionData, []byte{1})
	hdr := section(t, SectionHeader, []any{true})
	tests := []struct {
		name    string
		payload []byte
	}{
		{"empty", nil},
		{"not described", []byte{CodeNull}},
		{"unknown section", section(t, 0x79, nil)},
		{"out of order", cat(props, hdr)},
		{"repeated header", cat(hdr, hdr)},
		{"mixed bodies", cat(data, section(t, SectionAMQPValue, "x"))},
		{"two values", cat(section(t, SectionAMQPValue, "x"), section(t, SectionAMQPValue, "x"))},
		{"data not binary", section(t, SectionData, "x")},
		{"sequence not list", section(t, SectionAMQPSequence, "x")},
		{"header not list", section(t, SectionHeader, "x")},
		{"header bad durable", section(t, SectionHeader, []any{"x"})},
		{"properties bad id", section(t, SectionProperties, []any{int32(1)})},
		{"properties bad to", section(t, SectionProperties, []any{nil, nil, uint32(1)})},
		{"annotations int key", section(t, SectionMessageAnnotations, Map{{int32(1), 1}})},
		{"app properties symbol key", section(t, SectionApplicationProps, Map{{Symbol("k"), 1}})},
		{"app properties not map", section(t, SectionApplicationProps, []any{})},
		{"truncated", cat(props, data)[:len(props)+3]},
		{"trailing garbage", cat(props, []byte{0x00})},
	}
	for _, tt := range tests {
		_, err := ParseMessage(tt.payload)
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Errorf("%s: error %v, want *DecodeError", tt.name, err)
		}
	}
}

func TestParseMessageSymbolicDescriptors(t *testing.T) {
	t.Parallel()
	var w Buffer
	w.AppendSymbolDescriptor("amqp:properties:list")
	_ = w.AppendValue([]any{"id", nil, "to"})
	w.AppendSymbolDescriptor("amqp:data:binary")
	w.AppendBinary([]byte("hello"))
	m, err := ParseMessage(w.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if m.Properties.MessageID.Str != "id" || m.Properties.To != "to" {
		t.Fatalf("%+v", m.Properties)
	}
	if d, _ := m.Data(); string(d) != "hello" {
		t.Fatal("data")
	}
}

func TestPropertiesRoundTrip(t *testing.T) {
	t.Parallel()
	ids := []MessageID{
		{},
		StringID("abc"),
		{Kind: IDUlong, Ulong: 1 << 40},
		{Kind: IDUUID, UUID: testLockTok},
		{Kind: IDBinary, Binary: []byte{9, 8}},
	}
	for _, id := range ids {
		p := Properties{
			MessageID: id, UserID: []byte("user"), To: "to", Subject: "subj", ReplyTo: "rt",
			CorrelationID: id, ContentType: "ct", ContentEncoding: "gzip",
			AbsoluteExpiryTime: testEnqueued.Add(time.Hour), CreationTime: testEnqueued,
			GroupID: "g", GroupSequence: 5, HasGroupSequence: true, ReplyToGroupID: "rtg",
		}
		var w Buffer
		w.AppendProperties(&p)
		m, err := ParseMessage(w.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		got := m.Properties
		if got.MessageID.Key() != id.Key() || got.CorrelationID.Key() != id.Key() ||
			!bytes.Equal(got.UserID, p.UserID) || got.To != p.To || got.Subject != p.Subject ||
			got.ReplyTo != p.ReplyTo || got.ContentType != p.ContentType || got.ContentEncoding != p.ContentEncoding ||
			!got.AbsoluteExpiryTime.Equal(p.AbsoluteExpiryTime) || !got.CreationTime.Equal(p.CreationTime) ||
			got.GroupID != p.GroupID || got.GroupSequence != 5 || !got.HasGroupSequence || got.ReplyToGroupID != p.ReplyToGroupID {
			t.Errorf("id %v: got %+v", id, got)
		}
		if v, err := MessageIDFromValue(id.Value()); err != nil || v.Key() != id.Key() {
			t.Errorf("MessageIDFromValue(%v) = %v, %v", id.Value(), v, err)
		}
	}
}

func TestHeaderDefaults(t *testing.T) {
	t.Parallel()
	var w Buffer
	w.AppendHeader(&Header{Priority: DefaultPriority})
	// Every field null but delivery-count, which is always written (uint0):
	// rhea does not apply the spec's default of 0.
	if want := []byte{0x00, 0x53, 0x70, 0xc0, 0x06, 0x05, 0x40, 0x40, 0x40, 0x40, 0x43}; !bytes.Equal(w.Bytes(), want) {
		t.Fatalf("default header = %x, want %x", w.Bytes(), want)
	}
	m, err := ParseMessage(w.Bytes())
	if err != nil || m.Header.Priority != DefaultPriority {
		t.Fatalf("%v %+v", err, m)
	}
	w.Reset()
	w.AppendHeader(&Header{Priority: DefaultPriority, DeliveryCount: 2})
	// durable, priority, ttl, first-acquirer null; delivery-count 2.
	if want := unhex(t, "005370 c0 07 05 40 40 40 40 52 02"); !bytes.Equal(w.Bytes(), want) {
		t.Fatalf("header = %x, want %x", w.Bytes(), want)
	}
}

func TestAppendDelivery(t *testing.T) {
	t.Parallel()
	payload := encodeSample(t)
	in, err := ParseMessage(payload)
	if err != nil {
		t.Fatal(err)
	}
	locked := testEnqueued.Add(time.Minute)
	d := Delivery{
		Header:       Header{Durable: true, Priority: DefaultPriority, TTL: 60000, HasTTL: true, DeliveryCount: 1},
		LockToken:    testLockTok,
		HasLockToken: true,
		Annotations: BrokerAnnotations{
			SequenceNumber: 17, EnqueuedTime: testEnqueued, LockedUntil: locked,
			Extra: Map{{Symbol(AnnotationPartitionKey), "override"}},
		},
		SenderAnnotations: in.MessageAnnotationsRaw(),
		Bare:              in.Bare(),
	}
	out, err := AppendDelivery([]byte("prefix"), &d)
	if err != nil {
		t.Fatal(err)
	}
	if string(out[:6]) != "prefix" {
		t.Fatal("dst not kept")
	}
	m, err := ParseMessage(out[6:])
	if err != nil {
		t.Fatal(err)
	}
	if m.Header != d.Header {
		t.Errorf("header %+v", m.Header)
	}
	if !bytes.Equal(m.Bare(), in.Bare()) {
		t.Error("bare message changed")
	}
	da, _ := m.DeliveryAnnotations()
	if v, _ := da.GetSymbol(AnnotationLockToken); v != testLockTok {
		t.Errorf("lock token %v", v)
	}
	ma := m.MessageAnnotations
	checks := map[string]any{
		AnnotationSequenceNumber:       int64(17),
		AnnotationEnqueuedTime:         testEnqueued,
		AnnotationLockedUntil:          locked,
		AnnotationMessageState:         int32(0),
		AnnotationPartitionKey:         "override",
		AnnotationScheduledEnqueueTime: testEnqueued,
	}
	for k, want := range checks {
		if got, ok := ma.GetSymbol(k); !ok || !valueEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", k, got, want)
		}
	}
	if len(ma) != len(checks) {
		t.Errorf("annotations %#v", ma)
	}
}

func TestRewriteAppProperties(t *testing.T) {
	t.Parallel()
	in, err := ParseMessage(encodeSample(t))
	if err != nil {
		t.Fatal(err)
	}
	mods := Map{{Symbol("attempt"), int32(4)}, {Symbol("DeadLetterReason"), "because"}, {"tenant", nil}}
	out, err := RewriteAppProperties(nil, in.Bare(), mods)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseMessage(out)
	if err != nil {
		t.Fatal(err)
	}
	ap, _ := m.AppProperties()
	want := Map{{"tenant", nil}, {"attempt", int32(4)}, {"priority", int64(7)}, {"urgent", true}, {"ratio", 0.5}, {"DeadLetterReason", "because"}}
	if !valueEqual(ap, want) {
		t.Fatalf("app properties %#v", ap)
	}
	if !bytes.Equal(m.PropertiesRaw(), in.PropertiesRaw()) || !bytes.Equal(m.BodyRaw(), in.BodyRaw()) {
		t.Fatal("other sections changed")
	}
	// Without application-properties: the section is inserted after properties.
	var w Buffer
	w.AppendProperties(&Properties{To: "q"})
	w.AppendDataSection([]byte("b"))
	out, err = RewriteAppProperties(nil, w.Bytes(), Map{{"k", "v"}})
	if err != nil {
		t.Fatal(err)
	}
	m, err = ParseMessage(out)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok, _ := m.AppProperty("k"); !ok || v != "v" || m.Properties.To != "q" {
		t.Fatalf("inserted: %v %v %+v", v, ok, m.Properties)
	}
	// No modifications: bytes unchanged.
	out, _ = RewriteAppProperties(nil, in.Bare(), nil)
	if !bytes.Equal(out, in.Bare()) {
		t.Fatal("no-op rewrite changed bytes")
	}
	if _, err := RewriteAppProperties(nil, in.Bare(), Map{{int32(1), "x"}}); !errors.Is(err, ErrUnsupportedType) {
		t.Fatalf("bad key: %v", err)
	}
}

func TestManagementBody(t *testing.T) {
	t.Parallel()
	// A receive-by-sequence-number response body (service-bus-amqp.md 8.4).
	inner := encodeSample(t)
	body := Map{{"messages", []any{Map{{"lock-token", testLockTok}, {"message", inner}}}}}
	payload, err := AppendMessage(nil, &Message{
		Properties:            &Properties{CorrelationID: StringID("req-1")},
		ApplicationProperties: Map{{"statusCode", int32(200)}, {"status-code", int32(200)}},
		Value:                 body,
		HasValue:              true,
	})
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseMessage(payload)
	if err != nil {
		t.Fatal(err)
	}
	if m.Body != BodyValue {
		t.Fatal("body kind")
	}
	v, ok, err := m.Value()
	if err != nil || !ok || !valueEqual(v, body) {
		t.Fatalf("body %#v %v", v, err)
	}
}

// TestMessageViewReuse is not parallel: AllocsPerRun forbids it.
func TestMessageViewReuse(t *testing.T) {
	payload := encodeSample(t)
	var m MessageView
	allocs := testing.AllocsPerRun(100, func() {
		if err := m.Parse(payload); err != nil {
			t.Fatal(err)
		}
	})
	// One string copy for the properties; two annotation values boxed in
	// the message-annotations map plus the map itself.
	if allocs > 6 {
		t.Fatalf("Parse allocates %.0f times", allocs)
	}
}

func TestAllDataBatch(t *testing.T) {
	t.Parallel()
	// A Service Bus batch envelope: one data section per inner message.
	inner1 := encodeSample(t)
	inner2, _ := AppendMessage(nil, &Message{Properties: &Properties{MessageID: StringID("2")}, Data: [][]byte{[]byte("b")}})
	env, err := AppendMessage(nil, &Message{Properties: &Properties{MessageID: StringID("1")}, Data: [][]byte{inner1, inner2}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseMessage(env)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Data(); ok {
		t.Fatal("Data() must fail for two sections")
	}
	var ids []string
	for p := range m.AllData() {
		inner, err := ParseMessage(p)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, inner.Properties.MessageID.Str)
	}
	if len(ids) != 2 || ids[1] != "2" {
		t.Fatalf("ids %v", ids)
	}
}

func TestElementLimit(t *testing.T) {
	t.Parallel()
	var w Buffer
	_ = w.AppendValue([]any{1, 2, 3})
	r := NewReader(w.Bytes())
	r.SetMaxElements(2)
	if _, err := r.ReadValue(); !errors.Is(err, ErrLimit) {
		t.Fatalf("%v", err)
	}
	r.Reset(w.Bytes())
	r.SetMaxDepth(1)
	if _, err := r.ReadValue(); err != nil {
		t.Fatalf("depth 1: %v", err)
	}
	w.Reset()
	_ = w.AppendValue([]any{[]any{1}})
	r.Reset(w.Bytes())
	r.SetMaxDepth(1)
	if _, err := r.ReadValue(); !errors.Is(err, ErrLimit) {
		t.Fatalf("depth: %v", err)
	}
}

// TestStringAnnotationKeys covers rhea (JavaScript SDK) messages, whose
// message-annotations keys are strings: they parse, the helpers find them,
// and deliveries re-emit them as symbols.
func TestStringAnnotationKeys(t *testing.T) {
	t.Parallel()
	var w Buffer
	w.AppendDescriptor(SectionMessageAnnotations)
	_ = w.AppendValue(Map{{AnnotationPartitionKey, "pk"}, {AnnotationScheduledEnqueueTime, testEnqueued}, {AnnotationSequenceNumber, int64(99)}})
	w.AppendProperties(&Properties{MessageID: StringID("m")})
	w.AppendDataSection([]byte("b"))
	m, err := ParseMessage(w.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if pk, ok := m.PartitionKey(); !ok || pk != "pk" {
		t.Fatalf("partition key %q %v", pk, ok)
	}
	if _, ok := m.ScheduledEnqueueTime(); !ok {
		t.Fatal("scheduled time")
	}
	out, err := AppendDelivery(nil, &Delivery{
		Annotations:       BrokerAnnotations{SequenceNumber: 5, EnqueuedTime: testEnqueued},
		SenderAnnotations: m.MessageAnnotationsRaw(),
		Bare:              m.Bare(),
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := ParseMessage(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range d.MessageAnnotations {
		if _, ok := kv.Key.(Symbol); !ok {
			t.Fatalf("key %#v is not a symbol", kv.Key)
		}
	}
	if v, _ := d.MessageAnnotations.GetSymbol(AnnotationSequenceNumber); v != int64(5) {
		t.Fatalf("sender's sequence number not overridden: %v", v)
	}
	if v, _ := d.MessageAnnotations.GetSymbol(AnnotationPartitionKey); v != "pk" {
		t.Fatalf("partition key %v", v)
	}
	if len(d.MessageAnnotations) != 5 {
		t.Fatalf("%#v", d.MessageAnnotations)
	}
}
