package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/batonmq/baton/internal/httpapi/mgmt"
)

const ruleUsage = `usage: baton rule <add|list|show|delete> [arguments]

  add TOPIC SUB RULE [flags]   add a rule to a subscription (--replace: replace it)
  list TOPIC SUB               list a subscription's rules
  show TOPIC SUB RULE          show one rule
  delete TOPIC SUB RULE        remove a rule

A message reaches a subscription when at least one of its rules matches.
Run 'baton rule <subcommand> -h' for the flags of each.`

// runRule is `baton rule`.
func runRule(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return dispatch(ctx, "rule", ruleUsage, []verb{
		{[]string{"add", "create"}, ruleAdd},
		{[]string{"list", "ls"}, ruleList},
		{[]string{"show", "get"}, ruleShow},
		{[]string{"delete", "rm", "remove"}, ruleDelete},
	}, args, stdout)
}

// typedFlag collects repeated key=value flags whose values are typed (see
// parseTyped).
type typedFlag struct {
	m     map[string]any
	infer bool // plain values that look like numbers or booleans are
}

func newTypedFlag(infer bool) *typedFlag { return &typedFlag{m: map[string]any{}, infer: infer} }

func (p *typedFlag) String() string { return "" }

func (p *typedFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q is not key=value", s)
	}
	val, err := parseTyped(v, p.infer)
	if err != nil {
		return fmt.Errorf("%s: %w", k, err)
	}
	p.m[k] = val
	return nil
}

// typeNames are the prefixes of TYPE:VALUE.
var typeNames = map[string]bool{"string": true, "long": true, "int": true, "double": true, "float": true,
	"bool": true, "datetime": true, "timespan": true, "duration": true}

// parseTyped reads a flag value: TYPE:VALUE (string, long, double, bool,
// datetime, timespan) is that type; otherwise, with infer, a whole number
// is a long, a decimal a double, true/false a bool, and anything else a
// string; without infer, a string.
func parseTyped(v string, infer bool) (any, error) {
	if typ, rest, ok := strings.Cut(v, ":"); ok && typeNames[strings.ToLower(typ)] {
		return mgmt.ParseTypedValue(typ, rest)
	}
	if !infer {
		return v, nil
	}
	if i, err := strconv.ParseInt(v, 10, 64); err == nil {
		return i, nil
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && strings.ContainsAny(v, ".eE") && !strings.ContainsAny(v, "nN") {
		return f, nil
	}
	if v == "true" || v == "false" {
		return v == "true", nil
	}
	return v, nil
}

// wireValues gives doubles, datetimes and timespans the API's typed form
// (a plain 2.0 would be read back as a long).
func wireValues(m map[string]any) map[string]any {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch x := v.(type) {
		case float64:
			out[k] = mgmt.TypedValue{Type: "double", Value: strconv.FormatFloat(x, 'g', -1, 64)}
		case time.Time:
			out[k] = mgmt.TypedValue{Type: "datetime", Value: x.Format(time.RFC3339Nano)}
		case time.Duration:
			out[k] = mgmt.TypedValue{Type: "timespan", Value: mgmt.Duration(x).String()}
		default:
			out[k] = v
		}
	}
	return out
}

// ruleFlags are the flags that describe a rule's filter and action, shared
// by `rule add` and `sub create` (its default rule).
type ruleFlags struct {
	sql                                                 string
	params                                              *typedFlag
	action                                              string
	actionParams                                        *typedFlag
	isTrue, isFalse                                     bool
	corrID, corrMsgID, corrTo, corrReplyTo, corrSubject string
	corrSession, corrReplyToSession, corrContentType    string
	corrProps                                           *typedFlag
}

func (rf *ruleFlags) register(fs *flag.FlagSet) {
	rf.params, rf.actionParams, rf.corrProps = newTypedFlag(true), newTypedFlag(true), newTypedFlag(true)
	fs.StringVar(&rf.sql, "sql", "", "SQL filter `expression`, e.g. \"color = 'red' AND qty > @min\"")
	fs.Var(rf.params, "param", "SQL filter parameter `name=value` (repeatable; typed: 10 is a long, 1.5 a double, true a bool; TYPE:VALUE with string, long, double, bool, datetime, timespan)")
	fs.StringVar(&rf.action, "action", "", "SQL rule action `statements`, e.g. \"SET sys.Label = 'big'; REMOVE secret\"")
	fs.Var(rf.actionParams, "action-param", "action parameter `name=value` (repeatable; typed as --param)")
	fs.BoolVar(&rf.isTrue, "true", false, "a TrueFilter: every message")
	fs.BoolVar(&rf.isFalse, "false", false, "a FalseFilter: no message")
	fs.StringVar(&rf.corrID, "correlation-id", "", "correlation filter: the CorrelationId `value`")
	fs.StringVar(&rf.corrMsgID, "correlation-message-id", "", "correlation filter: the MessageId `value`")
	fs.StringVar(&rf.corrTo, "correlation-to", "", "correlation filter: the To `value`")
	fs.StringVar(&rf.corrReplyTo, "correlation-reply-to", "", "correlation filter: the ReplyTo `value`")
	fs.StringVar(&rf.corrSubject, "correlation-subject", "", "correlation filter: the Subject (Label) `value`")
	fs.StringVar(&rf.corrSession, "correlation-session-id", "", "correlation filter: the SessionId `value`")
	fs.StringVar(&rf.corrReplyToSession, "correlation-reply-to-session-id", "", "correlation filter: the ReplyToSessionId `value`")
	fs.StringVar(&rf.corrContentType, "correlation-content-type", "", "correlation filter: the ContentType `value`")
	fs.Var(rf.corrProps, "correlation-property", "correlation filter: application property `name=value` (repeatable; typed as --param)")
}

