package sbadmin

import (
	"encoding/xml"
	"math"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

// entry wraps a description in an Atom entry, as the SDKs send it.
func entry(desc string) string {
	return `<entry xmlns="http://www.w3.org/2005/Atom"><content type="application/xml">` + desc + `</content></entry>`
}

const fullTopic = `<TopicDescription xmlns="http://schemas.microsoft.com/netservices/2010/10/servicebus/connect">
<DefaultMessageTimeToLive>P14D</DefaultMessageTimeToLive><MaxSizeInMegabytes>2048</MaxSizeInMegabytes>
<RequiresDuplicateDetection>true</RequiresDuplicateDetection><DuplicateDetectionHistoryTimeWindow>PT5M</DuplicateDetectionHistoryTimeWindow>
<EnableBatchedOperations>false</EnableBatchedOperations><AuthorizationRules></AuthorizationRules><Status>Active</Status>
<UserMetadata>topic &amp; co</UserMetadata><SupportOrdering>false</SupportOrdering><AutoDeleteOnIdle>P30D</AutoDeleteOnIdle>
<EnablePartitioning>true</EnablePartitioning><MaxMessageSizeInKilobytes>512</MaxMessageSizeInKilobytes></TopicDescription>`

// fullSubscription is what the Go client sends for a subscription with
// every property and a default SQL rule with parameters (its generated
// namespace prefixes included).
const fullSubscription = `<SubscriptionDescription xmlns="http://schemas.microsoft.com/netservices/2010/10/servicebus/connect">
<LockDuration>PT30S</LockDuration><RequiresSession>false</RequiresSession><DefaultMessageTimeToLive>P1D</DefaultMessageTimeToLive>
<DeadLetteringOnMessageExpiration>true</DeadLetteringOnMessageExpiration><DeadLetteringOnFilterEvaluationExceptions>true</DeadLetteringOnFilterEvaluationExceptions>
<DefaultRuleDescription><Filter xmlns:_XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance" _XMLSchema-instance:type="SqlFilter">
<SqlExpression>color = @color AND size &gt; @min</SqlExpression><Parameters>
<KeyValueOfstringanyType><Key>@color</Key><Value _XMLSchema-instance:type="l28:string" xmlns:l28="http://www.w3.org/2001/XMLSchema">red</Value></KeyValueOfstringanyType>
<KeyValueOfstringanyType><Key>@min</Key><Value _XMLSchema-instance:type="l28:int" xmlns:l28="http://www.w3.org/2001/XMLSchema">3</Value></KeyValueOfstringanyType>
</Parameters></Filter><Name>red-big</Name></DefaultRuleDescription>
<MaxDeliveryCount>5</MaxDeliveryCount><EnableBatchedOperations>true</EnableBatchedOperations><Status>Active</Status>
<UserMetadata>sub</UserMetadata><AutoDeleteOnIdle>PT1H</AutoDeleteOnIdle></SubscriptionDescription>`

const correlationRule = `<RuleDescription xmlns="http://schemas.microsoft.com/netservices/2010/10/servicebus/connect" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
<Filter i:type="CorrelationFilter"><CorrelationId>c-1</CorrelationId><Label>invoice</Label><ContentType>application/json</ContentType>
<Properties><KeyValueOfstringanyType><Key>region</Key><Value i:type="d6p1:string" xmlns:d6p1="http://www.w3.org/2001/XMLSchema">eu</Value></KeyValueOfstringanyType>
<KeyValueOfstringanyType><Key>vip</Key><Value i:type="d6p1:boolean" xmlns:d6p1="http://www.w3.org/2001/XMLSchema">true</Value></KeyValueOfstringanyType></Properties></Filter>
<Action i:type="EmptyRuleAction"/><Name>ignored: the path names the rule</Name></RuleDescription>`

// jsActionRule is how the JS client writes a SQL filter with a SQL action
// (p4 prefix, numbers as double).
const jsActionRule = `<RuleDescription xmlns="http://schemas.microsoft.com/netservices/2010/10/servicebus/connect">
<Filter p4:type="SqlFilter" xmlns:p4="http://www.w3.org/2001/XMLSchema-instance"><SqlExpression>sys.Label = 'x'</SqlExpression></Filter>
<Action p4:type="SqlRuleAction" xmlns:p4="http://www.w3.org/2001/XMLSchema-instance"><SqlExpression>SET tier = @tier; REMOVE tmp</SqlExpression>
<Parameters><KeyValueOfstringanyType><Key>@tier</Key><Value p4:type="l28:double" xmlns:l28="http://www.w3.org/2001/XMLSchema" xmlns:p4="http://www.w3.org/2001/XMLSchema-instance">2.5</Value></KeyValueOfstringanyType></Parameters></Action>
<Name>tiered</Name></RuleDescription>`

func TestGoldenTopicDocuments(t *testing.T) {
	t.Parallel()
	f := setup(t, Config{})

	w := f.do("PUT", "/events?api-version=2024-05", entry(fullTopic))
	f.want(w, http.StatusCreated)
	golden(t, "create-topic.xml", w.Body.Bytes())

	w = f.do("PUT", "/events/Subscriptions/red?api-version=2024-05", entry(fullSubscription))
	f.want(w, http.StatusCreated)
	golden(t, "create-subscription.xml", w.Body.Bytes())
	f.want(f.do("PUT", "/events/Subscriptions/all?api-version=2024-05", entry(`<SubscriptionDescription/>`)), http.StatusCreated)

	f.clock.Advance(time.Minute)
	w = f.do("PUT", "/events/Subscriptions/red/Rules/corr?api-version=2024-05", entry(correlationRule))
	f.want(w, http.StatusCreated)
	golden(t, "create-rule-correlation.xml", w.Body.Bytes())
	w = f.do("PUT", "/events/Subscriptions/red/Rules/tiered?api-version=2021-05", entry(jsActionRule))
	f.want(w, http.StatusCreated)
	golden(t, "create-rule-action.xml", w.Body.Bytes())

	// Three messages: one to both subscriptions, one to "all" only, one
	// scheduled to both.
	f.clock.Advance(time.Minute)
	msgs := []*broker.Message{
		{Body: []byte("big red"), Properties: map[string]any{"color": "red", "size": int64(9)}},
		{Body: []byte("small"), Properties: map[string]any{"color": "red", "size": int64(1)}},
		{Body: []byte("later"), Properties: map[string]any{"color": "red", "size": int64(5)}, ScheduledEnqueueTime: f.clock.Now().Add(time.Hour)},
	}
	if _, err := f.b.Send(t.Context(), "events", msgs); err != nil {
		t.Fatal(err)
	}

	w = f.do("GET", "/Events?api-version=2024-05", "")
	f.want(w, http.StatusOK)
	golden(t, "get-topic.xml", w.Body.Bytes())
	w = f.do("GET", "/events/Subscriptions/red?api-version=2024-05", "")
	f.want(w, http.StatusOK)
	golden(t, "get-subscription.xml", w.Body.Bytes())
	w = f.do("GET", "/events/Subscriptions?&%24top=1&api-version=2024-05", "")
	f.want(w, http.StatusOK)
	golden(t, "list-subscriptions-page.xml", w.Body.Bytes())
	w = f.do("GET", "/events/Subscriptions/red/Rules/?api-version=2024-05", "")
	f.want(w, http.StatusOK)
	golden(t, "list-rules.xml", w.Body.Bytes())
	w = f.do("GET", "/$Resources/Topics?api-version=2024-05", "")
	f.want(w, http.StatusOK)
	golden(t, "list-topics.xml", w.Body.Bytes())
}

// readEntry decodes a response entry's description.
func readRule(t *testing.T, doc []byte) broker.Rule {
	t.Helper()
	e, err := decodeEntry(doc)
	if err != nil || e.kind != bodyRule {
		t.Fatalf("decode: %v, %+v\n%s", err, e, doc)
	}
	r, err := e.rule.toRule("")
	if err != nil {
		t.Fatalf("toRule: %v\n%s", err, doc)
	}
	return r
}

// TestRuleXMLRoundTrip writes rules of every kind, with parameters of every
// type, and reads them back: what the broker holds is what a client that
// sends the document back gets.
func TestRuleXMLRoundTrip(t *testing.T) {
	t.Parallel()
	when := time.Date(2026, 3, 4, 5, 6, 7, 890000000, time.UTC)
	params := map[string]any{
		"@s": "a <b> & \"c\"", "@empty": "", "@i": int64(-42), "@big": int64(math.MaxInt32) + 1,
		"@min": int64(math.MinInt64), "@f": 2.5, "@tiny": 1e-300, "@t": true, "@false": false, "@when": when, "@nil": nil,
	}
	for _, r := range []broker.Rule{
		broker.TrueRule("$Default"),
		{Name: "never", Filter: broker.RuleFilter{Kind: broker.FilterFalse}},
		{Name: "sql", Filter: broker.RuleFilter{Kind: broker.FilterSQL, SQL: "a = @s OR b > @i", Parameters: params}},
		{Name: "corr", Filter: broker.RuleFilter{Kind: broker.FilterCorrelation, Correlation: &broker.CorrelationFilter{
			CorrelationID: "c", MessageID: "m", To: "to", ReplyTo: "rt", Subject: "subj", SessionID: "s",
			ReplyToSessionID: "rs", ContentType: "ct", Properties: params}}},
		{Name: "corr-props-only", Filter: broker.RuleFilter{Kind: broker.FilterCorrelation, Correlation: &broker.CorrelationFilter{
			Properties: map[string]any{"k": int64(1)}}}},
		{Name: "action", Filter: broker.RuleFilter{Kind: broker.FilterSQL, SQL: "1=1"}, Action: "SET x = @v", ActionParameters: map[string]any{"@v": "w"}},
		{Name: "name with spaces & <stuff>", Filter: broker.RuleFilter{Kind: broker.FilterTrue}, Action: "REMOVE y"},
	} {
		r.CreatedAt = epoch
		var x xmlWriter
		x.header()
		x.openEntry(entryMeta{id: "https://h/t/Subscriptions/s/Rules/x", title: r.Name, published: epoch, updated: epoch})
		x.ruleDescription(&r)
		x.closeEntry()
		wellFormed(t, x.Bytes())
		if !strings.Contains(x.String(), "<Action i:type=") {
			t.Errorf("%s: no Action element: %s", r.Name, x.String())
		}
		got := readRule(t, x.Bytes())
		got.CreatedAt = epoch
		if !reflect.DeepEqual(got, r) {
			t.Errorf("%s round trip:\n got %#v\nwant %#v\n%s", r.Name, got, r, x.String())
		}
	}
}

// TestKeyValueTypes checks the i:type names written: int for 32-bit
// integers (the Go client reads int, not long), long beyond, and the
// four-letter prefix the JS client needs.
func TestKeyValueTypes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		v    any
		want string
	}{
		{"x", `i:type="d6p1:string"`},
		{int64(7), `i:type="d6p1:int"`},
		{int32(7), `i:type="d6p1:int"`},
		{int64(1) << 40, `i:type="d6p1:long"`},
		{1.5, `i:type="d6p1:double"`},
		{true, `i:type="d6p1:boolean"`},
		{time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("x", 3600)), `i:type="d6p1:dateTime" xmlns:d6p1="http://www.w3.org/2001/XMLSchema">2025-12-31T23:00:00Z<`},
		{nil, `<Value i:nil="true"/>`},
	} {
		var x xmlWriter
		x.keyValues("P", map[string]any{"k": tc.v})
		if !strings.Contains(x.String(), tc.want) {
			t.Errorf("%T %v: %s; want %s", tc.v, tc.v, x.String(), tc.want)
		}
	}
}

