package sbadmin

import (
	"errors"
	"fmt"
	"strings"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/filter"
)

// ruleIn is a RuleDescription (or a subscription's DefaultRuleDescription)
// as a client sends it.
type ruleIn struct {
	Filter *filterIn `xml:"Filter"`
	Action *actionIn `xml:"Action"`
	Name   *string   `xml:"Name"`
}

// filterIn is a rule's Filter. Its kind is the i:type attribute, read by
// local name whatever the prefix (Go writes a generated prefix, JS p4, .NET
// i). SQL filters use SqlExpression and Parameters; correlation filters the
// other elements.
type filterIn struct {
	Type               string  `xml:"type,attr"`
	SQLExpression      *string `xml:"SqlExpression"`
	CompatibilityLevel *string `xml:"CompatibilityLevel"`
	Parameters         *kvList `xml:"Parameters"`
	CorrelationID      *string `xml:"CorrelationId"`
	MessageID          *string `xml:"MessageId"`
	To                 *string `xml:"To"`
	ReplyTo            *string `xml:"ReplyTo"`
	Label              *string `xml:"Label"`
	SessionID          *string `xml:"SessionId"`
	ReplyToSessionID   *string `xml:"ReplyToSessionId"`
	ContentType        *string `xml:"ContentType"`
	Properties         *kvList `xml:"Properties"`
}

// actionIn is a rule's Action: EmptyRuleAction or SqlRuleAction.
type actionIn struct {
	Type          string  `xml:"type,attr"`
	SQLExpression *string `xml:"SqlExpression"`
	Parameters    *kvList `xml:"Parameters"`
}

// kvList is a list of KeyValueOfstringanyType: SQL parameters or a
// correlation filter's properties.
type kvList struct {
	Items []kvIn `xml:"KeyValueOfstringanyType"`
}

type kvIn struct {
	Key   *string  `xml:"Key"`
	Value *valueIn `xml:"Value"`
}

// valueIn is an XML Schema typed value: i:type="prefix:string" (or int,
// long, double, boolean, dateTime, ...), or i:nil="true".
type valueIn struct {
	Type string `xml:"type,attr"`
	Nil  string `xml:"nil,attr"`
	Text string `xml:",chardata"`
}

// localType strips a namespace prefix: "d6p1:string" is "string".
func localType(t string) string {
	t = strings.TrimSpace(t)
	if i := strings.LastIndexByte(t, ':'); i >= 0 {
		return t[i+1:]
	}
	return t
}

// toRule turns a rule description into a broker rule named name (empty:
// the description's Name, then $Default). Errors wrap errBadRequest and
// name the element; the SQL itself is checked by the broker.
func (ri *ruleIn) toRule(name string) (broker.Rule, error) {
	var r broker.Rule
	r.Name = name
	if r.Name == "" && ri.Name != nil {
		r.Name = strings.TrimSpace(*ri.Name)
	}
	if r.Name == "" {
		r.Name = broker.DefaultRuleName
	}
	var errs []error
	f, err := ri.Filter.toFilter()
	if err != nil {
		errs = append(errs, err)
	}
	r.Filter = f
	if a := ri.Action; a != nil {
		switch t := localType(a.Type); t {
		case "", "EmptyRuleAction":
			if t == "" && a.SQLExpression != nil && strings.TrimSpace(*a.SQLExpression) != "" {
				r.Action = *a.SQLExpression
			}
		case "SqlRuleAction", "SqlFilterAction": // the second, from old Service Bus documentation
			if a.SQLExpression == nil || strings.TrimSpace(*a.SQLExpression) == "" {
				errs = append(errs, errors.New("Action: a SqlRuleAction needs a SqlExpression"))
			} else {
				r.Action = *a.SQLExpression
			}
		default:
			errs = append(errs, fmt.Errorf("Action: i:type %q is not EmptyRuleAction or SqlRuleAction", a.Type))
		}
		if r.Action != "" {
			ps, err := a.Parameters.values("Action/Parameters")
			if err != nil {
				errs = append(errs, err)
			}
			r.ActionParameters = ps
		}
	}
	if len(errs) > 0 {
		return r, fmt.Errorf("%w: rule %q: %w", errBadRequest, r.Name, errors.Join(errs...))
	}
	return r, nil
}

