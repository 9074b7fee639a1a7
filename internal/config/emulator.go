package config

// Microsoft's Service Bus emulator reads a Config.json (UserConfig →
// Namespaces → Queues and Topics → Subscriptions → Rules). Baton reads the
// same file unchanged: `baton serve --config Config.json` recognises it by
// its UserConfig key (IsEmulatorConfig).
//
// Differences from the emulator, on purpose:
//   - The file may carry // and /* */ comments and trailing commas (the
//     emulator's own sample has comments).
//   - Mistakes are errors that name the element by its path, for example
//     UserConfig.Namespaces[0].Topics[1].Subscriptions[0].Rules[2].Properties.FilterType.
//     The emulator drops a rule with an unknown FilterType without a word
//     (emulator issue #127); Baton refuses the file. Unknown keys are errors
//     too, so a typo never silently does nothing.
//   - The emulator's caps (one namespace named sbemulatorns, 50 entities,
//     TTL at most an hour, MaxDeliveryCount at most 10, ...) are not
//     enforced. Entities of every namespace go into Baton's one namespace.
//
// Absent properties take the emulator's defaults, so a file means what it
// meant there: MaxDeliveryCount 3, DefaultMessageTimeToLive PT1H,
// DuplicateDetectionHistoryTimeWindow PT20S, LockDuration PT1M.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Emulator defaults for properties a Config.json leaves out.
const (
	EmulatorDefaultMaxDeliveryCount   = 3
	EmulatorDefaultTimeToLive         = time.Hour
	EmulatorDefaultDuplicateDetection = 20 * time.Second
	EmulatorDefaultLockDuration       = time.Minute
	emulatorFilterSQL                 = "Sql"
	emulatorFilterCorrelation         = "Correlation"
	emulatorMaxNameLength             = 260
)

// Emulator is a parsed and validated emulator Config.json. Durations are
// resolved; properties the file left out hold the emulator's defaults.
type Emulator struct {
	Namespaces []EmulatorNamespace
	// Logging is the file's Logging.Type ("File", "Console", ...); Baton
	// logs through its own settings and keeps it only for reference.
	Logging string
}

// EmulatorNamespace is one namespace of the file.
type EmulatorNamespace struct {
	Name   string
	Queues []EmulatorQueue
	Topics []EmulatorTopic
}

// EmulatorQueue is a queue with every property the emulator knows.
type EmulatorQueue struct {
	Name                                string
	DeadLetteringOnMessageExpiration    bool
	DefaultMessageTimeToLive            time.Duration
	DuplicateDetectionHistoryTimeWindow time.Duration
	ForwardDeadLetteredMessagesTo       string
	ForwardTo                           string
	LockDuration                        time.Duration
	MaxDeliveryCount                    int32
	RequiresDuplicateDetection          bool
	RequiresSession                     bool
}

// EmulatorTopic declares a topic and its subscriptions.
type EmulatorTopic struct {
	Name                                string
	DefaultMessageTimeToLive            time.Duration
	DuplicateDetectionHistoryTimeWindow time.Duration
	RequiresDuplicateDetection          bool
	Subscriptions                       []EmulatorSubscription
}

// EmulatorSubscription declares a subscription and its rules. A subscription
// without rules receives every message (the $Default TrueFilter).
type EmulatorSubscription struct {
	Name                             string
	DeadLetteringOnMessageExpiration bool
	DefaultMessageTimeToLive         time.Duration
	LockDuration                     time.Duration
	MaxDeliveryCount                 int32
	ForwardDeadLetteredMessagesTo    string
	ForwardTo                        string
	RequiresSession                  bool
	Rules                            []EmulatorRule
}

// EmulatorRule is a subscription rule: exactly one of SQLFilter and
// CorrelationFilter, and an optional SQL action.
type EmulatorRule struct {
	Name              string
	SQLFilter         string                     // the SqlExpression of a Sql rule
	SQLParameters     map[string]any             // its Parameters (a Baton extension)
	CorrelationFilter *EmulatorCorrelationFilter // set for a Correlation rule
	Action            string                     // the action's SqlExpression; empty: none
	ActionParameters  map[string]any             // its Parameters (a Baton extension)
}

