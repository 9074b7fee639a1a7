package pgbroker

import (
	"context"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/store/pgstore/pgtest"
)

// TestSmoke: two engines on one schema: a send on one is received on the
// other, locks exclude, settlement and sessions work.
func TestSmoke(t *testing.T) {
	ctx := context.Background()
	schema := pgtest.Shared(t).NewSchema(t)
	a := open(t, schema, Config{Node: "a"})
	b := open(t, schema, Config{Node: "b"})
	if _, err := a.CreateQueue(ctx, "q", broker.QueueProperties{}); err != nil {
		t.Fatal(err)
	}
	seqs, err := a.Send(ctx, "q", []*broker.Message{{MessageID: "1", Body: []byte("one")}, {MessageID: "2", Body: []byte("two")}})
	if err != nil || len(seqs) != 2 || seqs[0] != 1 || seqs[1] != 2 {
		t.Fatalf("send: %v %v", seqs, err)
	}
	got, err := b.Receive(ctx, "q", broker.ReceiveOptions{MaxMessages: 1})
	if err != nil || len(got) != 1 || string(got[0].Body) != "one" || got[0].SequenceNumber != 1 || got[0].LockToken.IsZero() {
		t.Fatalf("receive on b: %+v %v", got, err)
	}
	other, err := a.Receive(ctx, "q", broker.ReceiveOptions{MaxMessages: 5})
	if err != nil || len(other) != 1 || other[0].SequenceNumber != 2 {
		t.Fatalf("receive on a: %+v %v", other, err)
	}
	if err := a.Settle(ctx, "q", got[0].LockToken, broker.Settlement{Disposition: broker.Complete}); err != nil {
		t.Fatal(err)
	}
	if err := b.Settle(ctx, "q", got[0].LockToken, broker.Settlement{Disposition: broker.Complete}); broker.CodeOf(err) != broker.CodeLockLost {
		t.Fatalf("second complete: %v", err)
	}
	if err := b.Settle(ctx, "q", other[0].LockToken, broker.Settlement{Disposition: broker.Abandon, Properties: map[string]any{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	again, err := b.Receive(ctx, "q", broker.ReceiveOptions{MaxMessages: 5, Wait: time.Second})
	if err != nil || len(again) != 1 || again[0].DeliveryCount != 1 || again[0].Properties["k"] != "v" {
		t.Fatalf("after abandon: %+v %v", again, err)
	}
	if err := b.Settle(ctx, "q", again[0].LockToken, broker.Settlement{Disposition: broker.DeadLetter, DeadLetterReason: "r"}); err != nil {
		t.Fatal(err)
	}
	dl, err := a.Receive(ctx, "q/$DeadLetterQueue", broker.ReceiveOptions{Mode: broker.ReceiveAndDelete})
	if err != nil || len(dl) != 1 || !dl[0].DeadLettered || dl[0].DeadLetterReason != "r" {
		t.Fatalf("dlq: %+v %v", dl, err)
	}
	info, err := a.GetEntity("q")
	if err != nil || info.Total() != 0 {
		t.Fatalf("info: %+v %v", info, err)
	}

	// A waiting receiver on b is woken by a send on a.
	done := make(chan []*broker.Message, 1)
	go func() {
		m, _ := b.Receive(ctx, "q", broker.ReceiveOptions{Wait: time.Minute})
		done <- m
	}()
	if _, err := a.Send(ctx, "q", []*broker.Message{{Body: []byte("later")}}); err != nil {
		t.Fatal(err)
	}
	if m := <-done; len(m) != 1 || string(m[0].Body) != "later" {
		t.Fatalf("woken receive: %+v", m)
	}

	// Sessions.
	if _, err := a.CreateQueue(ctx, "s", broker.QueueProperties{RequiresSession: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Send(ctx, "s", []*broker.Message{{SessionID: "x", Body: []byte("x1")}, {SessionID: "x", Body: []byte("x2")}}); err != nil {
		t.Fatal(err)
	}
	l, err := b.AcceptSession(ctx, "s", "", time.Second)
	if err != nil || l.SessionID != "x" {
		t.Fatalf("accept: %+v %v", l, err)
	}
	if _, err := a.AcceptSession(ctx, "s", "x", 0); broker.CodeOf(err) != broker.CodeSessionCannotBeLocked {
		t.Fatalf("second accept: %v", err)
	}
	ms, err := b.Receive(ctx, "s", broker.ReceiveOptions{MaxMessages: 5, Session: l})
	if err != nil || len(ms) != 2 || string(ms[0].Body) != "x1" {
		t.Fatalf("session receive: %+v %v", ms, err)
	}
	if err := b.SetSessionState(ctx, "s", l, []byte("st")); err != nil {
		t.Fatal(err)
	}
	if st, err := a.GetSessionState(ctx, "s", l); err != nil || string(st) != "st" {
		t.Fatalf("state: %q %v", st, err)
	}
}
