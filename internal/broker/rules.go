package broker

import (
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/batonmq/baton/internal/filter"
)

// DefaultRuleName is the rule every new subscription gets unless told
// otherwise: a TrueFilter with no action.
const DefaultRuleName = "$Default"

// FilterKind is the kind of a rule's filter.
type FilterKind uint8

// Filter kinds.
const (
	FilterTrue FilterKind = iota + 1
	FilterFalse
	FilterSQL
	FilterCorrelation
)

func (k FilterKind) String() string {
	switch k {
	case FilterTrue:
		return "TrueFilter"
	case FilterFalse:
		return "FalseFilter"
	case FilterSQL:
		return "SqlFilter"
	case FilterCorrelation:
		return "CorrelationFilter"
	}
	return fmt.Sprintf("FilterKind(%d)", uint8(k))
}

// CorrelationFilter matches system properties and application properties
// exactly. Empty strings are not conditions.
type CorrelationFilter struct {
	CorrelationID    string
	MessageID        string
	To               string
	ReplyTo          string
	Subject          string
	SessionID        string
	ReplyToSessionID string
	ContentType      string
	Properties       map[string]any
}

// RuleFilter is a rule's filter. Parameters (SQL only) supply @name values.
type RuleFilter struct {
	Kind        FilterKind
	SQL         string
	Parameters  map[string]any
	Correlation *CorrelationFilter
}

// Rule is a subscription rule: a filter and an optional SQL action.
type Rule struct {
	Name             string
	Filter           RuleFilter
	Action           string         // SQL rule action; empty: none
	ActionParameters map[string]any // @name values for the action
	CreatedAt        time.Time
}

// TrueRule returns the rule named name with a TrueFilter and no action.
func TrueRule(name string) Rule {
	return Rule{Name: name, Filter: RuleFilter{Kind: FilterTrue}}
}

// compiledRule is a rule ready to evaluate.
type compiledRule struct {
	name   string
	match  filter.Matcher
	always bool // TrueFilter: no evaluation needed
	never  bool // FalseFilter
	action *filter.Action
	// eq is a condition the filter needs (indexed set): see ruleIndex.
	eq      filter.Equality
	indexed bool
}

// ValidateRuleName checks a rule name: 1–50 characters, no '/', '\', '?',
// '#', '@' or control characters.
func ValidateRuleName(name string) error {
	if name == "" || len(name) > 50 {
		return errorf(CodeInvalidArgument, "rule name %q must be 1 to 50 characters", name)
	}
	for _, r := range name {
		if r < 0x20 || r == '/' || r == '\\' || r == '?' || r == '#' || r == '@' {
			return errorf(CodeInvalidArgument, "rule name %q contains %q, which rule names may not", name, r)
		}
	}
	return nil
}

// compileRule checks a rule and compiles it. Errors are CodeInvalidArgument
// and name the position of SQL syntax errors.
func compileRule(r *Rule) (*compiledRule, error) {
	if err := ValidateRuleName(r.Name); err != nil {
		return nil, err
	}
	c := &compiledRule{name: r.Name}
	f := &r.Filter
	switch f.Kind {
	case FilterTrue:
		c.always = true
	case FilterFalse:
		c.never = true
	case FilterSQL:
		params, err := filterParams(f.Parameters)
		if err != nil {
			return nil, errorf(CodeInvalidArgument, "rule %q: SqlFilter parameter: %v", r.Name, err)
		}
		m, err := filter.CompileOptions(f.SQL, &filter.Options{Parameters: params})
		if err != nil {
			return nil, ruleSyntaxErr(r.Name, "SqlFilter", err)
		}
		c.match = m
		c.always, c.never = m.IsTrue(), m.IsFalse()
		c.eq, c.indexed = m.RequiredEquality()
	case FilterCorrelation:
		if f.Correlation == nil {
			return nil, errorf(CodeInvalidArgument, "rule %q: CorrelationFilter has no conditions", r.Name)
		}
		cf := f.Correlation
		props, err := filterValues(cf.Properties, false)
		if err != nil {
			return nil, errorf(CodeInvalidArgument, "rule %q: CorrelationFilter property: %v", r.Name, err)
		}
		corr := &filter.Correlation{
			CorrelationID: cf.CorrelationID, MessageID: cf.MessageID, To: cf.To, ReplyTo: cf.ReplyTo,
			Subject: cf.Subject, SessionID: cf.SessionID, ReplyToSessionID: cf.ReplyToSessionID,
			ContentType: cf.ContentType, Properties: props,
		}
		if err := corr.Validate(); err != nil {
			return nil, errorf(CodeInvalidArgument, "rule %q: CorrelationFilter has no conditions", r.Name)
		}
		c.match = corr
		c.eq, c.indexed = corr.RequiredEquality()
	default:
		return nil, errorf(CodeInvalidArgument, "rule %q: unknown filter kind %d", r.Name, f.Kind)
	}
	if r.Action != "" {
		params, err := filterParams(r.ActionParameters)
		if err != nil {
			return nil, errorf(CodeInvalidArgument, "rule %q: SqlRuleAction parameter: %v", r.Name, err)
		}
		a, err := filter.CompileActionOptions(r.Action, &filter.Options{Parameters: params})
		if err != nil {
			return nil, ruleSyntaxErr(r.Name, "SqlRuleAction", err)
		}
		c.action = a
	}
	return c, nil
}

