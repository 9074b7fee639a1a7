package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/httpapi/mgmt"
)

// runT runs a topic, sub or rule command with --server after its
// subcommand.
func (e *cliEnv) runT(args ...string) (string, string, int) {
	if len(args) < 2 {
		return runCLI(e.ctx, args...)
	}
	at := 2
	full := append(append(append([]string{}, args[:at]...), "--server", e.url), args[at:]...)
	return runCLI(e.ctx, full...)
}

func (e *cliEnv) wantT(args []string, wantOut, wantErr string, wantCode int) {
	e.t.Helper()
	out, errs, code := e.runT(args...)
	if out != wantOut || errs != wantErr || code != wantCode {
		e.t.Fatalf("baton %s:\n stdout %q\n stderr %q\n exit %d\nwant\n stdout %q\n stderr %q\n exit %d",
			strings.Join(args, " "), out, errs, code, wantOut, wantErr, wantCode)
	}
}

func TestTopicCLIFlow(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	e.wantT([]string{"topic", "list"}, "no topics; create one with: baton topic create NAME\n", "", 0)
	e.wantT([]string{"topic", "create", "orders", "--ttl", "P1D", "--duplicate-detection", "PT10M", "--max-size-mb", "100",
		"--max-message-kb", "64", "--auto-delete-on-idle", "P7D", "--support-ordering"}, "created topic \"orders\"\n", "", 0)
	tp, err := e.c.GetTopic(e.ctx, "orders")
	if err != nil || tp.DefaultMessageTimeToLive != mgmt.Duration(24*time.Hour) || !tp.RequiresDuplicateDetection ||
		tp.MaxSizeInMegabytes != 100 || tp.MaxMessageSizeInKilobytes != 64 || tp.AutoDeleteOnIdle != mgmt.Duration(7*24*time.Hour) || !tp.SupportOrdering {
		t.Fatalf("created with flags: %v %+v", err, tp)
	}
	e.wantT([]string{"sub", "list", "orders"}, "no subscriptions: messages sent to topic \"orders\" go nowhere; create one with: baton sub create orders NAME\n", "", 0)
	e.want([]string{"queue", "create", "audit"}, "created queue \"audit\"\n", "", 0)

	// Subscriptions: every property flag, and a default rule from flags.
	e.wantT([]string{"sub", "create", "orders", "all"},
		"created subscription \"all\" of topic \"orders\"; receive with: baton receive orders/Subscriptions/all\n", "", 0)
	e.wantT([]string{"sub", "create", "orders", "big", "--lock-duration", "30s", "--max-delivery-count", "3", "--ttl", "1h",
		"--auto-delete-on-idle", "P1D", "--dead-letter-on-expiration", "--dead-letter-on-filter-error", "--forward-dead-letters-to", "audit",
		"--rule-name", "big-eu", "--sql", "region = @r AND qty > @min", "--param", "r=eu", "--param", "min=10",
		"--action", "SET tier = @t", "--action-param", "t=string:10"},
		"created subscription \"big\" of topic \"orders\"; receive with: baton receive orders/Subscriptions/big\n", "", 0)
	s, err := e.c.GetSubscription(e.ctx, "orders", "big")
	if err != nil || s.LockDuration != mgmt.Duration(30*time.Second) || s.MaxDeliveryCount != 3 || s.DefaultMessageTimeToLive != mgmt.Duration(time.Hour) ||
		s.AutoDeleteOnIdle != mgmt.Duration(24*time.Hour) || !s.DeadLetteringOnMessageExpiration || !s.DeadLetteringOnFilterEvaluationExceptions ||
		s.ForwardDeadLetteredMessagesTo != "audit" || s.RequiresSession {
		t.Fatalf("created with flags: %v %+v", err, s)
	}
	br, err := e.b.Rules("orders", "big")
	if err != nil || len(br) != 1 || br[0].Name != "big-eu" || br[0].Filter.Parameters["min"] != int64(10) || br[0].Filter.Parameters["r"] != "eu" ||
		br[0].ActionParameters["t"] != "10" {
		t.Fatalf("rule from flags: %v %+v", err, br)
	}
	e.wantT([]string{"sub", "create", "orders", "invoices", "--requires-session", "--correlation-subject", "invoice",
		"--correlation-property", "n=2", "--correlation-id", "c1"},
		"created subscription \"invoices\" of topic \"orders\"; receive with: baton receive orders/Subscriptions/invoices\n", "", 0)

	// Rules: add (SQL with a datetime parameter, correlation, false), list, show, replace, delete.
	e.wantT([]string{"rule", "add", "orders", "all", "recent", "--sql", "sys.EnqueuedTimeUtc > @since", "--param", "since=datetime:2026-01-01T00:00:00Z"},
		"added rule \"recent\" of subscription \"all\" of topic \"orders\": sys.EnqueuedTimeUtc > @since [since=datetime:2026-01-01T00:00:00Z]\n", "", 0)
	e.wantT([]string{"rule", "add", "orders", "all", "never", "--false"},
		"added rule \"never\" of subscription \"all\" of topic \"orders\": FalseFilter\n", "", 0)
	e.wantT([]string{"rule", "list", "orders", "all"}, ""+
		"NAME      FILTER                                                              ACTION\n"+
		"$Default  TrueFilter                                                          -\n"+
		"recent    sys.EnqueuedTimeUtc > @since [since=datetime:2026-01-01T00:00:00Z]  -\n"+
		"never     FalseFilter                                                         -\n", "", 0)
	e.wantT([]string{"rule", "show", "orders", "big", "big-eu"}, ""+
		"name              big-eu\n"+
		"filter            SqlFilter\n"+
		"sqlExpression     region = @r AND qty > @min\n"+
		"parameters        min=10, r=\"eu\"\n"+
		"action            SET tier = @t\n"+
		"actionParameters  t=\"10\"\n"+
		"createdAt         2026-01-02T03:04:05.000Z\n", "", 0)
	out, _, code := e.runT("rule", "show", "orders", "invoices", "$Default", "--json")
	var r mgmt.Rule
	if code != 0 || json.Unmarshal([]byte(out), &r) != nil || r.Filter.Type != mgmt.FilterCorrelation || r.Filter.Subject != "invoice" ||
		r.Filter.CorrelationID != "c1" || r.Filter.Properties["n"] != float64(2) {
		t.Fatalf("rule show --json: %d %s", code, out)
	}
	e.wantT([]string{"rule", "add", "orders", "all", "never", "--sql", "1=0", "--replace"},
		"replaced rule \"never\" of subscription \"all\" of topic \"orders\": 1=0\n", "", 0)
	e.wantT([]string{"rule", "delete", "orders", "all", "never"}, "deleted rule \"never\" of subscription \"all\" of topic \"orders\"\n", "", 0)
	e.wantT([]string{"rule", "delete", "orders", "all", "recent"}, "deleted rule \"recent\" of subscription \"all\" of topic \"orders\"\n", "", 0)

	// Send to the topic (typed properties) and receive from subscriptions.
	e.want([]string{"send", "orders", "small", "--property", "region=eu", "--property", "qty=long:3"}, "1\n", "", 0)
	e.want([]string{"send", "orders", "large", "--property", "region=eu", "--property", "qty=long:30"}, "2\n", "", 0)
	e.want([]string{"send", "orders", "text-qty", "--property", "region=eu", "--property", "qty=30"}, "3\n", "", 0)
	e.want([]string{"receive", "orders/Subscriptions/all", "--max", "5"}, "small\nlarge\ntext-qty\n", "", 0)
	out, _, code = e.run("receive", "orders/Subscriptions/big", "--peek", "--json")
	var m mgmt.Message
	if code != 0 || json.Unmarshal([]byte(out), &m) != nil || *m.Body != "large" || m.Properties["tier"] != "10" || m.Properties["qty"] != float64(30) {
		t.Fatalf("big: %d %s", code, out)
	}
	e.want([]string{"receive", "orders/subscriptions/BIG", "--max", "5", "--wait", "0"}, "large\n", "", 0)
	e.want([]string{"receive", "orders/Subscriptions/big", "--wait", "0"}, "no messages: subscription \"orders/Subscriptions/big\" is empty\n", "", 0)
	// A session subscription: the session is accepted as on a queue.
	if _, err := e.c.Send(e.ctx, "orders", mgmt.SendMessage{Body: ptr("inv"), SessionID: "s1", CorrelationID: "c1", Subject: "invoice",
		Properties: map[string]any{"n": 2}}); err != nil {
		t.Fatal(err)
	}
	e.want([]string{"receive", "orders/Subscriptions/invoices", "--session-id", "s1"}, "inv\n", "", 0)
	e.want([]string{"receive", "orders/Subscriptions/all", "--session-id", "s1"}, "",
		"baton receive: subscription \"orders/Subscriptions/all\" does not require sessions; drop --session-id\n", 1)

	// Tables.
	e.wantT([]string{"topic", "list"}, ""+
		"NAME    SUBSCRIPTIONS  SCHEDULED  STATUS\n"+
		"orders  3              0          Active\n", "", 0)
	e.wantT([]string{"sub", "list", "orders"}, ""+
		"SUBSCRIPTION  ACTIVE  SCHEDULED  DEFERRED  DEAD-LETTERED\n"+
		"all           1       0          0         0\n"+
		"big           0       0          0         0\n"+
		"invoices      0       0          0         0\n", "", 0)
	out, _, code = e.runT("topic", "show", "orders")
	for _, want := range []string{"subscriptionCount                    3\n", "defaultMessageTimeToLive             24h0m0s\n", "invoices      0 "} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("topic show lacks %q:\n%s", want, out)
		}
	}
	out, _, code = e.runT("sub", "show", "orders", "big")
	for _, want := range []string{"path                                       orders/Subscriptions/big\n", "maxDeliveryCount                           3\n",
		"forwardDeadLetteredMessagesTo              audit\n", "big-eu  region = @r AND qty > @min [min=10, r=\"eu\"]  SET tier = @t\n"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("sub show lacks %q:\n%s", want, out)
		}
	}
	out, _, code = e.runT("sub", "show", "orders", "big", "--json")
	var sj struct {
		mgmt.Subscription
		Rules []*mgmt.Rule `json:"rules"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &sj) != nil || sj.Name != "big" || len(sj.Rules) != 1 {
		t.Fatalf("sub show --json: %d %s", code, out)
	}

	// Delete.
	e.wantT([]string{"sub", "delete", "orders", "all"}, "deleted subscription \"all\" of topic \"orders\"\n", "", 0)
	e.wantT([]string{"topic", "delete", "orders"}, "deleted topic \"orders\"\n", "", 0)
	e.wantT([]string{"topic", "list"}, "no topics; create one with: baton topic create NAME\n", "", 0)
}

func TestTopicCLIErrors(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	e.wantT([]string{"topic", "create", "t"}, "created topic \"t\"\n", "", 0)
	e.wantT([]string{"sub", "create", "t", "s"}, "created subscription \"s\" of topic \"t\"; receive with: baton receive t/Subscriptions/s\n", "", 0)
	for _, tc := range []struct {
		args    []string
		stderr  string
		code    int
		exactly bool
	}{
		{[]string{"rule", "add", "t", "s", "r", "--sql", "color = 'red' AND AND x"},
			"baton rule: rule \"r\": SqlFilter: filter: syntax error at line 1, column 19 (offset 18) near \"AND\"", 1, false},
		{[]string{"rule", "add", "t", "s", "r", "--sql", "a = 1", "--action", "SET sys.SequenceNumber = 2"}, "baton rule: rule \"r\": SqlRuleAction: filter: read-only system property", 1, false},
		{[]string{"sub", "create", "t", "s2", "--sql", "a = = 1"}, "baton sub: rule \"$Default\": SqlFilter: filter: syntax error at line 1, column 5", 1, false},
		{[]string{"rule", "add", "t", "s", "r", "--sql", "a=1", "--false"}, "baton rule: give one filter: --sql, --correlation-*, --true or --false\n", 2, true},
		{[]string{"rule", "add", "t", "s", "r", "--param", "a=1"}, "baton rule: --param goes with --sql\n", 2, true},
		{[]string{"rule", "add", "t", "s", "r", "--action-param", "a=1"}, "baton rule: --action-param goes with --action\n", 2, true},
		{[]string{"rule", "add", "t", "s", "r", "--sql", "a=@p", "--param", "p=datetime:soon"}, "baton rule: invalid value \"p=datetime:soon\" for flag -param: p: \"soon\" is not an RFC 3339 time", 2, false},
		{[]string{"rule", "add", "t", "s", "r", "--sql", "a=@p", "--param", "novalue"}, "baton rule: invalid value \"novalue\" for flag -param", 2, false},
		{[]string{"rule", "add", "t", "s", "$Default"}, "baton rule: rule \"$Default\" already exists in subscription \"t/Subscriptions/s\" (EntityExists)\n", 1, true},
		{[]string{"rule", "add", "t", "s", "x", "--replace"}, "baton rule: rule \"x\" not found in subscription \"t/Subscriptions/s\" (NotFound)\n", 1, true},
		{[]string{"rule", "add", "t", "nope", "x"}, "baton rule: subscription \"nope\" of topic \"t\" not found (NotFound)\n", 1, true},
		{[]string{"rule", "show", "t", "s", "nope"}, "baton rule: rule \"nope\" not found in subscription \"s\" of topic \"t\" (NotFound)\n", 1, true},
		{[]string{"rule", "delete", "t", "s", "nope"}, "baton rule: rule \"nope\" not found in subscription \"t/Subscriptions/s\" (NotFound)\n", 1, true},
		{[]string{"rule", "list", "nope", "s"}, "baton rule: subscription \"s\" of topic \"nope\" not found (NotFound)\n", 1, true},
		{[]string{"rule", "add", "t", "s"}, "baton rule: usage: baton rule add TOPIC SUB RULE", 2, false},
		{[]string{"rule"}, "baton rule: missing subcommand", 2, false},
		{[]string{"rule", "frob"}, "baton rule: unknown subcommand \"frob\"", 2, false},
		{[]string{"sub", "create", "t", "s"}, "baton sub: subscription \"t/Subscriptions/s\" already exists (EntityExists)\n", 1, true},
		{[]string{"sub", "create", "nope", "s"}, "baton sub: topic \"nope\" not found (NotFound)\n", 1, true},
		{[]string{"sub", "create", "t", "x", "--forward-to", "missing"}, "baton sub: auto-forward destination \"missing\" does not exist (InvalidArgument)\n", 1, true},
		{[]string{"sub", "create", "t", "x", "--lock-duration", "soon"}, "baton sub: invalid value \"soon\" for flag -lock-duration", 2, false},
		{[]string{"sub", "show", "t", "nope"}, "baton sub: subscription \"nope\" of topic \"t\" not found (NotFound)\n", 1, true},
		{[]string{"sub", "delete", "t", "nope"}, "baton sub: subscription \"nope\" of topic \"t\" not found (NotFound)\n", 1, true},
		{[]string{"sub", "list", "nope"}, "baton sub: topic \"nope\" not found (NotFound)\n", 1, true},
		{[]string{"sub", "create", "t"}, "baton sub: usage: baton sub create TOPIC SUB [flags]", 2, false},
		{[]string{"sub"}, "baton sub: missing subcommand", 2, false},
		{[]string{"topic", "create", "t"}, "baton topic: entity \"t\" already exists (EntityExists)\n", 1, true},
		{[]string{"topic", "create", "bad name"}, "baton topic: entity name \"bad name\" contains ' '", 1, false},
		{[]string{"topic", "show", "nope"}, "baton topic: topic \"nope\" not found (NotFound)\n", 1, true},
		{[]string{"topic", "delete", "nope"}, "baton topic: topic \"nope\" not found (NotFound)\n", 1, true},
		{[]string{"topic", "create", "x", "--ttl", "0s"}, "baton topic: defaultMessageTimeToLive must be positive (InvalidArgument)\n", 1, true},
		{[]string{"topic"}, "baton topic: missing subcommand", 2, false},
		{[]string{"topic", "list", "extra"}, "baton topic: usage: baton topic list [--json]", 2, false},
	} {
		t.Run(strings.Join(tc.args, "_"), func(t *testing.T) {
			out, errs, code := e.runT(tc.args...)
			if code != tc.code || (tc.exactly && errs != tc.stderr) || !strings.HasPrefix(errs, tc.stderr) {
				t.Fatalf("baton %v:\n stdout %q\n stderr %q\n exit %d\nwant stderr %q exit %d", tc.args, out, errs, code, tc.stderr, tc.code)
			}
			if strings.Count(errs, "\n") != 1 {
				t.Fatalf("error is not one line: %q", errs)
			}
		})
	}
	// Sending to a subscription is refused; receiving from a topic too.
	_, errs, code := e.run("send", "t/Subscriptions/s", "x")
	if code != 1 || !strings.Contains(errs, "cannot send to subscription \"t/Subscriptions/s\"; send to its topic \"t\"") {
		t.Fatalf("send to a subscription: %q %d", errs, code)
	}
	_, errs, code = e.run("receive", "t/Subscriptions/nope")
	if code != 1 || errs != "baton receive: subscription \"nope\" of topic \"t\" not found (NotFound)\n" {
		t.Fatalf("receive from a missing subscription: %q %d", errs, code)
	}
	// Nothing the failed commands tried was done.
	if rules, _ := e.c.ListRules(e.ctx, "t", "s"); len(rules) != 1 {
		t.Fatalf("rules after the bad commands: %+v", rules)
	}
	if subs, _ := e.c.ListSubscriptions(e.ctx, "t"); len(subs) != 1 {
		t.Fatalf("subscriptions after the bad commands: %+v", subs)
	}
}

func TestTopicCLIHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"topic", "-h"}, {"sub", "help"}, {"rule", "--help"}, {"topic", "create", "-h"},
		{"sub", "create", "-h"}, {"rule", "add", "-h"}, {"rule", "list", "-h"}} {
		out, errs, code := runCLI(t.Context(), args...)
		if code != 0 || errs != "" || !strings.Contains(out, "usage: baton ") {
			t.Fatalf("%v: %q %q %d", args, out, errs, code)
		}
	}
	out, _, _ := runCLI(t.Context(), "help")
	for _, c := range []string{"topic", "sub", "rule"} {
		if !strings.Contains(out, "  "+c+" ") {
			t.Fatalf("help lacks %q:\n%s", c, out)
		}
	}
	out, _, _ = runCLI(t.Context(), "sub", "create", "-h")
	for _, f := range []string{"-forward-to", "-requires-session", "-lock-duration", "-max-delivery-count", "-ttl", "-auto-delete-on-idle",
		"-sql", "-correlation-id", "-correlation-property", "-param", "-action"} {
		if !strings.Contains(out, f) {
			t.Fatalf("sub create -h lacks %s:\n%s", f, out)
		}
	}
}

func TestParseTyped(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for in, want := range map[string]any{
		"10": int64(10), "-3": int64(-3), "1.5": 1.5, "1e3": 1000.0, "true": true, "false": false, "red": "red",
		"string:10": "10", "long:7": int64(7), "double:2": 2.0, "bool:true": true, "datetime:2026-01-02T03:04:05Z": at,
		"timespan:PT1H": time.Hour, "http://x": "http://x", "NaN": "NaN", "Inf": "Inf", "": "",
	} {
		got, err := parseTyped(in, true)
		if err != nil || got != want {
			t.Errorf("parseTyped(%q) = %#v, %v; want %#v", in, got, err, want)
		}
	}
	if got, _ := parseTyped("10", false); got != "10" {
		t.Errorf("without inference: %#v", got)
	}
	for _, in := range []string{"long:x", "double:y", "bool:maybe", "datetime:now", "timespan:soon"} {
		if _, err := parseTyped(in, true); err == nil {
			t.Errorf("parseTyped(%q) succeeded", in)
		}
	}
}
