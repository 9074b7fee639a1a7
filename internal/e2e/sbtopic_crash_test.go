package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus/admin"
)

// TestSBTopicCrashKill9 runs `baton serve`, sends batches to a topic
// through azservicebus while a receiver completes copies from one
// subscription, kills Baton with SIGKILL mid-stream, restarts it and checks
// with the SDK:
//
//   - every acknowledged send has its copies in every subscription whose
//     filter matches it (unless the copy's completion was acknowledged);
//   - no copy whose completion was acknowledged comes back;
//   - a topic send is atomic: a message present in one subscription (even
//     one whose send was never acknowledged) is in every matching one;
//   - an action's copy keeps its changes, and every body is intact.
//
// BATON_TOPIC_CRASH_CYCLES sets the cycles (default 3).
func TestSBTopicCrashKill9(t *testing.T) {
	cycles := 3
	if s := os.Getenv("BATON_TOPIC_CRASH_CYCLES"); s != "" {
		cycles, _ = strconv.Atoi(s)
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	dataDir := t.TempDir()
	st := &topicCrashState{acked: map[string]int64{}, completed: map[string]bool{}, tried: map[string]bool{}}
	for cycle := range cycles + 1 {
		p := startBaton(t, "--data-dir", dataDir, "--amqp-addr", "127.0.0.1:0", "--log-level", "info")
		client, ac := topicCrashClients(t, p)
		if cycle == 0 {
			topicCrashEntities(t, ac)
		}
		st.verify(t, client, cycle)
		if cycle == cycles {
			client.Close(context.Background())
			if err := p.stop(); err != nil {
				t.Fatalf("clean stop: %v", err)
			}
			break
		}
		sent, done := st.drive(t, client, cycle, 3+rng.IntN(15), p.kill)
		t.Logf("cycle %d: %d sends acknowledged, %d completions acknowledged, then kill -9", cycle, sent, done)
		client.Close(context.Background())
	}
}

// topicCrashState is what the SDK saw acknowledged.
type topicCrashState struct {
	mu        sync.Mutex
	acked     map[string]int64 // message id → n (the property the filters read)
	completed map[string]bool  // completion of the "all" copy acknowledged
	tried     map[string]bool  // completion of the "all" copy attempted
}

func topicCrashClients(t *testing.T, p *proc) (*azservicebus.Client, *admin.Client) {
	t.Helper()
	var connStr, caFile string
	for _, line := range strings.Split(p.out.String(), "\n") {
		if m := connStrLine.FindStringSubmatch(line); m != nil {
			connStr = m[1]
		}
		if m := caLine.FindStringSubmatch(line); m != nil {
			caFile = m[1]
		}
	}
	if connStr == "" || caFile == "" {
		t.Fatalf("no connection string or CA in the output:\n%s", p.out.String())
	}
	client, err := azservicebus.NewClientFromConnectionString(connStr, &azservicebus.ClientOptions{
		RetryOptions: azservicebus.RetryOptions{MaxRetries: -1}}) // fail at once when Baton dies
	if err != nil {
		t.Fatal(err)
	}
	ac, err := admin.NewClientFromConnectionString(connStr, &admin.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: caPool(t, caFile)}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return client, ac
}

func topicCrashEntities(t *testing.T, ac *admin.Client) {
	t.Helper()
	c := ctx(t)
	if _, err := ac.CreateTopic(c, "crash", nil); err != nil {
		t.Fatal(err)
	}
	for name, rule := range map[string]*admin.RuleProperties{
		"all":  nil,
		"even": {Name: "even", Filter: &admin.SQLFilter{Expression: "n % 2 = 0"}},
		"act":  {Name: "act", Filter: &admin.TrueFilter{}, Action: &admin.SQLAction{Expression: "SET tagged = 'yes'"}},
	} {
		if _, err := ac.CreateSubscription(c, "crash", name, &admin.CreateSubscriptionOptions{
			Properties: &admin.SubscriptionProperties{DefaultRule: rule}}); err != nil {
			t.Fatal(err)
		}
	}
}

// drive sends batches of 10 and completes copies from "all" until
// killAfter batches are acknowledged, then kills Baton with the sender and
// the receiver still running.
func (st *topicCrashState) drive(t *testing.T, client *azservicebus.Client, cycle, killAfter int, kill func()) (sent, completed int) {
	t.Helper()
	c, cancel := context.WithCancel(ctx(t))
	defer cancel()
	sender, err := client.NewSender("crash", nil)
	if err != nil {
		t.Fatal(err)
	}
	recv, err := client.NewReceiverForSubscription("crash", "all", nil)
	if err != nil {
		t.Fatal(err)
	}
	st.mu.Lock()
	completedBefore := len(st.completed)
	st.mu.Unlock()
	batches := make(chan struct{}, 1024)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for k := 0; c.Err() == nil; k++ {
			batch, err := sender.NewMessageBatch(c, nil)
			if err != nil {
				return
			}
			ids := map[string]int64{}
			for i := range 10 {
				id := fmt.Sprintf("c%d-%d-%d", cycle, k, i)
				n := int64(k*10 + i)
				if err := batch.AddMessage(&azservicebus.Message{MessageID: to.Ptr(id), Body: []byte(id),
					ApplicationProperties: map[string]any{"n": n}}, nil); err != nil {
					return
				}
				ids[id] = n
			}
			if err := sender.SendMessageBatch(c, batch, nil); err != nil {
				return
			}
			st.mu.Lock()
			for id, n := range ids {
				st.acked[id] = n
			}
			st.mu.Unlock()
			batches <- struct{}{}
		}
	}()
	go func() {
		defer wg.Done()
		for c.Err() == nil {
			msgs, err := recv.ReceiveMessages(c, 10, nil)
			if err != nil {
				return
			}
			for _, m := range msgs {
				st.mu.Lock()
				st.tried[m.MessageID] = true
				st.mu.Unlock()
				if err := recv.CompleteMessage(c, m, nil); err != nil {
					return
				}
				st.mu.Lock()
				st.completed[m.MessageID] = true
				st.mu.Unlock()
			}
		}
	}()
	for range killAfter {
		select {
		case <-batches:
		case <-c.Done():
			t.Fatal("the sends did not progress")
		}
	}
	kill()
	cancel()
	wg.Wait()
	st.mu.Lock()
	defer st.mu.Unlock()
	prefix := fmt.Sprintf("c%d-", cycle)
	for id := range st.acked {
		if strings.HasPrefix(id, prefix) {
			sent++
		}
	}
	return sent, len(st.completed) - completedBefore
}

