package loadgen

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// NATSOptions locate a NATS server with JetStream enabled. Its durability
// (sync_interval) is the server's configuration, not the client's.
type NATSOptions struct {
	URL string // e.g. nats://127.0.0.1:4223
}

// NATSDriver drives NATS JetStream with nats.go: one file-storage stream
// per queue (work-queue retention, one replica), a durable pull consumer
// with explicit acks shared by the consumers, synchronous publishes (each
// Send waits for its PubAck). An Ack is not confirmed by the server (the
// client does not wait for it), unlike Baton's completes.
type NATSDriver struct{ o NATSOptions }

// NewNATSDriver returns a NATS JetStream driver.
func NewNATSDriver(o NATSOptions) *NATSDriver { return &NATSDriver{o} }

func (d *NATSDriver) Name() string { return "nats.go v1.55.0 → nats jetstream" }

func (d *NATSDriver) Close(ctx context.Context) error { return nil }

const natsConsumer = "bench"

func (d *NATSDriver) connect() (*nats.Conn, jetstream.JetStream, error) {
	nc, err := nats.Connect(d.o.URL)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to NATS: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("jetstream: %w", err)
	}
	return nc, js, nil
}

func (d *NATSDriver) Setup(ctx context.Context, t Topology) error {
	if t.Topic != "" || t.MaxDeliveryCount > 0 {
		return fmt.Errorf("NATS JetStream: topics with filters and dead-lettering: %w", ErrUnsupported)
	}
	nc, js, err := d.connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	for _, q := range t.Queues {
		if err := js.DeleteStream(ctx, q); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			return fmt.Errorf("deleting stream %s: %w", q, err)
		}
		cfg := jetstream.StreamConfig{Name: q, Subjects: []string{q}, Storage: jetstream.FileStorage, Retention: jetstream.WorkQueuePolicy, Replicas: 1}
		if _, err := js.CreateStream(ctx, cfg); err != nil {
			return fmt.Errorf("creating stream %s: %w", q, err)
		}
		cc := jetstream.ConsumerConfig{Durable: natsConsumer, AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 100000}
		if _, err := js.CreateOrUpdateConsumer(ctx, q, cc); err != nil {
			return fmt.Errorf("creating consumer on %s: %w", q, err)
		}
	}
	return nil
}

type natsProducer struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	targets []string
}

func (d *NATSDriver) Producer(ctx context.Context, targets []string) (Producer, error) {
	nc, js, err := d.connect()
	if err != nil {
		return nil, err
	}
	return &natsProducer{nc: nc, js: js, targets: targets}, nil
}

func (p *natsProducer) Send(ctx context.Context, target int, m Message) error {
	_, err := p.js.Publish(ctx, p.targets[target], m.Body)
	return err
}

// SendBatch publishes ms asynchronously and then waits for all their
// PubAcks (nats.go's way to batch).
func (p *natsProducer) SendBatch(ctx context.Context, target int, ms []Message) error {
	fs := make([]jetstream.PubAckFuture, 0, len(ms))
	for _, m := range ms {
		f, err := p.js.PublishAsync(p.targets[target], m.Body)
		if err != nil {
			return err
		}
		fs = append(fs, f)
	}
	for _, f := range fs {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (p *natsProducer) Close(ctx context.Context) error {
	p.nc.Close()
	return nil
}

type natsConsumerT struct {
	nc *nats.Conn
	cc jetstream.ConsumeContext
	ch chan jetstream.Msg
}

func (d *NATSDriver) Consumer(ctx context.Context, entity string, prefetch int) (Consumer, error) {
	nc, js, err := d.connect()
	if err != nil {
		return nil, err
	}
	cons, err := js.Consumer(ctx, entity, natsConsumer)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("consumer on %s: %w", entity, err)
	}
	c := &natsConsumerT{nc: nc, ch: make(chan jetstream.Msg, prefetch)}
	// The handler runs on nats.go's own goroutine and hands each message
	// over; Close stops it before closing the connection.
	c.cc, err = cons.Consume(func(m jetstream.Msg) { c.ch <- m }, jetstream.PullMaxMessages(prefetch))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("consume %s: %w", entity, err)
	}
	return c, nil
}

func (c *natsConsumerT) Receive(ctx context.Context, max int) ([]Delivery, error) {
	var out []Delivery
	select {
	case m := <-c.ch:
		out = append(out, natsDelivery{m})
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	for len(out) < max {
		select {
		case m := <-c.ch:
			out = append(out, natsDelivery{m})
		default:
			return out, nil
		}
	}
	return out, nil
}

func (c *natsConsumerT) Close(ctx context.Context) error {
	c.cc.Stop()
	// A handler blocked on a full channel would hold Stop's drain: empty
	// it until the consumer is closed.
	for {
		select {
		case <-c.ch:
		case <-c.cc.Closed():
			c.nc.Close()
			return nil
		case <-ctx.Done():
			c.nc.Close()
			return ctx.Err()
		}
	}
}

type natsDelivery struct{ m jetstream.Msg }

func (d natsDelivery) Body() []byte                       { return d.m.Data() }
func (d natsDelivery) Complete(ctx context.Context) error { return d.m.Ack() }
func (d natsDelivery) Abandon(ctx context.Context) error  { return d.m.Nak() }
