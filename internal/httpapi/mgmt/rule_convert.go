package mgmt

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/typedval"
)

// decodeRule decodes and converts a rule body; the fuzz test calls it.
func decodeRule(rd io.Reader, name string) (broker.Rule, error) {
	var in Rule
	if err := decodeJSON(rd, &in); err != nil {
		return broker.Rule{}, err
	}
	return in.toBroker(name)
}

// toBroker converts a rule from a request. name, when set, is the rule's
// name from the URL.
func (in *Rule) toBroker(name string) (broker.Rule, error) {
	var r broker.Rule
	switch {
	case name != "" && in.Name != "" && !strings.EqualFold(in.Name, name):
		return r, badRequest("the body names rule %q but the URL names %q", truncate(in.Name, 60), truncate(name, 60))
	case name != "":
		r.Name = name
	default:
		r.Name = in.Name
	}
	f, err := in.Filter.toBroker()
	if err != nil {
		return r, err
	}
	r.Filter = f
	if in.Action != nil {
		if strings.TrimSpace(in.Action.SQLExpression) == "" {
			if len(in.Action.Parameters) > 0 {
				return r, badRequest("action has parameters but no sqlExpression")
			}
		} else {
			r.Action = in.Action.SQLExpression
			if r.ActionParameters, err = typedValuesIn("action parameter", in.Action.Parameters); err != nil {
				return r, err
			}
		}
	}
	return r, nil
}

// filterKind reads a filter type as requests may spell it.
func filterKind(s string) (broker.FilterKind, error) {
	switch strings.ToLower(s) {
	case "sql", "sqlfilter":
		return broker.FilterSQL, nil
	case "correlation", "correlationfilter":
		return broker.FilterCorrelation, nil
	case "true", "truefilter":
		return broker.FilterTrue, nil
	case "false", "falsefilter":
		return broker.FilterFalse, nil
	case "":
		return 0, badRequest("filter.type is missing: use SqlFilter, CorrelationFilter, TrueFilter or FalseFilter")
	}
	return 0, badRequest("filter.type %q is not SqlFilter, CorrelationFilter, TrueFilter or FalseFilter", truncate(s, 40))
}

func (f *RuleFilter) toBroker() (broker.RuleFilter, error) {
	var out broker.RuleFilter
	kind, err := filterKind(f.Type)
	if err != nil {
		return out, err
	}
	out.Kind = kind
	corr := f.correlationFields()
	if kind != broker.FilterSQL && (f.SQLExpression != "" || len(f.Parameters) > 0) {
		return out, badRequest("filter.sqlExpression and filter.parameters belong to a SqlFilter, not a %s", kind)
	}
	if kind != broker.FilterCorrelation && (len(corr) > 0 || len(f.Properties) > 0) {
		return out, badRequest("filter.%s belongs to a CorrelationFilter, not a %s", corr[0], kind)
	}
	switch kind {
	case broker.FilterSQL:
		if strings.TrimSpace(f.SQLExpression) == "" {
			return out, badRequest("filter.sqlExpression is missing: a SqlFilter needs an expression such as \"color = 'red'\"")
		}
		out.SQL = f.SQLExpression
		if out.Parameters, err = typedValuesIn("filter parameter", f.Parameters); err != nil {
			return out, err
		}
	case broker.FilterCorrelation:
		if f.Subject != "" && f.Label != "" && f.Subject != f.Label {
			return out, badRequest("filter.subject and filter.label are the same field; give one")
		}
		c := &broker.CorrelationFilter{
			CorrelationID: f.CorrelationID, MessageID: f.MessageID, To: f.To, ReplyTo: f.ReplyTo,
			Subject: f.Subject, SessionID: f.SessionID, ReplyToSessionID: f.ReplyToSessionID, ContentType: f.ContentType,
		}
		if c.Subject == "" {
			c.Subject = f.Label
		}
		if c.Properties, err = typedValuesIn("filter property", f.Properties); err != nil {
			return out, err
		}
		if len(corr) == 0 && len(c.Properties) == 0 {
			return out, badRequest("a CorrelationFilter needs at least one condition: a system field (correlationId, subject, ...) or properties")
		}
		out.Correlation = c
	}
	return out, nil
}

// correlationFields returns the JSON names of the correlation system
// fields that are set.
func (f *RuleFilter) correlationFields() []string {
	var out []string
	for _, x := range []struct {
		name, v string
	}{
		{"correlationId", f.CorrelationID}, {"messageId", f.MessageID}, {"to", f.To}, {"replyTo", f.ReplyTo},
		{"subject", f.Subject}, {"label", f.Label}, {"sessionId", f.SessionID},
		{"replyToSessionId", f.ReplyToSessionID}, {"contentType", f.ContentType},
	} {
		if x.v != "" {
			out = append(out, x.name)
		}
	}
	if len(out) == 0 && len(f.Properties) > 0 {
		out = append(out, "properties")
	}
	return out
}

