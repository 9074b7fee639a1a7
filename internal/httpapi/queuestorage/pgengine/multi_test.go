package pgengine

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/httpapi/queuestorage/enginetest"
	"github.com/batonmq/baton/internal/store/pgstore/pgtest"
)

// TestTwoEnginesClaimEachMessageOnce runs many concurrent Gets from two
// engines on one schema (two nodes) over 2,000 messages: each message is
// claimed exactly once while it is invisible, and each is deleted with
// its receipt.
func TestTwoEnginesClaimEachMessageOnce(t *testing.T) {
	const (
		total   = 2000
		workers = 8
		q       = "devstoreaccount1/shared"
	)
	schema := pgtest.Shared(t).NewSchema(t)
	clk := clock.NewFake(enginetest.Start)
	engines := []*Engine{
		open(t, schema, Config{Clock: clk, Node: "node-a"}),
		open(t, schema, Config{Clock: clk, Node: "node-b"}),
	}
	ctx := context.Background()
	if err := engines[0].CreateQueue(ctx, q, nil); err != nil {
		t.Fatal(err)
	}
	// Put from both nodes at once.
	var wg sync.WaitGroup
	putErrs := make(chan error, 2*workers)
	for w := range 2 * workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := engines[w%2]
			for i := w; i < total; i += 2 * workers {
				if _, err := e.Put(ctx, q, []byte(fmt.Sprint(i)), 0, -1); err != nil {
					putErrs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(putErrs)
	for err := range putErrs {
		t.Fatal(err)
	}

	type claim struct {
		id, receipt string
		node        int
	}
	var (
		mu      sync.Mutex
		claims  = map[string]claim{}
		twice   []string
		getErrs []error
	)
	for w := range 2 * workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := engines[w%2]
			n := 1 + w%5*7 // batches of 1, 8, 15, 22, 29
			for {
				ms, err := e.Get(ctx, q, n, time.Hour)
				if err == nil && len(ms) == 0 {
					// Nothing left to claim, or only rows other Gets hold
					// right now: stop when nothing at all is visible.
					var peek []string
					pm, perr := e.Peek(ctx, q, 1)
					for _, m := range pm {
						peek = append(peek, m.ID)
					}
					if perr == nil && len(peek) == 0 {
						return
					}
					err = perr
				}
				if err != nil {
					mu.Lock()
					getErrs = append(getErrs, err)
					mu.Unlock()
					return
				}
				mu.Lock()
				for _, m := range ms {
					if _, ok := claims[m.ID]; ok {
						twice = append(twice, m.ID)
					}
					claims[m.ID] = claim{id: m.ID, receipt: m.Receipt, node: w % 2}
					if m.DequeueCount != 1 {
						twice = append(twice, m.ID+fmt.Sprintf(" (dequeue count %d)", m.DequeueCount))
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(getErrs) > 0 {
		t.Fatalf("Get: %v", getErrs)
	}
	if len(twice) > 0 {
		t.Fatalf("%d messages claimed twice while invisible: %v", len(twice), twice[:min(len(twice), 10)])
	}
	if len(claims) != total {
		t.Fatalf("claimed %d distinct messages; want %d", len(claims), total)
	}
	perNode := [2]int{}
	for _, c := range claims {
		perNode[c.node]++
	}
	t.Logf("claims per node: %v", perNode)
	if c, err := engines[1].Queue(ctx, q); err != nil || c.ApproximateCount != total {
		t.Fatalf("count while all are invisible: %+v, %v", c, err)
	}

	// Delete with the receipts, each through the other node.
	work := make(chan claim)
	delErrs := make(chan error, 2*workers)
	for w := range 2 * workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				if err := engines[1-c.node].DeleteMessage(ctx, q, c.id, c.receipt); err != nil {
					delErrs <- fmt.Errorf("worker %d: %w", w, err)
					return
				}
			}
		}()
	}
	for _, c := range claims {
		work <- c
	}
	close(work)
	wg.Wait()
	close(delErrs)
	for err := range delErrs {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Hour)
	for _, e := range engines {
		qu, err := e.Queue(ctx, q)
		if err != nil || qu.ApproximateCount != 0 {
			t.Fatalf("after the deletes: %+v, %v", qu, err)
		}
		if ms, err := e.Peek(ctx, q, 32); err != nil || len(ms) != 0 {
			t.Fatalf("Peek after the deletes: %d messages, %v", len(ms), err)
		}
	}
}

// TestClosed: every operation after Close is CodeClosed.
func TestClosed(t *testing.T) {
	e := open(t, pgtest.Shared(t).NewSchema(t), Config{Node: "closed"})
	ctx := context.Background()
	if err := e.CreateQueue(ctx, "a/q", nil); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := e.Get(ctx, "a/q", 1, time.Second)
	if broker.CodeOf(err) != broker.CodeClosed {
		t.Fatalf("Get after Close: %v", err)
	}
	if err := e.CreateQueue(ctx, "a/r", nil); broker.CodeOf(err) != broker.CodeClosed {
		t.Fatalf("CreateQueue after Close: %v", err)
	}
	if qs, err := e.Queues(ctx, ""); broker.CodeOf(err) != broker.CodeClosed {
		t.Fatalf("Queues after Close: %v %v", qs, err)
	}
}

// TestDeleteRacesGetAcrossNodes: node A holds receipts of messages that
// are visible again (visibility 0) and deletes them while node B gets
// them. For each message exactly one wins: A's Delete succeeds and B
// never gets it, or B gets it (a second dequeue) and A's receipt is stale.
func TestDeleteRacesGetAcrossNodes(t *testing.T) {
	const (
		total = 500
		q     = "devstoreaccount1/race"
	)
	schema := pgtest.Shared(t).NewSchema(t)
	clk := clock.NewFake(enginetest.Start)
	a := open(t, schema, Config{Clock: clk, Node: "node-a"})
	b := open(t, schema, Config{Clock: clk, Node: "node-b"})
	ctx := context.Background()
	if err := a.CreateQueue(ctx, q, nil); err != nil {
		t.Fatal(err)
	}
	for i := range total {
		if _, err := a.Put(ctx, q, []byte(fmt.Sprint(i)), 0, -1); err != nil {
			t.Fatal(err)
		}
	}
	held, err := a.Get(ctx, q, total, 0) // claimed, and visible again at once
	if err != nil || len(held) != total {
		t.Fatalf("Get: %d messages, %v", len(held), err)
	}

	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		deleted  = map[string]bool{}
		gotByB   = map[string]int64{}
		failures []error
	)
	fail := func(err error) {
		mu.Lock()
		failures = append(failures, err)
		mu.Unlock()
	}
	for w := range 4 {
		wg.Add(1)
		go func() { // node A deletes with the receipts of its Get
			defer wg.Done()
			for i := w; i < total; i += 4 {
				m := held[i]
				err := a.DeleteMessage(ctx, q, m.ID, m.Receipt)
				switch broker.CodeOf(err) {
				case broker.CodeUnknown:
					if err != nil {
						fail(err)
						return
					}
					mu.Lock()
					deleted[m.ID] = true
					mu.Unlock()
				case broker.CodeMessageNotFound:
				default:
					fail(err)
					return
				}
			}
		}()
		wg.Add(1)
		go func() { // node B gets until nothing is visible
			defer wg.Done()
			for {
				ms, err := b.Get(ctx, q, 8, time.Hour)
				if err != nil {
					fail(err)
					return
				}
				if len(ms) == 0 {
					pm, err := b.Peek(ctx, q, 1)
					if err != nil {
						fail(err)
						return
					}
					if len(pm) == 0 {
						return
					}
					continue
				}
				mu.Lock()
				for _, m := range ms {
					if _, dup := gotByB[m.ID]; dup {
						failures = append(failures, fmt.Errorf("node B got %s twice", m.ID))
					}
					gotByB[m.ID] = m.DequeueCount
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatal(failures)
	}
	for _, m := range held {
		d, got := deleted[m.ID], gotByB[m.ID]
		switch {
		case d && got != 0:
			t.Fatalf("%s: node A deleted it and node B got it (dequeue count %d)", m.ID, got)
		case !d && got != 2:
			t.Fatalf("%s: node A's Delete failed, but node B did not get it after A (dequeue count %d)", m.ID, got)
		}
	}
	qu, err := b.Queue(ctx, q)
	if err != nil || qu.ApproximateCount != int64(len(gotByB)) {
		t.Fatalf("count %+v, %v; want %d (the ones node B holds)", qu, err, len(gotByB))
	}
	t.Logf("deleted by A: %d, got by B: %d", len(deleted), len(gotByB))
}

// TestPoolSize: the pool holds 16 connections unless the connection
// string's pool_max_conns or Config.MaxConns says otherwise.
func TestPoolSize(t *testing.T) {
	srv := pgtest.Shared(t)
	schema := srv.NewSchema(t)
	for _, tc := range []struct {
		dsn  string
		max  int32
		want int32
	}{
		{srv.DSN(), 0, 16},
		{srv.DSN() + " pool_max_conns=3", 0, 3},
		{srv.URL() + "&pool_max_conns=5", 0, 5},
		{srv.DSN() + " pool_max_conns=3", 7, 7},
	} {
		e, err := Open(context.Background(), Config{DSN: tc.dsn, Schema: schema, MaxConns: tc.max, Node: "pool"})
		if err != nil {
			t.Fatal(err)
		}
		if got := e.pool.Config().MaxConns; got != tc.want {
			t.Errorf("%q with MaxConns %d: pool of %d; want %d", tc.dsn, tc.max, got, tc.want)
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
