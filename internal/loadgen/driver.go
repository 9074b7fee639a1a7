package loadgen

import (
	"context"
	"errors"
)

// Driver connects the load generator to one broker through one client.
type Driver interface {
	// Name names the client and target, e.g. "amqp → baton".
	Name() string
	// Setup deletes and recreates the entities of t, so every run starts
	// empty.
	Setup(ctx context.Context, t Topology) error
	// Producer opens one connection with a sender to each target (queues
	// or a topic). Its Send is called from Config.Inflight goroutines at
	// once.
	Producer(ctx context.Context, targets []string) (Producer, error)
	// Consumer opens a receiver on a queue, a subscription
	// ("topic/Subscriptions/sub") or a dead-letter sub-queue
	// (".../$DeadLetterQueue"), asking the broker for up to prefetch
	// messages ahead.
	Consumer(ctx context.Context, entity string, prefetch int) (Consumer, error)
	// Close releases the driver's connections.
	Close(ctx context.Context) error
}

// StatsReader is implemented by drivers whose broker reports its store's
// counters (Baton's GET /api/v1/stats).
type StatsReader interface {
	BrokerStats(ctx context.Context) (BrokerStats, error)
}

// BrokerStats are the broker's cumulative log counters.
type BrokerStats struct {
	Syncs   uint64
	Records uint64
}

// Topology is what a workload needs on the broker.
type Topology struct {
	Queues []string
	// MaxDeliveryCount > 0 sets the queues' delivery limit (churn).
	MaxDeliveryCount int
	// Topic, when set, is created with Subscriptions.
	Topic         string
	Subscriptions []Subscription
}

// Subscription is a topic subscription with one rule.
type Subscription struct {
	Name string
	// SQL is a SQL filter ("" with no Correlation: a TrueFilter).
	SQL string
	// Correlation, when set, is a correlation filter on application
	// properties.
	Correlation map[string]string
}

// Message is what a producer sends.
type Message struct {
	Body []byte
	// Props are application properties (string values), for filters.
	Props map[string]string
}

// Producer sends messages; Send returns when the broker has acknowledged
// the message (settled it, confirmed it or answered the request). target
// indexes the targets the producer was opened with.
type Producer interface {
	Send(ctx context.Context, target int, m Message) error
	Close(ctx context.Context) error
}

// BatchProducer is a Producer that can send several messages to one
// target as one batch, acknowledged together (a Service Bus batch
// transfer). Config.Batch uses it.
type BatchProducer interface {
	Producer
	SendBatch(ctx context.Context, target int, ms []Message) error
}

// Consumer receives messages in peek-lock mode (or the peer's equivalent).
type Consumer interface {
	// Receive returns at least one delivery, waiting for it, or an error
	// (ctx's when it ends).
	Receive(ctx context.Context, max int) ([]Delivery, error)
	Close(ctx context.Context) error
}

// Delivery is one received, locked message.
type Delivery interface {
	Body() []byte
	// Complete removes the message.
	Complete(ctx context.Context) error
	// Abandon releases the lock so the message is delivered again (or
	// dead-lettered at the delivery limit).
	Abandon(ctx context.Context) error
}

// ErrUnsupported is returned for a workload a driver or broker cannot run.
var ErrUnsupported = errors.New("not supported by this driver")
