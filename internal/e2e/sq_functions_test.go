package e2e

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/queueerror"
)

// Azure Functions queue-trigger conventions (spec §8): the WebJobs
// extension polls with batchSize 16 and a 10-minute lease, renews and
// releases leases with body-less Update calls, deletes on success, and on a
// failure at DequeueCount ≥ maxDequeueCount (5) copies the message to
// "<queue>-poison" (creating it on 404) before deleting the original.
// Messages are base64 by default. This is done by the Functions host, on
// the client side; functionsConsumer below is that logic, so the test
// shows the server gives it everything it relies on.
const (
	fnBatchSize       = 16
	fnMaxDequeueCount = 5
	fnLeaseSeconds    = 600
)

// poisonQueueName is the extension's rule: none when the name already ends
// in -poison or the result would be longer than 63 characters.
func poisonQueueName(q string) string {
	if strings.HasSuffix(q, "-poison") || len(q)+len("-poison") > 63 {
		return ""
	}
	return q + "-poison"
}

// functionsConsumer runs one listener over queue until it is empty.
type functionsConsumer struct {
	t       *testing.T
	e       *sqEnv
	queue   string
	sasTok  string // for the body-less Update the Go SDK cannot send
	handler func(body []byte) error
	// attempts counts handler runs per message id.
	attempts map[string]int
	batches  []int
}

// release updates a message's visibility without a body, as the .NET
// client does, and returns the new receipt.
func (c *functionsConsumer) release(id, receipt string, visibility int) (string, error) {
	u := fmt.Sprintf("%s/%s/messages/%s?popreceipt=%s&visibilitytimeout=%d&%s", c.e.endpoint, c.queue, id, url.QueryEscape(receipt), visibility, c.sasTok)
	status, code, hdr := raw(c.t, "PUT", u, "")
	if status != 204 {
		return "", fmt.Errorf("body-less update: %d %s", status, code)
	}
	return hdr.Get("x-ms-popreceipt"), nil
}

func (c *functionsConsumer) poison(msg *azqueue.DequeuedMessage, receipt string) error {
	ctx := c.t.Context()
	name := poisonQueueName(c.queue)
	pq := c.e.queue(name)
	_, err := pq.EnqueueMessage(ctx, *msg.MessageText, nil)
	if queueerror.HasCode(err, queueerror.QueueNotFound) {
		if _, err := pq.Create(ctx, nil); err != nil {
			return fmt.Errorf("creating %s: %w", name, err)
		}
		_, err = pq.EnqueueMessage(ctx, *msg.MessageText, nil)
	}
	if err != nil {
		return fmt.Errorf("poisoning: %w", err)
	}
	_, err = c.e.queue(c.queue).DeleteMessage(ctx, *msg.MessageID, receipt, nil)
	return err
}

// run polls until a poll returns nothing and the queue is empty.
func (c *functionsConsumer) run() {
	ctx := c.t.Context()
	q := c.e.queue(c.queue)
	if _, err := q.GetProperties(ctx, nil); err != nil { // the listener's existence probe
		c.t.Fatal(err)
	}
	for polls := 0; ; polls++ {
		if polls > 1000 {
			c.t.Fatal("the consumer did not drain the queue")
		}
		got, err := q.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(fnBatchSize)), VisibilityTimeout: to.Ptr(int32(fnLeaseSeconds))})
		if err != nil {
			c.t.Fatal(err)
		}
		if len(got.Messages) == 0 {
			if count(c.t, q) != 0 {
				c.t.Fatal("nothing visible, but messages remain")
			}
			return
		}
		c.batches = append(c.batches, len(got.Messages))
		for _, m := range got.Messages {
			receipt := *m.PopReceipt
			if *m.DequeueCount > fnMaxDequeueCount {
				if err := c.poison(m, receipt); err != nil {
					c.t.Fatal(err)
				}
				continue
			}
			// A lease renewal while the function runs (no body).
			if receipt, err = c.release(*m.MessageID, receipt, fnLeaseSeconds); err != nil {
				c.t.Fatal(err)
			}
			body, derr := base64.StdEncoding.DecodeString(*m.MessageText)
			c.attempts[*m.MessageID]++
			herr := derr
			if herr == nil {
				herr = c.handler(body)
			}
			switch {
			case herr == nil:
				if _, err := q.DeleteMessage(ctx, *m.MessageID, receipt, nil); err != nil {
					c.t.Fatal(err)
				}
			case *m.DequeueCount >= fnMaxDequeueCount:
				if err := c.poison(m, receipt); err != nil {
					c.t.Fatal(err)
				}
			default:
				if _, err := c.release(*m.MessageID, receipt, 0); err != nil {
					c.t.Fatal(err)
				}
			}
		}
	}
}

// TestSQFunctionsConsumer: a handler fails on some messages; they end in
// <queue>-poison after 5 dequeues with their base64 content intact, the
// rest are deleted, and the original queue ends empty.
func TestSQFunctionsConsumer(t *testing.T) {
	e := startSQ(t, memCfg())
	ctx := t.Context()
	q := e.mustCreate("orders")
	want := map[string]bool{} // body → should fail
	for i := 0; i < 40; i++ {
		body := fmt.Sprintf(`{"order":%d}`, i)
		if i%7 == 3 {
			body = fmt.Sprintf(`{"order":%d,"fail":true}`, i)
		}
		want[body] = strings.Contains(body, "fail")
		if _, err := q.EnqueueMessage(ctx, base64.StdEncoding.EncodeToString([]byte(body)), nil); err != nil {
			t.Fatal(err)
		}
	}
	c := &functionsConsumer{t: t, e: e, queue: "orders", sasTok: e.rawSAS(), attempts: map[string]int{},
		handler: func(body []byte) error {
			if strings.Contains(string(body), "fail") {
				return errors.New("handler failed")
			}
			return nil
		}}
	c.run()
	if c.batches[0] != fnBatchSize {
		t.Fatalf("first batch %d, want %d", c.batches[0], fnBatchSize)
	}
	for id, n := range c.attempts {
		if n != 1 && n != fnMaxDequeueCount {
			t.Fatalf("message %s ran %d times", id, n)
		}
	}
	// The poison queue holds exactly the failing messages, intact.
	pq := e.queue("orders-poison")
	got := map[string]bool{}
	for {
		page, err := pq.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(32))})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Messages) == 0 {
			break
		}
		for _, m := range page.Messages {
			body, err := base64.StdEncoding.DecodeString(*m.MessageText)
			if err != nil {
				t.Fatalf("poison message text %q is not the original base64", *m.MessageText)
			}
			got[string(body)] = true
			if _, err := pq.DeleteMessage(ctx, *m.MessageID, *m.PopReceipt, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	for body, fails := range want {
		if fails != got[body] {
			t.Errorf("%s: in poison queue %v, want %v", body, got[body], fails)
		}
	}
	if len(got) != 6 {
		t.Fatalf("%d poison messages, want 6", len(got))
	}
	if n := count(t, q); n != 0 {
		t.Fatalf("orders still holds %d", n)
	}
	if poisonQueueName("orders-poison") != "" || poisonQueueName(strings.Repeat("a", 57)) != "" {
		t.Fatal("poison naming rule")
	}
}
