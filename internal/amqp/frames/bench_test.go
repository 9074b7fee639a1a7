package frames

import (
	"bytes"
	"testing"
)

func transferFrame(tb testing.TB) ([]byte, *Transfer, []byte) {
	tb.Helper()
	t := &Transfer{
		Handle: 1, DeliveryID: 12345, HasDeliveryID: true, DeliveryTag: make([]byte, 16),
		MessageFormat: 0, HasMessageFormat: true, Settled: false, HasSettled: true,
	}
	payload := bytes.Repeat([]byte{'x'}, 1300)
	b, err := AppendFrame(nil, TypeAMQP, 1, t, payload)
	if err != nil {
		tb.Fatal(err)
	}
	return b, t, payload
}

func BenchmarkParseTransferFrame(b *testing.B) {
	frame, _, _ := transferFrame(b)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParseFrame(frame, 65536); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendTransferFrame(b *testing.B) {
	_, t, payload := transferFrame(b)
	buf := make([]byte, 0, 4096)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendFrame(buf[:0], TypeAMQP, 1, t, payload); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseDispositionFrame(b *testing.B) {
	frame, err := AppendFrame(nil, TypeAMQP, 1, &Disposition{Role: RoleReceiver, First: 7, Settled: true, State: Accepted{}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParseFrame(frame, 65536); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendFlowFrame(b *testing.B) {
	fl := &Flow{NextIncomingID: 5, HasNextIncomingID: true, IncomingWindow: 5000, NextOutgoingID: 1, OutgoingWindow: 5000,
		Handle: 0, HasHandle: true, DeliveryCount: 10, HasDeliveryCount: true, LinkCredit: 1000, HasLinkCredit: true}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendFrame(buf[:0], TypeAMQP, 1, fl, nil); err != nil {
			b.Fatal(err)
		}
	}
}
