package loadgen

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/config"
	"github.com/batonmq/baton/internal/server"
)

// startBaton starts an in-process Baton on loopback ports with the durable
// store in a temp dir (fsync before every ack).
func startBaton(t *testing.T) BatonOptions {
	t.Helper()
	cfg := config.Default()
	cfg.Listen.Mgmt = "127.0.0.1:0"
	cfg.Listen.AMQP = "127.0.0.1:0"
	cfg.Listen.AMQPS = ""
	cfg.Listen.QueueStorage = ""
	cfg.Listen.EventGrid = ""
	cfg.DataDir = t.TempDir()
	cfg.Log.Level = "error"
	s, err := server.New(cfg, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return BatonOptions{AMQPAddr: s.AMQPAddr(), MgmtURL: s.MgmtURL(), CAFile: s.CAFile()}
}

// tiny shrinks a workload to a fraction of a second.
func tiny(t *testing.T, workload string) Config {
	t.Helper()
	c, err := Defaults(workload)
	if err != nil {
		t.Fatal(err)
	}
	c.Duration, c.Warmup = 300*time.Millisecond, 50*time.Millisecond
	c.Producers, c.Inflight, c.Size = 2, 4, 256
	c.BrokerPID = os.Getpid()
	return c
}

func drivers(t *testing.T, o BatonOptions) map[string]Driver {
	t.Helper()
	a, err := NewAMQPDriver(o)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSDKDriver(o)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]Driver{"amqp": a, "sdk": s}
}

func TestClosedLoopThroughputAgainstBaton(t *testing.T) {
	o := startBaton(t)
	for name, d := range drivers(t, o) {
		t.Run(name, func(t *testing.T) {
			cfg := tiny(t, "throughput")
			cfg.Prefix = "tp-" + name
			var ticks int
			cfg.Progress = func(Progress) { ticks++ }
			res, err := Run(t.Context(), d, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Phases) != 1 {
				t.Fatalf("phases = %+v", res.Phases)
			}
			p := res.Phases[0]
			if p.Sent == 0 || p.Received == 0 || p.SendAck.Count == 0 || p.EndToEnd.Count == 0 {
				t.Errorf("nothing measured: %+v", p)
			}
			if p.SendAck.P50 <= 0 || p.SendAck.P99 < p.SendAck.P50 || p.SendAck.Max < p.SendAck.P999 {
				t.Errorf("send-ack summary out of order: %+v", p.SendAck)
			}
			// Durable store: every acknowledged send was fsynced, so the
			// counter moved; the broker here is this process.
			if p.Syncs <= 0 || p.SyncsPerMessage <= 0 {
				t.Errorf("syncs = %d (%.3f per message), want > 0 on the fsync store", p.Syncs, p.SyncsPerMessage)
			}
			if p.BrokerCPU < 0 || p.BrokerRSS <= 0 {
				t.Errorf("broker CPU %.2f RSS %d: the process stats were not read", p.BrokerCPU, p.BrokerRSS)
			}
			if res.Mode != "closed loop" || res.Driver != d.Name() {
				t.Errorf("result header %+v", res)
			}
		})
	}
}

