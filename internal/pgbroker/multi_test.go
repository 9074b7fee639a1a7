package pgbroker

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/store/pgstore/pgtest"
)

// deadline fails t when ch yields nothing within d.
func within[T any](t *testing.T, ch <-chan T, d time.Duration, what string) T {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("%s: nothing within %v", what, d)
		panic("unreachable")
	}
}

// Competing receivers on three engines: every message is delivered once
// while its lock is held, and completed exactly once.
func TestMultiCompetingReceivers(t *testing.T) {
	ctx := t.Context()
	schema := pgtest.Shared(t).NewSchema(t)
	engines := []*Engine{open(t, schema, Config{Node: "a"}), open(t, schema, Config{Node: "b"}), open(t, schema, Config{Node: "c"})}
	if _, err := engines[0].CreateQueue(ctx, "q", broker.QueueProperties{LockDuration: time.Minute}); err != nil {
		t.Fatal(err)
	}
	const n = 400
	var (
		mu        sync.Mutex
		delivered = map[int64]int{}
		completed = map[int64]int{}
		failures  []string
	)
	done := make(chan struct{})
	rctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := range 6 {
		e := engines[i%len(engines)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rctx.Err() == nil {
				msgs, err := e.Receive(rctx, "q", broker.ReceiveOptions{MaxMessages: 7, Wait: time.Second})
				if err != nil {
					if rctx.Err() == nil {
						mu.Lock()
						failures = append(failures, err.Error())
						mu.Unlock()
					}
					return
				}
				reqs := make([]broker.SettleRequest, len(msgs))
				mu.Lock()
				for j, m := range msgs {
					delivered[m.SequenceNumber]++
					reqs[j] = broker.SettleRequest{Path: "q", Token: m.LockToken}
				}
				mu.Unlock()
				errs := e.SettleMany(rctx, reqs)
				mu.Lock()
				for j, err := range errs {
					if err != nil {
						failures = append(failures, fmt.Sprintf("complete %d: %v", msgs[j].SequenceNumber, err))
						continue
					}
					completed[msgs[j].SequenceNumber]++
				}
				if len(completed) == n {
					select {
					case <-done:
					default:
						close(done)
					}
				}
				mu.Unlock()
			}
		}()
	}
	// Senders on every engine, in batches.
	var swg sync.WaitGroup
	for i, e := range engines {
		swg.Add(1)
		go func() {
			defer swg.Done()
			for b := range n / len(engines) / 4 {
				batch := make([]*broker.Message, 4)
				for k := range batch {
					batch[k] = msg(fmt.Sprintf("%d-%d-%d", i, b, k))
				}
				if _, err := e.Send(ctx, "q", batch); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	swg.Wait()
	rest := n - n/len(engines)/4*4*len(engines)
	for k := range rest {
		if _, err := engines[0].Send(ctx, "q", []*broker.Message{msg(fmt.Sprint("rest", k))}); err != nil {
			t.Fatal(err)
		}
	}
	within(t, done, 2*time.Minute, "completing every message")
	stop()
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("failures: %q", failures)
	}
	for seq := int64(1); seq <= n; seq++ {
		if delivered[seq] != 1 || completed[seq] != 1 {
			t.Errorf("message %d delivered %d times, completed %d times", seq, delivered[seq], completed[seq])
		}
	}
	if info, err := engines[2].GetEntity("q"); err != nil || info.Total() != 0 {
		t.Fatalf("left: %+v %v", info, err)
	}
}

// Receivers on two engines take turns on one session: the messages come
// in order, each once.
func TestMultiSessionOrder(t *testing.T) {
	ctx := t.Context()
	schema := pgtest.Shared(t).NewSchema(t)
	engines := []*Engine{open(t, schema, Config{Node: "a"}), open(t, schema, Config{Node: "b"})}
	if _, err := engines[0].CreateQueue(ctx, "s", broker.QueueProperties{RequiresSession: true, LockDuration: time.Minute}); err != nil {
		t.Fatal(err)
	}
	const n = 120
	for i := 0; i < n; i += 10 {
		batch := make([]*broker.Message, 10)
		for k := range batch {
			batch[k] = smsg("x", fmt.Sprint(i+k))
		}
		if _, err := engines[(i/10)%2].Send(ctx, "s", batch); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu        sync.Mutex
		order     []int64
		completed int
		errs      []error
	)
	var wg sync.WaitGroup
	for i := range 4 {
		e := engines[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				finished := completed >= n || len(errs) > 0
				mu.Unlock()
				if finished {
					return
				}
				// The next session with messages: another engine's release
				// wakes the waiting accepts.
				l, err := e.AcceptSession(ctx, "s", "", 2*time.Second)
				if broker.CodeOf(err) == broker.CodeTimeout {
					continue
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
				msgs, err := e.Receive(ctx, "s", broker.ReceiveOptions{MaxMessages: 1 + i, Session: l})
				if err == nil {
					mu.Lock()
					for _, m := range msgs {
						order = append(order, m.SequenceNumber)
					}
					mu.Unlock()
					for j, m := range msgs {
						d := broker.Complete
						if j == len(msgs)-1 && i == 3 {
							d = broker.Release // taken again by the next turn
						}
						if err = e.Settle(ctx, "s", m.LockToken, broker.Settlement{Disposition: d}); err != nil {
							break
						}
						mu.Lock()
						if d == broker.Release {
							order = order[:len(order)-1]
						} else {
							completed++
						}
						mu.Unlock()
					}
				}
				if err == nil {
					err = e.ReleaseSession(ctx, "s", l)
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	want := make([]int64, n)
	for i := range want {
		want[i] = int64(i + 1)
	}
	if !slices.Equal(order, want) {
		t.Fatalf("order %v", order)
	}
}

// A receiver waiting on engine B is woken by a send on engine A, with
// neither its clock moving nor polling (PollInterval far away): the
// notification wakes it.
func TestMultiWakeByNotify(t *testing.T) {
	ctx := t.Context()
	schema := pgtest.Shared(t).NewSchema(t)
	a := open(t, schema, Config{Node: "a"})
	// B's clock stands still at A's "now": the messages A sends are
	// available at once by B's clock.
	clk := clock.NewFake(time.Now().Add(time.Minute))
	b := open(t, schema, Config{Node: "b", Clock: clk, PollInterval: 1000 * time.Hour, MaintainInterval: 1000 * time.Hour})
	if _, err := a.CreateQueue(ctx, "q", broker.QueueProperties{}); err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		got := make(chan []*broker.Message, 1)
		go func() {
			m, err := b.Receive(ctx, "q", broker.ReceiveOptions{Wait: time.Hour})
			if err != nil {
				t.Error(err)
			}
			got <- m
		}()
		clk.BlockUntil(3) // maintenance, the receive's deadline and its poll
		if _, err := a.Send(ctx, "q", []*broker.Message{msg(fmt.Sprint(round))}); err != nil {
			t.Fatal(err)
		}
		m := within(t, got, time.Minute, "the woken receive")
		if len(m) != 1 || string(m[0].Body) != fmt.Sprint(round) {
			t.Fatalf("woken receive: %+v", m)
		}
		if err := b.Settle(ctx, "q", m[0].LockToken, broker.Settlement{Disposition: broker.Complete}); err != nil {
			t.Fatal(err)
		}
	}
}

// A lock that lapses makes no announcement: a receiver waiting on another
// engine finds the message when it polls.
func TestMultiPollFindsLapsedLock(t *testing.T) {
	ctx := t.Context()
	schema := pgtest.Shared(t).NewSchema(t)
	clk := clock.NewFake(epoch)
	a := open(t, schema, Config{Node: "a", Clock: clk, MaintainInterval: 1000 * time.Hour})
	b := open(t, schema, Config{Node: "b", Clock: clk, MaintainInterval: 1000 * time.Hour, PollInterval: time.Second})
	if _, err := a.CreateQueue(ctx, "q", broker.QueueProperties{LockDuration: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Send(ctx, "q", []*broker.Message{msg("m")}); err != nil {
		t.Fatal(err)
	}
	if m, err := a.Receive(ctx, "q", broker.ReceiveOptions{}); err != nil || len(m) != 1 {
		t.Fatalf("receive on a: %v %v", m, err)
	}
	got := make(chan []*broker.Message, 1)
	go func() {
		m, err := b.Receive(ctx, "q", broker.ReceiveOptions{Wait: time.Hour})
		if err != nil {
			t.Error(err)
		}
		got <- m
	}()
	clk.BlockUntil(4) // two maintenance timers, the receive's deadline and poll
	for range 4 {     // the lock is held: each poll finds nothing and waits again
		clk.Advance(time.Second)
		clk.BlockUntil(4)
	}
	clk.Advance(time.Second) // the lock lapses; the next poll takes the message
	if m := within(t, got, time.Minute, "the polling receive"); len(m) != 1 || m[0].DeliveryCount != 1 {
		t.Fatalf("polled receive: %+v", m)
	}
}

// The lease holder runs scheduled activation; when it closes, the other
// engine takes the lease and the work over.
func TestMultiLeaseHandOver(t *testing.T) {
	ctx := t.Context()
	schema := pgtest.Shared(t).NewSchema(t)
	clk := clock.NewFake(epoch)
	ticks := map[string]chan maintainResult{"a": make(chan maintainResult, 64), "b": make(chan maintainResult, 64)}
	eng := map[string]*Engine{}
	for _, name := range []string{"a", "b"} {
		ch := ticks[name]
		cfg := Config{Node: name, Clock: clk, MaintainInterval: time.Second, PollInterval: 1000 * time.Hour,
			onMaintain: func(r maintainResult) { ch <- r }}
		cfg.DSN, cfg.Schema = pgtest.Shared(t).DSN(), schema
		e, err := Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		eng[name] = e
	}
	defer eng["b"].Close()
	if _, err := eng["a"].CreateQueue(ctx, "q", broker.QueueProperties{}); err != nil {
		t.Fatal(err)
	}
	if _, err := eng["a"].Schedule(ctx, "q", []*broker.Message{msg("s")}, epoch.Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	clk.BlockUntil(2)
	clk.Advance(time.Second)
	ra, rb := within(t, ticks["a"], time.Minute, "a's tick"), within(t, ticks["b"], time.Minute, "b's tick")
	if ra.Err != nil || rb.Err != nil || ra.Held == rb.Held {
		t.Fatalf("first ticks: a %+v, b %+v", ra, rb)
	}
	holder, other := "a", "b"
	if rb.Held {
		holder, other = "b", "a"
	}
	clk.BlockUntil(2)
	if err := eng[holder].Close(); err != nil {
		t.Fatal(err)
	}
	if holder == "b" {
		eng["b"] = eng["a"] // closed once, by the deferred Close
	}
	clk.BlockUntil(1)
	clk.Advance(30 * time.Second)
	r := within(t, ticks[other], time.Minute, "the other's tick")
	if r.Err != nil || !r.Held || r.Activated != 1 {
		t.Fatalf("after the holder closed: %+v", r)
	}
	m, err := eng[other].Receive(ctx, "q", broker.ReceiveOptions{Mode: broker.ReceiveAndDelete})
	if err != nil || len(m) != 1 || string(m[0].Body) != "s" {
		t.Fatalf("receive: %+v %v", m, err)
	}
}

// A queue deleted on one engine is gone for another engine that has it
// cached; made again under the same name, the other engine sends to the
// new one at once.
func TestMultiEntityDeletedElsewhere(t *testing.T) {
	ctx := t.Context()
	schema := pgtest.Shared(t).NewSchema(t)
	a := open(t, schema, Config{Node: "a", EntityTTL: time.Hour})
	b := open(t, schema, Config{Node: "b", EntityTTL: time.Hour})
	for _, props := range []broker.QueueProperties{{}, {RequiresDuplicateDetection: true}} {
		if _, err := a.CreateQueue(ctx, "q", props); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Send(ctx, "q", []*broker.Message{msg("cached")}); err != nil {
			t.Fatal(err)
		}
		if err := a.DeleteEntity(ctx, "q"); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Send(ctx, "q", []*broker.Message{msg("gone")}); broker.CodeOf(err) != broker.CodeNotFound {
			t.Fatalf("send to a deleted queue (%+v): %v", props, err)
		}
		if _, err := b.Send(ctx, "q", []*broker.Message{msg("gone")}); broker.CodeOf(err) != broker.CodeNotFound {
			t.Fatalf("send again to a deleted queue (%+v): %v", props, err)
		}
		if _, err := a.CreateQueue(ctx, "q", props); err != nil {
			t.Fatal(err)
		}
		if _, err := b.GetEntity("q"); err != nil { // b caches the new one
			t.Fatal(err)
		}
		if err := a.DeleteEntity(ctx, "q"); err != nil {
			t.Fatal(err)
		}
		if _, err := a.CreateQueue(ctx, "q", props); err != nil {
			t.Fatal(err)
		}
		seqs, err := b.Send(ctx, "q", []*broker.Message{msg("again")})
		if err != nil || len(seqs) != 1 || seqs[0] != 1 {
			t.Fatalf("send to the queue made again (%+v): %v %v", props, seqs, err)
		}
		if err := a.DeleteEntity(ctx, "q"); err != nil {
			t.Fatal(err)
		}
	}
}

// An update on one engine applies on another within EntityTTL (by that
// engine's clock).
func TestMultiEntityUpdateApplies(t *testing.T) {
	ctx := t.Context()
	schema := pgtest.Shared(t).NewSchema(t)
	a := open(t, schema, Config{Node: "a"})
	clk := clock.NewFake(time.Now().Add(time.Minute))
	b := open(t, schema, Config{Node: "b", Clock: clk, EntityTTL: 10 * time.Second, MaintainInterval: 1000 * time.Hour})
	if _, err := a.CreateQueue(ctx, "q", broker.QueueProperties{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Send(ctx, "q", []*broker.Message{msg("1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.UpdateQueue(ctx, "q", broker.QueueProperties{Status: broker.StatusSendDisabled}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Send(ctx, "q", []*broker.Message{msg("2")}); err != nil {
		t.Fatalf("within EntityTTL the cached definition holds: %v", err)
	}
	clk.Advance(10 * time.Second)
	if _, err := b.Send(ctx, "q", []*broker.Message{msg("3")}); broker.CodeOf(err) != broker.CodeEntityDisabled {
		t.Fatalf("after EntityTTL: %v", err)
	}
	if info, err := b.GetEntity("q"); err != nil || info.Properties.Status != broker.StatusSendDisabled || info.Active != 2 {
		t.Fatalf("b's view: %+v %v", info, err)
	}
}
