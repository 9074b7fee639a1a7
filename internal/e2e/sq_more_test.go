package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/sas"

	"github.com/batonmq/baton/internal/config"
	"github.com/batonmq/baton/internal/httpapi/queuestorage"
)

// TestSQGoSDKLocalhostSAS: with QueueEndpoint=http://localhost:…, azqueue
// v1.0.0 does not see path-style addressing and signs the queue SAS over
// "/queue/devstoreaccount1/devstoreaccount1/<queue>" (spec §4.5); Baton
// accepts that form too.
func TestSQGoSDKLocalhostSAS(t *testing.T) {
	e := startSQ(t, memCfg())
	ctx := t.Context()
	local := strings.Replace(e.endpoint, "127.0.0.1", "localhost", 1)
	conn := "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + queuestorage.DevKey + ";QueueEndpoint=" + local + ";"
	svc, err := azqueue.NewServiceClientFromConnectionString(conn, sqClientOptions())
	if err != nil {
		t.Fatal(err)
	}
	q := svc.NewQueueClient("local-q")
	if _, err := q.Create(ctx, nil); err != nil {
		t.Fatal(err)
	}
	u, err := q.GetSASURL(sas.QueuePermissions{Add: true}, time.Now().Add(time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	qs, _ := azqueue.NewQueueClientWithNoCredential(u, sqClientOptions())
	if _, err := qs.EnqueueMessage(ctx, "via localhost SAS", nil); err != nil {
		t.Fatalf("enqueue with a localhost-signed SAS: %v", err)
	}
}

// TestSQConcurrentDequeue: consumers dequeuing at the same time never get
// the same message within its visibility window, and together get them
// all.
func TestSQConcurrentDequeue(t *testing.T) {
	e := startSQ(t, memCfg())
	ctx := t.Context()
	q := e.mustCreate("contended")
	const n = 200
	for i := 0; i < n; i++ {
		if _, err := q.EnqueueMessage(ctx, fmt.Sprint(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := q.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(7)), VisibilityTimeout: to.Ptr(int32(600))})
				if err != nil {
					errs <- err
					return
				}
				if len(got.Messages) == 0 {
					return
				}
				mu.Lock()
				for _, m := range got.Messages {
					seen[*m.MessageText]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != n {
		t.Fatalf("%d distinct messages, want %d", len(seen), n)
	}
	for text, c := range seen {
		if c != 1 {
			t.Fatalf("message %s delivered %d times within one visibility window", text, c)
		}
	}
}

// BenchmarkSQRoundTrip: put → get → delete of a 1 KiB message through
// azqueue over loopback against the durable (fsync) store.
func BenchmarkSQRoundTrip(b *testing.B) {
	cfg := config.Default()
	cfg.DataDir = b.TempDir()
	e := startSQ(b, cfg)
	ctx := b.Context()
	q := e.queue("bench")
	if _, err := q.Create(ctx, nil); err != nil {
		b.Fatal(err)
	}
	body := strings.Repeat("x", 1024)
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := q.EnqueueMessage(ctx, body, nil); err != nil {
			b.Fatal(err)
		}
		got, err := q.DequeueMessage(ctx, nil)
		if err != nil || len(got.Messages) != 1 {
			b.Fatal(err)
		}
		if _, err := q.DeleteMessage(ctx, *got.Messages[0].MessageID, *got.Messages[0].PopReceipt, nil); err != nil {
			b.Fatal(err)
		}
	}
}
