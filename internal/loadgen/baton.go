package loadgen

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus/admin"

	"github.com/batonmq/baton/internal/httpapi/mgmt"
)

// BatonOptions locate a running Baton.
type BatonOptions struct {
	// AMQPAddr is the Service Bus face, host:port (plain AMQP). Several
	// nodes, comma-separated: the producers' and consumers' connections
	// are dealt over them in turn (the first one also serves the
	// administration client).
	AMQPAddr string
	// MgmtURL is the management API (queues, and GET /api/v1/stats for
	// fsyncs per message), e.g. http://127.0.0.1:8088. Not used (and may
	// be empty) with SBAdmin.
	MgmtURL string
	// CAFile is Baton's development CA (`baton cert`, or tls/ca.pem in its
	// data directory), for the Service Bus administration client that
	// creates topics — and with SBAdmin queues — over HTTPS on the AMQP
	// port. Empty: the certificate is not verified (loopback benchmarks).
	CAFile string
	// SBAdmin creates and deletes queues through the Service Bus
	// administration API (ATOM over HTTPS on the first AMQP address)
	// instead of the management API, and reads no store counters (fsyncs
	// per message are then not reported). Nodes serving shared Service
	// Bus queues (`baton serve --shared-service-bus`) keep them in
	// PostgreSQL tables, which the management API — the active node's
	// own broker — does not see.
	SBAdmin bool
}

// batonAdmin creates entities and reads counters, for both Baton drivers.
type batonAdmin struct {
	opts  BatonOptions
	mgmt  *mgmt.Client
	addrs []string
	next  atomic.Uint32
}

