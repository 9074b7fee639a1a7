package loadgen

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/batonmq/baton/internal/clock"
)

// DevStoreKey is the well-known key of Azurite's devstoreaccount1, which
// Baton's Storage Queue face also accepts.
const DevStoreKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

// AzQueueOptions locate a Storage Queue service (Baton's face or Azurite).
type AzQueueOptions struct {
	// URL is the path-style service URL with the account, e.g.
	// http://127.0.0.1:10001/devstoreaccount1; several nodes' URLs
	// comma-separated deal the producers and consumers over them in turn.
	URL string
	// Label names the target in results ("baton", "azurite").
	Label string
	// Account and Key default to devstoreaccount1 and DevStoreKey.
	Account, Key string
	// PollInterval is how long a consumer waits after an empty Get Messages
	// (Storage Queues have no long poll); default 10 ms.
	PollInterval time.Duration
	// Clock times the polls; default clock.Real.
	Clock clock.Clock
	// Baton, when set, reads fsync counters from this Baton.
	Baton *BatonOptions
}

// AzQueueDriver drives Storage Queues with the official azqueue SDK: Put
// Message per send (base64 text, as the SDKs encode binary), Get Messages
// (up to 32, visibility 300 s) then Delete Message per message; an abandon
// is Update Message with visibility 0. No SDK retries: an error fails the
// run.
type AzQueueDriver struct {
	o     AzQueueOptions
	svcs  []*azqueue.ServiceClient // one per URL
	next  atomic.Uint32            // the next client dealt
	admin *batonAdmin
}

// svc deals the service clients in turn.
func (d *AzQueueDriver) svc() *azqueue.ServiceClient {
	return d.svcs[int(d.next.Add(1)-1)%len(d.svcs)]
}

// NewAzQueueDriver returns a Storage Queue driver.
func NewAzQueueDriver(o AzQueueOptions) (*AzQueueDriver, error) {
	if o.Account == "" {
		o.Account = "devstoreaccount1"
	}
	if o.Key == "" {
		o.Key = DevStoreKey
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 10 * time.Millisecond
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Label == "" {
		o.Label = o.URL
	}
	cred, err := azqueue.NewSharedKeyCredential(o.Account, o.Key)
	if err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	// Idle connections are dropped after 3 s: Node's HTTP server (Azurite)
	// closes them after 5 s, and reusing one it is closing fails the
	// request with a connection reset (there are no retries to hide it).
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     3 * time.Second,
	}
	d := &AzQueueDriver{o: o}
	for u := range strings.SplitSeq(o.URL, ",") {
		if u = strings.TrimSpace(u); u == "" {
			continue
		}
		svc, err := azqueue.NewServiceClientWithSharedKeyCredential(u, cred, &azqueue.ClientOptions{ClientOptions: azcore.ClientOptions{
			Retry:     policy.RetryOptions{MaxRetries: -1, TryTimeout: 60 * time.Second},
			Transport: &http.Client{Transport: tr},
		}})
		if err != nil {
			return nil, fmt.Errorf("loadgen: %w", err)
		}
		d.svcs = append(d.svcs, svc)
	}
	if len(d.svcs) == 0 {
		return nil, errors.New("loadgen: no Storage Queue URL")
	}
	if o.Baton != nil {
		if d.admin, err = newBatonAdmin(*o.Baton); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func (d *AzQueueDriver) Name() string { return "azqueue v1.0.0 → " + d.o.Label }

func (d *AzQueueDriver) Close(ctx context.Context) error { return nil }

// BrokerStats reads Baton's counters when the target is a Baton.
func (d *AzQueueDriver) BrokerStats(ctx context.Context) (BrokerStats, error) {
	if d.admin == nil {
		return BrokerStats{}, fmt.Errorf("loadgen: %s reports no fsync counters", d.o.Label)
	}
	return d.admin.BrokerStats(ctx)
}

func (d *AzQueueDriver) Setup(ctx context.Context, t Topology) error {
	if t.Topic != "" || t.MaxDeliveryCount > 0 {
		return fmt.Errorf("Storage Queues: topics and dead-lettering: %w", ErrUnsupported)
	}
	for _, q := range t.Queues {
		qc := d.svcs[0].NewQueueClient(q)
		if _, err := qc.Delete(ctx, nil); err != nil && !isStatus(err, http.StatusNotFound) {
			return fmt.Errorf("deleting queue %s: %w", q, err)
		}
		if _, err := qc.Create(ctx, nil); err != nil {
			return fmt.Errorf("creating queue %s: %w", q, err)
		}
	}
	return nil
}

func isStatus(err error, code int) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == code
}

type azqProducer struct{ qs []*azqueue.QueueClient }

func (d *AzQueueDriver) Producer(ctx context.Context, targets []string) (Producer, error) {
	p := &azqProducer{}
	svc := d.svc()
	for _, t := range targets {
		p.qs = append(p.qs, svc.NewQueueClient(t))
	}
	return p, nil
}

func (p *azqProducer) Send(ctx context.Context, target int, m Message) error {
	_, err := p.qs[target].EnqueueMessage(ctx, base64.StdEncoding.EncodeToString(m.Body), nil)
	return err
}

func (p *azqProducer) Close(ctx context.Context) error { return nil }

type azqConsumer struct {
	d *AzQueueDriver
	q *azqueue.QueueClient
}

func (d *AzQueueDriver) Consumer(ctx context.Context, entity string, prefetch int) (Consumer, error) {
	return &azqConsumer{d: d, q: d.svc().NewQueueClient(entity)}, nil
}

func (c *azqConsumer) Receive(ctx context.Context, max int) ([]Delivery, error) {
	for {
		resp, err := c.q.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(min(max, 32))), VisibilityTimeout: to.Ptr(int32(300))})
		if err != nil {
			return nil, err
		}
		if len(resp.Messages) > 0 {
			out := make([]Delivery, 0, len(resp.Messages))
			for _, m := range resp.Messages {
				body, err := base64.StdEncoding.DecodeString(*m.MessageText)
				if err != nil {
					return nil, fmt.Errorf("message %s is not base64: %w", *m.MessageID, err)
				}
				out = append(out, &azqDelivery{q: c.q, id: *m.MessageID, receipt: *m.PopReceipt, body: body})
			}
			return out, nil
		}
		if err := waitUntil(ctx, c.d.o.Clock, c.d.o.Clock.Now().Add(c.d.o.PollInterval)); err != nil {
			return nil, err
		}
	}
}

func (c *azqConsumer) Close(ctx context.Context) error { return nil }

type azqDelivery struct {
	q           *azqueue.QueueClient
	id, receipt string
	body        []byte
}

func (d *azqDelivery) Body() []byte { return d.body }

func (d *azqDelivery) Complete(ctx context.Context) error {
	_, err := d.q.DeleteMessage(ctx, d.id, d.receipt, nil)
	return err
}

func (d *azqDelivery) Abandon(ctx context.Context) error {
	_, err := d.q.UpdateMessage(ctx, d.id, d.receipt, base64.StdEncoding.EncodeToString(d.body), &azqueue.UpdateMessageOptions{VisibilityTimeout: to.Ptr(int32(0))})
	return err
}
