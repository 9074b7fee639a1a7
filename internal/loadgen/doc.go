// Package loadgen is Baton's load generator, behind `baton bench run` and
// the side-by-side comparison in bench/compare: N producers and M consumers
// drive a broker through a Driver (raw go-amqp or the official azservicebus
// SDK for Baton; amqp091-go for RabbitMQ; nats.go for NATS JetStream; azqueue
// for Storage Queues, Baton's or Azurite's) and it measures what
// docs/perf.md reports: throughput, send-ack and end-to-end latency
// percentiles from a log-bucketed histogram (Histogram), the broker's CPU
// and RSS (from /proc when its pid is known) and fsyncs per message (from
// Baton's GET /api/v1/stats).
//
// Two modes:
//
//   - closed loop (Config.Rate == 0): every producer keeps Config.Inflight
//     sends outstanding and sends the next as soon as one is acknowledged —
//     the maximum rate.
//   - open loop (Config.Rate > 0): sends are scheduled at fixed intended
//     times (one schedule for all producers), and every latency is measured
//     from the intended time, not from when the send actually started, so a
//     stalled broker is charged for the sends it delayed (no coordinated
//     omission).
//
// The first Config.Warmup of a run is not measured. Every message carries
// its intended send time in its first 8 bytes, so a consumer can measure the
// end-to-end latency (producer and consumer run in this process, on one
// clock).
//
// Time comes from the injected clock.Clock (clock.Real in the binary), so
// the scheduling is tested with a fake clock.
package loadgen
