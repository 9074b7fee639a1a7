package brokertest

import (
	"encoding/base64"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

// The storage queue section of the suite (broker.StorageQueues): Azure
// Queue Storage semantics, spec storage-queue.md §2.9–§2.14 and §6.

func testStorageQueue(t *testing.T, f Factory) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, f Factory)
	}{
		{"Entity", testSQEntity},
		{"PutGetDelete", testSQPutGetDelete},
		{"PutReceipt", testSQPutReceipt},
		{"ReceiptLifetime", testSQReceiptLifetime},
		{"Update", testSQUpdate},
		{"Ordering", testSQOrdering},
		{"Peek", testSQPeek},
		{"TTL", testSQTTL},
		{"Clear", testSQClear},
		{"Restart", testSQRestart},
		{"BadReceipts", testSQBadReceipts},
		{"WrongKind", testSQWrongKind},
		{"Counts", testSQCounts},
		{"StoreFailure", testSQStoreFailure},
		{"ConcurrentGets", testSQConcurrentGets},
		{"ConcurrentMixed", testSQConcurrentMixed},
		{"Model", testSQModel},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, f) })
	}
}

// sqEnv drives a broker's storage queues, failing the test on errors.
type sqEnv struct {
	*Env
	q *broker.StorageQueues
}

func newSQEnv(t *testing.T, f Factory) *sqEnv {
	env := NewEnv(t, f)
	return &sqEnv{Env: env, q: env.Broker.StorageQueues()}
}

// restart restarts the broker and picks up its new StorageQueues.
func (s *sqEnv) restart() {
	s.T.Helper()
	s.Restart()
	s.q = s.Broker.StorageQueues()
}

func (s *sqEnv) create(name string, md map[string]string) *broker.EntityInfo {
	s.T.Helper()
	info, err := s.q.Create(s.Ctx, name, md)
	if err != nil {
		s.T.Fatalf("Create(%q): %v", name, err)
	}
	return info
}

func (s *sqEnv) put(name, text string, vis, ttl time.Duration) *broker.SQMessage {
	s.T.Helper()
	m, err := s.q.Put(s.Ctx, name, []byte(text), vis, ttl)
	if err != nil {
		s.T.Fatalf("Put(%q, %q): %v", name, text, err)
	}
	return m
}

func (s *sqEnv) get(name string, n int, vis time.Duration) []*broker.SQMessage {
	s.T.Helper()
	ms, err := s.q.Get(s.Ctx, name, n, vis)
	if err != nil {
		s.T.Fatalf("Get(%q, %d): %v", name, n, err)
	}
	return ms
}

func (s *sqEnv) peek(name string, n int) []*broker.SQMessage {
	s.T.Helper()
	ms, err := s.q.Peek(s.Ctx, name, n)
	if err != nil {
		s.T.Fatalf("Peek(%q, %d): %v", name, n, err)
	}
	return ms
}

func (s *sqEnv) update(name string, m *broker.SQMessage, vis time.Duration, text []byte) *broker.SQMessage {
	s.T.Helper()
	u, err := s.q.Update(s.Ctx, name, m.ID, m.Receipt, vis, text)
	if err != nil {
		s.T.Fatalf("Update(%q, %s): %v", name, m.ID, err)
	}
	return u
}

func (s *sqEnv) del(name string, m *broker.SQMessage) {
	s.T.Helper()
	if err := s.q.Delete(s.Ctx, name, m.ID, m.Receipt); err != nil {
		s.T.Fatalf("Delete(%q, %s): %v", name, m.ID, err)
	}
}

// wantTexts checks the texts of msgs, in order.
func wantTexts(t *testing.T, what string, msgs []*broker.SQMessage, want ...string) {
	t.Helper()
	got := make([]string, len(msgs))
	for i, m := range msgs {
		got[i] = string(m.Text)
	}
	if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Fatalf("%s = %q; want %q", what, got, want)
	}
}

// wantActive checks a storage queue's approximate message count.
func (s *sqEnv) wantActive(name string, n int64) {
	s.T.Helper()
	if c := s.Counts(name); c.Active != n {
		s.T.Fatalf("approximate count of %q = %d; want %d", name, c.Active, n)
	}
}

func isUUID(s string) bool {
	_, err := broker.ParseLockToken(s)
	return err == nil && s == strings.ToLower(s)
}