// TestDescriptionRoundTrip writes a topic and a subscription with every
// property set away from its default and reads the documents back.
func TestDescriptionRoundTrip(t *testing.T) {
	t.Parallel()
	topic := broker.QueueProperties{
		DefaultMessageTimeToLive: 36 * time.Hour, MaxSizeInMegabytes: 5120, RequiresDuplicateDetection: true,
		DuplicateDetectionHistoryTimeWindow: time.Hour, EnableBatchedOperations: false, Status: broker.StatusSendDisabled,
		SupportOrdering: false, AutoDeleteOnIdle: 48 * time.Hour, EnablePartitioning: true, UserMetadata: "m",
		MaxMessageSizeInKilobytes: 2048,
	}
	sub := broker.QueueProperties{
		LockDuration: 2 * time.Minute, RequiresSession: true, DefaultMessageTimeToLive: time.Hour,
		DeadLetteringOnMessageExpiration: true, DeadLetteringOnFilterEvaluationExceptions: true, MaxDeliveryCount: 3,
		EnableBatchedOperations: true, Status: broker.StatusReceiveDisabled, ForwardTo: "q1",
		ForwardDeadLetteredMessagesTo: "q2", UserMetadata: "u <&>", AutoDeleteOnIdle: 10 * time.Minute,
	}
	var x xmlWriter
	x.WriteString(`<entry><content>`)
	x.topicDescription(&broker.EntityInfo{Entity: broker.Entity{Properties: topic}}, topicStats{})
	x.WriteString(`</content></entry>`)
	e, err := decodeEntry(x.Bytes())
	if err != nil || e.kind != bodyTopic {
		t.Fatalf("%v %+v", err, e)
	}
	got, err := e.desc.toProperties(bodyTopic)
	if err != nil || !reflect.DeepEqual(got, topic) {
		t.Fatalf("topic:\n got %+v, %v\nwant %+v", got, err, topic)
	}

	x.Reset()
	x.WriteString(`<entry><content>`)
	x.subscriptionDescription(&broker.EntityInfo{Entity: broker.Entity{Properties: sub}})
	x.WriteString(`</content></entry>`)
	if e, err = decodeEntry(x.Bytes()); err != nil || e.kind != bodySubscription {
		t.Fatalf("%v %+v", err, e)
	}
	if got, err = e.desc.toProperties(bodySubscription); err != nil || !reflect.DeepEqual(got, sub) {
		t.Fatalf("subscription:\n got %+v, %v\nwant %+v", got, err, sub)
	}

	// A topic left at its defaults supports ordering, as Service Bus says.
	e, _ = decodeEntry([]byte(entry(`<TopicDescription/>`)))
	if p, _ := e.desc.toProperties(bodyTopic); !p.SupportOrdering || !p.EnableBatchedOperations {
		t.Fatalf("topic defaults %+v", p)
	}
}

