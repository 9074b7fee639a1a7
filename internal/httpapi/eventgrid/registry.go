package eventgrid

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/push"
)

// Topics and subscriptions change at run time through the management API
// (manage.go). Every change runs under Handler.mu, builds a new state and
// publishes it with one atomic store, so a publish sees either the old or
// the new set of subscriptions, never a mix. Changes made through the API
// are stored as definitions in the broker (defs.go) and read back at
// start; declarations of the config file are read-only through the API.

// load declares the config file's topics, then reads back the stored
// definitions. REQUIRES: h.mu held.
func (h *Handler) load(ctx context.Context) error {
	for _, t := range h.cfg.Topics {
		if h.state().topics[strings.ToLower(t.Name)] != nil {
			return fmt.Errorf("eventgrid: topic %q is declared twice", t.Name)
		}
		subs := t.Subscriptions
		t.Subscriptions = nil
		if _, err := h.putTopic(ctx, t, fromConfig); err != nil {
			return err
		}
		for _, s := range subs {
			if h.findSubscription(t.Name, s.Name) >= 0 {
				return fmt.Errorf("eventgrid: subscription %s/%s is declared twice", t.Name, s.Name)
			}
			if _, err := h.putSubscription(ctx, t.Name, s, fromConfig); err != nil {
				return err
			}
		}
	}
	for _, t := range h.cfg.NamespaceTopics {
		if h.state().nsTopics[strings.ToLower(t.Name)] != nil {
			return fmt.Errorf("eventgrid: namespace topic %q is declared twice", t.Name)
		}
		subs := t.Subscriptions
		t.Subscriptions = nil
		if _, err := h.putNSTopic(ctx, t, fromConfig); err != nil {
			return err
		}
		for _, s := range subs {
			if h.state().queues[strings.ToLower(t.Name)+"/"+strings.ToLower(s.Name)] != nil {
				return fmt.Errorf("eventgrid: subscription %s/%s is declared twice", t.Name, s.Name)
			}
			if _, err := h.putNSSubscription(ctx, t.Name, s, fromConfig); err != nil {
				return err
			}
		}
	}
	defs, err := openDefStore(ctx, h.cfg.Broker, h.cfg.Clock, h.log)
	if err != nil {
		return err
	}
	h.defs = defs
	stored, err := defs.load(ctx)
	if err != nil {
		return err
	}
	// Parents before children, whatever order they were stored in.
	for _, kind := range []string{defTopic, defNSTopic, defSubscription, defNSSubscription} {
		for _, d := range stored {
			if d.Kind != kind {
				continue
			}
			if err := h.restore(ctx, d); err != nil {
				h.log.Warn("a stored Event Grid definition is not applied", "kind", d.Kind, "topic", d.Topic, "err", err)
			}
		}
	}
	return nil
}

// restore applies one stored definition.
func (h *Handler) restore(ctx context.Context, d definition) error {
	var err error
	switch d.Kind {
	case defTopic:
		var spec TopicSpec
		if err = json.Unmarshal(d.Spec, &spec); err == nil {
			if t := h.state().topics[strings.ToLower(spec.Name)]; t != nil && t.from == fromConfig {
				return fmt.Errorf("topic %s is declared in the config file, which wins", spec.Name)
			}
			_, err = h.putTopic(ctx, spec, fromStore)
		}
	case defSubscription:
		var spec SubscriptionSpec
		if err = json.Unmarshal(d.Spec, &spec); err == nil {
			_, err = h.putSubscription(ctx, d.Topic, spec, fromStore)
		}
	case defNSTopic:
		var spec NamespaceTopicSpec
		if err = json.Unmarshal(d.Spec, &spec); err == nil {
			if t := h.state().nsTopics[strings.ToLower(spec.Name)]; t != nil && t.from == fromConfig {
				return fmt.Errorf("namespace topic %s is declared in the config file, which wins", spec.Name)
			}
			_, err = h.putNSTopic(ctx, spec, fromStore)
		}
	case defNSSubscription:
		var spec NamespaceSubscriptionSpec
		if err = json.Unmarshal(d.Spec, &spec); err == nil {
			_, err = h.putNSSubscription(ctx, d.Topic, spec, fromStore)
		}
	default:
		err = fmt.Errorf("unknown kind %q", d.Kind)
	}
	return err
}

// readOnly refuses to change a declaration of the config file.
func readOnly(what string) error {
	return newError(http.StatusConflict, "Conflict", what+" is declared in the config file; change it there (the management API manages what it created).")
}

