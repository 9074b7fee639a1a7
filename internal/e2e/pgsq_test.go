package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azeventgrid"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/jackc/pgx/v5"

	"github.com/batonmq/baton/internal/config"
	"github.com/batonmq/baton/internal/httpapi/queuestorage"
	"github.com/batonmq/baton/internal/server"
	"github.com/batonmq/baton/internal/store/pgstore/pgtest"
)

// sqLine is where `baton serve` prints its Storage Queue endpoint.
var sqLine = regexp.MustCompile(`Storage Queues: (http://\S+/devstoreaccount1)`)

// TestPGSharedStorageQueues: three `baton serve --standby
// --shared-storage-queues` processes on one PostgreSQL schema. Every node
// serves the Storage Queue face itself (none forwards it: with the active
// node stopped, the standbys still put and get), so the official
// Go SDK (azqueue) puts through all three and competing consumers on all
// three share one queue. Midway the active node is killed with SIGKILL.
// Checked: the queue is created through a standby and seen by the others;
// every acknowledged put is received and deleted (and whatever is left is
// a put whose answer died with the killed node); no two claims of one
// message overlap (a message comes back only once the visibility timeout
// of its last claim has passed); a message whose delete was acknowledged
// never comes back; the claims the killed node's consumers held come back
// after their visibility timeout with a higher dequeue count; the queue
// ends empty, as every surviving node reports.
func TestPGSharedStorageQueues(t *testing.T) {
	pg := pgtest.Require(t, pgtest.Options{})
	url := pg.SchemaURL(t)
	tctx, cancel := context.WithTimeout(t.Context(), 120*time.Second)
	defer cancel()

	type sqNode struct {
		p   *proc
		svc *azqueue.ServiceClient
	}
	start := func() *sqNode {
		p := startBaton(t, "--store", url, "--standby", "--shared-storage-queues", "--data-dir", t.TempDir(), "--log-level", "info")
		m := sqLine.FindStringSubmatch(p.out.String())
		if m == nil {
			t.Fatalf("no Storage Queue endpoint in\n%s", p.out.String())
		}
		cs := "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + queuestorage.DevKey + ";QueueEndpoint=" + m[1] + ";"
		svc, err := azqueue.NewServiceClientFromConnectionString(cs, sqClientOptions())
		if err != nil {
			t.Fatal(err)
		}
		return &sqNode{p: p, svc: svc}
	}
	a := start()
	// A becomes the active node (it owns the Service Bus state); B and C
	// stay standbys. For Storage Queues the roles make no difference.
	activeLine := regexp.MustCompile(`active: this node serves`)
	for !activeLine.MatchString(a.p.out.String()) {
		if tctx.Err() != nil {
			t.Fatalf("node A did not become active:\n%s", a.p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	b, c := start(), start()
	nodes := []*sqNode{a, b, c}
	dump := func() string {
		var s strings.Builder
		for i, n := range nodes {
			fmt.Fprintf(&s, "--- node %c:\n%s\n", 'A'+i, n.p.out.String())
		}
		return s.String()
	}

	const queue = "shared-work"
	if _, err := b.svc.NewQueueClient(queue).Create(tctx, nil); err != nil { // through a standby
		t.Fatal(err)
	}
	for _, n := range []*sqNode{a, c} {
		if _, err := n.svc.NewQueueClient(queue).GetProperties(tctx, nil); err != nil {
			t.Fatalf("the queue created through B, read through another node: %v", err)
		}
	}

	// The standbys serve Storage Queues themselves: with the active node
	// stopped (SIGSTOP), a put through B and a get through C still work.
	if err := a.p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	pctx, pcancel := context.WithTimeout(tctx, 20*time.Second)
	if _, err := b.svc.NewQueueClient(queue).EnqueueMessage(pctx, "while A is stopped", nil); err != nil {
		t.Fatalf("put through B while the active node is stopped: %v", err)
	}
	r, err := c.svc.NewQueueClient(queue).DequeueMessages(pctx, nil)
	if err != nil || len(r.Messages) != 1 || *r.Messages[0].MessageText != "while A is stopped" {
		t.Fatalf("get through C while the active node is stopped: %v %v", r.Messages, err)
	}
	if _, err := c.svc.NewQueueClient(queue).DeleteMessage(pctx, *r.Messages[0].MessageID, *r.Messages[0].PopReceipt, nil); err != nil {
		t.Fatal(err)
	}
	pcancel()
	if err := a.p.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}

	const (
		perNode = 200
		vis     = 3 // seconds: a claim the killed node held comes back after it
	)
	led := &sqLedger{acked: map[string]bool{}, claims: map[string][]sqClaim{}, deleted: map[string]bool{}, inDoubt: map[string]bool{}}

	// Producers: one per node, all acknowledged puts are recorded.
	var pwg sync.WaitGroup
	for i, n := range nodes {
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			q := n.svc.NewQueueClient(queue)
			for j := range perNode {
				r, err := q.EnqueueMessage(tctx, fmt.Sprintf("m-%c-%d", 'A'+i, j), nil)
				if err != nil {
					if n == a {
						return // the killed node's last put may fail
					}
					t.Errorf("put through node %c: %v", 'A'+i, err)
					return
				}
				led.ack(*r.Messages[0].MessageID)
			}
		}()
	}

	// Consumers: two per node, until the context ends.
	cctx, stopConsumers := context.WithCancel(tctx)
	defer stopConsumers()
	var cwg sync.WaitGroup
	for i, n := range nodes {
		for k := range 2 {
			cwg.Add(1)
			go func() {
				defer cwg.Done()
				who := fmt.Sprintf("%c%d", 'A'+i, k)
				q := n.svc.NewQueueClient(queue)
				for cctx.Err() == nil {
					got, err := q.DequeueMessages(cctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(16)), VisibilityTimeout: to.Ptr(int32(vis))})
					if err != nil {
						if n == a || cctx.Err() != nil {
							return
						}
						t.Errorf("get through %s: %v", who, err)
						return
					}
					if len(got.Messages) == 0 {
						time.Sleep(20 * time.Millisecond)
						continue
					}
					for _, m := range got.Messages {
						led.claim(*m.MessageID, sqClaim{who: who, until: *m.TimeNextVisible, count: *m.DequeueCount})
						if n == a {
							led.deleting(*m.MessageID) // in doubt if A dies before it answers
						}
						if _, err := q.DeleteMessage(cctx, *m.MessageID, *m.PopReceipt, nil); err != nil {
							if n == a || cctx.Err() != nil {
								return
							}
							// The claim lapsed before the delete (a slow machine): the
							// message comes back and another consumer deletes it.
							led.note(fmt.Sprintf("%s: delete %s: %v", who, *m.MessageID, err))
							continue
						}
						led.delete(*m.MessageID)
					}
				}
			}()
		}
	}

	// Once a third is done, node A takes every message of a second queue
	// (put through C) and is killed while it holds them.
	eventually := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			if tctx.Err() != nil {
				t.Fatalf("timed out waiting for %s (%s; not deleted: %s)\n%s\n%s", what, led.summary(), led.undeleted(), dbState(url), dump())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	eventually("a third of the messages deleted", func() bool { return led.deletedCount() >= perNode })
	const holdQueue, holdN = "shared-held", 5
	if _, err := c.svc.NewQueueClient(holdQueue).Create(tctx, nil); err != nil {
		t.Fatal(err)
	}
	for i := range holdN {
		if _, err := c.svc.NewQueueClient(holdQueue).EnqueueMessage(tctx, fmt.Sprint("held-", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	got, err := a.svc.NewQueueClient(holdQueue).DequeueMessages(tctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(32)), VisibilityTimeout: to.Ptr(int32(vis))})
	if err != nil || len(got.Messages) != holdN {
		t.Fatalf("node A's get of the held messages: %d messages, %v", len(got.Messages), err)
	}
	heldUntil := map[string]time.Time{}
	for _, m := range got.Messages {
		heldUntil[*m.MessageID] = *m.TimeNextVisible
	}
	a.p.kill()
	nodes = nodes[1:]
	pwg.Wait()
	// Every acknowledged put is deleted, or its delete went through A as A
	// died (then it was deleted, or it comes back and is deleted again).
	eventually("every acknowledged put deleted", led.allDeleted)
	// A put or a delete whose answer died with A may have taken effect or
	// not: the consumers go on until the queue is empty.
	eventually("the queue to empty", func() bool {
		props, err := b.svc.NewQueueClient(queue).GetProperties(tctx, nil)
		return err == nil && *props.ApproximateMessagesCount == 0
	})
	stopConsumers()
	cwg.Wait()

	// The held messages come back, through B, once their claim lapses.
	q := b.svc.NewQueueClient(holdQueue)
	back := map[string]bool{}
	eventually("the held messages to come back", func() bool {
		r, err := q.DequeueMessages(tctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(32)), VisibilityTimeout: to.Ptr(int32(60))})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range r.Messages {
			until, ok := heldUntil[*m.MessageID]
			if !ok || back[*m.MessageID] {
				t.Fatalf("unexpected message %s (known %v, again %v)", *m.MessageID, ok, back[*m.MessageID])
			}
			if *m.DequeueCount != 2 || m.TimeNextVisible.Add(-60*time.Second).Before(until.Add(-time.Second)) {
				t.Errorf("held message %s came back with dequeue count %d, hidden until %v; node A held it until %v",
					*m.MessageID, *m.DequeueCount, *m.TimeNextVisible, until)
			}
			back[*m.MessageID] = true
		}
		return len(back) == holdN
	})

	led.check(t, vis*time.Second)
	// What is left can only be a put whose answer died with A (PostgreSQL
	// may even commit it after A died, until its backend notices).
	left := b.svc.NewQueueClient(queue)
	for {
		r, err := left.DequeueMessages(tctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(32)), VisibilityTimeout: to.Ptr(int32(60))})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Messages) == 0 {
			break
		}
		for _, m := range r.Messages {
			if led.isAcked(*m.MessageID) || !strings.HasPrefix(*m.MessageText, "m-A-") || *m.DequeueCount != 1 {
				t.Errorf("message %s (%q, dequeue count %d) left in the queue: not an unanswered put through node A\n%s",
					*m.MessageID, *m.MessageText, *m.DequeueCount, dbState(url))
			}
			t.Logf("left: %q, put through node A as it died", *m.MessageText)
			if _, err := left.DeleteMessage(tctx, *m.MessageID, *m.PopReceipt, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i, n := range nodes {
		props, err := n.svc.NewQueueClient(queue).GetProperties(tctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := *props.ApproximateMessagesCount; got != 0 {
			t.Errorf("node %c reports %d messages left, want 0", 'B'+i, got)
		}
	}
	t.Logf("%s; node A killed while it held %d claims of %s", led.summary(), holdN, holdQueue)
}

// sqClaim is one Get of a message: who got it, until when it is hidden
// (the server's TimeNextVisible) and its dequeue count then.
type sqClaim struct {
	who   string
	until time.Time
	count int64
}

// sqLedger records what the clients of TestPGSharedStorageQueues saw.
type sqLedger struct {
	mu      sync.Mutex
	acked   map[string]bool
	claims  map[string][]sqClaim
	deleted map[string]bool
	inDoubt map[string]bool // deletes sent through node A, which may have died before answering
	notes   []string
}

func (l *sqLedger) ack(id string) { l.mu.Lock(); l.acked[id] = true; l.mu.Unlock() }

func (l *sqLedger) isAcked(id string) bool { l.mu.Lock(); defer l.mu.Unlock(); return l.acked[id] }

func (l *sqLedger) claim(id string, c sqClaim) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.deleted[id] {
		l.notes = append(l.notes, fmt.Sprintf("BUG: %s came back to %s after its delete was acknowledged", id, c.who))
	}
	l.claims[id] = append(l.claims[id], c)
}

func (l *sqLedger) delete(id string) {
	l.mu.Lock()
	l.deleted[id] = true
	delete(l.inDoubt, id) // answered
	l.mu.Unlock()
}

func (l *sqLedger) deleting(id string) { l.mu.Lock(); l.inDoubt[id] = true; l.mu.Unlock() }

func (l *sqLedger) note(s string) { l.mu.Lock(); l.notes = append(l.notes, s); l.mu.Unlock() }

func (l *sqLedger) deletedCount() int { l.mu.Lock(); defer l.mu.Unlock(); return len(l.deleted) }

func (l *sqLedger) allDeleted() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id := range l.acked {
		if !l.deleted[id] && !l.inDoubt[id] {
			return false
		}
	}
	return len(l.acked) > 0
}

