package binenc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

var (
	t0   = time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	zone = time.FixedZone("X+2", 2*3600)
	tok  = broker.LockToken{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
)

// allProps holds one value of every type a property may have.
func allProps() map[string]any {
	return map[string]any{
		"nil": nil, "f": false, "t": true, "s": "a\x00b\xff", "b": []byte{0, 1}, "eb": []byte{}, "nb": []byte(nil),
		"time": time.Date(9999, 12, 31, 23, 59, 59, 999999999, zone), "local": time.Unix(1, 5).Local(), "utc": t0,
		"i8": int8(math.MinInt8), "i16": int16(math.MaxInt16), "i32": int32(math.MinInt32), "i64": int64(math.MaxInt64),
		"int": math.MinInt, "u8": uint8(math.MaxUint8), "u16": uint16(16), "u32": uint32(math.MaxUint32),
		"u64": uint64(math.MaxUint64), "f32": float32(1.5), "f64": math.Inf(-1), "tok": tok,
	}
}

func sampleEntity() *broker.Entity {
	p := broker.DefaultQueueProperties()
	p.ForwardTo, p.ForwardDeadLetteredMessagesTo, p.UserMetadata = "fwd", "dfwd", "meta\x00"
	p.DeadLetteringOnMessageExpiration, p.RequiresDuplicateDetection, p.RequiresSession = true, true, true
	p.EnableBatchedOperations, p.EnablePartitioning = true, true
	p.DeadLetteringOnFilterEvaluationExceptions, p.SupportOrdering = true, true
	return &broker.Entity{
		Name: "t/Subscriptions/s", Kind: broker.KindSubscription, Properties: p,
		CreatedAt: t0, UpdatedAt: t0.In(zone), Metadata: map[string]string{"k": "v", "": ""},
		Rules: []broker.Rule{
			{Name: "sql", Filter: broker.RuleFilter{Kind: broker.FilterSQL, SQL: "a = @p", Parameters: map[string]any{"@p": int64(3)}},
				Action: "SET b = 1", ActionParameters: map[string]any{"x": "y"}, CreatedAt: t0},
			{Name: "corr", Filter: broker.RuleFilter{Kind: broker.FilterCorrelation, Correlation: &broker.CorrelationFilter{
				CorrelationID: "c", MessageID: "m", To: "t", ReplyTo: "r", Subject: "s", SessionID: "si",
				ReplyToSessionID: "rs", ContentType: "ct", Properties: map[string]any{"k": "v"}}}},
			broker.TrueRule("$Default"),
		},
	}
}

// sample is one value of everything the package writes.
type sample struct {
	u       uint64
	i       int64
	i32     int32
	dur     time.Duration
	s       string
	b       []byte
	opt     []byte
	flag    bool
	times   []time.Time
	meta    map[string]string
	props   map[string]any
	tokens  []broker.LockToken
	entity  *broker.Entity
	present bool // opt was not nil
}

func (s *sample) encode(t *testing.T) []byte {
	t.Helper()
	var e Encoder
	e.Uvarint(s.u)
	e.Varint(s.i)
	e.Varint(int64(s.i32))
	e.Duration(s.dur)
	e.String(s.s)
	e.Bytes(s.b)
	e.OptBytes(s.opt)
	e.Bool(s.flag)
	for _, tm := range s.times {
		e.Time(tm)
	}
	e.Metadata(s.meta)
	if err := e.Props(s.props); err != nil {
		t.Fatal(err)
	}
	for _, tk := range s.tokens {
		e.Token(tk)
	}
	if err := e.Entity(s.entity); err != nil {
		t.Fatal(err)
	}
	return e.B
}

func decodeSample(b []byte, ntimes, ntokens int) (*sample, error) {
	d := NewDecoder(b)
	s := &sample{}
	s.u = d.Uvarint()
	s.i = d.Varint()
	s.i32 = d.Int32()
	s.dur = d.Duration()
	s.s = d.String()
	s.b = d.Bytes()
	s.opt, s.present = d.OptBytes()
	s.flag = d.Bool()
	for range ntimes {
		s.times = append(s.times, d.Time())
	}
	s.meta = d.Metadata()
	s.props = d.Props()
	for range ntokens {
		s.tokens = append(s.tokens, d.Token())
	}
	s.entity = d.Entity(EntityCurrent)
	if d.Err() != nil {
		return nil, d.Err()
	}
	if d.Left() != 0 || d.Offset() != len(b) {
		return nil, errors.New("bytes left over")
	}
	return s, nil
}

func TestRoundTrip(t *testing.T) {
	in := &sample{
		u: math.MaxUint64, i: math.MinInt64, i32: math.MinInt32, dur: -time.Hour, s: "x\x00\xff", b: []byte{},
		opt: []byte{}, flag: true,
		times:  []time.Time{{}, t0, t0.In(zone), t0.Local(), time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)},
		meta:   map[string]string{"a": "b", "": ""},
		props:  allProps(),
		tokens: []broker.LockToken{{}, tok},
		entity: sampleEntity(),
	}
	b := in.encode(t)
	got, err := decodeSample(b, len(in.times), len(in.tokens))
	if err != nil {
		t.Fatal(err)
	}
	for i, tm := range in.times {
		if !got.times[i].Equal(tm) || got.times[i].Location().String() != tm.Location().String() {
			t.Errorf("time %d = %v, want %v", i, got.times[i], tm)
		}
	}
	got.times = in.times
	if gt, wt := got.props["time"].(time.Time), in.props["time"].(time.Time); !gt.Equal(wt) {
		t.Errorf("time property = %v, want %v", gt, wt)
	}
	for _, k := range []string{"time", "local", "utc"} {
		got.props[k], in.props[k] = nil, nil
	}
	if !got.entity.UpdatedAt.Equal(in.entity.UpdatedAt) {
		t.Errorf("UpdatedAt = %v", got.entity.UpdatedAt)
	}
	got.entity.UpdatedAt = in.entity.UpdatedAt
	in.present = true
	if !reflect.DeepEqual(got, in) {
		t.Fatalf("round trip\n got %+v\nwant %+v", got, in)
	}
	// Every proper prefix fails.
	for n := range len(b) {
		if _, err := decodeSample(b[:n], len(in.times), len(in.tokens)); err == nil {
			t.Fatalf("prefix of %d/%d bytes decoded", n, len(b))
		}
	}
	// nil stays nil.
	nils := &sample{entity: &broker.Entity{}}
	got, err = decodeSample(nils.encode(t), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got.opt != nil || got.present || got.meta != nil || got.props != nil || got.entity.Rules != nil || got.entity.Metadata != nil {
		t.Fatalf("nils came back as %+v", got)
	}
}

// TestBytes pins the byte forms the stores' documented formats rely on.
func TestBytes(t *testing.T) {
	var e Encoder
	e.OptBytes(nil)
	e.OptBytes([]byte{7})
	e.Token(broker.LockToken{})
	e.Time(time.Time{})
	e.Time(time.Unix(1, 2).UTC())
	e.Metadata(nil)
	if err := e.Props(map[string]any{"k": int32(-1)}); err != nil {
		t.Fatal(err)
	}
	want := []byte{0, 2, 7, 0, TimeZero, TimeUTC, 2, 2, 0, 2, 1, 'k', TagInt32, 1}
	if !bytes.Equal(e.B, want) {
		t.Fatalf("% x, want % x", e.B, want)
	}
}

// rejectReasons is what TestRejects's cases must fail for.
var rejectReasons = map[string]string{
	"bool 2":                    "bad boolean",
	"varint overflow":           "bad varint",
	"int32 range":               "32-bit range",
	"long string":               "ends early",
	"time tag":                  "bad time tag 4",
	"nanoseconds":               "bad nanoseconds",
	"zone offset":               "bad zone offset",
	"zero time with a location": "zero time with a location",
	"value tag":                 "bad value tag 19",
	"int8 range":                "int8 out of range",
	"uint16 range":              "uint16 out of range",
	"short float":               "ends early",
	"short token value":         "ends early",
	"token length":              "bad token length 3",
	"zero token in full":        "zero token written in full",
	"huge props count":          "ends early",
	"huge metadata count":       "ends early",
	"huge rules count":          "ends early",
	"unknown flags":             "unknown entity flags 0x40",
	"flags beyond FlagEnd":      "unknown entity flags 0x80",
}

func TestRejects(t *testing.T) {
	enc := func(f func(e *Encoder)) []byte {
		var e Encoder
		f(&e)
		return e.B
	}
	zeroSec := time.Time{}.Unix()
	for _, c := range []struct {
		name string
		b    []byte
		read func(d *Decoder)
	}{
		{"bool 2", []byte{2}, func(d *Decoder) { d.Bool() }},
		{"varint overflow", bytes.Repeat([]byte{0xff}, 11), func(d *Decoder) { d.Uvarint() }},
		{"int32 range", enc(func(e *Encoder) { e.Varint(math.MaxInt32 + 1) }), func(d *Decoder) { d.Int32() }},
		{"long string", []byte{5, 'a'}, func(d *Decoder) { _ = d.String() }},
		{"time tag", []byte{4, 0, 0}, func(d *Decoder) { d.Time() }},
		{"nanoseconds", enc(func(e *Encoder) { e.Byte(TimeUTC); e.Varint(1); e.Uvarint(1e9) }), func(d *Decoder) { d.Time() }},
		{"zone offset", enc(func(e *Encoder) { e.Byte(TimeZone); e.String("Z"); e.Varint(8 * 24 * 3600); e.Varint(1); e.Uvarint(0) }), func(d *Decoder) { d.Time() }},
		{"zero time with a location", enc(func(e *Encoder) { e.Byte(TimeUTC); e.Varint(zeroSec); e.Uvarint(0) }), func(d *Decoder) { d.Time() }},
		{"value tag", []byte{TagEnd}, func(d *Decoder) { d.Value() }},
		{"int8 range", enc(func(e *Encoder) { e.Byte(TagInt8); e.Varint(128) }), func(d *Decoder) { d.Value() }},
		{"uint16 range", enc(func(e *Encoder) { e.Byte(TagUint16); e.Uvarint(1 << 16) }), func(d *Decoder) { d.Value() }},
		{"short float", []byte{TagFloat64, 1, 2}, func(d *Decoder) { d.Value() }},
		{"short token value", []byte{TagLockToken, 1}, func(d *Decoder) { d.Value() }},
		{"token length", []byte{3, 1, 2, 3}, func(d *Decoder) { d.Token() }},
		{"zero token in full", enc(func(e *Encoder) { e.Bytes(make([]byte, 16)) }), func(d *Decoder) { d.Token() }},
		{"huge props count", []byte{0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0}, func(d *Decoder) { d.Props() }},
		{"huge metadata count", []byte{100, 0, 0}, func(d *Decoder) { d.Metadata() }},
		{"huge rules count", []byte{100, 0, 0, 0, 0, 0, 0, 0, 0}, func(d *Decoder) { d.Rules() }},
		{"unknown flags", enc(func(e *Encoder) {
			_ = e.Entity(&broker.Entity{Properties: broker.QueueProperties{SupportOrdering: true}})
		}), func(d *Decoder) { d.Entity(EntityLayout{FlagEnd: FlagSupportOrdering, Metadata: true, Rules: true}) }},
		{"flags beyond FlagEnd", enc(func(e *Encoder) {
			_ = e.Entity(&broker.Entity{})
			// The flag word (one zero byte) comes before two zero times,
			// nil metadata and no rules: make it FlagEnd.
			n := len(e.B) - 5
			e.B = append(binary.AppendUvarint(e.B[:n:n], FlagEnd), e.B[n+1:]...)
		}), func(d *Decoder) { d.Entity(EntityCurrent) }},
	} {
		d := NewDecoder(c.b)
		c.read(&d)
		if d.Err() == nil {
			t.Errorf("%s: decoded", c.name)
		} else if !strings.Contains(d.Err().Error(), rejectReasons[c.name]) {
			t.Errorf("%s: %v; want %q", c.name, d.Err(), rejectReasons[c.name])
		}
	}
	// The first error sticks, and names its offset.
	d := NewDecoder([]byte{1, 2})
	d.Byte()
	d.Bool()
	if v := d.Byte(); v != 0 || d.Err() == nil || d.Err().Error() != "bad boolean at byte 2" {
		t.Errorf("after a bad boolean: %d, %v", v, d.Err())
	}
	d = NewDecoder([]byte{9})
	if d.Raw(2); !errors.Is(d.Err(), ErrShort) {
		t.Errorf("short input: %v", d.Err())
	}
}

func TestUnsupportedValue(t *testing.T) {
	var e Encoder
	if err := e.Value(struct{}{}); err == nil || len(e.B) != 0 {
		t.Fatalf("struct value: %v, % x", err, e.B)
	}
	if err := e.Props(map[string]any{"x": []int{1}}); err == nil {
		t.Fatal("slice property encoded")
	}
	for _, r := range []broker.Rule{
		{Filter: broker.RuleFilter{Parameters: map[string]any{"x": 1i}}},
		{Filter: broker.RuleFilter{Correlation: &broker.CorrelationFilter{Properties: map[string]any{"x": 1i}}}},
		{ActionParameters: map[string]any{"x": 1i}},
	} {
		if err := e.Entity(&broker.Entity{Rules: []broker.Rule{r}}); err == nil {
			t.Fatalf("rule %+v encoded", r)
		}
	}
}

// TestCoversFields fails when the broker's entity types gain a field, so
// that whoever adds one also teaches Entity and Rules (and the stores'
// formats) about it.
func TestCoversFields(t *testing.T) {
	for _, c := range []struct {
		v any
		n int
	}{{broker.Entity{}, 7}, {broker.QueueProperties{}, 18}, {broker.Rule{}, 5}, {broker.RuleFilter{}, 4}, {broker.CorrelationFilter{}, 9}} {
		if got := reflect.TypeOf(c.v).NumField(); got != c.n {
			t.Errorf("%T has %d fields; the encoding knows %d", c.v, got, c.n)
		}
	}
}