// TestTopicErrors checks the statuses and details of failing requests.
func TestTopicErrors(t *testing.T) {
	t.Parallel()
	f := setupLimits(t, Config{}, broker.Limits{MaxRules: 2, MaxSubscriptions: 2})
	f.want(f.do("PUT", "/t", entry(`<TopicDescription/>`)), http.StatusCreated)
	f.want(f.do("PUT", "/t/Subscriptions/s", entry(`<SubscriptionDescription/>`)), http.StatusCreated)
	sqlRule := func(expr string) string {
		var x xmlWriter
		x.text(expr)
		return entry(`<RuleDescription xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><Filter i:type="SqlFilter"><SqlExpression>` + x.String() + `</SqlExpression></Filter></RuleDescription>`)
	}
	for _, tc := range []struct {
		name, method, target, body string
		status                     int
		code, detail               string
	}{
		{"bad sql", "PUT", "/t/Subscriptions/s/Rules/r", sqlRule("a = = 1"), 400, "BadRequest", "column 5"},
		{"bad sql action", "PUT", "/t/Subscriptions/s/Rules/r",
			entry(`<RuleDescription xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><Filter i:type="TrueFilter"/><Action i:type="SqlRuleAction"><SqlExpression>SET</SqlExpression></Action></RuleDescription>`),
			400, "BadRequest", "SqlRuleAction"},
		{"empty sql", "PUT", "/t/Subscriptions/s/Rules/r", sqlRule(" "), 400, "BadRequest", "needs a SqlExpression"},
		{"unknown filter", "PUT", "/t/Subscriptions/s/Rules/r",
			entry(`<RuleDescription xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><Filter i:type="RegexFilter"/></RuleDescription>`), 400, "BadRequest", "RegexFilter"},
		{"unknown action", "PUT", "/t/Subscriptions/s/Rules/r",
			entry(`<RuleDescription xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><Action i:type="Teleport"/></RuleDescription>`), 400, "BadRequest", "Teleport"},
		{"bad parameter", "PUT", "/t/Subscriptions/s/Rules/r",
			entry(`<RuleDescription xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><Filter i:type="SqlFilter"><SqlExpression>a = @p</SqlExpression><Parameters><KeyValueOfstringanyType><Key>@p</Key><Value i:type="x:int">seven</Value></KeyValueOfstringanyType></Parameters></Filter></RuleDescription>`),
			400, "BadRequest", "Filter/Parameters[@p]"},
		{"duration parameter", "PUT", "/t/Subscriptions/s/Rules/r",
			entry(`<RuleDescription xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><Filter i:type="SqlFilter"><SqlExpression>a = @p</SqlExpression><Parameters><KeyValueOfstringanyType><Key>@p</Key><Value i:type="x:duration">PT1M</Value></KeyValueOfstringanyType></Parameters></Filter></RuleDescription>`),
			400, "BadRequest", "duration"},
		{"empty correlation", "PUT", "/t/Subscriptions/s/Rules/r",
			entry(`<RuleDescription xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><Filter i:type="CorrelationFilter"/></RuleDescription>`), 400, "BadRequest", "no conditions"},
		{"bad rule name", "PUT", "/t/Subscriptions/s/Rules/a@b", sqlRule("1=1"), 400, "BadRequest", "a@b"},
		{"bad default rule", "PUT", "/t/Subscriptions/s2",
			entry(`<SubscriptionDescription><DefaultRuleDescription><Filter><SqlExpression>a LIKE</SqlExpression></Filter></DefaultRuleDescription></SubscriptionDescription>`), 400, "BadRequest", "column 7"},
		{"rule exists", "PUT", "/t/Subscriptions/s/Rules/$default", sqlRule("1=1"), 409, "MessagingEntityAlreadyExists", "already exists"},
		{"rule missing", "GET", "/t/Subscriptions/s/Rules/nope", "", 404, "MessagingEntityNotFound", "nope"},
		{"subscription missing", "GET", "/t/Subscriptions/nope", "", 404, "MessagingEntityNotFound", "nope"},
		{"rules of missing subscription", "GET", "/t/Subscriptions/nope/Rules", "", 404, "MessagingEntityNotFound", "nope"},
		{"subscription of missing topic", "PUT", "/nope/Subscriptions/s", entry(`<SubscriptionDescription/>`), 404, "MessagingEntityNotFound", "nope"},
		{"subscription exists", "PUT", "/T/Subscriptions/S", entry(`<SubscriptionDescription/>`), 409, "MessagingEntityAlreadyExists", "s"},
		{"topic exists", "PUT", "/T", entry(`<TopicDescription/>`), 409, "MessagingEntityAlreadyExists", "t"},
		{"bad subscription name", "PUT", "/t/Subscriptions/a!b", entry(`<SubscriptionDescription/>`), 400, "BadRequest", "a!b"},
		{"bad topic property", "PUT", "/t2", entry(`<TopicDescription><SupportOrdering>maybe</SupportOrdering></TopicDescription>`), 400, "BadRequest", "SupportOrdering"},
		{"bad subscription property", "PUT", "/t/Subscriptions/s3", entry(`<SubscriptionDescription><DeadLetteringOnFilterEvaluationExceptions>2</DeadLetteringOnFilterEvaluationExceptions></SubscriptionDescription>`), 400, "BadRequest", "DeadLetteringOnFilterEvaluationExceptions"},
		{"forward to nowhere", "PUT", "/t/Subscriptions/s4", entry(`<SubscriptionDescription><ForwardTo>nowhere</ForwardTo></SubscriptionDescription>`), 400, "BadRequest", "nowhere"},
		{"forward to a subscription", "PUT", "/t/Subscriptions/s5", entry(`<SubscriptionDescription><ForwardTo>t/Subscriptions/s</ForwardTo></SubscriptionDescription>`), 400, "BadRequest", "only queues and topics"},
	} {
		w := f.do(tc.method, tc.target, tc.body)
		if w.Code != tc.status || w.Header().Get("x-ms-error-code") != tc.code || !strings.Contains(w.Body.String(), xmlEscape(tc.detail)) {
			t.Errorf("%s: %d %s %s; want %d %s mentioning %q", tc.name, w.Code, w.Header().Get("x-ms-error-code"), w.Body, tc.status, tc.code, tc.detail)
		}
		var doc struct {
			Code   int    `xml:"Code"`
			Detail string `xml:"Detail"`
		}
		if err := xml.Unmarshal(w.Body.Bytes(), &doc); err != nil || doc.Code != tc.status {
			t.Errorf("%s: error body %s: %v", tc.name, w.Body, err)
		}
	}

	// Quotas: 403.
	f.want(f.do("PUT", "/t/Subscriptions/s/Rules/r2", sqlRule("1=1")), http.StatusCreated)
	w := f.do("PUT", "/t/Subscriptions/s/Rules/r3", sqlRule("1=1"))
	if w.Code != http.StatusForbidden || w.Header().Get("x-ms-error-code") != "QuotaExceeded" {
		t.Errorf("rule quota: %d %s", w.Code, w.Body)
	}
	f.want(f.do("PUT", "/t/Subscriptions/s6", entry(`<SubscriptionDescription/>`)), http.StatusCreated)
	w = f.do("PUT", "/t/Subscriptions/s7", entry(`<SubscriptionDescription/>`))
	if w.Code != http.StatusForbidden || w.Header().Get("x-ms-error-code") != "QuotaExceeded" {
		t.Errorf("subscription quota: %d %s", w.Code, w.Body)
	}
	// Nothing half-made: the rules are the two that succeeded.
	rules, err := f.b.Rules("t", "s")
	if err != nil || len(rules) != 2 || rules[0].Name != "$Default" || rules[1].Name != "r2" {
		t.Fatalf("rules %+v, %v", rules, err)
	}
}

