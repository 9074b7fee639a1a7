package sbadmin_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/batonmq/baton/internal/broker"
)

// queuesOnlyEngine answers every topic operation and the listing of topics
// with CodeNotImplemented, as an engine that keeps queues only does.
type queuesOnlyEngine struct{ broker.Engine }

var errNoTopics = &broker.Error{Code: broker.CodeNotImplemented, Message: "topics are not available on this engine"}

func (queuesOnlyEngine) CreateTopic(context.Context, string, broker.QueueProperties) (*broker.EntityInfo, error) {
	return nil, errNoTopics
}

func (e queuesOnlyEngine) Entities(ctx context.Context, k broker.Kind) ([]*broker.EntityInfo, error) {
	if k == broker.KindTopic {
		return nil, errNoTopics
	}
	return e.Engine.Entities(ctx, k)
}

// TestSDKEngineNotImplemented: the admin SDK sees an engine's
// CodeNotImplemented as a ResponseError with 501 and NotImplemented, and
// queues keep working.
func TestSDKEngineNotImplemented(t *testing.T) {
	t.Parallel()
	f := setupSDKEngine(t, nil, func(e broker.Engine) broker.Engine { return queuesOnlyEngine{e} })
	c := f.client(t, "any")
	ctx := t.Context()
	wantNotImplemented := func(op string, err error) {
		t.Helper()
		var re *azcore.ResponseError
		if !errors.As(err, &re) || re.StatusCode != http.StatusNotImplemented || re.ErrorCode != "NotImplemented" {
			t.Fatalf("%s: %v; want a 501 NotImplemented ResponseError", op, err)
		}
	}
	_, err := c.CreateTopic(ctx, "t", nil)
	wantNotImplemented("CreateTopic", err)
	_, err = c.NewListTopicsPager(nil).NextPage(ctx)
	wantNotImplemented("ListTopics", err)

	if _, err := c.CreateQueue(ctx, "q", nil); err != nil {
		t.Fatalf("CreateQueue: %v", err)
	}
	page, err := c.NewListQueuesPager(nil).NextPage(ctx)
	if err != nil || len(page.Queues) != 1 || page.Queues[0].QueueName != "q" {
		t.Fatalf("ListQueues: %+v, %v", page, err)
	}
}
