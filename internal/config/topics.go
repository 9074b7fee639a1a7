package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/batonmq/baton/internal/filter"
	"github.com/batonmq/baton/internal/typedval"
)

// Topic declares a Service Bus topic with its subscriptions. Unset
// properties take Service Bus's defaults (for a topic read from an emulator
// Config.json, the emulator's defaults, already filled in).
type Topic struct {
	Name                                string         `json:"name"`
	DefaultMessageTimeToLive            Duration       `json:"defaultMessageTimeToLive,omitempty"`
	RequiresDuplicateDetection          bool           `json:"requiresDuplicateDetection,omitempty"`
	DuplicateDetectionHistoryTimeWindow Duration       `json:"duplicateDetectionHistoryTimeWindow,omitempty"`
	MaxSizeInMegabytes                  int64          `json:"maxSizeInMegabytes,omitempty"`
	MaxMessageSizeInKilobytes           int64          `json:"maxMessageSizeInKilobytes,omitempty"`
	AutoDeleteOnIdle                    Duration       `json:"autoDeleteOnIdle,omitempty"`
	SupportOrdering                     bool           `json:"supportOrdering,omitempty"`
	UserMetadata                        string         `json:"userMetadata,omitempty"`
	Subscriptions                       []Subscription `json:"subscriptions,omitempty"`
}

// Subscription declares a subscription. Without Rules it gets the $Default
// rule (a TrueFilter: every message); with Rules, exactly those.
type Subscription struct {
	Name                                      string   `json:"name"`
	LockDuration                              Duration `json:"lockDuration,omitempty"`
	MaxDeliveryCount                          int32    `json:"maxDeliveryCount,omitempty"`
	DefaultMessageTimeToLive                  Duration `json:"defaultMessageTimeToLive,omitempty"`
	DeadLetteringOnMessageExpiration          bool     `json:"deadLetteringOnMessageExpiration,omitempty"`
	DeadLetteringOnFilterEvaluationExceptions bool     `json:"deadLetteringOnFilterEvaluationExceptions,omitempty"`
	RequiresSession                           bool     `json:"requiresSession,omitempty"`
	AutoDeleteOnIdle                          Duration `json:"autoDeleteOnIdle,omitempty"`
	ForwardTo                                 string   `json:"forwardTo,omitempty"`
	ForwardDeadLetteredMessagesTo             string   `json:"forwardDeadLetteredMessagesTo,omitempty"`
	UserMetadata                              string   `json:"userMetadata,omitempty"`
	Rules                                     []Rule   `json:"rules,omitempty"`
}

// Rule is a subscription rule, in the JSON management API's shape: a filter
// and an optional SQL action.
type Rule struct {
	Name   string      `json:"name"`
	Filter RuleFilter  `json:"filter"`
	Action *RuleAction `json:"action,omitempty"`
}

// RuleFilter is a rule's filter. Type is "sql" (SqlFilter: SQLExpression
// and optional Parameters), "correlation" (CorrelationFilter: the system
// fields and Properties, at least one), "true" or "false". Values are JSON
// strings, numbers, booleans or null, or typed values
// {"type":"datetime","value":"2026-01-02T03:04:05Z"} (see ParseValue).
type RuleFilter struct {
	Type             string         `json:"type"`
	SQLExpression    string         `json:"sqlExpression,omitempty"`
	Parameters       map[string]any `json:"parameters,omitempty"`
	CorrelationID    string         `json:"correlationId,omitempty"`
	MessageID        string         `json:"messageId,omitempty"`
	To               string         `json:"to,omitempty"`
	ReplyTo          string         `json:"replyTo,omitempty"`
	Subject          string         `json:"subject,omitempty"`
	Label            string         `json:"label,omitempty"` // the emulator's and ATOM's name for Subject
	SessionID        string         `json:"sessionId,omitempty"`
	ReplyToSessionID string         `json:"replyToSessionId,omitempty"`
	ContentType      string         `json:"contentType,omitempty"`
	Properties       map[string]any `json:"properties,omitempty"`
}

// RuleAction is a rule's SQL action (SET, REMOVE).
type RuleAction struct {
	SQLExpression string         `json:"sqlExpression"`
	Parameters    map[string]any `json:"parameters,omitempty"`
}

