package pgstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/store/filestore"
	"github.com/batonmq/baton/internal/store/pgstore"
	"github.com/batonmq/baton/internal/store/pgstore/pgtest"
	"github.com/batonmq/baton/internal/vfs"
)

// Benchmarks of the broker on pgstore beside the broker on filestore (fsync
// mode, on the real disk), in the same run, on the same machine. The
// PostgreSQL server is a private one with fsync on (synchronous_commit on,
// the default): a send returns after its commit is on disk, like the
// filestore's fsync mode. Run them with a bounded count, e.g.:
//
//	go test -run '^$' -bench . -benchtime 20000x ./internal/store/pgstore/

var benchPG struct {
	once sync.Once
	srv  *pgtest.Server
	err  error
}

// benchStores returns the stores to compare: "pg" (a new schema on the
// fsync-on server) and "file".
func benchStores(b *testing.B) []struct {
	name string
	open func(b *testing.B) (broker.Store, func() uint64)
} {
	benchPG.once.Do(func() { benchPG.srv, benchPG.err = pgtest.Start(pgtest.Options{Fsync: true}) })
	if benchPG.err != nil {
		b.Skipf("PostgreSQL not available: %v", benchPG.err)
	}
	return []struct {
		name string
		open func(b *testing.B) (broker.Store, func() uint64)
	}{
		{"pg", func(b *testing.B) (broker.Store, func() uint64) {
			s, err := pgstore.Open(context.Background(), pgstore.Config{DSN: benchPG.srv.DSN(), Schema: benchPG.srv.NewSchema(b)})
			if err != nil {
				b.Fatal(err)
			}
			return s, func() uint64 { return s.Stats().Batches }
		}},
		{"file", func(b *testing.B) (broker.Store, func() uint64) {
			s, err := filestore.Open(vfs.OS{}, b.TempDir(), filestore.Config{})
			if err != nil {
				b.Fatal(err)
			}
			return s, func() uint64 { return s.Stats().WAL.Syncs }
		}},
	}
}

func openBroker(b *testing.B, s broker.Store) *broker.Broker {
	br, err := broker.New(broker.Config{Store: s})
	if err != nil {
		b.Fatal(err)
	}
	if err := br.Open(context.Background()); err != nil {
		b.Fatal(err)
	}
	if _, err := br.CreateQueue(context.Background(), "q", broker.QueueProperties{MaxSizeInMegabytes: 80 * 1024}); err != nil {
		b.Fatal(err)
	}
	return br
}

// BenchmarkSendDurable: 1 KiB messages through broker.Send, one message
// per Send, from many concurrent senders; each Send returns after its
// message is durable. commits/msg is PostgreSQL transactions (or filestore
// fsyncs) per message: group commit shares them.
func BenchmarkSendDurable(b *testing.B) {
	for _, st := range benchStores(b) {
		for _, senders := range []int{1, 16, 64, 256} {
			b.Run(fmt.Sprintf("store=%s/senders=%d", st.name, senders), func(b *testing.B) {
				s, commits := st.open(b)
				defer s.Close()
				br := openBroker(b, s)
				defer br.Close()
				ctx := context.Background()
				body := make([]byte, 1024)
				b.SetBytes(1024)
				before := commits()
				b.ResetTimer()
				var wg sync.WaitGroup
				var mu sync.Mutex
				remaining := b.N
				for range senders {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							mu.Lock()
							if remaining == 0 {
								mu.Unlock()
								return
							}
							remaining--
							mu.Unlock()
							if _, err := br.Send(ctx, "q", []*broker.Message{{Body: body}}); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
				b.ReportMetric(float64(commits()-before)/float64(b.N), "commits/msg")
			})
		}
	}
}

// BenchmarkReceiveComplete: peek-lock receives of one message and their
// completions, from a preloaded queue, with concurrent receivers; each
// completion is durable before Settle returns. On pgstore the body is read
// back from PostgreSQL (ReadBody), as filestore reads it from its log.
func BenchmarkReceiveComplete(b *testing.B) {
	for _, st := range benchStores(b) {
		for _, receivers := range []int{1, 64} {
			b.Run(fmt.Sprintf("store=%s/receivers=%d", st.name, receivers), func(b *testing.B) {
				s, commits := st.open(b)
				defer s.Close()
				br := openBroker(b, s)
				defer br.Close()
				ctx := context.Background()
				body := make([]byte, 1024)
				batch := make([]*broker.Message, 100)
				for i := range batch {
					batch[i] = &broker.Message{Body: body}
				}
				for sent := 0; sent < b.N; sent += len(batch) {
					if _, err := br.Send(ctx, "q", batch); err != nil {
						b.Fatal(err)
					}
				}
				b.SetBytes(1024)
				before := commits()
				b.ResetTimer()
				var wg sync.WaitGroup
				var mu sync.Mutex
				remaining := b.N
				for range receivers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							mu.Lock()
							if remaining == 0 {
								mu.Unlock()
								return
							}
							remaining--
							mu.Unlock()
							msgs, err := br.Receive(ctx, "q", broker.ReceiveOptions{Mode: broker.PeekLock, MaxMessages: 1})
							if err != nil || len(msgs) != 1 || len(msgs[0].Body) != 1024 {
								b.Errorf("receive: %d messages, %v", len(msgs), err)
								return
							}
							if err := br.Settle(ctx, "q", msgs[0].LockToken, broker.Settlement{Disposition: broker.Complete}); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
				b.ReportMetric(float64(commits()-before)/float64(b.N), "commits/msg")
			})
		}
	}
}

// BenchmarkRecovery1M: a queue of 1,000,000 1 KiB messages, then a store
// open and broker.Open over it (what a restart costs). Run it with
// -benchtime 1x.
func BenchmarkRecovery1M(b *testing.B) {
	benchStores(b) // starts the server
	ctx := context.Background()
	for _, name := range []string{"pg", "file"} {
		b.Run("store="+name, func(b *testing.B) {
			var open func() broker.Store
			switch name {
			case "pg":
				cfg := pgstore.Config{DSN: benchPG.srv.DSN(), Schema: benchPG.srv.NewSchema(b)}
				open = func() broker.Store {
					s, err := pgstore.Open(ctx, cfg)
					if err != nil {
						b.Fatal(err)
					}
					return s
				}
			default:
				dir := b.TempDir()
				open = func() broker.Store {
					s, err := filestore.Open(vfs.OS{}, dir, filestore.Config{})
					if err != nil {
						b.Fatal(err)
					}
					return s
				}
			}
			s := open()
			br := openBroker(b, s)
			body := make([]byte, 1024)
			var wg sync.WaitGroup
			for range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					batch := make([]*broker.Message, 100)
					for range 1_000_000 / 16 / 100 {
						for i := range batch {
							batch[i] = &broker.Message{Body: body}
						}
						if _, err := br.Send(ctx, "q", batch); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			br.Close()
			s.Close()
			b.ResetTimer()
			for range b.N {
				s := open()
				br, err := broker.New(broker.Config{Store: s})
				if err != nil {
					b.Fatal(err)
				}
				if err := br.Open(ctx); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				info, _ := br.GetEntity("q")
				if info.Counts.Active != 1_000_000 {
					b.Fatalf("%d messages after recovery", info.Counts.Active)
				}
				br.Close()
				s.Close()
				b.StartTimer()
			}
		})
	}
}
