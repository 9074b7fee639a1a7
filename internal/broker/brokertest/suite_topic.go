package brokertest

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

// Topic creates a topic and subscriptions (each with its given rule; nil:
// $Default), failing the test on error.
func (env *Env) Topic(name string, subs map[string]*broker.Rule) {
	env.T.Helper()
	if _, err := env.Broker.CreateTopic(env.Ctx, name, broker.QueueProperties{}); err != nil {
		env.T.Fatalf("CreateTopic(%s): %v", name, err)
	}
	for s, r := range subs {
		if _, err := env.Broker.CreateSubscription(env.Ctx, name, s, broker.QueueProperties{}, r); err != nil {
			env.T.Fatalf("CreateSubscription(%s/%s): %v", name, s, err)
		}
	}
}

func sqlRule(name, expr, action string) *broker.Rule {
	return &broker.Rule{Name: name, Filter: broker.RuleFilter{Kind: broker.FilterSQL, SQL: expr}, Action: action}
}

func msg(body string, props map[string]any) *broker.Message {
	return &broker.Message{Body: []byte(body), Properties: props}
}

// drain receives and completes everything in path, returning the bodies.
func (env *Env) drain(path string) []string {
	env.T.Helper()
	var out []string
	for {
		got, err := env.Broker.Receive(env.Ctx, path, broker.ReceiveOptions{MaxMessages: 100, Mode: broker.ReceiveAndDelete})
		if err != nil {
			env.T.Fatalf("Receive(%s): %v", path, err)
		}
		if len(got) == 0 {
			return out
		}
		out = append(out, Bodies(got)...)
	}
}

func testTopicFanout(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	env.Topic("t", map[string]*broker.Rule{
		"all":  nil,
		"red":  sqlRule("red", "color = 'red'", ""),
		"big":  sqlRule("big", "quantity > 10 AND sys.Label LIKE 'o%'", ""),
		"none": {Name: "none", Filter: broker.RuleFilter{Kind: broker.FilterFalse}},
		"corr": {Name: "c", Filter: broker.RuleFilter{Kind: broker.FilterCorrelation,
			Correlation: &broker.CorrelationFilter{CorrelationID: "abc", Properties: map[string]any{"color": "blue"}}}},
	})
	m1 := msg("red-5", map[string]any{"color": "red", "quantity": int32(5)})
	m2 := msg("blue-20", map[string]any{"color": "blue", "quantity": int64(20)})
	m2.Subject, m2.CorrelationID = "order", "abc"
	m3 := msg("plain", nil)
	seqs := env.SendMsgs("t", m1, m2, m3)
	if !slices.Equal(seqs, []int64{1, 2, 3}) {
		t.Fatalf("topic sequence numbers = %v", seqs)
	}
	want := map[string][]string{
		"all":  {"red-5", "blue-20", "plain"},
		"red":  {"red-5"},
		"big":  {"blue-20"},
		"none": nil,
		"corr": {"blue-20"},
	}
	env.WantCounts("t/Subscriptions/all", 3, 0, 0, 0)
	env.Restart() // copies and their shared bodies survive a restart
	for s, w := range want {
		if got := env.drain(broker.SubscriptionPath("t", s)); !slices.Equal(got, w) {
			t.Errorf("subscription %s got %v, want %v", s, got, w)
		}
	}
	// A receive from the topic itself is refused.
	_, err := env.Broker.Receive(env.Ctx, "t", broker.ReceiveOptions{MaxMessages: 1})
	WantCode(t, err, broker.CodeInvalidArgument)
	info, err := env.Broker.GetEntity("t")
	if err != nil || info.Kind != broker.KindTopic || info.SubscriptionCount != 5 {
		t.Fatalf("GetEntity(t) = %+v, %v", info, err)
	}
	subs, err := env.Broker.ListSubscriptions("T")
	if err != nil || len(subs) != 5 || subs[0].Name != "t/Subscriptions/all" {
		t.Fatalf("ListSubscriptions = %v, %v", names(subs), err)
	}
}

