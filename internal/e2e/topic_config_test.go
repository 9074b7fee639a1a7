package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus/admin"

	"github.com/batonmq/baton/internal/httpapi/mgmt"
)

// emulatorTopicsConfig is a Microsoft Service Bus emulator Config.json
// with topics: SQL filters (one with parameters, Baton's extension),
// correlation filters with every system field and with properties,
// actions, several rules on one subscription, none on another, a session
// subscription and auto-forwarding to a queue.
const emulatorTopicsConfig = `{
  // Comments are allowed, as in Microsoft's sample.
  "UserConfig": {
    "Namespaces": [{
      "Name": "sbemulatorns",
      "Queues": [{ "Name": "forwarded", "Properties": { "MaxDeliveryCount": 5 } }],
      "Topics": [{
        "Name": "topic.1",
        "Properties": { "DefaultMessageTimeToLive": "PT1H", "DuplicateDetectionHistoryTimeWindow": "PT20S", "RequiresDuplicateDetection": false },
        "Subscriptions": [
          { "Name": "all" },
          { "Name": "corr", "Rules": [{ "Name": "app-prop-filter-1", "Properties": { "FilterType": "Correlation",
              "CorrelationFilter": { "ContentType": "application/json", "CorrelationId": "id1", "Label": "subject1", "MessageId": "msgid1",
                "ReplyTo": "someQueue", "ReplyToSessionId": "sessionId", "SessionId": "session1", "To": "xyz" } } }] },
          { "Name": "props", "Rules": [{ "Name": "prop3", "Properties": { "FilterType": "Correlation",
              "CorrelationFilter": { "Properties": { "prop3": "value3", "n": 2 } } } }] },
          { "Name": "sql", "Properties": { "LockDuration": "PT30S", "MaxDeliveryCount": 7 }, "Rules": [
              { "Name": "sql-filter-1", "Properties": { "FilterType": "Sql",
                  "SqlFilter": { "SqlExpression": "sys.MessageId = '123456' AND userProp1 = 'value1'" },
                  "Action": { "SqlExpression": "SET sys.To = 'Entity'" } } },
              { "Name": "big", "Properties": { "FilterType": "Sql",
                  "SqlFilter": { "SqlExpression": "qty > @min", "Parameters": { "@min": 10 } },
                  "Action": { "SqlExpression": "SET tier = @tier", "Parameters": { "tier": "gold" } } } },
          ] },
          { "Name": "fwd", "Properties": { "ForwardTo": "forwarded" }, "Rules": [
              { "Name": "eu", "Properties": { "FilterType": "Sql", "SqlFilter": { "SqlExpression": "region = 'eu'" } } }] },
          { "Name": "sess", "Properties": { "RequiresSession": true }, "Rules": [
              { "Name": "s", "Properties": { "FilterType": "Sql", "SqlFilter": { "SqlExpression": "sys.SessionId = 's'" } } }] },
        ]
      }]
    }],
    "Logging": { "Type": "File" }
  }
}`

