package loadgen

import (
	"context"
	"fmt"

	"github.com/Azure/go-amqp"
)

// AMQPDriver drives Baton's Service Bus face with go-amqp directly: one
// connection per producer or consumer, unsettled sends (each Send waits for
// the broker's accepted disposition), receivers in settle mode second (each
// complete waits for the broker's confirmation), as the Service Bus SDK does.
type AMQPDriver struct {
	*batonAdmin
}

// NewAMQPDriver returns a go-amqp driver for the Baton at o.
func NewAMQPDriver(o BatonOptions) (*AMQPDriver, error) {
	a, err := newBatonAdmin(o)
	if err != nil {
		return nil, err
	}
	return &AMQPDriver{a}, nil
}

func (d *AMQPDriver) Name() string { return "go-amqp v1.7.0 → baton" }

func (d *AMQPDriver) Setup(ctx context.Context, t Topology) error { return d.setup(ctx, t) }

func (d *AMQPDriver) Close(ctx context.Context) error { return nil }

func (d *AMQPDriver) dial(ctx context.Context) (*amqp.Conn, *amqp.Session, error) {
	addr := d.nextAddr()
	c, err := amqp.Dial(ctx, "amqp://"+addr, &amqp.ConnOptions{SASLType: amqp.SASLTypeAnonymous()})
	if err != nil {
		return nil, nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	s, err := c.NewSession(ctx, nil)
	if err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("session: %w", err)
	}
	return c, s, nil
}

type amqpProducer struct {
	conn    *amqp.Conn
	senders []*amqp.Sender
}

func (d *AMQPDriver) Producer(ctx context.Context, targets []string) (Producer, error) {
	c, s, err := d.dial(ctx)
	if err != nil {
		return nil, err
	}
	p := &amqpProducer{conn: c}
	for _, t := range targets {
		snd, err := s.NewSender(ctx, t, nil)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("sender on %s: %w", t, err)
		}
		p.senders = append(p.senders, snd)
	}
	return p, nil
}

func (p *amqpProducer) Send(ctx context.Context, target int, m Message) error {
	return p.senders[target].Send(ctx, amqpMessage(m), nil)
}

// batchFormat is the message-format of a Service Bus batch transfer.
const batchFormat uint32 = 0x80013700

// SendBatch sends ms as one Service Bus batch, built as the SDK builds
// one: each message encoded whole into a data section of an envelope that
// carries the first message's properties.
func (p *amqpProducer) SendBatch(ctx context.Context, target int, ms []Message) error {
	env := amqpMessage(ms[0])
	env.Data = make([][]byte, len(ms))
	for i, m := range ms {
		b, err := amqpMessage(m).MarshalBinary()
		if err != nil {
			return fmt.Errorf("encoding message %d of a batch: %w", i, err)
		}
		env.Data[i] = b
	}
	env.Format = batchFormat
	return p.senders[target].Send(ctx, env, nil)
}

func amqpMessage(m Message) *amqp.Message {
	msg := amqp.NewMessage(m.Body)
	if m.Props != nil {
		msg.ApplicationProperties = make(map[string]any, len(m.Props))
		for k, v := range m.Props {
			msg.ApplicationProperties[k] = v
		}
	}
	return msg
}

func (p *amqpProducer) Close(ctx context.Context) error { return p.conn.Close() }

type amqpConsumer struct {
	conn *amqp.Conn
	rcv  *amqp.Receiver
}

func (d *AMQPDriver) Consumer(ctx context.Context, entity string, prefetch int) (Consumer, error) {
	c, s, err := d.dial(ctx)
	if err != nil {
		return nil, err
	}
	rcv, err := s.NewReceiver(ctx, entity, &amqp.ReceiverOptions{Credit: int32(prefetch), SettlementMode: amqp.ReceiverSettleModeSecond.Ptr()})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("receiver on %s: %w", entity, err)
	}
	return &amqpConsumer{conn: c, rcv: rcv}, nil
}

func (c *amqpConsumer) Receive(ctx context.Context, max int) ([]Delivery, error) {
	m, err := c.rcv.Receive(ctx, nil)
	if err != nil {
		return nil, err
	}
	out := []Delivery{amqpDelivery{c.rcv, m}}
	for len(out) < max {
		m := c.rcv.Prefetched()
		if m == nil {
			break
		}
		out = append(out, amqpDelivery{c.rcv, m})
	}
	return out, nil
}

func (c *amqpConsumer) Close(ctx context.Context) error { return c.conn.Close() }

type amqpDelivery struct {
	rcv *amqp.Receiver
	m   *amqp.Message
}

func (d amqpDelivery) Body() []byte { return d.m.GetData() }

func (d amqpDelivery) Complete(ctx context.Context) error { return d.rcv.AcceptMessage(ctx, d.m) }

func (d amqpDelivery) Abandon(ctx context.Context) error {
	return d.rcv.ModifyMessage(ctx, d.m, &amqp.ModifyMessageOptions{DeliveryFailed: true})
}
