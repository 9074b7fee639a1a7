package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus/admin"
	"github.com/jackc/pgx/v5"

	"github.com/batonmq/baton/internal/store/pgstore/pgtest"
)

// TestPGSharedServiceBus: three `baton serve --standby --shared-service-bus`
// processes on one PostgreSQL schema, every one serving Service Bus queues
// itself from the shared tables (internal/pgbroker; docs/scale-out.md).
// Queues are made through node B's administration API (the official admin
// SDK); a topic message sent through B reaches its filtered subscription,
// received through A; senders (the official Go SDK) on node A, competing peek-lock
// receivers on B and C, session receivers on B and C taking turns on the
// same sessions (order checked across the two). Then kill -9 of B while one
// of its receivers holds locks: they come back after the lock duration,
// with a higher delivery count, on the others. Then kill -9 of the node
// that holds the maintenance lease while a scheduled message waits and
// sends go on through C: another node takes the lease and activates it.
// Checked: every acknowledged send is delivered and the queue ends empty;
// no two peek-locks on one message ever overlap (locks live in the
// database: no node's death ends one early); no message comes back after an
// acknowledged completion.
func TestPGSharedServiceBus(t *testing.T) {
	pg := pgtest.Require(t, pgtest.Options{})
	url := pg.SchemaURL(t)
	tctx, cancel := context.WithTimeout(t.Context(), 150*time.Second)
	defer cancel()

	type sbNode struct {
		*haNode
		admin *admin.Client
		name  string
	}
	newNode := func(name string) *sbNode {
		dir := t.TempDir()
		p := startBaton(t, "--store", url, "--standby", "--shared-service-bus", "--data-dir", dir, "--log-level", "info")
		m := amqpLine.FindStringSubmatch(p.out.String())
		if m == nil {
			t.Fatalf("no AMQP address in\n%s", p.out.String())
		}
		roots := caPool(t, filepath.Join(dir, "tls", "ca.pem"))
		ac, err := admin.NewClientFromConnectionString("Endpoint=sb://"+m[1]+";SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=any;UseDevelopmentEmulator=true",
			&admin.ClientOptions{ClientOptions: azcore.ClientOptions{
				Transport: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}},
			}})
		if err != nil {
			t.Fatal(err)
		}
		return &sbNode{haNode: &haNode{proc: p, amqp: m[1], pid: p.cmd.Process.Pid}, admin: ac, name: name}
	}
	a, b, c := newNode("A"), newNode("B"), newNode("C")
	nodes := []*sbNode{a, b, c}
	led := &haLedger{sent: map[string]bool{}}
	dump := func() string {
		var s strings.Builder
		for _, n := range nodes {
			fmt.Fprintf(&s, "--- node %s (pid %d):\n%s\n", n.name, n.pid, n.proc.out.String())
		}
		return s.String()
	}
	began := time.Now()
	eventually := func(what string, cond func() bool) {
		t.Helper()
		defer func() { t.Logf("%6.2fs %s", time.Since(began).Seconds(), what) }()
		for !cond() {
			if tctx.Err() != nil {
				t.Fatalf("timed out waiting for %s; not completed: %s\n%s", what, led.missing(), dump())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	empty := func(n *sbNode, name string) bool {
		p, err := n.admin.GetQueueRuntimeProperties(tctx, name, nil)
		return err == nil && p.TotalMessageCount == 0
	}

	const lock = 2 * time.Second
	if _, err := b.admin.CreateQueue(tctx, "work", &admin.CreateQueueOptions{Properties: &admin.QueueProperties{
		LockDuration: to.Ptr("PT2S"), MaxDeliveryCount: to.Ptr(int32(100))}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.admin.CreateQueue(tctx, "sess", &admin.CreateQueueOptions{Properties: &admin.QueueProperties{RequiresSession: to.Ptr(true)}}); err != nil {
		t.Fatal(err)
	}
	// Every node sees the queues at once: they are rows, not memory.
	for _, n := range nodes {
		if _, err := n.admin.GetQueue(tctx, "work", nil); err != nil {
			t.Fatalf("queue made through B, read through %s: %v", n.name, err)
		}
	}
	// A topic made through A, a filtered subscription through C, a send
	// through B: the copy is received through A.
	if _, err := a.admin.CreateTopic(tctx, "t", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.admin.CreateSubscription(tctx, "t", "red", &admin.CreateSubscriptionOptions{Properties: &admin.SubscriptionProperties{
		DefaultRule: &admin.RuleProperties{Name: "red", Filter: &admin.SQLFilter{Expression: "color = 'red'"}}}}); err != nil {
		t.Fatal(err)
	}
	topicSender, err := b.client(t).NewSender("t", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, color := range []string{"blue", "red"} {
		if err := topicSender.SendMessage(tctx, &azservicebus.Message{Body: []byte(color), ApplicationProperties: map[string]any{"color": color}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	subReceiver, err := a.client(t).NewReceiverForSubscription("t", "red", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := subReceiver.ReceiveMessages(tctx, 2, nil); err != nil || len(got) != 1 || string(got[0].Body) != "red" {
		t.Fatalf("subscription red through A: %v %v", got, err)
	} else if err := subReceiver.CompleteMessage(tctx, got[0], nil); err != nil {
		t.Fatal(err)
	}

	clientA := a.client(t)
	sessionTurns(t, tctx, clientA, [2]*azservicebus.Client{b.client(t), c.client(t)})

	// Phase 1: senders on A, competing receivers on B and C, and a
	// receiver on B that keeps its locks until B is killed.
	rctx, stopReceivers := context.WithCancel(tctx)
	defer stopReceivers()
	var rwg sync.WaitGroup
	receive := func(name string, n *sbNode) {
		client := n.client(t)
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			led.receiveLoop(rctx, name, client, lock)
		}()
	}
	held := led.holdLocks(t, tctx, clientA, b.client(t), lock)
	receive("B1", b)
	receive("C1", c)
	receive("C2", c)
	var swg sync.WaitGroup
	led.sendPhase1(t, tctx, clientA, &swg)
	eventually("half of phase 1 completed", func() bool { return led.completedCount() >= phase1/2 })
	b.proc.kill() // its receivers' locks stay in the database and lapse
	swg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	eventually("every phase-1 message settled", func() bool { return led.allCompleted() })
	eventually("queue empty after phase 1", func() bool { return empty(c, "work") })
	led.checkHeldCameBack(t, held)

	// Phase 2: sends through C while the maintenance lease holder is
	// killed with a scheduled message pending.
	holderNode := leaseHolder(t, tctx, url, nodes[0].pid, nodes[2].pid)
	var leader, survivor *sbNode
	for _, n := range []*sbNode{a, c} {
		if n.pid == holderNode {
			leader = n
		} else {
			survivor = n
		}
	}
	if leader == nil {
		t.Fatalf("the maintenance lease is held by pid %d, not by A (%d) or C (%d)", holderNode, a.pid, c.pid)
	}
	t.Logf("maintenance lease held by node %s", leader.name)
	schedSender, err := leader.client(t).NewSender("work", nil)
	if err != nil {
		t.Fatal(err)
	}
	due := time.Now().Add(3 * time.Second)
	if _, err := schedSender.ScheduleMessages(tctx, []*azservicebus.Message{{MessageID: to.Ptr("scheduled"), Body: []byte("scheduled")}}, due, nil); err != nil {
		t.Fatal(err)
	}
	const phase2 = 100
	sender2, err := survivor.client(t).NewSender("work", nil)
	if err != nil {
		t.Fatal(err)
	}
	third := make(chan struct{})
	var thirdOnce sync.Once
	swg.Add(1)
	go func() {
		defer swg.Done()
		defer thirdOnce.Do(func() { close(third) })
		for i := range phase2 {
			id := fmt.Sprintf("p2-%d", i)
			if err := sender2.SendMessage(tctx, &azservicebus.Message{MessageID: &id, Body: []byte(id)}, nil); err != nil {
				t.Errorf("send %s through %s: %v", id, survivor.name, err)
				return
			}
			led.acked(id)
			if i == phase2/3 {
				thirdOnce.Do(func() { close(third) })
			}
		}
	}()
	<-third
	killedAt := time.Now()
	leader.proc.kill()
	if !killedAt.Before(due) {
		t.Fatalf("the lease holder was killed after the scheduled time (%v ≥ %v): the test proves nothing about the hand-over", killedAt, due)
	}
	led.acked("scheduled")
	swg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	eventually("every acknowledged message settled after the lease holder died", func() bool { return led.allCompleted() })
	eventually("queue empty at the end", func() bool { return empty(survivor, "work") })
	stopReceivers()
	rwg.Wait()
	if h := leaseHolder(t, tctx, url, survivor.pid, survivor.pid); h != survivor.pid {
		t.Fatalf("the maintenance lease is held by pid %d after the holder died, not by %s (%d)", h, survivor.name, survivor.pid)
	}
	r := led.receiptsOf("scheduled")
	if len(r) == 0 || r[0].lockStart.Before(due.Add(-time.Second)) {
		t.Fatalf("scheduled message receipts %+v; due %v", r, due)
	}
	led.check(t, time.Time{}, time.Time{}) // no overlap at all: no node's death ends a lock early
	n, redelivered := led.stats()
	t.Logf("3 active nodes: %d acknowledged sends, all completed; %d deliveries (%d again after a lock lapsed); "+
		"%d messages held on B came back after their locks; the scheduled message came at %v (due %v)",
		n, led.deliveries(), redelivered, len(held), r[0].lockStart.Format("15:04:05.000"), due.Format("15:04:05.000"))
	if err := survivor.proc.stop(); err != nil {
		t.Fatalf("clean stop of %s: %v\n%s", survivor.name, err, survivor.proc.out.String())
	}
}

// leaseHolder waits until the Service Bus maintenance lease is held, unexpired,
// by one of the pids, and returns it.
func leaseHolder(t *testing.T, ctx context.Context, url string, pids ...int) int {
	t.Helper()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for {
		var holder string
		err := conn.QueryRow(ctx, `SELECT holder FROM baton_leases WHERE name = 'sb-maintain' AND expires_at > now()`).Scan(&holder)
		if err == nil {
			_, pid, _ := strings.Cut(holder[strings.LastIndexByte(holder, ':'):], ":")
			p, _ := strconv.Atoi(pid)
			for _, want := range pids {
				if p == want {
					return p
				}
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("no node among %v holds the maintenance lease (last: %q, %v)", pids, holder, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
