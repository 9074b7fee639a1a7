package config

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestTopicsConfig(t *testing.T) {
	t.Parallel()
	c := Default()
	err := Decode([]byte(`{"queues":[{"name":"audit"}],
	  "topics":[{"name":"orders","defaultMessageTimeToLive":"P1D","requiresDuplicateDetection":true,"supportOrdering":true,
	    "subscriptions":[
	      {"name":"all"},
	      {"name":"eu","lockDuration":"30s","maxDeliveryCount":5,"requiresSession":true,"forwardDeadLetteredMessagesTo":"audit",
	       "deadLetteringOnFilterEvaluationExceptions":true,
	       "rules":[
	         {"name":"big-eu","filter":{"type":"sql","sqlExpression":"region = @r AND qty > @min AND at < @t",
	            "parameters":{"@r":"eu","min":10,"t":{"type":"datetime","value":"2026-01-02T03:04:05Z"}}},
	          "action":{"sqlExpression":"SET ratio = @x; REMOVE secret","parameters":{"x":{"type":"double","value":2}}}},
	         {"name":"invoices","filter":{"type":"CorrelationFilter","label":"invoice","correlationId":"c","properties":{"n":2,"f":2.5,"b":true}}},
	         {"name":"none","filter":{"type":"FalseFilter"}}]}]}]}`), &c)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	tp := c.Topics[0]
	if tp.Name != "orders" || tp.DefaultMessageTimeToLive != Duration(24*time.Hour) || !tp.RequiresDuplicateDetection || len(tp.Subscriptions) != 2 {
		t.Fatalf("topic %+v", tp)
	}
	eu := tp.Subscriptions[1]
	if eu.LockDuration != Duration(30*time.Second) || eu.MaxDeliveryCount != 5 || !eu.RequiresSession || len(eu.Rules) != 3 {
		t.Fatalf("subscription %+v", eu)
	}
	// Values resolve to Go types: integers apart from doubles, typed values.
	params, err := ResolveValues(eu.Rules[0].Filter.Parameters)
	want := map[string]any{"@r": "eu", "min": int64(10), "t": time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	if err != nil || !reflect.DeepEqual(params, want) {
		t.Fatalf("parameters %#v, %v", params, err)
	}
	if ap, _ := ResolveValues(eu.Rules[0].Action.Parameters); ap["x"] != float64(2) {
		t.Fatalf("action parameters %#v", ap)
	}
	props, _ := ResolveValues(eu.Rules[1].Filter.Properties)
	if !reflect.DeepEqual(props, map[string]any{"n": int64(2), "f": 2.5, "b": true}) || eu.Rules[1].Filter.SubjectOrLabel() != "invoice" {
		t.Fatalf("correlation %+v %#v", eu.Rules[1].Filter, props)
	}
	for _, r := range eu.Rules {
		if _, err := r.Filter.Kind(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTopicsConfigErrors(t *testing.T) {
	t.Parallel()
	rule := func(r string) string {
		return `{"topics":[{"name":"t","subscriptions":[{"name":"s","rules":[` + r + `]}]}]}`
	}
	for _, tc := range []struct {
		name, doc string
		want      []string
	}{
		{"sql syntax", rule(`{"name":"r","filter":{"type":"sql","sqlExpression":"color = 'red' AND AND x"}}`),
			[]string{`topic "t", subscription "s", rule "r": SqlFilter: filter: syntax error at line 1, column 19 (offset 18) near "AND"`}},
		{"action syntax", rule(`{"name":"r","filter":{"type":"true"},"action":{"sqlExpression":"SET sys.SequenceNumber = 1"}}`),
			[]string{`rule "r": SqlRuleAction: filter: read-only system property`}},
		{"unknown parameter", rule(`{"name":"r","filter":{"type":"sql","sqlExpression":"a = @p"}}`), []string{`rule "r": SqlFilter: filter: unknown parameter`}},
		{"unknown type", rule(`{"name":"r","filter":{"type":"regex"}}`), []string{`rule "r": filter.type "regex" is not sql`}},
		{"no type", rule(`{"name":"r","filter":{}}`), []string{`filter.type is missing`}},
		{"no name", rule(`{"filter":{"type":"true"}}`), []string{`rules[0]: rule name "" must be 1 to 50`}},
		{"bad name", rule(`{"name":"a/b","filter":{"type":"true"}}`), []string{`rule name "a/b" contains '/'`}},
		{"duplicate rule", rule(`{"name":"r","filter":{"type":"true"}},{"name":"R","filter":{"type":"false"}}`), []string{`rule "R" is declared twice`}},
		{"empty correlation", rule(`{"name":"r","filter":{"type":"correlation"}}`), []string{`needs at least one condition`}},
		{"mixed", rule(`{"name":"r","filter":{"type":"sql","sqlExpression":"1=1","correlationId":"x"}}`), []string{`belong to a correlation filter, not sql`}},
		{"sql fields on true", rule(`{"name":"r","filter":{"type":"true","sqlExpression":"1=1"}}`), []string{`belong to a sql filter, not true`}},
		{"bad value", rule(`{"name":"r","filter":{"type":"correlation","properties":{"k":[1]}}}`), []string{`filter.properties: "k": must be a string, number`}},
		{"bad typed value", rule(`{"name":"r","filter":{"type":"sql","sqlExpression":"a=@p","parameters":{"p":{"type":"long","value":"x"}}}}`), []string{`"x" is not a whole number`}},
		{"empty action", rule(`{"name":"r","filter":{"type":"true"},"action":{"sqlExpression":""}}`), []string{`action.sqlExpression is empty`}},
		{"topic without name", `{"topics":[{}]}`, []string{`topics[0] has no name`}},
		{"topic and queue", `{"queues":[{"name":"x"}],"topics":[{"name":"X"}]}`, []string{`topic "X": the name is declared twice`}},
		{"duplicate subscription", `{"topics":[{"name":"t","subscriptions":[{"name":"s"},{"name":"S"}]}]}`, []string{`subscription "S" is declared twice`}},
		{"subscription with a slash", `{"topics":[{"name":"t","subscriptions":[{"name":"a/b"}]}]}`, []string{`subscription "a/b": a subscription name has 1 to 50 characters and no '/'`}},
		{"topic like a subscription path", `{"topics":[{"name":"a/Subscriptions/b"}]}`, []string{`may not contain /Subscriptions/`}},
		{"subscription without name", `{"topics":[{"name":"t","subscriptions":[{}]}]}`, []string{`topic "t", subscriptions[0] has no name`}},
	} {
		c := Default()
		if err := Decode([]byte(tc.doc), &c); err != nil {
			t.Errorf("%s: decode: %v", tc.name, err)
			continue
		}
		err := c.Validate()
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: Validate() = %v; want it to mention %q", tc.name, err, w)
			}
		}
	}
	// An unknown key is an error, not ignored.
	c := Default()
	if err := Decode([]byte(rule(`{"name":"r","filter":{"type":"sql","sqlExpresion":"1=1"}}`)), &c); err == nil || !strings.Contains(err.Error(), "sqlExpresion") {
		t.Fatalf("typo accepted: %v", err)
	}
}

func TestEmulatorRuleParameters(t *testing.T) {
	t.Parallel()
	doc := `{"UserConfig": {"Namespaces": [{"Name": "sbemulatorns", "Queues": [], "Topics": [{"Name": "t", "Subscriptions": [{"Name": "s", "Rules": [
	  {"Name": "p", "Properties": {"FilterType": "Sql",
	     "SqlFilter": {"SqlExpression": "n > @n AND sys.Label = @l", "Parameters": {"@n": 3, "l": "x"}},
	     "Action": {"SqlExpression": "SET at = @at", "Parameters": {"at": {"type": "datetime", "value": "2026-01-02T03:04:05Z"}}}}},
	  {"Name": "c", "Properties": {"FilterType": "Correlation", "CorrelationFilter": {"Properties": {"i": 1, "f": 1.5, "b": false}}}}
	]}]}]}]}}`
	e, err := LoadEmulator([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	rules := e.ConfigTopics()[0].Subscriptions[0].Rules
	if len(rules) != 2 {
		t.Fatalf("rules %+v", rules)
	}
	if p := rules[0].Filter.Parameters; !reflect.DeepEqual(p, map[string]any{"@n": int64(3), "l": "x"}) {
		t.Fatalf("parameters %#v", p)
	}
	if a := rules[0].Action; a == nil || !a.Parameters["at"].(time.Time).Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Fatalf("action %+v", a)
	}
	if p := rules[1].Filter.Properties; !reflect.DeepEqual(p, map[string]any{"i": int64(1), "f": 1.5, "b": false}) {
		t.Fatalf("properties %#v", p)
	}
}

// FuzzDecodeTopics decodes arbitrary Baton config documents with topics:
// never a panic; a document that validates has rules whose values resolve.
func FuzzDecodeTopics(f *testing.F) {
	f.Add([]byte(`{"topics":[{"name":"t","subscriptions":[{"name":"s","rules":[{"name":"r","filter":{"type":"sql","sqlExpression":"a = @p","parameters":{"p":1}}}]}]}]}`))
	f.Add([]byte(`{"topics":[{"name":"t","subscriptions":[{"name":"s","rules":[{"name":"c","filter":{"type":"correlation","label":"x","properties":{"d":{"type":"timespan","value":"PT1H"}}},"action":{"sqlExpression":"SET a = 1"}}]}]}]}`))
	f.Add([]byte(`{"topics":[{"name":""}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := Default()
		if Decode(data, &c) != nil || c.Validate() != nil {
			return
		}
		for _, tp := range c.Topics {
			for _, s := range tp.Subscriptions {
				for _, r := range s.Rules {
					if _, err := r.Filter.Kind(); err != nil {
						t.Fatalf("validated rule %+v: %v", r, err)
					}
					if _, err := ResolveValues(r.Filter.Parameters); err != nil {
						t.Fatalf("validated rule %+v: %v", r, err)
					}
					if _, err := ResolveValues(r.Filter.Properties); err != nil {
						t.Fatalf("validated rule %+v: %v", r, err)
					}
				}
			}
		}
	})
}

// TestReadmeConfigExamples decodes and validates the config examples of
// the README, so that they stay right.
func TestReadmeConfigExamples(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, block := range strings.Split(string(data), "```json\n")[1:] {
		doc, _, ok := strings.Cut(block, "```")
		if !ok || !(strings.Contains(doc, `"queues"`) || strings.Contains(doc, `"topics"`)) {
			continue
		}
		n++
		c := Default()
		if err := Decode([]byte(doc), &c); err != nil {
			t.Errorf("README example:\n%s\ndoes not decode: %v", doc, err)
			continue
		}
		if err := c.Validate(); err != nil {
			t.Errorf("README example:\n%s\ndoes not validate: %v", doc, err)
		}
	}
	if n < 2 {
		t.Fatalf("found %d config examples in the README; want the queues and the topics ones", n)
	}
}
