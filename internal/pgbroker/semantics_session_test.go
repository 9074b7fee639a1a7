package pgbroker

import (
	"slices"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

func TestSemanticsSessions(t *testing.T) {
	p := newPair(t)
	p.queue("s", broker.QueueProperties{RequiresSession: true, LockDuration: 10 * time.Second, MaxDeliveryCount: 2})
	p.send("s", smsg("a", "a1"), smsg("b", "b1"), smsg("a", "a2"), smsg("a", "a3"))
	p.recv("s", 1) // no session: refused on both
	la, _ := p.accept("s", "")
	if la.m.SessionID != "a" {
		t.Fatalf("next session %q", la.m.SessionID)
	}
	p.accept("s", "a") // held
	got := p.receive("s", broker.ReceiveOptions{MaxMessages: 2}, la)
	// Message locks of a session are renewed with the session.
	_, em := p.mem.RenewLock(p.ctx, "s", []broker.LockToken{got[0].m.LockToken})
	_, eg := p.pg.RenewLock(p.ctx, "s", []broker.LockToken{got[0].g.LockToken})
	p.sameErr("renew a session message", em, eg)
	p.advance(8 * time.Second)
	um, em := p.mem.RenewSessionLock(p.ctx, "s", la.m)
	ug, eg := p.pg.RenewSessionLock(p.ctx, "s", la.g)
	p.sameErr("renew session", em, eg)
	if !um.Equal(ug) {
		t.Fatalf("renewed until %v and %v", um, ug)
	}
	p.advance(8 * time.Second) // past the first message lock, within the session's
	p.settle("s", got[0], broker.Settlement{Disposition: broker.Complete})
	p.settle("s", got[1], broker.Settlement{Disposition: broker.Abandon})
	got = p.receive("s", broker.ReceiveOptions{MaxMessages: 5}, la)
	p.peek("s", 0, 10, "a")
	// Session state.
	sm, em := p.mem.GetSessionState(p.ctx, "s", la.m)
	sg, eg := p.pg.GetSessionState(p.ctx, "s", la.g)
	p.sameErr("get state", em, eg)
	if sm != nil || sg != nil {
		t.Fatalf("state %q %q", sm, sg)
	}
	p.sameErr("set state", p.mem.SetSessionState(p.ctx, "s", la.m, []byte("st")), p.pg.SetSessionState(p.ctx, "s", la.g, []byte("st")))
	// Release: the messages are available again, counting nothing; a late
	// settlement is told the session lock was lost.
	p.sameErr("release", p.mem.ReleaseSession(p.ctx, "s", la.m), p.pg.ReleaseSession(p.ctx, "s", la.g))
	p.sameErr("release again", p.mem.ReleaseSession(p.ctx, "s", la.m), p.pg.ReleaseSession(p.ctx, "s", la.g))
	p.settle("s", got[0], broker.Settlement{Disposition: broker.Complete})
	p.sameErr("state after release", p.mem.SetSessionState(p.ctx, "s", la.m, nil), p.pg.SetSessionState(p.ctx, "s", la.g, nil))
	p.peek("s", 0, 10, "")
	if lb, _ := p.accept("s", ""); lb.m.SessionID != "b" {
		t.Fatalf("next session %q", lb.m.SessionID)
	}
	lb, _ := p.accept("s", "a")
	got = p.receive("s", broker.ReceiveOptions{MaxMessages: 5}, lb)
	// The session lock lapses: nothing counts; the session is free.
	p.advance(11 * time.Second)
	p.settle("s", got[0], broker.Settlement{Disposition: broker.Complete})
	p.receive("s", broker.ReceiveOptions{MaxMessages: 5}, lb)
	p.peek("s", 0, 10, "")
	p.wantCounts("s", 3, 0, 0, 0)
	lc, _ := p.accept("s", "a")
	got = p.receive("s", broker.ReceiveOptions{MaxMessages: 5}, lc)
	p.settle("s", got[0], broker.Settlement{Disposition: broker.Defer})
	mm, em := p.mem.ReceiveDeferred(p.ctx, "s", []int64{got[0].m.SequenceNumber}, broker.PeekLock, lc.m)
	mg, eg := p.pg.ReceiveDeferred(p.ctx, "s", []int64{got[0].g.SequenceNumber}, broker.PeekLock, lc.g)
	p.sameErr("receive deferred", em, eg)
	d := p.sameMsgs("receive deferred", mm, mg)
	p.settle("s", d[0], broker.Settlement{Disposition: broker.DeadLetter, DeadLetterReason: "r"})
	p.wantCounts("s", 2, 0, 0, 1)
	dls := p.recv("s/$DeadLetterQueue", 5)
	// Deferred in the dead-letter sub-queue of a session entity: taken back
	// without a session.
	p.settle("s/$DeadLetterQueue", dls[0], broker.Settlement{Disposition: broker.Defer})
	p.sameErr("release", p.mem.ReleaseSession(p.ctx, "s", lc.m), p.pg.ReleaseSession(p.ctx, "s", lc.g))
	mm, em = p.mem.ReceiveDeferred(p.ctx, "s/$DeadLetterQueue", []int64{dls[0].m.SequenceNumber}, broker.PeekLock, nil)
	mg, eg = p.pg.ReceiveDeferred(p.ctx, "s/$DeadLetterQueue", []int64{dls[0].g.SequenceNumber}, broker.PeekLock, nil)
	p.sameErr("receive deferred from the DLQ", em, eg)
	dls = p.sameMsgs("receive deferred from the DLQ", mm, mg)
	p.advance(11 * time.Second) // its lock lapses: it is deferred again, counting nothing
	p.peek("s/$DeadLetterQueue", 0, 5, "")
	p.wantCounts("s", 2, 0, 0, 1)
	lc, _ = p.accept("s", "a")
	list := func(since time.Time, skip, top int) {
		t.Helper()
		lm, em := p.mem.ListSessions(p.ctx, "s", since, skip, top)
		lg, eg := p.pg.ListSessions(p.ctx, "s", since, skip, top)
		p.sameErr("list sessions", em, eg)
		if !slices.Equal(lm, lg) {
			t.Fatalf("list sessions (%v, %d, %d): broker %q, engine %q", since, skip, top, lm, lg)
		}
	}
	p.sameErr("set state", p.mem.SetSessionState(p.ctx, "s", lc.m, []byte("x")), p.pg.SetSessionState(p.ctx, "s", lc.g, []byte("x")))
	list(time.Time{}, 0, 0)
	list(time.Time{}, 1, 0)
	list(time.Time{}, 0, 1)
	list(time.Time{}, 5, 1)
	list(time.Time{}, -1, 1)
	list(epoch, 0, 0)
	list(p.clk.Now(), 0, 0)
	list(time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), 0, 0)
	p.accept("s/$DeadLetterQueue", "a")
	p.accept("nope", "a")
}

