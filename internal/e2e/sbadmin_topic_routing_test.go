package e2e

// A few hundred generated messages sent through azservicebus to a topic
// whose subscriptions (made with the admin client) use SQL filters with
// parameters, correlation filters, rule actions, several rules at once,
// TrueFilter and FalseFilter. Every subscription must then hold exactly the
// copies an independent Go evaluation, written here from Service Bus's
// documented semantics, says it should: no more, no fewer, and the
// action's changes on the action's copies only.

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus/admin"

	"github.com/batonmq/baton/internal/config"
)

// genMsg is one generated message. Pointer fields may be absent (the
// property is not sent at all); empty strings are unset system properties.
type genMsg struct {
	id      string
	color   string
	size    int64
	price   *float64
	region  *string
	vip     *bool
	subject string
	corrID  string
}

func (g *genMsg) message() *azservicebus.Message {
	props := map[string]any{"color": g.color, "size": g.size}
	if g.price != nil {
		props["price"] = *g.price
	}
	if g.region != nil {
		props["region"] = *g.region
	}
	if g.vip != nil {
		props["vip"] = *g.vip
	}
	m := &azservicebus.Message{MessageID: &g.id, Body: []byte("body of " + g.id), ApplicationProperties: props}
	if g.subject != "" {
		m.Subject = to.Ptr(g.subject)
	}
	if g.corrID != "" {
		m.CorrelationID = to.Ptr(g.corrID)
	}
	return m
}

func generate(rng *rand.Rand, n int) []*genMsg {
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	out := make([]*genMsg, n)
	for i := range out {
		g := &genMsg{
			id:      fmt.Sprintf("m-%03d", i),
			color:   pick("red", "green", "blue", "grey"),
			size:    int64(rng.IntN(20)),
			subject: pick("order", "invoice", "refund", ""),
			corrID:  pick("", "c-0", "c-1", "c-2"),
		}
		if rng.IntN(100) < 85 {
			p := float64(rng.IntN(10000)) / 100
			g.price = &p
		}
		if rng.IntN(100) < 85 {
			g.region = to.Ptr(pick("eu", "us", "asia"))
		}
		if rng.IntN(100) < 70 {
			g.vip = to.Ptr(rng.IntN(2) == 0)
		}
		out[i] = g
	}
	return out
}

// copyOf is what one subscription should hold of a message: its id, and
// for copies made by an action, the action's name.
type copyOf struct{ id, action string }

// routingSub is a subscription with its rules and the independent
// evaluation of what it should receive.
type routingSub struct {
	name   string
	rules  []admin.RuleProperties // the first is the default rule
	expect func(g *genMsg) []copyOf
}

func plain(ok bool, g *genMsg) []copyOf {
	if ok {
		return []copyOf{{id: g.id}}
	}
	return nil
}

