package amqp

import (
	"testing"

	"github.com/batonmq/baton/internal/amqp/encoding"
)

// FuzzParseControl feeds random payloads to the coordinator's decoder of
// declare and discharge messages: it must return a declare, a discharge
// or an error, never panic.
//
//	go test -run='^$' -fuzz=FuzzParseControl -fuzztime=60s ./internal/amqp
func FuzzParseControl(f *testing.F) {
	for _, v := range []any{
		encoding.Described{Descriptor: encoding.Symbol("amqp:declare:list"), Value: []any{nil}},
		encoding.Described{Descriptor: uint64(0x31), Value: []any{}},
		encoding.Described{Descriptor: uint64(0x32), Value: []any{[]byte("txn:1"), true}},
		encoding.Described{Descriptor: encoding.Symbol("amqp:discharge:list"), Value: []any{[]byte("txn:2")}},
		encoding.Described{Descriptor: uint64(0x33), Value: []any{}},
		"not a control message",
	} {
		b, err := encoding.AppendMessage(nil, &encoding.Message{Value: v, HasValue: true})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		code, fields, err := parseControl(payload)
		if err != nil {
			return
		}
		if code != descDeclare && code != descDischarge {
			t.Fatalf("code %#x without an error", code)
		}
		_ = fields
	})
}
