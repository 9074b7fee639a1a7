package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"github.com/batonmq/baton/internal/httpapi/mgmt"
	"github.com/batonmq/baton/internal/server"
	"github.com/batonmq/baton/internal/store/pgstore/pgtest"
)

// TestPGHA: three `baton serve --standby` processes on one PostgreSQL
// schema (active/standby with connection forwarding, docs/scale-out.md).
// The first becomes active; the others forward every connection to it.
// Senders (the official Go SDK) on node A, competing peek-lock receivers
// on B and C, session receivers on B and C taking turns; then kill -9 of
// the forwarding node B while one of its receivers holds locks, and kill
// -9 of the active node
// A while a sender and receivers on C run and a scheduled message waits.
// Checked: every acknowledged send is delivered, and the queue ends empty
// (every message completed; a completion whose answer died with node B
// either took effect or its message came back and was completed); no two
// peek-locks on one message overlap while the node that granted them
// lives (lock intervals by the server's LockedUntil); a message whose
// completion was acknowledged never comes back; session order holds
// across nodes; the locks B's receiver held come back after the lock
// duration with a higher delivery count; C takes over (stats through C
// name it, with the next epoch), the SDK clients on C carry on, and the
// scheduled message, due after A died, is activated by C.
func TestPGHA(t *testing.T) {
	pg := pgtest.Require(t, pgtest.Options{})
	url := pg.SchemaURL(t)
	tctx, cancel := context.WithTimeout(t.Context(), 120*time.Second)
	defer cancel()

	node := func() *haNode {
		p := startBaton(t, "--store", url, "--standby", "--data-dir", t.TempDir(), "--log-level", "info")
		if !strings.Contains(p.out.String(), "as a standby node") {
			t.Fatalf("standby banner missing:\n%s", p.out.String())
		}
		m := amqpLine.FindStringSubmatch(p.out.String())
		if m == nil {
			t.Fatalf("no AMQP address in\n%s", p.out.String())
		}
		c, err := mgmt.NewClient(p.mgmtURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		return &haNode{proc: p, amqp: m[1], mgmt: c, pid: p.cmd.Process.Pid}
	}
	a := node()
	// A is the only node: it becomes active.
	a.waitActive(t, tctx, a, 0)
	b, c := node(), node()
	var epochA int64
	for _, n := range []*haNode{a, b, c} {
		epochA = n.waitActive(t, tctx, a, 0) // b and c forward the management API to a
	}
	for _, n := range []*haNode{b, c} {
		if st, code := n.node(t, "/api/v1/node"); code != 200 || st.Role != "standby" || st.Active == nil || st.Active.Epoch != epochA ||
			!strings.HasSuffix(st.Active.Node, ":"+strconv.Itoa(a.pid)) {
			t.Fatalf("GET /api/v1/node on a standby: %d %+v", code, st)
		}
		if _, code := n.node(t, "/api/v1/node/active"); code != 503 {
			t.Fatalf("GET /api/v1/node/active on a standby: %d", code)
		}
	}
	nodes := []*haNode{a, b, c}
	led := &haLedger{sent: map[string]bool{}}
	dump := func() string {
		var s strings.Builder
		for i, n := range nodes {
			fmt.Fprintf(&s, "--- node %c (pid %d):\n%s\n", 'A'+i, n.pid, n.proc.out.String())
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

	const lock = 2 * time.Second
	admin := b.mgmt // queues created through a forwarding node
	if _, err := admin.CreateQueue(tctx, "work", mgmt.QueueProperties{LockDuration: to.Ptr(mgmt.Duration(lock)), MaxDeliveryCount: to.Ptr(int32(100))}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateQueue(tctx, "sess", mgmt.QueueProperties{RequiresSession: to.Ptr(true)}); err != nil {
		t.Fatal(err)
	}

	// Sessions: sent through A; received by a session receiver on B and
	// one on C taking turns: every session's messages arrive in order
	// across the two nodes.
	clientA := a.client(t)
	clientB := b.client(t)
	sessionTurns(t, tctx, clientA, [2]*azservicebus.Client{clientB, c.client(t)})

	// Phase 1: senders on A, competing receivers on B and C, and a
	// receiver on B that keeps its locks until B is killed.
	rctx, stopReceivers := context.WithCancel(tctx)
	defer stopReceivers()
	var rwg sync.WaitGroup
	clientC := c.client(t)
	receive := func(name string, n *haNode) {
		client := n.client(t) // a connection each: one's recovery does not disturb the others
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			led.receiveLoop(rctx, name, client, lock)
		}()
	}
	// First a receiver on B takes a few messages (it is the only one yet)
	// and keeps their locks until B is killed.
	held := led.holdLocks(t, tctx, clientA, b.client(t), lock)
	receive("B1", b)
	receive("C1", c)
	receive("C2", c)
	var swg sync.WaitGroup
	led.sendPhase1(t, tctx, clientA, &swg)
	eventually("half of phase 1 completed", func() bool { return led.completedCount() >= phase1/2 })
	// kill -9 of a forwarding node: its receivers' locks stay on A and
	// lapse after the lock duration.
	b.proc.kill()
	swg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	eventually("every phase-1 message settled", func() bool { return led.allCompleted() })
	eventually("queue empty after phase 1", func() bool { return queueEmpty(tctx, c.mgmt, "work") })
	led.checkHeldCameBack(t, held)

	// Phase 2: a sender on C (forwarded to A), then kill -9 of A with a
	// scheduled message pending: C takes over and the clients on C carry on.
	const phase2 = 150
	senderC, err := clientC.NewSender("work", nil)
	if err != nil {
		t.Fatal(err)
	}
	third := make(chan struct{}) // a third of phase 2 acknowledged, or the sender gave up
	var thirdOnce sync.Once
	swg.Add(1)
	go func() {
		defer swg.Done()
		defer thirdOnce.Do(func() { close(third) })
		attempt := 0
		for i := 0; i < phase2; {
			attempt++
			id := fmt.Sprintf("p2-%d-a%d", i, attempt) // an attempt that fails may still have been stored: its own id
			if err := senderC.SendMessage(tctx, &azservicebus.Message{MessageID: &id, Body: []byte(id)}, nil); err != nil {
				if tctx.Err() != nil {
					t.Errorf("send through C: %v", err)
					return
				}
				time.Sleep(50 * time.Millisecond)
				continue
			}
			led.acked(id)
			if i++; i == phase2/3 {
				thirdOnce.Do(func() { close(third) })
			}
		}
	}()
	<-third
	if t.Failed() {
		t.FailNow()
	}
	schedSender, err := clientA.NewSender("work", nil)
	if err != nil {
		t.Fatal(err)
	}
	due := time.Now().Add(3 * time.Second)
	if _, err := schedSender.ScheduleMessages(tctx, []*azservicebus.Message{{MessageID: to.Ptr("scheduled"), Body: []byte("scheduled")}}, due, nil); err != nil {
		t.Fatal(err)
	}
	killedAt := time.Now()
	a.proc.kill()
	killDone := time.Now()
	if !killedAt.Before(due) {
		t.Fatalf("node A was killed after the scheduled time (%v ≥ %v): the test proves nothing about the hand-over", killedAt, due)
	}
	led.acked("scheduled")
	epochC := c.waitActive(t, tctx, c, epochA)
	t.Logf("%6.2fs C is active (A killed at %.2fs)", time.Since(began).Seconds(), killedAt.Sub(began).Seconds())
	if epochC <= epochA {
		t.Fatalf("epoch %d after %d", epochC, epochA)
	}
	// The stats say active as soon as C owns the store; its health check
	// follows once its faces serve (a moment later under load).
	for {
		st, code := c.node(t, "/api/v1/node/active")
		if code == 200 {
			if st.Role != "active" || st.Epoch != epochC {
				t.Fatalf("GET /api/v1/node/active on the new active node: %d %+v", code, st)
			}
			break
		}
		if tctx.Err() != nil {
			t.Fatalf("GET /api/v1/node/active on the new active node: still %d %+v", code, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	swg.Wait()
	t.Logf("%6.2fs phase-2 sends acknowledged", time.Since(began).Seconds())
	if t.Failed() {
		t.FailNow()
	}
	eventually("every acknowledged message settled after the take-over", func() bool { return led.allCompleted() })
	eventually("queue empty after the take-over", func() bool { return queueEmpty(tctx, c.mgmt, "work") })
	stopReceivers()
	rwg.Wait()

	r := led.receiptsOf("scheduled")
	if len(r) == 0 || r[0].lockStart.Before(due.Add(-time.Second)) {
		t.Fatalf("scheduled message receipts %+v; due %v", r, due)
	}
	led.check(t, killedAt, killDone)
	n, redelivered := led.stats()
	t.Logf("3 nodes: %d acknowledged sends, all completed; %d deliveries (%d again after a lock lapsed or a node died); "+
		"take-over epoch %d → %d; %d messages held on B came back after their locks", n, led.deliveries(), redelivered, epochA, epochC, len(held))
	if err := c.proc.stop(); err != nil {
		t.Fatalf("clean stop of the new active node: %v\n%s", err, c.proc.out.String())
	}
	if !regexp.MustCompile(`active: this node serves`).MatchString(c.proc.out.String()) {
		t.Fatalf("node C did not log its take-over:\n%s", c.proc.out.String())
	}
}

// sessionTurns sends 3 sessions of 20 messages through sendClient to queue
// "sess"; a session receiver on each of the two clients (two nodes) takes
// turns, each accepting the next available session, taking up to 5 of its
// messages and releasing it: every session's messages must arrive in
// order across the two nodes.
func sessionTurns(t *testing.T, tctx context.Context, sendClient *azservicebus.Client, sessionClients [2]*azservicebus.Client) {
	t.Helper()
	sessSender, err := sendClient.NewSender("sess", nil)
	if err != nil {
		t.Fatal(err)
	}
	const sessions, perSession = 3, 20
	for i := range perSession {
		for s := range sessions {
			m := &azservicebus.Message{SessionID: to.Ptr("s" + strconv.Itoa(s)), Body: []byte(strconv.Itoa(i))}
			if err := sessSender.SendMessage(tctx, m, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	next := map[string]int{} // session → the message due next
	byNode := [2]int{}
	for turn, got := 0, 0; got < sessions*perSession; turn++ {
		if tctx.Err() != nil {
			t.Fatalf("sessions: %d of %d received; next due %v", got, sessions*perSession, next)
		}
		node := turn % 2
		actx, cancel := context.WithTimeout(tctx, 5*time.Second)
		sr, err := sessionClients[node].AcceptNextSessionForQueue(actx, "sess", nil)
		cancel()
		if err != nil {
			continue // no session free yet: the next turn tries again
		}
		rctx, cancel := context.WithTimeout(tctx, 2*time.Second)
		msgs, _ := sr.ReceiveMessages(rctx, 5, nil)
		cancel()
		for _, m := range msgs {
			id := sr.SessionID()
			if n, _ := strconv.Atoi(string(m.Body)); n != next[id] {
				t.Fatalf("session %s through node %c: message %d where %d was due", id, 'B'+node, n, next[id])
			}
			if err := sr.CompleteMessage(tctx, m, nil); err != nil {
				t.Fatal(err)
			}
			next[id]++
			got++
			byNode[node]++
		}
		sr.Close(tctx)
	}
	t.Logf("sessions: %d messages in order, %d through B and %d through C", sessions*perSession, byNode[0], byNode[1])
}

// holdLocks sends 5 messages through sender and receives them on holder,
// which keeps their locks (until its node is killed), and records them.
func (l *haLedger) holdLocks(t *testing.T, ctx context.Context, sender *azservicebus.Client, holder *azservicebus.Client, lock time.Duration) []*azservicebus.ReceivedMessage {
	t.Helper()
	recv, err := holder.NewReceiverForQueue("work", nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sender.NewSender("work", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		id := fmt.Sprintf("p1-held-%d", i)
		if err := s.SendMessage(ctx, &azservicebus.Message{MessageID: &id, Body: []byte(id)}, nil); err != nil {
			t.Fatal(err)
		}
		l.acked(id)
	}
	held, err := recv.ReceiveMessages(ctx, 5, nil)
	if err != nil || len(held) == 0 {
		t.Fatalf("holding receiver on B: %v, %v", held, err)
	}
	for _, m := range held {
		l.record("B-hold", m, lock, false)
	}
	return held
}

// phase1 is how many messages the two phase-1 senders send.
const phase1 = 200

// sendPhase1 starts two senders through client that send phase1 messages
// between them (ids p1-N), each recorded once acknowledged; swg counts
// them.
func (l *haLedger) sendPhase1(t *testing.T, ctx context.Context, client *azservicebus.Client, swg *sync.WaitGroup) {
	t.Helper()
	for w := range 2 {
		sender, err := client.NewSender("work", nil)
		if err != nil {
			t.Fatal(err)
		}
		swg.Add(1)
		go func() {
			defer swg.Done()
			for i := w; i < phase1; i += 2 {
				id := fmt.Sprintf("p1-%d", i)
				if err := sender.SendMessage(ctx, &azservicebus.Message{MessageID: &id, Body: []byte(id)}, nil); err != nil {
					t.Errorf("send %s through A: %v", id, err)
					return
				}
				l.acked(id)
			}
		}()
	}
}

// checkHeldCameBack checks that every held message was delivered again
// after its lock ended, with a higher delivery count.
func (l *haLedger) checkHeldCameBack(t *testing.T, held []*azservicebus.ReceivedMessage) {
	t.Helper()
	for _, m := range held {
		var again []receipt
		for _, r := range l.receiptsOf(m.MessageID) {
			if r.seq == *m.SequenceNumber {
				again = append(again, r)
			}
		}
		if len(again) < 2 {
			t.Fatalf("message %s held on B was not delivered again: %+v", m.MessageID, again)
		}
		if again[1].lockStart.Before(*m.LockedUntil) || again[1].deliveryCount <= m.DeliveryCount {
			t.Fatalf("message %s held on B until %v came back at %v with delivery count %d (was %d)",
				m.MessageID, *m.LockedUntil, again[1].lockStart, again[1].deliveryCount, m.DeliveryCount)
		}
	}
}

// queueEmpty: no message left in the queue, in any state (a completion
// whose answer was lost with a node either took effect or its message
// came back and was completed again).
func queueEmpty(ctx context.Context, c *mgmt.Client, name string) bool {
	q, err := c.GetQueue(ctx, name)
	return err == nil && q.ActiveMessageCount+q.ScheduledMessageCount+q.DeferredMessageCount+q.DeadLetterMessageCount == 0
}

// haNode is one `baton serve --standby` process.
type haNode struct {
	proc *proc
	amqp string
	mgmt *mgmt.Client
	pid  int
}

// client is an SDK client on the node's AMQP port, retrying briskly.
func (n *haNode) client(t *testing.T) *azservicebus.Client {
	t.Helper()
	c, err := azservicebus.NewClientFromConnectionString("Endpoint=sb://"+n.amqp+
		";SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=any;UseDevelopmentEmulator=true",
		&azservicebus.ClientOptions{RetryOptions: azservicebus.RetryOptions{MaxRetries: 20, RetryDelay: 100 * time.Millisecond, MaxRetryDelay: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = c.Close(ctx)
	})
	return c
}

// node asks the node itself for its role (GET /api/v1/node…) on a
// connection of its own.
func (n *haNode) node(t *testing.T, path string) (server.NodeStatus, int) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(n.proc.mgmtURL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st server.NodeStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return st, resp.StatusCode
}

// waitActive waits until the stats through n name active as the active
// node with an epoch above after, and returns the epoch.
func (n *haNode) waitActive(t *testing.T, ctx context.Context, active *haNode, after int64) int64 {
	t.Helper()
	for {
		st, err := n.mgmt.Stats(ctx)
		if err == nil && st.Role == "active" && st.Standby && strings.HasSuffix(st.Node, ":"+strconv.Itoa(active.pid)) && st.Epoch > after {
			return st.Epoch
		}
		if ctx.Err() != nil {
			t.Fatalf("node %d never answered as active (pid %d, epoch > %d): %+v, %v\n%s", n.pid, active.pid, after, st, err, active.proc.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// receipt is one delivery of a message to a receiver.
type receipt struct {
	receiver           string
	seq                int64
	lockStart, lockEnd time.Time // by the server's clock: LockedUntil - LockDuration, LockedUntil
	deliveryCount      uint32
	completed          bool // the completion was acknowledged
	// settleUnknown: the completion failed, perhaps only its answer (the
	// node it went through died): the message may be gone or come back.
	settleUnknown bool
}

// haLedger records acknowledged sends and every delivery.
type haLedger struct {
	mu       sync.Mutex
	sent     map[string]bool
	receipts map[string][]*receipt
	state    map[string]string // receiver → what it does, since when
}

func (l *haLedger) note(receiver, what string) {
	l.mu.Lock()
	if l.state == nil {
		l.state = map[string]string{}
	}
	l.state[receiver] = time.Now().Format("15:04:05.000 ") + what
	l.mu.Unlock()
}

func (l *haLedger) acked(id string) {
	l.mu.Lock()
	l.sent[id] = true
	l.mu.Unlock()
}

func (l *haLedger) record(receiver string, m *azservicebus.ReceivedMessage, lock time.Duration, completed bool) *receipt {
	r := &receipt{receiver: receiver, seq: *m.SequenceNumber, lockEnd: *m.LockedUntil, lockStart: m.LockedUntil.Add(-lock), deliveryCount: m.DeliveryCount, completed: completed}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.receipts == nil {
		l.receipts = map[string][]*receipt{}
	}
	l.receipts[m.MessageID] = append(l.receipts[m.MessageID], r)
	return r
}

func (l *haLedger) settled(r *receipt, ok bool) {
	l.mu.Lock()
	r.completed, r.settleUnknown = ok, !ok
	l.mu.Unlock()
}

// receiveLoop receives and completes until ctx ends, riding out node
// deaths (a receiver the SDK gave up on is replaced).
func (l *haLedger) receiveLoop(ctx context.Context, name string, client *azservicebus.Client, lock time.Duration) {
	var recv *azservicebus.Receiver
	for ctx.Err() == nil {
		if recv == nil {
			var err error
			if recv, err = client.NewReceiverForQueue("work", nil); err != nil {
				time.Sleep(50 * time.Millisecond)
				continue
			}
		}
		l.note(name, "receiving")
		msgs, err := recv.ReceiveMessages(ctx, 10, nil)
		l.note(name, fmt.Sprintf("got %d, %v", len(msgs), err))
		if err != nil {
			recv.Close(context.Background())
			recv = nil
			time.Sleep(50 * time.Millisecond)
			continue
		}
		failed := false
		for _, m := range msgs {
			r := l.record(name, m, lock, false)
			if failed {
				continue // not settled: it must come back
			}
			l.note(name, "completing "+m.MessageID)
			// A message received on a connection that has since died
			// cannot be settled: the SDK retries that for a minute with
			// its fixed settlement backoff, recreating the connection the
			// receiver shares. Give up sooner; it comes back (its lock
			// lapses, or died with the node that held it).
			cctx, cancel := context.WithTimeout(ctx, lock+time.Second)
			err := recv.CompleteMessage(cctx, m, nil)
			cancel()
			l.note(name, fmt.Sprintf("completed %s: %v", m.MessageID, err))
			l.settled(r, err == nil)
			failed = err != nil // the rest of the batch is on the same (dead) link
		}
		if failed {
			recv.Close(context.Background())
			recv = nil
		}
	}
	if recv != nil {
		c, cancel := context.WithTimeout(context.Background(), time.Second)
		recv.Close(c)
		cancel()
	}
}

func (l *haLedger) completedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for id := range l.sent {
		for _, r := range l.receipts[id] {
			if r.completed || r.settleUnknown {
				n++
				break
			}
		}
	}
	return n
}

// missing lists acknowledged messages not settled yet, with their
// receipts.
func (l *haLedger) missing() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for id := range l.sent {
		done := false
		var rs []string
		for _, r := range l.receipts[id] {
			done = done || r.completed || r.settleUnknown
			rs = append(rs, fmt.Sprintf("%s@%s", r.receiver, r.lockStart.Format("15:04:05.000")))
		}
		if !done {
			out = append(out, id+rs2(rs))
		}
	}
	sort.Strings(out)
	return strings.Join(out, " ") + fmt.Sprintf("; receivers %q", l.state)
}

func rs2(rs []string) string {
	if len(rs) == 0 {
		return ""
	}
	return "[" + strings.Join(rs, ",") + "]"
}

func (l *haLedger) allCompleted() bool {
	l.mu.Lock()
	n := len(l.sent)
	l.mu.Unlock()
	return l.completedCount() == n
}

func (l *haLedger) receiptsOf(id string) []receipt {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []receipt
	for _, r := range l.receipts[id] {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].lockStart.Before(out[j].lockStart) })
	return out
}

func (l *haLedger) deliveries() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, rs := range l.receipts {
		n += len(rs)
	}
	return n
}

func (l *haLedger) stats() (sent, redelivered int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, rs := range l.receipts {
		if len(rs) > 1 {
			redelivered += len(rs) - 1
		}
	}
	return len(l.sent), redelivered
}

// check: per message, no two locks overlap unless the node that granted
// the first died (granted by A, lost with it), and
// nothing is delivered again after an acknowledged completion.
func (l *haLedger) check(t *testing.T, killStart, killDone time.Time) {
	t.Helper()
	l.mu.Lock()
	ids := make([]string, 0, len(l.receipts))
	for id := range l.receipts {
		ids = append(ids, id)
	}
	l.mu.Unlock()
	var errs []error
	for _, id := range ids {
		// A send whose answer was lost with node A may have been stored
		// twice by the SDK's own retry: the same id, two messages.
		bySeq := map[int64][]receipt{}
		for _, r := range l.receiptsOf(id) {
			bySeq[r.seq] = append(bySeq[r.seq], r)
		}
		for _, rs := range bySeq {
			errs = append(errs, overlaps(id, rs, killStart, killDone)...)
		}
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// overlaps checks the receipts of one message (by lock start).
func overlaps(id string, rs []receipt, killStart, killDone time.Time) (errs []error) {
	for i := 1; i < len(rs); i++ {
		prev, cur := rs[i-1], rs[i]
		// A lock granted by A (before A was gone) and one granted by C
		// (after A was killed): the first died with A.
		lostWithA := prev.lockStart.Before(killDone) && cur.lockStart.After(killStart)
		if cur.lockStart.Before(prev.lockEnd) && !lostWithA {
			errs = append(errs, fmt.Errorf("message %s delivered to %s (lock from %v) while %s held it (until %v)",
				id, cur.receiver, cur.lockStart, prev.receiver, prev.lockEnd))
		}
		if prev.completed {
			errs = append(errs, fmt.Errorf("message %s delivered to %s after %s's completion was acknowledged", id, cur.receiver, prev.receiver))
		}
	}
	return errs
}

// TestPGHAStandbyErrors: --standby without a PostgreSQL store is refused,
// and a standby whose database cannot be reached at start exits non-zero
// with a clear error that does not show the password.
func TestPGHAStandbyErrors(t *testing.T) {
	dir := t.TempDir()
	off := []string{"--data-dir", dir, "--mgmt-addr", "127.0.0.1:0", "--amqp-addr", "off", "--amqps-addr", "off", "--queue-addr", "off", "--eventgrid-addr", "off"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--standby"}, "needs a PostgreSQL store"},
		{[]string{"--standby", "--store", "postgres://baton:s3cret@/baton?host=" + filepath.Join(dir, "nosocket")}, "PostgreSQL store"},
	} {
		cmd := exec.Command(binary, append(append([]string{"serve"}, c.args...), off...)...)
		out, err := cmd.CombinedOutput()
		if err == nil || cmd.ProcessState.ExitCode() == 0 {
			t.Fatalf("baton serve %v started:\n%s", c.args, out)
		}
		if s := string(out); !strings.Contains(s, c.want) || strings.Contains(s, "s3cret") {
			t.Fatalf("baton serve %v: unclear error (or the password shown):\n%s", c.args, s)
		}
	}
}
