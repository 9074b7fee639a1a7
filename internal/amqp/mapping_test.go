package amqp

import (
	"testing"
	"time"

	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/amqp/frames"
	"github.com/batonmq/baton/internal/broker"
)

func TestToBrokerMessage(t *testing.T) {
	t.Parallel()
	sched := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	payload, err := encoding.AppendMessage(nil, &encoding.Message{
		Header: &encoding.Header{TTL: 1500, HasTTL: true, Priority: 4},
		MessageAnnotations: encoding.Map{
			{Key: encoding.Symbol("x-opt-scheduled-enqueue-time"), Value: sched},
			{Key: encoding.Symbol("x-opt-partition-key"), Value: "pk"},
		},
		Properties: &encoding.Properties{
			MessageID: encoding.MessageID{Kind: encoding.IDUlong, Ulong: 42}, GroupID: "sess",
			CorrelationID: encoding.StringID("corr"), Subject: "subj", To: "to", ReplyTo: "rt",
			ReplyToGroupID: "rtg", ContentType: "application/json",
		},
		ApplicationProperties: encoding.Map{{Key: "a", Value: int64(1)}},
		Data:                  [][]byte{[]byte("body")},
	})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := toBrokerMessages(payload, 0)
	if err != nil || len(msgs) != 1 {
		t.Fatal(msgs, err)
	}
	m := msgs[0]
	want := broker.Message{MessageID: "42", SessionID: "sess", CorrelationID: "corr", Subject: "subj", To: "to",
		ReplyTo: "rt", ReplyToSessionID: "rtg", ContentType: "application/json", PartitionKey: "pk",
		TimeToLive: 1500 * time.Millisecond, ScheduledEnqueueTime: sched, Format: broker.FormatAMQP}
	got := *m
	got.Body = nil
	if got.MessageID != want.MessageID || got.SessionID != want.SessionID || got.CorrelationID != want.CorrelationID ||
		got.Subject != want.Subject || got.To != want.To || got.ReplyTo != want.ReplyTo || got.ReplyToSessionID != want.ReplyToSessionID ||
		got.ContentType != want.ContentType || got.PartitionKey != want.PartitionKey || got.TimeToLive != want.TimeToLive ||
		!got.ScheduledEnqueueTime.Equal(sched) || got.Format != want.Format {
		t.Fatalf("got %+v", got)
	}
	view, _ := encoding.ParseMessage(payload)
	if string(m.Body) != string(view.Bare()) {
		t.Fatal("the body is not the bare message byte for byte")
	}
}

func TestBatchFormat(t *testing.T) {
	t.Parallel()
	inner1, _ := encoding.AppendMessage(nil, &encoding.Message{Properties: &encoding.Properties{MessageID: encoding.StringID("1")}, Data: [][]byte{[]byte("one")}})
	inner2, _ := encoding.AppendMessage(nil, &encoding.Message{Properties: &encoding.Properties{MessageID: encoding.StringID("2")}, Data: [][]byte{[]byte("two")}})
	env, _ := encoding.AppendMessage(nil, &encoding.Message{Properties: &encoding.Properties{MessageID: encoding.StringID("1")}, Data: [][]byte{inner1, inner2}})
	msgs, err := toBrokerMessages(env, frames.MessageFormatBatch)
	if err != nil || len(msgs) != 2 || msgs[0].MessageID != "1" || msgs[1].MessageID != "2" {
		t.Fatalf("%v %v", msgs, err)
	}
}

