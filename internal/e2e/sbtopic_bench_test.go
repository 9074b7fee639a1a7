package e2e

import (
	"fmt"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus/admin"
)

// BenchmarkSBTopicSDK sends to a topic through the official Go SDK: 1 KiB
// messages with three application properties in batches of 100, to a topic
// whose subscriptions each have one SQL filter over those properties (the
// broker reads them from the AMQP body through the Service Bus codec, once
// per message). "all" subscriptions match every message (fan-out = subs);
// "tenth" ones match one message in ten (fan-out = subs/10); "action"
// ones match every message and change it (a rewritten copy per
// subscription). "queue" sends the same messages to a queue instead, the
// baseline side by side.
//
//	go test -run '^$' -bench BenchmarkSBTopicSDK -benchtime 2000x ./internal/e2e/
//
// Metrics: msgs/s sent to the topic, copies/s enqueued in subscriptions.
func BenchmarkSBTopicSDK(b *testing.B) {
	for _, mode := range []struct {
		name   string
		memory bool
	}{{"fsync", false}, {"memory", true}} {
		b.Run(mode.name, func(b *testing.B) {
			e := startSBBench(b, mode.memory)
			for _, tc := range []struct {
				kind string
				subs int
			}{{"queue", 0}, {"all", 1}, {"all", 10}, {"all", 100}, {"tenth", 100}, {"action", 10}} {
				b.Run(fmt.Sprintf("%s/subs=%d", tc.kind, tc.subs), func(b *testing.B) { e.benchTopicSend(b, tc.kind, tc.subs) })
			}
		})
	}
}

var sbBenchTopics int

func (e *sbBench) benchTopicSend(b *testing.B, kind string, subs int) {
	ctx := benchCtx(b)
	sbBenchTopics++
	topic := fmt.Sprintf("bench-%s-%d", kind, sbBenchTopics)
	fanout := 0.0
	if kind == "queue" {
		e.queue(b, topic)
		fanout = 1
	} else if _, err := e.admin.CreateTopic(ctx, topic, nil); err != nil {
		b.Fatal(err)
	}
	for i := range subs {
		rule := &admin.RuleProperties{Name: "f", Filter: &admin.SQLFilter{Expression: "tenant = 'contoso' AND attempt >= 0"}}
		switch kind {
		case "tenth":
			rule.Filter = &admin.SQLFilter{Expression: fmt.Sprintf("region = 'r%d' AND tenant = 'contoso'", i%10)}
			fanout += 0.1
		case "action":
			rule.Action = &admin.SQLAction{Expression: "SET attempt = attempt + 1"}
			fanout++
		default:
			fanout++
		}
		if _, err := e.admin.CreateSubscription(ctx, topic, fmt.Sprintf("s%d", i), &admin.CreateSubscriptionOptions{
			Properties: &admin.SubscriptionProperties{DefaultRule: rule}}); err != nil {
			b.Fatal(err)
		}
	}
	sender, err := e.client.NewSender(topic, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer sender.Close(ctx)
	body := make([]byte, sbBenchBody)
	seq := 0
	send := func(n int) {
		for sent := 0; sent < n; {
			batch, err := sender.NewMessageBatch(ctx, nil)
			if err != nil {
				b.Fatal(err)
			}
			k := min(sbBenchBatch, n-sent)
			for range k {
				seq++
				if err := batch.AddMessage(&azservicebus.Message{Body: body, MessageID: to.Ptr(fmt.Sprint(seq)),
					ApplicationProperties: map[string]any{"tenant": "contoso", "attempt": int32(3), "region": fmt.Sprintf("r%d", seq%10)}}, nil); err != nil {
					b.Fatal(err)
				}
			}
			if err := sender.SendMessageBatch(ctx, batch, nil); err != nil {
				b.Fatal(err)
			}
			sent += k
		}
	}
	send(sbBenchBatch) // attach and warm up
	b.SetBytes(sbBenchBody)
	b.ResetTimer()
	send(b.N)
	b.StopTimer()
	secs := b.Elapsed().Seconds()
	// The copies actually enqueued (warm-up included), checked against the
	// expected fan-out.
	copies := int64(0)
	if kind == "queue" {
		copies = int64(b.N + sbBenchBatch)
	} else {
		for i := range subs {
			p, err := e.admin.GetSubscriptionRuntimeProperties(ctx, topic, fmt.Sprintf("s%d", i), nil)
			if err != nil {
				b.Fatal(err)
			}
			copies += p.TotalMessageCount
		}
	}
	if want := int64(float64(b.N+sbBenchBatch)*fanout + 0.5); copies != want {
		b.Fatalf("%d copies enqueued, want %d", copies, want)
	}
	b.ReportMetric(float64(b.N)/secs, "msgs/s")
	b.ReportMetric(float64(b.N)*fanout/secs, "copies/s")
}
