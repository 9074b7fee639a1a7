package config

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func loadSample(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/emulator-config.json")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestLoadEmulatorSample(t *testing.T) {
	t.Parallel()
	data := loadSample(t)
	if !IsEmulatorConfig(data) {
		t.Fatal("the sample is not recognised as an emulator config")
	}
	e, err := LoadEmulator(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Namespaces) != 1 || e.Namespaces[0].Name != "sbemulatorns" || e.Logging != "File" {
		t.Fatalf("namespaces %+v logging %q", e.Namespaces, e.Logging)
	}
	ns := e.Namespaces[0]
	wantQ := EmulatorQueue{
		Name:                                "queue.1",
		DefaultMessageTimeToLive:            time.Hour,
		DuplicateDetectionHistoryTimeWindow: 20 * time.Second,
		LockDuration:                        time.Minute,
		MaxDeliveryCount:                    3,
	}
	if len(ns.Queues) != 1 || !reflect.DeepEqual(ns.Queues[0], wantQ) {
		t.Fatalf("queues %+v", ns.Queues)
	}
	if len(ns.Topics) != 1 || len(ns.Topics[0].Subscriptions) != 4 {
		t.Fatalf("topics %+v", ns.Topics)
	}
	subs := ns.Topics[0].Subscriptions
	wantCorr := &EmulatorCorrelationFilter{
		ContentType: "application/json", CorrelationID: "id1", Label: "subject1", MessageID: "msgid1",
		ReplyTo: "someQueue", ReplyToSessionID: "sessionId", SessionID: "session1", To: "xyz",
		Properties: map[string]any{"prop1": "value1"},
	}
	if r := subs[0].Rules; len(r) != 1 || r[0].Name != "app-prop-filter-1" || !reflect.DeepEqual(r[0].CorrelationFilter, wantCorr) {
		t.Fatalf("subscription.1 rules %+v", r)
	}
	if r := subs[1].Rules; len(r) != 1 || !reflect.DeepEqual(r[0].CorrelationFilter, &EmulatorCorrelationFilter{Properties: map[string]any{"prop3": "value3"}}) {
		t.Fatalf("subscription.2 rules %+v", r)
	}
	if len(subs[2].Rules) != 0 {
		t.Fatalf("subscription.3 rules %+v", subs[2].Rules)
	}
	wantSQL := EmulatorRule{Name: "sql-filter-1", SQLFilter: "sys.MessageId = '123456' AND userProp1 = 'value1'", Action: "SET sys.To = 'Entity'"}
	if r := subs[3].Rules; len(r) != 1 || !reflect.DeepEqual(r[0], wantSQL) {
		t.Fatalf("subscription.4 rules %+v", r)
	}
	if s := subs[0]; s.LockDuration != time.Minute || s.MaxDeliveryCount != 3 || s.DefaultMessageTimeToLive != time.Hour {
		t.Fatalf("subscription.1 %+v", s)
	}

	queues, notes := e.ConfigQueues()
	want := []Queue{{
		Name:                                "queue.1",
		LockDuration:                        Duration(time.Minute),
		MaxDeliveryCount:                    3,
		DefaultMessageTimeToLive:            Duration(time.Hour),
		DuplicateDetectionHistoryTimeWindow: Duration(20 * time.Second),
	}}
	if !reflect.DeepEqual(queues, want) {
		t.Fatalf("ConfigQueues %+v", queues)
	}
	if len(notes) != 0 {
		t.Fatalf("notes %q", notes)
	}
	if got := e.Topics(); len(got) != 1 || got[0].Name != "topic.1" {
		t.Fatalf("Topics %+v", got)
	}
	// Every rule is carried over, with every field.
	topics := e.ConfigTopics()
	if len(topics) != 1 || len(topics[0].Subscriptions) != 4 {
		t.Fatalf("ConfigTopics %+v", topics)
	}
	ct := topics[0]
	if ct.Name != "topic.1" || ct.DefaultMessageTimeToLive != Duration(time.Hour) || ct.DuplicateDetectionHistoryTimeWindow != Duration(20*time.Second) {
		t.Fatalf("topic %+v", ct)
	}
	cs := ct.Subscriptions
	wantRule := Rule{Name: "app-prop-filter-1", Filter: RuleFilter{Type: FilterCorrelation, ContentType: "application/json",
		CorrelationID: "id1", Subject: "subject1", MessageID: "msgid1", ReplyTo: "someQueue", ReplyToSessionID: "sessionId",
		SessionID: "session1", To: "xyz", Properties: map[string]any{"prop1": "value1"}}}
	if len(cs[0].Rules) != 1 || !reflect.DeepEqual(cs[0].Rules[0], wantRule) || cs[0].MaxDeliveryCount != 3 || cs[0].LockDuration != Duration(time.Minute) {
		t.Fatalf("subscription.1 %+v", cs[0])
	}
	if len(cs[2].Rules) != 0 {
		t.Fatalf("subscription.3 %+v", cs[2])
	}
	wantRule = Rule{Name: "sql-filter-1", Filter: RuleFilter{Type: FilterSQL, SQLExpression: "sys.MessageId = '123456' AND userProp1 = 'value1'"},
		Action: &RuleAction{SQLExpression: "SET sys.To = 'Entity'"}}
	if len(cs[3].Rules) != 1 || !reflect.DeepEqual(cs[3].Rules[0], wantRule) {
		t.Fatalf("subscription.4 %+v", cs[3].Rules)
	}
	// Load carries topics; the result validates.
	c, err := Load("testdata/emulator-config.json")
	if err != nil || !c.FromEmulator || len(c.Topics) != 1 || len(c.Topics[0].Subscriptions) != 4 {
		t.Fatalf("Load: %v %+v", err, c.Topics)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	// Our own config files are not emulator configs.
	if IsEmulatorConfig([]byte(`{"dataDir": "x", "queues": [{"name": "q"}]}`)) || IsEmulatorConfig([]byte(`not json`)) {
		t.Fatal("a Baton config was taken for an emulator config")
	}
}

func TestLoadEmulatorDefaultsAndLimits(t *testing.T) {
	t.Parallel()
	// Properties left out take the emulator's defaults; the emulator's caps
	// (one namespace, 50 entities, TTL ≤ 1 h, MaxDeliveryCount ≤ 10) are
	// not enforced.
	var b strings.Builder
	b.WriteString(`{"UserConfig": {"Namespaces": [{"Name": "other", "Queues": [`)
	for i := 0; i < 60; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"Name": "q` + string(rune('a'+i%26)) + strings.Repeat("x", i/26) + `"}`)
	}
	b.WriteString(`,], "Topics": []}, {"Name": "second", "Queues": [{"Name": "big", "Properties": {"DefaultMessageTimeToLive": "P14D", "MaxDeliveryCount": 100, "ForwardTo": "qa"}}], "Topics": []},]}}`)
	e, err := LoadEmulator([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	queues, notes := e.ConfigQueues()
	if len(queues) != 61 {
		t.Fatalf("%d queues", len(queues))
	}
	if q := queues[0]; q.MaxDeliveryCount != 3 || q.DefaultMessageTimeToLive != Duration(time.Hour) ||
		q.LockDuration != Duration(time.Minute) || q.DuplicateDetectionHistoryTimeWindow != Duration(20*time.Second) {
		t.Fatalf("defaults %+v", q)
	}
	if q := queues[60]; q.MaxDeliveryCount != 100 || q.DefaultMessageTimeToLive != Duration(14*24*time.Hour) {
		t.Fatalf("big %+v", q)
	}
	if len(notes) != 0 || queues[60].ForwardTo != "qa" {
		t.Fatalf("notes %q, big %+v", notes, queues[60])
	}
}

func TestLoadEmulatorErrors(t *testing.T) {
	t.Parallel()
	wrap := func(queues, topics string) string {
		return `{"UserConfig": {"Namespaces": [{"Name": "sbemulatorns", "Queues": [` + queues + `], "Topics": [` + topics + `]}], "Logging": {"Type": "File"}}}`
	}
	topic := func(rules string) string {
		return `{"Name": "t", "Subscriptions": [{"Name": "s", "Rules": [` + rules + `]}]}`
	}
	for _, tc := range []struct {
		name, doc string
		want      []string
	}{
		{"truncated", `{"UserConfig": `, []string{"ends early"}},
		{"not json", `{"UserConfig": x}`, []string{"line 1 column 16"}},
		{"open comment", `{ /* x `, []string{"not closed"}},
		{"no user config", `{}`, []string{"UserConfig: missing"}},
		{"no namespaces", `{"UserConfig": {"Namespaces": []}}`, []string{"UserConfig.Namespaces: is empty"}},
		{"unknown key", wrap(`{"Name": "q", "Propertiez": {}}`, ``), []string{`UserConfig.Namespaces[0].Queues[0].Propertiez: unknown key`}},
		{"unknown property", wrap(`{"Name": "q", "Properties": {"LockDurration": "PT1M"}}`, ``), []string{`Queues[0].Properties.LockDurration: unknown key`}},
		{"no name", wrap(`{"Properties": {}}`, ``), []string{"Queues[0].Name: missing"}},
		{"bad name", wrap(`{"Name": "a*b"}`, ``), []string{`Queues[0].Name: "a*b" contains '*'`}},
		{"bad forward", wrap(`{"Name": "q", "Properties": {"ForwardTo": "sb://x/y"}}`, ``), []string{`Queues[0].Properties.ForwardTo: "sb://x/y" contains ':'`}},
		{"empty name", wrap(`{"Name": ""}`, ``), []string{`Queues[0].Name: is empty`}},
		{"bad duration", wrap(`{"Name": "q", "Properties": {"LockDuration": "one minute"}}`, ``), []string{"Queues[0].Properties.LockDuration"}},
		{"number duration", wrap(`{"Name": "q", "Properties": {"LockDuration": 60}}`, ``), []string{"must be an ISO 8601 duration"}},
		{"bad count", wrap(`{"Name": "q", "Properties": {"MaxDeliveryCount": 0}}`, ``), []string{"MaxDeliveryCount: 0 is not"}},
		{"bad bool", wrap(`{"Name": "q", "Properties": {"RequiresSession": "yes"}}`, ``), []string{"RequiresSession: must be true or false"}},
		{"duplicate", wrap(`{"Name": "q"}, {"Name": "Q"}`, ``), []string{`Queues[1]: entity "Q" is already declared at UserConfig.Namespaces[0].Queues[0]`}},
		{"queue and topic clash", wrap(`{"Name": "x"}`, `{"Name": "x", "Subscriptions": []}`), []string{`Topics[0]: entity "x" is already declared`}},
		{"unknown filter type", wrap(``, topic(`{"Name": "r", "Properties": {"FilterType": "SqlFilter", "SqlFilter": {"SqlExpression": "1=1"}}}`)),
			[]string{`Topics[0].Subscriptions[0].Rules[0].Properties.FilterType: "SqlFilter" is not a filter type`}},
		{"sql without filter", wrap(``, topic(`{"Name": "r", "Properties": {"FilterType": "Sql"}}`)), []string{"Rules[0].Properties.SqlFilter: missing"}},
		{"empty sql", wrap(``, topic(`{"Name": "r", "Properties": {"FilterType": "Sql", "SqlFilter": {"SqlExpression": " "}}}`)), []string{"SqlFilter.SqlExpression: is empty"}},
		{"correlation without filter", wrap(``, topic(`{"Name": "r", "Properties": {"FilterType": "Correlation"}}`)), []string{"CorrelationFilter: missing"}},
		{"empty correlation", wrap(``, topic(`{"Name": "r", "Properties": {"FilterType": "Correlation", "CorrelationFilter": {}}}`)), []string{"CorrelationFilter: is empty"}},
		{"mixed filters", wrap(``, topic(`{"Name": "r", "Properties": {"FilterType": "Correlation", "CorrelationFilter": {"Label": "x"}, "SqlFilter": {"SqlExpression": "1=1"}}}`)),
			[]string{"SqlFilter: given for a rule whose FilterType is Correlation"}},
		{"subject spelled the SDK way", wrap(``, topic(`{"Name": "r", "Properties": {"FilterType": "Correlation", "CorrelationFilter": {"Subject": "x"}}}`)),
			[]string{"CorrelationFilter.Subject: unknown key"}},
		{"no filter type", wrap(``, topic(`{"Name": "r", "Properties": {}}`)), []string{"Rules[0].Properties.FilterType: missing"}},
		{"duplicate rule", wrap(``, topic(`{"Name": "r", "Properties": {"FilterType": "Sql", "SqlFilter": {"SqlExpression": "1=1"}}}, {"Name": "R", "Properties": {"FilterType": "Sql", "SqlFilter": {"SqlExpression": "1=1"}}}`)),
			[]string{`Rules[1]: rule "R" is already declared`}},
		{"empty action", wrap(``, topic(`{"Name": "r", "Properties": {"FilterType": "Sql", "SqlFilter": {"SqlExpression": "1=1"}, "Action": {}}}`)), []string{"Action.SqlExpression: missing"}},
		{"bad property value", wrap(``, topic(`{"Name": "r", "Properties": {"FilterType": "Correlation", "CorrelationFilter": {"Properties": {"k": [1]}}}}`)), []string{"Properties.k: must be a string, number, boolean, null"}},
		{"sql syntax", wrap(``, topic(`{"Name": "r", "Properties": {"FilterType": "Sql", "SqlFilter": {"SqlExpression": "a = 1 AND OR b = 2"}}}`)),
			[]string{`Rules[0].Properties: rule "r": SqlFilter: filter: syntax error at line 1, column 11 (offset 10) near "OR"`}},
		{"action syntax", wrap(``, topic(`{"Name": "r", "Properties": {"FilterType": "Sql", "SqlFilter": {"SqlExpression": "1=1"}, "Action": {"SqlExpression": "SET = 1"}}}`)),
			[]string{`Rules[0].Properties: rule "r": SqlRuleAction: filter: syntax error at line 1, column 5`}},
		{"unknown parameter", wrap(``, topic(`{"Name": "r", "Properties": {"FilterType": "Sql", "SqlFilter": {"SqlExpression": "a = @p"}}}`)),
			[]string{`rule "r": SqlFilter: filter: unknown parameter`}},
		{"bad parameter", wrap(``, topic(`{"Name": "r", "Properties": {"FilterType": "Sql", "SqlFilter": {"SqlExpression": "a = @p", "Parameters": {"p": {"type": "datetime", "value": "soon"}}}}}`)),
			[]string{`SqlFilter.Parameters.p: "soon" is not an RFC 3339 time`}},
		{"bad rule name", wrap(``, topic(`{"Name": "a@b", "Properties": {"FilterType": "Sql", "SqlFilter": {"SqlExpression": "1=1"}}}`)),
			[]string{`rule name "a@b" contains '@'`}},
		{"bad logging", `{"UserConfig": {"Namespaces": [{"Name": "n"}], "Logging": {"Type": "Syslog"}}}`, []string{`UserConfig.Logging.Type: "Syslog"`}},
		{"two errors", wrap(`{"Name": "q", "Properties": {"LockDuration": "x", "MaxDeliveryCount": -1}}`, ``), []string{"LockDuration", "MaxDeliveryCount"}},
	} {
		_, err := LoadEmulator([]byte(tc.doc))
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", tc.name, err, w)
			}
		}
	}
}

func TestStripJSONC(t *testing.T) {
	t.Parallel()
	in := "{\n  // a comment with \"quotes\" and /* */\n  \"a\": \"http://x/y // not a comment\", /* block\n comment */ \"b\": [1, 2,],\n  \"c\": \"esc \\\" // still string\",\n}\n"
	out, err := StripJSONC([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n                                      \n  \"a\": \"http://x/y // not a comment\",         \n            \"b\": [1, 2 ],\n  \"c\": \"esc \\\" // still string\" \n}\n"
	if string(out) != want {
		t.Fatalf("got\n%q\nwant\n%q", out, want)
	}
	if len(out) != len(in) {
		t.Fatal("offsets moved")
	}
}

// FuzzLoadEmulator checks that the JSONC reader and the validator never
// panic, that stripping keeps offsets, and that a document the loader
// accepts converts without trouble.
func FuzzLoadEmulator(f *testing.F) {
	data, err := os.ReadFile("testdata/emulator-config.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte(`{"UserConfig": {"Namespaces": [{"Name": "n", "Queues": [{"Name": "q",},],},],},}`))
	f.Add([]byte("{/* a */ \"UserConfig\" // b\n: {}}"))
	f.Add([]byte(`"\"//"`))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := StripJSONC(in)
		if err == nil && len(out) != len(in) {
			t.Fatalf("StripJSONC changed the length from %d to %d", len(in), len(out))
		}
		_ = IsEmulatorConfig(in)
		e, err := LoadEmulator(in)
		if err != nil {
			return
		}
		c := Default()
		c.Queues, _ = e.ConfigQueues()
		c.Topics = e.ConfigTopics()
		_ = c.Validate()
		for _, q := range c.Queues {
			if q.Name == "" || q.MaxDeliveryCount < 1 || q.LockDuration <= 0 {
				t.Fatalf("accepted queue %+v", q)
			}
		}
	})
}
