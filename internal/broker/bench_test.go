package broker_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/store/memstore"
)

func benchBroker(b *testing.B) *broker.Broker {
	b.Helper()
	br, err := broker.New(broker.Config{Store: memstore.New()})
	if err != nil {
		b.Fatal(err)
	}
	if err := br.Open(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { br.Close() })
	if _, err := br.CreateQueue(context.Background(), "q", broker.QueueProperties{MaxSizeInMegabytes: 80 * 1024}); err != nil {
		b.Fatal(err)
	}
	return br
}

func reportRate(b *testing.B, msgs int) {
	b.ReportMetric(float64(msgs)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkSend sends 1 KiB messages, one per call and in batches.
func BenchmarkSend(b *testing.B) {
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			br := benchBroker(b)
			ctx := context.Background()
			body := make([]byte, 1024)
			msgs := make([]*broker.Message, batch)
			for i := range msgs {
				msgs[i] = &broker.Message{Body: body}
			}
			b.SetBytes(int64(len(body) * batch))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := br.Send(ctx, "q", msgs); err != nil {
					b.Fatal(err)
				}
			}
			reportRate(b, b.N*batch)
		})
	}
}

// BenchmarkSendParallel sends from many goroutines to one queue.
func BenchmarkSendParallel(b *testing.B) {
	br := benchBroker(b)
	ctx := context.Background()
	body := make([]byte, 1024)
	b.SetBytes(1024)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		msgs := []*broker.Message{{Body: body}}
		for pb.Next() {
			if _, err := br.Send(ctx, "q", msgs); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportRate(b, b.N)
}

// BenchmarkReceiveComplete receives in peek-lock and completes, from a
// preloaded queue.
func BenchmarkReceiveComplete(b *testing.B) {
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			br := benchBroker(b)
			ctx := context.Background()
			body := make([]byte, 1024)
			preload(b, br, b.N*batch+batch, body)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				msgs, err := br.Receive(ctx, "q", broker.ReceiveOptions{MaxMessages: batch})
				if err != nil || len(msgs) != batch {
					b.Fatalf("receive: %d, %v", len(msgs), err)
				}
				for _, m := range msgs {
					if err := br.Settle(ctx, "q", m.LockToken, broker.Settlement{Disposition: broker.Complete}); err != nil {
						b.Fatal(err)
					}
				}
			}
			reportRate(b, b.N*batch)
		})
	}
}

// BenchmarkSendReceiveComplete is the whole peek-lock round trip with
// concurrent producers and consumers.
func BenchmarkSendReceiveComplete(b *testing.B) {
	br := benchBroker(b)
	ctx := context.Background()
	body := make([]byte, 1024)
	b.ReportAllocs()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range b.N {
			if _, err := br.Send(ctx, "q", []*broker.Message{{Body: body}}); err != nil {
				b.Error(err)
				return
			}
		}
	}()
	got := 0
	for got < b.N {
		msgs, err := br.Receive(ctx, "q", broker.ReceiveOptions{MaxMessages: 100, Wait: time.Second})
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range msgs {
			if err := br.Settle(ctx, "q", m.LockToken, broker.Settlement{Disposition: broker.Complete}); err != nil {
				b.Fatal(err)
			}
		}
		got += len(msgs)
	}
	wg.Wait()
	reportRate(b, b.N)
}

// BenchmarkPeek peeks 100 messages at a time from a queue of 10,000.
func BenchmarkPeek(b *testing.B) {
	br := benchBroker(b)
	ctx := context.Background()
	preload(b, br, 10000, make([]byte, 1024))
	b.ReportAllocs()
	from := int64(1)
	for b.Loop() {
		msgs, err := br.Peek(ctx, "q", from, 100, "")
		if err != nil || len(msgs) == 0 {
			b.Fatalf("peek: %d, %v", len(msgs), err)
		}
		from = msgs[len(msgs)-1].SequenceNumber + 1
		if from > 10000 {
			from = 1
		}
	}
	reportRate(b, b.N*100)
}

func preload(b *testing.B, br *broker.Broker, n int, body []byte) {
	b.Helper()
	ctx := context.Background()
	for n > 0 {
		k := min(n, 1000)
		msgs := make([]*broker.Message, k)
		for i := range msgs {
			msgs[i] = &broker.Message{Body: body}
		}
		if _, err := br.Send(ctx, "q", msgs); err != nil {
			b.Fatal(err)
		}
		n -= k
	}
}