func testTopicSharedBodyLifetime(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	env.Topic("t", map[string]*broker.Rule{"a": nil, "b": nil})
	env.Send("t", "one", "two")
	// Complete every copy in a; b still reads the bodies, across restarts.
	if got := env.drain("t/Subscriptions/a"); !slices.Equal(got, []string{"one", "two"}) {
		t.Fatalf("a = %v", got)
	}
	env.Restart()
	got := env.Receive("t/Subscriptions/b", 10, broker.PeekLock)
	if !slices.Equal(Bodies(got), []string{"one", "two"}) {
		t.Fatalf("b = %v", Bodies(got))
	}
	env.Settle("t/Subscriptions/b", got[0], broker.Settlement{Disposition: broker.DeadLetter, DeadLetterReason: "r"})
	env.Settle("t/Subscriptions/b", got[1], broker.Settlement{Disposition: broker.Complete})
	env.Restart()
	if got := env.drain("t/Subscriptions/b/$DeadLetterQueue"); !slices.Equal(got, []string{"one"}) {
		t.Fatalf("b DLQ = %v", got)
	}
	env.Restart()
	env.WantCounts("t/Subscriptions/b", 0, 0, 0, 0)
	// Deleting a subscription with copies releases them; the other
	// subscription keeps reading.
	env.Send("t", "three")
	if err := env.Broker.DeleteEntity(env.Ctx, "t/Subscriptions/a"); err != nil {
		t.Fatal(err)
	}
	env.Restart()
	if got := env.drain("t/Subscriptions/b"); !slices.Equal(got, []string{"three"}) {
		t.Fatalf("b after deleting a = %v", got)
	}
	if _, err := env.Broker.GetEntity("t/Subscriptions/a"); broker.CodeOf(err) != broker.CodeNotFound {
		t.Fatalf("deleted subscription: %v", err)
	}
	// Deleting the topic deletes its subscriptions.
	env.Send("t", "four")
	if err := env.Broker.DeleteEntity(env.Ctx, "t"); err != nil {
		t.Fatal(err)
	}
	env.Restart()
	if l := env.Broker.ListEntities(0); len(l) != 0 {
		t.Fatalf("entities after deleting the topic: %v", names(l))
	}
}

