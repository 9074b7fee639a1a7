package brokertest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

// Run runs the conformance suite against stores made by f.
func Run(t *testing.T, f Factory) {
	tests := []struct {
		name string
		fn   func(t *testing.T, f Factory)
	}{
		{"EntityLifecycle", testEntityLifecycle},
		{"EntityNames", testEntityNames},
		{"EntityProperties", testEntityProperties},
		{"SendReceiveComplete", testSendReceiveComplete},
		{"ReceiveAndDelete", testReceiveAndDelete},
		{"BatchAtomicOnStoreFailure", testBatchAtomicOnStoreFailure},
		{"SettleErrors", testSettleErrors},
		{"AbandonAndMaxDelivery", testAbandonAndMaxDelivery},
		{"Release", testRelease},
		{"LockExpiry", testLockExpiry},
		{"RenewLock", testRenewLock},
		{"DeferAndReceiveDeferred", testDeferAndReceiveDeferred},
		{"DeadLetter", testDeadLetter},
		{"Peek", testPeek},
		{"ScheduleAndCancel", testScheduleAndCancel},
		{"TTL", testTTL},
		{"DuplicateDetection", testDuplicateDetection},
		{"Limits", testLimits},
		{"Status", testStatus},
		{"ReceiveWait", testReceiveWait},
		{"Sessions", testSessions},
		{"SessionNextAvailable", testSessionNextAvailable},
		{"SessionLockExpiry", testSessionLockExpiry},
		{"SessionErrors", testSessionErrors},
		{"RestartKeepsState", testRestartKeepsState},
		{"AutoDeleteOnIdle", testAutoDeleteOnIdle},
		{"Counts", testCounts},
		{"StorageQueue", testStorageQueue},
		{"TopicFanout", testTopicFanout},
		{"TopicSharedBodyLifetime", testTopicSharedBodyLifetime},
		{"TopicRules", testTopicRules},
		{"TopicSubscriptionFeatures", testTopicSubscriptionFeatures},
		{"TopicFilterModel", testTopicFilterModel},
		{"AutoForwardConfig", testAutoForwardConfig},
		{"AutoForward", testAutoForward},
		{"AutoForwardTopicLoops", testAutoForwardTopicLoops},
		{"TopicFilterEvaluationError", testTopicFilterEvaluationError},
		{"TopicAutoDeleteOnIdle", testTopicAutoDeleteOnIdle},
		{"Txn", testTxn},
		{"HotBodies", testHotBodies},
		{"SettleMany", testSettleMany},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, f) })
	}
}

