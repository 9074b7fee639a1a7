package servicebus

import (
	"testing"

	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/broker"
)

func benchMessage(b *testing.B, size int) []byte {
	return amqpMsg(b, &encoding.Message{
		Header:                &encoding.Header{TTL: 60000, HasTTL: true},
		Properties:            &encoding.Properties{MessageID: encoding.StringID("7c5f0a9e-44a3-4d43-9c3b-0d6b3d1f2a10"), GroupID: "s"},
		ApplicationProperties: encoding.Map{{Key: "tenant", Value: "contoso"}, {Key: "attempt", Value: int32(3)}},
		Data:                  [][]byte{make([]byte, size)},
	})
}

func BenchmarkFromAMQP(b *testing.B) {
	p := benchMessage(b, 1024)
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FromAMQP(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendDelivery(b *testing.B) {
	m, err := FromAMQP(benchMessage(b, 1024))
	if err != nil {
		b.Fatal(err)
	}
	m.SequenceNumber, m.EnqueuedTime, m.LockedUntil, m.LockToken = 42, t0, t0, broker.LockToken(uuid)
	for _, tc := range []struct {
		name  string
		props map[string]any
	}{{"plain", nil}, {"modified", map[string]any{"k": "v"}}} {
		b.Run(tc.name, func(b *testing.B) {
			m.Properties = tc.props
			buf := make([]byte, 0, 4096)
			b.SetBytes(int64(len(m.Body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := AppendDelivery(buf[:0], m, DeliveryOptions{PeekLock: true}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCodec measures what a topic send costs the codec: reading the
// application properties once per send (for every subscription's filters)
// and rewriting a copy an action changed.
func BenchmarkCodec(b *testing.B) {
	m, err := FromAMQP(benchMessage(b, 1024))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("AppProperties", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := (Codec{}).AppProperties(m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Rewrite", func(b *testing.B) {
		props, err := Codec{}.AppProperties(m)
		if err != nil {
			b.Fatal(err)
		}
		props["attempt"] = int64(4)
		props["RuleName"] = "r"
		b.SetBytes(int64(len(m.Body)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := (Codec{}).Rewrite(m, props); err != nil {
				b.Fatal(err)
			}
		}
	})
}
