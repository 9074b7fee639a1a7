package e2e

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus/admin"

	"github.com/batonmq/baton/internal/config"
)

// These tests drive topics, subscriptions and rules with the public
// azservicebus and azservicebus/admin APIs only, against Baton on loopback.

// topic creates a topic through the admin client.
func (e *sb) topic(name string) {
	e.t.Helper()
	if _, err := e.admin.CreateTopic(ctx(e.t), name, nil); err != nil {
		e.t.Fatalf("CreateTopic(%q): %v", name, err)
	}
}

// subscription creates a subscription; with rule set, the rule replaces
// $Default (as DefaultRule in the create request).
func (e *sb) subscription(topic, name string, props *admin.SubscriptionProperties, rule *admin.RuleProperties) {
	e.t.Helper()
	if props == nil {
		props = &admin.SubscriptionProperties{}
	}
	props.DefaultRule = rule
	if _, err := e.admin.CreateSubscription(ctx(e.t), topic, name, &admin.CreateSubscriptionOptions{Properties: props}); err != nil {
		e.t.Fatalf("CreateSubscription(%q, %q): %v", topic, name, err)
	}
}

// receiveAllFrom receives exactly n messages from a subscription and
// completes them, then checks with a peek that nothing is left. (Peek-lock
// and complete, not receive-and-delete: completion is acknowledged, so the
// peek that follows cannot race it.)
func (e *sb) receiveAllFrom(topic, sub string, n int) []*azservicebus.ReceivedMessage {
	e.t.Helper()
	c := ctx(e.t)
	r, err := e.client.NewReceiverForSubscription(topic, sub, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	defer r.Close(c)
	var got []*azservicebus.ReceivedMessage
	for len(got) < n {
		msgs, err := r.ReceiveMessages(c, n-len(got), nil)
		if err != nil {
			e.t.Fatalf("%s/%s: received %d of %d: %v", topic, sub, len(got), n, err)
		}
		for _, m := range msgs {
			if err := r.CompleteMessage(c, m, nil); err != nil {
				e.t.Fatalf("%s/%s: complete %s: %v", topic, sub, m.MessageID, err)
			}
		}
		got = append(got, msgs...)
	}
	left, err := r.PeekMessages(c, 10, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if len(left) != 0 {
		e.t.Fatalf("%s/%s: %d messages more than the %d expected, first %q", topic, sub, len(left), n, left[0].MessageID)
	}
	return got
}

func messageIDs(msgs []*azservicebus.ReceivedMessage) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.MessageID
	}
	slices.Sort(out)
	return out
}

// topicGenMsg is one generated message and what the filters look at.
type topicGenMsg struct {
	id       string
	color    string // "" when absent
	quantity *int64
	region   string
	label    string
	corrID   string
}

func (g topicGenMsg) message() *azservicebus.Message {
	props := map[string]any{}
	if g.color != "" {
		props["color"] = g.color
	}
	if g.quantity != nil {
		if *g.quantity%2 == 0 {
			props["quantity"] = *g.quantity
		} else {
			props["quantity"] = int32(*g.quantity) // another integer type compares the same
		}
	}
	if g.region != "" {
		props["region"] = g.region
	}
	m := &azservicebus.Message{MessageID: to.Ptr(g.id), Body: []byte("body " + g.id), ApplicationProperties: props}
	if g.label != "" {
		m.Subject = to.Ptr(g.label)
	}
	if g.corrID != "" {
		m.CorrelationID = to.Ptr(g.corrID)
	}
	return m
}

// The filters of TestSBTopicFilters, evaluated independently in Go.
var topicFilters = []struct {
	sub   string
	rule  *admin.RuleProperties
	match func(g topicGenMsg) bool
}{
	{"all", nil, func(topicGenMsg) bool { return true }},
	{"none", &admin.RuleProperties{Name: "never", Filter: &admin.FalseFilter{}}, func(topicGenMsg) bool { return false }},
	{"red", &admin.RuleProperties{Name: "red", Filter: &admin.SQLFilter{Expression: "color = 'red' AND quantity > 10"}},
		func(g topicGenMsg) bool { return g.color == "red" && g.quantity != nil && *g.quantity > 10 }},
	{"orders", &admin.RuleProperties{Name: "orders", Filter: &admin.SQLFilter{Expression: "sys.Label LIKE 'order-%' OR region IN ('eu', 'us')"}},
		func(g topicGenMsg) bool {
			return strings.HasPrefix(g.label, "order-") || g.region == "eu" || g.region == "us"
		}},
	{"noqty", &admin.RuleProperties{Name: "noqty", Filter: &admin.SQLFilter{Expression: "quantity IS NULL AND NOT (color = 'blue')"}},
		func(g topicGenMsg) bool { return g.quantity == nil && g.color != "" && g.color != "blue" }},
	{"corr", &admin.RuleProperties{Name: "corr", Filter: &admin.CorrelationFilter{CorrelationID: to.Ptr("c1"),
		ApplicationProperties: map[string]any{"region": "eu"}}},
		func(g topicGenMsg) bool { return g.corrID == "c1" && g.region == "eu" }},
}