func testEntityLifecycle(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	b := env.Broker
	info, err := b.CreateQueue(env.Ctx, "Orders", broker.QueueProperties{})
	if err != nil {
		t.Fatal(err)
	}
	want := broker.DefaultQueueProperties()
	if info.Properties != want {
		t.Fatalf("defaults = %+v; want %+v", info.Properties, want)
	}
	if !info.CreatedAt.Equal(Epoch) {
		t.Fatalf("CreatedAt = %v; want %v", info.CreatedAt, Epoch)
	}
	_, err = b.CreateQueue(env.Ctx, "orders", broker.QueueProperties{})
	WantCode(t, err, broker.CodeEntityExists)
	if _, err := b.GetEntity("ORDERS"); err != nil {
		t.Fatalf("case-insensitive lookup: %v", err)
	}
	env.Queue("billing", broker.QueueProperties{})
	list := b.ListEntities(broker.KindQueue)
	if len(list) != 2 || list[0].Name != "billing" || list[1].Name != "Orders" {
		t.Fatalf("ListEntities = %v", names(list))
	}
	props := broker.QueueProperties{LockDuration: 30 * time.Second, MaxDeliveryCount: 3, UserMetadata: "m"}
	upd, err := b.UpdateQueue(env.Ctx, "orders", props)
	if err != nil {
		t.Fatal(err)
	}
	if upd.Properties.LockDuration != 30*time.Second || upd.Properties.MaxDeliveryCount != 3 || upd.Properties.UserMetadata != "m" {
		t.Fatalf("UpdateQueue = %+v", upd.Properties)
	}
	_, err = b.UpdateQueue(env.Ctx, "orders", broker.QueueProperties{RequiresSession: true})
	WantCode(t, err, broker.CodeInvalidArgument)
	env.Send("orders", "x")
	if err := b.DeleteEntity(env.Ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	_, err = b.GetEntity("orders")
	WantCode(t, err, broker.CodeNotFound)
	_, err = b.Send(env.Ctx, "orders", []*broker.Message{{Body: []byte("y")}})
	WantCode(t, err, broker.CodeNotFound)
	WantCode(t, b.DeleteEntity(env.Ctx, "orders"), broker.CodeNotFound)
	// Recreated, it is empty and numbers from 1 again.
	env.Queue("orders", broker.QueueProperties{})
	env.WantCounts("orders", 0, 0, 0, 0)
	if seqs := env.Send("orders", "z"); seqs[0] != 1 {
		t.Fatalf("recreated queue numbered from %d", seqs[0])
	}
	env.Restart()
	if _, err := env.Broker.GetEntity("billing"); err != nil {
		t.Fatalf("after restart: %v", err)
	}
	if got, _ := env.Broker.GetEntity("orders"); got.Properties.LockDuration != 60*time.Second || got.Active != 1 {
		t.Fatalf("after restart orders = %+v", got)
	}
}

func names(list []*broker.EntityInfo) []string {
	var out []string
	for _, e := range list {
		out = append(out, e.Name)
	}
	return out
}

func testEntityNames(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	good := []string{"a", "Q1", "orders.eu-west_2", "app/orders", "MyApp.Events~OrderPlaced", strings.Repeat("x", 260)}
	for _, n := range good {
		if _, err := env.Broker.CreateQueue(env.Ctx, n, broker.QueueProperties{}); err != nil {
			t.Errorf("CreateQueue(%q): %v", n, err)
		}
	}
	bad := []string{"", "-a", "a-", ".a", "a.", "/a", "a/", "a//b", "a/./b", "a/../b", "a b", "a$b", "ä", "a?b", "a#b", "a\\b", strings.Repeat("x", 261)}
	for _, n := range bad {
		_, err := env.Broker.CreateQueue(env.Ctx, n, broker.QueueProperties{})
		if broker.CodeOf(err) != broker.CodeInvalidArgument {
			t.Errorf("CreateQueue(%q) = %v; want InvalidArgument", n, err)
		}
	}
	if n := len(env.Broker.ListEntities(0)); n != len(good) {
		t.Fatalf("%d entities; want %d", n, len(good))
	}
}

func testEntityProperties(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	bad := []broker.QueueProperties{
		{LockDuration: 6 * time.Minute},
		{LockDuration: time.Millisecond},
		{MaxDeliveryCount: -1},
		{DuplicateDetectionHistoryTimeWindow: 10 * time.Second},
		{DuplicateDetectionHistoryTimeWindow: 8 * 24 * time.Hour},
		{MaxMessageSizeInKilobytes: 200 * 1024},
		{MaxSizeInMegabytes: -5},
		{AutoDeleteOnIdle: time.Minute},
		{Status: "Paused"},
		{UserMetadata: strings.Repeat("m", 1025)},
		{ForwardTo: "bad name"},
	}
	for i, p := range bad {
		_, err := env.Broker.CreateQueue(env.Ctx, "q", p)
		if broker.CodeOf(err) != broker.CodeInvalidArgument {
			t.Errorf("case %d %+v: err = %v; want InvalidArgument", i, p, err)
		}
	}
	good := broker.QueueProperties{
		LockDuration: 5 * time.Minute, MaxDeliveryCount: 1, DefaultMessageTimeToLive: time.Hour,
		DeadLetteringOnMessageExpiration: true, RequiresDuplicateDetection: true,
		DuplicateDetectionHistoryTimeWindow: 7 * 24 * time.Hour, RequiresSession: true,
		MaxSizeInMegabytes: 80 * 1024, MaxMessageSizeInKilobytes: 100 * 1024,
		AutoDeleteOnIdle: time.Hour, Status: broker.StatusSendDisabled, UserMetadata: "meta",
	}
	info, err := env.Broker.CreateQueue(env.Ctx, "q", good)
	if err != nil {
		t.Fatal(err)
	}
	if info.Properties != good {
		t.Fatalf("properties = %+v; want %+v", info.Properties, good)
	}
	env.Restart()
	info, err = env.Broker.GetEntity("q")
	if err != nil || info.Properties != good {
		t.Fatalf("after restart: %+v, %v", info, err)
	}
}

func testSendReceiveComplete(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	env.Queue("q", broker.QueueProperties{})
	in := &broker.Message{
		MessageID: "m1", CorrelationID: "c1", Subject: "s", To: "t", ReplyTo: "r", ContentType: "text/plain",
		PartitionKey: "pk", TimeToLive: time.Hour, Format: broker.FormatAMQP, Body: []byte("hello"),
		Properties: map[string]any{"a": int64(1), "b": "x", "c": true, "d": 1.5},
	}
	seqs := env.SendMsgs("q", in, &broker.Message{Body: []byte("second")})
	if !slices.Equal(seqs, []int64{1, 2}) {
		t.Fatalf("seqs = %v", seqs)
	}
	env.WantCounts("q", 2, 0, 0, 0)
	got := env.Receive("q", 1, broker.PeekLock)
	if len(got) != 1 {
		t.Fatalf("got %d messages", len(got))
	}
	m := got[0]
	if string(m.Body) != "hello" || m.MessageID != "m1" || m.CorrelationID != "c1" || m.Subject != "s" || m.To != "t" ||
		m.ReplyTo != "r" || m.ContentType != "text/plain" || m.PartitionKey != "pk" || m.Format != broker.FormatAMQP ||
		m.Properties["a"] != int64(1) || m.Properties["b"] != "x" || m.Properties["c"] != true || m.Properties["d"] != 1.5 {
		t.Fatalf("message = %+v", m)
	}
	if m.SequenceNumber != 1 || !m.EnqueuedTime.Equal(Epoch) || m.DeliveryCount != 0 || m.LockToken.IsZero() ||
		!m.LockedUntil.Equal(Epoch.Add(time.Minute)) || !m.ExpiresAt.Equal(Epoch.Add(time.Hour)) || m.State != broker.StateActive {
		t.Fatalf("broker fields = seq %d enq %v dc %d tok %v lu %v exp %v st %v", m.SequenceNumber, m.EnqueuedTime,
			m.DeliveryCount, m.LockToken, m.LockedUntil, m.ExpiresAt, m.State)
	}
	env.WantCounts("q", 2, 0, 0, 0)
	second := env.Receive("q", 5, broker.PeekLock)
	if len(second) != 1 || string(second[0].Body) != "second" || second[0].LockToken == m.LockToken {
		t.Fatalf("second receive = %v", Bodies(second))
	}
	if none := env.Receive("q", 5, broker.PeekLock); len(none) != 0 {
		t.Fatalf("locked messages were received again: %v", Bodies(none))
	}
	env.Settle("q", m, broker.Settlement{Disposition: broker.Complete})
	env.Settle("q", second[0], broker.Settlement{Disposition: broker.Complete})
	env.WantCounts("q", 0, 0, 0, 0)
	if c := env.Counts("q"); c.SizeBytes != 0 {
		t.Fatalf("SizeBytes = %d after completing everything", c.SizeBytes)
	}
	env.Restart()
	env.WantCounts("q", 0, 0, 0, 0)
	if seqs := env.Send("q", "third"); seqs[0] != 3 {
		t.Fatalf("sequence number after restart = %d; want 3 (never reused)", seqs[0])
	}
}

func testReceiveAndDelete(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	env.Queue("q", broker.QueueProperties{})
	env.Send("q", "a", "b", "c")
	got := env.Receive("q", 2, broker.ReceiveAndDelete)
	if !slices.Equal(Bodies(got), []string{"a", "b"}) || !got[0].LockToken.IsZero() {
		t.Fatalf("got %v", Bodies(got))
	}
	env.WantCounts("q", 1, 0, 0, 0)
	env.Restart()
	got = env.Receive("q", 10, broker.ReceiveAndDelete)
	if !slices.Equal(Bodies(got), []string{"c"}) {
		t.Fatalf("after restart got %v", Bodies(got))
	}
	env.WantCounts("q", 0, 0, 0, 0)
}

func testBatchAtomicOnStoreFailure(t *testing.T, f Factory) {
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
	env.Queue("q", broker.QueueProperties{})
	env.Send("q", "kept")
	fs.Fail = errInjected
	_, err = b.Send(env.Ctx, "q", []*broker.Message{{Body: []byte("x")}, {Body: []byte("y")}})
	WantCode(t, err, broker.CodeStoreUnavailable)
	env.WantCounts("q", 1, 0, 0, 0)
	fs.Fail = nil
	m := env.Receive("q", 1, broker.PeekLock)[0]
	fs.Fail = errInjected
	WantCode(t, b.Settle(env.Ctx, "q", m.LockToken, broker.Settlement{Disposition: broker.Complete}), broker.CodeStoreUnavailable)
	_, err = b.Receive(env.Ctx, "q", broker.ReceiveOptions{Mode: broker.ReceiveAndDelete})
	if err != nil {
		t.Fatalf("nothing available, so nothing written: %v", err)
	}
	fs.Fail = nil
	// The failed complete left the lock in place.
	env.Settle("q", m, broker.Settlement{Disposition: broker.Complete})
	env.WantCounts("q", 0, 0, 0, 0)
	if seqs := env.Send("q", "z"); seqs[0] != 4 {
		t.Fatalf("seq after failed batch = %d; want 4 (numbers of a failed batch are not reused)", seqs[0])
	}
	// A delete that fails keeps the queue, its messages and the bodies the
	// broker keeps in memory for them (HotBodies); a later one gives them back.
	hot := b.HotBodyBytes()
	fs.Fail = errInjected
	WantCode(t, b.DeleteEntity(env.Ctx, "q"), broker.CodeStoreUnavailable)
	fs.Fail = nil
	env.WantCounts("q", 1, 0, 0, 0)
	if got := b.HotBodyBytes(); got != hot {
		t.Fatalf("hot bodies after a failed delete = %d; want %d", got, hot)
	}
	if err := b.DeleteEntity(env.Ctx, "q"); err != nil {
		t.Fatal(err)
	}
	if got := b.HotBodyBytes(); got != 0 {
		t.Fatalf("hot bodies after the delete = %d; want 0", got)
	}
}

func testSettleErrors(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	env.Queue("q", broker.QueueProperties{})
	env.Send("q", "a")
	m := env.Receive("q", 1, broker.PeekLock)[0]
	b := env.Broker
	WantCode(t, b.Settle(env.Ctx, "q", broker.LockToken{1, 2, 3}, broker.Settlement{Disposition: broker.Complete}), broker.CodeLockLost)
	WantCode(t, b.Settle(env.Ctx, "q/$DeadLetterQueue", m.LockToken, broker.Settlement{Disposition: broker.Complete}), broker.CodeLockLost)
	WantCode(t, b.Settle(env.Ctx, "nope", m.LockToken, broker.Settlement{Disposition: broker.Complete}), broker.CodeNotFound)
	WantCode(t, b.Settle(env.Ctx, "q", m.LockToken, broker.Settlement{Disposition: broker.Abandon,
		Properties: map[string]any{"bad": struct{}{}}}), broker.CodeInvalidArgument)
	env.Settle("q", m, broker.Settlement{Disposition: broker.Complete})
	WantCode(t, b.Settle(env.Ctx, "q", m.LockToken, broker.Settlement{Disposition: broker.Complete}), broker.CodeLockLost)
	WantCode(t, b.Settle(env.Ctx, "q", m.LockToken, broker.Settlement{Disposition: broker.Abandon}), broker.CodeLockLost)
	env.WantCounts("q", 0, 0, 0, 0)
}

func testAbandonAndMaxDelivery(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	env.Queue("q", broker.QueueProperties{MaxDeliveryCount: 3})
	env.SendMsgs("q", &broker.Message{Body: []byte("a"), Properties: map[string]any{"k": "v0"}})
	for i := range 3 {
		m := env.Receive("q", 1, broker.PeekLock)[0]
		if m.DeliveryCount != int32(i) {
			t.Fatalf("delivery %d: DeliveryCount = %d", i, m.DeliveryCount)
		}
		if i > 0 && m.Properties["k"] != "v"+string(rune('0'+i)) {
			t.Fatalf("delivery %d: properties = %v", i, m.Properties)
		}
		env.Settle("q", m, broker.Settlement{Disposition: broker.Abandon, Properties: map[string]any{"k": "v" + string(rune('1'+i))}})
	}
	env.WantCounts("q", 0, 0, 0, 1)
	if got := env.Receive("q", 1, broker.PeekLock); len(got) != 0 {
		t.Fatalf("message still in the main queue")
	}
	d := env.Receive("q/$DeadLetterQueue", 1, broker.PeekLock)
	if len(d) != 1 {
		t.Fatalf("dead-letter queue has %d messages", len(d))
	}
	m := d[0]
	if m.DeadLetterReason != "MaxDeliveryCountExceeded" || m.DeliveryCount != 3 || !m.DeadLettered || m.SequenceNumber != 1 ||
		m.Properties["DeadLetterReason"] != "MaxDeliveryCountExceeded" || m.Properties["k"] != "v3" ||
		!strings.Contains(m.DeadLetterDescription, "3 delivery attempts") || m.DeadLetterSource != "" {
		t.Fatalf("dead-lettered message = %+v", m)
	}
	// Abandon in the DLQ does not count.
	env.Settle("q/$DeadLetterQueue", m, broker.Settlement{Disposition: broker.Abandon})
	m = env.Receive("q/$deadletterqueue", 1, broker.PeekLock)[0]
	if m.DeliveryCount != 3 {
		t.Fatalf("DLQ abandon changed DeliveryCount to %d", m.DeliveryCount)
	}
	env.Restart()
	m = env.Receive("q/$DeadLetterQueue", 1, broker.PeekLock)[0]
	if m.DeliveryCount != 3 || m.DeadLetterReason != "MaxDeliveryCountExceeded" {
		t.Fatalf("after restart: %+v", m)
	}
	env.Settle("q/$DeadLetterQueue", m, broker.Settlement{Disposition: broker.Complete})
	env.WantCounts("q", 0, 0, 0, 0)
}

func testRelease(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	env.Queue("q", broker.QueueProperties{MaxDeliveryCount: 1})
	env.Send("q", "a")
	for range 3 {
		m := env.Receive("q", 1, broker.PeekLock)[0]
		if m.DeliveryCount != 0 {
			t.Fatalf("release counted a delivery: %d", m.DeliveryCount)
		}
		env.Settle("q", m, broker.Settlement{Disposition: broker.Release})
	}
	env.WantCounts("q", 1, 0, 0, 0)
}

func testLockExpiry(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	env.Queue("q", broker.QueueProperties{LockDuration: 10 * time.Second, MaxDeliveryCount: 2})
	env.Send("q", "a")
	m := env.Receive("q", 1, broker.PeekLock)[0]
	env.Advance(9 * time.Second)
	if got := env.Receive("q", 1, broker.PeekLock); len(got) != 0 {
		t.Fatal("message redelivered before its lock expired")
	}
	env.Advance(time.Second)
	WantCode(t, env.Broker.Settle(env.Ctx, "q", m.LockToken, broker.Settlement{Disposition: broker.Complete}), broker.CodeLockLost)
	m2 := env.Receive("q", 1, broker.PeekLock)
	if len(m2) != 1 || m2[0].DeliveryCount != 1 || m2[0].LockToken == m.LockToken {
		t.Fatalf("after expiry: %+v", m2)
	}
	env.Advance(10 * time.Second)
	env.WantCounts("q", 0, 0, 0, 1)
	d := env.Receive("q/$DeadLetterQueue", 1, broker.PeekLock)
	if len(d) != 1 || d[0].DeadLetterReason != "MaxDeliveryCountExceeded" {
		t.Fatalf("DLQ after expiries: %+v", d)
	}
	// A lock in the DLQ expires without counting.
	env.Advance(10 * time.Second)
	d = env.Receive("q/$DeadLetterQueue", 1, broker.PeekLock)
	if len(d) != 1 || d[0].DeliveryCount != 2 {
		t.Fatalf("DLQ redelivery: %+v", d)
	}
}

func testRenewLock(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	env.Queue("q", broker.QueueProperties{LockDuration: 10 * time.Second})
	env.Send("q", "a")
	m := env.Receive("q", 1, broker.PeekLock)[0]
	env.Advance(8 * time.Second)
	until, err := env.Broker.RenewLock(env.Ctx, "q", []broker.LockToken{m.LockToken})
	if err != nil {
		t.Fatal(err)
	}
	if want := Epoch.Add(18 * time.Second); !until[0].Equal(want) {
		t.Fatalf("renewed until %v; want %v", until[0], want)
	}
	env.Advance(8 * time.Second)
	env.Settle("q", m, broker.Settlement{Disposition: broker.Complete})
	_, err = env.Broker.RenewLock(env.Ctx, "q", []broker.LockToken{m.LockToken})
	WantCode(t, err, broker.CodeLockLost)
	env.Send("q", "b")
	m = env.Receive("q", 1, broker.PeekLock)[0]
	env.Advance(10 * time.Second)
	_, err = env.Broker.RenewLock(env.Ctx, "q", []broker.LockToken{m.LockToken})
	WantCode(t, err, broker.CodeLockLost)
}

func testDeferAndReceiveDeferred(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	env.Queue("q", broker.QueueProperties{})
	env.Send("q", "a", "b")
	m := env.Receive("q", 1, broker.PeekLock)[0]
	env.Settle("q", m, broker.Settlement{Disposition: broker.Defer, Properties: map[string]any{"why": "later"}})
	env.WantCounts("q", 1, 0, 1, 0)
	got := env.Receive("q", 5, broker.PeekLock)
	if !slices.Equal(Bodies(got), []string{"b"}) {
		t.Fatalf("deferred message was received normally: %v", Bodies(got))
	}
	p, _ := env.Broker.Peek(env.Ctx, "q", 1, 1, "")
	if len(p) != 1 || p[0].State != broker.StateDeferred {
		t.Fatalf("peek of deferred = %+v", p)
	}
	_, err := env.Broker.ReceiveDeferred(env.Ctx, "q", []int64{1, 2}, broker.PeekLock, nil)
	WantCode(t, err, broker.CodeMessageNotFound)
	_, err = env.Broker.ReceiveDeferred(env.Ctx, "q", []int64{99}, broker.PeekLock, nil)
	WantCode(t, err, broker.CodeMessageNotFound)
	env.Restart()
	d, err := env.Broker.ReceiveDeferred(env.Ctx, "q", []int64{1}, broker.PeekLock, nil)
	if err != nil || len(d) != 1 || string(d[0].Body) != "a" || d[0].LockToken.IsZero() || d[0].Properties["why"] != "later" || d[0].State != broker.StateDeferred {
		t.Fatalf("ReceiveDeferred = %+v, %v", d, err)
	}
	// Abandoning a deferred message counts and keeps it deferred.
	env.Settle("q", d[0], broker.Settlement{Disposition: broker.Abandon})
	env.WantCounts("q", 1, 0, 1, 0)
	d, err = env.Broker.ReceiveDeferred(env.Ctx, "q", []int64{1}, broker.ReceiveAndDelete, nil)
	if err != nil || len(d) != 1 || d[0].DeliveryCount != 1 {
		t.Fatalf("ReceiveDeferred R&D = %+v, %v", d, err)
	}
	env.WantCounts("q", 1, 0, 0, 0)
}

func testDeadLetter(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	env.Queue("q", broker.QueueProperties{})
	env.Send("q", "a")
	m := env.Receive("q", 1, broker.PeekLock)[0]
	env.Settle("q", m, broker.Settlement{Disposition: broker.DeadLetter, DeadLetterReason: "bad", DeadLetterDescription: "it was bad",
		Properties: map[string]any{"extra": int32(7)}})
	env.WantCounts("q", 0, 0, 0, 1)
	WantCode(t, env.Broker.Settle(env.Ctx, "q", m.LockToken, broker.Settlement{Disposition: broker.Complete}), broker.CodeLockLost)
	_, err := env.Broker.Send(env.Ctx, "q/$DeadLetterQueue", []*broker.Message{{Body: []byte("x")}})
	WantCode(t, err, broker.CodeInvalidArgument)
	env.Restart()
	d := env.Receive("q/$DeadLetterQueue", 1, broker.PeekLock)[0]
	if d.DeadLetterReason != "bad" || d.DeadLetterDescription != "it was bad" || d.Properties["extra"] != int32(7) ||
		d.Properties["DeadLetterErrorDescription"] != "it was bad" || d.SequenceNumber != 1 || d.DeadLetterSource != "" {
		t.Fatalf("dead-lettered = %+v", d)
	}
	WantCode(t, env.Broker.Settle(env.Ctx, "q/$DeadLetterQueue", d.LockToken, broker.Settlement{Disposition: broker.DeadLetter}), broker.CodeInvalidArgument)
	env.Settle("q/$DeadLetterQueue", d, broker.Settlement{Disposition: broker.Complete})
	env.WantCounts("q", 0, 0, 0, 0)
}
