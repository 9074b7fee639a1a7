package mgmt

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/batonmq/baton/internal/broker"
)

// ruleNames returns the {name}, {sub} and {rule} path values, checked.
func (s *server) ruleNames(r *http.Request) (topic, sub, rule string, err error) {
	topic, sub, err = s.subscriptionNames(r)
	if err != nil {
		return topic, sub, "", err
	}
	rule = r.PathValue("rule")
	if err := broker.ValidateRuleName(rule); err != nil {
		return topic, sub, rule, err
	}
	return topic, sub, rule, nil
}

func (s *server) listRules(w http.ResponseWriter, r *http.Request) {
	topic, sub, err := s.subscriptionNames(r)
	if err != nil {
		s.failWith(w, r, "", err)
		return
	}
	rules, err := s.b.Rules(topic, sub)
	if err != nil {
		s.failWith(w, r, subNotFound(topic, sub), err)
		return
	}
	out := RuleList{Rules: make([]*Rule, len(rules))}
	for i := range rules {
		out.Rules[i] = ruleOf(&rules[i])
	}
	writeJSON(w, http.StatusOK, out)
}

// findRule returns the rule of topic/sub named rule (case-insensitive).
func (s *server) findRule(topic, sub, rule string) (*broker.Rule, error) {
	rules, err := s.b.Rules(topic, sub)
	if err != nil {
		return nil, err
	}
	for i := range rules {
		if strings.EqualFold(rules[i].Name, rule) {
			return &rules[i], nil
		}
	}
	return nil, &apiError{status: http.StatusNotFound, code: broker.CodeNotFound.String(),
		msg: fmt.Sprintf("rule %q not found in subscription %q of topic %q", rule, sub, topic)}
}

func (s *server) getRule(w http.ResponseWriter, r *http.Request) {
	topic, sub, rule, err := s.ruleNames(r)
	if err != nil {
		s.failWith(w, r, "", err)
		return
	}
	got, err := s.findRule(topic, sub, rule)
	if err != nil {
		s.failWith(w, r, subNotFound(topic, sub), err)
		return
	}
	writeJSON(w, http.StatusOK, ruleOf(got))
}

// putRule creates a rule, or with If-Match: * replaces an existing one.
// A filter or action that does not compile is 400 InvalidArgument, its
// message naming the rule, the line, column and offset, and the token.
func (s *server) putRule(w http.ResponseWriter, r *http.Request) {
	topic, sub, rule, err := s.ruleNames(r)
	if err != nil {
		s.failWith(w, r, "", err)
		return
	}
	replace := false
	switch im := r.Header.Get("If-Match"); im {
	case "":
	case "*":
		replace = true
	default:
		s.failWith(w, r, "", badRequest("If-Match must be \"*\" (replace an existing rule), not %q", truncate(im, 40)))
		return
	}
	var in Rule
	if err := s.decode(w, r, &in); err != nil {
		s.failWith(w, r, "", err)
		return
	}
	br, err := in.toBroker(rule)
	if err != nil {
		s.failWith(w, r, "", err)
		return
	}
	got, err := s.b.AddRule(r.Context(), topic, sub, br, replace)
	if err != nil {
		// The broker's NotFound names the subscription or the rule.
		s.failWith(w, r, "", err)
		return
	}
	status := http.StatusCreated
	if replace {
		status = http.StatusOK
	} else {
		w.Header().Set("Location", r.URL.EscapedPath())
	}
	writeJSON(w, status, ruleOf(got))
}

func (s *server) deleteRule(w http.ResponseWriter, r *http.Request) {
	topic, sub, rule, err := s.ruleNames(r)
	if err != nil {
		s.failWith(w, r, "", err)
		return
	}
	if _, err := s.entityOfKind(broker.SubscriptionPath(topic, sub), broker.KindSubscription); err != nil {
		s.failWith(w, r, subNotFound(topic, sub), err)
		return
	}
	if err := s.b.RemoveRule(r.Context(), topic, sub, rule); err != nil {
		s.failWith(w, r, "", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