// EmulatorCorrelationFilter matches system properties by equality, and user
// properties in Properties. Label is the emulator's (and ATOM's) name for
// the message's Subject.
type EmulatorCorrelationFilter struct {
	ContentType      string
	CorrelationID    string
	Label            string
	MessageID        string
	ReplyTo          string
	ReplyToSessionID string
	SessionID        string
	To               string
	Properties       map[string]any // string, float64 or bool values
}

// IsEmulatorConfig reports whether data looks like an emulator Config.json:
// a JSON object (comments allowed) with a UserConfig key.
func IsEmulatorConfig(data []byte) bool {
	clean, err := StripJSONC(data)
	if err != nil {
		return false
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(clean, &top) != nil {
		return false
	}
	for k := range top {
		if strings.EqualFold(k, "UserConfig") {
			return true
		}
	}
	return false
}

// LoadEmulator parses and validates an emulator Config.json. Every problem
// found is reported, each with the path of its element.
func LoadEmulator(data []byte) (*Emulator, error) {
	clean, err := StripJSONC(data)
	if err != nil {
		return nil, fmt.Errorf("config: emulator Config.json: %w", err)
	}
	var root any
	dec := json.NewDecoder(bytes.NewReader(clean))
	dec.UseNumber()
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("config: emulator Config.json: %w", describeJSONError(clean, err))
	}
	if dec.More() {
		return nil, errors.New("config: emulator Config.json: trailing data after the JSON document")
	}
	v := &emuValidator{}
	e := v.root(root)
	if len(v.errs) > 0 {
		return nil, fmt.Errorf("config: emulator Config.json: %w", errors.Join(v.errs...))
	}
	return e, nil
}

// ConfigQueues converts the file's queues, from every namespace, to Baton
// queue declarations. Notes say what the conversion cannot carry, so the
// caller can log it instead of dropping it silently; today every property
// is carried, and notes is empty.
func (e *Emulator) ConfigQueues() (queues []Queue, notes []string) {
	for _, ns := range e.Namespaces {
		for _, q := range ns.Queues {
			queues = append(queues, Queue{
				Name:                                q.Name,
				LockDuration:                        Duration(q.LockDuration),
				MaxDeliveryCount:                    q.MaxDeliveryCount,
				DefaultMessageTimeToLive:            Duration(q.DefaultMessageTimeToLive),
				DeadLetteringOnMessageExpiration:    q.DeadLetteringOnMessageExpiration,
				RequiresDuplicateDetection:          q.RequiresDuplicateDetection,
				DuplicateDetectionHistoryTimeWindow: Duration(q.DuplicateDetectionHistoryTimeWindow),
				RequiresSession:                     q.RequiresSession,
				ForwardTo:                           q.ForwardTo,
				ForwardDeadLetteredMessagesTo:       q.ForwardDeadLetteredMessagesTo,
			})
		}
	}
	return queues, notes
}

// ConfigTopics converts the file's topics, from every namespace, to Baton
// topic declarations, keeping every rule: Sql filters with their
// parameters, Correlation filters with every field and property, and
// actions. A subscription without rules gets the $Default TrueFilter.
func (e *Emulator) ConfigTopics() []Topic {
	var out []Topic
	for _, t := range e.Topics() {
		ct := Topic{
			Name:                                t.Name,
			DefaultMessageTimeToLive:            Duration(t.DefaultMessageTimeToLive),
			RequiresDuplicateDetection:          t.RequiresDuplicateDetection,
			DuplicateDetectionHistoryTimeWindow: Duration(t.DuplicateDetectionHistoryTimeWindow),
		}
		for _, s := range t.Subscriptions {
			cs := Subscription{
				Name:                             s.Name,
				LockDuration:                     Duration(s.LockDuration),
				MaxDeliveryCount:                 s.MaxDeliveryCount,
				DefaultMessageTimeToLive:         Duration(s.DefaultMessageTimeToLive),
				DeadLetteringOnMessageExpiration: s.DeadLetteringOnMessageExpiration,
				RequiresSession:                  s.RequiresSession,
				ForwardTo:                        s.ForwardTo,
				ForwardDeadLetteredMessagesTo:    s.ForwardDeadLetteredMessagesTo,
			}
			for _, r := range s.Rules {
				cs.Rules = append(cs.Rules, r.config())
			}
			ct.Subscriptions = append(ct.Subscriptions, cs)
		}
		out = append(out, ct)
	}
	return out
}

