package sbadmin

import (
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/filter"
	"github.com/batonmq/baton/internal/isodur"
)

// nsXSD is the XML Schema namespace of typed values (i:type="d6p1:string").
const nsXSD = "http://www.w3.org/2001/XMLSchema"

// topicStats is what a topic's description reports about its
// subscriptions.
type topicStats struct {
	counts      broker.Counts // summed over the subscriptions, per copy
	sqlFilters  int           // SqlFilter, TrueFilter and FalseFilter rules
	corrFilters int           // CorrelationFilter rules
}

// statsOf sums subs' counts and rules.
func statsOf(subs []*broker.EntityInfo) topicStats {
	var s topicStats
	for _, sub := range subs {
		c := sub.Counts
		s.counts.Active += c.Active
		s.counts.Scheduled += c.Scheduled
		s.counts.Deferred += c.Deferred
		s.counts.DeadLettered += c.DeadLettered
		s.counts.SizeBytes += c.SizeBytes
		for _, r := range sub.Rules {
			if r.Filter.Kind == broker.FilterCorrelation {
				s.corrFilters++
			} else {
				s.sqlFilters++
			}
		}
	}
	return s
}

// topicDescription writes a TopicDescription with every element Service Bus
// writes, in its order (as in a live api-version 2024-05 response; .NET
// clients care about order, Go and JS do not). SizeInBytes and CountDetails
// are summed over the subscriptions, each copy counted.
func (w *xmlWriter) topicDescription(info *broker.EntityInfo, st topicStats) {
	p := info.Properties
	w.WriteString(`<TopicDescription xmlns="` + nsSB + `" xmlns:i="` + nsInstance + `">`)
	w.elem("DefaultMessageTimeToLive", isodur.Format(p.DefaultMessageTimeToLive))
	w.intElem("MaxSizeInMegabytes", p.MaxSizeInMegabytes)
	w.boolElem("RequiresDuplicateDetection", p.RequiresDuplicateDetection)
	w.elem("DuplicateDetectionHistoryTimeWindow", isodur.Format(p.DuplicateDetectionHistoryTimeWindow))
	w.boolElem("EnableBatchedOperations", p.EnableBatchedOperations)
	w.intElem("SizeInBytes", st.counts.SizeBytes)
	w.boolElem("FilteringMessagesBeforePublishing", false)
	w.boolElem("IsAnonymousAccessible", false)
	w.WriteString("<AuthorizationRules/>")
	w.elem("Status", string(p.Status))
	w.elem("CreatedAt", formatTime(info.CreatedAt))
	w.elem("UpdatedAt", formatTime(info.UpdatedAt))
	w.elem("AccessedAt", formatTime(info.AccessedAt))
	w.boolElem("SupportOrdering", p.SupportOrdering)
	w.countDetails(st.counts)
	w.intElem("SubscriptionCount", int64(info.SubscriptionCount))
	w.elem("AutoDeleteOnIdle", isodur.Format(p.AutoDeleteOnIdle))
	w.boolElem("EnablePartitioning", p.EnablePartitioning)
	w.elem("EntityAvailabilityStatus", "Available")
	w.boolElem("EnableSubscriptionPartitioning", false)
	w.boolElem("EnableExpress", false)
	if p.UserMetadata != "" {
		w.elem("UserMetadata", p.UserMetadata)
	}
	w.intElem("MaxMessageSizeInKilobytes", p.MaxMessageSizeInKilobytes)
	w.intElem("SqlFilterCount", clamp32(int64(st.sqlFilters)))
	w.intElem("CorrelationFilterCount", clamp32(int64(st.corrFilters)))
	w.WriteString("</TopicDescription>")
}

// subscriptionDescription writes a SubscriptionDescription with every
// element Service Bus writes, in its order. MessageCount and the four
// counts the Go client dereferences are always present.
func (w *xmlWriter) subscriptionDescription(info *broker.EntityInfo) {
	p := info.Properties
	w.WriteString(`<SubscriptionDescription xmlns="` + nsSB + `" xmlns:i="` + nsInstance + `">`)
	w.elem("LockDuration", isodur.Format(p.LockDuration))
	w.boolElem("RequiresSession", p.RequiresSession)
	w.elem("DefaultMessageTimeToLive", isodur.Format(p.DefaultMessageTimeToLive))
	w.boolElem("DeadLetteringOnMessageExpiration", p.DeadLetteringOnMessageExpiration)
	w.boolElem("DeadLetteringOnFilterEvaluationExceptions", p.DeadLetteringOnFilterEvaluationExceptions)
	w.intElem("MessageCount", info.Total())
	w.intElem("MaxDeliveryCount", int64(p.MaxDeliveryCount))
	w.boolElem("EnableBatchedOperations", p.EnableBatchedOperations)
	w.elem("Status", string(p.Status))
	if p.ForwardTo != "" {
		w.elem("ForwardTo", p.ForwardTo)
	}
	w.elem("CreatedAt", formatTime(info.CreatedAt))
	w.elem("UpdatedAt", formatTime(info.UpdatedAt))
	w.elem("AccessedAt", formatTime(info.AccessedAt))
	w.countDetails(info.Counts)
	if p.UserMetadata != "" {
		w.elem("UserMetadata", p.UserMetadata)
	}
	if p.ForwardDeadLetteredMessagesTo != "" {
		w.elem("ForwardDeadLetteredMessagesTo", p.ForwardDeadLetteredMessagesTo)
	}
	w.elem("AutoDeleteOnIdle", isodur.Format(p.AutoDeleteOnIdle))
	w.elem("EntityAvailabilityStatus", "Available")
	w.WriteString("</SubscriptionDescription>")
}