// peekIDs returns every message of a subscription by id (peek sees locked
// and available messages alike; right after a restart nothing is locked).
func peekIDs(t *testing.T, client *azservicebus.Client, sub string) map[string]*azservicebus.ReceivedMessage {
	t.Helper()
	c := ctx(t)
	r, err := client.NewReceiverForSubscription("crash", sub, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(c)
	out := map[string]*azservicebus.ReceivedMessage{}
	for {
		msgs, err := r.PeekMessages(c, 250, nil)
		if err != nil {
			t.Fatalf("peek %s: %v", sub, err)
		}
		if len(msgs) == 0 {
			return out
		}
		for _, m := range msgs {
			if _, dup := out[m.MessageID]; dup {
				t.Fatalf("%s holds %s twice", sub, m.MessageID)
			}
			out[m.MessageID] = m
		}
	}
}

func (st *topicCrashState) verify(t *testing.T, client *azservicebus.Client, cycle int) {
	t.Helper()
	all, even, act := peekIDs(t, client, "all"), peekIDs(t, client, "even"), peekIDs(t, client, "act")
	st.mu.Lock()
	defer st.mu.Unlock()
	// Acknowledged sends are everywhere they match.
	for id, n := range st.acked {
		if act[id] == nil {
			t.Fatalf("cycle %d: acknowledged %s is missing from act", cycle, id)
		}
		if n%2 == 0 && even[id] == nil {
			t.Fatalf("cycle %d: acknowledged %s (n=%d) is missing from even", cycle, id, n)
		}
		if all[id] == nil && !st.tried[id] {
			t.Fatalf("cycle %d: acknowledged %s is missing from all and was never completed", cycle, id)
		}
	}
	// Acknowledged completions stay done.
	for id := range st.completed {
		if all[id] != nil {
			t.Fatalf("cycle %d: %s came back in all after its completion was acknowledged", cycle, id)
		}
	}
	// Atomic sends: act (TrueFilter) holds every message that exists at all.
	for id, m := range act {
		if string(m.Body) != id || m.ApplicationProperties["tagged"] != "yes" || m.ApplicationProperties["RuleName"] != "act" {
			t.Fatalf("cycle %d: act's copy of %s: body %q properties %v", cycle, id, m.Body, m.ApplicationProperties)
		}
		n, _ := m.ApplicationProperties["n"].(int64)
		if n%2 == 0 && even[id] == nil {
			t.Fatalf("cycle %d: %s (n=%d) is in act but not in even: the topic send was not atomic", cycle, id, n)
		}
		if all[id] == nil && !st.tried[id] {
			t.Fatalf("cycle %d: %s is in act but not in all and was never completed: the topic send was not atomic", cycle, id)
		}
	}
	for _, sub := range []map[string]*azservicebus.ReceivedMessage{all, even} {
		for id, m := range sub {
			if act[id] == nil {
				t.Fatalf("cycle %d: %s is in a subscription but not in act: the topic send was not atomic", cycle, id)
			}
			if string(m.Body) != id {
				t.Fatalf("cycle %d: copy of %s has body %q", cycle, id, m.Body)
			}
		}
	}
	var limbo []string // completion attempted, not acknowledged, and the copy is gone
	for id := range st.tried {
		if !st.completed[id] && all[id] == nil {
			limbo = append(limbo, id)
		}
	}
	t.Logf("cycle %d verified: all %d, even %d, act %d copies; %d completions acknowledged, %d attempted and applied without an acknowledgement %v",
		cycle, len(all), len(even), len(act), len(st.completed), len(limbo), limbo)
}