// rule builds the rule the flags describe; given is false when no filter
// flag was set (and no action).
func (rf *ruleFlags) rule(name string) (r *mgmt.Rule, given bool, err error) {
	corr := mgmt.RuleFilter{Type: mgmt.FilterCorrelation, CorrelationID: rf.corrID, MessageID: rf.corrMsgID, To: rf.corrTo,
		ReplyTo: rf.corrReplyTo, Subject: rf.corrSubject, SessionID: rf.corrSession, ReplyToSessionID: rf.corrReplyToSession,
		ContentType: rf.corrContentType, Properties: wireValues(rf.corrProps.m)}
	isCorr := corr.CorrelationID != "" || corr.MessageID != "" || corr.To != "" || corr.ReplyTo != "" || corr.Subject != "" ||
		corr.SessionID != "" || corr.ReplyToSessionID != "" || corr.ContentType != "" || len(corr.Properties) > 0
	kinds := 0
	for _, b := range []bool{rf.sql != "", isCorr, rf.isTrue, rf.isFalse} {
		if b {
			kinds++
		}
	}
	if kinds > 1 {
		return nil, false, &usageError{"give one filter: --sql, --correlation-*, --true or --false"}
	}
	if len(rf.params.m) > 0 && rf.sql == "" {
		return nil, false, &usageError{"--param goes with --sql"}
	}
	if len(rf.actionParams.m) > 0 && rf.action == "" {
		return nil, false, &usageError{"--action-param goes with --action"}
	}
	r = &mgmt.Rule{Name: name}
	switch {
	case rf.sql != "":
		r.Filter = mgmt.RuleFilter{Type: mgmt.FilterSQL, SQLExpression: rf.sql, Parameters: wireValues(rf.params.m)}
	case isCorr:
		r.Filter = corr
	case rf.isFalse:
		r.Filter = mgmt.RuleFilter{Type: mgmt.FilterFalse}
	default:
		r.Filter = mgmt.RuleFilter{Type: mgmt.FilterTrue}
	}
	if rf.action != "" {
		r.Action = &mgmt.RuleAction{SQLExpression: rf.action, Parameters: wireValues(rf.actionParams.m)}
	}
	return r, kinds > 0 || rf.action != "", nil
}

