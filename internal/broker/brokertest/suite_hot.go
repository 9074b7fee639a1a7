package brokertest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/batonmq/baton/internal/broker"
)

// testHotBodies checks the broker's hot-body accounting (bodies of stored
// messages kept in memory, Config.HotBodyBytes) through every way a message
// leaves a queue, and that deliveries carry the right bodies whether or not
// the body was kept: stores that keep bodies themselves (BodyRef) let the
// broker drop them, others keep everything in memory and count nothing.
func testHotBodies(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	b := env.Broker
	env.Queue("hot", broker.QueueProperties{})
	const n = 12
	bodies := make([]string, n)
	total := int64(0)
	for i := range bodies {
		bodies[i] = fmt.Sprintf("body-%02d-%s", i, strings.Repeat("x", 90+i))
		total += int64(len(bodies[i]))
	}
	seqs := env.Send("hot", bodies...)
	size := map[int64]int64{}
	for i, s := range seqs {
		size[s] = int64(len(bodies[i]))
	}
	hot := b.HotBodyBytes()
	kept := hot > 0 // the store sets BodyRef and the budget allows
	switch {
	case f.HotBodyBytes < 0 && hot != 0:
		t.Fatalf("HotBodyBytes = %d with the budget off; want 0", hot)
	case kept && hot != total:
		t.Fatalf("HotBodyBytes = %d after sending %d bytes of bodies; want all of them", hot, total)
	}
	want := func(step string, w int64) {
		t.Helper()
		if !kept {
			w = 0
		}
		if got := b.HotBodyBytes(); got != w {
			t.Fatalf("%s: HotBodyBytes = %d; want %d", step, got, w)
		}
	}

	msgs := env.Receive("hot", n, broker.PeekLock)
	if len(msgs) != n {
		t.Fatalf("received %d messages; want %d", len(msgs), n)
	}
	for i, m := range msgs {
		if string(m.Body) != bodies[i] {
			t.Fatalf("message %d body = %q; want %q", i, m.Body, bodies[i])
		}
	}
	// Complete 3, abandon 2 (stay), defer 2 (stay), dead-letter 3 (stay, in
	// the DLQ), leave 2 locked.
	left := total
	for _, m := range msgs[:3] {
		env.Settle("hot", m, broker.Settlement{Disposition: broker.Complete})
		left -= size[m.SequenceNumber]
	}
	want("after 3 completions", left)
	for _, m := range msgs[3:5] {
		env.Settle("hot", m, broker.Settlement{Disposition: broker.Abandon})
	}
	for _, m := range msgs[5:7] {
		env.Settle("hot", m, broker.Settlement{Disposition: broker.Defer})
	}
	for _, m := range msgs[7:10] {
		env.Settle("hot", m, broker.Settlement{Disposition: broker.DeadLetter, DeadLetterReason: "test"})
	}
	want("after abandon, defer and dead-letter", left)

	// The dead-lettered ones are delivered from the DLQ with their bodies;
	// receive-and-delete one, complete another.
	dl := env.Receive("hot/$DeadLetterQueue", 2, broker.PeekLock)
	if len(dl) != 2 {
		t.Fatalf("received %d dead-lettered messages; want 2", len(dl))
	}
	for i, m := range dl {
		if string(m.Body) != bodies[7+i] {
			t.Fatalf("dead-lettered body = %q; want %q", m.Body, bodies[7+i])
		}
	}
	env.Settle("hot/$DeadLetterQueue", dl[0], broker.Settlement{Disposition: broker.Complete})
	left -= size[dl[0].SequenceNumber]
	rd := env.Receive("hot/$DeadLetterQueue", 1, broker.ReceiveAndDelete)
	if len(rd) != 1 || string(rd[0].Body) != bodies[9] {
		t.Fatalf("receive-and-delete from the DLQ = %v; want message 9", rd)
	}
	left -= size[rd[0].SequenceNumber]
	want("after the DLQ settlements", left)

	// The abandoned ones come again with their bodies.
	again := env.Receive("hot", 2, broker.ReceiveAndDelete)
	if len(again) != 2 || string(again[0].Body) != bodies[3] || string(again[1].Body) != bodies[4] {
		t.Fatalf("abandoned messages delivered again = %v; want 3 and 4", again)
	}
	for _, m := range again {
		left -= size[m.SequenceNumber]
	}
	want("after receive-and-delete", left)

	// Deleting the queue gives back what is left (deferred, locked, one
	// dead-lettered).
	if err := b.DeleteEntity(env.Ctx, "hot"); err != nil {
		t.Fatal(err)
	}
	want("after deleting the queue", 0)

	// After a restart no body is hot; deliveries read them from the store.
	env.Queue("cold", broker.QueueProperties{})
	env.Send("cold", bodies[:4]...)
	env.Restart()
	b = env.Broker
	if got := b.HotBodyBytes(); got != 0 {
		t.Fatalf("HotBodyBytes after restart = %d; want 0", got)
	}
	cold := env.Receive("cold", 4, broker.ReceiveAndDelete)
	if len(cold) != 4 {
		t.Fatalf("received %d messages after restart; want 4", len(cold))
	}
	for i, m := range cold {
		if string(m.Body) != bodies[i] {
			t.Fatalf("body after restart = %q; want %q", m.Body, bodies[i])
		}
	}
}