// compatibilityLevel is the SQL compatibility level Service Bus reports.
const compatibilityLevel = "20"

// ruleDescription writes a RuleDescription: Filter (with i:type), Action
// (always present: the Go client dereferences it; EmptyRuleAction when
// there is none), CreatedAt and Name. A correlation filter writes only the
// conditions it has, so that clients read absent ones as unset.
func (w *xmlWriter) ruleDescription(r *broker.Rule) {
	w.WriteString(`<RuleDescription xmlns="` + nsSB + `" xmlns:i="` + nsInstance + `">`)
	f := &r.Filter
	switch f.Kind {
	case broker.FilterTrue:
		w.WriteString(`<Filter i:type="TrueFilter">`)
		w.elem("SqlExpression", "1=1")
		w.elem("CompatibilityLevel", compatibilityLevel)
	case broker.FilterFalse:
		w.WriteString(`<Filter i:type="FalseFilter">`)
		w.elem("SqlExpression", "1=0")
		w.elem("CompatibilityLevel", compatibilityLevel)
	case broker.FilterCorrelation:
		w.WriteString(`<Filter i:type="CorrelationFilter">`)
		c := f.Correlation
		if c == nil {
			c = &broker.CorrelationFilter{}
		}
		for _, e := range []struct{ name, v string }{
			{"CorrelationId", c.CorrelationID}, {"MessageId", c.MessageID}, {"To", c.To}, {"ReplyTo", c.ReplyTo},
			{"Label", c.Subject}, {"SessionId", c.SessionID}, {"ReplyToSessionId", c.ReplyToSessionID},
			{"ContentType", c.ContentType},
		} {
			if e.v != "" {
				w.elem(e.name, e.v)
			}
		}
		w.keyValues("Properties", c.Properties)
	default: // FilterSQL
		w.WriteString(`<Filter i:type="SqlFilter">`)
		w.elem("SqlExpression", f.SQL)
		w.elem("CompatibilityLevel", compatibilityLevel)
		w.keyValues("Parameters", f.Parameters)
	}
	w.WriteString("</Filter>")
	if r.Action == "" {
		w.WriteString(`<Action i:type="EmptyRuleAction"/>`)
	} else {
		w.WriteString(`<Action i:type="SqlRuleAction">`)
		w.elem("SqlExpression", r.Action)
		w.elem("CompatibilityLevel", compatibilityLevel)
		w.keyValues("Parameters", r.ActionParameters)
		w.WriteString("</Action>")
	}
	w.elem("CreatedAt", formatTime(r.CreatedAt))
	w.elem("Name", r.Name)
	w.WriteString("</RuleDescription>")
}

// keyValues writes name holding one KeyValueOfstringanyType per entry,
// sorted by key. Each Value declares the XML Schema namespace under the
// four-letter prefix d6p1 (the JS client strips exactly five characters
// from i:type) and uses the i prefix the description declares (JS looks up
// the attribute "i:type" literally).
func (w *xmlWriter) keyValues(name string, kv map[string]any) {
	if len(kv) == 0 {
		w.WriteString("<" + name + "/>")
		return
	}
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	w.WriteString("<" + name + ">")
	for _, k := range keys {
		w.WriteString("<KeyValueOfstringanyType>")
		w.elem("Key", k)
		t, text, ok := xsdOf(kv[k])
		switch {
		case !ok:
			w.WriteString(`<Value i:nil="true"/>`)
		default:
			w.WriteString(`<Value i:type="d6p1:` + t + `" xmlns:d6p1="` + nsXSD + `">`)
			w.text(text)
			w.WriteString("</Value>")
		}
		w.WriteString("</KeyValueOfstringanyType>")
	}
	w.WriteString("</" + name + ">")
}

// xsdOf renders a property value as an XML Schema type and text. Integers
// that fit 32 bits are "int" (the Go client reads int, not long), others
// "long"; times are UTC. ok is false for null and for types filters cannot
// see.
func xsdOf(v any) (typ, text string, ok bool) {
	fv, ok := broker.FilterValue(v)
	if !ok || fv.IsNull() {
		return "", "", false
	}
	switch fv.Kind() {
	case filter.KindInt:
		i, _ := fv.Int()
		if i >= math.MinInt32 && i <= math.MaxInt32 {
			return "int", strconv.FormatInt(i, 10), true
		}
		return "long", strconv.FormatInt(i, 10), true
	case filter.KindTime:
		t, _ := fv.Time()
		return "dateTime", t.UTC().Format(time.RFC3339Nano), true
	}
	typ, text = filter.FormatXSD(fv)
	return typ, text, typ != ""
}