func ruleAdd(ctx context.Context, args []string, stdout io.Writer) error {
	cf := newClientFlags("rule add", "rule add TOPIC SUB RULE (--sql EXPR | --correlation-* ... | --true | --false) [--action SQL] [flags]",
		"Add a rule to subscription SUB of TOPIC. A filter or action that does not compile is refused,\n"+
			"naming the line, column and token. Without a filter flag the rule is a TrueFilter.")
	var rf ruleFlags
	rf.register(cf.fs)
	replace := cf.fs.Bool("replace", false, "replace the existing rule of that name instead of adding one")
	pos, err := cf.parse(args, stdout, 3, 3)
	if err != nil {
		return helpOK(err)
	}
	r, _, err := rf.rule(pos[2])
	if err != nil {
		return err
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	got, err := c.AddRule(ctx, pos[0], pos[1], *r, *replace)
	if err != nil {
		return explain(err)
	}
	verb := "added"
	if *replace {
		verb = "replaced"
	}
	fmt.Fprintf(stdout, "%s rule %q of subscription %q of topic %q: %s\n", verb, got.Name, pos[1], pos[0], describeRule(got))
	return nil
}

func ruleList(ctx context.Context, args []string, stdout io.Writer) error {
	cf := newClientFlags("rule list", "rule list TOPIC SUB [--json]", "List the rules of subscription SUB of TOPIC, in the order they were added.")
	return queryCommand(ctx, args, stdout, cf, 2, "print the rules as JSON",
		func(c *mgmt.Client, pos []string) ([]*mgmt.Rule, error) { return c.ListRules(ctx, pos[0], pos[1]) },
		func(c *mgmt.Client, rules []*mgmt.Rule, pos []string) error {
			return printRules(stdout, rules, pos[0], pos[1])
		})
}

// printRules prints rules as a table.
func printRules(w io.Writer, rules []*mgmt.Rule, topic, sub string) error {
	if len(rules) == 0 {
		fmt.Fprintf(w, "no rules: subscription %q of topic %q receives nothing; add one with: baton rule add %s %s NAME --sql ...\n", sub, topic, topic, sub)
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tFILTER\tACTION")
	for _, r := range rules {
		action := "-"
		if r.Action != nil {
			action = r.Action.SQLExpression
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, describeFilter(&r.Filter), action)
	}
	return tw.Flush()
}

// describeFilter renders a filter on one line.
func describeFilter(f *mgmt.RuleFilter) string {
	switch f.Type {
	case mgmt.FilterSQL:
		s := f.SQLExpression
		if len(f.Parameters) > 0 {
			s += " [" + mgmt.FormatValues(f.Parameters) + "]"
		}
		return s
	case mgmt.FilterCorrelation:
		var parts []string
		for _, x := range []struct{ k, v string }{
			{"CorrelationId", f.CorrelationID}, {"MessageId", f.MessageID}, {"To", f.To}, {"ReplyTo", f.ReplyTo},
			{"Subject", f.Subject}, {"SessionId", f.SessionID}, {"ReplyToSessionId", f.ReplyToSessionID}, {"ContentType", f.ContentType},
		} {
			if x.v != "" {
				parts = append(parts, fmt.Sprintf("sys.%s=%q", x.k, x.v))
			}
		}
		if len(f.Properties) > 0 {
			parts = append(parts, mgmt.FormatValues(f.Properties))
		}
		return "correlation: " + strings.Join(parts, ", ")
	}
	return f.Type
}

// describeRule renders a rule's filter and action on one line.
func describeRule(r *mgmt.Rule) string {
	s := describeFilter(&r.Filter)
	if r.Action != nil {
		s += "; action: " + r.Action.SQLExpression
		if len(r.Action.Parameters) > 0 {
			s += " [" + mgmt.FormatValues(r.Action.Parameters) + "]"
		}
	}
	return s
}

func ruleShow(ctx context.Context, args []string, stdout io.Writer) error {
	cf := newClientFlags("rule show", "rule show TOPIC SUB RULE [--json]", "Show one rule of subscription SUB of TOPIC.")
	return queryCommand(ctx, args, stdout, cf, 3, "print the rule as JSON",
		func(c *mgmt.Client, pos []string) (*mgmt.Rule, error) { return c.GetRule(ctx, pos[0], pos[1], pos[2]) },
		func(c *mgmt.Client, r *mgmt.Rule, pos []string) error {
			tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintf(tw, "name\t%s\n", r.Name)
			fmt.Fprintf(tw, "filter\t%s\n", r.Filter.Type)
			switch r.Filter.Type {
			case mgmt.FilterSQL:
				fmt.Fprintf(tw, "sqlExpression\t%s\n", r.Filter.SQLExpression)
				if len(r.Filter.Parameters) > 0 {
					fmt.Fprintf(tw, "parameters\t%s\n", mgmt.FormatValues(r.Filter.Parameters))
				}
			case mgmt.FilterCorrelation:
				fmt.Fprintf(tw, "conditions\t%s\n", strings.TrimPrefix(describeFilter(&r.Filter), "correlation: "))
			}
			if r.Action != nil {
				fmt.Fprintf(tw, "action\t%s\n", r.Action.SQLExpression)
				if len(r.Action.Parameters) > 0 {
					fmt.Fprintf(tw, "actionParameters\t%s\n", mgmt.FormatValues(r.Action.Parameters))
				}
			}
			if r.CreatedAt != nil {
				fmt.Fprintf(tw, "createdAt\t%s\n", r.CreatedAt.Format(timeLayout))
			}
			return tw.Flush()
		})
}

func ruleDelete(ctx context.Context, args []string, stdout io.Writer) error {
	cf := newClientFlags("rule delete", "rule delete TOPIC SUB RULE", "Remove a rule from subscription SUB of TOPIC.")
	pos, err := cf.parse(args, stdout, 3, 3)
	if err != nil {
		return helpOK(err)
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	if err := c.DeleteRule(ctx, pos[0], pos[1], pos[2]); err != nil {
		return explain(err)
	}
	fmt.Fprintf(stdout, "deleted rule %q of subscription %q of topic %q\n", pos[2], pos[1], pos[0])
	return nil
}
