package pgengine

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/httpapi/queuestorage"
	"github.com/batonmq/baton/internal/store/pgstore/pgtest"
)

// sdkNode is the Storage Queue face over an engine of its own, served on
// 127.0.0.1:0, with an azqueue client of it: one node.
type sdkNode struct {
	svc *azqueue.ServiceClient
}

func startSDKNode(t *testing.T, dsn, node string) *sdkNode {
	t.Helper()
	return startSDKNodeClock(t, dsn, node, nil)
}

// startSDKNodeClock is startSDKNode with the face on clk (nil: the wall
// clock); the engine keeps the wall clock.
func startSDKNodeClock(t *testing.T, dsn, node string, clk clock.Clock) *sdkNode {
	t.Helper()
	e, err := Open(context.Background(), Config{DSN: dsn, Node: node})
	if err != nil {
		t.Fatal(err)
	}
	h, err := queuestorage.New(queuestorage.Config{Engine: e, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	})
	cs := "DefaultEndpointsProtocol=http;AccountName=" + queuestorage.DevAccount + ";AccountKey=" + queuestorage.DevKey +
		";QueueEndpoint=" + srv.URL + "/" + queuestorage.DevAccount + ";"
	svc, err := azqueue.NewServiceClientFromConnectionString(cs,
		&azqueue.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	return &sdkNode{svc: svc}
}

// TestSDKAcrossNodes: the official Go SDK (azqueue) against two nodes —
// the face over two engines on one database — over real sockets: what one
// node does, the other sees at once; a stopped database answers 503
// ServerBusy and the nodes serve again once it is back.
func TestSDKAcrossNodes(t *testing.T) {
	pg := pgtest.Require(t, pgtest.Options{})
	ctx := context.Background()
	a := startSDKNode(t, pg.DSN(), "node-a").svc.NewQueueClient("orders")
	bn := startSDKNode(t, pg.DSN(), "node-b")
	b := bn.svc.NewQueueClient("orders")

	if _, err := a.Create(ctx, &azqueue.CreateOptions{Metadata: map[string]*string{"team": to.Ptr("blue")}}); err != nil {
		t.Fatal(err)
	}
	props, err := b.GetProperties(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v := metaValue(props.Metadata, "team"); v != "blue" || *props.ApproximateMessagesCount != 0 {
		t.Fatalf("node B sees %v, count %v", props.Metadata, *props.ApproximateMessagesCount)
	}
	for _, text := range []string{"one", "two", "three"} {
		if _, err := a.EnqueueMessage(ctx, text, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.EnqueueMessage(ctx, "later", &azqueue.EnqueueMessageOptions{VisibilityTimeout: to.Ptr(int32(3600))}); err != nil {
		t.Fatal(err)
	}
	got, err := b.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(32)), VisibilityTimeout: to.Ptr(int32(600))})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Messages) != 3 || *got.Messages[0].MessageText != "one" || *got.Messages[2].MessageText != "three" ||
		*got.Messages[0].DequeueCount != 1 {
		t.Fatalf("node B dequeued %d messages, first %q", len(got.Messages), *got.Messages[0].MessageText)
	}
	// Node A sees them hidden, and settles them with node B's receipts.
	peek, err := a.PeekMessages(ctx, &azqueue.PeekMessagesOptions{NumberOfMessages: to.Ptr(int32(32))})
	if err != nil || len(peek.Messages) != 0 {
		t.Fatalf("node A peeks %v, %v; want nothing visible", peek.Messages, err)
	}
	m0, m1 := got.Messages[0], got.Messages[1]
	if _, err := a.DeleteMessage(ctx, *m0.MessageID, *m0.PopReceipt, nil); err != nil {
		t.Fatal(err)
	}
	up, err := a.UpdateMessage(ctx, *m1.MessageID, *m1.PopReceipt, "two, revised", &azqueue.UpdateMessageOptions{VisibilityTimeout: to.Ptr(int32(0))})
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.DeleteMessage(ctx, *m1.MessageID, *m1.PopReceipt, nil)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusNotFound || re.ErrorCode != "MessageNotFound" {
		t.Fatalf("delete with the receipt the update replaced: %v", err)
	}
	peek, err = b.PeekMessages(ctx, &azqueue.PeekMessagesOptions{NumberOfMessages: to.Ptr(int32(32))})
	if err != nil || len(peek.Messages) != 1 || *peek.Messages[0].MessageText != "two, revised" {
		t.Fatalf("node B peeks %v, %v", peek.Messages, err)
	}
	if _, err := b.DeleteMessage(ctx, *m1.MessageID, *up.PopReceipt, nil); err != nil {
		t.Fatal(err)
	}
	props, err = a.GetProperties(ctx, nil)
	if err != nil || *props.ApproximateMessagesCount != 2 {
		t.Fatalf("count %v, %v; want 2 (one hidden by a Get, one put hidden)", props.ApproximateMessagesCount, err)
	}
	pager := bn.svc.NewListQueuesPager(&azqueue.ListQueuesOptions{Include: azqueue.ListQueuesInclude{Metadata: true}})
	page, err := pager.NextPage(ctx)
	if err != nil || len(page.Queues) != 1 || *page.Queues[0].Name != "orders" {
		t.Fatalf("node B lists %v, %v", page.Queues, err)
	}

	// The database goes away: 503 ServerBusy, then service again.
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	_, err = a.EnqueueMessage(ctx, "x", nil)
	if !errors.As(err, &re) || re.StatusCode != http.StatusServiceUnavailable || re.ErrorCode != "ServerBusy" {
		t.Fatalf("enqueue with the database down: %v", err)
	}
	if err := pg.Restart(); err != nil {
		t.Fatal(err)
	}
	// Each pool drops the connections that died with the server as it
	// meets them: a few 503s, then service.
	afterRestart := func(what string, call func() error) {
		t.Helper()
		for i := 0; ; i++ {
			err := call()
			if err == nil {
				return
			}
			if !errors.As(err, &re) || re.StatusCode != http.StatusServiceUnavailable || i > 20 {
				t.Fatalf("%s after the database came back: %v", what, err)
			}
		}
	}
	afterRestart("clear through node B", func() error { _, err := b.ClearMessages(ctx, nil); return err })
	afterRestart("delete through node A", func() error { _, err := a.Delete(ctx, nil); return err })
	_, err = b.GetProperties(ctx, nil)
	if !errors.As(err, &re) || re.StatusCode != http.StatusNotFound || re.ErrorCode != "QueueNotFound" {
		t.Fatalf("node B reads the deleted queue: %v", err)
	}
}

