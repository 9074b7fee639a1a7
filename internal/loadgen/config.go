package loadgen

import (
	"fmt"
	"time"

	"github.com/batonmq/baton/internal/clock"
)

// Workloads are the names Run accepts (anchors.md §5.2 numbers them 1, 2,
// 3, 4, 6 and 8).
var Workloads = []string{"latency", "throughput", "queues100", "fanout", "backlog", "churn"}

// Config is one run.
type Config struct {
	Workload  string
	Producers int // producer connections/links
	Inflight  int // outstanding sends per producer (goroutines sharing its link)
	// Batch is the messages each send carries (closed loop only; default
	// 1). A producer that implements BatchProducer sends them as one batch
	// in its client's way (a Service Bus batch transfer; RabbitMQ and NATS:
	// publish them all, then wait for all their confirms); one that does
	// not gets Batch times the in-flight sends instead, so the messages
	// outstanding are the same.
	Batch     int
	Consumers int     // consumers per receiving entity
	Prefetch  int     // messages a consumer asks for ahead (credit / prefetch / batch)
	Size      int     // message body bytes (at least 8: the first 8 carry the send time)
	Rate      float64 // total messages/s; 0 is closed loop (as fast as acknowledged)
	Duration  time.Duration
	Warmup    time.Duration
	Queues    int // queues (queues100)
	Messages  int // the backlog to build and drain (backlog)
	// MaxDeliveryCount is the queue's delivery limit (churn).
	MaxDeliveryCount int
	// Prefix starts every entity name, so that runs do not collide.
	Prefix string
	// BrokerPID, when > 0, is the broker's process (CPU and RSS from /proc).
	BrokerPID int
	// Clock defaults to clock.Real.
	Clock clock.Clock
	// Progress, when set, is called about once a second.
	Progress func(Progress)
}

// Defaults returns the standard settings of a workload.
func Defaults(workload string) (Config, error) {
	c := Config{Workload: workload, Producers: 4, Inflight: 16, Consumers: 4, Prefetch: 200, Size: 1024,
		Duration: 10 * time.Second, Warmup: 2 * time.Second, Queues: 1, Messages: 1_000_000, MaxDeliveryCount: 3, Prefix: "bench"}
	switch workload {
	case "latency":
		c.Producers, c.Inflight, c.Consumers, c.Prefetch = 1, 1, 1, 1
	case "throughput":
	case "queues100":
		c.Queues, c.Inflight, c.Consumers, c.Prefetch = 100, 25, 1, 50
	case "fanout":
		c.Consumers, c.Prefetch = 1, 200
	case "backlog":
		c.Consumers = 4
	case "churn":
		c.Consumers = 2
	default:
		return Config{}, fmt.Errorf("loadgen: unknown workload %q (known: %v)", workload, Workloads)
	}
	return c, nil
}

func (c *Config) check() error {
	if _, err := Defaults(c.Workload); err != nil {
		return err
	}
	switch {
	case c.Producers < 1 || c.Inflight < 1 || c.Consumers < 1 || c.Prefetch < 1:
		return fmt.Errorf("loadgen: producers, inflight, consumers and prefetch must be ≥ 1")
	case c.Rate < 0:
		return fmt.Errorf("loadgen: negative rate")
	case c.Batch < 0 || c.Batch > 1 && (c.Rate > 0 || c.Workload == "latency"):
		return fmt.Errorf("loadgen: batches are for closed-loop throughput workloads (not the latency probe or a fixed rate)")
	case c.Workload != "backlog" && c.Duration <= 0:
		return fmt.Errorf("loadgen: duration must be > 0")
	case c.Workload == "queues100" && c.Queues < 1:
		return fmt.Errorf("loadgen: queues must be ≥ 1")
	case c.Workload == "backlog" && c.Messages < 1:
		return fmt.Errorf("loadgen: messages must be ≥ 1")
	case c.Workload == "churn" && c.MaxDeliveryCount < 1:
		return fmt.Errorf("loadgen: max delivery count must be ≥ 1")
	}
	if c.Size < 8 {
		c.Size = 8
	}
	if c.Batch < 1 {
		c.Batch = 1
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Prefix == "" {
		c.Prefix = "bench"
	}
	return nil
}

// Progress is one live progress report.
type Progress struct {
	Phase     string
	Elapsed   time.Duration // since the phase started
	Measuring bool          // false during warm-up
	SentRate  float64       // acknowledged sends/s over the last interval
	RecvRate  float64       // deliveries/s over the last interval
	Sent      uint64        // since the phase (or the measured window) started
	Received  uint64
	SendP99   time.Duration // over the measured window so far
	E2EP99    time.Duration
}

// Result is what a run measured.
type Result struct {
	Workload  string `json:"workload"`
	Driver    string `json:"driver"`
	Mode      string `json:"mode"` // "closed loop", or "open loop at R msgs/s"
	Size      int    `json:"size"`
	Producers int    `json:"producers"`
	Inflight  int    `json:"inflight"`
	// Batch is the messages per send; BatchMode says how they went:
	// "batch" (one batch per send) or "pipelined" (Batch × Inflight
	// single sends outstanding). Empty for single sends.
	Batch     int     `json:"batch,omitempty"`
	BatchMode string  `json:"batchMode,omitempty"`
	Consumers int     `json:"consumers"`
	Prefetch  int     `json:"prefetch"`
	Queues    int     `json:"queues,omitempty"`
	Rate      float64 `json:"rate,omitempty"`
	// FanOut is the deliveries each message makes (fanout).
	FanOut int     `json:"fanOut,omitempty"`
	Phases []Phase `json:"phases"`
}

// Phase is one measured window: "steady", or "fill" and "drain" of the
// backlog workload.
type Phase struct {
	Name    string        `json:"name"`
	Elapsed time.Duration `json:"elapsedNs"`
	// Sent counts sends the broker acknowledged in the window; Received,
	// deliveries a consumer finished (completed, or for churn: completed
	// from the dead-letter queue); Abandoned, abandons (churn).
	Sent      uint64  `json:"sent"`
	Received  uint64  `json:"received"`
	Abandoned uint64  `json:"abandoned,omitempty"`
	SendRate  float64 `json:"sendRate"`
	RecvRate  float64 `json:"recvRate"`
	// SendAck is from the intended (open loop) or actual (closed loop) send
	// time to the acknowledgement; EndToEnd from the same time to the
	// consumer's receipt; Settle is the complete (or abandon) call.
	SendAck  Summary `json:"sendAck"`
	EndToEnd Summary `json:"endToEnd"`
	Settle   Summary `json:"settle"`
	// BrokerCPU is the broker's CPU time over the window in cores (-1 when
	// unknown); BrokerRSS its largest resident set seen, bytes.
	BrokerCPU float64 `json:"brokerCpuCores"`
	BrokerRSS int64   `json:"brokerRssBytes,omitempty"`
	// ClientCPU is this process's (the load generator's) CPU time over the
	// window in cores (-1 when unknown): on one machine the clients and the
	// broker share the cores. When the broker runs in this process too
	// (tests), both figures count the same process.
	ClientCPU float64 `json:"clientCpuCores"`
	// Syncs counts the broker's log fsyncs in the window (-1 when it does
	// not say); SyncsPerMessage divides them by the messages that moved
	// (sends, or deliveries when nothing was sent).
	Syncs           int64   `json:"syncs"`
	SyncsPerMessage float64 `json:"syncsPerMessage"`
}