// typedValuesIn converts decoded parameter or property values: JSON
// scalars as propertiesIn does, and typed values.
func typedValuesIn(what string, in map[string]any) (map[string]any, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make(map[string]any, len(in))
	for k, v := range in {
		if k == "" {
			return nil, badRequest("%s with an empty name", what)
		}
		if m, ok := v.(map[string]any); ok {
			tv, err := typedValueIn(m)
			if err != nil {
				return nil, badRequest("%s %q: %s", what, truncate(k, 60), err.Error())
			}
			out[k] = tv
			continue
		}
		p, err := propertiesIn(map[string]any{k: v})
		if err != nil {
			return nil, badRequest("%s: %s", what, err.Error())
		}
		out[k] = p[k]
	}
	return out, nil
}

// typedValueIn reads {"type":..., "value":...}.
func typedValueIn(m map[string]any) (any, error) {
	for k := range m {
		if k != "type" && k != "value" {
			return nil, fmt.Errorf("a typed value has only \"type\" and \"value\", not %q", truncate(k, 40))
		}
	}
	t, _ := m["type"].(string)
	v, ok := m["value"]
	if !ok {
		return nil, fmt.Errorf("a typed value needs a \"value\"")
	}
	return ParseTypedValue(t, v)
}

// ParseTypedValue converts v (a string, a JSON number, a boolean) to the
// Service Bus type named typ (typedval.Parse, with this package's
// ParseDuration for timespans). The CLI's --param uses it too.
func ParseTypedValue(typ string, v any) (any, error) {
	return typedval.Parse(typ, v, ParseDuration)
}

// typedValuesOut makes parameter and property values JSON-safe and
// readable back as the same type.
func typedValuesOut(in map[string]any) map[string]any {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]any, len(in))
	for k, v := range in {
		switch x := v.(type) {
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) || x == math.Trunc(x) {
				out[k] = TypedValue{Type: "double", Value: strconv.FormatFloat(x, 'g', -1, 64)}
				continue
			}
			out[k] = x
		case float32:
			out[k] = TypedValue{Type: "double", Value: strconv.FormatFloat(float64(x), 'g', -1, 32)}
		case time.Time:
			out[k] = TypedValue{Type: "datetime", Value: x.UTC().Format(time.RFC3339Nano)}
		case time.Duration:
			out[k] = TypedValue{Type: "timespan", Value: Duration(x).String()}
		case nil, bool, string, int64:
			out[k] = x
		case int, int8, int16, int32, uint8, uint16, uint32:
			out[k] = x
		case uint64:
			if x > math.MaxInt64 {
				out[k] = TypedValue{Type: "double", Value: strconv.FormatUint(x, 10)}
				continue
			}
			out[k] = x
		default:
			out[k] = fmt.Sprint(x)
		}
	}
	return out
}

// ruleOf converts a broker rule for the API.
func ruleOf(r *broker.Rule) *Rule {
	out := &Rule{Name: r.Name}
	if !r.CreatedAt.IsZero() {
		t := r.CreatedAt
		out.CreatedAt = &t
	}
	f := &out.Filter
	f.Type = r.Filter.Kind.String()
	switch r.Filter.Kind {
	case broker.FilterSQL:
		f.SQLExpression = r.Filter.SQL
		f.Parameters = typedValuesOut(r.Filter.Parameters)
	case broker.FilterCorrelation:
		if c := r.Filter.Correlation; c != nil {
			f.CorrelationID, f.MessageID, f.To, f.ReplyTo = c.CorrelationID, c.MessageID, c.To, c.ReplyTo
			f.Subject, f.SessionID, f.ReplyToSessionID, f.ContentType = c.Subject, c.SessionID, c.ReplyToSessionID, c.ContentType
			f.Properties = typedValuesOut(c.Properties)
		}
	}
	if r.Action != "" {
		out.Action = &RuleAction{SQLExpression: r.Action, Parameters: typedValuesOut(r.ActionParameters)}
	}
	return out
}

// FormatValue renders a parameter or property value for people: strings
// quoted, typed values as type:value.
func FormatValue(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case nil:
		return "null"
	case TypedValue:
		return fmt.Sprintf("%s:%v", x.Type, x.Value)
	case map[string]any: // a TypedValue decoded generically
		return fmt.Sprintf("%v:%v", x["type"], x["value"])
	}
	return fmt.Sprint(v)
}

// FormatValues renders a map of values sorted by key: k=v, k=v.
func FormatValues(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + FormatValue(m[k])
	}
	return strings.Join(parts, ", ")
}