// TestSBTopicFilters sends a few hundred generated messages to a topic and
// checks that every subscription gets exactly the messages its filter
// selects, as evaluated independently here.
func TestSBTopicFilters(t *testing.T) {
	e := startSB(t, config.Default())
	e.topic("events")
	for _, f := range topicFilters {
		e.subscription("events", f.sub, nil, f.rule)
	}
	rng := rand.New(rand.NewPCG(7, 11))
	pick := func(opts ...string) string { return opts[rng.IntN(len(opts))] }
	var gen []topicGenMsg
	for i := range 300 {
		g := topicGenMsg{id: fmt.Sprintf("m-%03d", i), color: pick("red", "green", "blue", ""), region: pick("eu", "us", "apac", ""),
			label: pick("order-1", "order-2", "invoice", ""), corrID: pick("c1", "c2", "")}
		if rng.IntN(4) > 0 {
			q := int64(rng.IntN(21))
			g.quantity = &q
		}
		gen = append(gen, g)
	}
	c := ctx(t)
	sender, err := e.client.NewSender("events", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close(c)
	for start := 0; start < len(gen); start += 50 {
		batch, err := sender.NewMessageBatch(c, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range gen[start : start+50] {
			if err := batch.AddMessage(g.message(), nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := sender.SendMessageBatch(c, batch, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range topicFilters {
		var want []string
		for _, g := range gen {
			if f.match(g) {
				want = append(want, g.id)
			}
		}
		got := e.receiveAllFrom("events", f.sub, len(want))
		if ids := messageIDs(got); !slices.Equal(ids, want) {
			t.Fatalf("subscription %q got %d messages, want %d:\n got %v\nwant %v", f.sub, len(ids), len(want), ids, want)
		}
		for _, m := range got {
			if f.sub != "all" && f.sub != "none" && m.ApplicationProperties["RuleName"] != nil {
				t.Fatalf("a copy without an action carries RuleName: %v", m.ApplicationProperties)
			}
			if string(m.Body) != "body "+m.MessageID {
				t.Fatalf("message %s body %q", m.MessageID, m.Body)
			}
		}
		t.Logf("subscription %-6s %3d of %d messages", f.sub, len(want), len(gen))
	}
}

// TestSBTopicRuleActions checks SQL rule actions as the SDK sees them: the
// changed application and system properties, RuleName on each action's
// copy, one copy per matching rule with an action, untouched property
// types kept; and rules added and removed at run time through the admin
// API.
func TestSBTopicRuleActions(t *testing.T) {
	e := startSB(t, config.Default())
	c := ctx(t)
	e.topic("orders")
	e.subscription("orders", "priced", nil, &admin.RuleProperties{Name: "double",
		Filter: &admin.SQLFilter{Expression: "quantity >= 5"},
		Action: &admin.SQLAction{Expression: "SET quantity = quantity * 2; SET sys.Label = 'doubled'; SET routed = TRUE; REMOVE secret"}})
	// Two matching rules: the plain one gives the message as sent, the one
	// with an action a changed copy.
	if _, err := e.admin.CreateRule(c, "orders", "priced", &admin.CreateRuleOptions{Name: to.Ptr("tag"),
		Filter: &admin.SQLFilter{Expression: "EXISTS(tag)"},
		Action: &admin.SQLAction{Expression: "SET sys.CorrelationId = tag"}}); err != nil {
		t.Fatal(err)
	}
	sender, err := e.client.NewSender("orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close(c)
	send := func(id string, props map[string]any) {
		t.Helper()
		if err := sender.SendMessage(c, &azservicebus.Message{MessageID: to.Ptr(id), Subject: to.Ptr("order"), Body: []byte(id),
			ApplicationProperties: props}, nil); err != nil {
			t.Fatal(err)
		}
	}
	send("big", map[string]any{"quantity": int64(7), "secret": "x", "when": int32(3)})
	send("small", map[string]any{"quantity": int64(2)})
	send("both", map[string]any{"quantity": int64(5), "tag": "t1"})

	got := e.receiveAllFrom("orders", "priced", 3)
	byKey := map[string]*azservicebus.ReceivedMessage{}
	for _, m := range got {
		rule, _ := m.ApplicationProperties["RuleName"].(string)
		byKey[m.MessageID+"/"+rule] = m
	}
	big := byKey["big/double"]
	if big == nil || big.ApplicationProperties["quantity"] != int64(14) || *big.Subject != "doubled" || big.ApplicationProperties["routed"] != true ||
		big.ApplicationProperties["secret"] != nil || big.ApplicationProperties["when"] != int32(3) || string(big.Body) != "big" {
		t.Fatalf("action copy of big: %+v (all: %v)", big, keys(byKey))
	}
	if m := byKey["both/double"]; m == nil || m.ApplicationProperties["quantity"] != int64(10) || m.CorrelationID != nil {
		t.Fatalf("double copy of both: %+v (all: %v)", m, keys(byKey))
	}
	if m := byKey["both/tag"]; m == nil || m.CorrelationID == nil || *m.CorrelationID != "t1" || m.ApplicationProperties["quantity"] != int64(5) ||
		*m.Subject != "order" {
		t.Fatalf("tag copy of both: %+v (all: %v)", m, keys(byKey))
	}

	// Rules change at run time: drop "double", add a correlation rule.
	if _, err := e.admin.DeleteRule(c, "orders", "priced", "double", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.CreateRule(c, "orders", "priced", &admin.CreateRuleOptions{Name: to.Ptr("label"),
		Filter: &admin.CorrelationFilter{Subject: to.Ptr("vip")}}); err != nil {
		t.Fatal(err)
	}
	send("big2", map[string]any{"quantity": int64(9)})
	if err := sender.SendMessage(c, &azservicebus.Message{MessageID: to.Ptr("vip"), Subject: to.Ptr("vip"), Body: []byte("v")}, nil); err != nil {
		t.Fatal(err)
	}
	got = e.receiveAllFrom("orders", "priced", 1)
	if got[0].MessageID != "vip" || got[0].ApplicationProperties["RuleName"] != nil {
		t.Fatalf("after the rule change: %+v", got[0])
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