// undeleted lists the acknowledged puts not deleted yet, with their claims.
func (l *sqLedger) undeleted() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for id := range l.acked {
		if !l.deleted[id] {
			out = append(out, fmt.Sprintf("%s claims %+v", id, l.claims[id]))
		}
	}
	return strings.Join(out, "; ")
}

// dbState describes the shared tables and the database's sessions, for a
// failure's report.
func dbState(url string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return "database: " + err.Error()
	}
	defer conn.Close(ctx)
	var b strings.Builder
	dumpRows := func(title, sql string) {
		fmt.Fprintf(&b, "--- %s\n", title)
		rows, err := conn.Query(ctx, sql)
		if err != nil {
			fmt.Fprintf(&b, "%v\n", err)
			return
		}
		defer rows.Close()
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				fmt.Fprintf(&b, "%v\n", err)
				return
			}
			fmt.Fprintln(&b, vals...)
		}
	}
	dumpRows("messages (queue, id, visible_at, expires_at, dequeue_count) at "+time.Now().UTC().Format(time.RFC3339Nano),
		`SELECT queue, id::text, visible_at, expires_at, dequeue_count FROM baton_sq_messages ORDER BY queue, visible_at LIMIT 50`)
	dumpRows("row locks and sessions", `SELECT pid, application_name, state, wait_event_type, wait_event, xact_start, left(query, 120)
		FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	return b.String()
}

func (l *sqLedger) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	again := 0
	for _, cs := range l.claims {
		again += len(cs) - 1
	}
	return fmt.Sprintf("%d puts acknowledged, %d messages claimed (%d claims again), %d deleted, %d deletes in doubt through the killed node", len(l.acked), len(l.claims), again, len(l.deleted), len(l.inDoubt))
}

// check verifies that the claims of each message follow one another: a
// claim starts (its hiding time minus the visibility timeout) no earlier
// than the previous claim's hiding time, allowing the one second the
// wire's RFC 1123 times round away; and no message came back after its
// acknowledged delete.
func (l *sqLedger) check(t *testing.T, vis time.Duration) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, n := range l.notes {
		if strings.HasPrefix(n, "BUG") {
			t.Error(n)
		} else {
			t.Log(n)
		}
	}
	for id, cs := range l.claims {
		for i := 1; i < len(cs); i++ {
			if started := cs[i].until.Add(-vis); started.Before(cs[i-1].until.Add(-time.Second)) {
				t.Errorf("message %s: claim %d (%s, hidden until %v) overlaps claim %d (%s, hidden until %v)",
					id, i, cs[i].who, cs[i].until, i-1, cs[i-1].who, cs[i-1].until)
			}
			if cs[i].count <= cs[i-1].count {
				t.Errorf("message %s: dequeue count %d after %d", id, cs[i].count, cs[i-1].count)
			}
		}
	}
}

// TestEGStorageQueueDestinationShared: with shared Storage Queues, an
// Event Grid subscription whose destination is a storage queue writes
// into the shared tables, where the Storage Queue face (any node's) reads
// the events.
func TestEGStorageQueueDestinationShared(t *testing.T) {
	pg := pgtest.Require(t, pgtest.Options{})
	cfg := config.Default()
	cfg.Store, cfg.SharedStorageQueues = pg.SchemaURL(t), true
	cfg.Listen.Mgmt, cfg.Listen.QueueStorage = "127.0.0.1:0", "127.0.0.1:0"
	e := startEG(t, cfg, server.Options{})
	c := ctx(t)
	cs := "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + queuestorage.DevKey +
		";QueueEndpoint=" + e.srv.QueueStorageURL() + "/devstoreaccount1;"
	svc, err := azqueue.NewServiceClientFromConnectionString(cs, sqClientOptions())
	if err != nil {
		t.Fatal(err)
	}
	q := svc.NewQueueClient("egq")
	if _, err := q.Create(c, nil); err != nil {
		t.Fatal(err)
	}
	api := e.srv.MgmtURL() + "/api/v1/eventgrid"
	if st := mcall(t, http.DefaultClient, "PUT", api+"/topics/src", map[string]any{}, nil); st != 201 {
		t.Fatalf("PUT topic: %d", st)
	}
	var out map[string]any
	if st := mcall(t, http.DefaultClient, "PUT", api+"/topics/src/eventSubscriptions/stq", map[string]any{"properties": map[string]any{
		"destination": map[string]any{"endpointType": "StorageQueue", "properties": map[string]any{
			"resourceId": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1", "queueName": "egq",
			"queueMessageTimeToLiveInSeconds": 300}}}}, &out); st != 201 {
		t.Fatalf("PUT subscription: %d %v", st, out)
	}
	var evs []azeventgrid.Event
	for _, id := range []string{"d-1", "d-2", "d-3"} {
		evs = append(evs, genEvent{id: id, typ: "Order.Created", subject: "/orders/" + id}.event())
	}
	if _, err := e.publisher("src").PublishEvents(c, evs, nil); err != nil {
		t.Fatal(err)
	}
	var ids []string
	egWait(t, "3 events in the shared storage queue", func() bool {
		r, err := q.DequeueMessages(c, &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(32)), VisibilityTimeout: to.Ptr(int32(60))})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range r.Messages {
			raw, err := base64.StdEncoding.DecodeString(*m.MessageText)
			var ev map[string]any
			if err != nil || json.Unmarshal(raw, &ev) != nil {
				t.Fatalf("not a base64 event: %q", *m.MessageText)
			}
			ids = append(ids, ev["id"].(string))
			if ttl := m.ExpirationTime.Sub(*m.InsertionTime); ttl != 300*time.Second {
				t.Errorf("message ttl %v, want 300s", ttl)
			}
		}
		return len(ids) >= 3
	})
	slices.Sort(ids)
	if want := []string{"d-1", "d-2", "d-3"}; !slices.Equal(ids, want) {
		t.Fatalf("events %v, want %v", ids, want)
	}
}