// Topics returns the file's topics from every namespace.
func (e *Emulator) Topics() []EmulatorTopic {
	var out []EmulatorTopic
	for _, ns := range e.Namespaces {
		out = append(out, ns.Topics...)
	}
	return out
}

// config converts the rule to Baton's declaration.
func (r *EmulatorRule) config() Rule {
	cr := Rule{Name: r.Name}
	switch {
	case r.CorrelationFilter != nil:
		c := r.CorrelationFilter
		cr.Filter = RuleFilter{Type: FilterCorrelation, ContentType: c.ContentType, CorrelationID: c.CorrelationID,
			Subject: c.Label, MessageID: c.MessageID, ReplyTo: c.ReplyTo, ReplyToSessionID: c.ReplyToSessionID,
			SessionID: c.SessionID, To: c.To, Properties: c.Properties}
	default:
		cr.Filter = RuleFilter{Type: FilterSQL, SQLExpression: r.SQLFilter, Parameters: r.SQLParameters}
	}
	if r.Action != "" {
		cr.Action = &RuleAction{SQLExpression: r.Action, Parameters: r.ActionParameters}
	}
	return cr
}

// emuValidator walks the decoded document, collecting errors with paths.
type emuValidator struct {
	errs     []error
	entities map[string]string // case-folded queue/topic name → path of its first declaration
}

func (v *emuValidator) errorf(path, format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
}

// object checks that val is an object whose keys are among allowed (case
// insensitive, as the emulator reads them) and returns it keyed by the
// canonical spelling. Required keys that are missing are reported.
func (v *emuValidator) object(path string, val any, allowed, required []string) map[string]any {
	m, ok := val.(map[string]any)
	if !ok {
		v.errorf(path, "must be an object, not %s", jsonKind(val))
		return nil
	}
	out := make(map[string]any, len(m))
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		canon := ""
		for _, a := range allowed {
			if strings.EqualFold(k, a) {
				canon = a
				break
			}
		}
		if canon == "" {
			v.errorf(join(path, k), "unknown key (expected one of %s)", strings.Join(allowed, ", "))
			continue
		}
		if _, dup := out[canon]; dup {
			v.errorf(join(path, k), "given twice")
			continue
		}
		out[canon] = m[k]
	}
	for _, r := range required {
		if _, ok := out[r]; !ok {
			v.errorf(join(path, r), "missing")
		}
	}
	return out
}

func (v *emuValidator) array(path string, val any) []any {
	if val == nil {
		return nil
	}
	a, ok := val.([]any)
	if !ok {
		v.errorf(path, "must be an array, not %s", jsonKind(val))
	}
	return a
}

func (v *emuValidator) str(path string, val any) string {
	s, ok := val.(string)
	if !ok {
		v.errorf(path, "must be a string, not %s", jsonKind(val))
	}
	return s
}

func (v *emuValidator) boolean(path string, m map[string]any, key string, dst *bool) {
	val, ok := m[key]
	if !ok {
		return
	}
	b, ok := val.(bool)
	if !ok {
		v.errorf(join(path, key), "must be true or false, not %s", jsonKind(val))
		return
	}
	*dst = b
}

func (v *emuValidator) duration(path string, m map[string]any, key string, dst *time.Duration) {
	val, ok := m[key]
	if !ok {
		return
	}
	p := join(path, key)
	s, ok := val.(string)
	if !ok {
		v.errorf(p, "must be an ISO 8601 duration string like \"PT1M\", not %s", jsonKind(val))
		return
	}
	d, err := ParseDuration(s)
	if err != nil {
		v.errorf(p, "%v", err)
		return
	}
	if d <= 0 {
		v.errorf(p, "%q must be longer than zero", s)
		return
	}
	*dst = d
}

func (v *emuValidator) deliveryCount(path string, m map[string]any, dst *int32) {
	val, ok := m["MaxDeliveryCount"]
	if !ok {
		return
	}
	p := join(path, "MaxDeliveryCount")
	n, ok := val.(json.Number)
	if !ok {
		v.errorf(p, "must be a number, not %s", jsonKind(val))
		return
	}
	i, err := n.Int64()
	if err != nil || i < 1 || i > 1<<31-1 {
		v.errorf(p, "%s is not a whole number from 1 to 2147483647", n)
		return
	}
	*dst = int32(i)
}

