package servicebus

// This file answers the rule operations of a subscription's $management
// node (service-bus-amqp.md §8.12): add-rule, remove-rule and
// enumerate-rules, as the JS SDK's ServiceBusRuleManager sends them. The
// rules themselves live in the broker (broker.AddRule, RemoveRule, Rules);
// SQL text is compiled there, so a syntax error comes back as a 400 naming
// the line, column and token before any message is routed.

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/broker"
)

// Descriptors of the rule description types in enumerate-rules responses
// (§8.12; the JS SDK's Constants.descriptorCodes).
const (
	DescriptorRuleDescription   uint64 = 0x0000013700000004
	DescriptorEmptyRuleAction   uint64 = 0x0000013700000005
	DescriptorSQLRuleAction     uint64 = 0x0000013700000006
	DescriptorSQLFilter         uint64 = 0x0000001370000006
	DescriptorTrueFilter        uint64 = 0x0000001370000007
	DescriptorFalseFilter       uint64 = 0x0000001370000008
	DescriptorCorrelationFilter uint64 = 0x0000001370000009
)

// sqlCompatibilityLevel is the compatibility level Service Bus reports for
// SQL filters and actions.
const sqlCompatibilityLevel int32 = 20

// correlationKeys are the correlation-filter fields of add-rule, in the
// order enumerate-rules lists them.
var correlationKeys = [...]string{"correlation-id", "message-id", "to", "reply-to", "label",
	"session-id", "reply-to-session-id", "content-type"}

// subscriptionOf splits the request's entity into topic and subscription.
// Rules exist only on subscriptions.
func subscriptionOf(req *Request) (topic, sub string, err error) {
	topic, sub, isSub := broker.SplitSubscriptionPath(req.Entity)
	if !isSub || strings.Contains(sub, "/") {
		return "", "", argErrorf("%s is only supported on a subscription's $management node "+
			"(<topic>/Subscriptions/<subscription>/$management); %q is not a subscription", req.Operation, req.Entity)
	}
	return topic, sub, nil
}

// addRule answers add-rule: body rule-name (string) and rule-description
// (a map with sql-filter or correlation-filter, and optionally
// sql-rule-action).
func (m *Management) addRule(ctx context.Context, req *Request, body encoding.Map) (*Response, error) {
	topic, sub, err := subscriptionOf(req)
	if err != nil {
		return nil, err
	}
	name, err := requiredString(body, "rule-name")
	if err != nil {
		return nil, err
	}
	desc, err := mapField(body, "rule-description")
	if err != nil {
		return nil, err
	}
	if desc == nil {
		return nil, argErrorf("field %q is missing", "rule-description")
	}
	rule, err := ruleFromDescription(name, desc)
	if err != nil {
		return nil, err
	}
	if _, err := m.broker.AddRule(ctx, topic, sub, rule, false); err != nil {
		return nil, err
	}
	return ok(nil), nil
}

// ruleFromDescription reads an add-rule rule-description map.
func ruleFromDescription(name string, desc encoding.Map) (broker.Rule, error) {
	r := broker.Rule{Name: name}
	sqlf, err := mapField(desc, "sql-filter")
	if err != nil {
		return r, err
	}
	corr, err := mapField(desc, "correlation-filter")
	if err != nil {
		return r, err
	}
	switch {
	case sqlf != nil && corr != nil:
		return r, argErrorf("the rule-description has both a sql-filter and a correlation-filter; give one")
	case sqlf != nil:
		expr, err := requiredString(sqlf, "expression")
		if err != nil {
			return r, argErrorf("sql-filter: %w", err)
		}
		r.Filter = broker.RuleFilter{Kind: broker.FilterSQL, SQL: expr}
	case corr != nil:
		cf, err := correlationFilter(corr)
		if err != nil {
			return r, argErrorf("correlation-filter: %w", err)
		}
		r.Filter = broker.RuleFilter{Kind: broker.FilterCorrelation, Correlation: cf}
	default:
		return r, argErrorf("the rule-description has no filter: give a sql-filter or a correlation-filter")
	}
	action, err := mapField(desc, "sql-rule-action")
	if err != nil {
		return r, err
	}
	if action != nil {
		expr, _, err := stringField(action, "expression")
		if err != nil {
			return r, argErrorf("sql-rule-action: %w", err)
		}
		r.Action = expr
	}
	return r, nil
}

func correlationFilter(m encoding.Map) (*broker.CorrelationFilter, error) {
	var vals [len(correlationKeys)]string
	for i, k := range correlationKeys {
		s, _, err := stringField(m, k)
		if err != nil {
			return nil, err
		}
		vals[i] = s
	}
	cf := &broker.CorrelationFilter{
		CorrelationID: vals[0], MessageID: vals[1], To: vals[2], ReplyTo: vals[3], Subject: vals[4],
		SessionID: vals[5], ReplyToSessionID: vals[6], ContentType: vals[7],
	}
	props, err := mapField(m, "properties")
	if err != nil {
		return nil, err
	}
	for _, kv := range props {
		var k string
		switch key := kv.Key.(type) {
		case string:
			k = key
		case encoding.Symbol:
			k = string(key)
		default:
			return nil, argErrorf("properties has a key of type %s; keys are strings", typeName(kv.Key))
		}
		v, err := propertyValue(k, kv.Value)
		if err != nil {
			return nil, err
		}
		if cf.Properties == nil {
			cf.Properties = make(map[string]any, len(props))
		}
		cf.Properties[k] = v
	}
	return cf, nil
}

