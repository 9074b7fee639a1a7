package pgbroker

import (
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

// TestSemanticsForwarding: auto-forwarding against the broker's — a queue
// forwarding to a queue, a subscription forwarding to a queue, dead-lettered
// messages forwarded with their source, a chain, and the refusals (a
// missing destination, a loop, a subscription as destination).
func TestSemanticsForwarding(t *testing.T) {
	p := newPair(t)
	p.queue("dest", broker.QueueProperties{})
	p.queue("dlqdest", broker.QueueProperties{})
	p.queue("src", broker.QueueProperties{ForwardTo: "dest", ForwardDeadLetteredMessagesTo: "dlqdest"})
	p.queue("plain", broker.QueueProperties{MaxDeliveryCount: 1, ForwardDeadLetteredMessagesTo: "dlqdest"})
	p.topic("t", broker.QueueProperties{})
	p.sub("t", "s", broker.QueueProperties{ForwardTo: "dest"}, nil)

	p.send("src", msg("a"), msg("b"))
	p.send("t", msg("c"))
	p.counts("src")
	p.counts("t/Subscriptions/s")
	p.wantCounts("dest", 3, 0, 0, 0)
	p.peek("dest", 0, 10, "")
	p.recv("src", 5) // nothing: forwarded

	// Dead-lettered messages of plain go to dlqdest, their source named.
	p.send("plain", msg("d"))
	for _, m := range p.recv("plain", 1) {
		p.settle("plain", m, broker.Settlement{Disposition: broker.Abandon})
	}
	p.counts("plain")
	p.wantCounts("dlqdest", 1, 0, 0, 0)
	got := p.peek("dlqdest", 0, 10, "")
	if len(got) != 1 || got[0].g.DeadLetterSource != "plain" {
		t.Fatalf("forwarded dead letter: %+v", got)
	}

	// Refusals, as the broker's.
	for _, c := range []struct {
		name  string
		props broker.QueueProperties
	}{
		{"x1", broker.QueueProperties{ForwardTo: "nope"}},
		{"x2", broker.QueueProperties{ForwardTo: "t/Subscriptions/s"}},
	} {
		_, em := p.mem.CreateQueue(p.ctx, c.name, c.props)
		_, eg := p.pg.CreateQueue(p.ctx, c.name, c.props)
		p.sameErr("create "+c.name, em, eg)
	}
	_, em := p.mem.UpdateQueue(p.ctx, "dest", broker.QueueProperties{ForwardTo: "src"})
	_, eg := p.pg.UpdateQueue(p.ctx, "dest", broker.QueueProperties{ForwardTo: "src"})
	p.sameErr("a loop", em, eg)
	_, em = p.mem.UpdateQueue(p.ctx, "dest", broker.QueueProperties{ForwardTo: "t"})
	_, eg = p.pg.UpdateQueue(p.ctx, "dest", broker.QueueProperties{ForwardTo: "t"})
	p.sameErr("a loop through a topic", em, eg)

	// A lapsed lock that dead-letters moves at the lease holder's tick.
	p.queue("short", broker.QueueProperties{MaxDeliveryCount: 1, LockDuration: time.Second, ForwardDeadLetteredMessagesTo: "dlqdest"})
	p.send("short", msg("e"))
	p.recv("short", 1)
	p.advance(2 * time.Second)
	p.counts("short")
	p.wantCounts("dlqdest", 2, 0, 0, 0)
}
