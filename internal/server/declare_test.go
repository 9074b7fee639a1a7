package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/config"
)

const topicsDoc = `{
  "queues": [{"name": "audit"}, {"name": "in", "forwardTo": "orders"}],
  "topics": [{"name": "orders", "defaultMessageTimeToLive": "P1D",
    "subscriptions": [
      {"name": "all"},
      {"name": "eu", "lockDuration": "30s", "maxDeliveryCount": 5, "forwardDeadLetteredMessagesTo": "audit",
       "rules": [
         {"name": "big-eu", "filter": {"type": "sql", "sqlExpression": "region = @r AND qty > @min", "parameters": {"r": "eu", "min": 10}},
          "action": {"sqlExpression": "SET tier = 'big'"}},
         {"name": "invoices", "filter": {"type": "correlation", "label": "invoice", "properties": {"n": 2}}}]}]}]
}`

func decodeConfig(t *testing.T, base config.Config, doc string) config.Config {
	t.Helper()
	if err := config.Decode([]byte(doc), &base); err != nil {
		t.Fatal(err)
	}
	return base
}

func TestDeclareTopics(t *testing.T) {
	cfg := decodeConfig(t, testConfig(), topicsDoc)
	s := startServer(t, cfg)
	defer s.Shutdown(context.Background())
	b := s.Broker()

	tp, err := b.GetEntity("orders")
	if err != nil || tp.Kind != broker.KindTopic || tp.Properties.DefaultMessageTimeToLive != 24*time.Hour || tp.SubscriptionCount != 2 {
		t.Fatalf("topic: %v %+v", err, tp)
	}
	if in, _ := b.GetEntity("in"); in.Properties.ForwardTo != "orders" {
		t.Fatalf("queue forwarding to a topic declared after it: %+v", in.Properties)
	}
	eu, err := b.GetEntity("orders/Subscriptions/eu")
	if err != nil || eu.Properties.LockDuration != 30*time.Second || eu.Properties.MaxDeliveryCount != 5 ||
		eu.Properties.ForwardDeadLetteredMessagesTo != "audit" {
		t.Fatalf("subscription: %v %+v", err, eu)
	}
	rules, err := b.Rules("orders", "eu")
	if err != nil || len(rules) != 2 || rules[0].Name != "big-eu" || rules[1].Name != "invoices" {
		t.Fatalf("rules (no $Default when rules are declared): %v %+v", err, rules)
	}
	if p := rules[0].Filter.Parameters; rules[0].Filter.Kind != broker.FilterSQL || p["r"] != "eu" || p["min"] != int64(10) || rules[0].Action != "SET tier = 'big'" {
		t.Fatalf("sql rule: %+v", rules[0])
	}
	if c := rules[1].Filter.Correlation; c == nil || c.Subject != "invoice" || c.Properties["n"] != int64(2) {
		t.Fatalf("correlation rule: %+v", rules[1])
	}
	if all, _ := b.Rules("orders", "all"); len(all) != 1 || all[0].Name != broker.DefaultRuleName || all[0].Filter.Kind != broker.FilterTrue {
		t.Fatalf("$Default: %+v", all)
	}

	// The filters work: a send lands where they say.
	ctx := t.Context()
	send := func(props map[string]any, subject string) {
		t.Helper()
		if _, err := b.Send(ctx, "orders", []*broker.Message{{Body: []byte("x"), Subject: subject, Properties: props}}); err != nil {
			t.Fatal(err)
		}
	}
	send(map[string]any{"region": "eu", "qty": int64(11)}, "")
	send(map[string]any{"region": "eu", "qty": int64(3)}, "")
	send(map[string]any{"n": int64(2)}, "invoice")
	for path, want := range map[string]int64{"orders/Subscriptions/all": 3, "orders/Subscriptions/eu": 2} {
		if info, _ := b.GetEntity(path); info.Active != want {
			t.Errorf("%s holds %d messages, want %d", path, info.Active, want)
		}
	}
	msgs, err := b.Peek(ctx, "orders/Subscriptions/eu", 0, 10, "")
	if err != nil || len(msgs) != 2 || msgs[0].Properties["tier"] != "big" {
		t.Fatalf("eu copies: %v %+v", err, msgs)
	}
}

