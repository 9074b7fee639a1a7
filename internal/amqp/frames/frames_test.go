package frames

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/batonmq/baton/internal/amqp/encoding"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ptr[T any](v T) *T { return &v }

// sampleFrame is one frame of a test corpus.
type sampleFrame struct {
	name    string
	typ     Type
	channel uint16
	body    Body
	payload []byte
}

// sampleFrames returns every performative with its fields set the way a
// Service Bus client or the broker sets them, and a fully populated variant.
func sampleFrames() []sampleFrame {
	sessionFilter := encoding.Map{{Key: Symbol("com.microsoft:session-filter"),
		Value: encoding.Described{Descriptor: uint64(0x137000000c), Value: "session-1"}}}
	lockLost := &Error{Condition: ErrCondMessageLockLost, Description: "lock expired",
		Info: encoding.Map{{Key: Symbol("tracking-id"), Value: "abc"}}}
	return []sampleFrame{
		{name: "heartbeat", typ: TypeAMQP},
		{name: "sasl-mechanisms", typ: TypeSASL, body: &SASLMechanisms{Mechanisms: []Symbol{"ANONYMOUS", "PLAIN"}}},
		{name: "sasl-init", typ: TypeSASL, body: &SASLInit{Mechanism: "ANONYMOUS", InitialResponse: []byte("anonymous"), Hostname: "localhost"}},
		{name: "sasl-challenge", typ: TypeSASL, body: &SASLChallenge{Challenge: []byte{1, 2}}},
		{name: "sasl-response", typ: TypeSASL, body: &SASLResponse{Response: []byte{}}},
		{name: "sasl-outcome", typ: TypeSASL, body: &SASLOutcome{Code: SASLOK}},
		{name: "sasl-outcome-data", typ: TypeSASL, body: &SASLOutcome{Code: SASLAuth, AdditionalData: []byte("no")}},
		{name: "open-go-client", typ: TypeAMQP, body: &Open{
			ContainerID: "c0ffee", Hostname: "localhost:5672", MaxFrameSize: 65536, ChannelMax: 65535, IdleTimeOut: 30000,
			Properties: encoding.Map{{Key: Symbol("product"), Value: "MSGolangClient"}, {Key: Symbol("version"), Value: "1.10.0"}},
		}},
		{name: "open-full", typ: TypeAMQP, body: &Open{
			ContainerID: "baton", Hostname: "h", MaxFrameSize: 1 << 20, ChannelMax: 7, IdleTimeOut: 120000,
			OutgoingLocales: []Symbol{"en-US"}, IncomingLocales: []Symbol{"en-US", "de-DE"},
			OfferedCapabilities: []Symbol{"ANONYMOUS-RELAY"}, DesiredCapabilities: []Symbol{"x"},
			Properties: encoding.Map{{Key: Symbol("k"), Value: int64(1)}},
		}},
		{name: "begin-client", typ: TypeAMQP, channel: 3, body: &Begin{NextOutgoingID: 0, IncomingWindow: 5000, OutgoingWindow: 5000, HandleMax: 4294967294}},
		{name: "begin-reply", typ: TypeAMQP, channel: 1, body: &Begin{
			RemoteChannel: ptr(uint16(3)), NextOutgoingID: 1, IncomingWindow: math.MaxInt32, OutgoingWindow: 100, HandleMax: math.MaxUint32,
			OfferedCapabilities: []Symbol{"a"}, DesiredCapabilities: []Symbol{"b"}, Properties: encoding.Map{{Key: Symbol("p"), Value: true}},
		}},
		{name: "attach-sender", typ: TypeAMQP, body: &Attach{
			Name: strings.Repeat("n", 40), Handle: 0, Role: RoleSender,
			SndSettleMode: ptr(SenderSettleMixed), RcvSettleMode: ptr(ReceiverSettleFirst),
			Source: &Source{ExpiryPolicy: ExpirySessionEnd}, Target: &Target{Address: "orders", ExpiryPolicy: ExpirySessionEnd},
		}},
		{name: "attach-session-receiver-reply", typ: TypeAMQP, body: &Attach{
			Name: "recv", Handle: 7, Role: RoleSender, RcvSettleMode: ptr(ReceiverSettleSecond),
			Source: &Source{Address: "q", ExpiryPolicy: ExpirySessionEnd, Filter: sessionFilter},
			Target: &Target{ExpiryPolicy: ExpirySessionEnd}, InitialDeliveryCount: ptr(SequenceNo(0)), MaxMessageSize: ptr(uint64(0)),
			Properties: encoding.Map{{Key: Symbol("com.microsoft:locked-until-utc"), Value: int64(638712345678901234)}},
		}},
		{name: "attach-full", typ: TypeAMQP, body: &Attach{
			Name: "full", Handle: 1 << 20, Role: RoleReceiver, SndSettleMode: ptr(SenderSettleSettled), RcvSettleMode: ptr(ReceiverSettleFirst),
			Source: &Source{
				Address: "t/Subscriptions/s", Durable: DurabilityUnsettled, ExpiryPolicy: ExpiryNever, Timeout: 60, Dynamic: true,
				DynamicNodeProperties: encoding.Map{{Key: Symbol("lifetime-policy"), Value: encoding.Described{Descriptor: uint64(0x2b), Value: []any{}}}},
				DistributionMode:      "move", Filter: encoding.Map{{Key: Symbol("f"), Value: "plain"}},
				DefaultOutcome: Modified{DeliveryFailed: true}, Outcomes: []Symbol{"amqp:accepted:list", "amqp:rejected:list"},
				Capabilities: []Symbol{"queue"},
			},
			Target:              &Target{Address: "$cbs$$cbs-reply-to-x", Durable: DurabilityConfiguration, ExpiryPolicy: ExpiryLinkDetach, Timeout: 5, Dynamic: true, Capabilities: []Symbol{"c"}},
			Unsettled:           encoding.Map{{Key: []byte{1}, Value: encoding.Described{Descriptor: uint64(DescAccepted), Value: []any{}}}},
			IncompleteUnsettled: true, InitialDeliveryCount: ptr(SequenceNo(9)), MaxMessageSize: ptr(uint64(262144)),
			OfferedCapabilities: []Symbol{"o"}, DesiredCapabilities: []Symbol{"d"},
			Properties: encoding.Map{{Key: Symbol("com.microsoft:timeout"), Value: uint32(60000)}},
		}},
		{name: "attach-coordinator", typ: TypeAMQP, body: &Attach{
			Name: "txn", Handle: 2, Role: RoleSender, Source: &Source{ExpiryPolicy: ExpirySessionEnd},
			Coordinator: &Coordinator{Capabilities: []Symbol{"amqp:local-transactions"}},
		}},
		{name: "attach-reject", typ: TypeAMQP, body: &Attach{Name: "x", Handle: 0, Role: RoleReceiver}},
		{name: "flow-session", typ: TypeAMQP, body: &Flow{NextIncomingID: 5, HasNextIncomingID: true, IncomingWindow: 5000, NextOutgoingID: 1, OutgoingWindow: 5000}},
		{name: "flow-link", typ: TypeAMQP, body: &Flow{
			NextIncomingID: 5, HasNextIncomingID: true, IncomingWindow: 5000, NextOutgoingID: 1, OutgoingWindow: 5000,
			Handle: 0, HasHandle: true, DeliveryCount: 10, HasDeliveryCount: true, LinkCredit: 1000, HasLinkCredit: true,
		}},
		{name: "flow-full", typ: TypeAMQP, body: &Flow{
			NextIncomingID: 1, HasNextIncomingID: true, IncomingWindow: 2, NextOutgoingID: 3, OutgoingWindow: 4,
			Handle: 5, HasHandle: true, DeliveryCount: 6, HasDeliveryCount: true, LinkCredit: 7, HasLinkCredit: true,
			Available: 8, HasAvailable: true, Drain: true, Echo: true, Properties: encoding.Map{{Key: Symbol("x"), Value: nil}},
		}},
		{name: "transfer-first", typ: TypeAMQP, channel: 1, body: &Transfer{
			Handle: 0, DeliveryID: 42, HasDeliveryID: true, DeliveryTag: []byte{0, 0, 0, 0, 0, 0, 0, 1},
			MessageFormat: 0, HasMessageFormat: true, Settled: false, HasSettled: true, More: true,
		}, payload: []byte{0x00, 0x53, 0x75, 0xa0, 0x02, 'h', 'i'}},
		{name: "transfer-continuation", typ: TypeAMQP, body: &Transfer{Handle: 0}, payload: []byte("rest")},
		{name: "transfer-full", typ: TypeAMQP, body: &Transfer{
			Handle: 3, DeliveryID: 1, HasDeliveryID: true, DeliveryTag: make([]byte, 16), MessageFormat: MessageFormatBatch, HasMessageFormat: true,
			Settled: true, HasSettled: true, More: true, RcvSettleMode: ReceiverSettleSecond, HasRcvSettleMode: true,
			State: TransactionalState{TxnID: []byte{1}, Outcome: Accepted{}}, Resume: true, Aborted: true, Batchable: true,
		}, payload: []byte{}},
		{name: "disposition-accepted", typ: TypeAMQP, body: &Disposition{Role: RoleReceiver, First: 7, Settled: true, State: Accepted{}}},
		{name: "disposition-lock-lost", typ: TypeAMQP, body: &Disposition{Role: RoleSender, First: 7, Last: 9, HasLast: true, Settled: true, State: Rejected{Error: lockLost}}},
		{name: "disposition-modified", typ: TypeAMQP, body: &Disposition{Role: RoleReceiver, First: 1, State: Modified{
			UndeliverableHere: true, MessageAnnotations: encoding.Map{{Key: Symbol("reason"), Value: "x"}}}, Batchable: true}},
		{name: "disposition-released", typ: TypeAMQP, body: &Disposition{Role: RoleReceiver, First: 0, Settled: true, State: Released{}}},
		{name: "disposition-received", typ: TypeAMQP, body: &Disposition{Role: RoleReceiver, First: 0, State: Received{SectionNumber: 2, SectionOffset: 1 << 33}}},
		{name: "disposition-declared", typ: TypeAMQP, body: &Disposition{Role: RoleSender, First: 0, Settled: true, State: Declared{TxnID: []byte("tx")}}},
		{name: "detach-closed", typ: TypeAMQP, body: &Detach{Handle: 1, Closed: true}},
		{name: "detach-error", typ: TypeAMQP, body: &Detach{Handle: 1, Closed: true, Error: &Error{Condition: ErrCondNotFound,
			Description: "The messaging entity 'q' could not be found."}}},
		{name: "end", typ: TypeAMQP, body: &End{}},
		{name: "end-error", typ: TypeAMQP, body: &End{Error: &Error{Condition: ErrCondWindowViolation}}},
		{name: "close", typ: TypeAMQP, body: &Close{}},
		{name: "close-error", typ: TypeAMQP, body: &Close{Error: &Error{Condition: ErrCondFramingError, Description: "bad frame"}}},
	}
}