func TestSemanticsSessionLapseDoesNotCount(t *testing.T) {
	p := newPair(t)
	p.queue("s", broker.QueueProperties{RequiresSession: true, LockDuration: 5 * time.Second, MaxDeliveryCount: 1})
	p.send("s", smsg("a", "a1"))
	for range 3 {
		l, _ := p.accept("s", "")
		p.receive("s", broker.ReceiveOptions{MaxMessages: 5}, l)
		p.advance(6 * time.Second)
		p.peek("s", 0, 5, "")
		p.wantCounts("s", 1, 0, 0, 0)
	}
}

// A lapsed lock at MaxDeliveryCount dead-letters the message with the
// reason over an application property of the same name, as the broker.
func TestSemanticsLapseDeadLetterProperties(t *testing.T) {
	p := newPair(t)
	p.queue("q", broker.QueueProperties{LockDuration: 5 * time.Second, MaxDeliveryCount: 1})
	p.queue("d", broker.QueueProperties{DeadLetteringOnMessageExpiration: true})
	m := &broker.Message{MessageID: "a", Body: []byte("a"), Properties: map[string]any{"DeadLetterReason": "mine", "k": "v"}}
	p.send("q", m)
	p.recv("q", 1)
	p.advance(6 * time.Second)
	p.peek("q/$DeadLetterQueue", 0, 5, "")
	dl := p.recv("q/$DeadLetterQueue", 1)
	p.settle("q/$DeadLetterQueue", dl[0], broker.Settlement{Disposition: broker.Abandon, Properties: map[string]any{"DeadLetterErrorDescription": "later"}})
	p.peek("q/$DeadLetterQueue", 0, 5, "")
	m.TimeToLive = time.Second
	p.send("d", m)
	p.advance(2 * time.Second)
	p.peek("d/$DeadLetterQueue", 0, 5, "")
}