// metaValue reads a metadata value whatever the case the SDK gave its name.
func metaValue(md map[string]*string, name string) string {
	for k, v := range md {
		if strings.EqualFold(k, name) && v != nil {
			return *v
		}
	}
	return ""
}

// TestSDKServicePropertiesAcrossNodes: service properties set through one
// node apply on the other (within the face's refresh), and a Set that
// names one section keeps the sections another node set, even when this
// node's cached copy predates them.
func TestSDKServicePropertiesAcrossNodes(t *testing.T) {
	pg := pgtest.Require(t, pgtest.Options{})
	ctx := context.Background()
	clkA := clock.NewFake(time.Now())
	a, b := startSDKNodeClock(t, pg.DSN(), "node-a", clkA).svc, startSDKNode(t, pg.DSN(), "node-b").svc
	if p, err := b.GetServiceProperties(ctx, nil); err != nil || len(p.CORS) != 0 {
		t.Fatalf("node B before any Set: %v %+v", err, p) // B caches the defaults
	}
	if _, err := a.SetProperties(ctx, &azqueue.SetPropertiesOptions{CORS: []*azqueue.CORSRule{{
		AllowedOrigins: to.Ptr("http://app.example"), AllowedMethods: to.Ptr("GET"), MaxAgeInSeconds: to.Ptr(int32(30)),
	}}}); err != nil {
		t.Fatal(err)
	}
	// B's cached defaults are not what a Set on B merges over.
	if _, err := b.SetProperties(ctx, &azqueue.SetPropertiesOptions{Logging: &azqueue.Logging{
		Read: to.Ptr(true), Write: to.Ptr(false), Delete: to.Ptr(false), RetentionPolicy: &azqueue.RetentionPolicy{Enabled: to.Ptr(false)},
	}}); err != nil {
		t.Fatal(err)
	}
	check := func(n *azqueue.ServiceClient, who string) {
		t.Helper()
		p, err := n.GetServiceProperties(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.CORS) != 1 || *p.CORS[0].AllowedOrigins != "http://app.example" || p.Logging == nil || !*p.Logging.Read {
			t.Fatalf("%s: properties lack a node's section: CORS %v, logging %+v", who, p.CORS, p.Logging)
		}
	}
	check(b, "node B, which set the logging")
	// A read its own document when it set it; after the refresh it reads
	// the one B stored.
	clkA.Advance(2 * time.Second)
	check(a, "node A after the refresh")
}