func testTopicRules(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	env.Topic("t", map[string]*broker.Rule{"s": nil})
	ctx := env.Ctx
	// Syntax errors name the position, at creation.
	_, err := env.Broker.AddRule(ctx, "t", "s", *sqlRule("bad", "color = = 'x'", ""), false)
	WantCode(t, err, broker.CodeInvalidArgument)
	if err == nil || !strings.Contains(err.Error(), "column") || !strings.Contains(err.Error(), "bad") {
		t.Fatalf("syntax error text: %v", err)
	}
	_, err = env.Broker.AddRule(ctx, "t", "s", *sqlRule("bad", "1=1", "SET sys.SequenceNumber = 3"), false)
	WantCode(t, err, broker.CodeInvalidArgument)
	_, err = env.Broker.AddRule(ctx, "t", "s", broker.TrueRule(broker.DefaultRuleName), false)
	WantCode(t, err, broker.CodeEntityExists)
	if err := env.Broker.RemoveRule(ctx, "t", "s", "$default"); err != nil {
		t.Fatal(err)
	}
	WantCode(t, env.Broker.RemoveRule(ctx, "t", "s", "$Default"), broker.CodeNotFound)
	env.Send("t", "dropped") // no rules: no copy
	if _, err := env.Broker.AddRule(ctx, "t", "s", *sqlRule("p", "priority >= @min", ""), false); err == nil {
		t.Fatal("a rule with an unbound parameter was accepted")
	}
	r := sqlRule("p", "priority >= @min", "")
	r.Filter.Parameters = map[string]any{"@min": int64(3)}
	if _, err := env.Broker.AddRule(ctx, "t", "s", *r, false); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Broker.AddRule(ctx, "t", "s", *sqlRule("act", "priority = 9", "SET tagged = 'yes'; REMOVE priority; SET sys.Label = 'x'"), false); err != nil {
		t.Fatal(err)
	}
	env.Restart()
	rules, err := env.Broker.Rules("t", "s")
	if err != nil || len(rules) != 2 || rules[0].Name != "p" || rules[1].Action == "" || rules[0].Filter.Parameters["@min"] != int64(3) {
		t.Fatalf("Rules = %+v, %v", rules, err)
	}
	env.SendMsgs("t", msg("low", map[string]any{"priority": 1}), msg("high", map[string]any{"priority": 5}),
		msg("nine", map[string]any{"priority": int64(9)}))
	got := env.Receive("t/Subscriptions/s", 10, broker.ReceiveAndDelete)
	// "nine" matches both rules: one plain copy, one copy from the action.
	if !slices.Equal(Bodies(got), []string{"high", "nine", "nine"}) {
		t.Fatalf("bodies = %v", Bodies(got))
	}
	act := got[2]
	if act.Properties["tagged"] != "yes" || act.Properties["RuleName"] != "act" || act.Subject != "x" {
		t.Fatalf("action copy = %+v", act)
	}
	if _, ok := act.Properties["priority"]; ok {
		t.Fatalf("REMOVE kept the property: %v", act.Properties)
	}
	if got[1].Properties["tagged"] != nil || got[1].Subject != "" {
		t.Fatalf("the plain copy was changed: %+v", got[1])
	}
	// Replace a rule; remove one; a missing subscription is not found.
	if _, err := env.Broker.AddRule(ctx, "t", "s", *sqlRule("p", "1=0", ""), true); err != nil {
		t.Fatal(err)
	}
	_, err = env.Broker.AddRule(ctx, "t", "s", *sqlRule("zz", "1=0", ""), true)
	WantCode(t, err, broker.CodeNotFound)
	_, err = env.Broker.Rules("t", "nope")
	WantCode(t, err, broker.CodeNotFound)
	// The rule limit is a quota error.
	env2 := &Env{T: t, F: f, Clock: env.Clock, Ctx: env.Ctx, Limits: broker.Limits{MaxRules: 2, MaxSubscriptions: 1}}
	env2.Store = f.New(t)
	env2.open()
	t.Cleanup(func() { env2.Broker.Close(); env2.Store.Close() })
	env2.Topic("t", map[string]*broker.Rule{"s": nil})
	if _, err := env2.Broker.AddRule(ctx, "t", "s", broker.TrueRule("two"), false); err != nil {
		t.Fatal(err)
	}
	_, err = env2.Broker.AddRule(ctx, "t", "s", broker.TrueRule("three"), false)
	WantCode(t, err, broker.CodeQuotaExceeded)
	_, err = env2.Broker.CreateSubscription(ctx, "t", "s2", broker.QueueProperties{}, nil)
	WantCode(t, err, broker.CodeQuotaExceeded)
}