// name reads and checks the Name of an element.
func (v *emuValidator) name(path string, m map[string]any) string {
	val, ok := m["Name"]
	if !ok {
		return ""
	}
	p := join(path, "Name")
	s := v.str(p, val)
	if msg := entityNameProblem(s); msg != "" {
		v.errorf(p, "%s", msg)
	}
	return s
}

// entityNameProblem checks a name against the emulator's pattern: letters,
// digits, '_', '-', '.', '/', starting and ending with a letter or digit.
// It returns what is wrong, or "".
func entityNameProblem(s string) string {
	if s == "" {
		return "is empty"
	}
	if len(s) > emulatorMaxNameLength {
		return fmt.Sprintf("%q is longer than %d characters", s, emulatorMaxNameLength)
	}
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !alnum(c) && c != '_' && c != '-' && c != '.' && c != '/' && c != '~' {
			return fmt.Sprintf("%q contains %q; names use letters, digits, '_', '-', '.', '~' and '/'", s, c)
		}
	}
	if !alnum(s[0]) || !alnum(s[len(s)-1]) {
		return fmt.Sprintf("%q must start and end with a letter or digit", s)
	}
	return ""
}

// forward reads ForwardTo or ForwardDeadLetteredMessagesTo: "" or an
// entity name.
func (v *emuValidator) forward(path string, m map[string]any, key string, dst *string) {
	val, ok := m[key]
	if !ok {
		return
	}
	p := join(path, key)
	*dst = v.str(p, val)
	if *dst != "" {
		if msg := entityNameProblem(*dst); msg != "" {
			v.errorf(p, "%s", msg)
		}
	}
}

func (v *emuValidator) claim(path, name string) {
	if name == "" {
		return
	}
	key := strings.ToLower(name)
	if first, dup := v.entities[key]; dup {
		v.errorf(path, "entity %q is already declared at %s", name, first)
		return
	}
	v.entities[key] = path
}

func (v *emuValidator) root(val any) *Emulator {
	v.entities = map[string]string{}
	e := &Emulator{}
	top := v.object("(document)", val, []string{"UserConfig"}, []string{"UserConfig"})
	if top == nil || top["UserConfig"] == nil {
		return e
	}
	uc := v.object("UserConfig", top["UserConfig"], []string{"Namespaces", "Logging"}, []string{"Namespaces"})
	if uc == nil {
		return e
	}
	if lg, ok := uc["Logging"]; ok {
		m := v.object("UserConfig.Logging", lg, []string{"Type"}, nil)
		if t, ok := m["Type"]; ok {
			e.Logging = v.str("UserConfig.Logging.Type", t)
			switch strings.ReplaceAll(e.Logging, " ", "") {
			case "File", "Console", "File,Console", "Console,File":
			default:
				v.errorf("UserConfig.Logging.Type", "%q is not one of File, Console, \"File,Console\"", e.Logging)
			}
		}
	}
	nss := v.array("UserConfig.Namespaces", uc["Namespaces"])
	if _, ok := uc["Namespaces"]; ok && len(nss) == 0 {
		v.errorf("UserConfig.Namespaces", "is empty; declare at least one namespace")
	}
	for i, nsv := range nss {
		e.Namespaces = append(e.Namespaces, v.namespace(fmt.Sprintf("UserConfig.Namespaces[%d]", i), nsv))
	}
	return e
}

func (v *emuValidator) namespace(path string, val any) EmulatorNamespace {
	var ns EmulatorNamespace
	m := v.object(path, val, []string{"Name", "Queues", "Topics"}, []string{"Name"})
	if m == nil {
		return ns
	}
	ns.Name = v.name(path, m)
	for i, qv := range v.array(join(path, "Queues"), m["Queues"]) {
		ns.Queues = append(ns.Queues, v.queue(fmt.Sprintf("%s.Queues[%d]", path, i), qv))
	}
	for i, tv := range v.array(join(path, "Topics"), m["Topics"]) {
		ns.Topics = append(ns.Topics, v.topic(fmt.Sprintf("%s.Topics[%d]", path, i), tv))
	}
	return ns
}

