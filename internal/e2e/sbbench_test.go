package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus/admin"

	"github.com/batonmq/baton/internal/config"
	"github.com/batonmq/baton/internal/server"
)

// Service Bus through the official Go SDK (azservicebus v1.11.0) against an
// in-process Baton on loopback: what an application sees, SDK and AMQP
// included. Each benchmark runs on the default durable store (filestore,
// fsync before every acknowledgement, in a temp dir) and with --memory.
//
//	go test -run '^$' -bench BenchmarkSBSDK -benchtime 20000x ./internal/e2e/
//
// Metrics: msgs/s for sending and receiving, p50-µs and p99-µs for the
// send → receive → complete round trip (one message at a time).

const (
	sbBenchBody  = 1024 // bytes per message
	sbBenchBatch = 100  // messages per SendMessageBatch
	sbBenchRecvs = 4    // concurrent receivers
)

type sbBench struct {
	srv    *server.Server
	client *azservicebus.Client
	admin  *admin.Client
}

func startSBBench(b *testing.B, memory bool) *sbBench {
	b.Helper()
	cfg := config.Default()
	cfg.Listen.Mgmt = ""
	cfg.Listen.AMQP = "127.0.0.1:0"
	cfg.Listen.AMQPS = ""
	cfg.Memory = memory
	cfg.DataDir = b.TempDir()
	cfg.Log.Level = "error"
	s, err := server.New(cfg, server.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	connStr := "Endpoint=sb://" + s.AMQPAddr() + ";SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=any;UseDevelopmentEmulator=true"
	client, err := azservicebus.NewClientFromConnectionString(connStr, nil)
	if err != nil {
		b.Fatal(err)
	}
	ac, err := admin.NewClientFromConnectionString(connStr, &admin.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: caPool(b, s.CAFile())}}},
	}})
	if err != nil {
		b.Fatal(err)
	}
	e := &sbBench{srv: s, client: client, admin: ac}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		client.Close(ctx)
		s.Shutdown(ctx)
	})
	return e
}

func benchCtx(b *testing.B) context.Context {
	c, cancel := context.WithTimeout(b.Context(), 10*time.Minute)
	b.Cleanup(cancel)
	return c
}

func (e *sbBench) queue(b *testing.B, name string) {
	b.Helper()
	if _, err := e.admin.CreateQueue(benchCtx(b), name, nil); err != nil {
		b.Fatalf("CreateQueue(%q): %v", name, err)
	}
}

// sendN sends n 1 KiB messages in batches of sbBenchBatch.
func (e *sbBench) sendN(b *testing.B, ctx context.Context, sender *azservicebus.Sender, n int) {
	body := make([]byte, sbBenchBody)
	for sent := 0; sent < n; {
		batch, err := sender.NewMessageBatch(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		k := min(sbBenchBatch, n-sent)
		for range k {
			if err := batch.AddMessage(&azservicebus.Message{Body: body}, nil); err != nil {
				b.Fatal(err)
			}
		}
		if err := sender.SendMessageBatch(ctx, batch, nil); err != nil {
			b.Fatal(err)
		}
		sent += k
	}
}

func BenchmarkSBSDK(b *testing.B) {
	for _, mode := range []struct {
		name   string
		memory bool
	}{{"fsync", false}, {"memory", true}} {
		b.Run(mode.name, func(b *testing.B) {
			e := startSBBench(b, mode.memory)
			b.Run("SendBatch", func(b *testing.B) { e.benchSend(b) })
			b.Run("ReceiveComplete", func(b *testing.B) { e.benchReceive(b) })
			b.Run("RoundTrip", func(b *testing.B) { e.benchRoundTrip(b) })
		})
	}
}

var sbBenchQueues atomic.Int64

const sbBenchDebug = false

func (e *sbBench) newQueue(b *testing.B, kind string) string {
	name := fmt.Sprintf("bench-%s-%d", kind, sbBenchQueues.Add(1))
	e.queue(b, name)
	return name
}

// benchSend: b.N messages of 1 KiB in batches of 100 from one sender.
func (e *sbBench) benchSend(b *testing.B) {
	ctx := benchCtx(b)
	q := e.newQueue(b, "send")
	sender, err := e.client.NewSender(q, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer sender.Close(ctx)
	e.sendN(b, ctx, sender, sbBenchBatch) // attach and warm up
	b.SetBytes(sbBenchBody)
	b.ResetTimer()
	e.sendN(b, ctx, sender, b.N)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// benchReceive: b.N messages, sent before the clock starts, received in
// peek-lock and completed by sbBenchRecvs concurrent receivers (up to 100
// a call, each message completed on its own).
func (e *sbBench) benchReceive(b *testing.B) {
	ctx := benchCtx(b)
	q := e.newQueue(b, "recv")
	sender, err := e.client.NewSender(q, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer sender.Close(ctx)
	e.sendN(b, ctx, sender, b.N)
	receivers := make([]*azservicebus.Receiver, sbBenchRecvs)
	for i := range receivers {
		if receivers[i], err = e.client.NewReceiverForQueue(q, nil); err != nil {
			b.Fatal(err)
		}
		defer receivers[i].Close(ctx)
	}
	var left, calls atomic.Int64
	left.Store(int64(b.N))
	// done ends the receives still waiting once the last message is
	// completed, so the tail of the run is not a receive timeout.
	done, finish := context.WithCancel(ctx)
	defer finish()
	errs := make(chan error, sbBenchRecvs)
	b.SetBytes(sbBenchBody)
	b.ResetTimer()
	var wg sync.WaitGroup
	for _, r := range receivers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for done.Err() == nil {
				msgs, err := r.ReceiveMessages(done, sbBenchBatch, nil)
				if err != nil && done.Err() == nil {
					errs <- err
					finish()
					return
				}
				if sbBenchDebug {
					calls.Add(1)
				}
				for _, m := range msgs {
					if err := r.CompleteMessage(ctx, m, nil); err != nil {
						errs <- err
						finish()
						return
					}
					if left.Add(-1) == 0 {
						finish()
					}
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	if sbBenchDebug {
		b.Logf("%d receive calls for %d messages", calls.Load(), b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// benchRoundTrip: one message at a time, send → receive → complete, on an
// otherwise idle broker; p50 and p99 of the whole round trip.
func (e *sbBench) benchRoundTrip(b *testing.B) {
	ctx := benchCtx(b)
	q := e.newQueue(b, "rt")
	sender, err := e.client.NewSender(q, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer sender.Close(ctx)
	recv, err := e.client.NewReceiverForQueue(q, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer recv.Close(ctx)
	body := make([]byte, sbBenchBody)
	one := func() time.Duration {
		start := time.Now()
		if err := sender.SendMessage(ctx, &azservicebus.Message{Body: body}, nil); err != nil {
			b.Fatal(err)
		}
		var msgs []*azservicebus.ReceivedMessage
		for len(msgs) == 0 {
			if msgs, err = recv.ReceiveMessages(ctx, 1, nil); err != nil {
				b.Fatal(err)
			}
		}
		if err := recv.CompleteMessage(ctx, msgs[0], nil); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	for range 10 { // links attached, connection warm
		one()
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		lat = append(lat, one())
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(percentile(lat, 0.50).Microseconds()), "p50-µs")
	b.ReportMetric(float64(percentile(lat, 0.99).Microseconds()), "p99-µs")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// percentile returns the q-quantile of sorted (nearest rank).
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
