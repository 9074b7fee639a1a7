package sbadmin

import (
	"fmt"
	"net/http"

	"github.com/batonmq/baton/internal/broker"
)

// subscriptionsCollection serves GET /{topic}/Subscriptions?$skip=N&$top=M,
// a feed of the topic's subscriptions sorted by name.
func (h *Handler) subscriptionsCollection(w http.ResponseWriter, r *http.Request, topic string) {
	if r.Method != http.MethodGet {
		h.methodNotAllowed(w, r, "GET")
		return
	}
	subs, err := h.b.ListSubscriptions(topic)
	if err != nil {
		h.brokerFail(w, r, err)
		return
	}
	h.writeFeed(w, r, "Subscriptions", topic+"/Subscriptions", len(subs), func(x *xmlWriter, i int) {
		x.openEntry(h.subscriptionMeta(r, subs[i]))
		x.subscriptionDescription(subs[i])
		x.closeEntry()
	})
}

// subscription serves GET, PUT and DELETE on /{topic}/Subscriptions/{sub}.
func (h *Handler) subscription(w http.ResponseWriter, r *http.Request, topic, sub string) {
	switch r.Method {
	case http.MethodGet:
		info, ok := h.getSubscription(w, r, topic, sub)
		if ok {
			h.writeSubscription(w, r, http.StatusOK, info)
		}
	case http.MethodPut:
		h.putSubscription(w, r, topic, sub)
	case http.MethodDelete:
		if _, ok := h.getSubscription(w, r, topic, sub); !ok {
			return
		}
		if err := h.b.DeleteEntity(r.Context(), broker.SubscriptionPath(topic, sub)); err != nil {
			h.brokerFail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusOK)
	default:
		h.methodNotAllowed(w, r, "GET, PUT, DELETE")
	}
}

// getSubscription returns subscription sub of topic, or answers 404.
func (h *Handler) getSubscription(w http.ResponseWriter, r *http.Request, topic, sub string) (*broker.EntityInfo, bool) {
	path := broker.SubscriptionPath(topic, sub)
	info, err := h.b.GetEntity(path)
	if err == nil && info.Kind != broker.KindSubscription {
		err = &broker.Error{Code: broker.CodeNotFound, Message: fmt.Sprintf("subscription %q of topic %q not found", sub, topic)}
	}
	if err != nil {
		h.brokerFail(w, r, err)
		return nil, false
	}
	return info, true
}

// putSubscription creates (no If-Match) or updates a subscription. A
// create's DefaultRuleDescription becomes its first rule ($Default with a
// TrueFilter when absent); an update leaves the rules alone, as in Service
// Bus.
func (h *Handler) putSubscription(w http.ResponseWriter, r *http.Request, topic, sub string) {
	e, ok := h.readEntry(w, r)
	if !ok {
		return
	}
	if e.kind != bodySubscription {
		h.fail(w, r, http.StatusBadRequest, "BadRequest",
			fmt.Sprintf("a %s does not belong at /%s/Subscriptions/%s; send a SubscriptionDescription", e.kind, topic, sub))
		return
	}
	props, err := e.desc.toProperties(bodySubscription)
	if err != nil {
		h.badRequest(w, r, err)
		return
	}
	if isUpdate(r) {
		if _, ok := h.getSubscription(w, r, topic, sub); !ok {
			return
		}
		info, err := h.b.UpdateSubscription(r.Context(), topic, sub, props)
		if err != nil {
			h.brokerFail(w, r, err)
			return
		}
		h.writeSubscription(w, r, http.StatusOK, info)
		return
	}
	var rule *broker.Rule
	if d := e.desc.DefaultRuleDescription; d != nil {
		rl, err := d.toRule("")
		if err != nil {
			h.badRequest(w, r, err)
			return
		}
		rule = &rl
	}
	info, err := h.b.CreateSubscription(r.Context(), topic, sub, props, rule)
	if err != nil {
		h.brokerFail(w, r, err)
		return
	}
	h.writeSubscription(w, r, http.StatusCreated, info)
}

// subscriptionMeta is a subscription's entry: the id is the subscription's
// URL (the JS client reads the topic and subscription names from its path)
// and the title its own name (which the Go client uses).
func (h *Handler) subscriptionMeta(r *http.Request, info *broker.EntityInfo) entryMeta {
	m := h.queueMeta(r, info)
	if _, sub, ok := broker.SplitSubscriptionPath(info.Name); ok {
		m.title = sub
	}
	return m
}

func (h *Handler) writeSubscription(w http.ResponseWriter, r *http.Request, status int, info *broker.EntityInfo) {
	var x xmlWriter
	x.header()
	x.openEntry(h.subscriptionMeta(r, info))
	x.subscriptionDescription(info)
	x.closeEntry()
	write(w, status, contentEntry, x.Bytes())
}
