package pgstore_test

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/store/pgstore"
	"github.com/batonmq/baton/internal/store/pgstore/pgtest"
)

// TestDatabaseLost runs senders while the database server is stopped
// (cleanly) and later crashed, each time mid-run, and started again.
// While it is away every send fails with "storage unavailable"; when it is
// back sends succeed again without restarting Baton; and after a restart
// of the store every acknowledged message is there, and nothing that was
// never sent.
func TestDatabaseLost(t *testing.T) {
	srv := pgtest.Require(t, pgtest.Options{})
	cfg := pgstore.Config{DSN: srv.DSN(), Schema: srv.NewSchema(t)}
	st := openStore(t, cfg)
	b, err := broker.New(broker.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := b.Open(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CreateQueue(ctx, "q", broker.QueueProperties{}); err != nil {
		t.Fatal(err)
	}

	// Senders run until stop is closed and they have perSender acks each.
	// They never give up on their own: a sender that stopped while the
	// database was away (after a fixed number of fast failures, say) would
	// leave the wait for sends after the restart hanging.
	const senders, perSender, chanCap = 4, 20, 1 << 16
	var (
		mu       sync.Mutex
		acked    = map[string]bool{}
		failures int
		badErr   error
		wg       sync.WaitGroup
		stop     = make(chan struct{})
	)
	// failed is signalled on every failed send; ok on every success.
	// Signals are dropped when a channel is full: the waits below need
	// only a few, and a sender must never block holding mu.
	failed, ok := make(chan struct{}, chanCap), make(chan struct{}, chanCap)
	dead := make(chan struct{}) // closed when a send fails the wrong way
	var badOnce sync.Once
	signal := func(ch chan struct{}) {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	for i := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			for {
				select {
				case <-stop:
					if n >= perSender {
						return
					}
				default:
				}
				body := fmt.Sprintf("s%d-%d", i, n)
				_, err := b.Send(ctx, "q", []*broker.Message{{Body: []byte(body)}})
				mu.Lock()
				switch {
				case err == nil:
					acked[body] = true
					n++
					signal(ok)
				case broker.CodeOf(err) == broker.CodeStoreUnavailable:
					failures++
					signal(failed)
				default:
					badErr = err
				}
				bad := badErr != nil && err != nil
				mu.Unlock()
				if bad {
					badOnce.Do(func() { close(dead) })
					return
				}
				if err != nil {
					runtime.Gosched() // failures come fast while the database is away
				}
			}
		}()
	}
	waitN := func(ch chan struct{}, n int) {
		for range n {
			select {
			case <-ch:
			case <-dead:
				mu.Lock()
				defer mu.Unlock()
				t.Fatalf("a send failed with %v; want storage unavailable", badErr)
			}
		}
	}
	for _, outage := range []struct {
		name string
		stop func() error
	}{{"stop", srv.Stop}, {"crash", srv.Crash}} {
		waitN(ok, 20)         // mid-run
		for len(failed) > 0 { // left from the previous outage
			<-failed
		}
		inDoubt := st.Stats().InDoubt
		if err := outage.stop(); err != nil {
			t.Fatal(err)
		}
		// Sends fail while the database is away — unless the outage cut a
		// commit off: then the senders whose groups it carried (possibly
		// all of them) wait for its outcome until the database is back,
		// and no more failures come.
		waitFailedOrInDoubt(t, failed, dead, 8, func() bool { return st.Stats().InDoubt > inDoubt })
		mu.Lock()
		if badErr != nil {
			t.Fatalf("a send failed with %v; want storage unavailable", badErr)
		}
		mu.Unlock()
		for len(ok) > 0 { // successes that raced with the stop
			<-ok
		}
		if err := srv.Restart(); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: database restarted", outage.name)
	}
	waitN(ok, 20) // sending resumed after the last restart
	close(stop)
	wg.Wait()
	if badErr != nil {
		t.Fatalf("a send failed with %v; want storage unavailable", badErr)
	}
	if len(acked) < senders*perSender {
		t.Fatalf("%d sends acknowledged after %d failures; want %d or more: sending did not resume", len(acked), failures, senders*perSender)
	}
	t.Logf("%d acknowledged, %d failed while the database was away", len(acked), failures)
	t.Logf("store: %+v", st.Stats())
	b.Close()
	st.Close()

	// A new node (the same as a restarted process) finds every
	// acknowledged message and nothing else: a send whose commit answer
	// was lost waited for the database to say how it ended, so a send
	// reported failed never committed (and a retry never duplicates).
	st2 := openStore(t, cfg)
	defer st2.Close()
	b2, err := broker.New(broker.Config{Store: st2})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	if err := b2.Open(ctx); err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		msgs, err := b2.Receive(ctx, "q", broker.ReceiveOptions{Mode: broker.ReceiveAndDelete, MaxMessages: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			got = append(got, string(m.Body))
		}
	}
	seen := map[string]bool{}
	for _, g := range got {
		if seen[g] {
			t.Fatalf("message %q stored twice", g)
		}
		seen[g] = true
		if !acked[g] {
			t.Fatalf("message %q was stored but its send was not acknowledged", g)
		}
	}
	var lost []string
	for a := range acked {
		if !seen[a] {
			lost = append(lost, a)
		}
	}
	sort.Strings(lost)
	if len(lost) > 0 {
		t.Fatalf("%d acknowledged messages lost: %v", len(lost), lost)
	}
}

// waitFailedOrInDoubt waits for n failures on failed, or for inDoubt to
// report a commit whose outcome is being looked up; dead ends it early.
func waitFailedOrInDoubt(t *testing.T, failed, dead <-chan struct{}, n int, inDoubt func() bool) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for n > 0 {
		select {
		case <-failed:
			n--
		case <-dead:
			return
		case <-tick.C:
			if inDoubt() {
				t.Logf("a commit was cut off by the outage: its senders wait for its outcome")
				return
			}
		}
	}
}