// normalise fills the defaults that decoding supplies so that a struct
// built by hand compares equal to its decoded form.
func normalise(b Body) Body {
	switch v := b.(type) {
	case *Open:
		if v.MaxFrameSize == 0 {
			v.MaxFrameSize = math.MaxUint32
		}
		if v.ChannelMax == 0 {
			v.ChannelMax = math.MaxUint16
		}
	case *Begin:
		if v.HandleMax == 0 {
			v.HandleMax = math.MaxUint32
		}
	case *Attach:
		if v.Source != nil && v.Source.ExpiryPolicy == "" {
			v.Source.ExpiryPolicy = ExpirySessionEnd
		}
		if v.Target != nil && v.Target.ExpiryPolicy == "" {
			v.Target.ExpiryPolicy = ExpirySessionEnd
		}
	}
	return b
}

func TestRoundTripEveryPerformative(t *testing.T) {
	t.Parallel()
	for _, s := range sampleFrames() {
		t.Run(s.name, func(t *testing.T) {
			frame, err := AppendFrame(nil, s.typ, s.channel, s.body, s.payload)
			if err != nil {
				t.Fatal(err)
			}
			f, n, err := ParseFrame(frame, 0)
			if err != nil {
				t.Fatalf("ParseFrame: %v\n%x", err, frame)
			}
			if n != len(frame) || f.Type != s.typ || f.Channel != s.channel {
				t.Fatalf("n=%d type=%v channel=%d", n, f.Type, f.Channel)
			}
			if s.body == nil {
				if f.Body != nil {
					t.Fatal("heartbeat has a body")
				}
				return
			}
			want := normalise(s.body)
			if !reflect.DeepEqual(f.Body, want) {
				t.Fatalf("decoded\n%#v\nwant\n%#v", f.Body, want)
			}
			if _, isTransfer := s.body.(*Transfer); isTransfer && !bytes.Equal(f.Payload, s.payload) {
				t.Fatalf("payload %x", f.Payload)
			}
			// Encoding the decoded body gives the same bytes.
			again, err := AppendFrame(nil, f.Type, f.Channel, f.Body, f.Payload)
			if err != nil || !bytes.Equal(again, frame) {
				t.Fatalf("re-encode differs: %v\n%x\n%x", err, again, frame)
			}
		})
	}
}

