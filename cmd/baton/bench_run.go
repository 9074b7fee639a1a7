package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/batonmq/baton/internal/loadgen"
)

// benchRecord is one result as `bench run --json` writes it and `bench
// table` reads it.
type benchRecord struct {
	Label  string `json:"label"`
	Target string `json:"target"`
	// Family is "servicebus" (queues over AMQP, or the peer's protocol) or
	// "storagequeue" (the Storage Queue REST API); rows are compared only
	// within a family.
	Family     string          `json:"family"`
	Durability string          `json:"durability"`
	Notes      string          `json:"notes,omitempty"`
	Result     *loadgen.Result `json:"result"`
}

// runBenchRun runs one workload against one target.
func runBenchRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	workload := fs.String("workload", "throughput", "`name`: "+strings.Join(loadgen.Workloads, ", "))
	target := fs.String("target", "baton", "`broker`: baton, rabbitmq-quorum, rabbitmq-classic, nats, azurite")
	driver := fs.String("driver", "amqp", "client for --target baton: amqp (go-amqp), sdk (azservicebus), azqueue (Storage Queues)")
	label := fs.String("label", "", "row name in results (default: the target)")
	durability := fs.String("durability", "", "what the broker guarantees at ack, for the results (e.g. 'fsync before ack')")
	notes := fs.String("notes", "", "free text kept with the JSON result (the peer's configuration)")
	amqpAddr := fs.String("amqp", "127.0.0.1:5672", "Baton's Service Bus face `host:port`; several nodes comma-separated (connections dealt over them in turn)")
	mgmtURL := fs.String("mgmt", "http://127.0.0.1:8088", "Baton's management API `URL` (queues; fsync counters)")
	caFile := fs.String("ca", "", "Baton's development CA `file` for the admin client (topics; queues with --sb-admin); empty: not verified")
	sbAdmin := fs.Bool("sb-admin", false, "create queues through the Service Bus administration API (HTTPS on the first --amqp address) instead of --mgmt, and read no fsync counters: for nodes with --shared-service-bus, whose queues the management API does not see")
	queueURL := fs.String("queue-url", "http://127.0.0.1:10001/devstoreaccount1", "Storage Queue service `URL` (Baton or Azurite); several nodes comma-separated (producers and consumers dealt over them in turn)")
	rabbitURL := fs.String("rabbitmq-url", "amqp://guest:guest@127.0.0.1:5672/", "RabbitMQ AMQP 0.9.1 `URL`")
	natsURL := fs.String("nats-url", "nats://127.0.0.1:4222", "NATS `URL` (JetStream enabled)")
	pid := fs.Int("broker-pid", 0, "the broker's process `id`, for its CPU and RSS (/proc)")
	jsonOut := fs.String("json", "", "also write the result as JSON to `file` ('-': stdout instead of the text report)")
	quiet := fs.Bool("quiet", false, "no progress lines")

	def, _ := loadgen.Defaults("throughput")
	producers := fs.Int("producers", 0, "producer connections (default: the workload's)")
	inflight := fs.Int("inflight", 0, "outstanding sends per producer")
	batch := fs.Int("batch", 1, "messages per send (closed loop): one Service Bus batch with Baton's drivers; pipelined single sends (batch × inflight outstanding) with the peers'")
	consumers := fs.Int("consumers", 0, "consumers per queue or subscription")
	prefetch := fs.Int("prefetch", 0, "messages a consumer asks for ahead")
	size := fs.Int("size", def.Size, "message body `bytes`")
	rate := fs.Float64("rate", 0, "total `msgs/s` (open loop, latency from the intended send time); 0: closed loop")
	duration := fs.Duration("duration", def.Duration, "measured window")
	warmup := fs.Duration("warmup", def.Warmup, "unmeasured warm-up before the window")
	queues := fs.Int("queues", 0, "queues (queues100)")
	messages := fs.Int("messages", def.Messages, "backlog to build and drain (backlog)")
	maxDelivery := fs.Int("max-delivery", def.MaxDeliveryCount, "delivery limit before dead-lettering (churn)")
	prefix := fs.String("prefix", "bench", "entity name prefix")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return &usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	cfg, err := loadgen.Defaults(*workload)
	if err != nil {
		return &usageError{err.Error()}
	}
	override := func(dst *int, v int) {
		if v > 0 {
			*dst = v
		}
	}
	override(&cfg.Producers, *producers)
	override(&cfg.Inflight, *inflight)
	cfg.Batch = *batch
	override(&cfg.Consumers, *consumers)
	override(&cfg.Prefetch, *prefetch)
	override(&cfg.Queues, *queues)
	cfg.Size, cfg.Rate, cfg.Duration, cfg.Warmup = *size, *rate, *duration, *warmup
	cfg.Messages, cfg.MaxDeliveryCount, cfg.Prefix, cfg.BrokerPID = *messages, *maxDelivery, *prefix, *pid

	bo := loadgen.BatonOptions{AMQPAddr: *amqpAddr, MgmtURL: *mgmtURL, CAFile: *caFile, SBAdmin: *sbAdmin}
	d, err := benchDriver(*target, *driver, bo, *queueURL, *rabbitURL, *natsURL)
	if err != nil {
		return err
	}
	if *label == "" {
		*label = *target
	}
	if !*quiet {
		cfg.Progress = func(p loadgen.Progress) {
			state := p.Phase
			if !p.Measuring {
				state = p.Phase + " (not measured)"
			}
			line := fmt.Sprintf("%s %-22s %5.0fs  sent %9.0f/s  recv %9.0f/s", *label, state, p.Elapsed.Seconds(), p.SentRate, p.RecvRate)
			if p.Measuring {
				line += fmt.Sprintf("  send p99 %-9s e2e p99 %s", fmtDur(p.SendP99), fmtDur(p.E2EP99))
			}
			fmt.Fprintln(stderr, line)
		}
	}
	defer d.Close(context.Background())
	res, err := loadgen.Run(ctx, d, cfg)
	if err != nil {
		return err
	}
	family := "servicebus"
	if *target == "azurite" || *target == "baton" && *driver == "azqueue" {
		family = "storagequeue"
	}
	rec := benchRecord{Label: *label, Target: *target, Family: family, Durability: *durability, Notes: *notes, Result: res}
	if *jsonOut != "" {
		b, err := json.MarshalIndent(rec, "", "  ")
		if err != nil {
			return fmt.Errorf("encoding the result: %w", err)
		}
		b = append(b, '\n')
		if *jsonOut == "-" {
			_, err = stdout.Write(b)
			return err
		}
		if err := os.WriteFile(*jsonOut, b, 0o644); err != nil {
			return fmt.Errorf("writing the result: %w", err)
		}
	}
	printResult(stdout, rec)
	return nil
}