// TestDeclareAgain applies a config again to a broker that already holds
// its entities, as every start does: nothing fails, changed properties and
// rules are applied, what was added at run time stays. (The e2e test
// TestEmulatorConfigTopics does it across a real restart.)
func TestDeclareAgain(t *testing.T) {
	cfg := decodeConfig(t, testConfig(), topicsDoc)
	s := startServer(t, cfg)
	defer s.Shutdown(context.Background())
	ctx := t.Context()
	b := s.Broker()
	if _, err := b.AddRule(ctx, "orders", "eu", broker.Rule{Name: "runtime", Filter: broker.RuleFilter{Kind: broker.FilterFalse}}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Send(ctx, "orders", []*broker.Message{{Body: []byte("kept"), Properties: map[string]any{"region": "eu", "qty": int64(99)}}}); err != nil {
		t.Fatal(err)
	}
	before, _ := b.GetEntity("orders/Subscriptions/eu")

	// The same file again: nothing changes.
	if err := s.declareEntities(ctx); err != nil {
		t.Fatal(err)
	}
	after, _ := b.GetEntity("orders/Subscriptions/eu")
	rules, _ := b.Rules("orders", "eu")
	if len(rules) != 3 || after.Active != 1 || !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Fatalf("after the same config: %+v, %+v", rules, after)
	}

	// A changed file: a property, a rule's filter, a new rule, a new
	// subscription; RequiresSession cannot change and is kept.
	changed := strings.NewReplacer(
		`"maxDeliveryCount": 5`, `"maxDeliveryCount": 7, "requiresSession": true`,
		`"min": 10`, `"min": 20`,
		`{"name": "all"}`, `{"name": "all", "rules": [{"name": "extra", "filter": {"type": "false"}}]}, {"name": "new"}`,
		`"forwardTo": "orders"`, `"forwardTo": ""`,
	).Replace(topicsDoc)
	s.cfg = decodeConfig(t, testConfig(), changed)
	if err := s.declareEntities(ctx); err != nil {
		t.Fatal(err)
	}
	eu, _ := b.GetEntity("orders/Subscriptions/eu")
	if eu.Properties.MaxDeliveryCount != 7 || eu.Properties.RequiresSession || eu.Active != 1 || eu.Properties.ForwardDeadLetteredMessagesTo != "audit" {
		t.Fatalf("eu after the change: %+v", eu)
	}
	rules, _ = b.Rules("orders", "eu")
	if len(rules) != 3 || rules[0].Filter.Parameters["min"] != int64(20) || rules[2].Name != "runtime" {
		t.Fatalf("eu rules after the change: %+v", rules)
	}
	all, _ := b.Rules("orders", "all")
	if len(all) != 2 || all[0].Name != broker.DefaultRuleName || all[1].Name != "extra" {
		t.Fatalf("all rules after the change: %+v", all)
	}
	if _, err := b.GetEntity("orders/Subscriptions/new"); err != nil {
		t.Fatalf("new subscription: %v", err)
	}
	if in, _ := b.GetEntity("in"); in.Properties.ForwardTo != "" {
		t.Fatalf("forwarding not removed: %+v", in.Properties)
	}
}

func TestDeclareErrors(t *testing.T) {
	// A rule that does not compile stops the server before it opens
	// anything, naming the rule and the position.
	bad := strings.Replace(topicsDoc, `region = @r AND qty > @min`, `region = @r AND AND qty > @min`, 1)
	_, err := New(decodeConfig(t, testConfig(), bad), Options{})
	if err == nil || !strings.Contains(err.Error(), `topic "orders", subscription "eu", rule "big-eu": SqlFilter: filter: syntax error at line 1, column 17 (offset 16) near "AND"`) {
		t.Fatalf("bad rule: %v", err)
	}
	// What only the broker can tell fails the start, naming the entity.
	for _, tc := range []struct{ doc, want string }{
		{`{"topics":[{"name":"t","subscriptions":[{"name":"s","forwardTo":"nope"}]}]}`,
			`auto-forward destination "nope" does not exist`},
		{`{"queues":[{"name":"x"}],"topics":[{"name":"t","subscriptions":[{"name":"s","lockDuration":"1h"}]}]}`,
			`LockDuration 1h0m0s out of range`},
	} {
		s, err := New(decodeConfig(t, testConfig(), tc.doc), Options{})
		if err != nil {
			t.Fatal(err)
		}
		err = s.Start(t.Context())
		if err == nil || !strings.HasPrefix(err.Error(), `server: config: topic "t", subscription "s": `) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("start = %v; want %q", err, tc.want)
		}
	}
	// A name taken by another kind of entity.
	first := decodeConfig(t, testConfig(), `{"queues":[{"name":"orders"}],"topics":[{"name":"t"}]}`)
	first.Topics[0].Name = "orders"
	s, err := New(first, Options{})
	if err == nil {
		err = s.Start(t.Context())
	}
	if err == nil || !strings.Contains(err.Error(), "declared twice") {
		t.Fatalf("queue and topic of one name: %v", err)
	}
}