func testSQEntity(t *testing.T, f Factory) {
	s := newSQEnv(t, f)
	b := s.Broker
	md := map[string]string{"owner": "ops", "tier": "1"}
	info := s.create("acct/orders", md)
	md["owner"] = "changed after Create" // Create copied it
	if info.Kind != broker.KindStorageQueue || info.Kind.String() != "storagequeue" || info.Name != "acct/orders" {
		t.Fatalf("Create = %+v", info.Entity)
	}
	if !maps.Equal(info.Metadata, map[string]string{"owner": "ops", "tier": "1"}) || !info.CreatedAt.Equal(Epoch) {
		t.Fatalf("Create metadata %v at %v", info.Metadata, info.CreatedAt)
	}
	_, err := s.q.Create(s.Ctx, "acct/orders", nil)
	WantCode(t, err, broker.CodeEntityExists)
	s.Queue("sbq", broker.QueueProperties{})
	_, err = s.q.Create(s.Ctx, "SBQ", nil)
	WantCode(t, err, broker.CodeEntityExists)
	s.create("acct/bare", map[string]string{})
	if info, err := b.GetEntity("acct/bare"); err != nil || info.Metadata != nil {
		t.Fatalf("empty metadata: %v, %v; want nil", info, err)
	}
	if got := names(b.ListEntities(broker.KindStorageQueue)); !slices.Equal(got, []string{"acct/bare", "acct/orders"}) {
		t.Fatalf("ListEntities(storage queues) = %v", got)
	}
	if got := names(b.ListEntities(broker.KindQueue)); !slices.Equal(got, []string{"sbq"}) {
		t.Fatalf("ListEntities(queues) = %v", got)
	}

	s.Advance(time.Minute)
	if err := s.q.SetMetadata(s.Ctx, "acct/orders", map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	info, err = b.GetEntity("acct/orders")
	if err != nil || !maps.Equal(info.Metadata, map[string]string{"k": "v"}) || !info.UpdatedAt.Equal(Epoch.Add(time.Minute)) {
		t.Fatalf("after SetMetadata: %+v, %v", info, err)
	}
	info.Metadata["k"] = "mutated by a caller" // infos are copies
	s.restart()
	if info, err := s.Broker.GetEntity("acct/orders"); err != nil || !maps.Equal(info.Metadata, map[string]string{"k": "v"}) {
		t.Fatalf("metadata after restart: %+v, %v", info, err)
	}
	if err := s.q.SetMetadata(s.Ctx, "acct/orders", nil); err != nil {
		t.Fatal(err)
	}
	s.restart()
	if info, err := s.Broker.GetEntity("acct/orders"); err != nil || info.Metadata != nil || info.Kind != broker.KindStorageQueue {
		t.Fatalf("cleared metadata after restart: %+v, %v", info, err)
	}
	WantCode(t, s.q.SetMetadata(s.Ctx, "acct/missing", nil), broker.CodeNotFound)

	s.put("acct/orders", "x", 0, 0)
	if err := s.Broker.DeleteEntity(s.Ctx, "acct/orders"); err != nil {
		t.Fatal(err)
	}
	_, err = s.Broker.GetEntity("acct/orders")
	WantCode(t, err, broker.CodeNotFound)
	_, err = s.q.Put(s.Ctx, "acct/orders", []byte("x"), 0, 0)
	WantCode(t, err, broker.CodeNotFound)
	// Re-created at once, empty.
	s.create("acct/orders", nil)
	s.wantActive("acct/orders", 0)
	wantTexts(t, "Get from the re-created queue", s.get("acct/orders", 32, time.Second))
	_, err = s.q.Create(s.Ctx, "", nil)
	WantCode(t, err, broker.CodeInvalidArgument)
}

func testSQPutGetDelete(t *testing.T, f Factory) {
	s := newSQEnv(t, f)
	s.create("a/q", nil)
	p := s.put("a/q", "hello", 0, 0)
	if !isUUID(p.ID) || p.Receipt == "" || p.DequeueCount != 0 {
		t.Fatalf("Put = %+v", p)
	}
	if !p.InsertedAt.Equal(Epoch) || !p.VisibleAt.Equal(Epoch) || !p.ExpiresAt.Equal(Epoch.Add(7*24*time.Hour)) {
		t.Fatalf("Put times: inserted %v visible %v expires %v", p.InsertedAt, p.VisibleAt, p.ExpiresAt)
	}
	if _, err := base64.RawURLEncoding.DecodeString(p.Receipt); err != nil || strings.ContainsAny(p.Receipt, "+/=") {
		t.Fatalf("receipt %q is not URL-safe base64 without padding", p.Receipt)
	}
	s.Advance(time.Second)
	got := s.get("a/q", 32, 30*time.Second)
	wantTexts(t, "Get", got, "hello")
	g := got[0]
	if g.ID != p.ID || g.DequeueCount != 1 || g.Receipt == p.Receipt || g.Receipt == "" {
		t.Fatalf("Get = %+v (put %+v)", g, p)
	}
	if !g.VisibleAt.Equal(Epoch.Add(31*time.Second)) || !g.InsertedAt.Equal(Epoch) || !g.ExpiresAt.Equal(p.ExpiresAt) {
		t.Fatalf("Get times: %+v", g)
	}
	wantTexts(t, "second Get", s.get("a/q", 32, 30*time.Second))
	s.wantActive("a/q", 1)
	// The Put's receipt was superseded by the Get's.
	WantCode(t, s.q.Delete(s.Ctx, "a/q", p.ID, p.Receipt), broker.CodeMessageNotFound)
	// Ids compare case-insensitively (they are GUIDs).
	if err := s.q.Delete(s.Ctx, "a/q", strings.ToUpper(g.ID), g.Receipt); err != nil {
		t.Fatal(err)
	}
	WantCode(t, s.q.Delete(s.Ctx, "a/q", g.ID, g.Receipt), broker.CodeMessageNotFound)
	s.wantActive("a/q", 0)
	s.Advance(time.Minute)
	wantTexts(t, "Get after Delete", s.get("a/q", 32, 30*time.Second))

	// Empty text; n ≤ 0 is one message; visibility 0 is allowed.
	s.put("a/q", "", 0, 0)
	s.put("a/q", "second", 0, 0)
	s.Advance(time.Second)
	got = s.get("a/q", 0, 0)
	wantTexts(t, "Get(0)", got, "")
	if got[0].Text == nil || !got[0].VisibleAt.Equal(s.Broker.Now()) {
		t.Fatalf("empty text: %+v", got[0])
	}
	// Visibility 0: visible again at once, behind "second" (its VisibleAt
	// is now, later than "second"'s).
	wantTexts(t, "Get after a zero visibility", s.get("a/q", 32, time.Minute), "second", "")
	if got := s.peek("a/q", 32); len(got) != 0 {
		t.Fatalf("Peek after Get = %d messages", len(got))
	}

	// Dequeue counts go up by one per Get.
	for i := range 3 {
		s.Advance(time.Minute)
		ms := s.get("a/q", 32, time.Second)
		// Both are visible again at the same instant: insertion order.
		wantTexts(t, "Get", ms, "", "second")
		if ms[0].DequeueCount != int64(i+3) || ms[1].DequeueCount != int64(i+2) {
			t.Fatalf("Get %d: dequeue counts %d and %d", i, ms[0].DequeueCount, ms[1].DequeueCount)
		}
	}

	_, err := s.q.Get(s.Ctx, "a/q", 1, -time.Second)
	WantCode(t, err, broker.CodeInvalidArgument)
	_, err = s.q.Get(s.Ctx, "a/q", 1, 8*24*time.Hour)
	WantCode(t, err, broker.CodeInvalidArgument)
	_, err = s.q.Get(s.Ctx, "a/q", 1<<30, time.Second)
	WantCode(t, err, broker.CodeInvalidArgument)
	_, err = s.q.Get(s.Ctx, "a/missing", 1, time.Second)
	WantCode(t, err, broker.CodeNotFound)
	_, err = s.q.Put(s.Ctx, "a/q", make([]byte, 257<<10), 0, 0)
	WantCode(t, err, broker.CodeMessageTooLarge)
}

func testSQPutReceipt(t *testing.T, f Factory) {
	s := newSQEnv(t, f)
	s.create("a/q", nil)
	// The receipt from Put is valid at once, without a Get (the Go SDK's
	// TestUpdateMessageBasic), for Update and Delete alike.
	p := s.put("a/q", "v1", 0, 0)
	u := s.update("a/q", p, 0, []byte("v2"))
	if u.Receipt == p.Receipt || u.DequeueCount != 0 || string(u.Text) != "v2" {
		t.Fatalf("Update with the Put receipt = %+v", u)
	}
	got := s.get("a/q", 1, time.Minute)
	wantTexts(t, "Get", got, "v2")
	if got[0].DequeueCount != 1 {
		t.Fatalf("DequeueCount = %d; want 1", got[0].DequeueCount)
	}
	p2 := s.put("a/q", "other", time.Hour, 0) // invisible, but its receipt works
	s.del("a/q", p2)
	s.wantActive("a/q", 1)
}

func testSQReceiptLifetime(t *testing.T, f Factory) {
	s := newSQEnv(t, f)
	s.create("a/q", nil)
	s.put("a/q", "m", 0, 0)
	g1 := s.get("a/q", 1, 30*time.Second)[0]
	// The visibility lapses; nobody dequeued it again: g1's receipt
	// still works (Azure/azure-storage-net#285).
	s.Advance(time.Hour)
	u := s.update("a/q", g1, 0, nil)
	if !u.VisibleAt.Equal(s.Broker.Now()) || u.Text != nil {
		t.Fatalf("Update after the lapse = %+v", u)
	}
	// Update minted a new receipt: g1's is stale, u's works.
	_, err := s.q.Update(s.Ctx, "a/q", g1.ID, g1.Receipt, 0, nil)
	WantCode(t, err, broker.CodeMessageNotFound)
	// A Get mints another: u's is stale.
	g2 := s.get("a/q", 1, 30*time.Second)[0]
	if g2.DequeueCount != 2 {
		t.Fatalf("DequeueCount = %d; want 2", g2.DequeueCount)
	}
	WantCode(t, s.q.Delete(s.Ctx, "a/q", u.ID, u.Receipt), broker.CodeMessageNotFound)
	s.Advance(31 * time.Second)
	g3 := s.get("a/q", 1, 30*time.Second)[0]
	WantCode(t, s.q.Delete(s.Ctx, "a/q", g2.ID, g2.Receipt), broker.CodeMessageNotFound)
	s.Advance(time.Hour)
	s.del("a/q", g3) // valid after its lapse too
	s.wantActive("a/q", 0)
}

func testSQUpdate(t *testing.T, f Factory) {
	s := newSQEnv(t, f)
	s.create("a/q", nil)
	s.put("a/q", "original", 0, time.Hour)
	g := s.get("a/q", 1, time.Minute)[0]
	s.Advance(10 * time.Second)

	// Keep the text, hide for a while: the count does not move.
	u := s.update("a/q", g, 20*time.Second, nil)
	if u.ID != g.ID || u.DequeueCount != 1 || u.Receipt == g.Receipt || !u.VisibleAt.Equal(Epoch.Add(30*time.Second)) || u.Text != nil {
		t.Fatalf("Update = %+v", u)
	}
	if !u.InsertedAt.Equal(Epoch) || !u.ExpiresAt.Equal(Epoch.Add(time.Hour)) {
		t.Fatalf("Update changed times: %+v", u)
	}
	s.Advance(19 * time.Second)
	wantTexts(t, "Get before the new visibility", s.get("a/q", 1, time.Minute))
	s.Advance(time.Second)
	wantTexts(t, "Peek at the new visibility", s.peek("a/q", 1), "original")

	// Replace the text (durably), then blank it.
	u = s.update("a/q", u, 0, []byte("replaced"))
	if string(u.Text) != "replaced" {
		t.Fatalf("Update text = %q", u.Text)
	}
	if c := s.Counts("a/q"); c.SizeBytes != int64(len("replaced")) {
		t.Fatalf("SizeBytes = %d after replacing the text", c.SizeBytes)
	}
	wantTexts(t, "Peek after replacing", s.peek("a/q", 1), "replaced")
	s.restart()
	wantTexts(t, "Peek after restart", s.peek("a/q", 1), "replaced")
	u = s.update("a/q", u, 0, []byte{})
	wantTexts(t, "Peek after blanking", s.peek("a/q", 1), "")
	s.restart()
	got := s.get("a/q", 1, time.Minute)
	wantTexts(t, "Get after restart", got, "")
	if got[0].DequeueCount != 2 {
		t.Fatalf("DequeueCount = %d; want 2 (Updates do not count)", got[0].DequeueCount)
	}

	// The visibility never passes the expiry (Functions renews with 10
	// minutes whatever the TTL).
	u = s.update("a/q", got[0], 7*24*time.Hour, nil)
	if !u.VisibleAt.Equal(Epoch.Add(time.Hour)) {
		t.Fatalf("VisibleAt = %v; want clamped to the expiry %v", u.VisibleAt, Epoch.Add(time.Hour))
	}
	_, err := s.q.Update(s.Ctx, "a/q", u.ID, u.Receipt, -time.Second, nil)
	WantCode(t, err, broker.CodeInvalidArgument)
	_, err = s.q.Update(s.Ctx, "a/q", u.ID, u.Receipt, 0, make([]byte, 257<<10))
	WantCode(t, err, broker.CodeMessageTooLarge)
	// Failed calls changed nothing: u's receipt still works.
	s.del("a/q", u)
	_, err = s.q.Update(s.Ctx, "a/q", u.ID, u.Receipt, 0, nil)
	WantCode(t, err, broker.CodeMessageNotFound)
}

func testSQOrdering(t *testing.T, f Factory) {
	s := newSQEnv(t, f)
	s.create("a/q", nil)
	s.put("a/q", "A", 0, 0)
	s.put("a/q", "B", 0, 0)
	s.put("a/q", "C", 0, 0)
	s.put("a/q", "D", 5*time.Second, 0) // visible at +5s
	wantTexts(t, "Peek at 0", s.peek("a/q", 32), "A", "B", "C")
	a := s.get("a/q", 1, 10*time.Second)[0] // A visible again at +10s
	wantTexts(t, "Get", []*broker.SQMessage{a}, "A")
	s.Advance(10 * time.Second)
	// A's new VisibleAt is later than D's: it queues up behind.
	wantTexts(t, "Peek at 10s", s.peek("a/q", 32), "B", "C", "D", "A")
	s.Advance(time.Second)
	b := s.get("a/q", 1, time.Hour)[0]
	s.update("a/q", b, 0, nil) // B visible again now (+11s), behind A (+10s)
	wantTexts(t, "Peek after releasing B", s.peek("a/q", 32), "C", "D", "A", "B")
	wantTexts(t, "Peek 2", s.peek("a/q", 2), "C", "D")
	// Ties on VisibleAt go by insertion order.
	s.put("a/q", "E", 0, 0) // +11s too, inserted after B
	s.restart()
	wantTexts(t, "Get all after restart", s.get("a/q", 32, time.Hour), "C", "D", "A", "B", "E")
}

func testSQPeek(t *testing.T, f Factory) {
	s := newSQEnv(t, f)
	s.create("a/q", nil)
	p := s.put("a/q", "one", 0, 0)
	s.put("a/q", "two", 0, 0)
	s.put("a/q", "hidden", time.Minute, 0)
	for range 2 {
		got := s.peek("a/q", 32)
		wantTexts(t, "Peek", got, "one", "two")
		if got[0].Receipt != "" || got[0].ID != p.ID || got[0].DequeueCount != 0 {
			t.Fatalf("Peek = %+v", got[0])
		}
	}
	wantTexts(t, "Peek(0)", s.peek("a/q", 0), "one")
	// Peeking changed nothing: the Put receipt is current, counts are 0.
	g := s.get("a/q", 1, time.Minute)[0]
	if g.DequeueCount != 1 {
		t.Fatalf("DequeueCount after peeks = %d", g.DequeueCount)
	}
	got := s.peek("a/q", 32)
	wantTexts(t, "Peek after Get", got, "two")
	_, err := s.q.Peek(s.Ctx, "a/q", 1<<30)
	WantCode(t, err, broker.CodeInvalidArgument)
	_, err = s.q.Peek(s.Ctx, "a/missing", 1)
	WantCode(t, err, broker.CodeNotFound)
}

func testSQTTL(t *testing.T, f Factory) {
	s := newSQEnv(t, f)
	s.create("a/q", nil)
	p := s.put("a/q", "short", 0, time.Minute)
	forever := s.put("a/q", "forever", 0, -1)
	if !forever.ExpiresAt.IsZero() || !p.ExpiresAt.Equal(Epoch.Add(time.Minute)) {
		t.Fatalf("ExpiresAt: %v and %v", p.ExpiresAt, forever.ExpiresAt)
	}
	_, err := s.q.Put(s.Ctx, "a/q", []byte("x"), time.Minute, time.Minute)
	WantCode(t, err, broker.CodeInvalidArgument) // visibility must be shorter than the TTL
	_, err = s.q.Put(s.Ctx, "a/q", []byte("x"), -time.Second, -1)
	WantCode(t, err, broker.CodeInvalidArgument)
	s.wantActive("a/q", 2)
	s.Advance(time.Minute - time.Nanosecond)
	wantTexts(t, "Peek before expiry", s.peek("a/q", 32), "short", "forever")
	s.Advance(time.Nanosecond)
	// Expired at its ExpiresAt: gone from every operation and the count.
	wantTexts(t, "Peek at expiry", s.peek("a/q", 32), "forever")
	s.wantActive("a/q", 1)
	WantCode(t, s.q.Delete(s.Ctx, "a/q", p.ID, p.Receipt), broker.CodeMessageNotFound)
	_, err = s.q.Update(s.Ctx, "a/q", p.ID, p.Receipt, 0, nil)
	WantCode(t, err, broker.CodeMessageNotFound)

	// A message may be hidden past its expiry; it expires while hidden.
	s.put("a/q", "hide", 0, time.Minute)
	s.put("a/q", "hide-updated", 0, time.Minute)
	wantTexts(t, "Get", s.get("a/q", 32, time.Hour), "forever", "hide", "hide-updated")
	s.wantActive("a/q", 3)
	s.Advance(time.Minute)
	s.wantActive("a/q", 1)
	s.Advance(30 * 24 * time.Hour)
	s.wantActive("a/q", 1)
	got := s.get("a/q", 32, time.Second)
	wantTexts(t, "the message that never expires", got, "forever")
	if got[0].DequeueCount != 2 {
		t.Fatalf("DequeueCount = %d", got[0].DequeueCount)
	}

	// The purge also happens on a restart: messages that expired while
	// the broker was down are gone.
	s.put("a/q", "expires while down", 0, time.Minute)
	s.Broker.Close()
	s.Advance(2 * time.Minute)
	s.restart()
	s.wantActive("a/q", 1)
	s.Advance(time.Hour)
	wantTexts(t, "after restart", s.peek("a/q", 32), "forever")
}

func testSQClear(t *testing.T, f Factory) {
	s := newSQEnv(t, f)
	s.create("a/q", nil)
	if err := s.q.Clear(s.Ctx, "a/q"); err != nil {
		t.Fatalf("Clear of an empty queue: %v", err)
	}
	for _, x := range []string{"a", "b", "c"} {
		s.put("a/q", x, 0, 0)
	}
	hidden := s.put("a/q", "hidden", time.Hour, 0)
	g := s.get("a/q", 1, time.Hour)[0]
	s.wantActive("a/q", 4)
	if err := s.q.Clear(s.Ctx, "a/q"); err != nil {
		t.Fatal(err)
	}
	s.wantActive("a/q", 0)
	if c := s.Counts("a/q"); c.SizeBytes != 0 {
		t.Fatalf("SizeBytes after Clear = %d", c.SizeBytes)
	}
	WantCode(t, s.q.Delete(s.Ctx, "a/q", g.ID, g.Receipt), broker.CodeMessageNotFound)
	WantCode(t, s.q.Delete(s.Ctx, "a/q", hidden.ID, hidden.Receipt), broker.CodeMessageNotFound)
	s.Advance(2 * time.Hour)
	wantTexts(t, "Get after Clear", s.get("a/q", 32, time.Second))
	s.restart()
	s.wantActive("a/q", 0)
	wantTexts(t, "Peek after restart", s.peek("a/q", 32))
	s.put("a/q", "new", 0, 0)
	wantTexts(t, "Get after Clear and Put", s.get("a/q", 32, time.Second), "new")
	WantCode(t, s.q.Clear(s.Ctx, "a/missing"), broker.CodeNotFound)
}

func testSQRestart(t *testing.T, f Factory) {
	s := newSQEnv(t, f)
	s.create("a/q", map[string]string{"m": "1"})
	p := s.put("a/q", "put only", 0, 0)
	s.Advance(time.Second)
	s.put("a/q", "got", 0, time.Hour)
	got := s.get("a/q", 2, time.Minute) // both: "put only" first
	g := got[1]
	s.put("a/q", "got twice", 0, -1)
	s.get("a/q", 1, 0)
	g2 := s.get("a/q", 1, 10*time.Minute)[0]
	if string(g2.Text) != "got twice" || g2.DequeueCount != 2 {
		t.Fatalf("second Get = %+v", g2)
	}
	u := s.update("a/q", got[0], 5*time.Minute, []byte("updated"))
	before := s.Counts("a/q")

	s.restart()
	if c := s.Counts("a/q"); c != before {
		t.Fatalf("counts after restart %+v; before %+v", c, before)
	}
	// Everything is invisible still: visibility times are durable.
	if got := s.peek("a/q", 32); len(got) != 0 {
		t.Fatalf("Peek after restart = %d messages", len(got))
	}
	// Receipts that were valid are valid; those superseded are not.
	WantCode(t, s.q.Delete(s.Ctx, "a/q", p.ID, p.Receipt), broker.CodeMessageNotFound)
	s.del("a/q", g)
	s.Advance(10 * time.Minute)
	// Dequeue counts, ids, times and texts are durable.
	all := s.get("a/q", 32, time.Minute)
	wantTexts(t, "Get after restart", all, "updated", "got twice")
	if all[0].ID != p.ID || all[0].DequeueCount != 2 || !all[0].InsertedAt.Equal(Epoch) || !all[0].ExpiresAt.Equal(p.ExpiresAt) {
		t.Fatalf("updated message after restart = %+v (put %+v)", all[0], p)
	}
	if all[1].ID != g2.ID || all[1].DequeueCount != 3 || !all[1].ExpiresAt.IsZero() {
		t.Fatalf("second message after restart = %+v", all[1])
	}
	WantCode(t, s.q.Delete(s.Ctx, "a/q", u.ID, u.Receipt), broker.CodeMessageNotFound)
	// Receipts minted after the restart differ from every earlier one.
	if all[0].Receipt == u.Receipt || all[1].Receipt == g2.Receipt {
		t.Fatal("a receipt was minted twice")
	}
	// The receipt from before a restart survives another restart.
	s.restart()
	s.del("a/q", all[0])
	s.del("a/q", all[1])
	s.wantActive("a/q", 0)
	// Ids stay unique across restarts.
	n := s.put("a/q", "new", 0, 0)
	if n.ID == p.ID || n.ID == g.ID || n.ID == g2.ID {
		t.Fatalf("id %s reused", n.ID)
	}
}

func testSQBadReceipts(t *testing.T, f Factory) {
	s := newSQEnv(t, f)
	s.create("a/q", nil)
	p := s.put("a/q", "m", 0, 0)
	zero := base64.RawURLEncoding.EncodeToString(make([]byte, 16))
	for _, r := range []string{"", "abc", "!!!!!!!!!!!!!!!!!!!!!!", p.Receipt + "=", p.Receipt + "A", zero,
		base64.StdEncoding.EncodeToString(make([]byte, 16)), "AgAAAAMAAAAAAAAAyIzI1X8c2AE="} {
		WantCode(t, s.q.Delete(s.Ctx, "a/q", p.ID, r), broker.CodeInvalidArgument)
		_, err := s.q.Update(s.Ctx, "a/q", p.ID, r, 0, nil)
		WantCode(t, err, broker.CodeInvalidArgument)
	}
	// Well formed, but not this message's: not found.
	other := s.put("a/q", "other", 0, 0)
	WantCode(t, s.q.Delete(s.Ctx, "a/q", p.ID, other.Receipt), broker.CodeMessageNotFound)
	WantCode(t, s.q.Delete(s.Ctx, "a/q", "00000000-0000-4000-8000-000000000000", p.Receipt), broker.CodeMessageNotFound)
	WantCode(t, s.q.Delete(s.Ctx, "a/q", "not-a-guid", p.Receipt), broker.CodeMessageNotFound)
	WantCode(t, s.q.Delete(s.Ctx, "a/missing", p.ID, p.Receipt), broker.CodeNotFound)
	// None of it touched the message.
	s.del("a/q", p)
}

func testSQWrongKind(t *testing.T, f Factory) {
	s := newSQEnv(t, f)
	b := s.Broker
	ctx := s.Ctx
	s.create("a/sq", nil)
	s.put("a/sq", "m", 0, 0)
	s.Queue("sb", broker.QueueProperties{})
	s.Send("sb", "x")

	// Service Bus operations on a storage queue.
	_, err := b.Send(ctx, "a/sq", []*broker.Message{{Body: []byte("x")}})
	WantCode(t, err, broker.CodeInvalidArgument)
	_, err = b.Receive(ctx, "a/sq", broker.ReceiveOptions{})
	WantCode(t, err, broker.CodeInvalidArgument)
	_, err = b.Receive(ctx, "a/sq", broker.ReceiveOptions{Mode: broker.ReceiveAndDelete, Wait: time.Second})
	WantCode(t, err, broker.CodeInvalidArgument)
	_, err = b.Peek(ctx, "a/sq", 0, 10, "")
	WantCode(t, err, broker.CodeInvalidArgument)
	_, err = b.UpdateQueue(ctx, "a/sq", broker.QueueProperties{})
	WantCode(t, err, broker.CodeInvalidArgument)
	_, err = b.AcceptSession(ctx, "a/sq", "s", 0)
	WantCode(t, err, broker.CodeInvalidArgument)
	WantCode(t, b.CancelScheduled(ctx, "a/sq", []int64{1}), broker.CodeInvalidArgument)
	_, err = b.ReceiveDeferred(ctx, "a/sq", []int64{1}, broker.PeekLock, nil)
	WantCode(t, err, broker.CodeInvalidArgument)
	WantCode(t, b.Settle(ctx, "a/sq", broker.LockToken{1}, broker.Settlement{}), broker.CodeInvalidArgument)

	// Storage queue operations on a Service Bus queue.
	q := s.q
	_, err = q.Put(ctx, "sb", []byte("x"), 0, 0)
	WantCode(t, err, broker.CodeInvalidArgument)
	_, err = q.Get(ctx, "sb", 1, time.Second)
	WantCode(t, err, broker.CodeInvalidArgument)
	_, err = q.Peek(ctx, "sb", 1)
	WantCode(t, err, broker.CodeInvalidArgument)
	WantCode(t, q.Delete(ctx, "sb", "id", "receipt"), broker.CodeInvalidArgument)
	_, err = q.Update(ctx, "sb", "id", "receipt", 0, nil)
	WantCode(t, err, broker.CodeInvalidArgument)
	WantCode(t, q.Clear(ctx, "sb"), broker.CodeInvalidArgument)
	WantCode(t, q.SetMetadata(ctx, "sb", nil), broker.CodeInvalidArgument)
	_, err = q.Get(ctx, "sb/$DeadLetterQueue", 1, time.Second)
	WantCode(t, err, broker.CodeInvalidArgument)

	// Neither changed the other.
	s.wantActive("a/sq", 1)
	s.WantCounts("sb", 1, 0, 0, 0)
	if info, err := b.GetEntity("sb"); err != nil || info.Metadata != nil {
		t.Fatalf("GetEntity(sb) = %+v, %v", info, err)
	}
}

func testSQCounts(t *testing.T, f Factory) {
	s := newSQEnv(t, f)
	s.create("a/q", nil)
	s.put("a/q", "12345", 0, 0)
	s.put("a/q", "invisible", time.Hour, 0)
	s.put("a/q", "expiring", 0, time.Minute)
	s.get("a/q", 1, time.Hour) // dequeued messages count too
	c := s.Counts("a/q")
	if c.Active != 3 || c.SizeBytes != int64(len("12345invisibleexpiring")) || c.Scheduled != 0 || c.Deferred != 0 || c.DeadLettered != 0 {
		t.Fatalf("counts = %+v", c)
	}
	s.Advance(time.Minute)
	c = s.Counts("a/q")
	if c.Active != 2 || c.SizeBytes != int64(len("12345invisible")) {
		t.Fatalf("counts after an expiry = %+v", c)
	}
	list := s.Broker.ListEntities(broker.KindStorageQueue)
	if len(list) != 1 || list[0].Active != 2 {
		t.Fatalf("ListEntities = %+v", list)
	}
}

func testSQStoreFailure(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	fs := &FailingStore{Store: env.Store}
	b, err := broker.New(broker.Config{Store: fs, Clock: env.Clock})
	if err != nil {
		t.Fatal(err)
	}
	env.Broker.Close()
	if err := b.Open(env.Ctx); err != nil {
		t.Fatal(err)
	}
	env.Broker = b
	s := &sqEnv{Env: env, q: b.StorageQueues()}

	fs.Fail = errInjected
	_, err = s.q.Create(s.Ctx, "a/q", nil)
	WantCode(t, err, broker.CodeStoreUnavailable)
	_, err = b.GetEntity("a/q")
	WantCode(t, err, broker.CodeNotFound)
	fs.Fail = nil
	s.create("a/q", map[string]string{"k": "v"})
	fs.Fail = errInjected
	WantCode(t, s.q.SetMetadata(s.Ctx, "a/q", nil), broker.CodeStoreUnavailable)
	if info, _ := b.GetEntity("a/q"); info.Metadata["k"] != "v" {
		t.Fatalf("metadata after a failed SetMetadata = %v", info.Metadata)
	}
	_, err = s.q.Put(s.Ctx, "a/q", []byte("lost"), 0, 0)
	WantCode(t, err, broker.CodeStoreUnavailable)
	s.wantActive("a/q", 0)
	wantTexts(t, "Peek after a failed Put", s.peek("a/q", 32))

	fs.Fail = nil
	p := s.put("a/q", "m", 0, 0)
	fs.Fail = errInjected
	_, err = s.q.Get(s.Ctx, "a/q", 1, time.Minute)
	WantCode(t, err, broker.CodeStoreUnavailable)
	// The failed Get changed nothing: visible, count 0, Put receipt valid.
	got := s.peek("a/q", 32)
	wantTexts(t, "Peek after a failed Get", got, "m")
	if got[0].DequeueCount != 0 {
		t.Fatalf("DequeueCount after a failed Get = %d", got[0].DequeueCount)
	}
	_, err = s.q.Update(s.Ctx, "a/q", p.ID, p.Receipt, time.Minute, []byte("new"))
	WantCode(t, err, broker.CodeStoreUnavailable)
	WantCode(t, s.q.Delete(s.Ctx, "a/q", p.ID, p.Receipt), broker.CodeStoreUnavailable)
	WantCode(t, s.q.Clear(s.Ctx, "a/q"), broker.CodeStoreUnavailable)
	fs.Fail = nil
	wantTexts(t, "Peek after failed writes", s.peek("a/q", 32), "m")
	s.wantActive("a/q", 1)
	s.del("a/q", p)
	s.wantActive("a/q", 0)
}

func testSQConcurrentGets(t *testing.T, f Factory) {
	s := newSQEnv(t, f)
	s.create("a/q", nil)
	const n = 200
	for i := range n {
		s.put("a/q", string(rune('a'+i%26)), 0, 0)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ms, err := s.q.Get(s.Ctx, "a/q", 7, time.Hour)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ms) == 0 {
					return
				}
				mu.Lock()
				for _, m := range ms {
					seen[m.ID]++
				}
				mu.Unlock()
				for _, m := range ms[:len(ms)/2] { // delete some while others get
					if err := s.q.Delete(s.Ctx, "a/q", m.ID, m.Receipt); err != nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("%d distinct messages dequeued; want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Fatalf("message %s dequeued %d times in one visibility window", id, c)
		}
	}
}

// testSQConcurrentMixed runs every operation at once and then checks that
// the count, the index and the store agree.
func testSQConcurrentMixed(t *testing.T, f Factory) {
	s := newSQEnv(t, f)
	const q = "a/mixed"
	s.create(q, nil)
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 60 {
				var err error
				switch (w + i) % 6 {
				case 0, 1:
					_, err = s.q.Put(s.Ctx, q, []byte("x"), 0, -1)
				case 2:
					var ms []*broker.SQMessage
					if ms, err = s.q.Get(s.Ctx, q, 3, 0); err == nil {
						for j, m := range ms {
							if j%2 == 0 {
								err = s.q.Delete(s.Ctx, q, m.ID, m.Receipt)
							} else {
								_, err = s.q.Update(s.Ctx, q, m.ID, m.Receipt, 0, []byte("y"))
							}
							if broker.CodeOf(err) == broker.CodeMessageNotFound {
								err = nil // a concurrent Clear took it
							}
						}
					}
				case 3:
					_, err = s.q.Peek(s.Ctx, q, 10)
				case 4:
					if i%10 == 4 {
						err = s.q.Clear(s.Ctx, q)
					}
				case 5:
					_, err = s.Broker.GetEntity(q)
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	check := func(when string) {
		t.Helper()
		all := s.peek(q, 5000)
		if c := s.Counts(q); c.Active != int64(len(all)) || c.SizeBytes != int64(len(all)) {
			t.Fatalf("%s: counts %+v; %d messages visible", when, c, len(all))
		}
	}
	check("after the run")
	s.restart()
	check("after a restart")
	for _, m := range s.get(q, 5000, time.Minute) {
		s.del(q, m)
	}
	s.wantActive(q, 0)
}