func testTopicSubscriptionFeatures(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	ctx := env.Ctx
	if _, err := env.Broker.CreateTopic(ctx, "t", broker.QueueProperties{RequiresDuplicateDetection: true, DefaultMessageTimeToLive: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Broker.CreateSubscription(ctx, "t", "sess", broker.QueueProperties{RequiresSession: true, MaxDeliveryCount: 1}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Broker.CreateSubscription(ctx, "t", "ttl", broker.QueueProperties{DefaultMessageTimeToLive: time.Minute, DeadLetteringOnMessageExpiration: true}, nil); err != nil {
		t.Fatal(err)
	}
	_, err := env.Broker.CreateSubscription(ctx, "t", "ttl", broker.QueueProperties{}, nil)
	WantCode(t, err, broker.CodeEntityExists)
	_, err = env.Broker.CreateSubscription(ctx, "nope", "s", broker.QueueProperties{}, nil)
	WantCode(t, err, broker.CodeNotFound)
	// A message without a session id: the send succeeds, the session
	// subscription's copy is dead-lettered (as Service Bus does), the other
	// subscription's is not.
	env.Send("t", "x")
	env.WantCounts("t/Subscriptions/sess", 0, 0, 0, 1)
	env.WantCounts("t/Subscriptions/ttl", 1, 0, 0, 0)
	dl := env.Receive("t/Subscriptions/sess/$DeadLetterQueue", 1, broker.ReceiveAndDelete)
	if len(dl) != 1 || string(dl[0].Body) != "x" || dl[0].DeadLetterReason != "Session id is null." ||
		dl[0].DeadLetterDescription != "Session enabled entity doesn't allow a message whose session identifier is null." {
		t.Fatalf("dead-lettered copy = %+v", dl)
	}
	ttl := env.Receive("t/Subscriptions/ttl", 1, broker.ReceiveAndDelete)
	if len(ttl) != 1 || string(ttl[0].Body) != "x" {
		t.Fatalf("the other subscription's copy = %+v", ttl)
	}
	// A queue that requires sessions still refuses such a send.
	env.Queue("sq", broker.QueueProperties{RequiresSession: true})
	_, err = env.Broker.Send(ctx, "sq", []*broker.Message{msg("x", nil)})
	WantCode(t, err, broker.CodeInvalidArgument)
	a := msg("a", nil)
	a.SessionID, a.MessageID = "s1", "dup"
	b := msg("b", nil)
	b.SessionID, b.MessageID = "s1", "dup"
	env.SendMsgs("t", a)
	env.SendMsgs("t", b) // a duplicate, dropped at the topic
	env.WantCounts("t/Subscriptions/sess", 1, 0, 0, 0)
	l, err := env.Broker.AcceptSession(ctx, "t/Subscriptions/sess", "", 0)
	if err != nil || l.SessionID != "s1" {
		t.Fatalf("AcceptSession = %+v, %v", l, err)
	}
	// TTL: the minute of the subscription wins over the hour of the topic.
	env.Advance(2 * time.Minute)
	env.WantCounts("t/Subscriptions/ttl", 0, 0, 0, 1)
	// Scheduled sends to a topic: cancel by the topic's sequence number.
	c := msg("later", nil)
	c.SessionID = "s2"
	seqs, err := env.Broker.Schedule(ctx, "t", []*broker.Message{c}, env.Clock.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	env.WantCounts("t/Subscriptions/ttl", 0, 1, 0, 1)
	if err := env.Broker.CancelScheduled(ctx, "t", seqs); err != nil {
		t.Fatal(err)
	}
	env.WantCounts("t/Subscriptions/ttl", 0, 0, 0, 1)
	WantCode(t, env.Broker.CancelScheduled(ctx, "t", seqs), broker.CodeMessageNotFound)
	// Update a subscription; a topic is not a queue.
	if _, err := env.Broker.UpdateSubscription(ctx, "t", "ttl", broker.QueueProperties{MaxDeliveryCount: 3}); err != nil {
		t.Fatal(err)
	}
	_, err = env.Broker.UpdateQueue(ctx, "t", broker.QueueProperties{})
	WantCode(t, err, broker.CodeInvalidArgument)
	if _, err := env.Broker.UpdateTopic(ctx, "t", broker.QueueProperties{MaxSizeInMegabytes: 2048}); err != nil {
		t.Fatal(err)
	}
}

// testTopicFilterModel sends generated messages to subscriptions with
// generated filters and checks each subscription against an evaluation of
// the same conditions written in Go.
func testTopicFilterModel(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	type cond struct {
		sql string
		fn  func(color string, qty int64, label string) bool
	}
	conds := map[string]cond{
		"red":      {"color = 'red'", func(c string, q int64, l string) bool { return c == "red" }},
		"notred":   {"color <> 'red'", func(c string, q int64, l string) bool { return c != "" && c != "red" }},
		"qty":      {"qty BETWEEN 3 AND 7", nil},
		"qtyrange": {"qty >= 3 AND qty <= 7", func(c string, q int64, l string) bool { return q >= 3 && q <= 7 }},
		"in":       {"color IN ('blue', 'green') OR qty % 5 = 0", func(c string, q int64, l string) bool { return c == "blue" || c == "green" || q%5 == 0 }},
		"like":     {"sys.Label LIKE 'ord%'", func(c string, q int64, l string) bool { return len(l) >= 3 && l[:3] == "ord" }},
		"nocolor":  {"color IS NULL", func(c string, q int64, l string) bool { return c == "" }},
		// Filters the topic's rule index files by a required equality.
		"bluebig":  {"color = 'blue' AND qty > 4", func(c string, q int64, l string) bool { return c == "blue" && q > 4 }},
		"label":    {"sys.Label = 'order'", func(c string, q int64, l string) bool { return l == "order" }},
		"greenret": {"'green' = color AND sys.Label = 'return'", func(c string, q int64, l string) bool { return c == "green" && l == "return" }},
	}
	subs := map[string]*broker.Rule{}
	for name, c := range conds {
		if c.fn == nil {
			continue
		}
		subs[name] = sqlRule("r", c.sql, "")
	}
	env.Topic("t", subs)
	// A subscription with one indexable rule and one that is not: it must
	// be evaluated for every message.
	mixed := func(c string, q int64, l string) bool { return c == "red" || q == 0 }
	conds["mixed"] = cond{"", mixed}
	if _, err := env.Broker.CreateSubscription(env.Ctx, "t", "mixed", broker.QueueProperties{}, sqlRule("a", "color = 'red'", "")); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Broker.AddRule(env.Ctx, "t", "mixed", *sqlRule("b", "qty = 0", ""), false); err != nil {
		t.Fatal(err)
	}
	subs["mixed"] = nil
	colors := []string{"red", "blue", "green", ""}
	labels := []string{"order", "ordinal", "return", ""}
	want := map[string][]string{}
	var batch []*broker.Message
	for i := range 300 {
		color, qty, label := colors[i%4], int64(i%11), labels[(i/4)%4]
		props := map[string]any{"qty": qty}
		if color != "" {
			props["color"] = color
		}
		m := msg(string(rune('A'+i%26))+string(rune('0'+i%10))+"-"+strconv.Itoa(i), props)
		m.Subject = label
		batch = append(batch, m)
		for name, c := range conds {
			if c.fn != nil && c.fn(color, qty, label) {
				want[name] = append(want[name], string(m.Body))
			}
		}
		if len(batch) == 50 {
			env.SendMsgs("t", batch...)
			batch = nil
		}
	}
	for name := range subs {
		got := env.drain(broker.SubscriptionPath("t", name))
		w := want[name]
		sort.Strings(got)
		sort.Strings(w)
		if !slices.Equal(got, w) {
			t.Errorf("subscription %s: got %d messages, want %d", name, len(got), len(w))
		}
	}
}

func testAutoForwardConfig(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	ctx := env.Ctx
	env.Queue("q1", broker.QueueProperties{})
	_, err := env.Broker.CreateQueue(ctx, "q0", broker.QueueProperties{ForwardTo: "missing"})
	WantCode(t, err, broker.CodeInvalidArgument)
	if _, err := env.Broker.CreateQueue(ctx, "q2", broker.QueueProperties{ForwardTo: "q1"}); err != nil {
		t.Fatal(err)
	}
	// q1 → q2 → q1 is a loop.
	_, err = env.Broker.UpdateQueue(ctx, "q1", broker.QueueProperties{ForwardTo: "q2"})
	WantCode(t, err, broker.CodeInvalidArgument)
	// A chain longer than the hop limit is refused.
	prev := "q1"
	for _, n := range []string{"c1", "c2", "c3", "c4"} {
		if _, err := env.Broker.CreateQueue(ctx, n, broker.QueueProperties{ForwardTo: prev}); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		prev = n
	}
	_, err = env.Broker.CreateQueue(ctx, "c5", broker.QueueProperties{ForwardTo: prev})
	WantCode(t, err, broker.CodeInvalidArgument)
}

func testAutoForward(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	ctx := env.Ctx
	env.Queue("final", broker.QueueProperties{})
	env.Queue("dlqsink", broker.QueueProperties{})
	env.Topic("t2", map[string]*broker.Rule{"all": nil})
	// t1/s forwards to queue mid, which forwards to topic t2 (fan-out to
	// t2/all), and t2/all forwards to final: three hops.
	if _, err := env.Broker.CreateQueue(ctx, "mid", broker.QueueProperties{ForwardTo: "t2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Broker.UpdateSubscription(ctx, "t2", "all", broker.QueueProperties{ForwardTo: "final"}); err != nil {
		t.Fatal(err)
	}
	env.Topic("t1", nil)
	if _, err := env.Broker.CreateSubscription(ctx, "t1", "s", broker.QueueProperties{ForwardTo: "mid", ForwardDeadLetteredMessagesTo: "dlqsink", MaxDeliveryCount: 1}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Broker.CreateSubscription(ctx, "t1", "keep", broker.QueueProperties{ForwardDeadLetteredMessagesTo: "dlqsink", MaxDeliveryCount: 1}, nil); err != nil {
		t.Fatal(err)
	}
	m := msg("hop", map[string]any{"k": "v"})
	m.MessageID = "m1"
	env.SendMsgs("t1", m)
	got := env.Receive("final", 10, broker.ReceiveAndDelete)
	if len(got) != 1 || string(got[0].Body) != "hop" || got[0].Properties["k"] != "v" || got[0].MessageID != "m1" {
		t.Fatalf("final got %+v", got)
	}
	for _, p := range []string{"t1/Subscriptions/s", "mid", "t2/Subscriptions/all"} {
		env.WantCounts(p, 0, 0, 0, 0)
	}
	// A message dead-lettered in t1/keep goes to dlqsink, marked with its
	// source; the one in keep's main queue stays.
	l := env.Receive("t1/Subscriptions/keep", 1, broker.PeekLock)[0]
	env.Settle("t1/Subscriptions/keep", l, broker.Settlement{Disposition: broker.DeadLetter, DeadLetterReason: "bad"})
	got = env.Receive("dlqsink", 10, broker.ReceiveAndDelete)
	if len(got) != 1 || got[0].DeadLetterSource != "t1/Subscriptions/keep" || got[0].Properties["DeadLetterReason"] != "bad" || got[0].DeadLettered {
		t.Fatalf("dlqsink got %+v", got)
	}
	env.WantCounts("t1/Subscriptions/keep", 0, 0, 0, 0)
	// Forwarding survives a restart: a message sent before it is moved
	// after it.
	env.Send("mid", "later")
	env.Restart()
	if got := env.drain("final"); !slices.Equal(got, []string{"later"}) {
		t.Fatalf("final after restart = %v", got)
	}
	// A destination that goes away: messages wait in the source.
	if err := env.Broker.DeleteEntity(ctx, "final"); err != nil {
		t.Fatal(err)
	}
	env.Send("t2", "stuck")
	env.WantCounts("t2/Subscriptions/all", 1, 0, 0, 0)
	env.Queue("final", broker.QueueProperties{})
	env.Advance(2 * time.Second) // the retry
	if got := env.drain("final"); !slices.Equal(got, []string{"stuck"}) {
		t.Fatalf("final after it came back = %v", got)
	}
}

func testTopicAutoDeleteOnIdle(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	ctx := env.Ctx
	if _, err := env.Broker.CreateTopic(ctx, "t", broker.QueueProperties{AutoDeleteOnIdle: 10 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Broker.CreateSubscription(ctx, "t", "idle", broker.QueueProperties{AutoDeleteOnIdle: 5 * time.Minute}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Broker.CreateSubscription(ctx, "t", "kept", broker.QueueProperties{}, nil); err != nil {
		t.Fatal(err)
	}
	env.Advance(6 * time.Minute)
	_, err := env.Broker.GetEntity("t/Subscriptions/idle")
	WantCode(t, err, broker.CodeNotFound)
	env.Send("t", "x") // activity on the topic
	env.Advance(9 * time.Minute)
	if _, err := env.Broker.GetEntity("t"); err != nil {
		t.Fatalf("topic deleted while active: %v", err)
	}
	env.Restart()
	if subs, err := env.Broker.ListSubscriptions("t"); err != nil || len(subs) != 1 {
		t.Fatalf("subscriptions after restart = %v, %v", names(subs), err)
	}
	env.Advance(11 * time.Minute)
	_, err = env.Broker.GetEntity("t")
	WantCode(t, err, broker.CodeNotFound)
	_, err = env.Broker.GetEntity("t/Subscriptions/kept")
	WantCode(t, err, broker.CodeNotFound)
}

func testAutoForwardTopicLoops(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	ctx := env.Ctx
	env.Topic("t", map[string]*broker.Rule{"s": nil})
	// A subscription forwarding to its own topic is a loop.
	_, err := env.Broker.UpdateSubscription(ctx, "t", "s", broker.QueueProperties{ForwardTo: "t"})
	WantCode(t, err, broker.CodeInvalidArgument)
	_, err = env.Broker.CreateSubscription(ctx, "t", "s2", broker.QueueProperties{ForwardTo: "t"}, nil)
	WantCode(t, err, broker.CodeInvalidArgument)
	// a/s → b and b/s → a is a loop through two topics.
	env.Topic("a", map[string]*broker.Rule{"s": nil})
	env.Topic("b", nil)
	if _, err := env.Broker.UpdateSubscription(ctx, "a", "s", broker.QueueProperties{ForwardTo: "b"}); err != nil {
		t.Fatal(err)
	}
	_, err = env.Broker.CreateSubscription(ctx, "b", "s", broker.QueueProperties{ForwardTo: "a"}, nil)
	WantCode(t, err, broker.CodeInvalidArgument)
	// A queue forwarding into a topic whose subscription forwards back.
	env.Queue("q", broker.QueueProperties{})
	if _, err := env.Broker.CreateSubscription(ctx, "b", "back", broker.QueueProperties{ForwardTo: "q"}, nil); err != nil {
		t.Fatal(err)
	}
	_, err = env.Broker.UpdateQueue(ctx, "q", broker.QueueProperties{ForwardTo: "a"})
	WantCode(t, err, broker.CodeInvalidArgument)
	// Nothing hangs: a send goes where the accepted settings say.
	env.Send("a", "x")
	if got := env.drain("q"); !slices.Equal(got, []string{"x"}) {
		t.Fatalf("q = %v", got)
	}
}

func testTopicFilterEvaluationError(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	ctx := env.Ctx
	env.Topic("t", nil)
	for _, s := range []struct {
		name string
		dlq  bool
	}{{"skip", false}, {"dlq", true}} {
		if _, err := env.Broker.CreateSubscription(ctx, "t", s.name, broker.QueueProperties{DeadLetteringOnFilterEvaluationExceptions: s.dlq},
			sqlRule("div", "10 / qty > 1", "")); err != nil {
			t.Fatal(err)
		}
	}
	env.SendMsgs("t", msg("zero", map[string]any{"qty": int64(0)}), msg("two", map[string]any{"qty": int64(2)}))
	if got := env.drain("t/Subscriptions/skip"); !slices.Equal(got, []string{"two"}) {
		t.Fatalf("skip = %v", got)
	}
	if got := env.drain("t/Subscriptions/dlq"); !slices.Equal(got, []string{"two"}) {
		t.Fatalf("dlq main = %v", got)
	}
	got := env.Receive("t/Subscriptions/dlq/$DeadLetterQueue", 10, broker.ReceiveAndDelete)
	if len(got) != 1 || string(got[0].Body) != "zero" || got[0].DeadLetterReason != "FilterEvaluationException" ||
		got[0].Properties["DeadLetterReason"] != "FilterEvaluationException" || got[0].Properties["DeadLetterErrorDescription"] == nil {
		t.Fatalf("dead-lettered copy = %+v", got)
	}
}
