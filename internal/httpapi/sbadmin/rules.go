package sbadmin

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/batonmq/baton/internal/broker"
)

// rulesCollection serves /{topic}/Subscriptions/{sub}/Rules: GET lists the
// rules in the order they were added; PUT creates a rule named by the body
// (the Go client sends a rule without a name here, named $Default in the
// body).
func (h *Handler) rulesCollection(w http.ResponseWriter, r *http.Request, topic, sub string) {
	switch r.Method {
	case http.MethodGet:
		rules, err := h.b.Rules(topic, sub)
		if err != nil {
			h.brokerFail(w, r, err)
			return
		}
		h.writeFeed(w, r, "Rules", rulesPath(topic, sub), len(rules), func(x *xmlWriter, i int) {
			x.openEntry(h.ruleMeta(r, topic, sub, &rules[i]))
			x.ruleDescription(&rules[i])
			x.closeEntry()
		})
	case http.MethodPut:
		h.putRule(w, r, topic, sub, "")
	default:
		h.methodNotAllowed(w, r, "GET, PUT")
	}
}

// rule serves GET, PUT and DELETE on /{topic}/Subscriptions/{sub}/Rules/{rule}.
func (h *Handler) rule(w http.ResponseWriter, r *http.Request, topic, sub, name string) {
	switch r.Method {
	case http.MethodGet:
		rules, err := h.b.Rules(topic, sub)
		if err != nil {
			h.brokerFail(w, r, err)
			return
		}
		for i := range rules {
			if strings.EqualFold(rules[i].Name, name) {
				h.writeRule(w, r, http.StatusOK, topic, sub, &rules[i])
				return
			}
		}
		h.brokerFail(w, r, &broker.Error{Code: broker.CodeNotFound,
			Message: fmt.Sprintf("rule %q not found in subscription %q of topic %q", name, sub, topic)})
	case http.MethodPut:
		h.putRule(w, r, topic, sub, name)
	case http.MethodDelete:
		if err := h.b.RemoveRule(r.Context(), topic, sub, name); err != nil {
			h.brokerFail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusOK)
	default:
		h.methodNotAllowed(w, r, "GET, PUT, DELETE")
	}
}

// putRule creates (no If-Match: 201, 409 if the name exists) or replaces
// (If-Match: 200, 404 if missing) a rule. name is the rule's name from the
// path; empty takes the body's Name, then $Default.
func (h *Handler) putRule(w http.ResponseWriter, r *http.Request, topic, sub, name string) {
	e, ok := h.readEntry(w, r)
	if !ok {
		return
	}
	if e.kind != bodyRule {
		h.fail(w, r, http.StatusBadRequest, "BadRequest",
			fmt.Sprintf("a %s does not belong at /%s; send a RuleDescription", e.kind, rulesPath(topic, sub)))
		return
	}
	rule, err := e.rule.toRule(name)
	if err != nil {
		h.badRequest(w, r, err)
		return
	}
	update := isUpdate(r)
	got, err := h.b.AddRule(r.Context(), topic, sub, rule, update)
	if err != nil {
		h.brokerFail(w, r, err)
		return
	}
	status := http.StatusCreated
	if update {
		status = http.StatusOK
	}
	h.writeRule(w, r, status, topic, sub, got)
}

// rulesPath is the path of a subscription's rules collection.
func rulesPath(topic, sub string) string {
	return broker.SubscriptionPath(topic, sub) + "/Rules"
}

// ruleMeta is a rule's entry: the id is the rule's URL (the JS client reads
// the names from its path) and the title its name.
func (h *Handler) ruleMeta(r *http.Request, topic, sub string, rule *broker.Rule) entryMeta {
	return entryMeta{
		id:        entryURL(r, rulesPath(topic, sub)+"/"+url.PathEscape(rule.Name)),
		title:     rule.Name,
		author:    h.ns,
		published: rule.CreatedAt,
		updated:   rule.CreatedAt,
	}
}

func (h *Handler) writeRule(w http.ResponseWriter, r *http.Request, status int, topic, sub string, rule *broker.Rule) {
	var x xmlWriter
	x.header()
	x.openEntry(h.ruleMeta(r, topic, sub, rule))
	x.ruleDescription(rule)
	x.closeEntry()
	write(w, status, contentEntry, x.Bytes())
}
