package pgengine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/store/pgstore/pgtest"
)

// Run with:
//
//	go test -run '^$' -bench . -benchtime 5s ./internal/httpapi/queuestorage/pgengine/
//
// fsync=off is the shared test server (fsync off: a server crash loses
// nothing committed, a machine crash may); fsync=on is a private server
// with fsync on, as a deployment runs.

// benchText is a 1 KiB message text.
var benchText = []byte(strings.Repeat("abcdefghijklmnop", 64))

const benchQueue = "devstoreaccount1/bench"

// benchServers runs fn against an engine on the shared server and on a
// private one with fsync on.
func benchServers(b *testing.B, fn func(b *testing.B, e *Engine)) {
	for _, tc := range []struct {
		name  string
		fsync bool
	}{{"fsync=off", false}, {"fsync=on", true}} {
		b.Run(tc.name, func(b *testing.B) {
			srv := pgtest.Shared(b)
			if tc.fsync {
				srv = pgtest.Require(b, pgtest.Options{Fsync: true})
			}
			e, err := Open(context.Background(), Config{DSN: srv.DSN(), Schema: srv.NewSchema(b), Node: "bench", MaxConns: 16})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			if err := e.CreateQueue(context.Background(), benchQueue, nil); err != nil {
				b.Fatal(err)
			}
			fn(b, e)
		})
	}
}

// BenchmarkPut puts 1 KiB messages from GOMAXPROCS×4 goroutines.
func BenchmarkPut(b *testing.B) {
	benchServers(b, func(b *testing.B, e *Engine) {
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
// (two round trips) from GOMAXPROCS×4 goroutines, over a backlog of b.N
// messages inserted beforehand.
func BenchmarkGetDelete(b *testing.B) {
	benchServers(b, func(b *testing.B, e *Engine) {
		ctx := context.Background()
		_, err := e.pool.Exec(ctx, `INSERT INTO baton_sq_messages (queue, id, body, inserted_at, expires_at, visible_at, dequeue_count, receipt)
			SELECT $1, gen_random_uuid(), $2, $3, NULL, $3, 0, uuid_send(gen_random_uuid()) FROM generate_series(1, $4)`,
			benchQueue, benchText, e.now(), b.N)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.pool.Exec(ctx, `ANALYZE baton_sq_messages`); err != nil {
			b.Fatal(err)
		}
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
