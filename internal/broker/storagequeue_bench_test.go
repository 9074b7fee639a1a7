package broker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/store/memstore"
)

func benchStorageQueue(b *testing.B) *broker.StorageQueues {
	b.Helper()
	br, err := broker.New(broker.Config{Store: memstore.New()})
	if err != nil {
		b.Fatal(err)
	}
	if err := br.Open(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { br.Close() })
	q := br.StorageQueues()
	if _, err := q.Create(context.Background(), "acct/q", nil); err != nil {
		b.Fatal(err)
	}
	return q
}

// BenchmarkStorageQueueCycle is the Functions trigger's path per message
// on the in-memory store: Put, Get (batches of n), Delete; with backlog
// messages queued behind.
func BenchmarkStorageQueueCycle(b *testing.B) {
	for _, c := range []struct{ batch, backlog int }{{1, 0}, {32, 0}, {32, 100000}} {
		b.Run(fmt.Sprintf("batch=%d/backlog=%d", c.batch, c.backlog), func(b *testing.B) {
			q := benchStorageQueue(b)
			ctx := context.Background()
			text := make([]byte, 1024)
			for range c.backlog {
				if _, err := q.Put(ctx, "acct/q", text, time.Hour, -1); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(len(text) * c.batch))
			b.ReportAllocs()
			for b.Loop() {
				for range c.batch {
					if _, err := q.Put(ctx, "acct/q", text, 0, 0); err != nil {
						b.Fatal(err)
					}
				}
				ms, err := q.Get(ctx, "acct/q", c.batch, time.Minute)
				if err != nil || len(ms) != c.batch {
					b.Fatalf("Get: %d, %v", len(ms), err)
				}
				for _, m := range ms {
					if err := q.Delete(ctx, "acct/q", m.ID, m.Receipt); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.N*c.batch)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