func (v *emuValidator) queue(path string, val any) EmulatorQueue {
	q := EmulatorQueue{
		DefaultMessageTimeToLive:            EmulatorDefaultTimeToLive,
		DuplicateDetectionHistoryTimeWindow: EmulatorDefaultDuplicateDetection,
		LockDuration:                        EmulatorDefaultLockDuration,
		MaxDeliveryCount:                    EmulatorDefaultMaxDeliveryCount,
	}
	m := v.object(path, val, []string{"Name", "Properties"}, []string{"Name"})
	if m == nil {
		return q
	}
	q.Name = v.name(path, m)
	v.claim(path, q.Name)
	if pv, ok := m["Properties"]; ok {
		pp := join(path, "Properties")
		p := v.object(pp, pv, []string{"DeadLetteringOnMessageExpiration", "DefaultMessageTimeToLive",
			"DuplicateDetectionHistoryTimeWindow", "ForwardDeadLetteredMessagesTo", "ForwardTo", "LockDuration",
			"MaxDeliveryCount", "RequiresDuplicateDetection", "RequiresSession"}, nil)
		v.boolean(pp, p, "DeadLetteringOnMessageExpiration", &q.DeadLetteringOnMessageExpiration)
		v.duration(pp, p, "DefaultMessageTimeToLive", &q.DefaultMessageTimeToLive)
		v.duration(pp, p, "DuplicateDetectionHistoryTimeWindow", &q.DuplicateDetectionHistoryTimeWindow)
		v.forward(pp, p, "ForwardDeadLetteredMessagesTo", &q.ForwardDeadLetteredMessagesTo)
		v.forward(pp, p, "ForwardTo", &q.ForwardTo)
		v.duration(pp, p, "LockDuration", &q.LockDuration)
		v.deliveryCount(pp, p, &q.MaxDeliveryCount)
		v.boolean(pp, p, "RequiresDuplicateDetection", &q.RequiresDuplicateDetection)
		v.boolean(pp, p, "RequiresSession", &q.RequiresSession)
	}
	return q
}

func (v *emuValidator) topic(path string, val any) EmulatorTopic {
	t := EmulatorTopic{
		DefaultMessageTimeToLive:            EmulatorDefaultTimeToLive,
		DuplicateDetectionHistoryTimeWindow: EmulatorDefaultDuplicateDetection,
	}
	m := v.object(path, val, []string{"Name", "Properties", "Subscriptions"}, []string{"Name"})
	if m == nil {
		return t
	}
	t.Name = v.name(path, m)
	v.claim(path, t.Name)
	if pv, ok := m["Properties"]; ok {
		pp := join(path, "Properties")
		p := v.object(pp, pv, []string{"DefaultMessageTimeToLive", "DuplicateDetectionHistoryTimeWindow", "RequiresDuplicateDetection"}, nil)
		v.duration(pp, p, "DefaultMessageTimeToLive", &t.DefaultMessageTimeToLive)
		v.duration(pp, p, "DuplicateDetectionHistoryTimeWindow", &t.DuplicateDetectionHistoryTimeWindow)
		v.boolean(pp, p, "RequiresDuplicateDetection", &t.RequiresDuplicateDetection)
	}
	seen := map[string]string{}
	for i, sv := range v.array(join(path, "Subscriptions"), m["Subscriptions"]) {
		sp := fmt.Sprintf("%s.Subscriptions[%d]", path, i)
		s := v.subscription(sp, sv)
		if first, dup := seen[strings.ToLower(s.Name)]; dup && s.Name != "" {
			v.errorf(sp, "subscription %q is already declared at %s", s.Name, first)
		}
		seen[strings.ToLower(s.Name)] = sp
		t.Subscriptions = append(t.Subscriptions, s)
	}
	return t
}