func TestGoldenFrames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		typ  Type
		body Body
		hex  string
	}{
		{"heartbeat", TypeAMQP, nil, "00000008 02 00 0000"},
		// sasl-outcome code ok: described 0x44, list8 size 3 count 1, ubyte 0.
		{"sasl-outcome", TypeSASL, &SASLOutcome{Code: SASLOK}, "00000010 02 01 0000 00 53 44 c0 03 01 50 00"},
		// sasl-mechanisms [ANONYMOUS]: array8 of sym8.
		{"sasl-mechanisms", TypeSASL, &SASLMechanisms{Mechanisms: []Symbol{"ANONYMOUS"}},
			"0000001c 02 01 0000 00 53 40 c0 0f 01 e0 0c 01 a3 09 414e4f4e594d4f5553"},
		// open container-id "a", max-frame-size 65536, channel-max default.
		{"open", TypeAMQP, &Open{ContainerID: "a", MaxFrameSize: 65536, ChannelMax: 65535},
			"00000017 02 00 0000 00 53 10 c0 0a 03 a1 01 61 40 70 00010000"},
		// close with no error: empty list.
		{"close", TypeAMQP, &Close{}, "0000000c 02 00 0000 00 53 18 45"},
		// flow: next-incoming-id absent, windows 100/0/100, handle 0, delivery-count 0, link-credit 10.
		{"flow", TypeAMQP, &Flow{IncomingWindow: 100, OutgoingWindow: 100, HasHandle: true, HasDeliveryCount: true, LinkCredit: 10, HasLinkCredit: true},
			"00000018 02 00 0000 00 53 13 c0 0b 07 40 52 64 43 52 64 43 43 52 0a"},
		// disposition receiver first 5 settled accepted.
		{"disposition", TypeAMQP, &Disposition{Role: RoleReceiver, First: 5, Settled: true, State: Accepted{}},
			"00000017 02 00 0000 00 53 15 c0 0a 05 41 52 05 40 41 00 53 24 45"},
	}
	for _, tt := range tests {
		got, err := AppendFrame(nil, tt.typ, 0, tt.body, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := unhex(t, tt.hex); !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %x\nwant %x", tt.name, got, want)
		}
	}
}

