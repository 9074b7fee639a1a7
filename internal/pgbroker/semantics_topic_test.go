package pgbroker

import (
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

// topic creates a topic on both.
func (p *pair) topic(name string, props broker.QueueProperties) {
	p.t.Helper()
	_, em := p.mem.CreateTopic(p.ctx, name, props)
	_, eg := p.pg.CreateTopic(p.ctx, name, props)
	p.sameErr("create topic "+name, em, eg)
}

// sub creates a subscription on both.
func (p *pair) sub(topic, name string, props broker.QueueProperties, rule *broker.Rule) {
	p.t.Helper()
	_, em := p.mem.CreateSubscription(p.ctx, topic, name, props, rule)
	_, eg := p.pg.CreateSubscription(p.ctx, topic, name, props, rule)
	p.sameErr("create subscription "+name, em, eg)
}

// pmsg is a message with application properties.
func pmsg(body string, props map[string]any) *broker.Message {
	m := msg(body)
	m.Properties = props
	return m
}

// TestSemanticsTopics: topic sends routed by SQL and correlation filters,
// rule actions, false filters, session subscriptions, per-subscription
// sequence numbers, scheduled topic messages and their cancellation, TTL
// from the topic and the subscription, rules added and removed, counts,
// and deletion — against the broker.
func TestSemanticsTopics(t *testing.T) {
	p := newPair(t)
	p.topic("t", broker.QueueProperties{DefaultMessageTimeToLive: time.Hour})
	p.sub("t", "all", broker.QueueProperties{}, nil)
	p.sub("t", "red", broker.QueueProperties{}, &broker.Rule{Name: "red", Filter: broker.RuleFilter{Kind: broker.FilterSQL, SQL: "color = 'red'"}})
	p.sub("t", "corr", broker.QueueProperties{DefaultMessageTimeToLive: time.Minute},
		&broker.Rule{Name: "c", Filter: broker.RuleFilter{Kind: broker.FilterCorrelation, Correlation: &broker.CorrelationFilter{Subject: "s1"}}})
	p.sub("t", "act", broker.QueueProperties{}, &broker.Rule{Name: "a", Filter: broker.RuleFilter{Kind: broker.FilterTrue}, Action: "SET tagged = 'yes'"})
	p.sub("t", "none", broker.QueueProperties{}, &broker.Rule{Name: "f", Filter: broker.RuleFilter{Kind: broker.FilterFalse}})
	p.sub("t", "sess", broker.QueueProperties{RequiresSession: true}, nil)

	m1 := pmsg("m1", map[string]any{"color": "red"})
	m2 := pmsg("m2", map[string]any{"color": "blue"})
	m2.Subject = "s1"
	m3 := smsg("x", "m3")
	p.send("t", m1, m2, m3)
	for _, s := range []string{"all", "red", "corr", "act", "none", "sess"} {
		p.peek("t/Subscriptions/"+s, 0, 10, "")
		p.counts("t/Subscriptions/" + s)
	}
	p.counts("t")
	// The session subscription dead-lettered the copies without a session.
	p.wantCounts("t/Subscriptions/sess", 1, 0, 0, 2)
	p.peek("t/Subscriptions/sess/$DeadLetterQueue", 0, 10, "")
	got := p.recv("t/Subscriptions/act", 5)
	if len(got) != 3 || got[0].g.Properties["tagged"] != "yes" || got[0].g.Properties["RuleName"] != "a" {
		t.Fatalf("action copies: %d %+v", len(got), got[0].g.Properties)
	}
	for _, m := range got {
		p.settle("t/Subscriptions/act", m, broker.Settlement{Disposition: broker.Complete})
	}
	for _, m := range p.recv("t/Subscriptions/all", 5) {
		p.settle("t/Subscriptions/all", m, broker.Settlement{Disposition: broker.Abandon})
	}
	p.recv("t/Subscriptions/all", 5)

	// Rules added and removed change the routing of the next sends.
	_, em := p.mem.AddRule(p.ctx, "t", "none", broker.Rule{Name: "blue", Filter: broker.RuleFilter{Kind: broker.FilterSQL, SQL: "color = 'blue'"}}, false)
	_, eg := p.pg.AddRule(p.ctx, "t", "none", broker.Rule{Name: "blue", Filter: broker.RuleFilter{Kind: broker.FilterSQL, SQL: "color = 'blue'"}}, false)
	p.sameErr("add rule", em, eg)
	_, em = p.mem.AddRule(p.ctx, "t", "none", broker.Rule{Name: "bad", Filter: broker.RuleFilter{Kind: broker.FilterSQL, SQL: "color = "}}, false)
	_, eg = p.pg.AddRule(p.ctx, "t", "none", broker.Rule{Name: "bad", Filter: broker.RuleFilter{Kind: broker.FilterSQL, SQL: "color = "}}, false)
	p.sameErr("add a bad rule", em, eg)
	p.sameErr("remove rule", p.mem.RemoveRule(p.ctx, "t", "red", "red"), p.pg.RemoveRule(p.ctx, "t", "red", "red"))
	p.sameErr("remove a missing rule", p.mem.RemoveRule(p.ctx, "t", "red", "red"), p.pg.RemoveRule(p.ctx, "t", "red", "red"))
	rm, em := p.mem.Rules("t", "none")
	rg, eg := p.pg.Rules("t", "none")
	p.sameErr("rules", em, eg)
	if len(rm) != len(rg) || rm[1].Name != rg[1].Name {
		t.Fatalf("rules: %+v %+v", rm, rg)
	}
	p.send("t", pmsg("m4", map[string]any{"color": "blue"}), pmsg("m5", map[string]any{"color": "red"}))
	p.peek("t/Subscriptions/none", 0, 10, "")
	p.peek("t/Subscriptions/red", 0, 10, "")

	// Scheduled topic messages: copies are scheduled; cancelling by the
	// topic's sequence number removes them everywhere.
	seqs, _ := func() ([]int64, error) {
		sm, em := p.mem.Schedule(p.ctx, "t", []*broker.Message{msg("later")}, epoch.Add(time.Hour))
		sg, eg := p.pg.Schedule(p.ctx, "t", []*broker.Message{msg("later")}, epoch.Add(time.Hour))
		p.sameErr("schedule", em, eg)
		if len(sm) != 1 || len(sg) != 1 || sm[0] != sg[0] {
			t.Fatalf("schedule: %v %v", sm, sg)
		}
		return sm, em
	}()
	p.counts("t/Subscriptions/all")
	p.sameErr("cancel", p.mem.CancelScheduled(p.ctx, "t", seqs), p.pg.CancelScheduled(p.ctx, "t", seqs))
	p.counts("t/Subscriptions/all")
	p.sameErr("cancel again", p.mem.CancelScheduled(p.ctx, "t", seqs), p.pg.CancelScheduled(p.ctx, "t", seqs))

	// TTL: the subscription's shorter default applies to its copies.
	p.advance(2 * time.Minute)
	p.counts("t/Subscriptions/corr")
	p.counts("t/Subscriptions/all")

	// Lists and deletion.
	lm, em := p.mem.ListSubscriptions("t")
	lg, eg := p.pg.ListSubscriptions("t")
	p.sameErr("list", em, eg)
	if len(lm) != len(lg) {
		t.Fatalf("subscriptions: %d %d", len(lm), len(lg))
	}
	for i := range lm {
		if lm[i].Name != lg[i].Name || lm[i].Counts != lg[i].Counts {
			t.Fatalf("subscription %d: %s %+v, %s %+v", i, lm[i].Name, lm[i].Counts, lg[i].Name, lg[i].Counts)
		}
	}
	_, em = p.mem.CreateSubscription(p.ctx, "nope", "s", broker.QueueProperties{}, nil)
	_, eg = p.pg.CreateSubscription(p.ctx, "nope", "s", broker.QueueProperties{}, nil)
	p.sameErr("subscription of a missing topic", em, eg)
	p.sameErr("delete subscription", p.mem.DeleteEntity(p.ctx, "t/Subscriptions/red"), p.pg.DeleteEntity(p.ctx, "t/Subscriptions/red"))
	p.send("t", msg("m6"))
	p.sameErr("delete topic", p.mem.DeleteEntity(p.ctx, "t"), p.pg.DeleteEntity(p.ctx, "t"))
	p.counts("t/Subscriptions/all")
	p.send("t", msg("m7"))
	var n int
	if err := p.pg.pool.QueryRow(p.ctx, `SELECT count(*) FROM baton_sb_bodies`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("bodies left after the topic was deleted: %d %v", n, err)
	}
}

// TestTopicBodies: a topic message's body is stored once for the copies
// that share it, read back by every subscription, and collected by the
// lease holder once no copy refers to it (not before).
func TestTopicBodies(t *testing.T) {
	p := newPair(t)
	p.topic("t", broker.QueueProperties{})
	p.sub("t", "a", broker.QueueProperties{}, nil)
	p.sub("t", "b", broker.QueueProperties{}, nil)
	p.sub("t", "c", broker.QueueProperties{}, &broker.Rule{Name: "act", Filter: broker.RuleFilter{Kind: broker.FilterTrue}, Action: "SET x = 1"})
	p.send("t", msg("one"), msg("two"))
	bodies := func() (n int) {
		t.Helper()
		if err := p.pg.pool.QueryRow(p.ctx, `SELECT count(*) FROM baton_sb_bodies`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := bodies(); n != 2 {
		t.Fatalf("%d shared bodies stored, want 2 (one per message)", n)
	}
	for _, s := range []string{"a", "b"} {
		for _, m := range p.recv("t/Subscriptions/"+s, 5) {
			if string(m.g.Body) != m.g.MessageID {
				t.Fatalf("subscription %s: body %q for message %s", s, m.g.Body, m.g.MessageID)
			}
			if s == "a" {
				p.settle("t/Subscriptions/"+s, m, broker.Settlement{Disposition: broker.Complete})
			}
		}
	}
	p.tick()
	if n := bodies(); n != 2 {
		t.Fatalf("%d bodies left while subscription b still holds copies", n)
	}
	got := p.receive("t/Subscriptions/b", broker.ReceiveOptions{MaxMessages: 5, Mode: broker.ReceiveAndDelete}, nil)
	if len(got) != 0 {
		t.Fatalf("b's copies are locked; got %d", len(got))
	}
	p.advance(2 * time.Minute) // b's locks lapse
	got = p.receive("t/Subscriptions/b", broker.ReceiveOptions{MaxMessages: 5, Mode: broker.ReceiveAndDelete}, nil)
	if len(got) != 2 || string(got[0].g.Body) != "one" {
		t.Fatalf("receive-and-delete of b: %d", len(got))
	}
	p.tick()
	if n := bodies(); n != 0 {
		t.Fatalf("%d bodies left after every shared copy was removed", n)
	}
	// The action's copies have bodies of their own.
	if got := p.recv("t/Subscriptions/c", 5); len(got) != 2 || string(got[1].g.Body) != "two" {
		t.Fatalf("c: %d", len(got))
	}
}