// requiredString reads a required, non-empty string field.
func requiredString(m encoding.Map, key string) (string, error) {
	s, present, err := stringField(m, key)
	if err != nil {
		return "", err
	}
	if !present || s == "" {
		return "", argErrorf("field %q is missing or empty", key)
	}
	return s, nil
}

// removeRule answers remove-rule: body rule-name. A missing rule is 404
// amqp:not-found, described as Service Bus does ("The messaging entity
// '<topic>/Subscriptions/<sub>/Rules/<rule>' could not be found.").
func (m *Management) removeRule(ctx context.Context, req *Request, body encoding.Map) (*Response, error) {
	topic, sub, err := subscriptionOf(req)
	if err != nil {
		return nil, err
	}
	name, err := requiredString(body, "rule-name")
	if err != nil {
		return nil, err
	}
	if _, err := m.broker.Rules(topic, sub); err != nil {
		return nil, err // the subscription itself is missing
	}
	if err := m.broker.RemoveRule(ctx, topic, sub, name); err != nil {
		if broker.CodeOf(err) == broker.CodeNotFound {
			return errorResponse(err, req.Entity+"/Rules/"+name), nil
		}
		return nil, err
	}
	return ok(nil), nil
}

// enumerateRules answers enumerate-rules: body top and skip (ints). The
// response is 200 with rules: a list of {rule-description: described
// list [filter, action, name, created-at]}, or 204 when the page is empty.
func (m *Management) enumerateRules(ctx context.Context, req *Request, body encoding.Map) (*Response, error) {
	topic, sub, err := subscriptionOf(req)
	if err != nil {
		return nil, err
	}
	top, hasTop, err := intField(body, "top", 0, math.MaxInt32)
	if err != nil {
		return nil, err
	}
	skip, _, err := intField(body, "skip", 0, math.MaxInt32)
	if err != nil {
		return nil, err
	}
	rules, err := m.broker.Rules(topic, sub)
	if err != nil {
		return nil, err
	}
	if int(skip) >= len(rules) {
		return noContent(), nil
	}
	rules = rules[skip:]
	if hasTop && int(top) < len(rules) {
		rules = rules[:top]
	}
	if len(rules) == 0 {
		return noContent(), nil
	}
	list := make([]any, 0, len(rules))
	for i := range rules {
		d, err := ruleDescription(&rules[i])
		if err != nil {
			return nil, err
		}
		list = append(list, encoding.Map{{Key: "rule-description", Value: d}})
	}
	return ok(encoding.Map{{Key: "rules", Value: list}}), nil
}

// ruleDescription encodes a rule as enumerate-rules lists it.
func ruleDescription(r *broker.Rule) (encoding.Described, error) {
	var filter encoding.Described
	f := &r.Filter
	switch f.Kind {
	case broker.FilterTrue:
		filter = encoding.Described{Descriptor: DescriptorTrueFilter, Value: []any{}}
	case broker.FilterFalse:
		filter = encoding.Described{Descriptor: DescriptorFalseFilter, Value: []any{}}
	case broker.FilterSQL:
		filter = encoding.Described{Descriptor: DescriptorSQLFilter, Value: []any{f.SQL, sqlCompatibilityLevel}}
	case broker.FilterCorrelation:
		c := f.Correlation
		if c == nil {
			c = &broker.CorrelationFilter{}
		}
		fields := make([]any, 0, 9)
		for _, s := range [...]string{c.CorrelationID, c.MessageID, c.To, c.ReplyTo, c.Subject,
			c.SessionID, c.ReplyToSessionID, c.ContentType} {
			if s == "" {
				fields = append(fields, nil)
			} else {
				fields = append(fields, s)
			}
		}
		fields = append(fields, correlationProperties(c.Properties))
		filter = encoding.Described{Descriptor: DescriptorCorrelationFilter, Value: fields}
	default:
		return encoding.Described{}, fmt.Errorf("servicebus: rule %q has filter kind %v", r.Name, f.Kind)
	}
	action := encoding.Described{Descriptor: DescriptorEmptyRuleAction, Value: []any{}}
	if r.Action != "" {
		action = encoding.Described{Descriptor: DescriptorSQLRuleAction, Value: []any{r.Action, sqlCompatibilityLevel}}
	}
	fields := []any{filter, action, r.Name}
	if !r.CreatedAt.IsZero() {
		fields = append(fields, r.CreatedAt)
	}
	return encoding.Described{Descriptor: DescriptorRuleDescription, Value: fields}, nil
}

// correlationProperties encodes a correlation filter's properties as a map
// with string keys, in key order.
func correlationProperties(props map[string]any) encoding.Map {
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(encoding.Map, 0, len(keys))
	for _, k := range keys {
		v, err := amqpValue(props[k])
		if err != nil {
			v = asString(props[k])
		}
		out = append(out, encoding.KV{Key: k, Value: v})
	}
	return out
}
