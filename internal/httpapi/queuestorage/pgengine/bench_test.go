package pgengine

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/httpapi/queuestorage"
	"github.com/batonmq/baton/internal/store/pgstore"
	"github.com/batonmq/baton/internal/store/pgstore/pgtest"
)

// Run with:
//
//	go test -run '^$' -bench . -benchtime 5s ./internal/httpapi/queuestorage/pgengine/
//
// Each benchmark runs this engine (engine=shared) and, side by side, the
// broker engine on pgstore (engine=broker: the single active node, state
// in memory, every change written through pgstore's group commit), on the
// shared test server (fsync=off: a server crash loses nothing committed,
// a machine crash may) and on a private server with fsync on (fsync=on).

// benchText is a 1 KiB message text.
var benchText = []byte(strings.Repeat("abcdefghijklmnop", 64))

const benchQueue = "devstoreaccount1/bench"

// benchEngines runs fn against each engine on each server. fill puts n
// messages on the bench queue before the timer starts.
func benchEngines(b *testing.B, fn func(b *testing.B, e queuestorage.Engine, fill func(n int))) {
	for _, fsync := range []bool{false, true} {
		for _, kind := range []string{"shared", "broker"} {
			name := "engine=" + kind + "/fsync=off"
			if fsync {
				name = "engine=" + kind + "/fsync=on"
			}
			b.Run(name, func(b *testing.B) {
				srv := pgtest.Shared(b)
				if fsync {
					srv = pgtest.Require(b, pgtest.Options{Fsync: true})
				}
				ctx := context.Background()
				schema := srv.NewSchema(b)
				var (
					e    queuestorage.Engine
					fill func(n int)
				)
				if kind == "shared" {
					pe, err := Open(ctx, Config{DSN: srv.DSN(), Schema: schema, Node: "bench"})
					if err != nil {
						b.Fatal(err)
					}
					defer pe.Close()
					e = pe
					fill = func(n int) { pe.fill(b, n) }
				} else {
					st, err := pgstore.Open(ctx, pgstore.Config{DSN: srv.DSN(), Schema: schema})
					if err != nil {
						b.Fatal(err)
					}
					br, err := broker.New(broker.Config{Store: st})
					if err != nil {
						b.Fatal(err)
					}
					if err := br.Open(ctx); err != nil {
						b.Fatal(err)
					}
					defer br.Close()
					e = queuestorage.NewBrokerEngine(br)
					fill = func(n int) { putMany(b, e, n) }
				}
				if err := e.CreateQueue(ctx, benchQueue, nil); err != nil {
					b.Fatal(err)
				}
				fn(b, e, fill)
			})
		}
	}
}

// fill inserts n messages in one statement.
func (e *Engine) fill(b *testing.B, n int) {
	_, err := e.pool.Exec(context.Background(), `INSERT INTO baton_sq_messages
		(queue, id, body, inserted_at, expires_at, visible_at, dequeue_count, receipt)
		SELECT $1, gen_random_uuid(), $2, $3, NULL, $3, 0, uuid_send(gen_random_uuid()) FROM generate_series(1, $4)`,
		benchQueue, benchText, e.now(), n)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := e.pool.Exec(context.Background(), `ANALYZE baton_sq_messages`); err != nil {
		b.Fatal(err)
	}
}

// putMany puts n messages from 32 goroutines.
func putMany(b *testing.B, e queuestorage.Engine, n int) {
	var wg sync.WaitGroup
	for w := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 32 {
				if _, err := e.Put(context.Background(), benchQueue, benchText, 0, -1); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkPut puts 1 KiB messages from GOMAXPROCS×4 goroutines.
func BenchmarkPut(b *testing.B) {
	benchEngines(b, func(b *testing.B, e queuestorage.Engine, _ func(int)) {
		ctx := context.Background()
		b.SetParallelism(4)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := e.Put(ctx, benchQueue, benchText, 0, 0); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
}

// BenchmarkGetDelete gets one message and deletes it with its receipt
// (two calls) from GOMAXPROCS×4 goroutines, over a backlog of b.N
// messages put beforehand.
func BenchmarkGetDelete(b *testing.B) {
	benchEngines(b, func(b *testing.B, e queuestorage.Engine, fill func(int)) {
		ctx := context.Background()
		fill(b.N)
		b.SetParallelism(4)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				ms, err := e.Get(ctx, benchQueue, 1, time.Minute)
				if err != nil {
					b.Error(err)
					return
				}
				if len(ms) != 1 {
					b.Errorf("Get gave %d messages; want 1", len(ms))
					return
				}
				if err := e.DeleteMessage(ctx, benchQueue, ms[0].ID, ms[0].Receipt); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
}
