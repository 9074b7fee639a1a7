package loadgen

import (
	"context"
	"fmt"
	"sync"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// RabbitOptions locate a RabbitMQ node and choose the queue type.
type RabbitOptions struct {
	// URL is the AMQP 0.9.1 URL, e.g. amqp://guest:guest@127.0.0.1:5673/.
	URL string
	// QueueType is "quorum" (fsync before confirm) or "classic" (durable,
	// fsync in batches before confirm).
	QueueType string
}

// RabbitDriver drives RabbitMQ with amqp091-go: durable queues, persistent
// messages, publisher confirms (each Send waits for its confirm), consumers
// with manual acks and a prefetch (QoS) of Config.Prefetch. A basic.ack is
// not confirmed by the broker (AMQP 0.9.1 has no such reply), unlike
// Baton's completes.
type RabbitDriver struct{ o RabbitOptions }

// NewRabbitDriver returns a RabbitMQ driver.
func NewRabbitDriver(o RabbitOptions) (*RabbitDriver, error) {
	if o.QueueType != "quorum" && o.QueueType != "classic" {
		return nil, fmt.Errorf("loadgen: RabbitMQ queue type %q (want quorum or classic)", o.QueueType)
	}
	return &RabbitDriver{o}, nil
}

func (d *RabbitDriver) Name() string { return "amqp091-go v1.16.0 → rabbitmq " + d.o.QueueType }

func (d *RabbitDriver) Close(ctx context.Context) error { return nil }

func (d *RabbitDriver) dial() (*amqp091.Connection, *amqp091.Channel, error) {
	c, err := amqp091.Dial(d.o.URL)
	if err != nil {
		return nil, nil, fmt.Errorf("dial RabbitMQ: %w", err)
	}
	ch, err := c.Channel()
	if err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("channel: %w", err)
	}
	return c, ch, nil
}

func (d *RabbitDriver) Setup(ctx context.Context, t Topology) error {
	if t.Topic != "" || t.MaxDeliveryCount > 0 {
		return fmt.Errorf("RabbitMQ: topics with filters and delivery limits: %w", ErrUnsupported)
	}
	c, ch, err := d.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	for _, q := range t.Queues {
		if _, err := ch.QueueDelete(q, false, false, false); err != nil {
			return fmt.Errorf("deleting queue %s: %w", q, err)
		}
		args := amqp091.Table{"x-queue-type": d.o.QueueType}
		if _, err := ch.QueueDeclare(q, true, false, false, false, args); err != nil {
			return fmt.Errorf("declaring %s queue %s: %w", d.o.QueueType, q, err)
		}
	}
	return nil
}

type rabbitProducer struct {
	c       *amqp091.Connection
	ch      *amqp091.Channel
	mu      sync.Mutex // publishes in confirm-sequence order
	targets []string
}

func (d *RabbitDriver) Producer(ctx context.Context, targets []string) (Producer, error) {
	c, ch, err := d.dial()
	if err != nil {
		return nil, err
	}
	if err := ch.Confirm(false); err != nil {
		c.Close()
		return nil, fmt.Errorf("confirm mode: %w", err)
	}
	return &rabbitProducer{c: c, ch: ch, targets: targets}, nil
}

func (p *rabbitProducer) Send(ctx context.Context, target int, m Message) error {
	pub := amqp091.Publishing{DeliveryMode: amqp091.Persistent, Body: m.Body}
	p.mu.Lock()
	dc, err := p.ch.PublishWithDeferredConfirmWithContext(ctx, "", p.targets[target], false, false, pub)
	p.mu.Unlock()
	if err != nil {
		return err
	}
	ok, err := dc.WaitContext(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("RabbitMQ nacked the publish")
	}
	return nil
}

// SendBatch publishes ms back to back and then waits for all their
// confirms: AMQP 0-9-1 has no batch, this is how a client batches with
// publisher confirms.
func (p *rabbitProducer) SendBatch(ctx context.Context, target int, ms []Message) error {
	dcs := make([]*amqp091.DeferredConfirmation, 0, len(ms))
	p.mu.Lock()
	for _, m := range ms {
		dc, err := p.ch.PublishWithDeferredConfirmWithContext(ctx, "", p.targets[target], false, false,
			amqp091.Publishing{DeliveryMode: amqp091.Persistent, Body: m.Body})
		if err != nil {
			p.mu.Unlock()
			return err
		}
		dcs = append(dcs, dc)
	}
	p.mu.Unlock()
	for _, dc := range dcs {
		ok, err := dc.WaitContext(ctx)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("RabbitMQ nacked a publish")
		}
	}
	return nil
}

func (p *rabbitProducer) Close(ctx context.Context) error { return p.c.Close() }

type rabbitConsumer struct {
	c  *amqp091.Connection
	ds <-chan amqp091.Delivery
}

func (d *RabbitDriver) Consumer(ctx context.Context, entity string, prefetch int) (Consumer, error) {
	c, ch, err := d.dial()
	if err != nil {
		return nil, err
	}
	if err := ch.Qos(prefetch, 0, false); err != nil {
		c.Close()
		return nil, fmt.Errorf("qos: %w", err)
	}
	ds, err := ch.Consume(entity, "", false, false, false, false, nil)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("consume %s: %w", entity, err)
	}
	return &rabbitConsumer{c: c, ds: ds}, nil
}

func (c *rabbitConsumer) Receive(ctx context.Context, max int) ([]Delivery, error) {
	var out []Delivery
	select {
	case d, ok := <-c.ds:
		if !ok {
			return nil, fmt.Errorf("RabbitMQ closed the consumer")
		}
		out = append(out, rabbitDelivery{d})
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	for len(out) < max {
		select {
		case d, ok := <-c.ds:
			if !ok {
				return out, nil
			}
			out = append(out, rabbitDelivery{d})
		default:
			return out, nil
		}
	}
	return out, nil
}

func (c *rabbitConsumer) Close(ctx context.Context) error { return c.c.Close() }

type rabbitDelivery struct{ d amqp091.Delivery }

func (d rabbitDelivery) Body() []byte                       { return d.d.Body }
func (d rabbitDelivery) Complete(ctx context.Context) error { return d.d.Ack(false) }
func (d rabbitDelivery) Abandon(ctx context.Context) error  { return d.d.Nack(false, true) }