func TestDeliveryEncoding(t *testing.T) {
	t.Parallel()
	bare, _ := encoding.AppendMessage(nil, &encoding.Message{
		ApplicationProperties: encoding.Map{{Key: "keep", Value: "k"}, {Key: "over", Value: "old"}},
		Data:                  [][]byte{[]byte("b")},
	}) // no properties section: one is added
	enq := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	m := &broker.Message{
		Format: broker.FormatAMQP, Body: bare, SequenceNumber: 7, EnqueuedTime: enq, DeliveryCount: 2,
		LockedUntil: enq.Add(time.Minute), LockToken: broker.LockToken{1, 2, 3}, State: broker.StateDeferred,
		TimeToLive: time.Hour, PartitionKey: "pk", DeadLetterSource: "src",
		Properties: map[string]any{"over": "new", "DeadLetterReason": "r", "n": 5},
	}
	payload, err := appendDelivery(nil, m, true)
	if err != nil {
		t.Fatal(err)
	}
	v, err := encoding.ParseMessage(payload)
	if err != nil {
		t.Fatal(err)
	}
	if !v.HasProperties || v.Header.DeliveryCount != 2 || v.Header.TTL != 3600000 {
		t.Fatalf("header %+v properties %v", v.Header, v.HasProperties)
	}
	ann := v.MessageAnnotations
	for k, want := range map[string]any{
		"x-opt-sequence-number": int64(7), "x-opt-enqueued-time": enq, "x-opt-locked-until": enq.Add(time.Minute),
		"x-opt-message-state": int32(1), "x-opt-partition-key": "pk", "x-opt-deadletter-source": "src",
	} {
		got, ok := ann.Lookup(k)
		if !ok {
			t.Errorf("annotation %s missing", k)
			continue
		}
		if gt, ok := got.(time.Time); ok {
			if !gt.Equal(want.(time.Time)) {
				t.Errorf("%s = %v want %v", k, got, want)
			}
		} else if got != want {
			t.Errorf("%s = %#v want %#v", k, got, want)
		}
	}
	props, _ := v.AppProperties()
	for k, want := range map[string]any{"keep": "k", "over": "new", "DeadLetterReason": "r", "n": int64(5)} {
		if got, _ := props.Get(k); got != want {
			t.Errorf("app property %s = %#v want %#v", k, got, want)
		}
	}
	da, _ := v.DeliveryAnnotations()
	if tok, _ := da.GetSymbol("x-opt-lock-token"); tok != encoding.UUID(m.LockToken) {
		t.Errorf("x-opt-lock-token %v", tok)
	}
	// Receive-and-delete: no lock annotations.
	payload, _ = appendDelivery(nil, m, false)
	v, _ = encoding.ParseMessage(payload)
	if _, ok := v.MessageAnnotations.Lookup("x-opt-locked-until"); ok {
		t.Error("x-opt-locked-until in a receive-and-delete delivery")
	}
}

func TestDeliveryOfRawMessage(t *testing.T) {
	t.Parallel()
	m := &broker.Message{Format: broker.FormatRaw, Body: []byte("raw"), MessageID: "id", Properties: map[string]any{"p": true},
		SequenceNumber: 1, EnqueuedTime: time.Unix(0, 0)}
	payload, err := appendDelivery(nil, m, false)
	if err != nil {
		t.Fatal(err)
	}
	v, err := encoding.ParseMessage(payload)
	if err != nil {
		t.Fatal(err)
	}
	data, ok := v.Data()
	if !ok || string(data) != "raw" || v.Properties.MessageID.Str != "id" {
		t.Fatalf("%q %+v", data, v.Properties)
	}
	if p, _, _ := v.AppProperty("p"); p != true {
		t.Fatalf("property %v", p)
	}
}

func TestSettlementOf(t *testing.T) {
	t.Parallel()
	if s := settlementOf(frames.Accepted{}); s.Disposition != broker.Complete {
		t.Error(s)
	}
	if s := settlementOf(frames.Released{}); s.Disposition != broker.Release {
		t.Error(s)
	}
	if s := settlementOf(nil); s.Disposition != broker.Release {
		t.Error(s)
	}
	s := settlementOf(frames.Modified{MessageAnnotations: encoding.Map{{Key: encoding.Symbol("k"), Value: encoding.Symbol("v")}}})
	if s.Disposition != broker.Abandon || s.Properties["k"] != "v" {
		t.Error(s)
	}
	if s := settlementOf(frames.Modified{UndeliverableHere: true}); s.Disposition != broker.Defer {
		t.Error(s)
	}
	s = settlementOf(frames.Rejected{Error: &frames.Error{Condition: frames.ErrCondDeadLetter,
		Info: encoding.Map{{Key: "DeadLetterReason", Value: "r"}, {Key: "DeadLetterErrorDescription", Value: nil}, {Key: "x", Value: int32(1)}}}})
	if s.Disposition != broker.DeadLetter || s.DeadLetterReason != "r" || s.DeadLetterDescription != "" || s.Properties["x"] != int32(1) || len(s.Properties) != 1 {
		t.Errorf("%+v", s)
	}
	// Confirmations (§7.1).
	if st, ok := confirmState(nil, broker.Settlement{Disposition: broker.DeadLetter}, nil).(frames.Rejected); !ok || st.Error != nil {
		t.Errorf("dead-letter confirmation %#v", st)
	}
	mod := frames.Modified{UndeliverableHere: true}
	if st, ok := confirmState(mod, broker.Settlement{Disposition: broker.Defer}, nil).(frames.Modified); !ok || !st.UndeliverableHere {
		t.Errorf("defer confirmation %#v", st)
	}
	st := confirmState(nil, broker.Settlement{}, &broker.Error{Code: broker.CodeSessionLockLost})
	if r, ok := st.(frames.Rejected); !ok || r.Error.Condition != frames.ErrCondSessionLockLost {
		t.Errorf("failure confirmation %#v", st)
	}
}