func routingSubs() []routingSub {
	sql := func(name, expr string, params map[string]any) admin.RuleProperties {
		return admin.RuleProperties{Name: name, Filter: &admin.SQLFilter{Expression: expr, Parameters: params}}
	}
	return []routingSub{
		{"all", nil, func(g *genMsg) []copyOf { return plain(true, g) }},
		{"none", []admin.RuleProperties{{Name: "never", Filter: &admin.FalseFilter{}}}, func(*genMsg) []copyOf { return nil }},
		{"red-big", []admin.RuleProperties{sql("red-big", "color = 'red' AND size > 10", nil)},
			func(g *genMsg) []copyOf { return plain(g.color == "red" && g.size > 10, g) }},
		// Three-valued logic: a missing property is NULL, NULL OR TRUE is
		// TRUE, NULL OR FALSE is NULL (no match).
		{"eu-or-vip", []admin.RuleProperties{sql("eu-or-vip", "region = @r OR vip = TRUE", map[string]any{"@r": "eu"})},
			func(g *genMsg) []copyOf {
				return plain(g.region != nil && *g.region == "eu" || g.vip != nil && *g.vip, g)
			}},
		{"us-invoices", []admin.RuleProperties{{Name: "us-invoices", Filter: &admin.CorrelationFilter{
			Subject: to.Ptr("invoice"), ApplicationProperties: map[string]any{"region": "us"}}}},
			func(g *genMsg) []copyOf {
				return plain(g.subject == "invoice" && g.region != nil && *g.region == "us", g)
			}},
		{"corr-c1", []admin.RuleProperties{{Name: "c1", Filter: &admin.CorrelationFilter{CorrelationID: to.Ptr("c-1")}}},
			func(g *genMsg) []copyOf { return plain(g.corrID == "c-1", g) }},
		{"g-cheap", []admin.RuleProperties{sql("g-cheap", "color LIKE 'g%' AND price < 50.5", nil)},
			func(g *genMsg) []copyOf {
				return plain(strings.HasPrefix(g.color, "g") && g.price != nil && *g.price < 50.5, g)
			}},
		{"small-or-orders", []admin.RuleProperties{sql("small-or-orders", "size IN (1, 2, 3) OR sys.Label = 'order'", nil)},
			func(g *genMsg) []copyOf { return plain(g.size >= 1 && g.size <= 3 || g.subject == "order", g) }},
		{"priced-not-red", []admin.RuleProperties{sql("priced-not-red", "EXISTS(price) AND color <> 'red'", nil)},
			func(g *genMsg) []copyOf { return plain(g.price != nil && g.color != "red", g) }},
		{"no-region", []admin.RuleProperties{sql("no-region", "region IS NULL", nil)},
			func(g *genMsg) []copyOf { return plain(g.region == nil, g) }},
		{"blue-tier", []admin.RuleProperties{{Name: "blue-tier",
			Filter: &admin.SQLFilter{Expression: "color = 'blue'"},
			Action: &admin.SQLAction{Expression: "SET tier = @t; SET size2 = size * 2; REMOVE vip", Parameters: map[string]any{"@t": "gold"}}}},
			func(g *genMsg) []copyOf {
				if g.color != "blue" {
					return nil
				}
				return []copyOf{{id: g.id, action: "blue-tier"}}
			}},
		// Two rules: a message matching both gets one unchanged copy and
		// one copy changed by the action.
		{"multi", []admin.RuleProperties{sql("small", "size < 5", nil), {Name: "tiny",
			Filter: &admin.SQLFilter{Expression: "size < 3"}, Action: &admin.SQLAction{Expression: "SET b = 1"}}},
			func(g *genMsg) []copyOf {
				var out []copyOf
				if g.size < 5 {
					out = append(out, copyOf{id: g.id})
				}
				if g.size < 3 {
					out = append(out, copyOf{id: g.id, action: "tiny"})
				}
				return out
			}},
	}
}

