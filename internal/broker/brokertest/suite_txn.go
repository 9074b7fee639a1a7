package brokertest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

// Transactions (broker/txn.go): staged sends and settlements across
// entities, applied as one store group at commit, discarded at rollback.

// testTxn runs the transaction cases; Run lists it once.
func testTxn(t *testing.T, f Factory) {
	t.Run("CommitAcrossEntities", func(t *testing.T) { testTxnCommit(t, f) })
	t.Run("Rollback", func(t *testing.T) { testTxnRollback(t, f) })
	t.Run("LockLostFailsCommit", func(t *testing.T) { testTxnLockLost(t, f) })
	t.Run("Settlements", func(t *testing.T) { testTxnSettlements(t, f) })
	t.Run("StoreFailure", func(t *testing.T) { testTxnStoreFailure(t, f) })
	t.Run("Errors", func(t *testing.T) { testTxnErrors(t, f) })
	t.Run("EntityFeatures", func(t *testing.T) { testTxnEntityFeatures(t, f) })
}

// groupStore records the groups submitted to the store under it.
type groupStore struct {
	broker.Store
	mu     sync.Mutex
	groups [][]broker.Record
}

func (s *groupStore) Submit(recs []broker.Record, done func(error)) {
	s.mu.Lock()
	s.groups = append(s.groups, slices.Clone(recs))
	s.mu.Unlock()
	s.Store.Submit(recs, done)
}

func (s *groupStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.groups)
}

// wrapStore reopens env's broker over wrap(env.Store).
func wrapStore(t *testing.T, env *Env, s broker.Store) {
	t.Helper()
	b, err := broker.New(broker.Config{Store: s, Clock: env.Clock})
	if err != nil {
		t.Fatal(err)
	}
	env.Broker.Close()
	if err := b.Open(env.Ctx); err != nil {
		t.Fatal(err)
	}
	env.Broker = b
	t.Cleanup(func() { b.Close() })
}