// TestPaging checks $skip, $top and the next link on the three new
// collections.
func TestTopicPaging(t *testing.T) {
	t.Parallel()
	f := setup(t, Config{})
	for _, n := range []string{"t3", "t1", "t2"} {
		f.want(f.do("PUT", "/"+n, entry(`<TopicDescription/>`)), http.StatusCreated)
	}
	for _, n := range []string{"s3", "s1", "s2"} {
		f.want(f.do("PUT", "/t1/Subscriptions/"+n, entry(`<SubscriptionDescription/>`)), http.StatusCreated)
	}
	for _, n := range []string{"r3", "r1"} {
		f.want(f.do("PUT", "/t1/Subscriptions/s1/Rules/"+n, entry(`<RuleDescription><Filter><SqlExpression>1=1</SqlExpression></Filter></RuleDescription>`)), http.StatusCreated)
	}
	titles := func(doc string) string {
		var feed struct {
			Links []struct {
				Rel  string `xml:"rel,attr"`
				Href string `xml:"href,attr"`
			} `xml:"link"`
			Entries []struct {
				Title string `xml:"title"`
			} `xml:"entry"`
		}
		if err := xml.Unmarshal([]byte(doc), &feed); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range feed.Entries {
			out = append(out, e.Title)
		}
		for _, l := range feed.Links {
			if l.Rel == "next" {
				out = append(out, "next="+l.Href)
			}
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct{ target, want string }{
		{"/$Resources/Topics", "t1,t2,t3"},
		{"/$Resources/Topics?$top=2", "t1,t2,next=https://sb.example:5672/$Resources/Topics?%24skip=2&%24top=2&api-version=2024-05"},
		{"/$Resources/Topics?%24skip=2&%24top=2", "t3"},
		{"/t1/Subscriptions?&%24top=2&%24skip=1", "s2,s3"},
		{"/t1/Subscriptions?$top=1&api-version=2021-05", "s1,next=https://sb.example:5672/t1/Subscriptions?%24skip=1&%24top=1&api-version=2021-05"},
		{"/t1/Subscriptions?$skip=9", ""},
		{"/t1/Subscriptions/s1/Rules/", "$Default,r3,r1"},
		{"/t1/Subscriptions/s1/Rules/?$skip=1&$top=1", "r3,next=https://sb.example:5672/t1/Subscriptions/s1/Rules?%24skip=2&%24top=1&api-version=2024-05"},
	} {
		w := f.do("GET", tc.target, "")
		f.want(w, http.StatusOK)
		if got := titles(w.Body.String()); got != tc.want {
			t.Errorf("%s: %s; want %s", tc.target, got, tc.want)
		}
	}
	f.want(f.do("GET", "/t1/Subscriptions?$top=-1", ""), http.StatusBadRequest)
}
