package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/httpapi/mgmt"
)

// TestCrashKill9 runs `baton serve` on a data directory, drives concurrent
// senders and peek-lock receivers through its management API, kills it
// with SIGKILL after a random number of acknowledged operations, restarts it
// and checks the promise: every acknowledged send is still there unless its
// completion was acknowledged, and no message whose completion was
// acknowledged comes back. BATON_CRASH_CYCLES sets the cycles (default 20).
func TestCrashKill9(t *testing.T) {
	cycles := 20
	if s := os.Getenv("BATON_CRASH_CYCLES"); s != "" {
		cycles, _ = strconv.Atoi(s)
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("BATON_CRASH_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (replay with BATON_CRASH_SEED)", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	dataDir := t.TempDir()
	ledger := newLedger()
	var totalSent, totalCompleted int
	for cycle := range cycles {
		p := startBaton(t, "--data-dir", dataDir)
		c, err := mgmt.NewClient(p.mgmtURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx := t.Context()
		if cycle == 0 {
			if _, err := c.CreateQueue(ctx, "crash", mgmt.QueueProperties{}); err != nil {
				t.Fatal(err)
			}
		}
		ledger.verify(t, ctx, c, cycle)
		killAfter := 20 + r.IntN(200)
		sent, completed := drive(ctx, c, ledger, cycle, killAfter, p.kill)
		totalSent += sent
		totalCompleted += completed
	}
	// Last restart: verify once more, then drain everything cleanly.
	p := startBaton(t, "--data-dir", dataDir)
	c, _ := mgmt.NewClient(p.mgmtURL, nil)
	ledger.verify(t, t.Context(), c, cycles)
	if err := p.stop(); err != nil {
		t.Fatalf("clean stop: %v", err)
	}
	t.Logf("%d kill -9 cycles: %d sends acknowledged, %d completions acknowledged, 0 lost, 0 resurrected",
		cycles, totalSent, totalCompleted)
}

// ledger records what the server acknowledged.
type ledger struct {
	mu        sync.Mutex
	sent      map[string]bool // acknowledged sends
	completed map[string]bool // acknowledged completions
	attempted map[string]bool // completions sent without an answer
	sending   map[string]bool // sends without an answer
}

func newLedger() *ledger {
	return &ledger{sent: map[string]bool{}, completed: map[string]bool{}, attempted: map[string]bool{}, sending: map[string]bool{}}
}

// verify peeks the whole queue and checks it against the ledger.
func (l *ledger) verify(t *testing.T, ctx context.Context, c *mgmt.Client, cycle int) {
	t.Helper()
	present := map[string]bool{}
	from := int64(1)
	for {
		msgs, err := c.Peek(ctx, "crash", mgmt.PeekOptions{From: from, Max: 1000})
		if err != nil {
			t.Fatalf("cycle %d: peek: %v", cycle, err)
		}
		for _, m := range msgs {
			if m.Body == nil {
				t.Fatalf("cycle %d: message %d has no text body", cycle, m.SequenceNumber)
			}
			if present[*m.Body] {
				t.Fatalf("cycle %d: %q is in the queue twice", cycle, *m.Body)
			}
			present[*m.Body] = true
			from = m.SequenceNumber + 1
		}
		if len(msgs) < 1000 {
			break
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for body := range l.sent {
		switch {
		case l.completed[body] && present[body]:
			t.Fatalf("cycle %d: %q came back after its completion was acknowledged", cycle, body)
		case !l.completed[body] && !l.attempted[body] && !present[body]:
			t.Fatalf("cycle %d: acknowledged send %q is lost", cycle, body)
		}
	}
	for body := range present {
		if !l.sent[body] && !l.sending[body] {
			t.Fatalf("cycle %d: %q is in the queue but was never sent", cycle, body)
		}
	}
	// A send cut off by the kill either made it (it is a sent message from
	// now on) or did not (forget it).
	for body := range l.sending {
		if present[body] {
			l.sent[body] = true
		}
		delete(l.sending, body)
	}
	// What was attempted and is gone is settled now; what is present stays.
	for body := range l.attempted {
		if present[body] {
			delete(l.attempted, body)
		} else {
			l.completed[body] = true
		}
	}
}

// drive runs 4 senders and 2 receivers and kills the server with SIGKILL
// when killAfter operations were acknowledged, while the others are still in
// flight.
func drive(ctx context.Context, c *mgmt.Client, l *ledger, cycle, killAfter int, kill func()) (sent, completed int) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	ops := 0
	count := func(n int) bool {
		mu.Lock()
		defer mu.Unlock()
		ops += n
		if ops == killAfter {
			kill()
			cancel()
		}
		return ops < killAfter
	}
	var wg sync.WaitGroup
	for s := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ctx.Err() == nil; n++ {
				body := fmt.Sprintf("c%d-s%d-%d", cycle, s, n)
				l.mu.Lock()
				l.sending[body] = true
				l.mu.Unlock()
				if _, err := c.Send(ctx, "crash", mgmt.SendMessage{Body: &body}); err != nil {
					return
				}
				l.mu.Lock()
				delete(l.sending, body)
				l.sent[body] = true
				sent++
				l.mu.Unlock()
				if !count(1) {
					return
				}
			}
		}()
	}
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				wait := mgmt.Duration(50 * time.Millisecond)
				msgs, err := c.Receive(ctx, "crash", mgmt.ReceiveRequest{Max: 5, Wait: &wait})
				if err != nil {
					return
				}
				for _, m := range msgs {
					l.mu.Lock()
					l.attempted[*m.Body] = true
					l.mu.Unlock()
					if err := c.Complete(ctx, "crash", m.LockToken, false); err != nil {
						return
					}
					l.mu.Lock()
					delete(l.attempted, *m.Body)
					l.completed[*m.Body] = true
					completed++
					l.mu.Unlock()
					if !count(1) {
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	return sent, completed
}
