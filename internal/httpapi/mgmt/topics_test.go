package mgmt

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

func TestTopicLifecycle(t *testing.T) {
	t.Parallel()
	f := setup(t)

	code, body := f.raw("PUT", "/api/v1/topics/events", `{
		"defaultMessageTimeToLive": "PT1H", "requiresDuplicateDetection": true,
		"duplicateDetectionHistoryTimeWindow": "PT10M", "maxSizeInMegabytes": 2048,
		"maxMessageSizeInKilobytes": 512, "autoDeleteOnIdle": "P1D", "supportOrdering": true,
		"status": "active", "userMetadata": "team=web"}`)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	var tp Topic
	if err := json.Unmarshal(body, &tp); err != nil {
		t.Fatal(err)
	}
	want := Topic{
		Name: "events", DefaultMessageTimeToLive: Duration(time.Hour), RequiresDuplicateDetection: true,
		DuplicateDetectionHistoryTimeWindow: Duration(10 * time.Minute), MaxSizeInMegabytes: 2048,
		MaxMessageSizeInKilobytes: 512, AutoDeleteOnIdle: Duration(24 * time.Hour), SupportOrdering: true,
		Status: "Active", UserMetadata: "team=web", CreatedAt: epoch, UpdatedAt: epoch, AccessedAt: epoch,
	}
	if tp != want {
		t.Fatalf("created:\n got %+v\nwant %+v", tp, want)
	}
	// A topic has no lock or delivery settings: they are refused as unknown.
	f.wantError(400, "InvalidArgument", "PUT", "/api/v1/topics/t2", `{"lockDuration":"30s"}`)
	f.wantError(400, "InvalidArgument", "PUT", "/api/v1/topics/t2", `{"defaultMessageTimeToLive":"0s"}`)
	f.wantError(400, "InvalidArgument", "PUT", "/api/v1/topics/t2", `{"status":"paused"}`)
	_, err := f.c.CreateTopic(f.ctx, "EVENTS", TopicProperties{})
	wantAPIError(t, err, 409, "EntityExists")
	// Names are shared with queues.
	f.queue("q", QueueProperties{})
	_, err = f.c.CreateTopic(f.ctx, "q", TopicProperties{})
	wantAPIError(t, err, 409, "EntityExists")
	_, err = f.c.GetTopic(f.ctx, "q")
	if ae := wantAPIError(t, err, 400, "InvalidArgument"); ae.Message != `"q" is a queue, not a topic` {
		t.Fatalf("message %q", ae.Message)
	}
	_, err = f.c.GetQueue(f.ctx, "events")
	wantAPIError(t, err, 400, "InvalidArgument")

	// Defaults, a name with '/'.
	d, err := f.c.CreateTopic(f.ctx, "a/b", TopicProperties{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "a/b" || d.DefaultMessageTimeToLive.String() != "never" || d.MaxMessageSizeInKilobytes != 256 || d.Status != "Active" {
		t.Fatalf("defaults: %+v", d)
	}
	// A subscription of a topic whose name has a '/'.
	if sub, err := f.c.CreateSubscription(f.ctx, "a/b", "s", SubscriptionProperties{}); err != nil || sub.Path != "a/b/Subscriptions/s" {
		t.Fatalf("subscription of a/b: %v %+v", err, sub)
	}
	if _, err := f.c.Send(f.ctx, "a/b", TextMessage("x")); err != nil {
		t.Fatal(err)
	}
	if got, err := f.c.Receive(f.ctx, "a/b/Subscriptions/s", ReceiveRequest{Mode: ModeReceiveAndDelete}); err != nil || len(got) != 1 {
		t.Fatalf("receive from a/b/Subscriptions/s: %v %+v", err, got)
	}
	if code, body := f.raw("GET", "/api/v1/topics/a%2Fb/subscriptions/s", ""); code != 200 {
		t.Fatalf("nested path of a/b: %d %s", code, body)
	}

	// Patch merges.
	f.clock.Advance(time.Second)
	up, err := f.c.UpdateTopic(f.ctx, "events", TopicProperties{UserMetadata: ptr("v2"), Status: ptr("senddisabled")})
	if err != nil {
		t.Fatal(err)
	}
	w2 := want
	w2.UserMetadata, w2.Status, w2.UpdatedAt, w2.AccessedAt = "v2", "SendDisabled", epoch.Add(time.Second), up.AccessedAt
	if *up != w2 {
		t.Fatalf("patched:\n got %+v\nwant %+v", *up, w2)
	}
	_, err = f.c.Send(f.ctx, "events", TextMessage("x"))
	wantAPIError(t, err, 403, "EntityDisabled")

	// List: topics only, sorted.
	ts, err := f.c.ListTopics(f.ctx)
	if err != nil || len(ts) != 2 || ts[0].Name != "a/b" || ts[1].Name != "events" {
		t.Fatalf("list: %v %+v", err, ts)
	}
	qs, err := f.c.ListQueues(f.ctx)
	if err != nil || len(qs) != 1 {
		t.Fatalf("queues: %v %+v", err, qs)
	}

	// Delete takes the subscriptions along.
	if _, err := f.c.CreateSubscription(f.ctx, "events", "s1", SubscriptionProperties{}); err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, f.c.DeleteTopic(f.ctx, "q"), 400, "InvalidArgument")
	if err := f.c.DeleteTopic(f.ctx, "events"); err != nil {
		t.Fatal(err)
	}
	_, err = f.c.GetTopic(f.ctx, "events")
	if ae := wantAPIError(t, err, 404, "NotFound"); ae.Message != `topic "events" not found` {
		t.Fatalf("message %q", ae.Message)
	}
	if _, err := f.b.GetEntity("events/Subscriptions/s1"); broker.CodeOf(err) != broker.CodeNotFound {
		t.Fatalf("subscription survived its topic: %v", err)
	}
	wantAPIError(t, f.c.DeleteTopic(f.ctx, "events"), 404, "NotFound")
	f.wantError(400, "InvalidArgument", "GET", "/api/v1/topics/bad%20name", "")
}

func TestSubscriptionLifecycle(t *testing.T) {
	t.Parallel()
	f := setup(t)
	if _, err := f.c.CreateTopic(f.ctx, "orders", TopicProperties{}); err != nil {
		t.Fatal(err)
	}
	f.queue("audit", QueueProperties{})

	code, body := f.raw("PUT", "/api/v1/topics/orders/subscriptions/eu", `{
		"lockDuration": "PT30S", "maxDeliveryCount": 3, "defaultMessageTimeToLive": "1h",
		"deadLetteringOnMessageExpiration": true, "deadLetteringOnFilterEvaluationExceptions": true,
		"requiresSession": true, "autoDeleteOnIdle": "P1D", "forwardDeadLetteredMessagesTo": "audit",
		"userMetadata": "m", "defaultRule": {"name": "eu-only", "filter": {"type": "sql", "sqlExpression": "region = 'eu'"}}}`)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	var s Subscription
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatal(err)
	}
	want := Subscription{
		Name: "eu", Topic: "orders", Path: "orders/Subscriptions/eu", LockDuration: Duration(30 * time.Second),
		MaxDeliveryCount: 3, DefaultMessageTimeToLive: Duration(time.Hour), DeadLetteringOnMessageExpiration: true,
		DeadLetteringOnFilterEvaluationExceptions: true, RequiresSession: true, AutoDeleteOnIdle: Duration(24 * time.Hour),
		ForwardDeadLetteredMessagesTo: "audit", Status: "Active", UserMetadata: "m",
		CreatedAt: epoch, UpdatedAt: epoch, AccessedAt: epoch,
	}
	if s != want {
		t.Fatalf("created:\n got %+v\nwant %+v", s, want)
	}
	rules, err := f.c.ListRules(f.ctx, "orders", "eu")
	if err != nil || len(rules) != 1 || rules[0].Name != "eu-only" || rules[0].Filter.Type != FilterSQL {
		t.Fatalf("rules: %v %+v", err, rules)
	}

	// Without a rule: $Default, TrueFilter.
	if _, err := f.c.CreateSubscription(f.ctx, "orders", "all", SubscriptionProperties{}); err != nil {
		t.Fatal(err)
	}
	rules, err = f.c.ListRules(f.ctx, "orders", "all")
	if err != nil || len(rules) != 1 || rules[0].Name != "$Default" || rules[0].Filter.Type != FilterTrue || rules[0].Action != nil {
		t.Fatalf("default rules: %v %+v", err, rules)
	}
	_, err = f.c.CreateSubscription(f.ctx, "orders", "ALL", SubscriptionProperties{})
	wantAPIError(t, err, 409, "EntityExists")
	_, err = f.c.CreateSubscription(f.ctx, "nope", "x", SubscriptionProperties{})
	if ae := wantAPIError(t, err, 404, "NotFound"); ae.Message != `topic "nope" not found` {
		t.Fatalf("message %q", ae.Message)
	}
	_, err = f.c.CreateSubscription(f.ctx, "audit", "x", SubscriptionProperties{})
	wantAPIError(t, err, 400, "InvalidArgument")
	// A bad default rule creates nothing and names the position.
	_, err = f.c.CreateSubscription(f.ctx, "orders", "bad", SubscriptionProperties{
		DefaultRule: &Rule{Filter: RuleFilter{Type: "sql", SQLExpression: "region = = 'eu'"}}})
	ae := wantAPIError(t, err, 400, "InvalidArgument")
	if !strings.Contains(ae.Message, `rule "$Default"`) || !strings.Contains(ae.Message, "column 10") || !strings.Contains(ae.Message, `near "="`) {
		t.Fatalf("message %q", ae.Message)
	}
	_, err = f.c.GetSubscription(f.ctx, "orders", "bad")
	if ae := wantAPIError(t, err, 404, "NotFound"); ae.Message != `subscription "bad" of topic "orders" not found` {
		t.Fatalf("message %q", ae.Message)
	}
	f.wantError(400, "InvalidArgument", "PUT", "/api/v1/topics/orders/subscriptions/x", `{"maxDeliveryCount":0}`)
	f.wantError(400, "InvalidArgument", "PUT", "/api/v1/topics/orders/subscriptions/x", `{"forwardTo":"missing"}`)
	f.wantError(400, "InvalidArgument", "PUT", "/api/v1/topics/orders/subscriptions/"+strings.Repeat("s", 51), `{}`)

	// Patch merges; RequiresSession cannot change; no defaultRule.
	f.clock.Advance(time.Second)
	up, err := f.c.UpdateSubscription(f.ctx, "orders", "eu", SubscriptionProperties{MaxDeliveryCount: ptr(int32(7)), ForwardDeadLetteredMessagesTo: ptr("")})
	if err != nil {
		t.Fatal(err)
	}
	w2 := want
	w2.MaxDeliveryCount, w2.ForwardDeadLetteredMessagesTo, w2.UpdatedAt, w2.AccessedAt = 7, "", epoch.Add(time.Second), up.AccessedAt
	if *up != w2 {
		t.Fatalf("patched:\n got %+v\nwant %+v", *up, w2)
	}
	_, err = f.c.UpdateSubscription(f.ctx, "orders", "eu", SubscriptionProperties{RequiresSession: ptr(false)})
	wantAPIError(t, err, 400, "InvalidArgument")
	f.wantError(400, "InvalidArgument", "PATCH", "/api/v1/topics/orders/subscriptions/eu", `{"defaultRule":{"filter":{"type":"true"}}}`)
	_, err = f.c.UpdateSubscription(f.ctx, "orders", "nope", SubscriptionProperties{})
	wantAPIError(t, err, 404, "NotFound")

	// List with counts.
	if _, err := f.c.Send(f.ctx, "orders", SendMessage{Body: ptr("x"), SessionID: "s", Properties: map[string]any{"region": "eu"}}); err != nil {
		t.Fatal(err)
	}
	subs, err := f.c.ListSubscriptions(f.ctx, "orders")
	if err != nil || len(subs) != 2 || subs[0].Name != "all" || subs[1].Name != "eu" ||
		subs[0].ActiveMessageCount != 1 || subs[1].ActiveMessageCount != 1 {
		t.Fatalf("list: %v %+v", err, subs)
	}
	tp, err := f.c.GetTopic(f.ctx, "orders")
	if err != nil || tp.SubscriptionCount != 2 {
		t.Fatalf("topic: %v %+v", err, tp)
	}
	_, err = f.c.ListSubscriptions(f.ctx, "nope")
	wantAPIError(t, err, 404, "NotFound")

	// Delete.
	if err := f.c.DeleteSubscription(f.ctx, "orders", "all"); err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, f.c.DeleteSubscription(f.ctx, "orders", "all"), 404, "NotFound")
	if tp, _ := f.c.GetTopic(f.ctx, "orders"); tp.SubscriptionCount != 1 {
		t.Fatalf("after delete: %+v", tp)
	}
}

