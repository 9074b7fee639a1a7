package mgmt

import "testing"

// BenchmarkRoundTrip measures send → receive (peek-lock) → complete of one
// message through the management API on loopback: three HTTP requests, the
// client's JSON encoding and decoding included.
func BenchmarkRoundTrip(b *testing.B) {
	f := setup(b)
	f.queue("q", QueueProperties{})
	body := TextMessage("a 64-byte message body ................................")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.c.Send(f.ctx, "q", body); err != nil {
			b.Fatal(err)
		}
		msgs, err := f.c.Receive(f.ctx, "q", ReceiveRequest{})
		if err != nil || len(msgs) != 1 {
			b.Fatalf("receive: %v %d", err, len(msgs))
		}
		if err := f.c.Complete(f.ctx, "q", msgs[0].LockToken, false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSendBatch measures sending batches of 100 messages.
func BenchmarkSendBatch(b *testing.B) {
	f := setup(b)
	f.queue("q", QueueProperties{MaxSizeInMegabytes: ptr(int64(80 * 1024))})
	batch := make([]SendMessage, 100)
	for i := range batch {
		batch[i] = TextMessage("a 64-byte message body ................................")
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.c.Send(f.ctx, "q", batch...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "msgs/s")
}
