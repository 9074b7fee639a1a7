package amqp

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"github.com/batonmq/baton/internal/broker"
)

// TestAzureSDK drives the server with the official Go SDK (azservicebus),
// using the built-in $cbs (accepts every token); settlement goes over the
// receiver link, so no management operation is needed.
func TestAzureSDK(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, envOptions{realClock: true})
	env.queue("orders", broker.QueueProperties{})
	env.queue("sessions", broker.QueueProperties{RequiresSession: true})
	cs := "Endpoint=sb://" + env.addr + ";SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true"
	client, err := azservicebus.NewClientFromConnectionString(cs, &azservicebus.ClientOptions{
		RetryOptions: azservicebus.RetryOptions{MaxRetries: 1, RetryDelay: 10 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close(context.Background())
	ctx := env.tctx()

	sender, err := client.NewSender("orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	batch, err := sender.NewMessageBatch(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if err := batch.AddMessage(&azservicebus.Message{Body: []byte(fmt.Sprint("m", i)), ApplicationProperties: map[string]any{"i": int64(i)}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := sender.SendMessageBatch(ctx, batch, nil); err != nil {
		t.Fatalf("SendMessageBatch: %v", err)
	}
	if err := sender.SendMessage(ctx, &azservicebus.Message{Body: []byte("m4"), TimeToLive: ptr(time.Hour)}, nil); err != nil {
		t.Fatal(err)
	}

	recv, err := client.NewReceiverForQueue("orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []*azservicebus.ReceivedMessage
	for len(got) < 5 {
		msgs, err := recv.ReceiveMessages(ctx, 5-len(got), nil)
		if err != nil {
			t.Fatalf("ReceiveMessages: %v", err)
		}
		got = append(got, msgs...)
	}
	for i, m := range got {
		if string(m.Body) != fmt.Sprint("m", i) || m.SequenceNumber == nil || *m.SequenceNumber != int64(i+1) || m.DeliveryCount != 1 || m.LockedUntil == nil {
			t.Fatalf("message %d: body %q seq %v count %d", i, m.Body, m.SequenceNumber, m.DeliveryCount)
		}
	}
	if got[4].TimeToLive == nil || *got[4].TimeToLive != time.Hour {
		t.Fatalf("ttl %v", got[4].TimeToLive)
	}
	if err := recv.CompleteMessage(ctx, got[0], nil); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if err := recv.AbandonMessage(ctx, got[1], &azservicebus.AbandonMessageOptions{PropertiesToModify: map[string]any{"why": "retry"}}); err != nil {
		t.Fatalf("Abandon: %v", err)
	}
	if err := recv.DeadLetterMessage(ctx, got[2], &azservicebus.DeadLetterOptions{Reason: ptr("bad"), ErrorDescription: ptr("really")}); err != nil {
		t.Fatalf("DeadLetter: %v", err)
	}
	if err := recv.DeferMessage(ctx, got[3], nil); err != nil {
		t.Fatalf("Defer: %v", err)
	}
	if err := recv.CompleteMessage(ctx, got[4], nil); err != nil {
		t.Fatal(err)
	}
	again, err := recv.ReceiveMessages(ctx, 1, nil)
	if err != nil || len(again) != 1 || string(again[0].Body) != "m1" || again[0].DeliveryCount != 2 || again[0].ApplicationProperties["why"] != "retry" {
		t.Fatalf("abandoned message: %+v %v", again, err)
	}
	if err := recv.CompleteMessage(ctx, again[0], nil); err != nil {
		t.Fatal(err)
	}

	dlq, err := client.NewReceiverForQueue("orders", &azservicebus.ReceiverOptions{SubQueue: azservicebus.SubQueueDeadLetter,
		ReceiveMode: azservicebus.ReceiveModeReceiveAndDelete})
	if err != nil {
		t.Fatal(err)
	}
	dm, err := dlq.ReceiveMessages(ctx, 1, nil)
	if err != nil || len(dm) != 1 || dm[0].DeadLetterReason == nil || *dm[0].DeadLetterReason != "bad" ||
		*dm[0].DeadLetterErrorDescription != "really" || dm[0].DeadLetterSource != nil {
		t.Fatalf("dead-lettered: %+v %v", dm, err)
	}

	// Sessions.
	ss, err := client.NewSender("sessions", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, sid := range []string{"a", "b", "a"} {
		if err := ss.SendMessage(ctx, &azservicebus.Message{Body: []byte(sid), SessionID: ptr(sid)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	sr, err := client.AcceptNextSessionForQueue(ctx, "sessions", nil)
	if err != nil {
		t.Fatalf("AcceptNextSession: %v", err)
	}
	if sr.SessionID() != "a" || sr.LockedUntil().IsZero() {
		t.Fatalf("session %q until %v", sr.SessionID(), sr.LockedUntil())
	}
	var sm []*azservicebus.ReceivedMessage
	for len(sm) < 2 {
		msgs, err := sr.ReceiveMessages(ctx, 2-len(sm), nil)
		if err != nil {
			t.Fatal(err)
		}
		sm = append(sm, msgs...)
	}
	for _, m := range sm {
		if *m.SessionID != "a" {
			t.Fatalf("session message %+v", m)
		}
		if err := sr.CompleteMessage(ctx, m, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := sr.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := client.AcceptSessionForQueue(ctx, "sessions", "b", nil); err != nil {
		t.Fatalf("AcceptSession b: %v", err)
	}
}
