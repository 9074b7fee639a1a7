package broker_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/broker/brokertest"
	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/store/filestore"
	"github.com/batonmq/baton/internal/store/memstore"
	"github.com/batonmq/baton/internal/vfs"
)

// TestTxnConcurrentNoDeadlock runs transactions that move messages between
// queues in opposite directions and fan out to a topic, alongside plain
// topic sends and subscriptions being created, and checks that every
// commit ends and no message is lost or duplicated: each transaction
// completes one message and sends one, so the total stays constant.
func TestTxnConcurrentNoDeadlock(t *testing.T) {
	env := brokertest.NewEnv(t, brokertest.Factory{
		New: func(t *testing.T) broker.Store { return memstore.New() },
	})
	b, ctx := env.Broker, env.Ctx
	queues := []string{"a", "b", "t-z"} // "t-z" sorts between "t" and its subscriptions
	for _, q := range queues {
		env.Queue(q, broker.QueueProperties{})
	}
	if _, err := b.CreateTopic(ctx, "t", broker.QueueProperties{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CreateSubscription(ctx, "t", "s0", broker.QueueProperties{}, nil); err != nil {
		t.Fatal(err)
	}
	const perQueue = 20
	for _, q := range queues {
		for i := range perQueue {
			env.Send(q, fmt.Sprintf("%s-%d", q, i))
		}
	}
	const workers, rounds = 6, 30
	var wg sync.WaitGroup
	errs := make(chan error, workers+2)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				from := queues[(w+r)%len(queues)]
				to := queues[(w+r+1+w%2)%len(queues)]
				if err := moveOne(ctx, b, from, to); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		for range rounds {
			// A plain topic send that meets a subscription still being
			// created fails with NotFound (sendTopic); only deadlocks and
			// other errors matter here.
			if _, err := b.Send(ctx, "t", []*broker.Message{{Body: []byte("plain")}}); err != nil && broker.CodeOf(err) != broker.CodeNotFound {
				errs <- err
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := 1; i <= 5; i++ {
			if _, err := b.CreateSubscription(ctx, "t", fmt.Sprintf("s%d", i), broker.QueueProperties{}, nil); err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var total int64
	for _, q := range queues {
		total += env.Counts(q).Active
	}
	if total != int64(len(queues)*perQueue) {
		t.Fatalf("queues hold %d messages; want %d", total, len(queues)*perQueue)
	}
}

// moveOne completes one message of from and sends it to to, plus a copy to
// topic t, in one transaction. A lost lock (another worker took the same
// message) is retried.
func moveOne(ctx context.Context, b *broker.Broker, from, to string) error {
	for {
		ms, err := b.Receive(ctx, from, broker.ReceiveOptions{Mode: broker.PeekLock})
		if err != nil {
			return err
		}
		if len(ms) == 0 {
			return nil // drained by the others
		}
		m := ms[0]
		tx := b.BeginTxn(broker.TxnOptions{})
		if err := tx.Settle(ctx, from, m.LockToken, broker.Settlement{Disposition: broker.Complete}); err != nil {
			return err
		}
		if err := tx.Send(ctx, to, []*broker.Message{{Body: m.Body}}); err != nil {
			return err
		}
		if err := tx.Send(ctx, "t", []*broker.Message{{Body: m.Body}}); err != nil {
			return err
		}
		err = tx.Commit(ctx)
		if broker.CodeOf(err) == broker.CodeLockLost {
			continue
		}
		return err
	}
}

// BenchmarkTxnMove measures one receive + a transaction that completes the
// message and sends it on (one store group), against the same work without
// a transaction (two groups): on the in-memory store, and on the file
// store on the real disk with an fsync per group (Durable).
//
//	go test -run='^$' -bench=Move -benchmem ./internal/broker
func BenchmarkTxnMove(b *testing.B)   { benchMove(b, memstore.New(), true) }
func BenchmarkPlainMove(b *testing.B) { benchMove(b, memstore.New(), false) }

func BenchmarkTxnMoveDurable(b *testing.B)   { benchMove(b, durableStore(b), true) }
func BenchmarkPlainMoveDurable(b *testing.B) { benchMove(b, durableStore(b), false) }

func durableStore(b *testing.B) broker.Store {
	s, err := filestore.Open(vfs.OS{}, b.TempDir(), filestore.Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func benchMove(b *testing.B, store broker.Store, txn bool) {
	ctx := context.Background()
	br, err := broker.New(broker.Config{Store: store, Clock: clock.NewFake(brokertest.Epoch)})
	if err != nil {
		b.Fatal(err)
	}
	if err := br.Open(ctx); err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	for _, q := range []string{"a", "b"} {
		if _, err := br.CreateQueue(ctx, q, broker.QueueProperties{}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := br.Send(ctx, "a", []*broker.Message{{Body: make([]byte, 256)}}); err != nil {
		b.Fatal(err)
	}
	from, to := "a", "b"
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		ms, err := br.Receive(ctx, from, broker.ReceiveOptions{Mode: broker.PeekLock})
		if err != nil || len(ms) != 1 {
			b.Fatalf("receive: %v %v", ms, err)
		}
		m := ms[0]
		out := []*broker.Message{{Body: m.Body}}
		if txn {
			tx := br.BeginTxn(broker.TxnOptions{})
			if err := tx.Settle(ctx, from, m.LockToken, broker.Settlement{Disposition: broker.Complete}); err != nil {
				b.Fatal(err)
			}
			if err := tx.Send(ctx, to, out); err != nil {
				b.Fatal(err)
			}
			if err := tx.Commit(ctx); err != nil {
				b.Fatal(err)
			}
		} else {
			if err := br.Settle(ctx, from, m.LockToken, broker.Settlement{Disposition: broker.Complete}); err != nil {
				b.Fatal(err)
			}
			if _, err := br.Send(ctx, to, out); err != nil {
				b.Fatal(err)
			}
		}
		from, to = to, from
	}
}