func testTxnCommit(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	gs := &groupStore{Store: env.Store}
	wrapStore(t, env, gs)
	b := env.Broker
	env.Queue("in", broker.QueueProperties{})
	env.Queue("out", broker.QueueProperties{})
	if _, err := b.CreateTopic(env.Ctx, "t", broker.QueueProperties{}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"a", "b"} {
		if _, err := b.CreateSubscription(env.Ctx, "t", s, broker.QueueProperties{}, nil); err != nil {
			t.Fatal(err)
		}
	}
	env.Send("in", "original")
	m := env.Receive("in", 1, broker.PeekLock)[0]

	tx := b.BeginTxn(broker.TxnOptions{})
	if err := tx.Settle(env.Ctx, "in", m.LockToken, broker.Settlement{Disposition: broker.Complete}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Send(env.Ctx, "out", []*broker.Message{{Body: []byte("new")}, {Body: []byte("new2")}}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Send(env.Ctx, "T", []*broker.Message{{Body: []byte("fan")}}); err != nil {
		t.Fatal(err)
	}
	if tx.Ops() != 4 {
		t.Fatalf("Ops = %d; want 4", tx.Ops())
	}
	// Staged work is invisible: the original is still locked, nothing sent.
	env.WantCounts("in", 1, 0, 0, 0)
	env.WantCounts("out", 0, 0, 0, 0)
	env.WantCounts("t/Subscriptions/a", 0, 0, 0, 0)
	if got := env.Receive("out", 10, broker.PeekLock); len(got) != 0 {
		t.Fatalf("staged send visible: %v", Bodies(got))
	}
	before := gs.count()
	if err := tx.Commit(env.Ctx); err != nil {
		t.Fatal(err)
	}
	if n := gs.count() - before; n != 1 {
		t.Fatalf("commit wrote %d store groups; want 1", n)
	}
	check := func() {
		t.Helper()
		env.WantCounts("in", 0, 0, 0, 0)
		env.WantCounts("out", 2, 0, 0, 0)
		env.WantCounts("t/Subscriptions/a", 1, 0, 0, 0)
		env.WantCounts("t/Subscriptions/b", 1, 0, 0, 0)
	}
	check()
	if err := tx.Commit(env.Ctx); err != broker.ErrTxnDischarged {
		t.Fatalf("second commit: %v", err)
	}
	env.Restart()
	check()
	got := env.Receive("out", 10, broker.PeekLock)
	if !slices.Equal(Bodies(got), []string{"new", "new2"}) || got[0].SequenceNumber != 1 {
		t.Fatalf("out after restart: %v (seq %d)", Bodies(got), got[0].SequenceNumber)
	}
	if got := env.Receive("t/Subscriptions/b", 1, broker.PeekLock); len(got) != 1 || string(got[0].Body) != "fan" {
		t.Fatalf("subscription b: %v", Bodies(got))
	}
}

func testTxnRollback(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	b := env.Broker
	env.Queue("in", broker.QueueProperties{LockDuration: 30 * time.Second})
	env.Queue("out", broker.QueueProperties{})
	env.Send("in", "original")
	m := env.Receive("in", 1, broker.PeekLock)[0]
	tx := b.BeginTxn(broker.TxnOptions{})
	if err := tx.Settle(env.Ctx, "in", m.LockToken, broker.Settlement{Disposition: broker.Complete}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Send(env.Ctx, "out", []*broker.Message{{Body: []byte("new")}}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(env.Ctx); err != broker.ErrTxnDischarged {
		t.Fatalf("commit after rollback: %v", err)
	}
	env.WantCounts("out", 0, 0, 0, 0)
	// The lock is still the receiver's; it may settle outside the
	// transaction, or let the lock expire.
	if got := env.Receive("in", 1, broker.PeekLock); len(got) != 0 {
		t.Fatal("a locked message was delivered again before its lock ended")
	}
	env.Advance(31 * time.Second)
	again := env.Receive("in", 1, broker.PeekLock)
	if len(again) != 1 || string(again[0].Body) != "original" || again[0].DeliveryCount != 1 {
		t.Fatalf("after lock expiry: %+v", *again[0])
	}
	// A second transaction settles the redelivered message.
	tx = b.BeginTxn(broker.TxnOptions{})
	if err := tx.Settle(env.Ctx, "in", again[0].LockToken, broker.Settlement{Disposition: broker.Complete}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(env.Ctx); err != nil {
		t.Fatal(err)
	}
	env.Restart()
	env.WantCounts("in", 0, 0, 0, 0)
	env.WantCounts("out", 0, 0, 0, 0)
}

func testTxnLockLost(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	b := env.Broker
	env.Queue("in", broker.QueueProperties{LockDuration: 30 * time.Second})
	env.Queue("out", broker.QueueProperties{})
	env.Send("in", "original")
	m := env.Receive("in", 1, broker.PeekLock)[0]
	tx := b.BeginTxn(broker.TxnOptions{})
	if err := tx.Send(env.Ctx, "out", []*broker.Message{{Body: []byte("new")}}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Settle(env.Ctx, "in", m.LockToken, broker.Settlement{Disposition: broker.Complete}); err != nil {
		t.Fatal(err)
	}
	env.Advance(31 * time.Second) // the lock expires before the commit
	WantCode(t, tx.Commit(env.Ctx), broker.CodeLockLost)
	env.WantCounts("in", 1, 0, 0, 0)
	env.WantCounts("out", 0, 0, 0, 0)
	// The sequence numbers of the failed send are not used: nothing was
	// assigned before the lock check.
	if seqs := env.Send("out", "later"); seqs[0] != 1 {
		t.Fatalf("seq = %d; want 1", seqs[0])
	}
	// A settlement made outside the transaction also wins over it.
	m = env.Receive("in", 1, broker.PeekLock)[0]
	tx = b.BeginTxn(broker.TxnOptions{})
	if err := tx.Settle(env.Ctx, "in", m.LockToken, broker.Settlement{Disposition: broker.Complete}); err != nil {
		t.Fatal(err)
	}
	env.Settle("in", m, broker.Settlement{Disposition: broker.Abandon})
	WantCode(t, tx.Commit(env.Ctx), broker.CodeLockLost)
	env.WantCounts("in", 1, 0, 0, 0)
}

func testTxnSettlements(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	b := env.Broker
	env.Queue("a", broker.QueueProperties{})
	env.Queue("b", broker.QueueProperties{RequiresSession: true})
	env.Send("a", "complete", "deadletter", "defer", "abandon")
	env.SendMsgs("b", &broker.Message{Body: []byte("s1"), SessionID: "s"})
	ms := env.Receive("a", 4, broker.PeekLock)
	lock, err := b.AcceptSession(env.Ctx, "b", "s", 0)
	if err != nil {
		t.Fatal(err)
	}
	sm, err := b.Receive(env.Ctx, "b", broker.ReceiveOptions{Mode: broker.PeekLock, Session: lock})
	if err != nil || len(sm) != 1 {
		t.Fatalf("session receive: %v %v", sm, err)
	}
	tx := b.BeginTxn(broker.TxnOptions{})
	stage := func(path string, m *broker.Message, s broker.Settlement) {
		t.Helper()
		if err := tx.Settle(env.Ctx, path, m.LockToken, s); err != nil {
			t.Fatal(err)
		}
	}
	stage("a", ms[0], broker.Settlement{Disposition: broker.Complete})
	stage("a", ms[1], broker.Settlement{Disposition: broker.DeadLetter, DeadLetterReason: "r", DeadLetterDescription: "d"})
	stage("a", ms[2], broker.Settlement{Disposition: broker.Defer})
	stage("a", ms[3], broker.Settlement{Disposition: broker.Abandon, Properties: map[string]any{"k": "v"}})
	stage("b", sm[0], broker.Settlement{Disposition: broker.Complete})
	WantCode(t, tx.Settle(env.Ctx, "a", ms[0].LockToken, broker.Settlement{Disposition: broker.Abandon}), broker.CodeLockLost)
	env.WantCounts("a", 4, 0, 0, 0)
	if err := tx.Commit(env.Ctx); err != nil {
		t.Fatal(err)
	}
	check := func() {
		t.Helper()
		env.WantCounts("a", 1, 0, 1, 1)
		env.WantCounts("b", 0, 0, 0, 0)
	}
	check()
	env.Restart()
	check()
	dl := env.Receive("a/$DeadLetterQueue", 1, broker.PeekLock)
	if len(dl) != 1 || dl[0].DeadLetterReason != "r" || dl[0].DeadLetterDescription != "d" {
		t.Fatalf("dead-lettered: %+v", dl)
	}
	ab := env.Receive("a", 1, broker.PeekLock)
	if len(ab) != 1 || string(ab[0].Body) != "abandon" || ab[0].DeliveryCount != 1 || ab[0].Properties["k"] != "v" {
		t.Fatalf("abandoned: %+v", *ab[0])
	}
}

func testTxnStoreFailure(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	fs := &FailingStore{Store: env.Store}
	wrapStore(t, env, fs)
	b := env.Broker
	env.Queue("in", broker.QueueProperties{})
	env.Queue("out", broker.QueueProperties{})
	env.Send("in", "original")
	m := env.Receive("in", 1, broker.PeekLock)[0]
	tx := b.BeginTxn(broker.TxnOptions{})
	if err := tx.Send(env.Ctx, "out", []*broker.Message{{Body: []byte("new")}}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Settle(env.Ctx, "in", m.LockToken, broker.Settlement{Disposition: broker.Complete}); err != nil {
		t.Fatal(err)
	}
	fs.Fail = errInjected
	WantCode(t, tx.Commit(env.Ctx), broker.CodeStoreUnavailable)
	fs.Fail = nil
	env.WantCounts("in", 1, 0, 0, 0)
	env.WantCounts("out", 0, 0, 0, 0)
	// The failed commit left the lock in place.
	env.Settle("in", m, broker.Settlement{Disposition: broker.Complete})
	env.WantCounts("in", 0, 0, 0, 0)
}

func testTxnErrors(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	b := env.Broker
	env.Queue("q", broker.QueueProperties{MaxMessageSizeInKilobytes: 1})
	env.Send("q", "m")
	m := env.Receive("q", 1, broker.PeekLock)[0]
	one := []*broker.Message{{Body: []byte("x")}}

	tx := b.BeginTxn(broker.TxnOptions{MaxOperations: 2, Timeout: time.Minute})
	WantCode(t, tx.Send(env.Ctx, "nope", one), broker.CodeNotFound)
	WantCode(t, tx.Send(env.Ctx, "q/$DeadLetterQueue", one), broker.CodeInvalidArgument)
	WantCode(t, tx.Send(env.Ctx, "q", []*broker.Message{{Body: make([]byte, 2000)}}), broker.CodeMessageTooLarge)
	WantCode(t, tx.Settle(env.Ctx, "q", m.LockToken, broker.Settlement{Disposition: broker.Release}), broker.CodeInvalidArgument)
	WantCode(t, tx.Settle(env.Ctx, "q", broker.LockToken{1}, broker.Settlement{Disposition: broker.Complete}), broker.CodeLockLost)
	if err := tx.Send(env.Ctx, "q", one); err != nil {
		t.Fatal(err)
	}
	WantCode(t, tx.Send(env.Ctx, "q", []*broker.Message{{}, {}}), broker.CodeQuotaExceeded)
	if tx.Ops() != 1 {
		t.Fatalf("failed operations were counted: %d", tx.Ops())
	}
	env.Advance(2 * time.Minute)
	if err := tx.Send(env.Ctx, "q", one); err != broker.ErrTxnTimedOut {
		t.Fatalf("send after timeout: %v", err)
	}
	if err := tx.Commit(env.Ctx); err != broker.ErrTxnTimedOut {
		t.Fatalf("commit after timeout: %v", err)
	}
	env.WantCounts("q", 1, 0, 0, 0)
	if err := tx.Rollback(); err != broker.ErrTxnDischarged {
		t.Fatalf("rollback after commit: %v", err)
	}
	// An entity deleted between staging and commit fails the commit.
	env.Queue("gone", broker.QueueProperties{})
	tx = b.BeginTxn(broker.TxnOptions{})
	if err := tx.Send(env.Ctx, "gone", one); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteEntity(env.Ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	WantCode(t, tx.Commit(env.Ctx), broker.CodeNotFound)
	// An empty transaction commits.
	if err := b.BeginTxn(broker.TxnOptions{}).Commit(env.Ctx); err != nil {
		t.Fatal(err)
	}
}

// testTxnEntityFeatures: what a plain send or settlement does, a
// transaction does too — scheduled messages, duplicate detection, session
// queues, dead-letter sub-queues, subscriptions.
func testTxnEntityFeatures(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	b := env.Broker
	env.Queue("dd", broker.QueueProperties{RequiresDuplicateDetection: true})
	env.Queue("sess", broker.QueueProperties{RequiresSession: true})
	env.Queue("q", broker.QueueProperties{})
	if _, err := b.CreateTopic(env.Ctx, "t", broker.QueueProperties{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CreateSubscription(env.Ctx, "t", "s", broker.QueueProperties{}, nil); err != nil {
		t.Fatal(err)
	}
	env.SendMsgs("dd", &broker.Message{MessageID: "seen", Body: []byte("first")})
	env.Send("q", "to-dlq")
	env.Send("t", "sub-msg")
	m := env.Receive("q", 1, broker.PeekLock)[0]
	env.Settle("q", m, broker.Settlement{Disposition: broker.DeadLetter})
	dlm := env.Receive("q/$DeadLetterQueue", 1, broker.PeekLock)[0]
	sm := env.Receive("t/Subscriptions/s", 1, broker.PeekLock)[0]

	tx := b.BeginTxn(broker.TxnOptions{})
	stage := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	stage(tx.Send(env.Ctx, "dd", []*broker.Message{{MessageID: "seen", Body: []byte("dup")}, {MessageID: "fresh", Body: []byte("x")}, {MessageID: "fresh", Body: []byte("dup2")}}))
	stage(tx.Send(env.Ctx, "sess", []*broker.Message{{SessionID: "a", Body: []byte("s")}}))
	stage(tx.Send(env.Ctx, "q", []*broker.Message{{Body: []byte("later"), ScheduledEnqueueTime: env.Clock.Now().Add(time.Hour)}}))
	stage(tx.Settle(env.Ctx, "q/$DeadLetterQueue", dlm.LockToken, broker.Settlement{Disposition: broker.Complete}))
	stage(tx.Settle(env.Ctx, "t/Subscriptions/s", sm.LockToken, broker.Settlement{Disposition: broker.Complete}))
	WantCode(t, tx.Send(env.Ctx, "sess", []*broker.Message{{Body: []byte("no session")}}), broker.CodeInvalidArgument)
	stage(tx.Commit(env.Ctx))
	check := func() {
		t.Helper()
		env.WantCounts("dd", 2, 0, 0, 0) // "first" and one "fresh"
		env.WantCounts("sess", 1, 0, 0, 0)
		env.WantCounts("q", 0, 1, 0, 0)
		env.WantCounts("t/Subscriptions/s", 0, 0, 0, 0)
	}
	check()
	env.Restart()
	check()
	// The duplicate window covers ids first seen inside the transaction.
	if _, err := env.Broker.Send(env.Ctx, "dd", []*broker.Message{{MessageID: "fresh", Body: []byte("again")}}); err != nil {
		t.Fatal(err)
	}
	env.WantCounts("dd", 2, 0, 0, 0)
	env.Advance(time.Hour)
	env.WantCounts("q", 1, 0, 0, 0)
}
