package pgstore

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

var zone = time.FixedZone("X+2", 2*3600)

// allProps holds one value of every type a property may have.
func allProps() map[string]any {
	return map[string]any{
		"nil": nil, "f": false, "t": true, "s": "a\x00b\xff", "b": []byte{0, 1}, "nb": []byte(nil),
		"time": time.Date(9999, 12, 31, 23, 59, 59, 999999999, zone), "local": time.Unix(1, 5).Local(),
		"i8": int8(-8), "i16": int16(-16), "i32": int32(math.MinInt32), "i64": int64(math.MaxInt64), "int": -7,
		"u8": uint8(8), "u16": uint16(16), "u32": uint32(math.MaxUint32), "u64": uint64(math.MaxUint64),
		"f32": float32(1.5), "f64": math.Inf(-1), "tok": broker.LockToken{1, 2, 3},
	}
}

func sampleMessage() *broker.Message {
	return &broker.Message{
		MessageID: "id\x00", SessionID: "sess", PartitionKey: "pk", CorrelationID: "c", Subject: "subj", To: "to",
		ReplyTo: "rt", ReplyToSessionID: "rts", ContentType: "ct", TimeToLive: time.Hour,
		ScheduledEnqueueTime: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Properties: allProps(), Format: broker.FormatAMQP,
		Annotations: []byte{0xc1, 0}, SequenceNumber: 42, EnqueuedTime: time.Date(2026, 1, 2, 3, 4, 5, 7, zone),
		ExpiresAt: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), DeliveryCount: 3, State: broker.StateDeferred,
		DeadLettered: true, DeadLetterReason: "r", DeadLetterDescription: "d", DeadLetterSource: "src", BodySize: 9,
		TopicSeq: 7, SharedBody: true, VisibleAt: time.Date(2026, 5, 5, 5, 5, 5, 5, time.UTC), PopReceipt: broker.LockToken{9},
	}
}

func sampleDef() *broker.Entity {
	p := broker.DefaultQueueProperties()
	p.ForwardTo, p.ForwardDeadLetteredMessagesTo, p.UserMetadata = "fwd", "dfwd", "meta\x00"
	p.RequiresSession, p.SupportOrdering, p.DeadLetteringOnFilterEvaluationExceptions = true, true, true
	p.DeadLetteringOnMessageExpiration, p.RequiresDuplicateDetection, p.EnableBatchedOperations, p.EnablePartitioning = true, true, true, true
	return &broker.Entity{
		Name: "T/Subscriptions/S", Kind: broker.KindSubscription, Properties: p,
		CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 1, time.UTC), UpdatedAt: time.Date(2026, 1, 1, 0, 0, 0, 2, zone),
		Metadata: map[string]string{"k": "v", "": ""},
		Rules: []broker.Rule{
			{Name: "sql", Filter: broker.RuleFilter{Kind: broker.FilterSQL, SQL: "a = @p", Parameters: allProps()},
				Action: "SET b = 1", ActionParameters: map[string]any{"x": int32(1)}, CreatedAt: time.Unix(5, 0).UTC()},
			{Name: "corr", Filter: broker.RuleFilter{Kind: broker.FilterCorrelation, Correlation: &broker.CorrelationFilter{
				CorrelationID: "c", MessageID: "m", To: "t", ReplyTo: "r", Subject: "s", SessionID: "si", ReplyToSessionID: "rs",
				ContentType: "ct", Properties: map[string]any{"p": "q"}}}},
			broker.TrueRule("$Default"),
		},
	}
}

// equalTimes compares with time.Time.Equal inside any value.
func sameProps(t *testing.T, got, want map[string]any) {
	t.Helper()
	if len(got) != len(want) || (got == nil) != (want == nil) {
		t.Fatalf("props = %#v, want %#v", got, want)
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Fatalf("property %q missing", k)
		}
		if wt, isTime := w.(time.Time); isTime {
			gt, _ := g.(time.Time)
			if !gt.Equal(wt) {
				t.Fatalf("property %q = %v, want %v", k, g, w)
			}
			continue
		}
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("property %q = %#v (%T), want %#v (%T)", k, g, g, w, w)
		}
	}
}