func TestLatencyProbeLockstep(t *testing.T) {
	o := startBaton(t)
	d, err := NewAMQPDriver(o)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := Defaults("latency")
	cfg.Duration, cfg.Warmup = 200*time.Millisecond, 20*time.Millisecond
	res, err := Run(t.Context(), d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := res.Phases[0]
	// One message in flight: the producer waits for each completion, so
	// sends and completions differ by at most the one in flight at each
	// end of the window.
	if p.Sent == 0 || p.Received+1 < p.Sent || p.Sent+1 < p.Received {
		t.Errorf("lockstep broken: sent %d received %d", p.Sent, p.Received)
	}
}

func TestOpenLoopAgainstBaton(t *testing.T) {
	o := startBaton(t)
	d, err := NewAMQPDriver(o)
	if err != nil {
		t.Fatal(err)
	}
	cfg := tiny(t, "throughput")
	cfg.Rate = 500
	res, err := Run(t.Context(), d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := res.Phases[0]
	// 500/s over a 300 ms window is ~150 sends; the schedule never sends
	// ahead of its intended times, so never more than the window allows.
	if p.Sent == 0 || p.Sent > uint64(500*350/1000+cfg.Producers*cfg.Inflight) {
		t.Errorf("open loop at 500/s sent %d in %v", p.Sent, p.Elapsed)
	}
	if res.Mode != "open loop at 500 msgs/s" {
		t.Errorf("mode %q", res.Mode)
	}
}

func TestBacklogAndChurnAgainstBaton(t *testing.T) {
	o := startBaton(t)
	for name, d := range drivers(t, o) {
		t.Run(name+"/backlog", func(t *testing.T) {
			cfg := tiny(t, "backlog")
			cfg.Prefix = "bl-" + name
			cfg.Messages = 300
			res, err := Run(t.Context(), d, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Phases) != 2 || res.Phases[0].Name != "fill" || res.Phases[1].Name != "drain" {
				t.Fatalf("phases %+v", res.Phases)
			}
			if f, dr := res.Phases[0], res.Phases[1]; f.Sent != 300 || dr.Received < 300 || dr.Sent != 0 {
				t.Errorf("fill sent %d, drain received %d (sent %d)", f.Sent, dr.Received, dr.Sent)
			}
		})
		t.Run(name+"/churn", func(t *testing.T) {
			cfg := tiny(t, "churn")
			cfg.Prefix = "ch-" + name
			cfg.Duration = 500 * time.Millisecond
			cfg.Rate = 200
			res, err := Run(t.Context(), d, cfg)
			if err != nil {
				t.Fatal(err)
			}
			p := res.Phases[0]
			// Every message is abandoned MaxDeliveryCount (3) times, then
			// completed from the dead-letter queue.
			if p.Abandoned == 0 || p.Received == 0 {
				t.Errorf("churn: abandoned %d, dead-lettered and completed %d", p.Abandoned, p.Received)
			}
		})
	}
}

func TestQueues100AgainstBaton(t *testing.T) {
	o := startBaton(t)
	d, err := NewAMQPDriver(o)
	if err != nil {
		t.Fatal(err)
	}
	cfg := tiny(t, "queues100")
	cfg.Queues = 10
	res, err := Run(t.Context(), d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if p := res.Phases[0]; p.Sent == 0 || p.Received == 0 || res.Queues != 10 {
		t.Errorf("queues: %d, sent %d received %d", res.Queues, p.Sent, p.Received)
	}
}

// Fan-out to 10 filtered subscriptions: every message matches the
// TrueFilter, one color (correlation filter) and one shard (SQL filter).
func TestFanoutAgainstBaton(t *testing.T) {
	o := startBaton(t)
	for name, d := range drivers(t, o) {
		t.Run(name, func(t *testing.T) {
			cfg := tiny(t, "fanout")
			cfg.Prefix = "fo-" + name
			cfg.Rate = 300 // open loop: the consumers keep up, so deliveries ≈ 3 × sends
			cfg.Duration, cfg.Warmup = time.Second, 200*time.Millisecond
			res, err := Run(t.Context(), d, cfg)
			if err != nil {
				t.Fatal(err)
			}
			p := res.Phases[0]
			if res.FanOut != 3 || p.Sent == 0 || p.Received == 0 {
				t.Fatalf("fan-out %d, sent %d, received %d", res.FanOut, p.Sent, p.Received)
			}
			// Deliveries of the window's messages land partly after it ends,
			// and of the warm-up's partly inside it: bound loosely, but a
			// filter that passed everything (10×) or nothing (1×) fails.
			if r := float64(p.Received) / float64(p.Sent); r < 1.5 || r > 6 {
				t.Errorf("%.2f deliveries per message (sent %d, received %d), want about 3", r, p.Sent, p.Received)
			}
		})
	}
}

// TestNodesInTurn: connections are dealt over the listed nodes in turn.
func TestNodesInTurn(t *testing.T) {
	a, err := newBatonAdmin(BatonOptions{AMQPAddr: "a:1, b:2,,c:3", MgmtURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 5 {
		got = append(got, a.nextAddr())
	}
	if want := "a:1 b:2 c:3 a:1 b:2"; strings.Join(got, " ") != want {
		t.Fatalf("connections went to %v; want %s", got, want)
	}
	if _, err := newBatonAdmin(BatonOptions{AMQPAddr: " , ", MgmtURL: "http://127.0.0.1:1"}); err == nil {
		t.Fatal("no address: want an error")
	}

	d, err := NewAzQueueDriver(AzQueueOptions{URL: "http://a:1/devstoreaccount1, http://b:2/devstoreaccount1,"})
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for range 3 {
		got = append(got, d.svc().URL())
	}
	if want := "http://a:1/devstoreaccount1 http://b:2/devstoreaccount1 http://a:1/devstoreaccount1"; strings.Join(got, " ") != want {
		t.Fatalf("Storage Queue clients went to %v; want %s", got, want)
	}
	if _, err := NewAzQueueDriver(AzQueueOptions{URL: " ,"}); err == nil {
		t.Fatal("no URL: want an error")
	}
}

// TestBatchedSendsAgainstBaton: with Config.Batch the Baton drivers send
// Service Bus batches (go-amqp and the SDK's MessageBatch), the last one
// short when the backlog's budget runs out mid-batch, and every message of
// every batch arrives as its own message. A driver without batches gets
// the same messages outstanding as pipelined single sends.
func TestBatchedSendsAgainstBaton(t *testing.T) {
	o := startBaton(t)
	ds := drivers(t, o)
	ds["pipelined"] = plainDriver{ds["amqp"]}
	for name, d := range ds {
		t.Run(name, func(t *testing.T) {
			cfg := tiny(t, "backlog")
			cfg.Prefix = "batch-" + name
			cfg.Messages, cfg.Batch = 300, 7
			// A bound, not a timing: a batch that loses messages would
			// leave the drain waiting for them.
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			res, err := Run(ctx, d, cfg)
			if err != nil {
				t.Fatal(err)
			}
			want := "batch"
			if name == "pipelined" {
				want = "pipelined"
			}
			if res.Batch != 7 || res.BatchMode != want {
				t.Errorf("batch %d, mode %q; want 7, %q", res.Batch, res.BatchMode, want)
			}
			if f, dr := res.Phases[0], res.Phases[1]; f.Sent != 300 || dr.Received != 300 {
				t.Errorf("fill sent %d, drain received %d; want 300 each", f.Sent, dr.Received)
			}
			if name != "pipelined" && res.Phases[0].SendAck.Count > 300/7+1 {
				t.Errorf("%d acknowledged sends for 300 messages in batches of 7", res.Phases[0].SendAck.Count)
			}
		})
	}
	if _, err := Run(t.Context(), ds["amqp"], Config{Workload: "latency", Producers: 1, Inflight: 1, Consumers: 1, Prefetch: 1, Batch: 2, Duration: time.Second}); err == nil {
		t.Error("a batched latency probe: want an error")
	}
}

// plainDriver's producers send one message at a time: their SendBatch is
// hidden.
type plainDriver struct{ Driver }

func (d plainDriver) Producer(ctx context.Context, targets []string) (Producer, error) {
	p, err := d.Driver.Producer(ctx, targets)
	return struct{ Producer }{p}, err
}

// TestSBAdminAgainstBaton: with SBAdmin the queues are made through the
// Service Bus administration API over HTTPS (the development CA trusted),
// with no management URL at all, afresh on every run (a queue left by an
// earlier run is deleted), with the delivery limit and the size quota set,
// and no fsync counters are claimed.
func TestSBAdminAgainstBaton(t *testing.T) {
	o := startBaton(t)
	o.MgmtURL, o.SBAdmin = "", true
	if o.CAFile == "" {
		t.Fatal("the test Baton has no development CA")
	}
	d, err := NewAMQPDriver(o)
	if err != nil {
		t.Fatal(err)
	}
	ac, err := d.adminClient()
	if err != nil {
		t.Fatal(err)
	}
	// A queue left by an earlier run, with the default quota: Run must
	// delete it and create it afresh.
	if _, err := ac.CreateQueue(t.Context(), "adm-backlog", nil); err != nil {
		t.Fatal(err)
	}
	cfg := tiny(t, "backlog")
	cfg.Prefix, cfg.Messages = "adm", 200
	res, err := Run(t.Context(), d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	f, dr := res.Phases[0], res.Phases[1]
	if f.Sent != 200 || dr.Received != 200 {
		t.Errorf("fill sent %d, drain received %d; want 200 each", f.Sent, dr.Received)
	}
	if f.Syncs != -1 || dr.Syncs != -1 {
		t.Errorf("fsyncs %d and %d; want -1 (not reported through the administration API)", f.Syncs, dr.Syncs)
	}
	q, err := ac.GetQueue(t.Context(), "adm-backlog", nil)
	if err != nil || q == nil {
		t.Fatalf("queue after the run: %v, %v", q, err)
	}
	if got := q.MaxSizeInMegabytes; got == nil || *got != maxQueueMB {
		t.Errorf("max size %d MB (nil: unset); want %d", deref(got), maxQueueMB)
	}

	cfg = tiny(t, "churn")
	cfg.Prefix, cfg.MaxDeliveryCount, cfg.Rate = "adm", 2, 200
	if _, err := Run(t.Context(), d, cfg); err != nil {
		t.Fatal(err)
	}
	q, err = ac.GetQueue(t.Context(), "adm-churn", nil)
	if err != nil || q == nil || deref(q.MaxDeliveryCount) != 2 {
		t.Fatalf("churn queue: %v, %v; want max delivery count 2", q, err)
	}
}

func deref(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}