// toFilter reads a Filter; a missing one is a TrueFilter.
func (fi *filterIn) toFilter() (broker.RuleFilter, error) {
	if fi == nil {
		return broker.RuleFilter{Kind: broker.FilterTrue}, nil
	}
	t := localType(fi.Type)
	if t == "" {
		// No i:type: say what the elements say.
		switch {
		case fi.SQLExpression != nil:
			t = "SqlFilter"
		case fi.hasCorrelation():
			t = "CorrelationFilter"
		default:
			return broker.RuleFilter{}, errors.New("Filter: no i:type and neither a SqlExpression nor a correlation condition")
		}
	}
	switch t {
	case "TrueFilter":
		return broker.RuleFilter{Kind: broker.FilterTrue}, nil
	case "FalseFilter":
		return broker.RuleFilter{Kind: broker.FilterFalse}, nil
	case "SqlFilter":
		if fi.SQLExpression == nil || strings.TrimSpace(*fi.SQLExpression) == "" {
			return broker.RuleFilter{}, errors.New("Filter: a SqlFilter needs a SqlExpression")
		}
		ps, err := fi.Parameters.values("Filter/Parameters")
		if err != nil {
			return broker.RuleFilter{}, err
		}
		return broker.RuleFilter{Kind: broker.FilterSQL, SQL: *fi.SQLExpression, Parameters: ps}, nil
	case "CorrelationFilter":
		ps, err := fi.Properties.values("Filter/Properties")
		if err != nil {
			return broker.RuleFilter{}, err
		}
		s := func(p *string) string {
			if p == nil {
				return ""
			}
			return *p
		}
		return broker.RuleFilter{Kind: broker.FilterCorrelation, Correlation: &broker.CorrelationFilter{
			CorrelationID: s(fi.CorrelationID), MessageID: s(fi.MessageID), To: s(fi.To), ReplyTo: s(fi.ReplyTo),
			Subject: s(fi.Label), SessionID: s(fi.SessionID), ReplyToSessionID: s(fi.ReplyToSessionID),
			ContentType: s(fi.ContentType), Properties: ps,
		}}, nil
	}
	return broker.RuleFilter{}, fmt.Errorf("Filter: i:type %q is not SqlFilter, CorrelationFilter, TrueFilter or FalseFilter", fi.Type)
}

func (fi *filterIn) hasCorrelation() bool {
	for _, p := range []*string{fi.CorrelationID, fi.MessageID, fi.To, fi.ReplyTo, fi.Label, fi.SessionID, fi.ReplyToSessionID, fi.ContentType} {
		if p != nil {
			return true
		}
	}
	return fi.Properties != nil && len(fi.Properties.Items) > 0
}

// values converts a key-value list to the Go values the broker keeps:
// string, int64, float64, bool, time.Time (UTC) or nil.
func (l *kvList) values(where string) (map[string]any, error) {
	if l == nil || len(l.Items) == 0 {
		return nil, nil
	}
	out := make(map[string]any, len(l.Items))
	for i, kv := range l.Items {
		if kv.Key == nil || *kv.Key == "" {
			return nil, fmt.Errorf("%s: item %d has no Key", where, i)
		}
		k := *kv.Key
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("%s: key %q appears twice", where, k)
		}
		if kv.Value == nil {
			return nil, fmt.Errorf("%s[%s]: no Value", where, k)
		}
		v, err := kv.Value.goValue()
		if err != nil {
			return nil, fmt.Errorf("%s[%s]: %w", where, k, err)
		}
		out[k] = v
	}
	return out, nil
}

// goValue converts one typed value. A missing i:type is a string.
func (v *valueIn) goValue() (any, error) {
	switch strings.TrimSpace(v.Nil) {
	case "true", "1":
		return nil, nil
	}
	t := localType(v.Type)
	if t == "" {
		t = "string"
	}
	fv, err := filter.ParseXSD(t, v.Text)
	if err != nil {
		return nil, err
	}
	switch fv.Kind() {
	case filter.KindBool:
		b, _ := fv.Bool()
		return b, nil
	case filter.KindInt:
		i, _ := fv.Int()
		return i, nil
	case filter.KindFloat:
		f, _ := fv.Float()
		return f, nil
	case filter.KindString:
		s, _ := fv.Str()
		return s, nil
	case filter.KindTime:
		tm, _ := fv.Time()
		return tm.UTC(), nil
	}
	return nil, fmt.Errorf("type %q is not supported; use string, int, long, double, boolean or dateTime", t)
}