func (v *emuValidator) subscription(path string, val any) EmulatorSubscription {
	s := EmulatorSubscription{
		DefaultMessageTimeToLive: EmulatorDefaultTimeToLive,
		LockDuration:             EmulatorDefaultLockDuration,
		MaxDeliveryCount:         EmulatorDefaultMaxDeliveryCount,
	}
	m := v.object(path, val, []string{"Name", "Properties", "Rules"}, []string{"Name"})
	if m == nil {
		return s
	}
	s.Name = v.name(path, m)
	if pv, ok := m["Properties"]; ok {
		pp := join(path, "Properties")
		p := v.object(pp, pv, []string{"DeadLetteringOnMessageExpiration", "DefaultMessageTimeToLive", "LockDuration",
			"MaxDeliveryCount", "ForwardDeadLetteredMessagesTo", "ForwardTo", "RequiresSession"}, nil)
		v.boolean(pp, p, "DeadLetteringOnMessageExpiration", &s.DeadLetteringOnMessageExpiration)
		v.duration(pp, p, "DefaultMessageTimeToLive", &s.DefaultMessageTimeToLive)
		v.duration(pp, p, "LockDuration", &s.LockDuration)
		v.deliveryCount(pp, p, &s.MaxDeliveryCount)
		v.forward(pp, p, "ForwardDeadLetteredMessagesTo", &s.ForwardDeadLetteredMessagesTo)
		v.forward(pp, p, "ForwardTo", &s.ForwardTo)
		v.boolean(pp, p, "RequiresSession", &s.RequiresSession)
	}
	seen := map[string]string{}
	for i, rv := range v.array(join(path, "Rules"), m["Rules"]) {
		rp := fmt.Sprintf("%s.Rules[%d]", path, i)
		r := v.rule(rp, rv)
		if first, dup := seen[strings.ToLower(r.Name)]; dup && r.Name != "" {
			v.errorf(rp, "rule %q is already declared at %s", r.Name, first)
		}
		seen[strings.ToLower(r.Name)] = rp
		s.Rules = append(s.Rules, r)
	}
	return s
}

func (v *emuValidator) rule(path string, val any) EmulatorRule {
	var r EmulatorRule
	before := len(v.errs)
	m := v.object(path, val, []string{"Name", "Properties"}, []string{"Name", "Properties"})
	if m == nil {
		return r
	}
	if nv, ok := m["Name"]; ok {
		r.Name = v.str(join(path, "Name"), nv)
		if r.Name == "" {
			v.errorf(join(path, "Name"), "is empty")
		}
	}
	pv, ok := m["Properties"]
	if !ok {
		return r
	}
	pp := join(path, "Properties")
	p := v.object(pp, pv, []string{"FilterType", "SqlFilter", "CorrelationFilter", "Action"}, []string{"FilterType"})
	if p == nil {
		return r
	}
	ft := ""
	if fv, ok := p["FilterType"]; ok {
		ft = v.str(join(pp, "FilterType"), fv)
	}
	switch {
	case strings.EqualFold(ft, emulatorFilterSQL):
		if _, ok := p["CorrelationFilter"]; ok {
			v.errorf(join(pp, "CorrelationFilter"), "given for a rule whose FilterType is Sql")
		}
		sf, ok := p["SqlFilter"]
		if !ok {
			v.errorf(join(pp, "SqlFilter"), "missing; a Sql rule needs {\"SqlExpression\": \"...\"}")
			break
		}
		r.SQLFilter, r.SQLParameters = v.sqlExpression(join(pp, "SqlFilter"), sf)
	case strings.EqualFold(ft, emulatorFilterCorrelation):
		if _, ok := p["SqlFilter"]; ok {
			v.errorf(join(pp, "SqlFilter"), "given for a rule whose FilterType is Correlation")
		}
		cf, ok := p["CorrelationFilter"]
		if !ok {
			v.errorf(join(pp, "CorrelationFilter"), "missing; a Correlation rule needs at least one property to match")
			break
		}
		r.CorrelationFilter = v.correlation(join(pp, "CorrelationFilter"), cf)
	case ft != "":
		v.errorf(join(pp, "FilterType"), "%q is not a filter type; use \"Sql\" or \"Correlation\"", ft)
	}
	if av, ok := p["Action"]; ok {
		r.Action, r.ActionParameters = v.sqlExpression(join(pp, "Action"), av)
	}
	if len(v.errs) == before {
		// The shape is right: compile the filter and the action now, so
		// that a mistake names its place in the file and its position in
		// the expression.
		cr := r.config()
		if err := cr.Check(); err != nil {
			v.errorf(pp, "rule %q: %v", r.Name, err)
		}
	}
	return r
}

// sqlExpression reads {"SqlExpression": "...", "Parameters": {...}}.
// Parameters are not in the emulator's schema: Baton accepts them (the
// values of @name in the expression, as the SDKs' SqlRuleFilter has them).
func (v *emuValidator) sqlExpression(path string, val any) (string, map[string]any) {
	m := v.object(path, val, []string{"SqlExpression", "Parameters"}, []string{"SqlExpression"})
	ev, ok := m["SqlExpression"]
	if !ok {
		return "", nil
	}
	s := v.str(join(path, "SqlExpression"), ev)
	if strings.TrimSpace(s) == "" {
		v.errorf(join(path, "SqlExpression"), "is empty")
	}
	var params map[string]any
	if pv, ok := m["Parameters"]; ok {
		params = v.values(join(path, "Parameters"), pv)
	}
	return s, params
}