func benchDriver(target, driver string, bo loadgen.BatonOptions, queueURL, rabbitURL, natsURL string) (loadgen.Driver, error) {
	switch target {
	case "baton":
		switch driver {
		case "amqp":
			return loadgen.NewAMQPDriver(bo)
		case "sdk":
			return loadgen.NewSDKDriver(bo)
		case "azqueue":
			return loadgen.NewAzQueueDriver(loadgen.AzQueueOptions{URL: queueURL, Label: "baton", Baton: &bo})
		}
		return nil, &usageError{fmt.Sprintf("unknown driver %q (amqp, sdk, azqueue)", driver)}
	case "rabbitmq-quorum", "rabbitmq-classic":
		return loadgen.NewRabbitDriver(loadgen.RabbitOptions{URL: rabbitURL, QueueType: strings.TrimPrefix(target, "rabbitmq-")})
	case "nats":
		return loadgen.NewNATSDriver(loadgen.NATSOptions{URL: natsURL}), nil
	case "azurite":
		return loadgen.NewAzQueueDriver(loadgen.AzQueueOptions{URL: queueURL, Label: "azurite"})
	}
	return nil, &usageError{fmt.Sprintf("unknown target %q (baton, rabbitmq-quorum, rabbitmq-classic, nats, azurite)", target)}
}

// printResult writes the text report of one run.
func printResult(w io.Writer, rec benchRecord) {
	r := rec.Result
	fmt.Fprintf(w, "%s: %s workload, %s, %d-byte messages, %s", rec.Label, r.Workload, r.Driver, r.Size, r.Mode)
	fmt.Fprintf(w, "; %d producers × %d in flight, %d consumers × prefetch %d", r.Producers, r.Inflight, r.Consumers, r.Prefetch)
	if r.Batch > 1 {
		fmt.Fprintf(w, ", %d messages per send (%s)", r.Batch, r.BatchMode)
	}
	if r.Queues > 0 {
		fmt.Fprintf(w, ", %d queues", r.Queues)
	}
	if r.FanOut > 0 {
		fmt.Fprintf(w, ", %d deliveries per message", r.FanOut)
	}
	fmt.Fprintln(w)
	if rec.Durability != "" {
		fmt.Fprintf(w, "  durability: %s\n", rec.Durability)
	}
	for _, p := range r.Phases {
		fmt.Fprintf(w, "  %-6s %7.2fs  sent %d (%.0f/s)  received %d (%.0f/s)", p.Name, p.Elapsed.Seconds(), p.Sent, p.SendRate, p.Received, p.RecvRate)
		if p.Abandoned > 0 {
			fmt.Fprintf(w, "  abandoned %d", p.Abandoned)
		}
		fmt.Fprintln(w)
		for _, h := range []struct {
			name string
			s    loadgen.Summary
		}{{"send→ack", p.SendAck}, {"end-to-end", p.EndToEnd}, {"settle", p.Settle}} {
			if h.s.Count == 0 {
				continue
			}
			fmt.Fprintf(w, "    %-10s p50 %-9s p99 %-9s p99.9 %-9s max %-9s (n=%d)\n", h.name, fmtDur(h.s.P50), fmtDur(h.s.P99), fmtDur(h.s.P999), fmtDur(h.s.Max), h.s.Count)
		}
		var broker []string
		if p.BrokerCPU >= 0 {
			broker = append(broker, fmt.Sprintf("CPU %.2f cores, RSS %d MiB", p.BrokerCPU, p.BrokerRSS>>20))
		}
		if p.ClientCPU >= 0 {
			broker = append(broker, fmt.Sprintf("(load generator: %.2f cores)", p.ClientCPU))
		}
		if p.Syncs >= 0 {
			broker = append(broker, fmt.Sprintf("%d fsyncs (%.4f per message)", p.Syncs, p.SyncsPerMessage))
		}
		if len(broker) > 0 {
			fmt.Fprintf(w, "    broker: %s\n", strings.Join(broker, ", "))
		}
	}
}

// fmtDur prints a latency with 3 significant digits.
func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.3gs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.3gms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.3gµs", float64(d)/float64(time.Microsecond))
	}
}
