package broker_test

import (
	"context"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/store/memstore"
)

// TestRepeatedSequenceNumbers: a sequence number given twice to
// CancelScheduled cancels the message once (and the counts follow), and
// given twice to ReceiveDeferred returns the message once.
func TestRepeatedSequenceNumbers(t *testing.T) {
	ctx := context.Background()
	b, err := broker.New(broker.Config{Store: memstore.New()})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.CreateQueue(ctx, "q", broker.QueueProperties{}); err != nil {
		t.Fatal(err)
	}
	seqs, err := b.Schedule(ctx, "q", []*broker.Message{{Body: []byte("s")}}, b.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.CancelScheduled(ctx, "q", []int64{seqs[0], seqs[0]}); err != nil {
		t.Fatal(err)
	}
	if info, _ := b.GetEntity("q"); info.Total() != 0 {
		t.Fatalf("counts after cancelling: %+v", info.Counts)
	}
	if _, err := b.Send(ctx, "q", []*broker.Message{{Body: []byte("d")}}); err != nil {
		t.Fatal(err)
	}
	got, err := b.Receive(ctx, "q", broker.ReceiveOptions{})
	if err != nil || len(got) != 1 {
		t.Fatal(got, err)
	}
	if err := b.Settle(ctx, "q", got[0].LockToken, broker.Settlement{Disposition: broker.Defer}); err != nil {
		t.Fatal(err)
	}
	d, err := b.ReceiveDeferred(ctx, "q", []int64{got[0].SequenceNumber, got[0].SequenceNumber}, broker.PeekLock, nil)
	if err != nil || len(d) != 1 {
		t.Fatalf("receive deferred twice the same number: %d messages, %v", len(d), err)
	}
}