// Filter types after Kind.
const (
	FilterSQL         = "sql"
	FilterCorrelation = "correlation"
	FilterTrue        = "true"
	FilterFalse       = "false"
)

// Kind returns the filter's type in lower case without the "Filter"
// suffix ("sql", "correlation", "true", "false"), or an error.
func (f *RuleFilter) Kind() (string, error) {
	k := strings.TrimSuffix(strings.ToLower(f.Type), "filter")
	switch k {
	case FilterSQL, FilterCorrelation, FilterTrue, FilterFalse:
		return k, nil
	case "":
		return "", errors.New("filter.type is missing: use sql, correlation, true or false")
	}
	return "", fmt.Errorf("filter.type %q is not sql, correlation, true or false (SqlFilter, CorrelationFilter, TrueFilter, FalseFilter)", f.Type)
}

// SubjectOrLabel returns the correlation Subject, given as subject or
// label.
func (f *RuleFilter) SubjectOrLabel() string {
	if f.Subject != "" {
		return f.Subject
	}
	return f.Label
}

// hasCorrelationFields reports whether any correlation condition is set.
func (f *RuleFilter) hasCorrelationFields() bool {
	return f.CorrelationID != "" || f.MessageID != "" || f.To != "" || f.ReplyTo != "" || f.Subject != "" ||
		f.Label != "" || f.SessionID != "" || f.ReplyToSessionID != "" || f.ContentType != "" || len(f.Properties) > 0
}

// Check checks the rule's shape and compiles its filter and action, so
// that a mistake is found before anything starts. Errors name the line,
// column, offset and token of SQL mistakes.
func (r *Rule) Check() error {
	if r.Name == "" || len(r.Name) > 50 {
		return fmt.Errorf("rule name %q must be 1 to 50 characters", r.Name)
	}
	if i := strings.IndexAny(r.Name, "/\\?#@"); i >= 0 {
		return fmt.Errorf("rule name %q contains %q, which rule names may not", r.Name, r.Name[i])
	}
	kind, err := r.Filter.Kind()
	if err != nil {
		return err
	}
	f := &r.Filter
	if kind != FilterSQL && (f.SQLExpression != "" || len(f.Parameters) > 0) {
		return fmt.Errorf("filter.sqlExpression and filter.parameters belong to a sql filter, not %s", kind)
	}
	if kind != FilterCorrelation && f.hasCorrelationFields() {
		return fmt.Errorf("correlation fields (correlationId, subject, properties, ...) belong to a correlation filter, not %s", kind)
	}
	switch kind {
	case FilterSQL:
		if strings.TrimSpace(f.SQLExpression) == "" {
			return errors.New("filter.sqlExpression is missing")
		}
		params, err := filterParams(f.Parameters)
		if err != nil {
			return fmt.Errorf("filter.parameters: %w", err)
		}
		if _, err := filter.CompileOptions(f.SQLExpression, &filter.Options{Parameters: params}); err != nil {
			return fmt.Errorf("SqlFilter: %w", err)
		}
	case FilterCorrelation:
		if !f.hasCorrelationFields() {
			return errors.New("a correlation filter needs at least one condition (correlationId, subject, properties, ...)")
		}
		if f.Subject != "" && f.Label != "" && f.Subject != f.Label {
			return errors.New("filter.subject and filter.label are the same field; give one")
		}
		if _, err := ResolveValues(f.Properties); err != nil {
			return fmt.Errorf("filter.properties: %w", err)
		}
	}
	if a := r.Action; a != nil {
		if strings.TrimSpace(a.SQLExpression) == "" {
			return errors.New("action.sqlExpression is empty; leave the action out or give one")
		}
		params, err := filterParams(a.Parameters)
		if err != nil {
			return fmt.Errorf("action.parameters: %w", err)
		}
		if _, err := filter.CompileActionOptions(a.SQLExpression, &filter.Options{Parameters: params}); err != nil {
			return fmt.Errorf("SqlRuleAction: %w", err)
		}
	}
	return nil
}

