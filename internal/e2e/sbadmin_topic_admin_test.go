package e2e

// The Service Bus administration API for topics, subscriptions and rules,
// driven by the official Go admin client (and azservicebus for sends)
// against Baton in-process on loopback, through public APIs only.

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus/admin"

	"github.com/batonmq/baton/internal/config"
)

// show prints a struct of pointers with the values they point at.
func show(v any) string {
	var b strings.Builder
	rv := reflect.ValueOf(v)
	for i := 0; i < rv.NumField(); i++ {
		f := rv.Field(i)
		fmt.Fprintf(&b, "%s=", rv.Type().Field(i).Name)
		if f.Kind() == reflect.Pointer && !f.IsNil() {
			fmt.Fprintf(&b, "%+v ", f.Elem().Interface())
		} else {
			fmt.Fprintf(&b, "%+v ", f.Interface())
		}
	}
	return b.String()
}

// httpStatus returns the status of an admin client error (0 if it is not a
// response error).
func httpStatus(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

func TestSBAdminTopicLifecycle(t *testing.T) {
	t.Parallel()
	e := startSB(t, config.Default())
	c := ctx(t)

	want := admin.TopicProperties{
		MaxSizeInMegabytes:                  to.Ptr[int32](2048),
		RequiresDuplicateDetection:          to.Ptr(true),
		DefaultMessageTimeToLive:            to.Ptr("P14D"),
		DuplicateDetectionHistoryTimeWindow: to.Ptr("PT5M"),
		EnableBatchedOperations:             to.Ptr(false),
		Status:                              to.Ptr(admin.EntityStatusActive),
		AutoDeleteOnIdle:                    to.Ptr("P30D"),
		EnablePartitioning:                  to.Ptr(true),
		SupportOrdering:                     to.Ptr(false),
		UserMetadata:                        to.Ptr(`events <&> "all"`),
		MaxMessageSizeInKilobytes:           to.Ptr[int64](512),
	}
	created, err := e.admin.CreateTopic(c, "events", &admin.CreateTopicOptions{Properties: &want})
	if err != nil {
		t.Fatal(err)
	}
	if created.TopicName != "events" || !reflect.DeepEqual(created.TopicProperties, want) {
		t.Fatalf("created %s\nwant %s", show(created.TopicProperties), show(want))
	}
	got, err := e.admin.GetTopic(c, "EVENTS", nil) // names are case-insensitive
	if err != nil || got == nil || !reflect.DeepEqual(got.TopicProperties, want) {
		t.Fatalf("get: %+v, %v", got, err) // (see show)
	}
	if _, err := e.admin.CreateTopic(c, "Events", nil); httpStatus(err) != http.StatusConflict {
		t.Fatalf("second create: %v", err)
	}
	if _, err := e.admin.CreateQueue(c, "events", nil); httpStatus(err) != http.StatusConflict {
		t.Fatalf("a queue named like the topic: %v", err)
	}

	// Defaults.
	plain, err := e.admin.CreateTopic(c, "plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	defaults := admin.TopicProperties{
		MaxSizeInMegabytes:                  to.Ptr[int32](1024),
		RequiresDuplicateDetection:          to.Ptr(false),
		DefaultMessageTimeToLive:            to.Ptr("P10675199DT2H48M5.4775807S"),
		DuplicateDetectionHistoryTimeWindow: to.Ptr("PT10M"),
		EnableBatchedOperations:             to.Ptr(true),
		Status:                              to.Ptr(admin.EntityStatusActive),
		AutoDeleteOnIdle:                    to.Ptr("P10675199DT2H48M5.4775807S"),
		EnablePartitioning:                  to.Ptr(false),
		SupportOrdering:                     to.Ptr(true),
		MaxMessageSizeInKilobytes:           to.Ptr[int64](256),
	}
	if !reflect.DeepEqual(plain.TopicProperties, defaults) {
		t.Fatalf("defaults %s\nwant %s", show(plain.TopicProperties), show(defaults))
	}

	// Update: what GetTopic returned, changed.
	upd := got.TopicProperties
	upd.Status = to.Ptr(admin.EntityStatusSendDisabled)
	upd.UserMetadata = to.Ptr("v2")
	upd.DefaultMessageTimeToLive = to.Ptr("PT90S")
	updated, err := e.admin.UpdateTopic(c, "events", upd, nil)
	if err != nil {
		t.Fatal(err)
	}
	upd.DefaultMessageTimeToLive = to.Ptr("PT1M30S") // as Azure writes it
	if !reflect.DeepEqual(updated.TopicProperties, upd) {
		t.Fatalf("updated %s\nwant %s", show(updated.TopicProperties), show(upd))
	}
	if _, err := e.admin.UpdateTopic(c, "missing", upd, nil); httpStatus(err) != http.StatusNotFound {
		t.Fatalf("update of a missing topic: %v", err)
	}
	// A send-disabled topic refuses sends, as the update said.
	sender, err := e.client.NewSender("events", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close(c)
	if err := sender.SendMessage(c, &azservicebus.Message{Body: []byte("x")}, nil); err == nil {
		t.Fatal("a send to a SendDisabled topic succeeded")
	}

	// Bad properties: 400 naming the element.
	_, err = e.admin.CreateTopic(c, "bad", &admin.CreateTopicOptions{Properties: &admin.TopicProperties{DefaultMessageTimeToLive: to.Ptr("soon")}})
	if httpStatus(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "DefaultMessageTimeToLive") {
		t.Fatalf("bad TTL: %v", err)
	}

	// Listing, in pages of two, by name; the runtime-properties pager too.
	for _, n := range []string{"t-c", "t-a", "t-b"} {
		if _, err := e.admin.CreateTopic(c, n, nil); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	pager := e.admin.NewListTopicsPager(&admin.ListTopicsOptions{MaxPageSize: 2})
	for pager.More() {
		page, err := pager.NextPage(c)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Topics) > 2 {
			t.Fatalf("a page of %d", len(page.Topics))
		}
		for _, tp := range page.Topics {
			names = append(names, tp.TopicName)
		}
	}
	if strings.Join(names, ",") != "events,plain,t-a,t-b,t-c" {
		t.Fatalf("listed %v", names)
	}
	names = names[:0]
	rtPager := e.admin.NewListTopicsRuntimePropertiesPager(nil)
	for rtPager.More() {
		page, err := rtPager.NextPage(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, tp := range page.TopicRuntimeProperties {
			names = append(names, tp.TopicName)
			if tp.CreatedAt.IsZero() || tp.UpdatedAt.Before(tp.CreatedAt) {
				t.Fatalf("%s: times %+v", tp.TopicName, tp.TopicRuntimeProperties)
			}
		}
	}
	if strings.Join(names, ",") != "events,plain,t-a,t-b,t-c" {
		t.Fatalf("listed runtime properties of %v", names)
	}

	// Delete takes the subscriptions with it.
	if _, err := e.admin.CreateSubscription(c, "plain", "s1", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.DeleteTopic(c, "plain", nil); err != nil {
		t.Fatal(err)
	}
	if tp, err := e.admin.GetTopic(c, "plain", nil); err != nil || tp != nil {
		t.Fatalf("get after delete: %+v, %v", tp, err)
	}
	if s, err := e.admin.GetSubscription(c, "plain", "s1", nil); err != nil || s != nil {
		t.Fatalf("subscription after its topic's delete: %+v, %v", s, err)
	}
	if _, err := e.admin.DeleteTopic(c, "plain", nil); httpStatus(err) != http.StatusNotFound {
		t.Fatalf("second delete: %v", err)
	}
}

func TestSBAdminSubscriptionsAndRules(t *testing.T) {
	t.Parallel()
	e := startSB(t, config.Default())
	c := ctx(t)
	if _, err := e.admin.CreateTopic(c, "orders", nil); err != nil {
		t.Fatal(err)
	}
	e.queue("audit", nil)
	e.queue("audit-dlq", nil)

	// A subscription with every property and a default SQL rule with
	// parameters.
	props := admin.SubscriptionProperties{
		LockDuration:                                    to.Ptr("PT45S"),
		RequiresSession:                                 to.Ptr(false),
		DefaultMessageTimeToLive:                        to.Ptr("P2D"),
		DeadLetteringOnMessageExpiration:                to.Ptr(true),
		EnableDeadLetteringOnFilterEvaluationExceptions: to.Ptr(true),
		MaxDeliveryCount:                                to.Ptr[int32](4),
		Status:                                          to.Ptr(admin.EntityStatusActive),
		AutoDeleteOnIdle:                                to.Ptr("PT2H"),
		ForwardTo:                                       to.Ptr("audit"),
		ForwardDeadLetteredMessagesTo:                   to.Ptr("audit-dlq"),
		EnableBatchedOperations:                         to.Ptr(false),
		UserMetadata:                                    to.Ptr("big red orders"),
		DefaultRule: &admin.RuleProperties{
			Name:   "big-red",
			Filter: &admin.SQLFilter{Expression: "color = @c AND qty > @q", Parameters: map[string]any{"@c": "red", "@q": int64(10)}},
		},
	}
	created, err := e.admin.CreateSubscription(c, "orders", "big", &admin.CreateSubscriptionOptions{Properties: &props})
	if err != nil {
		t.Fatal(err)
	}
	want := props
	want.DefaultRule = nil // not part of a subscription's description
	if created.TopicName != "orders" || created.SubscriptionName != "big" || !reflect.DeepEqual(created.SubscriptionProperties, want) {
		t.Fatalf("created %s\nwant %s", show(created.SubscriptionProperties), show(want))
	}
	got, err := e.admin.GetSubscription(c, "ORDERS", "BIG", nil) // names are case-insensitive
	if err != nil || got == nil || !reflect.DeepEqual(got.SubscriptionProperties, want) {
		t.Fatalf("get: %+v, %v", got, err) // (see show)
	}
	if _, err := e.admin.CreateSubscription(c, "orders", "big", nil); httpStatus(err) != http.StatusConflict {
		t.Fatalf("second create: %v", err)
	}
	if _, err := e.admin.CreateSubscription(c, "nope", "big", nil); httpStatus(err) != http.StatusNotFound {
		t.Fatalf("create under a missing topic: %v", err)
	}
	_, err = e.admin.CreateSubscription(c, "orders", "bad", &admin.CreateSubscriptionOptions{Properties: &admin.SubscriptionProperties{ForwardTo: to.Ptr("nowhere")}})
	if httpStatus(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "nowhere") {
		t.Fatalf("ForwardTo a missing entity: %v", err)
	}

	// The default rule, as the client reads it back.
	rule, err := e.admin.GetRule(c, "orders", "big", "big-red", nil)
	if err != nil || rule == nil {
		t.Fatalf("GetRule: %+v, %v", rule, err)
	}
	if !reflect.DeepEqual(rule.RuleProperties, *props.DefaultRule) {
		t.Fatalf("default rule %#v\nwant %#v", rule.RuleProperties, *props.DefaultRule)
	}

	// Update: a subscription's properties, not its rules.
	upd := got.SubscriptionProperties
	upd.LockDuration = to.Ptr("PT2M")
	upd.ForwardTo = nil
	// (Status is not changed here: the Go client does not send a
	// subscription's Status, so an update sets it back to Active.)
	updated, err := e.admin.UpdateSubscription(c, "orders", "big", upd, nil)
	if err != nil || !reflect.DeepEqual(updated.SubscriptionProperties, upd) {
		t.Fatalf("update: %s, %v\nwant %s", show(updated.SubscriptionProperties), err, show(upd))
	}
	if _, err := e.admin.UpdateSubscription(c, "orders", "missing", upd, nil); httpStatus(err) != http.StatusNotFound {
		t.Fatalf("update of a missing subscription: %v", err)
	}
	upd.RequiresSession = to.Ptr(true)
	if _, err := e.admin.UpdateSubscription(c, "orders", "big", upd, nil); httpStatus(err) != http.StatusBadRequest {
		t.Fatalf("RequiresSession change: %v", err)
	}

	// Rules: correlation with every condition and typed properties, SQL
	// with an action and parameters, and one with no name ($Default).
	when := time.Date(2026, 5, 6, 7, 8, 9, 500000000, time.UTC)
	corr := admin.RuleProperties{Name: "eu-invoices", Filter: &admin.CorrelationFilter{
		CorrelationID: to.Ptr("c-1"), MessageID: to.Ptr("m-1"), To: to.Ptr("to"), ReplyTo: to.Ptr("rt"),
		Subject: to.Ptr("invoice"), SessionID: to.Ptr("s"), ReplyToSessionID: to.Ptr("rs"), ContentType: to.Ptr("application/json"),
		ApplicationProperties: map[string]any{"region": "eu", "n": int64(7), "f": 2.5, "vip": true, "at": when},
	}}
	if _, err := e.admin.CreateRule(c, "orders", "big", &admin.CreateRuleOptions{Name: &corr.Name, Filter: corr.Filter}); err != nil {
		t.Fatal(err)
	}
	act := admin.RuleProperties{Name: "tag",
		Filter: &admin.SQLFilter{Expression: "sys.Label = 'order' OR priority IS NULL"},
		Action: &admin.SQLAction{Expression: "SET tier = @t; REMOVE tmp", Parameters: map[string]any{"@t": "gold"}},
	}
	resp, err := e.admin.CreateRule(c, "orders", "big", &admin.CreateRuleOptions{Name: &act.Name, Filter: act.Filter, Action: act.Action})
	if err != nil || !reflect.DeepEqual(resp.RuleProperties, act) {
		t.Fatalf("create with an action: %#v, %v", resp.RuleProperties, err)
	}
	unnamed, err := e.admin.CreateRule(c, "orders", "big", &admin.CreateRuleOptions{Filter: &admin.FalseFilter{}})
	if err != nil || unnamed.Name != "$Default" {
		t.Fatalf("unnamed rule: %+v, %v", unnamed, err)
	}
	for _, r := range []admin.RuleProperties{corr, act} {
		g, err := e.admin.GetRule(c, "orders", "big", r.Name, nil)
		if err != nil || g == nil || !reflect.DeepEqual(g.RuleProperties, r) {
			t.Fatalf("GetRule(%s): %#v, %v\nwant %#v", r.Name, g, err, r)
		}
	}
	var names []string
	pager := e.admin.NewListRulesPager("orders", "big", &admin.ListRulesOptions{MaxPageSize: 3})
	for pager.More() {
		page, err := pager.NextPage(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Rules {
			names = append(names, r.Name)
			if r.Name == "$Default" {
				if _, ok := r.Filter.(*admin.FalseFilter); !ok || r.Action != nil {
					t.Fatalf("$Default listed as %#v", r)
				}
			}
		}
	}
	if strings.Join(names, ",") != "big-red,eu-invoices,tag,$Default" {
		t.Fatalf("rules listed %v", names)
	}

	// Errors: a duplicate name, SQL that does not parse (the message names
	// the position), a missing rule.
	if _, err := e.admin.CreateRule(c, "orders", "big", &admin.CreateRuleOptions{Name: to.Ptr("TAG"), Filter: &admin.TrueFilter{}}); httpStatus(err) != http.StatusConflict {
		t.Fatalf("duplicate rule: %v", err)
	}
	_, err = e.admin.CreateRule(c, "orders", "big", &admin.CreateRuleOptions{Name: to.Ptr("broken"), Filter: &admin.SQLFilter{Expression: "color = 'red' AND AND qty > 1"}})
	if httpStatus(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "column 19") {
		t.Fatalf("bad SQL: %v", err)
	}
	_, err = e.admin.CreateRule(c, "orders", "big", &admin.CreateRuleOptions{Name: to.Ptr("broken"), Filter: &admin.TrueFilter{}, Action: &admin.SQLAction{Expression: "SET = 1"}})
	if httpStatus(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "column") {
		t.Fatalf("bad SQL action: %v", err)
	}
	if r, err := e.admin.GetRule(c, "orders", "big", "broken", nil); err != nil || r != nil {
		t.Fatalf("a refused rule exists: %+v, %v", r, err)
	}

	// UpdateRule replaces the filter and action; DeleteRule removes it.
	act.Filter = &admin.CorrelationFilter{Subject: to.Ptr("refund")}
	act.Action = nil
	if u, err := e.admin.UpdateRule(c, "orders", "big", act); err != nil || !reflect.DeepEqual(u.RuleProperties, act) {
		t.Fatalf("UpdateRule: %#v, %v", u, err)
	}
	if g, err := e.admin.GetRule(c, "orders", "big", "tag", nil); err != nil || !reflect.DeepEqual(g.RuleProperties, act) {
		t.Fatalf("after UpdateRule: %#v, %v", g, err)
	}
	if _, err := e.admin.UpdateRule(c, "orders", "big", admin.RuleProperties{Name: "missing", Filter: &admin.TrueFilter{}}); httpStatus(err) != http.StatusNotFound {
		t.Fatalf("update of a missing rule: %v", err)
	}
	if _, err := e.admin.DeleteRule(c, "orders", "big", "tag", nil); err != nil {
		t.Fatal(err)
	}
	if g, err := e.admin.GetRule(c, "orders", "big", "tag", nil); err != nil || g != nil {
		t.Fatalf("after DeleteRule: %+v, %v", g, err)
	}
	if _, err := e.admin.DeleteRule(c, "orders", "big", "tag", nil); httpStatus(err) != http.StatusNotFound {
		t.Fatalf("second DeleteRule: %v", err)
	}

	// Subscriptions list by name; delete.
	for _, n := range []string{"zeta", "alpha"} {
		if _, err := e.admin.CreateSubscription(c, "orders", n, nil); err != nil {
			t.Fatal(err)
		}
	}
	names = names[:0]
	sp := e.admin.NewListSubscriptionsPager("orders", &admin.ListSubscriptionsOptions{MaxPageSize: 2})
	for sp.More() {
		page, err := sp.NextPage(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.Subscriptions {
			if s.TopicName != "orders" {
				t.Fatalf("listed %+v", s)
			}
			names = append(names, s.SubscriptionName)
		}
	}
	if strings.Join(names, ",") != "alpha,big,zeta" {
		t.Fatalf("subscriptions listed %v", names)
	}
	// A new subscription without a default rule gets $Default, a TrueFilter.
	def, err := e.admin.GetRule(c, "orders", "alpha", "$Default", nil)
	if err != nil || def == nil {
		t.Fatalf("$Default of a new subscription: %+v, %v", def, err)
	}
	if _, ok := def.Filter.(*admin.TrueFilter); !ok || def.Action != nil {
		t.Fatalf("$Default is %#v", def.RuleProperties)
	}
	if _, err := e.admin.DeleteSubscription(c, "orders", "zeta", nil); err != nil {
		t.Fatal(err)
	}
	if s, err := e.admin.GetSubscription(c, "orders", "zeta", nil); err != nil || s != nil {
		t.Fatalf("get after delete: %+v, %v", s, err)
	}
	if _, err := e.admin.DeleteSubscription(c, "orders", "zeta", nil); httpStatus(err) != http.StatusNotFound {
		t.Fatalf("second delete: %v", err)
	}
}

// TestSBAdminTopicRuntimeProperties sends through the SDK and reads the
// counts per subscription and the topic's totals.
func TestSBAdminTopicRuntimeProperties(t *testing.T) {
	t.Parallel()
	e := startSB(t, config.Default())
	c := ctx(t)
	if _, err := e.admin.CreateTopic(c, "rt", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.CreateSubscription(c, "rt", "all", nil); err != nil {
		t.Fatal(err)
	}
	_, err := e.admin.CreateSubscription(c, "rt", "big", &admin.CreateSubscriptionOptions{Properties: &admin.SubscriptionProperties{
		DefaultRule: &admin.RuleProperties{Name: "big", Filter: &admin.SQLFilter{Expression: "n >= 2"}}}})
	if err != nil {
		t.Fatal(err)
	}
	before, err := e.admin.GetTopicRuntimeProperties(c, "rt", nil)
	if err != nil {
		t.Fatal(err)
	}

	sender, err := e.client.NewSender("rt", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close(c)
	batch, err := sender.NewMessageBatch(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	for n := range 4 {
		if err := batch.AddMessage(&azservicebus.Message{Body: []byte("hello"), ApplicationProperties: map[string]any{"n": int64(n)}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := sender.SendMessageBatch(c, batch, nil); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	if _, err := sender.ScheduleMessages(c, []*azservicebus.Message{{Body: []byte("later"), ApplicationProperties: map[string]any{"n": int64(5)}}}, later, nil); err != nil {
		t.Fatal(err)
	}

	// One dead-lettered from "all", one completed from "big".
	settle := func(sub string, f func(*azservicebus.Receiver, *azservicebus.ReceivedMessage) error) {
		t.Helper()
		r, err := e.client.NewReceiverForSubscription("rt", sub, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close(c)
		msgs, err := r.ReceiveMessages(c, 1, nil)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("receive from %s: %d, %v", sub, len(msgs), err)
		}
		if err := f(r, msgs[0]); err != nil {
			t.Fatal(err)
		}
	}
	settle("all", func(r *azservicebus.Receiver, m *azservicebus.ReceivedMessage) error {
		return r.DeadLetterMessage(c, m, &azservicebus.DeadLetterOptions{Reason: to.Ptr("test")})
	})
	settle("big", func(r *azservicebus.Receiver, m *azservicebus.ReceivedMessage) error {
		return r.CompleteMessage(c, m, nil)
	})

	for _, tc := range []struct {
		sub                  string
		total                int64
		active, deadLettered int32
	}{
		{"all", 5, 3, 1}, // 4 sent, 1 dead-lettered, 1 scheduled
		{"big", 2, 1, 0}, // n=2 and n=3, one completed; n=5 scheduled
	} {
		rt, err := e.admin.GetSubscriptionRuntimeProperties(c, "rt", tc.sub, nil)
		if err != nil || rt == nil {
			t.Fatalf("%s: %+v, %v", tc.sub, rt, err)
		}
		p := rt.SubscriptionRuntimeProperties
		if p.TotalMessageCount != tc.total || p.ActiveMessageCount != tc.active || p.DeadLetterMessageCount != tc.deadLettered ||
			p.TransferMessageCount != 0 || p.TransferDeadLetterMessageCount != 0 {
			t.Errorf("%s: %+v; want total %d, active %d, dead-lettered %d", tc.sub, p, tc.total, tc.active, tc.deadLettered)
		}
		if p.CreatedAt.IsZero() || p.AccessedAt.Before(p.CreatedAt) || p.UpdatedAt.Before(p.CreatedAt) {
			t.Errorf("%s: times %+v", tc.sub, p)
		}
	}
	var listed []string
	pager := e.admin.NewListSubscriptionsRuntimePropertiesPager("rt", nil)
	for pager.More() {
		page, err := pager.NextPage(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.SubscriptionRuntimeProperties {
			listed = append(listed, s.SubscriptionName)
		}
	}
	if strings.Join(listed, ",") != "all,big" {
		t.Fatalf("listed %v", listed)
	}

	tp, err := e.admin.GetTopicRuntimeProperties(c, "rt", nil)
	if err != nil || tp == nil {
		t.Fatalf("topic: %+v, %v", tp, err)
	}
	p := tp.TopicRuntimeProperties
	if p.SubscriptionCount != 2 || p.ScheduledMessageCount != 2 || p.SizeInBytes <= 0 ||
		p.SQLFilterCount != 2 || p.CorrelationFilterCount != 0 {
		t.Errorf("topic runtime properties %+v", p)
	}
	if !p.CreatedAt.Equal(before.CreatedAt) || !p.AccessedAt.After(before.AccessedAt) {
		t.Errorf("topic times: before %+v, after %+v", before.TopicRuntimeProperties, p)
	}
}