// putTopic creates or replaces a basic topic (its subscriptions are kept
// and recompiled against it). REQUIRES: h.mu held.
func (h *Handler) putTopic(ctx context.Context, spec TopicSpec, from origin) (created bool, err error) {
	spec.Subscriptions = nil
	t, mapping, err := compileTopic(spec)
	if err != nil {
		return false, badRequest(err)
	}
	t.spec, t.mapping, t.from = spec, mapping, from
	old := h.state().topics[strings.ToLower(spec.Name)]
	if old != nil {
		if old.from == fromConfig && from != fromConfig {
			return false, readOnly("topic " + old.Name)
		}
		t.Name = old.Name
		t.spec.Name = old.Name
		for i, ss := range old.subSpecs {
			sub, err := h.compileSub(t, ss, old.Subscriptions[i].Name)
			if err != nil {
				return false, badRequest(fmt.Errorf("eventgrid: topic %s would no longer suit subscription %s: %w", t.Name, ss.Name, err))
			}
			t.Subscriptions = append(t.Subscriptions, sub)
			t.subSpecs = append(t.subSpecs, ss)
			t.subFrom = append(t.subFrom, old.subFrom[i])
		}
	}
	if from == fromAPI {
		if err := h.defs.put(ctx, defTopic, "", spec.Name, spec); err != nil {
			return false, err
		}
	}
	st := h.state().clone()
	st.topics[strings.ToLower(t.Name)] = t
	h.st.Store(st)
	if old != nil && h.cfg.Push != nil {
		for _, s := range old.Subscriptions {
			h.cfg.Push.Remove(s.Name)
		}
		for _, s := range t.Subscriptions {
			if err := h.cfg.Push.Add(s); err != nil {
				h.log.Error("restarting a push subscription failed", "subscription", s.Name, "err", err)
			}
		}
	}
	return old == nil, nil
}

// compileSub compiles and checks one subscription of t.
func (h *Handler) compileSub(t *Topic, spec SubscriptionSpec, name string) (*push.Subscription, error) {
	spec.Name = name
	sub, err := compileSubscription(t, t.mapping, spec)
	if err != nil {
		return nil, err
	}
	if err := push.Check(sub); err != nil {
		return nil, err
	}
	if sub.Destination == push.ServiceBusTopic {
		info, err := h.cfg.Broker.GetEntity(sub.Entity)
		if err != nil || info.Kind != broker.KindTopic {
			return nil, newError(http.StatusBadRequest, "BadRequest", fmt.Sprintf(
				"subscription %s: there is no Service Bus topic %q; a ServiceBusTopic destination delivers to an existing topic (create it first)", spec.Name, sub.Entity))
		}
	}
	return sub, nil
}

// findSubscription returns the index of a topic's subscription, -1 when
// there is none.
func (h *Handler) findSubscription(topic, name string) int {
	t := h.state().topics[strings.ToLower(topic)]
	if t == nil {
		return -1
	}
	return slices.IndexFunc(t.Subscriptions, func(s *push.Subscription) bool { return strings.EqualFold(s.Name, name) })
}

// putSubscription creates or replaces a basic topic's event subscription.
// REQUIRES: h.mu held.
func (h *Handler) putSubscription(ctx context.Context, topic string, spec SubscriptionSpec, from origin) (created bool, err error) {
	old := h.state().topics[strings.ToLower(topic)]
	if old == nil {
		return false, newError(http.StatusNotFound, "ResourceNotFound", "The topic "+topic+" does not exist.")
	}
	i := h.findSubscription(topic, spec.Name)
	name := spec.Name
	if i >= 0 {
		if old.subFrom[i] == fromConfig && from != fromConfig {
			return false, readOnly("event subscription " + old.Subscriptions[i].Name)
		}
		name = old.Subscriptions[i].Name
	} else if h.cfg.Push != nil && h.cfg.Push.Has(spec.Name) {
		return false, newError(http.StatusConflict, "Conflict", "A push event subscription named "+spec.Name+" exists on another topic; Baton keeps push subscription names unique across topics.")
	}
	spec.Name = name
	sub, err := h.compileSub(old, spec, name)
	if err != nil {
		return false, badRequest(err)
	}
	if err := h.ensureQueue(ctx, sub.Queue, broker.QueueProperties{LockDuration: 2 * time.Minute, MaxDeliveryCount: 1000,
		MaxMessageSizeInKilobytes: h.queueMessageKB()}); err != nil {
		return false, err
	}
	if from == fromAPI {
		if err := h.defs.put(ctx, defSubscription, old.Name, name, spec); err != nil {
			return false, err
		}
	}
	t := *old
	t.Subscriptions, t.subSpecs, t.subFrom = slices.Clone(old.Subscriptions), slices.Clone(old.subSpecs), slices.Clone(old.subFrom)
	if i >= 0 {
		t.Subscriptions[i], t.subSpecs[i], t.subFrom[i] = sub, spec, from
	} else {
		t.Subscriptions, t.subSpecs, t.subFrom = append(t.Subscriptions, sub), append(t.subSpecs, spec), append(t.subFrom, from)
	}
	st := h.state().clone()
	st.topics[strings.ToLower(t.Name)] = &t
	h.st.Store(st)
	if h.cfg.Push != nil {
		if i >= 0 {
			h.cfg.Push.Remove(name)
		}
		if err := h.cfg.Push.Add(sub); err != nil {
			return false, fmt.Errorf("eventgrid: starting subscription %s: %w", name, err)
		}
	}
	return i < 0, nil
}

