package brokertest

import (
	"testing"

	"github.com/batonmq/baton/internal/broker"
)

// testSettleMany: one SettleMany call over two queues and their dead-letter
// queue, mixing every disposition with requests that must fail on their
// own (unknown entity, unknown token, the same token twice, a bad property),
// answers each request as Settle would and leaves each message where that
// settlement puts it — also after a restart.
func testSettleMany(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	b := env.Broker
	env.Queue("a", broker.QueueProperties{})
	env.Queue("b", broker.QueueProperties{})
	env.Send("a", "a0", "a1", "a2", "a3", "a4", "a5")
	env.Send("b", "b0", "b1")
	am := env.Receive("a", 6, broker.PeekLock)
	bm := env.Receive("b", 2, broker.PeekLock)
	if len(am) != 6 || len(bm) != 2 {
		t.Fatalf("received %d and %d; want 6 and 2", len(am), len(bm))
	}
	// a5 goes to the DLQ first, to be completed from there in the batch.
	env.Settle("a", am[5], broker.Settlement{Disposition: broker.DeadLetter})
	dl := env.Receive("a/$DeadLetterQueue", 1, broker.PeekLock)
	if len(dl) != 1 {
		t.Fatalf("dead-letter receive: %d messages", len(dl))
	}
	reqs := []broker.SettleRequest{
		{Path: "a", Token: am[0].LockToken, Settlement: broker.Settlement{Disposition: broker.Complete}},
		{Path: "b", Token: bm[0].LockToken, Settlement: broker.Settlement{Disposition: broker.Complete}},
		{Path: "a", Token: am[1].LockToken, Settlement: broker.Settlement{Disposition: broker.Abandon, Properties: map[string]any{"k": "v"}}},
		{Path: "nope", Token: am[2].LockToken, Settlement: broker.Settlement{Disposition: broker.Complete}},
		{Path: "a", Token: am[2].LockToken, Settlement: broker.Settlement{Disposition: broker.Defer}},
		{Path: "a", Token: am[2].LockToken, Settlement: broker.Settlement{Disposition: broker.Complete}}, // settling: lock lost
		{Path: "a", Token: am[3].LockToken, Settlement: broker.Settlement{Disposition: broker.DeadLetter, DeadLetterReason: "r"}},
		{Path: "a", Token: am[4].LockToken, Settlement: broker.Settlement{Disposition: broker.Release}},
		{Path: "b", Token: broker.LockToken{1, 2, 3}, Settlement: broker.Settlement{Disposition: broker.Complete}},
		{Path: "b", Token: bm[1].LockToken, Settlement: broker.Settlement{Disposition: broker.Abandon, Properties: map[string]any{"bad": []int{1}}}},
		{Path: "a/$DeadLetterQueue", Token: dl[0].LockToken, Settlement: broker.Settlement{Disposition: broker.Complete}},
	}
	errs := b.SettleMany(env.Ctx, reqs)
	if len(errs) != len(reqs) {
		t.Fatalf("%d answers for %d requests", len(errs), len(reqs))
	}
	for _, i := range []int{0, 1, 2, 4, 6, 7, 10} {
		if errs[i] != nil {
			t.Errorf("request %d (%s of %q): %v", i, reqs[i].Disposition, reqs[i].Path, errs[i])
		}
	}
	WantCode(t, errs[3], broker.CodeNotFound)
	WantCode(t, errs[5], broker.CodeLockLost)
	WantCode(t, errs[8], broker.CodeLockLost)
	WantCode(t, errs[9], broker.CodeInvalidArgument)

	check := func() {
		t.Helper()
		// a: a1 (abandoned) and a4 (released) active, a2 deferred, a3
		// dead-lettered; b: b1 still locked (its settlement failed) or, after
		// a restart, active again.
		env.WantCounts("a", 2, 0, 1, 1)
		if c := env.Counts("b"); c.Active != 1 || c.DeadLettered != 0 {
			t.Fatalf("counts of b = %+v; want one active", c)
		}
	}
	check()
	if err := b.Settle(env.Ctx, "b", bm[1].LockToken, broker.Settlement{Disposition: broker.Abandon}); err != nil {
		t.Fatalf("the message whose batched settlement failed is still locked and settles alone: %v", err)
	}
	env.Restart()
	check()
	got := env.Receive("a", 2, broker.PeekLock)
	if len(got) != 2 || string(got[0].Body) != "a1" || string(got[1].Body) != "a4" {
		t.Fatalf("after restart a holds %v; want a1, a4", got)
	}
	if got[0].DeliveryCount != am[1].DeliveryCount+1 || got[0].Properties["k"] != "v" {
		t.Fatalf("abandoned a1: delivery count %d, properties %v; want %d and k=v", got[0].DeliveryCount, got[0].Properties, am[1].DeliveryCount+1)
	}
	if got[1].DeliveryCount != am[4].DeliveryCount {
		t.Fatalf("released a4: delivery count %d; want %d (release does not count)", got[1].DeliveryCount, am[4].DeliveryCount)
	}
}