func TestDecodeDefaults(t *testing.T) {
	t.Parallel()
	// A zero Open or Begin advertises the defaults, not channel-max 0 or
	// handle-max 0.
	for _, b := range []Body{&Open{ContainerID: "c"}, &Begin{}} {
		frame, _ := AppendFrame(nil, TypeAMQP, 0, b, nil)
		f, _, err := ParseFrame(frame, 0)
		if err != nil {
			t.Fatal(err)
		}
		switch v := f.Body.(type) {
		case *Open:
			if v.ChannelMax != math.MaxUint16 || v.MaxFrameSize != math.MaxUint32 {
				t.Fatalf("%+v", v)
			}
		case *Begin:
			if v.HandleMax != math.MaxUint32 {
				t.Fatalf("%+v", v)
			}
		}
	}
	// open with only container-id.
	body := unhex(t, "00 53 10 c0 03 01 a1 00")
	b, _, err := DecodeBody(TypeAMQP, body)
	if err != nil {
		t.Fatal(err)
	}
	o := b.(*Open)
	if o.MaxFrameSize != math.MaxUint32 || o.ChannelMax != math.MaxUint16 || o.IdleTimeOut != 0 {
		t.Fatalf("%+v", o)
	}
	// attach with a bare source/target: defaults filled, settle modes nil.
	var w encoding.Buffer
	_ = (&Attach{Name: "l", Role: RoleReceiver, Source: &Source{}, Target: &Target{}}).AppendTo(&w)
	b, _, err = DecodeBody(TypeAMQP, w.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	a := b.(*Attach)
	if a.SndSettleMode != nil || a.SenderSettle() != SenderSettleMixed || a.ReceiverSettle() != ReceiverSettleFirst ||
		a.Source.ExpiryPolicy != ExpirySessionEnd || a.Target.ExpiryPolicy != ExpirySessionEnd || a.MaxMessageSize != nil {
		t.Fatalf("%+v", a)
	}
	// Symbolic descriptors are accepted.
	w.Reset()
	w.AppendSymbolDescriptor("amqp:detach:list")
	_ = w.AppendValue([]any{uint32(4), true})
	b, _, err = DecodeBody(TypeAMQP, w.Bytes())
	if err != nil || *b.(*Detach) != (Detach{Handle: 4, Closed: true}) {
		t.Fatalf("%v %+v", err, b)
	}
	// A single symbol where "multiple" symbols are allowed.
	w.Reset()
	w.AppendDescriptor(DescSASLMechanisms)
	_ = w.AppendValue([]any{Symbol("PLAIN")})
	b, _, err = DecodeBody(TypeSASL, w.Bytes())
	if err != nil || !reflect.DeepEqual(b.(*SASLMechanisms).Mechanisms, []Symbol{"PLAIN"}) {
		t.Fatalf("%v %+v", err, b)
	}
}

func TestDecodeBodyErrors(t *testing.T) {
	t.Parallel()
	body := func(desc uint64, fields ...any) []byte {
		var w encoding.Buffer
		w.AppendDescriptor(desc)
		if err := w.AppendValue(fields); err != nil {
			t.Fatal(err)
		}
		return w.Bytes()
	}
	tests := []struct {
		name string
		typ  Type
		body []byte
	}{
		{"not described", TypeAMQP, []byte{0x45}},
		{"unknown descriptor", TypeAMQP, body(0x99)},
		{"sasl in amqp frame", TypeAMQP, body(DescSASLOutcome, uint8(0))},
		{"amqp in sasl frame", TypeSASL, body(DescClose)},
		{"open without container-id", TypeAMQP, body(DescOpen)},
		{"open bad container-id", TypeAMQP, body(DescOpen, uint32(1))},
		{"open properties int key", TypeAMQP, body(DescOpen, "c", nil, nil, nil, nil, nil, nil, nil, nil, encoding.Map{{Key: int32(1), Value: 1}})},
		{"begin missing windows", TypeAMQP, body(DescBegin, nil, uint32(0))},
		{"attach missing role", TypeAMQP, body(DescAttach, "n", uint32(0))},
		{"attach bad target", TypeAMQP, body(DescAttach, "n", uint32(0), true, nil, nil, nil, encoding.Described{Descriptor: uint64(DescSource), Value: []any{}})},
		{"flow missing", TypeAMQP, body(DescFlow, nil, uint32(1))},
		{"transfer missing handle", TypeAMQP, body(DescTransfer)},
		{"transfer long tag", TypeAMQP, body(DescTransfer, uint32(0), uint32(0), make([]byte, 33))},
		{"disposition bad state", TypeAMQP, body(DescDisposition, true, uint32(0), nil, true, "accepted")},
		{"disposition unknown state", TypeAMQP, body(DescDisposition, true, uint32(0), nil, true, encoding.Described{Descriptor: uint64(0x99), Value: []any{}})},
		{"nested transactional state", TypeAMQP, body(DescDisposition, true, uint32(0), nil, true,
			encoding.Described{Descriptor: uint64(DescTransactionalState), Value: []any{[]byte{1},
				encoding.Described{Descriptor: uint64(DescTransactionalState), Value: []any{[]byte{1}}}}})},
		{"detach missing handle", TypeAMQP, body(DescDetach)},
		{"close bad error", TypeAMQP, body(DescClose, "oops")},
		{"error without condition", TypeAMQP, body(DescClose, encoding.Described{Descriptor: uint64(DescError), Value: []any{}})},
		{"trailing bytes", TypeAMQP, append(body(DescClose), 0x40)},
		{"sasl-outcome missing code", TypeSASL, body(DescSASLOutcome)},
		{"sasl-init bad mechanism", TypeSASL, body(DescSASLInit, "PLAIN")},
	}
	for _, tt := range tests {
		_, _, err := DecodeBody(tt.typ, tt.body)
		var de *encoding.DecodeError
		if !errors.As(err, &de) {
			t.Errorf("%s: error %v, want *encoding.DecodeError", tt.name, err)
		}
	}
}

func TestFramingErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		hex  string
		max  uint32
	}{
		{"size below header", "00000007 02 00 0000", 0},
		{"doff below 2", "00000008 01 00 0000", 0},
		{"doff beyond size", "00000008 03 00 0000", 0},
		{"too large", "00010001 02 00 0000", 65536},
		{"bad type", "00000008 02 05 0000", 0},
	}
	for _, tt := range tests {
		_, _, err := ParseFrame(unhex(t, tt.hex), tt.max)
		var fe *FramingError
		if !errors.As(err, &fe) || fe.Condition() != ErrCondFramingError {
			t.Errorf("%s: %v", tt.name, err)
		}
		r := NewReader(bytes.NewReader(unhex(t, tt.hex)), tt.max)
		if _, err := r.ReadFrame(); !errors.As(err, &fe) {
			t.Errorf("%s (Reader): %v", tt.name, err)
		}
	}
	if _, _, err := ParseFrame(unhex(t, "00000010 02 00 0000 00"), 0); !errors.Is(err, ErrIncomplete) {
		t.Errorf("partial frame: %v", err)
	}
	if _, _, err := ParseFrame(unhex(t, "000000"), 0); !errors.Is(err, ErrIncomplete) {
		t.Errorf("partial header: %v", err)
	}
}