// deleteSubscription deletes a basic topic's event subscription, its
// queue and its pending and dead-lettered events. REQUIRES: h.mu held.
func (h *Handler) deleteSubscription(ctx context.Context, topic, name string) (bool, error) {
	old := h.state().topics[strings.ToLower(topic)]
	if old == nil {
		return false, newError(http.StatusNotFound, "ResourceNotFound", "The topic "+topic+" does not exist.")
	}
	i := h.findSubscription(topic, name)
	if i < 0 {
		return false, nil
	}
	if old.subFrom[i] == fromConfig {
		return false, readOnly("event subscription " + old.Subscriptions[i].Name)
	}
	sub := old.Subscriptions[i]
	t := *old
	t.Subscriptions, t.subSpecs, t.subFrom = slices.Delete(slices.Clone(old.Subscriptions), i, i+1),
		slices.Delete(slices.Clone(old.subSpecs), i, i+1), slices.Delete(slices.Clone(old.subFrom), i, i+1)
	st := h.state().clone()
	st.topics[strings.ToLower(t.Name)] = &t
	h.st.Store(st)
	if h.cfg.Push != nil {
		h.cfg.Push.Remove(sub.Name)
	}
	if err := h.defs.remove(ctx, defSubscription, t.Name, sub.Name); err != nil {
		return true, err
	}
	if err := h.cfg.Broker.DeleteEntity(ctx, sub.Queue); err != nil && broker.CodeOf(err) != broker.CodeNotFound {
		return true, fmt.Errorf("eventgrid: deleting the queue of %s: %w", sub.Name, err)
	}
	return true, nil
}

// deleteTopic deletes a basic topic and its subscriptions. REQUIRES: h.mu
// held.
func (h *Handler) deleteTopic(ctx context.Context, name string) (bool, error) {
	t := h.state().topics[strings.ToLower(name)]
	if t == nil {
		return false, nil
	}
	if t.from == fromConfig {
		return false, readOnly("topic " + t.Name)
	}
	for _, s := range slices.Clone(t.Subscriptions) {
		if _, err := h.deleteSubscription(ctx, t.Name, s.Name); err != nil {
			return true, err
		}
	}
	st := h.state().clone()
	delete(st.topics, strings.ToLower(name))
	h.st.Store(st)
	return true, h.defs.remove(ctx, defTopic, "", t.Name)
}

// putNSTopic creates or replaces a namespace topic. REQUIRES: h.mu held.
func (h *Handler) putNSTopic(ctx context.Context, spec NamespaceTopicSpec, from origin) (bool, error) {
	spec.Subscriptions = nil
	if err := validName(spec.Name); err != nil {
		return false, badRequest(fmt.Errorf("eventgrid: namespace topic: %w", err))
	}
	if spec.InputSchema != "" && spec.InputSchema != "CloudEventSchemaV1_0" {
		return false, badRequest(fmt.Errorf("eventgrid: namespace topic %s: inputSchema must be CloudEventSchemaV1_0", spec.Name))
	}
	old := h.state().nsTopics[strings.ToLower(spec.Name)]
	t := &nsTopic{Name: spec.Name, Keys: spec.Keys, spec: spec, from: from}
	if old != nil {
		if old.from == fromConfig && from != fromConfig {
			return false, readOnly("namespace topic " + old.Name)
		}
		t.Name, t.spec.Name, t.subs = old.Name, old.Name, old.subs
	}
	if from == fromAPI {
		if err := h.defs.put(ctx, defNSTopic, "", t.Name, t.spec); err != nil {
			return false, err
		}
	}
	st := h.state().clone()
	st.nsTopics[strings.ToLower(t.Name)] = t
	h.st.Store(st)
	return old == nil, nil
}

