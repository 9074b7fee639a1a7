package filestore_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/store/filestore"
	"github.com/batonmq/baton/internal/vfs"
	"github.com/batonmq/baton/internal/wal"
)

// Benchmarks on the real disk (b.TempDir, vfs.OS{}). Run them with a
// bounded time, e.g.:
//
//	go test -run '^$' -bench . -benchtime 20000x ./internal/store/filestore/

// BenchmarkSendDurable sends 1 KiB messages through broker.Send on a
// filestore in fsync mode from many concurrent senders, one message per
// Send. Every Send returns after its message is on disk; concurrent sends
// share fsyncs (group commit), reported as syncs/msg.
func BenchmarkSendDurable(b *testing.B) {
	for _, senders := range []int{1, 16, 64, 256} {
		b.Run(fmt.Sprintf("senders=%d", senders), func(b *testing.B) {
			benchSend(b, senders, wal.SyncAlways, false)
		})
	}
}

// BenchmarkSendDurableZeroFill is BenchmarkSendDurable with segments zeroed
// ahead of use (filestore.Config.ZeroFill).
func BenchmarkSendDurableZeroFill(b *testing.B) {
	for _, senders := range []int{1, 64, 256} {
		b.Run(fmt.Sprintf("senders=%d", senders), func(b *testing.B) {
			benchSend(b, senders, wal.SyncAlways, true)
		})
	}
}

// BenchmarkSendBuffered is BenchmarkSendDurable in buffered mode.
func BenchmarkSendBuffered(b *testing.B) {
	for _, senders := range []int{1, 64} {
		b.Run(fmt.Sprintf("senders=%d", senders), func(b *testing.B) {
			benchSend(b, senders, wal.SyncInterval, false)
		})
	}
}

func benchSend(b *testing.B, senders int, mode wal.SyncMode, zeroFill bool) {
	s, err := filestore.Open(vfs.OS{}, b.TempDir(), filestore.Config{Sync: mode, ZeroFill: zeroFill})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	br, err := broker.New(broker.Config{Store: s})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := br.Open(ctx); err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	if _, err := br.CreateQueue(ctx, "q", broker.QueueProperties{MaxSizeInMegabytes: 80 * 1024}); err != nil {
		b.Fatal(err)
	}
	body := make([]byte, 1024)
	b.SetBytes(1024)
	b.ReportAllocs()
	before := s.Stats().WAL
	b.ResetTimer()
	var wg sync.WaitGroup
	var next sync.Mutex
	remaining := b.N
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msgs := []*broker.Message{{Body: body}}
			for {
				next.Lock()
				if remaining == 0 {
					next.Unlock()
					return
				}
				remaining--
				next.Unlock()
				if _, err := br.Send(ctx, "q", msgs); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	after := s.Stats().WAL
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(after.Syncs-before.Syncs)/float64(b.N), "syncs/msg")
	b.ReportMetric(float64(after.SyncLatency.Mean().Microseconds()), "sync-µs")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(after.Syncs-before.Syncs), "cycle-µs")
}

// BenchmarkReceiveComplete receives (peek-lock, one message per call) and
// completes 1 KiB messages from a preloaded queue with many concurrent
// receivers, in fsync mode: each body is read back from the log
// (Store.ReadBody) and each completion is durable before Settle returns.
func BenchmarkReceiveComplete(b *testing.B) {
	for _, receivers := range []int{1, 64} {
		b.Run(fmt.Sprintf("receivers=%d", receivers), func(b *testing.B) {
			s, err := filestore.Open(vfs.OS{}, b.TempDir(), filestore.Config{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			br, err := broker.New(broker.Config{Store: s})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			if err := br.Open(ctx); err != nil {
				b.Fatal(err)
			}
			defer br.Close()
			if _, err := br.CreateQueue(ctx, "q", broker.QueueProperties{MaxSizeInMegabytes: 80 * 1024}); err != nil {
				b.Fatal(err)
			}
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
			b.ReportAllocs()
			before := s.Stats().WAL
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
						msgs, err := br.Receive(ctx, "q", broker.ReceiveOptions{MaxMessages: 1})
						if err != nil || len(msgs) != 1 || len(msgs[0].Body) != len(body) {
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
			after := s.Stats().WAL
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			b.ReportMetric(float64(after.Syncs-before.Syncs)/float64(b.N), "syncs/msg")
		})
	}
}

// BenchmarkRecovery1M measures recovery of one million queued 1 KiB
// messages (about 1.1 GB of log): filestore.Open (log recovery and replay)
// plus Load, and then broker.Open on the snapshot. The page cache is warm
// (the log was just written), as after a process restart.
func BenchmarkRecovery1M(b *testing.B) {
	const n = 1_000_000
	dir := b.TempDir()
	buildQueue(b, dir, n)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		runtime.GC() // start from a clean heap, as a restarted process does
		b.StartTimer()
		start := time.Now()
		s, err := filestore.Open(vfs.OS{}, dir, filestore.Config{})
		if err != nil {
			b.Fatal(err)
		}
		opened := time.Since(start)
		br, err := broker.New(broker.Config{Store: s})
		if err != nil {
			b.Fatal(err)
		}
		if err := br.Open(context.Background()); err != nil {
			b.Fatal(err)
		}
		total := time.Since(start)
		info, err := br.GetEntity("q")
		if err != nil || info.Active != n {
			b.Fatalf("recovered %+v, %v", info, err)
		}
		b.StopTimer()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapAlloc)/n, "heap-B/msg")
		br.Close()
		s.Close()
		b.ReportMetric(float64(opened.Milliseconds()), "store-ms")
		b.ReportMetric(float64(total.Milliseconds()), "store+broker-ms")
		b.StartTimer()
	}
}

// buildQueue writes a queue of n 1 KiB messages with the store alone, in
// groups of 1000, without fsync.
func buildQueue(b *testing.B, dir string, n int) {
	s, err := filestore.Open(vfs.OS{}, dir, filestore.Config{Sync: wal.SyncNever})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	def := &broker.Entity{Name: "q", Kind: broker.KindQueue, Properties: broker.DefaultQueueProperties(), CreatedAt: now, UpdatedAt: now}
	def.Properties.MaxSizeInMegabytes = 80 * 1024
	submit := func(recs []broker.Record) {
		ch := make(chan error, 1)
		s.Submit(recs, func(err error) { ch <- err })
		if err := <-ch; err != nil {
			b.Fatal(err)
		}
	}
	submit([]broker.Record{{Kind: broker.RecEntityPut, Entity: "q", Def: def}})
	body := make([]byte, 1024)
	const group = 1000
	recs := make([]broker.Record, group)
	var seq int64
	var wg sync.WaitGroup
	for seq < int64(n) {
		for i := range recs {
			seq++
			recs[i] = broker.Record{Kind: broker.RecEnqueue, Entity: "q", Msg: &broker.Message{
				MessageID: fmt.Sprint(seq), Body: body, BodySize: 1024, SequenceNumber: seq, EnqueuedTime: now,
			}}
		}
		wg.Add(1)
		s.Submit(recs, func(err error) {
			if err != nil {
				b.Error(err)
			}
			wg.Done()
		})
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
}
