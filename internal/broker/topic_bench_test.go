package broker_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/store/memstore"
)

// BenchmarkTopicSend sends 1 KiB messages to a topic with subs
// subscriptions, each with a SQL filter "region = 'rN' AND priority > 2";
// every message matches exactly one subscription, so the cost measured is
// evaluating every subscription's rule plus one copy. The matching
// subscription is drained as the benchmark goes so memory stays flat.
func BenchmarkTopicSend(b *testing.B) {
	for _, subs := range []int{1, 10, 100, 1000, 2000} {
		b.Run(fmt.Sprintf("subs=%d", subs), func(b *testing.B) {
			ctx := context.Background()
			br := topicBroker(b, subs, func(i int) *broker.Rule {
				return &broker.Rule{Name: "r", Filter: broker.RuleFilter{Kind: broker.FilterSQL,
					SQL: fmt.Sprintf("region = 'r%d' AND priority > 2", i)}}
			})
			body := make([]byte, 1024)
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				r := n % subs
				m := &broker.Message{Body: body, Properties: map[string]any{"region": fmt.Sprintf("r%d", r), "priority": int64(5)}}
				if _, err := br.Send(ctx, "t", []*broker.Message{m}); err != nil {
					b.Fatal(err)
				}
				n++
				if n%1024 == 0 {
					drainAll(b, br, subs)
				}
			}
			reportRate(b, b.N)
		})
	}
}

// BenchmarkTopicFanout sends 1 KiB messages that every one of subs
// subscriptions (TrueFilter) takes: one stored body, subs copies.
func BenchmarkTopicFanout(b *testing.B) {
	for _, subs := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("subs=%d", subs), func(b *testing.B) {
			ctx := context.Background()
			br := topicBroker(b, subs, func(int) *broker.Rule { return nil })
			msgs := []*broker.Message{{Body: make([]byte, 1024)}}
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if _, err := br.Send(ctx, "t", msgs); err != nil {
					b.Fatal(err)
				}
				if n++; n%256 == 0 {
					drainAll(b, br, subs)
				}
			}
			reportRate(b, b.N)
			b.ReportMetric(float64(b.N*subs)/b.Elapsed().Seconds(), "copies/s")
		})
	}
}

func topicBroker(b *testing.B, subs int, rule func(i int) *broker.Rule) *broker.Broker {
	b.Helper()
	ctx := context.Background()
	br, err := broker.New(broker.Config{Store: memstore.New()})
	if err != nil {
		b.Fatal(err)
	}
	if err := br.Open(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { br.Close() })
	if _, err := br.CreateTopic(ctx, "t", broker.QueueProperties{}); err != nil {
		b.Fatal(err)
	}
	for i := range subs {
		if _, err := br.CreateSubscription(ctx, "t", fmt.Sprintf("s%04d", i), broker.QueueProperties{}, rule(i)); err != nil {
			b.Fatal(err)
		}
	}
	return br
}

func drainAll(b *testing.B, br *broker.Broker, subs int) {
	b.Helper()
	ctx := context.Background()
	for i := range subs {
		path := broker.SubscriptionPath("t", fmt.Sprintf("s%04d", i))
		for {
			got, err := br.Receive(ctx, path, broker.ReceiveOptions{MaxMessages: 5000, Mode: broker.ReceiveAndDelete})
			if err != nil {
				b.Fatal(err)
			}
			if len(got) == 0 {
				break
			}
		}
	}
}