// values reads an object of parameter or property values: strings,
// numbers (integers are int64, others float64), booleans, or typed values
// {"type": "datetime", "value": "..."} (see ParseValue).
func (v *emuValidator) values(path string, val any) map[string]any {
	pm, ok := val.(map[string]any)
	if !ok {
		v.errorf(path, "must be an object of names and values, not %s", jsonKind(val))
		return nil
	}
	if len(pm) == 0 {
		v.errorf(path, "is empty; leave it out or give at least one value")
	}
	out := make(map[string]any, len(pm))
	for k, x := range pm {
		if k == "" {
			v.errorf(path, "has an empty name")
			continue
		}
		val, err := jsonValue(x)
		if err != nil {
			v.errorf(join(path, k), "%v", err)
			continue
		}
		out[k] = val
	}
	return out
}

func (v *emuValidator) correlation(path string, val any) *EmulatorCorrelationFilter {
	cf := &EmulatorCorrelationFilter{}
	m := v.object(path, val, []string{"ContentType", "CorrelationId", "Label", "MessageId", "ReplyTo",
		"ReplyToSessionId", "SessionId", "To", "Properties"}, nil)
	if m == nil {
		return cf
	}
	if len(m) == 0 {
		v.errorf(path, "is empty; give at least one property to match")
	}
	fields := map[string]*string{
		"ContentType": &cf.ContentType, "CorrelationId": &cf.CorrelationID, "Label": &cf.Label,
		"MessageId": &cf.MessageID, "ReplyTo": &cf.ReplyTo, "ReplyToSessionId": &cf.ReplyToSessionID,
		"SessionId": &cf.SessionID, "To": &cf.To,
	}
	for k, dst := range fields {
		if fv, ok := m[k]; ok {
			*dst = v.str(join(path, k), fv)
		}
	}
	if pv, ok := m["Properties"]; ok {
		cf.Properties = v.values(join(path, "Properties"), pv)
	}
	return cf
}

func join(path, key string) string { return path + "." + key }

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number, float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// StripJSONC turns JSON with comments (// to the end of the line, /* */)
// and trailing commas before } or ] into plain JSON. Comments become spaces
// so that offsets and line numbers stay where they were.
func StripJSONC(data []byte) ([]byte, error) {
	out := make([]byte, len(data))
	copy(out, data)
	inString := false
	for i := 0; i < len(out); i++ {
		c := out[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch {
		case c == '"':
			inString = true
		case c == '/' && i+1 < len(out) && out[i+1] == '/':
			for ; i < len(out) && out[i] != '\n'; i++ {
				out[i] = ' '
			}
		case c == '/' && i+1 < len(out) && out[i+1] == '*':
			start := i
			end := bytes.Index(out[i+2:], []byte("*/"))
			if end < 0 {
				line, col := position(data, start)
				return nil, fmt.Errorf("line %d column %d: a /* comment is not closed", line, col)
			}
			end += i + 4
			for ; i < end; i++ {
				if out[i] != '\n' && out[i] != '\r' {
					out[i] = ' '
				}
			}
			i--
		}
	}
	// Trailing commas: a ',' followed (after white space) by '}' or ']'.
	inString = false
	for i := 0; i < len(out); i++ {
		c := out[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		if c == '"' {
			inString = true
			continue
		}
		if c == ',' {
			j := i + 1
			for j < len(out) && (out[j] == ' ' || out[j] == '\t' || out[j] == '\n' || out[j] == '\r') {
				j++
			}
			if j < len(out) && (out[j] == '}' || out[j] == ']') {
				out[i] = ' '
			}
		}
	}
	return out, nil
}

// describeJSONError adds the line and column to a syntax error.
func describeJSONError(data []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := position(data, max(int(se.Offset)-1, 0))
		return fmt.Errorf("line %d column %d: %w", line, col, err)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("the document ends early (a bracket, brace or string is not closed): %w", err)
	}
	return err
}

func position(data []byte, off int) (line, col int) {
	if off > len(data) {
		off = len(data)
	}
	line = 1 + bytes.Count(data[:off], []byte("\n"))
	col = off - bytes.LastIndexByte(data[:off], '\n')
	return line, col
}
