package filestore

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/wal"
)

var (
	t0   = time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	tok  = broker.LockToken{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	zone = time.FixedZone("X", 3600)
)

func allProps() map[string]any {
	return map[string]any{
		"nil": nil, "f": false, "t": true, "s": "str", "b": []byte{1, 2}, "eb": []byte{}, "nb": []byte(nil),
		"time": t0, "tz": t0.In(zone), "tl": t0.In(time.Local),
		"i8": int8(-8), "i16": int16(-16), "i32": int32(-32), "i64": int64(-64), "i": int(-1),
		"u8": uint8(8), "u16": uint16(16), "u32": uint32(32), "u64": uint64(1 << 63),
		"f32": float32(1.5), "f64": float64(-2.25), "tok": tok,
	}
}

func sampleMessage() *broker.Message {
	return &broker.Message{
		MessageID: "id", SessionID: "s", PartitionKey: "p", CorrelationID: "c", Subject: "sub", To: "to",
		ReplyTo: "rt", ReplyToSessionID: "rts", ContentType: "ct", TimeToLive: time.Minute,
		ScheduledEnqueueTime: t0.Add(time.Hour), Properties: allProps(), Format: broker.FormatAMQP,
		Body: []byte("body"), SequenceNumber: 42, EnqueuedTime: t0, ExpiresAt: t0.Add(time.Minute),
		DeliveryCount: 3, State: broker.StateDeferred, DeadLettered: true, DeadLetterReason: "r",
		DeadLetterDescription: "d", DeadLetterSource: "src", BodySize: 4,
		VisibleAt: t0.Add(2 * time.Minute), PopReceipt: tok, TopicSeq: 77, SharedBody: true,
	}
}

func sampleRecords() []broker.Record {
	def := &broker.Entity{Name: "Q", Kind: broker.KindQueue, Properties: broker.DefaultQueueProperties(), CreatedAt: t0, UpdatedAt: t0.Add(time.Second)}
	def.Properties.RequiresSession = true
	def.Properties.DeadLetteringOnMessageExpiration = true
	def.Properties.ForwardTo = "other"
	def.Properties.UserMetadata = "meta"
	def.Properties.DeadLetteringOnFilterEvaluationExceptions = true
	def.Properties.SupportOrdering = true
	sub := &broker.Entity{Name: "t/Subscriptions/s", Kind: broker.KindSubscription, Properties: broker.DefaultQueueProperties(), CreatedAt: t0,
		Rules: []broker.Rule{
			{Name: "$Default", Filter: broker.RuleFilter{Kind: broker.FilterTrue}, CreatedAt: t0},
			{Name: "sql", Filter: broker.RuleFilter{Kind: broker.FilterSQL, SQL: "a = @p", Parameters: map[string]any{"@p": int64(3)}},
				Action: "SET b = 1", ActionParameters: map[string]any{"x": "y"}, CreatedAt: t0},
			{Name: "corr", Filter: broker.RuleFilter{Kind: broker.FilterCorrelation, Correlation: &broker.CorrelationFilter{
				CorrelationID: "c", MessageID: "m", To: "t", ReplyTo: "r", Subject: "s", SessionID: "si", ReplyToSessionID: "rs",
				ContentType: "ct", Properties: map[string]any{"k": "v"}}}},
		}}
	sq := &broker.Entity{Name: "acct/q", Kind: broker.KindStorageQueue, Properties: broker.DefaultQueueProperties(), CreatedAt: t0,
		Metadata: map[string]string{"k": "v", "empty": ""}}
	noMeta := &broker.Entity{Name: "acct/q", Kind: broker.KindStorageQueue, Metadata: map[string]string{}}
	empty := &broker.Message{SequenceNumber: 1}
	return []broker.Record{
		{Kind: broker.RecEntityPut, Entity: "q", Def: def},
		{Kind: broker.RecEntityPut, Entity: "acct/q", Def: sq},
		{Kind: broker.RecEntityPut, Entity: "t/subscriptions/s", Def: sub},
		{Kind: broker.RecEntityPut, Entity: "acct/q", Def: noMeta},
		{Kind: broker.RecEntityDelete, Entity: "q"},
		{Kind: broker.RecEnqueue, Entity: "q", Msg: sampleMessage(), DedupUntil: t0.Add(time.Minute)},
		{Kind: broker.RecEnqueue, Entity: "q", Msg: empty},
		{Kind: broker.RecUpdate, Entity: "q", Update: &broker.MessageUpdate{Seq: 42, DeliveryCount: 2, State: broker.StateScheduled, DeadLettered: true, DeadLetterReason: "a", DeadLetterDescription: "b", DeadLetterSource: "c", Properties: allProps()}},
		{Kind: broker.RecUpdate, Entity: "q", Update: &broker.MessageUpdate{Seq: 1}},
		{Kind: broker.RecUpdate, Entity: "acct/q", Update: &broker.MessageUpdate{Seq: 3, DeliveryCount: 4, VisibleAt: t0, PopReceipt: tok}},
		{Kind: broker.RecRemove, Entity: "q", Seq: 7},
		{Kind: broker.RecSessionState, Entity: "q", SessionID: "s", SessionState: []byte("st"), SessionTime: t0},
		{Kind: broker.RecSessionState, Entity: "q", SessionID: "s", SessionState: []byte{}, SessionTime: t0},
		{Kind: broker.RecSessionState, Entity: "q", SessionID: "s"},
	}
}

func TestCodecRoundTrip(t *testing.T) {
	for _, in := range sampleRecords() {
		b, err := appendRecord(nil, &in)
		if err != nil {
			t.Fatal(err)
		}
		r, err := decodeRecord(b)
		if err != nil {
			t.Fatalf("%s: %v", kindName(kind(in.Kind)), err)
		}
		got := r.Record
		if in.Kind == broker.RecEnqueue {
			if !bytes.Equal(r.body, in.Msg.Body) || (in.Msg.Body == nil) != r.bodyNil {
				t.Fatalf("body %q nil=%v; want %q", r.body, r.bodyNil, in.Msg.Body)
			}
			got.Msg.Body = in.Msg.Body
			body, err := readBody(b)
			if err != nil || !bytes.Equal(body, in.Msg.Body) {
				t.Fatalf("readBody = %q, %v", body, err)
			}
		}
		if !reflect.DeepEqual(&got, &in) {
			t.Fatalf("%s: round trip\n got %+v\nwant %+v", kindName(kind(in.Kind)), got, in)
		}
		// Every proper prefix fails cleanly.
		for n := range len(b) {
			if _, err := decodeRecord(b[:n]); err == nil {
				t.Fatalf("%s: prefix of %d/%d bytes decoded", kindName(kind(in.Kind)), n, len(b))
			}
		}
	}
}

// TestCodecOlderVersions decodes records as versions 1 and 2 wrote them:
// the same bytes without the fields added since.
func TestCodecOlderVersions(t *testing.T) {
	def := &broker.Entity{Name: "Q", Kind: broker.KindQueue, Properties: broker.DefaultQueueProperties(), CreatedAt: t0}
	msg := &broker.Message{SequenceNumber: 9, MessageID: "m", Body: []byte("b"), BodySize: 1, EnqueuedTime: t0, DeliveryCount: 2}
	for _, c := range []struct {
		rec broker.Record
		// bytes version 4 added at the end of the record, those version
		// 3 added before them, and (for version 1) those version 2 added.
		v4, v3, v2 int
	}{
		{broker.Record{Kind: broker.RecEntityPut, Entity: "q", Def: def}, 1, 1, 0},
		{broker.Record{Kind: broker.RecEnqueue, Entity: "q", Msg: msg}, 2, 2, 1},
		{broker.Record{Kind: broker.RecUpdate, Entity: "q", Update: &broker.MessageUpdate{Seq: 9, DeliveryCount: 3}}, 0, 2, 0},
	} {
		b, err := appendRecord(nil, &c.rec)
		if err != nil {
			t.Fatal(err)
		}
		if b[0] != 4 {
			t.Fatalf("written as version %d; want 4", b[0])
		}
		for version, cut := range map[byte]int{3: c.v4, 2: c.v4 + c.v3, 1: c.v4 + c.v3 + c.v2} {
			// Every empty field is one zero byte: dropping the fields a
			// version lacked is dropping that many zero bytes at the end
			// (for version 1's enqueue, the annotations before the empty
			// properties).
			old := append([]byte{version}, b[1:len(b)-cut]...)
			r, err := decodeRecord(old)
			if err != nil {
				t.Fatalf("%s version %d: %v", kindName(kind(c.rec.Kind)), version, err)
			}
			got := r.Record
			if got.Msg != nil {
				got.Msg.Body = c.rec.Msg.Body
			}
			if !reflect.DeepEqual(&got, &c.rec) {
				t.Fatalf("%s version %d:\n got %+v\nwant %+v", kindName(kind(c.rec.Kind)), version, got, c.rec)
			}
			if _, err := decodeRecord(b[:len(b)-cut]); cut > 0 && err == nil {
				t.Fatalf("%s: version 4 record without its new fields decoded", kindName(kind(c.rec.Kind)))
			}
		}
	}
}

func TestCodecInternalRecords(t *testing.T) {
	def := broker.Entity{Name: "Q", Kind: broker.KindTopic, CreatedAt: t0}
	r, err := decodeRecord(appendEntityState(nil, "q", &def, 99))
	if err != nil || r.kind != kindEntityState || r.lastSeq != 99 || !reflect.DeepEqual(*r.Def, def) {
		t.Fatalf("entity state: %+v, %v", r, err)
	}
	r, err = decodeRecord(appendDedup(nil, "q", "mid", t0))
	if err != nil || r.kind != kindDedup || r.msgID != "mid" || !r.DedupUntil.Equal(t0) {
		t.Fatalf("dedup: %+v, %v", r, err)
	}
}

func TestCodecRejectsUnknownType(t *testing.T) {
	m := sampleMessage()
	m.Properties = map[string]any{"x": struct{}{}}
	if _, err := appendRecord(nil, &broker.Record{Kind: broker.RecEnqueue, Entity: "q", Msg: m}); err == nil {
		t.Fatal("encoded a property of an unsupported type")
	}
}

// TestCodecCoversFields fails when the broker's records gain fields, so
// that whoever adds one also adds it to the codec (and bumps
// recordVersion, documenting it in docs/format/filestore.md).
func TestCodecCoversFields(t *testing.T) {
	for _, c := range []struct {
		v any
		n int
	}{
		{broker.Message{}, 32},
		{broker.MessageUpdate{}, 10},
		{broker.Entity{}, 7},
		{broker.QueueProperties{}, 18},
		{broker.Rule{}, 5},
		{broker.RuleFilter{}, 4},
		{broker.CorrelationFilter{}, 9},
		{broker.Record{}, 10},
	} {
		if got := reflect.TypeOf(c.v).NumField(); got != c.n {
			t.Errorf("%T has %d fields; the codec knows %d", c.v, got, c.n)
		}
	}
}

func TestParseSync(t *testing.T) {
	for name, want := range map[string]wal.SyncMode{"": wal.SyncAlways, "fsync": wal.SyncAlways, "buffered": wal.SyncInterval} {
		if got, err := ParseSync(name); err != nil || got != want {
			t.Errorf("ParseSync(%q) = %v, %v", name, got, err)
		}
	}
	if _, err := ParseSync("memory"); err == nil {
		t.Error("ParseSync(memory) accepted")
	}
}