func TestSBTopicRoutingMatchesIndependentEvaluation(t *testing.T) {
	t.Parallel()
	e := startSB(t, config.Default())
	c := ctx(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0x5b))
	msgs := generate(rng, 300)

	if _, err := e.admin.CreateTopic(c, "routing", nil); err != nil {
		t.Fatal(err)
	}
	subs := routingSubs()
	for _, s := range subs {
		var opts *admin.CreateSubscriptionOptions
		if len(s.rules) > 0 {
			opts = &admin.CreateSubscriptionOptions{Properties: &admin.SubscriptionProperties{DefaultRule: &s.rules[0]}}
		}
		if _, err := e.admin.CreateSubscription(c, "routing", s.name, opts); err != nil {
			t.Fatalf("subscription %s: %v", s.name, err)
		}
		for _, r := range s.rules[min(1, len(s.rules)):] {
			if _, err := e.admin.CreateRule(c, "routing", s.name, &admin.CreateRuleOptions{Name: &r.Name, Filter: r.Filter, Action: r.Action}); err != nil {
				t.Fatalf("rule %s/%s: %v", s.name, r.Name, err)
			}
		}
	}

	sender, err := e.client.NewSender("routing", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close(c)
	for start := 0; start < len(msgs); start += 75 {
		batch, err := sender.NewMessageBatch(c, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range msgs[start:min(start+75, len(msgs))] {
			if err := batch.AddMessage(g.message(), nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := sender.SendMessageBatch(c, batch, nil); err != nil {
			t.Fatal(err)
		}
	}

	byID := make(map[string]*genMsg, len(msgs))
	for _, g := range msgs {
		byID[g.id] = g
	}
	for _, s := range subs {
		var want []copyOf
		for _, g := range msgs {
			want = append(want, s.expect(g)...)
		}
		// The count the admin API reports, then every copy, by peeking
		// (which takes no locks and never waits for messages).
		rt, err := e.admin.GetSubscriptionRuntimeProperties(c, "routing", s.name, nil)
		if err != nil {
			t.Fatal(err)
		}
		if rt.ActiveMessageCount != int32(len(want)) {
			t.Errorf("%s: the admin API counts %d active messages; the evaluation says %d", s.name, rt.ActiveMessageCount, len(want))
		}
		got := peekAll(t, e, "routing", s.name)
		var gotCopies []copyOf
		for _, m := range got {
			g := byID[m.MessageID]
			if g == nil {
				t.Fatalf("%s: unknown message %q", s.name, m.MessageID)
			}
			cp := copyOf{id: m.MessageID}
			switch s.name {
			case "blue-tier":
				cp.action = "blue-tier"
				if m.ApplicationProperties["tier"] != "gold" || m.ApplicationProperties["size2"] != g.size*2 {
					t.Errorf("%s: %s has tier %v and size2 %v (size %d)", s.name, m.MessageID,
						m.ApplicationProperties["tier"], m.ApplicationProperties["size2"], g.size)
				}
				if _, ok := m.ApplicationProperties["vip"]; ok {
					t.Errorf("%s: %s still has vip after REMOVE vip", s.name, m.MessageID)
				}
			case "multi":
				if v, ok := m.ApplicationProperties["b"]; ok {
					if v != int64(1) {
						t.Errorf("%s: %s has b = %v (%T)", s.name, m.MessageID, v, v)
					}
					cp.action = "tiny"
				}
			}
			if cp.action == "" {
				// An unchanged copy carries the sent properties exactly.
				if m.ApplicationProperties["color"] != g.color || m.ApplicationProperties["size"] != g.size {
					t.Errorf("%s: %s arrived with properties %v", s.name, m.MessageID, m.ApplicationProperties)
				}
				if _, ok := m.ApplicationProperties["tier"]; ok {
					t.Errorf("%s: %s has another subscription's action applied: %v", s.name, m.MessageID, m.ApplicationProperties)
				}
			}
			if string(m.Body) != "body of "+m.MessageID {
				t.Errorf("%s: %s body %q", s.name, m.MessageID, m.Body)
			}
			gotCopies = append(gotCopies, cp)
		}
		cmp := func(a, b copyOf) int {
			if c := strings.Compare(a.id, b.id); c != 0 {
				return c
			}
			return strings.Compare(a.action, b.action)
		}
		slices.SortFunc(want, cmp)
		slices.SortFunc(gotCopies, cmp)
		if !slices.Equal(gotCopies, want) {
			t.Errorf("%s: holds %d copies, the evaluation says %d\n missing: %v\n extra: %v",
				s.name, len(gotCopies), len(want), diffCopies(want, gotCopies), diffCopies(gotCopies, want))
		}
		if len(want) == 0 && s.name != "none" {
			t.Errorf("%s: the generated messages exercise nothing here (seed %d)", s.name, seed)
		}
	}
}

// peekAll peeks every message of a subscription in sequence order.
func peekAll(t *testing.T, e *sb, topic, sub string) []*azservicebus.ReceivedMessage {
	t.Helper()
	r, err := e.client.NewReceiverForSubscription(topic, sub, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(ctx(t))
	var out []*azservicebus.ReceivedMessage
	for {
		page, err := r.PeekMessages(ctx(t), 250, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
	}
}

// diffCopies returns what a has that b lacks (both sorted), at most ten.
func diffCopies(a, b []copyOf) []copyOf {
	var out []copyOf
	count := map[copyOf]int{}
	for _, x := range b {
		count[x]++
	}
	for _, x := range a {
		if count[x] > 0 {
			count[x]--
			continue
		}
		if out = append(out, x); len(out) == 10 {
			break
		}
	}
	return out
}