func TestExtendedHeaderSkipped(t *testing.T) {
	t.Parallel()
	// doff 3: four bytes of extended header before a close body.
	frame := unhex(t, "00000010 03 00 0007 deadbeef 00 53 18 45")
	f, n, err := ParseFrame(frame, 0)
	if err != nil || n != len(frame) || f.Channel != 7 {
		t.Fatalf("%v %d %+v", err, n, f)
	}
	if _, ok := f.Body.(*Close); !ok {
		t.Fatalf("%T", f.Body)
	}
}

func TestReaderStream(t *testing.T) {
	t.Parallel()
	var stream []byte
	h := HeaderSASL.Bytes()
	stream = append(stream, h[:]...)
	samples := sampleFrames()
	for _, s := range samples {
		var err error
		if stream, err = AppendFrame(stream, s.typ, s.channel, s.body, s.payload); err != nil {
			t.Fatal(err)
		}
	}
	// One byte at a time, to exercise partial reads.
	r := NewReader(io.LimitReader(&oneByteReader{b: stream}, int64(len(stream))), 1<<20)
	ph, err := r.ReadProtocolHeader()
	if err != nil || ph != HeaderSASL {
		t.Fatalf("%v %+v", err, ph)
	}
	for _, s := range samples {
		f, err := r.ReadFrame()
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if (f.Body == nil) != (s.body == nil) || (s.body != nil && f.Body.Descriptor() != s.body.Descriptor()) {
			t.Fatalf("%s: got %T", s.name, f.Body)
		}
	}
	if _, err := r.ReadFrame(); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
	// A truncated body is an unexpected EOF, not a clean one.
	r = NewReader(bytes.NewReader(unhex(t, "00000010 02 00 0000 0053")), 0)
	if _, err := r.ReadFrame(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated: %v", err)
	}
	// A huge claimed size without data does not allocate it.
	r = NewReader(bytes.NewReader(unhex(t, "7fffffff 02 00 0000 0053")), 0)
	if _, err := r.ReadFrame(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("huge: %v", err)
	}
	if _, err := ParseProtocolHeader([]byte("HTTP/1.1")); err == nil {
		t.Fatal("bad protocol header accepted")
	}
}