func TestMessageRoundTrip(t *testing.T) {
	m := sampleMessage()
	u := updateOf(m)
	upd, err := appendUpdate(nil, &u)
	if err != nil {
		t.Fatal(err)
	}
	got := &broker.Message{SequenceNumber: m.SequenceNumber}
	if err := decodeHeader(appendHeader(nil, m), got); err != nil {
		t.Fatal(err)
	}
	if err := decodeUpdate(upd, got); err != nil {
		t.Fatal(err)
	}
	sameProps(t, got.Properties, m.Properties)
	for _, p := range []struct{ g, w time.Time }{{got.ScheduledEnqueueTime, m.ScheduledEnqueueTime},
		{got.EnqueuedTime, m.EnqueuedTime}, {got.ExpiresAt, m.ExpiresAt}, {got.VisibleAt, m.VisibleAt}} {
		if !p.g.Equal(p.w) {
			t.Fatalf("time %v, want %v", p.g, p.w)
		}
	}
	got.Properties, m.Properties = nil, nil
	got.ScheduledEnqueueTime, got.EnqueuedTime, got.ExpiresAt, got.VisibleAt = m.ScheduledEnqueueTime, m.EnqueuedTime, m.ExpiresAt, m.VisibleAt
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("got  %#v\nwant %#v", got, m)
	}
	// Zero values and nil maps survive as such.
	z := &broker.Message{}
	zu := updateOf(z)
	upd, _ = appendUpdate(nil, &zu)
	gz := &broker.Message{}
	if err := decodeHeader(appendHeader(nil, z), gz); err != nil {
		t.Fatal(err)
	}
	if err := decodeUpdate(upd, gz); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gz, z) {
		t.Fatalf("zero message came back as %#v", gz)
	}
}

func TestDefRoundTrip(t *testing.T) {
	d := sampleDef()
	b, err := appendDef(nil, d)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeDef(b)
	if err != nil {
		t.Fatal(err)
	}
	sameProps(t, got.Rules[0].Filter.Parameters, d.Rules[0].Filter.Parameters)
	got.Rules[0].Filter.Parameters, d.Rules[0].Filter.Parameters = nil, nil
	if !got.UpdatedAt.Equal(d.UpdatedAt) || !got.CreatedAt.Equal(d.CreatedAt) || !got.Rules[0].CreatedAt.Equal(d.Rules[0].CreatedAt) {
		t.Fatal("times differ")
	}
	got.UpdatedAt, got.CreatedAt, got.Rules[0].CreatedAt = d.UpdatedAt, d.CreatedAt, d.Rules[0].CreatedAt
	if !reflect.DeepEqual(got, d) {
		t.Fatalf("got  %#v\nwant %#v", got, d)
	}
}

func TestUnsupportedPropertyType(t *testing.T) {
	u := broker.MessageUpdate{Properties: map[string]any{"x": struct{}{}}}
	if _, err := appendUpdate(nil, &u); err == nil {
		t.Fatal("a struct property encoded")
	}
	d := sampleDef()
	d.Rules[0].ActionParameters = map[string]any{"x": []int{1}}
	if _, err := appendDef(nil, d); err == nil {
		t.Fatal("a slice rule parameter encoded")
	}
}

// TestCodecCoversFields fails when broker.Message, broker.Entity or
// broker.QueueProperties gain a field: the codec must learn it (and the
// schema version must change) or the field is silently lost.
func TestCodecCoversFields(t *testing.T) {
	for _, c := range []struct {
		v    any
		want int
	}{{broker.Message{}, 32}, {broker.Entity{}, 7}, {broker.QueueProperties{}, 18}, {broker.Rule{}, 5},
		{broker.MessageUpdate{}, 10}, {broker.CorrelationFilter{}, 9}, {broker.RuleFilter{}, 4}} {
		if n := reflect.TypeOf(c.v).NumField(); n != c.want {
			t.Errorf("%T has %d fields; the codec knows %d", c.v, n, c.want)
		}
	}
}

func TestDecodeRejectsDamage(t *testing.T) {
	m := sampleMessage()
	hdr := appendHeader(nil, m)
	for i := range hdr {
		if err := decodeHeader(hdr[:i], &broker.Message{}); err == nil {
			t.Fatalf("header cut at %d decoded", i)
		}
	}
	if err := decodeHeader(append(hdr, 0), &broker.Message{}); err == nil {
		t.Fatal("header with a trailing byte decoded")
	}
	bad := append([]byte{}, hdr...)
	bad[0] = 99
	if err := decodeHeader(bad, &broker.Message{}); err == nil {
		t.Fatal("unknown version decoded")
	}
	d, _ := appendDef(nil, sampleDef())
	for i := range d {
		if _, err := decodeDef(d[:i]); err == nil {
			t.Fatalf("definition cut at %d decoded", i)
		}
	}
}