// putNSSubscription creates or replaces a namespace subscription.
// REQUIRES: h.mu held.
func (h *Handler) putNSSubscription(ctx context.Context, topic string, spec NamespaceSubscriptionSpec, from origin) (bool, error) {
	t := h.state().nsTopics[strings.ToLower(topic)]
	if t == nil {
		return false, newError(http.StatusNotFound, "ResourceNotFound", "The namespace topic "+topic+" does not exist.")
	}
	key := strings.ToLower(t.Name) + "/" + strings.ToLower(spec.Name)
	old := h.state().queues[key]
	if old != nil {
		if old.from == fromConfig && from != fromConfig {
			return false, readOnly("namespace subscription " + t.Name + "/" + old.Name)
		}
		spec.Name = old.Name
	}
	ns, err := compileNamespaceSubscription(t.Name, spec)
	if err != nil {
		return false, badRequest(err)
	}
	sub := &nsSubscription{NamespaceSubscription: ns, topic: t.Name, queue: QueueName(h.cfg.Namespace, t.Name, ns.Name), spec: spec, from: from}
	if err := h.ensureQueue(ctx, sub.queue, broker.QueueProperties{
		LockDuration: ns.LockDuration, MaxDeliveryCount: ns.MaxDeliveryCount,
		DefaultMessageTimeToLive: ns.EventTimeToLive, DeadLetteringOnMessageExpiration: true,
		MaxMessageSizeInKilobytes: h.queueMessageKB(),
	}); err != nil {
		return false, err
	}
	if from == fromAPI {
		if err := h.defs.put(ctx, defNSSubscription, t.Name, ns.Name, spec); err != nil {
			return false, err
		}
	}
	nt := *t
	nt.subs = slices.DeleteFunc(slices.Clone(t.subs), func(s *nsSubscription) bool { return s == old })
	nt.subs = append(nt.subs, sub)
	st := h.state().clone()
	st.nsTopics[strings.ToLower(t.Name)] = &nt
	st.queues[key] = sub
	h.st.Store(st)
	if h.cfg.Push != nil && old == nil {
		h.cfg.Push.AddExport(push.Export{Queue: sub.queue, Path: h.cfg.Namespace + "/" + t.Name + "/" + ns.Name, BaseDeliveries: PropBaseDeliveries})
	}
	return old == nil, nil
}

// deleteNSSubscription deletes a namespace subscription and its queue.
// REQUIRES: h.mu held.
func (h *Handler) deleteNSSubscription(ctx context.Context, topic, name string) (bool, error) {
	t := h.state().nsTopics[strings.ToLower(topic)]
	if t == nil {
		return false, newError(http.StatusNotFound, "ResourceNotFound", "The namespace topic "+topic+" does not exist.")
	}
	key := strings.ToLower(t.Name) + "/" + strings.ToLower(name)
	old := h.state().queues[key]
	if old == nil {
		return false, nil
	}
	if old.from == fromConfig {
		return false, readOnly("namespace subscription " + t.Name + "/" + old.Name)
	}
	nt := *t
	nt.subs = slices.DeleteFunc(slices.Clone(t.subs), func(s *nsSubscription) bool { return s == old })
	st := h.state().clone()
	st.nsTopics[strings.ToLower(t.Name)] = &nt
	delete(st.queues, key)
	h.st.Store(st)
	if h.cfg.Push != nil {
		h.cfg.Push.RemoveExport(old.queue)
	}
	if err := h.defs.remove(ctx, defNSSubscription, t.Name, old.Name); err != nil {
		return true, err
	}
	if err := h.cfg.Broker.DeleteEntity(ctx, old.queue); err != nil && broker.CodeOf(err) != broker.CodeNotFound {
		return true, fmt.Errorf("eventgrid: deleting the queue of %s/%s: %w", t.Name, old.Name, err)
	}
	return true, nil
}

// deleteNSTopic deletes a namespace topic and its subscriptions. REQUIRES:
// h.mu held.
func (h *Handler) deleteNSTopic(ctx context.Context, name string) (bool, error) {
	t := h.state().nsTopics[strings.ToLower(name)]
	if t == nil {
		return false, nil
	}
	if t.from == fromConfig {
		return false, readOnly("namespace topic " + t.Name)
	}
	for _, s := range slices.Clone(t.subs) {
		if _, err := h.deleteNSSubscription(ctx, t.Name, s.Name); err != nil {
			return true, err
		}
	}
	st := h.state().clone()
	delete(st.nsTopics, strings.ToLower(name))
	h.st.Store(st)
	return true, h.defs.remove(ctx, defNSTopic, "", t.Name)
}

// badRequest makes a declaration error a 400 (keeping 501s and other API
// errors as they are).
func badRequest(err error) error {
	if _, ok := err.(*apiError); ok {
		return err
	}
	return newError(http.StatusBadRequest, "BadRequest", err.Error())
}

// sortedTopics returns the basic topics by name.
func sortedTopics(st *state) []*Topic {
	out := make([]*Topic, 0, len(st.topics))
	for _, t := range st.topics {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *Topic) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	return out
}

// sortedNSTopics returns the namespace topics by name.
func sortedNSTopics(st *state) []*nsTopic {
	out := make([]*nsTopic, 0, len(st.nsTopics))
	for _, t := range st.nsTopics {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *nsTopic) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	return out
}

// baseURL strips the query string and user info, which may hold secrets.
func baseURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	p.RawQuery, p.User, p.Fragment = "", nil, ""
	return p.String()
}