// TestEmulatorConfigTopics starts `baton serve --config Config.json` with
// topics and checks through the JSON API that every rule is there, as
// declared, then sends through the Go SDK over AMQP and checks that each
// subscription got what its rules say. A restart applies the file again
// without error and without duplicating anything.
func TestEmulatorConfigTopics(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "Config.json")
	if err := os.WriteFile(cfgPath, []byte(emulatorTopicsConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	p := startBaton(t, "--config", cfgPath, "--data-dir", data, "--amqp-addr", "127.0.0.1:0")
	c, err := mgmt.NewClient(p.mgmtURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkDeclared(t, c)

	m := amqpLine.FindStringSubmatch(p.out.String())
	if m == nil {
		t.Fatalf("no AMQP address in\n%s", p.out.String())
	}
	connStr := "Endpoint=sb://" + m[1] + ";SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=any;UseDevelopmentEmulator=true"

	// The rules through the SDK's administration client too.
	pem, err := os.ReadFile(filepath.Join(data, "tls", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	ac, err := admin.NewClientFromConnectionString(connStr, &admin.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := ac.GetRule(ctx(t), "topic.1", "sql", "big", nil); err != nil {
		t.Fatalf("admin GetRule: %v", err)
	} else if f, ok := r.Filter.(*admin.SQLFilter); !ok || f.Expression != "qty > @min" || f.Parameters["@min"] != int64(10) {
		t.Fatalf("admin GetRule big: %#v", r.Filter)
	} else if a, ok := r.Action.(*admin.SQLAction); !ok || a.Expression != "SET tier = @tier" || a.Parameters["tier"] != "gold" {
		t.Fatalf("admin GetRule big action: %#v", r.Action)
	}
	if r, err := ac.GetRule(ctx(t), "topic.1", "corr", "app-prop-filter-1", nil); err != nil {
		t.Fatalf("admin GetRule: %v", err)
	} else if f, ok := r.Filter.(*admin.CorrelationFilter); !ok || f.Subject == nil || *f.Subject != "subject1" || f.To == nil || *f.To != "xyz" ||
		f.ContentType == nil || *f.ContentType != "application/json" {
		t.Fatalf("admin GetRule corr: %#v", r.Filter)
	}

	// Send through the SDK.
	client, err := azservicebus.NewClientFromConnectionString(connStr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close(ctx(t))
	sender, err := client.NewSender("topic.1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close(ctx(t))
	str := func(s string) *string { return &s }
	msgs := []*azservicebus.Message{
		{Body: []byte("sql"), MessageID: str("123456"), ApplicationProperties: map[string]any{"userProp1": "value1"}},
		{Body: []byte("big"), ApplicationProperties: map[string]any{"qty": int64(11)}},
		{Body: []byte("small"), ApplicationProperties: map[string]any{"qty": int64(10)}},
		{Body: []byte("corr"), CorrelationID: str("id1"), Subject: str("subject1"), MessageID: str("msgid1"), ReplyTo: str("someQueue"),
			ReplyToSessionID: str("sessionId"), SessionID: str("session1"), To: str("xyz"), ContentType: str("application/json")},
		{Body: []byte("corr-miss"), CorrelationID: str("id1"), Subject: str("subject1"), SessionID: str("session1")},
		{Body: []byte("props"), ApplicationProperties: map[string]any{"prop3": "value3", "n": int32(2)}},
		{Body: []byte("eu"), ApplicationProperties: map[string]any{"region": "eu"}},
		{Body: []byte("session"), SessionID: str("s")},
	}
	for _, msg := range msgs {
		if err := sender.SendMessage(ctx(t), msg, nil); err != nil {
			t.Fatalf("send %s: %v", msg.Body, err)
		}
	}
	want := map[string][]string{
		"all":   {"sql", "big", "small", "corr", "corr-miss", "props", "eu", "session"},
		"corr":  {"corr"},
		"props": {"props"},
		"sql":   {"sql", "big"},
		"fwd":   nil, // forwarded on
		"sess":  {"session"},
	}
	egWait(t, "the forwarded copy", func() bool {
		q, err := c.GetQueue(ctx(t), "forwarded")
		return err == nil && q.ActiveMessageCount == 1
	})
	got := map[string][]*mgmt.Message{}
	for sub, bodies := range want {
		msgs, err := c.Peek(ctx(t), "topic.1/Subscriptions/"+sub, mgmt.PeekOptions{Max: 100})
		if err != nil {
			t.Fatal(err)
		}
		var gotBodies []string
		for _, m := range msgs {
			gotBodies = append(gotBodies, *m.Body)
		}
		if !reflect.DeepEqual(gotBodies, bodies) {
			t.Errorf("subscription %s holds %q, want %q", sub, gotBodies, bodies)
		}
		got[sub] = msgs
	}
	if fw, err := c.Peek(ctx(t), "forwarded", mgmt.PeekOptions{Max: 10}); err != nil || len(fw) != 1 || *fw[0].Body != "eu" {
		t.Fatalf("forwarded queue: %v %+v", err, fw)
	}
	if t.Failed() {
		t.FailNow()
	}
	// The actions changed the sql subscription's copies only.
	if s := got["sql"]; s[0].To != "Entity" || s[0].Properties["RuleName"] != "sql-filter-1" || s[1].Properties["tier"] != "gold" || s[1].Properties["RuleName"] != "big" {
		t.Errorf("sql copies: %+v / %+v", s[0], s[1])
	}
	if a := got["all"]; a[0].To != "" || a[1].Properties["tier"] != nil {
		t.Errorf("an action reached another subscription: %+v / %+v", a[0], a[1])
	}

	// Apply the same file again on restart: no error, nothing duplicated,
	// the messages kept.
	if err := p.stop(); err != nil {
		t.Fatalf("stop: %v\n%s", err, p.out.String())
	}
	p = startBaton(t, "--config", cfgPath, "--data-dir", data, "--amqp-addr", "127.0.0.1:0")
	c, err = mgmt.NewClient(p.mgmtURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkDeclared(t, c)
	if s, err := c.GetSubscription(ctx(t), "topic.1", "all"); err != nil || s.ActiveMessageCount != 8 {
		t.Fatalf("after the restart: %v %+v", err, s)
	}
}

// checkDeclared checks every subscription and rule of emulatorTopicsConfig
// through the JSON API.
func checkDeclared(t *testing.T, c *mgmt.Client) {
	t.Helper()
	tp, err := c.GetTopic(ctx(t), "topic.1")
	if err != nil || tp.SubscriptionCount != 6 || tp.DefaultMessageTimeToLive.String() != "1h0m0s" {
		t.Fatalf("topic: %v %+v", err, tp)
	}
	subs, err := c.ListSubscriptions(ctx(t), "topic.1")
	if err != nil || len(subs) != 6 {
		t.Fatalf("subscriptions: %v %+v", err, subs)
	}
	for _, s := range subs {
		wantLock, wantMax := "1m0s", int32(3) // the emulator's defaults
		if s.Name == "sql" {
			wantLock, wantMax = "30s", 7
		}
		if s.LockDuration.String() != wantLock || s.MaxDeliveryCount != wantMax || s.DefaultMessageTimeToLive.String() != "1h0m0s" ||
			s.RequiresSession != (s.Name == "sess") || (s.ForwardTo == "forwarded") != (s.Name == "fwd") {
			t.Errorf("subscription %s: %+v", s.Name, s)
		}
	}
	rules := func(sub string) []*mgmt.Rule {
		t.Helper()
		rs, err := c.ListRules(ctx(t), "topic.1", sub)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			r.CreatedAt = nil
		}
		return rs
	}
	check := func(sub string, want ...*mgmt.Rule) {
		t.Helper()
		got := rules(sub)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("rules of %s:\n got %s\nwant %s", sub, ruleNames(got), ruleNames(want))
		}
	}
	check("all", &mgmt.Rule{Name: "$Default", Filter: mgmt.RuleFilter{Type: mgmt.FilterTrue}})
	check("corr", &mgmt.Rule{Name: "app-prop-filter-1", Filter: mgmt.RuleFilter{Type: mgmt.FilterCorrelation, ContentType: "application/json",
		CorrelationID: "id1", Subject: "subject1", MessageID: "msgid1", ReplyTo: "someQueue", ReplyToSessionID: "sessionId",
		SessionID: "session1", To: "xyz"}})
	check("props", &mgmt.Rule{Name: "prop3", Filter: mgmt.RuleFilter{Type: mgmt.FilterCorrelation,
		Properties: map[string]any{"prop3": "value3", "n": float64(2)}}})
	check("sql",
		&mgmt.Rule{Name: "sql-filter-1", Filter: mgmt.RuleFilter{Type: mgmt.FilterSQL, SQLExpression: "sys.MessageId = '123456' AND userProp1 = 'value1'"},
			Action: &mgmt.RuleAction{SQLExpression: "SET sys.To = 'Entity'"}},
		&mgmt.Rule{Name: "big", Filter: mgmt.RuleFilter{Type: mgmt.FilterSQL, SQLExpression: "qty > @min", Parameters: map[string]any{"@min": float64(10)}},
			Action: &mgmt.RuleAction{SQLExpression: "SET tier = @tier", Parameters: map[string]any{"tier": "gold"}}})
	check("fwd", &mgmt.Rule{Name: "eu", Filter: mgmt.RuleFilter{Type: mgmt.FilterSQL, SQLExpression: "region = 'eu'"}})
	check("sess", &mgmt.Rule{Name: "s", Filter: mgmt.RuleFilter{Type: mgmt.FilterSQL, SQLExpression: "sys.SessionId = 's'"}})
}

func ruleNames(rs []*mgmt.Rule) string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name+"="+describe(r))
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}

func describe(r *mgmt.Rule) string {
	s := r.Filter.Type + "(" + r.Filter.SQLExpression + mgmt.FormatValues(r.Filter.Parameters) + mgmt.FormatValues(r.Filter.Properties) + ")"
	if r.Action != nil {
		s += " action(" + r.Action.SQLExpression + mgmt.FormatValues(r.Action.Parameters) + ")"
	}
	return s
}

// TestEmulatorConfigBadRule: a rule that does not compile, or has an
// unknown FilterType, stops `baton serve` with a message naming the rule,
// its place in the file and the position in the expression; nothing
// starts.
func TestEmulatorConfigBadRule(t *testing.T) {
	for _, tc := range []struct{ rule, want string }{
		{`{ "Name": "bad", "Properties": { "FilterType": "Sql", "SqlFilter": { "SqlExpression": "color = 'red' AND AND x" } } }`,
			`UserConfig.Namespaces[0].Topics[0].Subscriptions[0].Rules[0].Properties: rule "bad": SqlFilter: filter: syntax error at line 1, column 19 (offset 18) near "AND"`},
		{`{ "Name": "bad", "Properties": { "FilterType": "SqlFilter", "SqlFilter": { "SqlExpression": "1=1" } } }`,
			`Rules[0].Properties.FilterType: "SqlFilter" is not a filter type; use "Sql" or "Correlation"`},
		{`{ "Name": "bad", "Properties": { "FilterType": "Sql", "SqlFilter": { "SqlExpression": "1=1" }, "Action": { "SqlExpression": "SET sys.SequenceNumber = 1" } } }`,
			`rule "bad": SqlRuleAction: filter: read-only system property`},
	} {
		doc := `{"UserConfig": {"Namespaces": [{"Name": "sbemulatorns", "Queues": [], "Topics": [{"Name": "t", "Subscriptions": [
			{"Name": "s", "Rules": [` + tc.rule + `]}]}]}], "Logging": {"Type": "File"}}}`
		path := filepath.Join(t.TempDir(), "Config.json")
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(binary, "serve", "--config", path, "--memory", "--mgmt-addr", "127.0.0.1:0", "--amqp-addr", "off",
			"--amqps-addr", "off", "--queue-addr", "off", "--eventgrid-addr", "off")
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("baton serve started with %s:\n%s", tc.rule, out)
		}
		if !strings.Contains(string(out), tc.want) || strings.Contains(string(out), "ready") {
			t.Errorf("baton serve with %s:\n%s\nwant it to say %q", tc.rule, out, tc.want)
		}
	}
}
