package loadgen

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/config"
	"github.com/batonmq/baton/internal/server"
)

// BenchmarkThroughput runs the throughput workload (go-amqp, 4 producers ×
// 16 in flight, 4 consumers, 1 KiB) against an in-process Baton, one
// measured second per iteration, so that a CPU profile shows client and
// server side by side:
//
//	go test -run '^$' -bench Throughput -benchtime 5x -cpuprofile cpu.out ./internal/loadgen/
//
// Metrics: deliveries/s, sends/s, fsyncs per message.
func BenchmarkThroughput(b *testing.B) {
	for _, mode := range []string{"fsync", "buffered", "memory"} {
		b.Run(mode, func(b *testing.B) {
			cfg := config.Default()
			cfg.Listen.Mgmt, cfg.Listen.AMQP = "127.0.0.1:0", "127.0.0.1:0"
			cfg.Listen.AMQPS, cfg.Listen.QueueStorage, cfg.Listen.EventGrid = "", "", ""
			cfg.DataDir = b.TempDir()
			cfg.Log.Level = "error"
			if mode == "memory" {
				cfg.Memory = true
			} else {
				cfg.Durability = mode
			}
			s, err := server.New(cfg, server.Options{})
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Start(b.Context()); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				s.Shutdown(ctx)
			})
			d, err := NewAMQPDriver(BatonOptions{AMQPAddr: s.AMQPAddr(), MgmtURL: s.MgmtURL()})
			if err != nil {
				b.Fatal(err)
			}
			run, _ := Defaults("throughput")
			run.Duration, run.Warmup, run.BrokerPID = time.Second, 200*time.Millisecond, os.Getpid()
			var sent, recv, syncs float64
			var secs float64
			b.ResetTimer()
			for range b.N {
				res, err := Run(b.Context(), d, run)
				if err != nil {
					b.Fatal(err)
				}
				p := res.Phases[0]
				sent += float64(p.Sent)
				recv += float64(p.Received)
				syncs += float64(max(p.Syncs, 0))
				secs += p.Elapsed.Seconds()
			}
			b.ReportMetric(recv/secs, "deliveries/s")
			b.ReportMetric(sent/secs, "sends/s")
			if sent > 0 {
				b.ReportMetric(syncs/sent, "fsyncs/msg")
			}
		})
	}
}
