package loadgen

import (
	"context"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
)

// SDKDriver drives Baton through the official azservicebus SDK, as an
// application would: one Client (one connection) per producer or consumer,
// SendMessage per message, ReceiveMessages + CompleteMessage in peek-lock
// mode.
type SDKDriver struct {
	*batonAdmin
}

// NewSDKDriver returns an azservicebus driver for the Baton at o.
func NewSDKDriver(o BatonOptions) (*SDKDriver, error) {
	a, err := newBatonAdmin(o)
	if err != nil {
		return nil, err
	}
	return &SDKDriver{a}, nil
}

func (d *SDKDriver) Name() string { return "azservicebus v1.11.0 → baton" }

func (d *SDKDriver) Setup(ctx context.Context, t Topology) error { return d.setup(ctx, t) }

func (d *SDKDriver) Close(ctx context.Context) error { return nil }

func (d *SDKDriver) client() (*azservicebus.Client, error) {
	c, err := azservicebus.NewClientFromConnectionString(d.connString(d.nextAddr()), &azservicebus.ClientOptions{RetryOptions: azservicebus.RetryOptions{MaxRetries: -1}})
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	return c, nil
}

type sdkProducer struct {
	c       *azservicebus.Client
	senders []*azservicebus.Sender
}

func (d *SDKDriver) Producer(ctx context.Context, targets []string) (Producer, error) {
	c, err := d.client()
	if err != nil {
		return nil, err
	}
	p := &sdkProducer{c: c}
	for _, t := range targets {
		s, err := c.NewSender(t, nil)
		if err != nil {
			c.Close(ctx)
			return nil, fmt.Errorf("sender on %s: %w", t, err)
		}
		p.senders = append(p.senders, s)
	}
	return p, nil
}

func (p *sdkProducer) Send(ctx context.Context, target int, m Message) error {
	return p.senders[target].SendMessage(ctx, sdkMessage(m), nil)
}

// SendBatch sends ms with the SDK's MessageBatch (one transfer).
func (p *sdkProducer) SendBatch(ctx context.Context, target int, ms []Message) error {
	b, err := p.senders[target].NewMessageBatch(ctx, nil)
	if err != nil {
		return fmt.Errorf("new batch: %w", err)
	}
	for i, m := range ms {
		if err := b.AddMessage(sdkMessage(m), nil); err != nil {
			return fmt.Errorf("adding message %d to a batch: %w", i, err)
		}
	}
	return p.senders[target].SendMessageBatch(ctx, b, nil)
}

func sdkMessage(m Message) *azservicebus.Message {
	msg := &azservicebus.Message{Body: m.Body}
	if m.Props != nil {
		msg.ApplicationProperties = make(map[string]any, len(m.Props))
		for k, v := range m.Props {
			msg.ApplicationProperties[k] = v
		}
	}
	return msg
}

func (p *sdkProducer) Close(ctx context.Context) error { return p.c.Close(ctx) }

type sdkConsumer struct {
	c   *azservicebus.Client
	rcv *azservicebus.Receiver
}

func (d *SDKDriver) Consumer(ctx context.Context, entity string, prefetch int) (Consumer, error) {
	c, err := d.client()
	if err != nil {
		return nil, err
	}
	q, topic, sub, dlq := splitEntity(entity)
	opts := &azservicebus.ReceiverOptions{ReceiveMode: azservicebus.ReceiveModePeekLock}
	if dlq {
		opts.SubQueue = azservicebus.SubQueueDeadLetter
	}
	var rcv *azservicebus.Receiver
	if topic != "" {
		rcv, err = c.NewReceiverForSubscription(topic, sub, opts)
	} else {
		rcv, err = c.NewReceiverForQueue(q, opts)
	}
	if err != nil {
		c.Close(ctx)
		return nil, fmt.Errorf("receiver on %s: %w", entity, err)
	}
	return &sdkConsumer{c: c, rcv: rcv}, nil
}

// sdkReceiveOptions returns a batch as soon as the first message is in,
// with whatever else has arrived: the SDK's default waits 20 ms for more,
// which would be charged to every latency-probe message.
var sdkReceiveOptions = &azservicebus.ReceiveMessagesOptions{TimeAfterFirstMessage: time.Microsecond}

func (c *sdkConsumer) Receive(ctx context.Context, max int) ([]Delivery, error) {
	ms, err := c.rcv.ReceiveMessages(ctx, max, sdkReceiveOptions)
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	out := make([]Delivery, len(ms))
	for i, m := range ms {
		out[i] = sdkDelivery{c.rcv, m}
	}
	return out, nil
}

func (c *sdkConsumer) Close(ctx context.Context) error { return c.c.Close(ctx) }

type sdkDelivery struct {
	rcv *azservicebus.Receiver
	m   *azservicebus.ReceivedMessage
}

func (d sdkDelivery) Body() []byte { return d.m.Body }

func (d sdkDelivery) Complete(ctx context.Context) error { return d.rcv.CompleteMessage(ctx, d.m, nil) }

func (d sdkDelivery) Abandon(ctx context.Context) error { return d.rcv.AbandonMessage(ctx, d.m, nil) }