func newBatonAdmin(o BatonOptions) (*batonAdmin, error) {
	if o.AMQPAddr == "" || o.MgmtURL == "" && !o.SBAdmin {
		return nil, fmt.Errorf("loadgen: Baton needs its AMQP address and management URL")
	}
	var c *mgmt.Client
	if !o.SBAdmin {
		var err error
		if c, err = mgmt.NewClient(o.MgmtURL, nil); err != nil {
			return nil, fmt.Errorf("loadgen: %w", err)
		}
	}
	var addrs []string
	for a := range strings.SplitSeq(o.AMQPAddr, ",") {
		if a = strings.TrimSpace(a); a != "" {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("loadgen: no AMQP address in %q", o.AMQPAddr)
	}
	return &batonAdmin{opts: o, mgmt: c, addrs: addrs}, nil
}

// nextAddr is the node the next connection goes to: the listed ones in
// turn.
func (a *batonAdmin) nextAddr() string {
	return a.addrs[int(a.next.Add(1)-1)%len(a.addrs)]
}

// connString is what an SDK user would write for this Baton (addr: one
// of its nodes).
func (a *batonAdmin) connString(addr string) string {
	return "Endpoint=sb://" + addr + ";SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=bench;UseDevelopmentEmulator=true"
}

// maxQueueMB is the queues' size quota: the largest Service Bus allows
// (Premium, 80 GiB). The quota is not what a benchmark measures, and the
// peers' queues have none by default (a backlog of 1,000,000 1 KiB
// messages overflows the 1 GiB default).
const maxQueueMB = 80 << 10

func (a *batonAdmin) setup(ctx context.Context, t Topology) error {
	var ac *admin.Client
	if a.opts.SBAdmin || t.Topic != "" {
		var err error
		if ac, err = a.adminClient(); err != nil {
			return err
		}
	}
	if a.opts.SBAdmin {
		if err := a.setupQueuesAdmin(ctx, ac, t); err != nil {
			return err
		}
	} else if err := a.setupQueuesMgmt(ctx, t); err != nil {
		return err
	}
	if t.Topic == "" {
		return nil
	}
	if _, err := ac.DeleteTopic(ctx, t.Topic, nil); err != nil && !isNotFound(err) {
		return fmt.Errorf("deleting topic %s (does this Baton serve topics?): %w", t.Topic, err)
	}
	if _, err := ac.CreateTopic(ctx, t.Topic, nil); err != nil {
		return fmt.Errorf("creating topic %s (does this Baton serve topics?): %w", t.Topic, err)
	}
	for _, s := range t.Subscriptions {
		var rule *admin.RuleProperties
		switch {
		case s.Correlation != nil:
			props := map[string]any{}
			for k, v := range s.Correlation {
				props[k] = v
			}
			rule = &admin.RuleProperties{Name: "bench", Filter: &admin.CorrelationFilter{ApplicationProperties: props}}
		case s.SQL != "":
			rule = &admin.RuleProperties{Name: "bench", Filter: &admin.SQLFilter{Expression: s.SQL}}
		}
		opts := &admin.CreateSubscriptionOptions{Properties: &admin.SubscriptionProperties{DefaultRule: rule}}
		if _, err := ac.CreateSubscription(ctx, t.Topic, s.Name, opts); err != nil {
			return fmt.Errorf("creating subscription %s/%s: %w", t.Topic, s.Name, err)
		}
	}
	return nil
}

// setupQueuesMgmt creates t's queues afresh through the management API.
func (a *batonAdmin) setupQueuesMgmt(ctx context.Context, t Topology) error {
	for _, q := range t.Queues {
		if err := a.mgmt.DeleteQueue(ctx, q); err != nil && !mgmt.IsCode(err, "NotFound") {
			return fmt.Errorf("deleting queue %s: %w", q, err)
		}
		maxSize := int64(maxQueueMB)
		props := mgmt.QueueProperties{MaxSizeInMegabytes: &maxSize}
		if t.MaxDeliveryCount > 0 {
			n := int32(t.MaxDeliveryCount)
			props.MaxDeliveryCount = &n
		}
		if _, err := a.mgmt.CreateQueue(ctx, q, props); err != nil {
			return fmt.Errorf("creating queue %s: %w", q, err)
		}
	}
	return nil
}

// setupQueuesAdmin creates t's queues afresh through the Service Bus
// administration API.
func (a *batonAdmin) setupQueuesAdmin(ctx context.Context, ac *admin.Client, t Topology) error {
	for _, q := range t.Queues {
		if _, err := ac.DeleteQueue(ctx, q, nil); err != nil && !isNotFound(err) {
			return fmt.Errorf("deleting queue %s (administration API): %w", q, err)
		}
		props := &admin.QueueProperties{MaxSizeInMegabytes: to.Ptr(int32(maxQueueMB))}
		if t.MaxDeliveryCount > 0 {
			props.MaxDeliveryCount = to.Ptr(int32(t.MaxDeliveryCount))
		}
		if _, err := ac.CreateQueue(ctx, q, &admin.CreateQueueOptions{Properties: props}); err != nil {
			return fmt.Errorf("creating queue %s (administration API): %w", q, err)
		}
	}
	return nil
}

func isNotFound(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusNotFound
}

func (a *batonAdmin) adminClient() (*admin.Client, error) {
	tc := &tls.Config{InsecureSkipVerify: true}
	if a.opts.CAFile != "" {
		pem, err := os.ReadFile(a.opts.CAFile)
		if err != nil {
			return nil, fmt.Errorf("loadgen: Baton's CA: %w", err)
		}
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(pem)
		tc = &tls.Config{RootCAs: roots}
	}
	ac, err := admin.NewClientFromConnectionString(a.connString(a.addrs[0]), &admin.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: &http.Client{Transport: &http.Transport{TLSClientConfig: tc}},
	}})
	if err != nil {
		return nil, fmt.Errorf("loadgen: admin client: %w", err)
	}
	return ac, nil
}

func (a *batonAdmin) BrokerStats(ctx context.Context) (BrokerStats, error) {
	if a.mgmt == nil {
		return BrokerStats{}, errors.New("loadgen: no store counters with the administration API (shared Service Bus queues live in PostgreSQL)")
	}
	s, err := a.mgmt.Stats(ctx)
	if err != nil {
		return BrokerStats{}, fmt.Errorf("loadgen: Baton stats: %w", err)
	}
	return BrokerStats{Syncs: s.Syncs, Records: s.Records}, nil
}

// splitEntity splits "topic/Subscriptions/sub[/$DeadLetterQueue]" and
// "queue[/$DeadLetterQueue]".
func splitEntity(e string) (queue, topic, sub string, dlq bool) {
	e, dlq = strings.CutSuffix(e, "/$DeadLetterQueue")
	if t, s, ok := strings.Cut(e, "/Subscriptions/"); ok {
		return "", t, s, dlq
	}
	return e, "", "", dlq
}
