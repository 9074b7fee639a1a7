package pgbroker

import (
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

// The tests of this file run each scenario on the in-memory broker and on
// an Engine (pair) and compare every answer.

func TestSemanticsSendReceiveComplete(t *testing.T) {
	p := newPair(t)
	p.queue("q", broker.QueueProperties{LockDuration: 10 * time.Second})
	p.send("q", msg("a"), msg("b"), msg("c"))
	p.send("q")
	got := p.recv("q", 2)
	if len(got) != 2 {
		t.Fatalf("received %d", len(got))
	}
	p.wantCounts("q", 3, 0, 0, 0)
	p.peek("q", 0, 10, "")
	p.settle("q", got[0], broker.Settlement{Disposition: broker.Complete})
	p.settle("q", got[0], broker.Settlement{Disposition: broker.Complete}) // lock lost on both
	p.receive("q", broker.ReceiveOptions{MaxMessages: 5, Mode: broker.ReceiveAndDelete}, nil)
	p.wantCounts("q", 1, 0, 0, 0)
	p.settle("q", got[1], broker.Settlement{Disposition: broker.Release})
	p.peek("q", 0, 10, "")
	p.recv("q", 5)
	// Errors: an unknown entity, a DLQ send, oversized batches.
	p.send("nope", msg("x"))
	p.send("q/$DeadLetterQueue", msg("x"))
	p.recv("nope", 1)
	p.counts("nope")
	p.counts("q/$DeadLetterQueue")
	_, em := p.mem.GetEntity("t/Subscriptions/s")
	_, eg := p.pg.GetEntity("t/Subscriptions/s")
	p.sameErr("unknown subscription", em, eg)
}

func TestSemanticsAbandonMaxDelivery(t *testing.T) {
	p := newPair(t)
	p.queue("q", broker.QueueProperties{MaxDeliveryCount: 3})
	p.send("q", msg("a"), msg("b"))
	for range 3 {
		got := p.recv("q", 1)
		p.settle("q", got[0], broker.Settlement{Disposition: broker.Abandon, Properties: map[string]any{"n": int64(len(got))}})
		p.peek("q", 0, 10, "")
	}
	p.wantCounts("q", 1, 0, 0, 1)
	dl := p.recv("q/$DeadLetterQueue", 5)
	p.peek("q/$DeadLetterQueue", 0, 10, "")
	// Abandon and release in the DLQ do not count.
	p.settle("q/$DeadLetterQueue", dl[0], broker.Settlement{Disposition: broker.Abandon})
	dl = p.recv("q/$DeadLetterQueue", 5)
	// Deferred in the dead-letter sub-queue, and taken back from there.
	p.settle("q/$DeadLetterQueue", dl[0], broker.Settlement{Disposition: broker.Defer, Properties: map[string]any{"dd": "1"}})
	p.wantCounts("q", 1, 0, 0, 1)
	p.peek("q/$DeadLetterQueue", 0, 10, "")
	p.peek("q", 0, 10, "")
	p.recv("q/$DeadLetterQueue", 5)
	deferred := func(path string, mode broker.ReceiveMode) []both[*broker.Message] {
		t.Helper()
		mm, em := p.mem.ReceiveDeferred(p.ctx, path, []int64{dl[0].m.SequenceNumber}, mode, nil)
		mg, eg := p.pg.ReceiveDeferred(p.ctx, path, []int64{dl[0].g.SequenceNumber}, mode, nil)
		p.sameErr("receive deferred from "+path, em, eg)
		return p.sameMsgs("receive deferred from "+path, mm, mg)
	}
	deferred("q", broker.PeekLock) // not there
	dl = deferred("q/$DeadLetterQueue", broker.PeekLock)
	p.settle("q/$DeadLetterQueue", dl[0], broker.Settlement{Disposition: broker.Abandon})
	p.peek("q/$DeadLetterQueue", 0, 10, "")
	dl = deferred("q/$DeadLetterQueue", broker.PeekLock)
	p.settle("q/$DeadLetterQueue", dl[0], broker.Settlement{Disposition: broker.DeadLetter})
	p.settle("q/$DeadLetterQueue", dl[0], broker.Settlement{Disposition: broker.Release})
	p.settle("q/$DeadLetterQueue", dl[0], broker.Settlement{Disposition: broker.Complete})
	dl = deferred("q/$DeadLetterQueue", broker.PeekLock)
	p.settle("q/$DeadLetterQueue", dl[0], broker.Settlement{Disposition: broker.Defer})
	p.peek("q/$DeadLetterQueue", 0, 10, "")
	p.settle("q/$DeadLetterQueue", dl[0], broker.Settlement{Disposition: broker.Release})
	p.wantCounts("q", 1, 0, 0, 1)
	deferred("q/$DeadLetterQueue", broker.ReceiveAndDelete)
	p.wantCounts("q", 1, 0, 0, 0)
	// Again, to complete it with a lock.
	p.send("q", msg("x"))
	x := p.recv("q", 5)
	p.settle("q", x[0], broker.Settlement{Disposition: broker.DeadLetter})
	dl = p.recv("q/$DeadLetterQueue", 5)
	p.settle("q/$DeadLetterQueue", dl[0], broker.Settlement{Disposition: broker.Abandon})
	p.settle("q/$DeadLetterQueue", dl[0], broker.Settlement{Disposition: broker.Release})
	dl = p.recv("q/$DeadLetterQueue", 5)
	p.settle("q", dl[0], broker.Settlement{Disposition: broker.Complete}) // wrong sub-queue
	p.settle("q/$DeadLetterQueue", dl[0], broker.Settlement{Disposition: broker.Complete})
	p.wantCounts("q", 1, 0, 0, 0)
}

func TestSemanticsDeadLetterProperties(t *testing.T) {
	p := newPair(t)
	p.queue("q", broker.QueueProperties{})
	p.send("q", &broker.Message{MessageID: "a", Body: []byte("a"), Properties: map[string]any{"app": "x", "DeadLetterReason": "mine"}})
	got := p.recv("q", 1)
	p.settle("q", got[0], broker.Settlement{Disposition: broker.DeadLetter, DeadLetterReason: "why", DeadLetterDescription: "because",
		Properties: map[string]any{"extra": int64(7)}})
	p.peek("q/$DeadLetterQueue", 0, 5, "")
	p.recv("q/$DeadLetterQueue", 1)
	// Dead-lettering without a reason.
	p.send("q", msg("b"))
	got = p.recv("q", 1)
	p.settle("q", got[0], broker.Settlement{Disposition: broker.DeadLetter})
	p.peek("q/$DeadLetterQueue", 0, 5, "")
	p.receive("q/$DeadLetterQueue", broker.ReceiveOptions{MaxMessages: 5, Mode: broker.ReceiveAndDelete}, nil)
}

func TestSemanticsLockExpiry(t *testing.T) {
	p := newPair(t)
	p.queue("q", broker.QueueProperties{LockDuration: 5 * time.Second, MaxDeliveryCount: 2})
	p.send("q", msg("a"))
	got := p.recv("q", 1)
	p.advance(5 * time.Second)
	p.settle("q", got[0], broker.Settlement{Disposition: broker.Complete})
	if r, err := p.pg.RenewLock(p.ctx, "q", nil); err != nil || len(r) != 0 {
		t.Fatalf("renew of nothing: %v %v", r, err)
	}
	p.wantCounts("q", 1, 0, 0, 0)
	p.recv("q", 1) // delivery count 1
	p.advance(5 * time.Second)
	// The DLQ receives it (nothing touched the queue since the lock lapsed).
	dead := p.recv("q/$DeadLetterQueue", 1)
	p.settle("q/$DeadLetterQueue", dead[0], broker.Settlement{Disposition: broker.Abandon})
	p.recv("q", 1) // dead-lettered on both: nothing to receive
	p.wantCounts("q", 0, 0, 0, 1)
	dl := p.peek("q/$DeadLetterQueue", 0, 5, "")
	if len(dl) != 1 {
		t.Fatal("not dead-lettered")
	}
	// A lapsed lock in the DLQ counts nothing.
	got = p.recv("q/$DeadLetterQueue", 1)
	p.advance(5 * time.Second)
	p.recv("q/$DeadLetterQueue", 1)
	p.peek("q/$DeadLetterQueue", 0, 5, "")
}

// A receive-and-delete does not take a message whose lapsed lock reached
// MaxDeliveryCount: it is in the dead-letter sub-queue.
func TestSemanticsReceiveAndDeleteLapsed(t *testing.T) {
	p := newPair(t)
	p.queue("q", broker.QueueProperties{LockDuration: 5 * time.Second, MaxDeliveryCount: 1})
	p.send("q", msg("a"), msg("b"))
	p.recv("q", 1)
	p.clk.Advance(6 * time.Second) // no maintenance tick: the receive itself must see the lapse
	p.receive("q", broker.ReceiveOptions{MaxMessages: 5, Mode: broker.ReceiveAndDelete}, nil)
	p.wantCounts("q", 0, 0, 0, 1)
}

func TestSemanticsPeekLapsedLock(t *testing.T) {
	p := newPair(t)
	p.queue("q", broker.QueueProperties{LockDuration: 5 * time.Second, MaxDeliveryCount: 1})
	p.queue("r", broker.QueueProperties{LockDuration: 5 * time.Second, MaxDeliveryCount: 5})
	p.send("q", msg("a"))
	p.send("r", msg("a"))
	p.recv("q", 1)
	p.recv("r", 1)
	p.advance(6 * time.Second)
	p.peek("r", 0, 5, "")
	p.wantCounts("q", 0, 0, 0, 1)
	p.peek("q", 0, 5, "")
	p.peek("q/$DeadLetterQueue", 0, 5, "")
}

func TestSemanticsRenewLock(t *testing.T) {
	p := newPair(t)
	p.queue("q", broker.QueueProperties{LockDuration: 5 * time.Second})
	p.send("q", msg("a"), msg("b"))
	got := p.recv("q", 2)
	p.advance(3 * time.Second)
	rm, em := p.mem.RenewLock(p.ctx, "q", []broker.LockToken{got[0].m.LockToken, got[1].m.LockToken})
	rg, eg := p.pg.RenewLock(p.ctx, "q", []broker.LockToken{got[0].g.LockToken, got[1].g.LockToken})
	p.sameErr("renew", em, eg)
	if len(rm) != 2 || !rm[0].Equal(rg[0]) || !rm[1].Equal(rg[1]) {
		t.Fatalf("renew: broker %v, engine %v", rm, rg)
	}
	p.advance(4 * time.Second)
	p.settle("q", got[0], broker.Settlement{Disposition: broker.Complete})
	_, em = p.mem.RenewLock(p.ctx, "q", []broker.LockToken{got[0].m.LockToken})
	_, eg = p.pg.RenewLock(p.ctx, "q", []broker.LockToken{got[0].g.LockToken})
	p.sameErr("renew settled", em, eg)
	p.peek("q", 0, 5, "")
}

func TestSemanticsDefer(t *testing.T) {
	p := newPair(t)
	p.queue("q", broker.QueueProperties{LockDuration: 5 * time.Second, MaxDeliveryCount: 2})
	seqs, _ := p.send("q", msg("a"), msg("b"), msg("c"))
	got := p.recv("q", 3)
	for _, m := range got[:2] {
		p.settle("q", m, broker.Settlement{Disposition: broker.Defer, Properties: map[string]any{"d": true}})
	}
	p.wantCounts("q", 1, 0, 2, 0)
	p.recv("q", 5)
	p.peek("q", 0, 5, "")
	deferred := func(mode broker.ReceiveMode, s ...int64) []both[*broker.Message] {
		t.Helper()
		mm, em := p.mem.ReceiveDeferred(p.ctx, "q", s, mode, nil)
		mg, eg := p.pg.ReceiveDeferred(p.ctx, "q", s, mode, nil)
		p.sameErr("receive deferred", em, eg)
		return p.sameMsgs("receive deferred", mm, mg)
	}
	deferred(broker.PeekLock, seqs[2])     // not deferred
	deferred(broker.PeekLock, seqs[0], 99) // one missing
	d := deferred(broker.PeekLock, seqs[0])
	deferred(broker.PeekLock, seqs[0]) // locked
	p.settle("q", d[0], broker.Settlement{Disposition: broker.Abandon})
	d = deferred(broker.PeekLock, seqs[0])
	p.settle("q", d[0], broker.Settlement{Disposition: broker.Defer})
	// A lapsed lock of a deferred message counts a delivery too.
	d = deferred(broker.PeekLock, seqs[0])
	p.advance(5 * time.Second)
	p.peek("q", 0, 5, "")
	p.wantCounts("q", 1, 0, 1, 1)
	deferred(broker.ReceiveAndDelete, seqs[1])
	p.wantCounts("q", 1, 0, 0, 1)
}

func TestSemanticsScheduleAndTTL(t *testing.T) {
	p := newPair(t)
	p.queue("q", broker.QueueProperties{DefaultMessageTimeToLive: time.Minute})
	p.queue("d", broker.QueueProperties{DeadLetteringOnMessageExpiration: true})
	at := epoch.Add(10 * time.Second)
	sm, em := p.mem.Schedule(p.ctx, "q", []*broker.Message{msg("s1"), msg("s2")}, at)
	sg, eg := p.pg.Schedule(p.ctx, "q", []*broker.Message{msg("s1"), msg("s2")}, at)
	p.sameErr("schedule", em, eg)
	if len(sm) != 2 || sm[0] != sg[0] || sm[1] != sg[1] {
		t.Fatalf("schedule: %v %v", sm, sg)
	}
	p.send("q", &broker.Message{MessageID: "late", Body: []byte("late"), ScheduledEnqueueTime: epoch.Add(20 * time.Second)})
	p.send("q", &broker.Message{MessageID: "short", Body: []byte("short"), TimeToLive: 5 * time.Second})
	p.wantCounts("q", 1, 3, 0, 0)
	p.peek("q", 0, 10, "")
	cancel := func(s ...int64) {
		t.Helper()
		p.sameErr("cancel", p.mem.CancelScheduled(p.ctx, "q", s), p.pg.CancelScheduled(p.ctx, "q", s))
	}
	cancel(sm[1], 99)
	cancel(sm[1])
	cancel(sm[1])
	// A sequence number twice is the message once (the broker is not asked:
	// it mishandles duplicates).
	sd, err := p.pg.Schedule(p.ctx, "q", []*broker.Message{msg("dup")}, at)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.pg.CancelScheduled(p.ctx, "q", []int64{sd[0], sd[0]}); err != nil {
		t.Fatalf("cancel with a duplicate: %v", err)
	}
	p.wantCounts("q", 1, 2, 0, 0)
	p.advance(6 * time.Second) // "short" expires
	p.wantCounts("q", 0, 2, 0, 0)
	p.recv("q", 5)
	p.advance(5 * time.Second) // s1 is due
	p.wantCounts("q", 1, 1, 0, 0)
	p.peek("q", 0, 10, "")
	got := p.recv("q", 5)
	p.settle("q", got[0], broker.Settlement{Disposition: broker.Complete})
	p.advance(10 * time.Second)
	p.recv("q", 5)
	// Expiry into the dead-letter sub-queue.
	p.send("d", &broker.Message{MessageID: "e", Body: []byte("e"), TimeToLive: time.Second})
	p.send("d", &broker.Message{MessageID: "l", Body: []byte("l"), TimeToLive: 2 * time.Second})
	locked := p.recv("d", 1)
	p.advance(3 * time.Second)
	p.wantCounts("d", 1, 0, 0, 1)
	p.peek("d/$DeadLetterQueue", 0, 5, "")
	p.settle("d", locked[0], broker.Settlement{Disposition: broker.Abandon})
	p.tick()
	p.wantCounts("d", 0, 0, 0, 2)
	p.peek("d/$DeadLetterQueue", 0, 5, "")
}

// A message whose lock lapses and that expires meanwhile counts the failed
// delivery before it expires (into the dead-letter sub-queue here).
func TestSemanticsLapseThenExpire(t *testing.T) {
	p := newPair(t)
	p.queue("d", broker.QueueProperties{DeadLetteringOnMessageExpiration: true, LockDuration: 5 * time.Second, MaxDeliveryCount: 5})
	p.queue("m", broker.QueueProperties{DeadLetteringOnMessageExpiration: true, LockDuration: 5 * time.Second, MaxDeliveryCount: 1})
	for _, q := range []string{"d", "m"} {
		p.send(q, &broker.Message{MessageID: "a", Body: []byte("a"), TimeToLive: 6 * time.Second})
		p.recv(q, 1)
	}
	p.advance(7 * time.Second)
	for _, q := range []string{"d", "m"} {
		p.peek(q+"/$DeadLetterQueue", 0, 5, "")
		p.wantCounts(q, 0, 0, 0, 1)
	}
}

func TestSemanticsDuplicateDetection(t *testing.T) {
	p := newPair(t)
	p.queue("q", broker.QueueProperties{RequiresDuplicateDetection: true, DuplicateDetectionHistoryTimeWindow: time.Minute})
	p.send("q", msg("a"), msg("b"), msg("a"))
	p.send("q", msg("b"), msg("c"), &broker.Message{Body: []byte("no id")})
	p.advance(2 * time.Minute)
	p.send("q", msg("a"))
	p.peek("q", 0, 10, "")
	p.wantCounts("q", 5, 0, 0, 0)
}

func TestSemanticsEntities(t *testing.T) {
	p := newPair(t)
	p.queue("q", broker.QueueProperties{})
	p.queue("Q", broker.QueueProperties{})
	p.queue("bad name?", broker.QueueProperties{})
	p.queue("q2", broker.QueueProperties{ForwardTo: "q"})
	p.queue("x/$DeadLetterQueue", broker.QueueProperties{})
	_, em := p.mem.UpdateQueue(p.ctx, "q", broker.QueueProperties{RequiresSession: true})
	_, eg := p.pg.UpdateQueue(p.ctx, "q", broker.QueueProperties{RequiresSession: true})
	p.sameErr("update sessions", em, eg)
	im, em := p.mem.UpdateQueue(p.ctx, "q", broker.QueueProperties{Status: broker.StatusSendDisabled})
	ig, eg := p.pg.UpdateQueue(p.ctx, "q", broker.QueueProperties{Status: broker.StatusSendDisabled})
	p.sameErr("update", em, eg)
	if im.Properties != ig.Properties {
		t.Fatalf("update: %+v %+v", im.Properties, ig.Properties)
	}
	p.send("q", msg("a"))
	_, _ = p.mem.UpdateQueue(p.ctx, "q", broker.QueueProperties{Status: broker.StatusReceiveDisabled})
	_, _ = p.pg.UpdateQueue(p.ctx, "q", broker.QueueProperties{Status: broker.StatusReceiveDisabled})
	p.send("q", msg("a"))
	p.recv("q", 1)
	_, em = p.mem.UpdateQueue(p.ctx, "nope", broker.QueueProperties{})
	_, eg = p.pg.UpdateQueue(p.ctx, "nope", broker.QueueProperties{})
	p.sameErr("update missing", em, eg)
	p.sameErr("delete dlq", p.mem.DeleteEntity(p.ctx, "q/$DeadLetterQueue"), p.pg.DeleteEntity(p.ctx, "q/$DeadLetterQueue"))
	p.sameErr("delete", p.mem.DeleteEntity(p.ctx, "q"), p.pg.DeleteEntity(p.ctx, "q"))
	p.sameErr("delete again", p.mem.DeleteEntity(p.ctx, "q"), p.pg.DeleteEntity(p.ctx, "q"))
	p.send("q", msg("a"))
	lm, _ := p.mem.Entities(p.ctx, 0)
	lg, err := p.pg.Entities(p.ctx, broker.KindQueue)
	if err != nil || len(lm) != len(lg) {
		t.Fatalf("entities: %d %d %v", len(lm), len(lg), err)
	}
	for i := range lm {
		if lm[i].Name != lg[i].Name {
			t.Fatalf("entity %d: %s %s", i, lm[i].Name, lg[i].Name)
		}
	}
	_, em = p.mem.Send(p.ctx, "t/Subscriptions/s", []*broker.Message{msg("a")})
	_, eg = p.pg.Send(p.ctx, "t/Subscriptions/s", []*broker.Message{msg("a")})
	p.sameErr("send to an unknown subscription", em, eg)
}