type oneByteReader struct{ b []byte }

func (r *oneByteReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	p[0] = r.b[0]
	r.b = r.b[1:]
	return 1, nil
}

func TestStrings(t *testing.T) {
	t.Parallel()
	for _, s := range []interface{ String() string }{
		Handle(1), DeliveryNumber(2), TransferNumber(3), SequenceNo(4), Channel(5), RoleSender, RoleReceiver,
		SenderSettleMixed, SenderSettleMode(9), ReceiverSettleSecond, ReceiverSettleMode(9), SASLOK, SASLCode(9), TypeAMQP, Type(9),
	} {
		if s.String() == "" {
			t.Errorf("%T has an empty String", s)
		}
	}
	e := &Error{Condition: ErrCondNotFound, Description: "x"}
	if e.Error() != "amqp:not-found: x" {
		t.Fatal(e.Error())
	}
}

// TestDeadLetterFromGoClient decodes the disposition go-amqp sends for
// azservicebus DeadLetterMessage: a rejected outcome whose error info map
// has string keys (go-amqp writes Error.Info as map[string]any).
func TestDeadLetterFromGoClient(t *testing.T) {
	t.Parallel()
	var w encoding.Buffer
	w.AppendDescriptor(DescDisposition)
	err := w.AppendValue([]any{true, uint32(3), nil, false, encoding.Described{Descriptor: uint64(DescRejected), Value: []any{
		encoding.Described{Descriptor: uint64(DescError), Value: []any{
			Symbol(ErrCondDeadLetter), nil,
			encoding.Map{{Key: "DeadLetterReason", Value: "bad"}, {Key: "DeadLetterErrorDescription", Value: "really"}},
		}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := DecodeBody(TypeAMQP, w.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	rej, ok := b.(*Disposition).State.(Rejected)
	if !ok || rej.Error == nil || rej.Error.Condition != ErrCondDeadLetter {
		t.Fatalf("%+v", b)
	}
	if v, ok := rej.Error.Info.Lookup("DeadLetterReason"); !ok || v != "bad" {
		t.Fatalf("reason %v %v", v, ok)
	}
	// The JS client sends symbol keys; Lookup finds those too.
	info := encoding.Map{{Key: Symbol("DeadLetterReason"), Value: "x"}}
	if v, ok := info.Lookup("DeadLetterReason"); !ok || v != "x" {
		t.Fatal("symbol key")
	}
}