func ruleSyntaxErr(rule, what string, err error) error {
	var se *filter.SyntaxError
	if errors.As(err, &se) {
		return &Error{Code: CodeInvalidArgument, Message: fmt.Sprintf("rule %q: %s: %s", rule, what, se.Error())}
	}
	return &Error{Code: CodeInvalidArgument, Message: fmt.Sprintf("rule %q: %s: %v", rule, what, err)}
}

// filterParams converts property values to filter values. Keys of SQL
// parameters keep their '@' (added when missing).
func filterParams(in map[string]any) (map[string]filter.Value, error) {
	return filterValues(in, true)
}

func filterValues(in map[string]any, params bool) (map[string]filter.Value, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make(map[string]filter.Value, len(in))
	for k, v := range in {
		fv, ok := FilterValue(v)
		if !ok {
			return nil, fmt.Errorf("%q has unsupported type %T", k, v)
		}
		out[k] = fv
		if err := validatePropertyValue(k, v); err != nil {
			return nil, err
		}
		if params && len(k) > 0 && k[0] != '@' {
			out["@"+k] = fv
		}
	}
	return out, nil
}

// FilterValue converts a message property value to a filter value. ok is
// false for types filters cannot see (binary, uuid), which are then absent.
func FilterValue(v any) (filter.Value, bool) {
	switch x := v.(type) {
	case nil:
		return filter.Null(), true
	case bool:
		return filter.Bool(x), true
	case string:
		return filter.String(x), true
	case int:
		return filter.Int(int64(x)), true
	case int8:
		return filter.Int(int64(x)), true
	case int16:
		return filter.Int(int64(x)), true
	case int32:
		return filter.Int(int64(x)), true
	case int64:
		return filter.Int(x), true
	case uint8:
		return filter.Int(int64(x)), true
	case uint16:
		return filter.Int(int64(x)), true
	case uint32:
		return filter.Int(int64(x)), true
	case uint64:
		if x > 1<<63-1 {
			return filter.Float(float64(x)), true
		}
		return filter.Int(int64(x)), true
	case float32:
		return filter.Float(float64(x)), true
	case float64:
		return filter.Float(x), true
	case time.Time:
		return filter.Time(x), true
	case time.Duration:
		return filter.Duration(x), true
	case LockToken:
		return filter.String(x.String()), true
	}
	return filter.Value{}, false
}

// propertyOf converts a filter value back to a property value.
func propertyOf(v filter.Value) any {
	switch v.Kind() {
	case filter.KindBool:
		b, _ := v.Bool()
		return b
	case filter.KindInt:
		i, _ := v.Int()
		return i
	case filter.KindFloat:
		f, _ := v.Float()
		return f
	case filter.KindString:
		s, _ := v.Str()
		return s
	case filter.KindTime:
		t, _ := v.Time()
		return t
	case filter.KindDuration:
		d, _ := v.Duration()
		return d.String()
	}
	return nil
}

// cloneRule returns a deep copy of r's maps (rules are handed out to
// callers that may keep them).
func cloneRule(r Rule) Rule {
	r.Filter.Parameters = maps.Clone(r.Filter.Parameters)
	if r.Filter.Correlation != nil {
		c := *r.Filter.Correlation
		c.Properties = maps.Clone(c.Properties)
		r.Filter.Correlation = &c
	}
	r.ActionParameters = maps.Clone(r.ActionParameters)
	return r
}