func TestRules(t *testing.T) {
	t.Parallel()
	f := setup(t)
	if _, err := f.c.CreateTopic(f.ctx, "t", TopicProperties{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.CreateSubscription(f.ctx, "t", "s", SubscriptionProperties{}); err != nil {
		t.Fatal(err)
	}

	// SQL with typed parameters, and an action with a parameter.
	code, body := f.raw("PUT", "/api/v1/topics/t/subscriptions/s/rules/big", `{
		"filter": {"type": "SqlFilter", "sqlExpression": "qty > @min AND sys.Label = @label AND since >= @t",
		           "parameters": {"@min": 10, "label": "order", "t": {"type": "datetime", "value": "2026-01-01T00:00:00Z"}}},
		"action": {"sqlExpression": "SET size = 'big'; SET ratio = @r", "parameters": {"r": {"type": "double", "value": 2}}}}`)
	if code != http.StatusCreated {
		t.Fatalf("add: %d %s", code, body)
	}
	var got Rule
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Name != "big" || got.Filter.Type != FilterSQL || got.CreatedAt == nil || !got.CreatedAt.Equal(epoch) ||
		got.Action == nil || got.Action.SQLExpression != "SET size = 'big'; SET ratio = @r" {
		t.Fatalf("added: %+v", got)
	}
	// Typed values come back typed.
	for _, s := range []string{`"@min":10`, `"t":{"type":"datetime","value":"2026-01-01T00:00:00Z"}`, `"r":{"type":"double","value":"2"}`} {
		if !strings.Contains(string(body), s) {
			t.Fatalf("answer lacks %s: %s", s, body)
		}
	}
	br, err := f.b.Rules("t", "s")
	if err != nil || len(br) != 2 {
		t.Fatal(err, br)
	}
	if p := br[1].Filter.Parameters; p["@min"] != int64(10) || p["label"] != "order" || !p["t"].(time.Time).Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) ||
		br[1].ActionParameters["r"] != float64(2) {
		t.Fatalf("broker rule: %+v", br[1])
	}

	// Correlation with properties; label is subject.
	corr, err := f.c.AddRule(f.ctx, "t", "s", Rule{Name: "corr", Filter: RuleFilter{Type: "correlation", CorrelationID: "c1", Label: "L",
		Properties: map[string]any{"color": "red", "n": 5}}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if corr.Filter.Type != FilterCorrelation || corr.Filter.Subject != "L" || corr.Filter.CorrelationID != "c1" ||
		corr.Filter.Properties["color"] != "red" || corr.Filter.Properties["n"] != float64(5) {
		t.Fatalf("correlation: %+v", corr)
	}

	// List in order; get one (case-insensitive).
	rules, err := f.c.ListRules(f.ctx, "t", "s")
	if err != nil || len(rules) != 3 || rules[0].Name != "$Default" || rules[1].Name != "big" || rules[2].Name != "corr" {
		t.Fatalf("list: %v %+v", err, rules)
	}
	one, err := f.c.GetRule(f.ctx, "t", "s", "BIG")
	if err != nil || one.Name != "big" || one.Filter.SQLExpression == "" {
		t.Fatalf("get: %v %+v", err, one)
	}
	_, err = f.c.GetRule(f.ctx, "t", "s", "nope")
	if ae := wantAPIError(t, err, 404, "NotFound"); ae.Message != `rule "nope" not found in subscription "s" of topic "t"` {
		t.Fatalf("message %q", ae.Message)
	}

	// Exists; replace with If-Match; replace of a missing rule.
	_, err = f.c.AddRule(f.ctx, "t", "s", Rule{Name: "CORR", Filter: RuleFilter{Type: "true"}}, false)
	wantAPIError(t, err, 409, "EntityExists")
	f.clock.Advance(time.Second)
	rep, err := f.c.AddRule(f.ctx, "t", "s", Rule{Name: "corr", Filter: RuleFilter{Type: "false"}}, true)
	if err != nil || rep.Filter.Type != FilterFalse || !rep.CreatedAt.Equal(epoch) {
		t.Fatalf("replace: %v %+v", err, rep)
	}
	_, err = f.c.AddRule(f.ctx, "t", "s", Rule{Name: "missing", Filter: RuleFilter{Type: "true"}}, true)
	wantAPIError(t, err, 404, "NotFound")
	f.wantError(400, "InvalidArgument", "PUT", "/api/v1/topics/t/subscriptions/s/rules/x", `{"filter":{"type":"true"}}`, "If-Match", `"etag"`)

	// Bad rules: 400 with what is wrong; a SQL error names the position and token.
	for _, tc := range []struct{ body, want string }{
		{`{"filter":{"type":"sql","sqlExpression":"color = 'red' AND AND x"}}`, `rule "r": SqlFilter: filter: syntax error at line 1, column 19 (offset 18) near "AND"`},
		{`{"filter":{"type":"sql","sqlExpression":"a = 1"},"action":{"sqlExpression":"SET sys.SequenceNumber = 1"}}`, `SqlRuleAction`},
		{`{"filter":{"type":"sql","sqlExpression":"sys.Nope = 1"}}`, `unknown system property`},
		{`{"filter":{"type":"sql","sqlExpression":"a = @p"}}`, `unknown parameter`},
		{`{"filter":{"type":"sql","sqlExpression":"frob(a) = 1"}}`, `unknown function`},
		{`{"filter":{"type":"sql"}}`, `filter.sqlExpression is missing`},
		{`{"filter":{"type":"SqlFilterX","sqlExpression":"a=1"}}`, `filter.type "SqlFilterX" is not`},
		{`{"filter":{}}`, `filter.type is missing`},
		{`{"filter":{"type":"true","correlationId":"x"}}`, `filter.correlationId belongs to a CorrelationFilter, not a TrueFilter`},
		{`{"filter":{"type":"correlation","sqlExpression":"a=1"}}`, `belong to a SqlFilter`},
		{`{"filter":{"type":"correlation"}}`, `needs at least one condition`},
		{`{"filter":{"type":"correlation","properties":{"p":[1]}}}`, `must be a string, number, boolean or null`},
		{`{"filter":{"type":"correlation","properties":{"p":{"type":"datetime","value":"yesterday"}}}}`, `is not an RFC 3339 time`},
		{`{"filter":{"type":"correlation","properties":{"p":{"type":"color","value":"red"}}}}`, `type "color" is not`},
		{`{"name":"other","filter":{"type":"true"}}`, `the body names rule "other" but the URL names "r"`},
		{`{"filter":{"type":"true"},"action":{"sqlExpression":"","parameters":{"a":1}}}`, `action has parameters but no sqlExpression`},
		{`{"filter":{"type":"true"},"unknown":1}`, `unknown field`},
	} {
		msg := f.wantError(400, "InvalidArgument", "PUT", "/api/v1/topics/t/subscriptions/s/rules/r", tc.body)
		if !strings.Contains(msg, tc.want) {
			t.Errorf("%s: message %q lacks %q", tc.body, msg, tc.want)
		}
	}
	f.wantError(400, "InvalidArgument", "PUT", "/api/v1/topics/t/subscriptions/s/rules/a@b", `{"filter":{"type":"true"}}`)
	f.wantError(404, "NotFound", "PUT", "/api/v1/topics/t/subscriptions/nope/rules/r", `{"filter":{"type":"true"}}`)
	f.wantError(404, "NotFound", "GET", "/api/v1/topics/t/subscriptions/nope/rules", "")
	if rules, _ := f.c.ListRules(f.ctx, "t", "s"); len(rules) != 3 {
		t.Fatalf("a bad rule changed the rules: %+v", rules)
	}

	// Delete.
	if err := f.c.DeleteRule(f.ctx, "t", "s", "$Default"); err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, f.c.DeleteRule(f.ctx, "t", "s", "$Default"), 404, "NotFound")
	wantAPIError(t, f.c.DeleteRule(f.ctx, "t", "nope", "x"), 404, "NotFound")
	rules, _ = f.c.ListRules(f.ctx, "t", "s")
	if len(rules) != 2 || rules[0].Name != "big" {
		t.Fatalf("after delete: %+v", rules)
	}
}

// TestTopicMessages sends to a topic and receives from its subscriptions
// under both paths: filters decide where copies go, actions change them.
func TestTopicMessages(t *testing.T) {
	t.Parallel()
	f := setup(t)
	if _, err := f.c.CreateTopic(f.ctx, "t", TopicProperties{}); err != nil {
		t.Fatal(err)
	}
	mk := func(sub string, r *Rule) {
		t.Helper()
		if _, err := f.c.CreateSubscription(f.ctx, "t", sub, SubscriptionProperties{DefaultRule: r}); err != nil {
			t.Fatal(err)
		}
	}
	mk("all", nil)
	mk("red", &Rule{Name: "red", Filter: RuleFilter{Type: "sql", SQLExpression: "color = @c", Parameters: map[string]any{"c": "red"}},
		Action: &RuleAction{SQLExpression: "SET tagged = 'yes'"}})
	mk("corr", &Rule{Name: "c", Filter: RuleFilter{Type: "correlation", Subject: "invoice", Properties: map[string]any{"n": 2}}})
	mk("none", &Rule{Name: "f", Filter: RuleFilter{Type: "false"}})

	seqs, err := f.c.Send(f.ctx, "t",
		SendMessage{Body: ptr("m1"), Properties: map[string]any{"color": "red"}},
		SendMessage{Body: ptr("m2"), Subject: "invoice", Properties: map[string]any{"n": 2.0}},
		SendMessage{Body: ptr("m3"), Properties: map[string]any{"color": "blue"}})
	if err != nil || len(seqs) != 3 {
		t.Fatalf("send: %v %v", err, seqs)
	}
	// The topic route sends too.
	code, body := f.raw("POST", "/api/v1/topics/t/messages", `{"messages":[{"body":"m4","properties":{"color":"red"}}]}`)
	if code != http.StatusCreated {
		t.Fatalf("topic route send: %d %s", code, body)
	}

	bodies := func(msgs []*Message) string {
		var out []string
		for _, m := range msgs {
			out = append(out, *m.Body)
		}
		return strings.Join(out, ",")
	}
	for sub, want := range map[string]string{"all": "m1,m2,m3,m4", "red": "m1,m4", "corr": "m2", "none": ""} {
		got, err := f.c.Peek(f.ctx, "t/Subscriptions/"+sub, PeekOptions{Max: 10})
		if err != nil || bodies(got) != want {
			t.Fatalf("%s: %v %q, want %q", sub, err, bodies(got), want)
		}
	}
	// The action changed red's copies only.
	red, err := f.c.Peek(f.ctx, "t/Subscriptions/red", PeekOptions{Max: 1})
	if err != nil || red[0].Properties["tagged"] != "yes" || red[0].Properties["RuleName"] != "red" {
		t.Fatalf("red copy: %v %+v", err, red[0].Properties)
	}
	all, _ := f.c.Peek(f.ctx, "t/Subscriptions/all", PeekOptions{Max: 1})
	if _, ok := all[0].Properties["tagged"]; ok {
		t.Fatalf("the action changed another subscription's copy: %+v", all[0].Properties)
	}

	// Receive and settle under the nested path.
	var list MessageList
	code, body = f.raw("POST", "/api/v1/topics/t/subscriptions/red/receive", `{"max":5}`)
	if code != 200 || json.Unmarshal(body, &list) != nil || len(list.Messages) != 2 {
		t.Fatalf("nested receive: %d %s", code, body)
	}
	code, body = f.raw("POST", "/api/v1/topics/t/subscriptions/red/settle",
		`{"lockToken":"`+list.Messages[0].LockToken+`","disposition":"deadletter","reason":"r"}`)
	if code != http.StatusNoContent {
		t.Fatalf("nested settle: %d %s", code, body)
	}
	if err := f.c.Complete(f.ctx, "t/Subscriptions/red", list.Messages[1].LockToken, false); err != nil {
		t.Fatal(err)
	}
	code, body = f.raw("GET", "/api/v1/topics/t/subscriptions/red/messages?dlq=true", "")
	if code != 200 || !strings.Contains(string(body), `"body":"m1"`) || !strings.Contains(string(body), `"deadLetterReason":"r"`) {
		t.Fatalf("nested peek of the DLQ: %d %s", code, body)
	}
	// Resubmit puts the message back into that subscription only.
	res, err := f.c.ResubmitDeadLetters(f.ctx, "t/Subscriptions/red", 0)
	if err != nil || res.Resubmitted != 1 {
		t.Fatalf("resubmit: %v %+v", err, res)
	}
	s, err := f.c.GetSubscription(f.ctx, "t", "red")
	if err != nil || s.ActiveMessageCount != 1 || s.DeadLetterMessageCount != 0 {
		t.Fatalf("after resubmit: %v %+v", err, s)
	}
	if a, _ := f.c.GetSubscription(f.ctx, "t", "all"); a.ActiveMessageCount != 4 {
		t.Fatalf("resubmit reached another subscription: %+v", a)
	}

	// A subscription is not a send target; a topic is not a receive source.
	_, err = f.c.Send(f.ctx, "t/Subscriptions/all", TextMessage("x"))
	if ae := wantAPIError(t, err, 400, "InvalidArgument"); !strings.Contains(ae.Message, `send to its topic "t"`) {
		t.Fatalf("message %q", ae.Message)
	}
	_, err = f.c.Receive(f.ctx, "t", ReceiveRequest{})
	wantAPIError(t, err, 400, "InvalidArgument")
	_, err = f.c.Receive(f.ctx, "t/Subscriptions/nope", ReceiveRequest{})
	if ae := wantAPIError(t, err, 404, "NotFound"); ae.Message != `subscription "nope" of topic "t" not found` {
		t.Fatalf("message %q", ae.Message)
	}
	msg := f.wantError(404, "NotFound", "POST", "/api/v1/topics/nope/messages", `{"messages":[{"body":"x"}]}`)
	if msg != `topic "nope" not found` {
		t.Fatalf("message %q", msg)
	}
}
