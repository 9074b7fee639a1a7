package servicebus

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/broker/brokertest"
)

// rulesEnv is a topic "t" with subscription "s" (rule $Default) and a
// queue "q", behind a Management.
type rulesEnv struct {
	t *testing.T
	b *broker.Broker
	m *Management
}

func newRulesEnv(t *testing.T, limits broker.Limits) *rulesEnv {
	t.Helper()
	b := newCodecBroker(t, limits)
	ctx := context.Background()
	if _, err := b.CreateTopic(ctx, "t", broker.QueueProperties{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CreateSubscription(ctx, "t", "s", broker.QueueProperties{}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CreateQueue(ctx, "q", broker.QueueProperties{}); err != nil {
		t.Fatal(err)
	}
	m, err := NewManagement(Config{Broker: b})
	if err != nil {
		t.Fatal(err)
	}
	return &rulesEnv{t: t, b: b, m: m}
}

func (e *rulesEnv) do(op, entity string, body encoding.Map) *Response {
	e.t.Helper()
	resp := e.m.Handle(context.Background(), &Request{Operation: op, Entity: entity, Body: body})
	checkResponse(e.t, resp)
	return resp
}

// addRuleBody is an add-rule body as the JS SDK builds it (string keys;
// absent correlation fields as nulls).
func addRuleBody(name string, desc encoding.Map) encoding.Map {
	return encoding.Map{{Key: "rule-name", Value: name}, {Key: "rule-description", Value: desc}}
}

func sqlDesc(expr string) encoding.Map {
	return encoding.Map{{Key: "sql-filter", Value: encoding.Map{{Key: "expression", Value: expr}}}}
}

func TestRuleOperations(t *testing.T) {
	e := newRulesEnv(t, broker.Limits{})
	const sub = "t/Subscriptions/s"
	ok := func(resp *Response) {
		t.Helper()
		if resp.StatusCode != StatusOK {
			t.Fatalf("status %d %s: %s", resp.StatusCode, resp.ErrorCondition, resp.StatusDescription)
		}
	}
	ok(e.do(OpAddRule, sub, addRuleBody("sql", append(sqlDesc("color = 'red'"),
		encoding.KV{Key: "sql-rule-action", Value: encoding.Map{{Key: "expression", Value: "SET x = 1"}}}))))
	ok(e.do(OpAddRule, sub, addRuleBody("corr", encoding.Map{{Key: "correlation-filter", Value: encoding.Map{
		{Key: "correlation-id", Value: "c1"}, {Key: "message-id", Value: nil}, {Key: "to", Value: nil},
		{Key: "reply-to", Value: nil}, {Key: "label", Value: "lbl"}, {Key: "session-id", Value: nil},
		{Key: "reply-to-session-id", Value: nil}, {Key: "content-type", Value: nil},
		{Key: "properties", Value: encoding.Map{{Key: "n", Value: int64(5)}, {Key: "k", Value: "v"}}},
	}}})))
	// Symbol keys are accepted as well.
	ok(e.do("add-rule", "T/subscriptions/S", encoding.Map{{Key: encoding.Symbol("rule-name"), Value: "sym"},
		{Key: encoding.Symbol("rule-description"), Value: sqlDesc("1=0")}}))

	rules, err := e.b.Rules("t", "s")
	if err != nil || len(rules) != 4 {
		t.Fatalf("Rules = %+v, %v", rules, err)
	}
	if r := rules[1]; r.Name != "sql" || r.Filter.Kind != broker.FilterSQL || r.Filter.SQL != "color = 'red'" || r.Action != "SET x = 1" {
		t.Fatalf("sql rule %+v", r)
	}
	if c := rules[2].Filter.Correlation; c == nil || c.CorrelationID != "c1" || c.Subject != "lbl" || c.Properties["n"] != int64(5) || c.Properties["k"] != "v" {
		t.Fatalf("correlation rule %+v", rules[2])
	}

	// enumerate-rules, decoded by go-amqp.
	resp := e.do(OpEnumerateRules, sub, encoding.Map{{Key: "top", Value: int32(1<<31 - 1)}, {Key: "skip", Value: int32(0)}})
	body := goBody(t, resp)
	list, isList := body["rules"].([]any)
	if !isList || len(list) != 4 {
		t.Fatalf("rules = %#v", body["rules"])
	}
	type want struct {
		name       string
		filter     uint64
		action     uint64
		filterVals []any
	}
	wants := []want{
		{"$Default", DescriptorTrueFilter, DescriptorEmptyRuleAction, nil},
		{"sql", DescriptorSQLFilter, DescriptorSQLRuleAction, []any{"color = 'red'", int32(20)}},
		{"corr", DescriptorCorrelationFilter, DescriptorEmptyRuleAction, nil},
		{"sym", DescriptorSQLFilter, DescriptorEmptyRuleAction, []any{"1=0", int32(20)}},
	}
	for i, w := range wants {
		entry, isMap := list[i].(map[string]any)
		if !isMap {
			t.Fatalf("rules[%d] is %T", i, list[i])
		}
		rd := goDescribed(t, entry["rule-description"])
		fields, isList := rd.Value.([]any)
		if rd.Descriptor != DescriptorRuleDescription || !isList || len(fields) != 4 {
			t.Fatalf("rule-description %#v", rd)
		}
		f := goDescribed(t, fields[0])
		a := goDescribed(t, fields[1])
		if f.Descriptor != w.filter || a.Descriptor != w.action || fields[2] != w.name {
			t.Fatalf("rule %d: filter %#v action %#v name %v", i, fields[0], fields[1], fields[2])
		}
		if created, isTime := fields[3].(time.Time); !isTime || !created.Equal(brokertest.Epoch) {
			t.Fatalf("created-at %#v", fields[3])
		}
		if w.filterVals != nil {
			vals, _ := f.Value.([]any)
			if len(vals) != len(w.filterVals) || vals[0] != w.filterVals[0] || vals[1] != w.filterVals[1] {
				t.Fatalf("filter fields %#v", f.Value)
			}
		}
		if w.name == "sql" {
			if vals, _ := a.Value.([]any); len(vals) != 2 || vals[0] != "SET x = 1" {
				t.Fatalf("action fields %#v", a.Value)
			}
		}
		if w.name == "corr" {
			vals, _ := f.Value.([]any)
			props, _ := vals[8].(map[string]any)
			if len(vals) != 9 || vals[0] != "c1" || vals[1] != nil || vals[4] != "lbl" || props["n"] != int64(5) || props["k"] != "v" {
				t.Fatalf("correlation fields %#v", f.Value)
			}
		}
	}
	// Paging.
	body = goBody(t, e.do(OpEnumerateRules, sub, encoding.Map{{Key: "top", Value: int32(2)}, {Key: "skip", Value: int32(1)}}))
	if l := body["rules"].([]any); len(l) != 2 {
		t.Fatalf("page of %d rules", len(l))
	}
	if resp := e.do(OpEnumerateRules, sub, encoding.Map{{Key: "top", Value: int32(10)}, {Key: "skip", Value: int32(4)}}); resp.StatusCode != StatusNoContent {
		t.Fatalf("past the end: %d", resp.StatusCode)
	}

	// remove-rule.
	ok(e.do(OpRemoveRule, sub, encoding.Map{{Key: "rule-name", Value: "SQL"}}))
	resp = e.do(OpRemoveRule, sub, encoding.Map{{Key: "rule-name", Value: "sql"}})
	wantError(t, resp, StatusNotFound, string(condNotFoundSym))
	if !strings.Contains(resp.StatusDescription, "t/Subscriptions/s/Rules/sql' could not be found") {
		t.Fatalf("description %q", resp.StatusDescription)
	}
	for _, name := range []string{"$Default", "corr", "sym"} {
		ok(e.do(OpRemoveRule, sub, encoding.Map{{Key: "rule-name", Value: name}}))
	}
	if resp := e.do(OpEnumerateRules, sub, encoding.Map{{Key: "top", Value: int32(10)}, {Key: "skip", Value: int32(0)}}); resp.StatusCode != StatusNoContent {
		t.Fatalf("no rules: %d", resp.StatusCode)
	}
}

var condNotFoundSym = "amqp:not-found"

func TestRuleErrors(t *testing.T) {
	e := newRulesEnv(t, broker.Limits{MaxRules: 2})
	const sub = "t/Subscriptions/s"
	argErr := "com.microsoft:argument-error"

	// A SQL syntax error names its position and token.
	resp := e.do(OpAddRule, sub, addRuleBody("bad", sqlDesc("color == 'red'")))
	wantError(t, resp, StatusBadRequest, argErr)
	for _, s := range []string{`rule "bad"`, "SqlFilter", "line 1, column 8", `near "="`} {
		if !strings.Contains(resp.StatusDescription, s) {
			t.Fatalf("description %q lacks %q", resp.StatusDescription, s)
		}
	}
	resp = e.do(OpAddRule, sub, addRuleBody("badaction", append(sqlDesc("1=1"),
		encoding.KV{Key: "sql-rule-action", Value: encoding.Map{{Key: "expression", Value: "SET sys.SequenceNumber = 1"}}})))
	wantError(t, resp, StatusBadRequest, argErr)
	if !strings.Contains(resp.StatusDescription, "SqlRuleAction") {
		t.Fatalf("action error %q", resp.StatusDescription)
	}
	// Unknown functions and system properties are refused when the rule is
	// added, naming them.
	for _, c := range []struct{ expr, want string }{
		{"nosuchfn(color) = 1", "nosuchfn"},
		{"sys.Colour = 'red'", "Colour"},
		{"color IN ()", "line 1"},
	} {
		resp := e.do(OpAddRule, sub, addRuleBody("r", sqlDesc(c.expr)))
		wantError(t, resp, StatusBadRequest, argErr)
		if !strings.Contains(resp.StatusDescription, c.want) {
			t.Fatalf("%q: description %q lacks %q", c.expr, resp.StatusDescription, c.want)
		}
		t.Logf("%s → %s", c.expr, resp.StatusDescription)
	}
	// Duplicate names (case-insensitive) are 409.
	wantError(t, e.do(OpAddRule, sub, addRuleBody("$default", sqlDesc("1=1"))), StatusConflict, "com.microsoft:entity-already-exists")
	// The rule limit is a quota error.
	if resp := e.do(OpAddRule, sub, addRuleBody("second", sqlDesc("1=1"))); resp.StatusCode != StatusOK {
		t.Fatalf("second rule: %+v", resp)
	}
	wantError(t, e.do(OpAddRule, sub, addRuleBody("third", sqlDesc("1=1"))), StatusForbidden, "amqp:resource-limit-exceeded")

	// Not a subscription, or no such subscription.
	wantError(t, e.do(OpAddRule, "q", addRuleBody("r", sqlDesc("1=1"))), StatusBadRequest, argErr)
	wantError(t, e.do(OpEnumerateRules, "t", encoding.Map{{Key: "top", Value: int32(1)}}), StatusBadRequest, argErr)
	wantError(t, e.do(OpEnumerateRules, sub+"/$DeadLetterQueue", encoding.Map{{Key: "top", Value: int32(1)}}), StatusBadRequest, argErr)
	resp = e.do(OpAddRule, "t/Subscriptions/nope", addRuleBody("r", sqlDesc("1=1")))
	wantError(t, resp, StatusNotFound, condNotFoundSym)
	if resp.StatusDescription != "The messaging entity 't/Subscriptions/nope' could not be found." {
		t.Fatalf("description %q", resp.StatusDescription)
	}
	wantError(t, e.do(OpRemoveRule, "t/Subscriptions/nope", encoding.Map{{Key: "rule-name", Value: "r"}}), StatusNotFound, condNotFoundSym)
	wantError(t, e.do(OpEnumerateRules, "t/Subscriptions/nope", encoding.Map{}), StatusNotFound, condNotFoundSym)

	// Malformed requests.
	for i, body := range []encoding.Map{
		{{Key: "rule-description", Value: sqlDesc("1=1")}},
		{{Key: "rule-name", Value: ""}, {Key: "rule-description", Value: sqlDesc("1=1")}},
		{{Key: "rule-name", Value: int32(1)}, {Key: "rule-description", Value: sqlDesc("1=1")}},
		addRuleBody("r", nil),
		addRuleBody("r", encoding.Map{}),
		addRuleBody("r", encoding.Map{{Key: "sql-filter", Value: "1=1"}}),
		addRuleBody("r", encoding.Map{{Key: "sql-filter", Value: encoding.Map{}}}),
		addRuleBody("r", append(sqlDesc("1=1"), encoding.KV{Key: "correlation-filter", Value: encoding.Map{{Key: "label", Value: "x"}}})),
		addRuleBody("r", encoding.Map{{Key: "correlation-filter", Value: encoding.Map{}}}),
		addRuleBody("r", encoding.Map{{Key: "correlation-filter", Value: encoding.Map{{Key: "label", Value: int64(1)}}}}),
		addRuleBody("r", encoding.Map{{Key: "correlation-filter", Value: encoding.Map{{Key: "properties", Value: encoding.Map{{Key: int64(1), Value: "x"}}}}}}),
		addRuleBody("r", encoding.Map{{Key: "correlation-filter", Value: encoding.Map{{Key: "properties", Value: encoding.Map{{Key: "k", Value: []any{}}}}}}}),
		addRuleBody("bad/name", sqlDesc("1=1")),
	} {
		resp := e.do(OpAddRule, "t/Subscriptions/s2", body) // s2 does not exist: the body is checked first
		if resp.StatusCode != StatusBadRequest && resp.StatusCode != StatusNotFound {
			t.Fatalf("body %d: %+v", i, resp)
		}
		resp = e.do(OpAddRule, sub, body)
		if resp.StatusCode != StatusBadRequest || resp.ErrorCondition != argErr {
			t.Fatalf("body %d: %d %s %s", i, resp.StatusCode, resp.ErrorCondition, resp.StatusDescription)
		}
	}
	wantError(t, e.do(OpRemoveRule, sub, encoding.Map{}), StatusBadRequest, argErr)
	wantError(t, e.do(OpEnumerateRules, sub, encoding.Map{{Key: "top", Value: "x"}}), StatusBadRequest, argErr)
	wantError(t, e.do(OpEnumerateRules, sub, encoding.Map{{Key: "skip", Value: int64(-1)}}), StatusBadRequest, argErr)
}

// goDescribed reads a described value as go-amqp decodes it (a value of
// its internal DescribedType) into an encoding.Described.
func goDescribed(t *testing.T, v any) encoding.Described {
	t.Helper()
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct || rv.Type().Name() != "DescribedType" {
		t.Fatalf("%#v is not a described value", v)
	}
	return encoding.Described{Descriptor: rv.FieldByName("Descriptor").Interface(), Value: rv.FieldByName("Value").Interface()}
}