// filterParams resolves parameter values as the broker will see them:
// names with and without their '@'.
func filterParams(in map[string]any) (map[string]filter.Value, error) {
	vals, err := ResolveValues(in)
	if err != nil || len(vals) == 0 {
		return nil, err
	}
	out := make(map[string]filter.Value, 2*len(vals))
	for k, v := range vals {
		var fv filter.Value
		switch x := v.(type) {
		case nil:
			fv = filter.Null()
		case bool:
			fv = filter.Bool(x)
		case string:
			fv = filter.String(x)
		case int64:
			fv = filter.Int(x)
		case float64:
			fv = filter.Float(x)
		case time.Time:
			fv = filter.Time(x)
		case time.Duration:
			fv = filter.Duration(x)
		}
		out[k] = fv
		if !strings.HasPrefix(k, "@") {
			out["@"+k] = fv
		}
	}
	return out, nil
}

// ResolveValues converts parameter or property values from JSON (see
// jsonValue) to Go values: string, bool, nil, int64, float64, time.Time,
// time.Duration.
func ResolveValues(in map[string]any) (map[string]any, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make(map[string]any, len(in))
	for k, v := range in {
		if k == "" {
			return nil, errors.New("a value has an empty name")
		}
		x, err := jsonValue(v)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", k, err)
		}
		out[k] = x
	}
	return out, nil
}

// jsonValue converts one decoded JSON value: strings, booleans and null as
// they are, integers to int64, other numbers to float64, and typed values
// {"type": T, "value": V} with ParseValue. Values already converted pass
// through.
func jsonValue(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, string, int64, time.Time, time.Duration:
		return x, nil
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return nil, errors.New("number out of range")
		}
		return x, nil
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, nil
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, fmt.Errorf("number %s is out of range", x)
		}
		return f, nil
	case map[string]any:
		for k := range x {
			if k != "type" && k != "value" {
				return nil, fmt.Errorf("a typed value has only \"type\" and \"value\", not %q", k)
			}
		}
		t, _ := x["type"].(string)
		val, ok := x["value"]
		if !ok {
			return nil, errors.New("a typed value needs a \"value\"")
		}
		return ParseValue(t, val)
	}
	return nil, fmt.Errorf("must be a string, number, boolean, null or {\"type\":...,\"value\":...}, not %s", jsonKind(v))
}

// ParseValue converts v to the Service Bus type typ (typedval.Parse, with
// this package's ParseDuration for timespans).
func ParseValue(typ string, v any) (any, error) {
	return typedval.Parse(typ, v, ParseDuration)
}

// validateTopics checks the topics section: names, duplicates (queues and
// topics share one namespace), and every rule (Rule.Check).
func validateTopics(topics []Topic, queues map[string]bool) []error {
	var errs []error
	for i, t := range topics {
		tp := fmt.Sprintf("topics[%d]", i)
		if t.Name == "" {
			errs = append(errs, fmt.Errorf("%s has no name", tp))
		} else {
			tp = fmt.Sprintf("topic %q", t.Name)
			key := strings.ToLower(t.Name)
			if strings.Contains(key, "/subscriptions/") {
				errs = append(errs, fmt.Errorf("%s: a topic name may not contain /Subscriptions/", tp))
			}
			if queues[key] {
				errs = append(errs, fmt.Errorf("%s: the name is declared twice (queues and topics share one namespace)", tp))
			}
			queues[key] = true
		}
		subs := map[string]bool{}
		for j, s := range t.Subscriptions {
			sp := fmt.Sprintf("%s, subscriptions[%d]", tp, j)
			if s.Name == "" {
				errs = append(errs, fmt.Errorf("%s has no name", sp))
			} else {
				sp = fmt.Sprintf("%s, subscription %q", tp, s.Name)
				if len(s.Name) > 50 || strings.Contains(s.Name, "/") {
					errs = append(errs, fmt.Errorf("%s: a subscription name has 1 to 50 characters and no '/'", sp))
				}
				if subs[strings.ToLower(s.Name)] {
					errs = append(errs, fmt.Errorf("%s is declared twice", sp))
				}
				subs[strings.ToLower(s.Name)] = true
			}
			rules := map[string]bool{}
			for k, r := range s.Rules {
				rp := fmt.Sprintf("%s, rules[%d]", sp, k)
				if r.Name != "" {
					rp = fmt.Sprintf("%s, rule %q", sp, r.Name)
					if rules[strings.ToLower(r.Name)] {
						errs = append(errs, fmt.Errorf("%s is declared twice", rp))
					}
					rules[strings.ToLower(r.Name)] = true
				}
				if err := r.Check(); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", rp, err))
				}
			}
		}
	}
	return errs
}
