package mgmt

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

// topicName returns the {name} path value of a topic route, checked.
func (s *server) topicName(r *http.Request) (string, error) {
	name := r.PathValue("name")
	if err := broker.ValidateEntityName(name, s.b.Limits().MaxNameLength); err != nil {
		return name, err
	}
	return name, nil
}

// subscriptionNames returns the {name} and {sub} path values, checked.
func (s *server) subscriptionNames(r *http.Request) (topic, sub string, err error) {
	topic, err = s.topicName(r)
	if err != nil {
		return topic, "", err
	}
	sub = r.PathValue("sub")
	if sub == "" || len(sub) > 50 || strings.Contains(sub, "/") {
		return topic, sub, badRequest("subscription name %q must be 1 to 50 characters without '/'", truncate(sub, 60))
	}
	if err := broker.ValidateEntityName(sub, 50); err != nil {
		return topic, sub, err
	}
	return topic, sub, nil
}

func topicNotFound(name string) string { return fmt.Sprintf("topic %q not found", name) }

func subNotFound(topic, sub string) string {
	return fmt.Sprintf("subscription %q of topic %q not found", sub, topic)
}

func (s *server) listTopics(w http.ResponseWriter, r *http.Request) {
	infos, err := s.b.Entities(r.Context(), broker.KindTopic)
	if err != nil {
		s.fail(w, r, "", err)
		return
	}
	out := TopicList{Topics: make([]*Topic, 0, len(infos))}
	for _, info := range infos {
		out.Topics = append(out.Topics, topicOf(info))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) createTopic(w http.ResponseWriter, r *http.Request) {
	name, err := s.topicName(r)
	if err != nil {
		s.failWith(w, r, "", err)
		return
	}
	var in TopicProperties
	if err := s.decode(w, r, &in); err != nil {
		s.failWith(w, r, "", err)
		return
	}
	if err := in.check(); err != nil {
		s.failWith(w, r, "", err)
		return
	}
	info, err := s.b.CreateTopic(r.Context(), name, in.apply(broker.QueueProperties{}))
	if err != nil {
		s.failWith(w, r, "", err)
		return
	}
	w.Header().Set("Location", r.URL.EscapedPath())
	writeJSON(w, http.StatusCreated, topicOf(info))
}

// entityOfKind returns entity path's info, checked to be of kind k.
func (s *server) entityOfKind(path string, k broker.Kind) (*broker.EntityInfo, error) {
	info, err := s.b.GetEntity(path)
	if err != nil {
		return nil, err
	}
	if info.Kind != k {
		return nil, badRequest("%q is a %s, not a %s", path, info.Kind, k)
	}
	return info, nil
}

func (s *server) getTopic(w http.ResponseWriter, r *http.Request) {
	name, err := s.topicName(r)
	if err != nil {
		s.failWith(w, r, "", err)
		return
	}
	info, err := s.entityOfKind(name, broker.KindTopic)
	if err != nil {
		s.failWith(w, r, topicNotFound(name), err)
		return
	}
	writeJSON(w, http.StatusOK, topicOf(info))
}

func (s *server) updateTopic(w http.ResponseWriter, r *http.Request) {
	name, err := s.topicName(r)
	if err != nil {
		s.failWith(w, r, "", err)
		return
	}
	var in TopicProperties
	if err := s.decode(w, r, &in); err != nil {
		s.failWith(w, r, "", err)
		return
	}
	if err := in.check(); err != nil {
		s.failWith(w, r, "", err)
		return
	}
	cur, err := s.entityOfKind(name, broker.KindTopic)
	if err != nil {
		s.failWith(w, r, topicNotFound(name), err)
		return
	}
	info, err := s.b.UpdateTopic(r.Context(), name, in.apply(cur.Properties))
	if err != nil {
		s.failWith(w, r, topicNotFound(name), err)
		return
	}
	writeJSON(w, http.StatusOK, topicOf(info))
}

func (s *server) deleteTopic(w http.ResponseWriter, r *http.Request) {
	name, err := s.topicName(r)
	if err != nil {
		s.failWith(w, r, "", err)
		return
	}
	if _, err := s.entityOfKind(name, broker.KindTopic); err != nil {
		s.failWith(w, r, topicNotFound(name), err)
		return
	}
	if err := s.b.DeleteEntity(r.Context(), name); err != nil {
		s.failWith(w, r, topicNotFound(name), err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) listSubscriptions(w http.ResponseWriter, r *http.Request) {
	name, err := s.topicName(r)
	if err != nil {
		s.failWith(w, r, "", err)
		return
	}
	if _, err := s.entityOfKind(name, broker.KindTopic); err != nil {
		s.failWith(w, r, topicNotFound(name), err)
		return
	}
	infos, err := s.b.ListSubscriptions(name)
	if err != nil {
		s.failWith(w, r, topicNotFound(name), err)
		return
	}
	out := SubscriptionList{Subscriptions: make([]*Subscription, 0, len(infos))}
	for _, info := range infos {
		out.Subscriptions = append(out.Subscriptions, subscriptionOf(info))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) createSubscription(w http.ResponseWriter, r *http.Request) {
	topic, sub, err := s.subscriptionNames(r)
	if err != nil {
		s.failWith(w, r, "", err)
		return
	}
	var in SubscriptionProperties
	if err := s.decode(w, r, &in); err != nil {
		s.failWith(w, r, "", err)
		return
	}
	if err := in.check(); err != nil {
		s.failWith(w, r, "", err)
		return
	}
	var rule *broker.Rule
	if in.DefaultRule != nil {
		br, err := in.DefaultRule.toBroker("")
		if err != nil {
			s.failWith(w, r, "", err)
			return
		}
		rule = &br
	}
	if _, err := s.entityOfKind(topic, broker.KindTopic); err != nil {
		s.failWith(w, r, topicNotFound(topic), err)
		return
	}
	info, err := s.b.CreateSubscription(r.Context(), topic, sub, in.apply(broker.QueueProperties{}), rule)
	if err != nil {
		s.failWith(w, r, topicNotFound(topic), err)
		return
	}
	w.Header().Set("Location", r.URL.EscapedPath())
	writeJSON(w, http.StatusCreated, subscriptionOf(info))
}

func (s *server) getSubscription(w http.ResponseWriter, r *http.Request) {
	topic, sub, err := s.subscriptionNames(r)
	if err != nil {
		s.failWith(w, r, "", err)
		return
	}
	info, err := s.entityOfKind(broker.SubscriptionPath(topic, sub), broker.KindSubscription)
	if err != nil {
		s.failWith(w, r, subNotFound(topic, sub), err)
		return
	}
	writeJSON(w, http.StatusOK, subscriptionOf(info))
}

func (s *server) updateSubscription(w http.ResponseWriter, r *http.Request) {
	topic, sub, err := s.subscriptionNames(r)
	if err != nil {
		s.failWith(w, r, "", err)
		return
	}
	var in SubscriptionProperties
	if err := s.decode(w, r, &in); err != nil {
		s.failWith(w, r, "", err)
		return
	}
	if in.DefaultRule != nil {
		s.failWith(w, r, "", badRequest("defaultRule applies only when a subscription is created; change rules under .../rules"))
		return
	}
	if err := in.check(); err != nil {
		s.failWith(w, r, "", err)
		return
	}
	cur, err := s.entityOfKind(broker.SubscriptionPath(topic, sub), broker.KindSubscription)
	if err != nil {
		s.failWith(w, r, subNotFound(topic, sub), err)
		return
	}
	info, err := s.b.UpdateSubscription(r.Context(), topic, sub, in.apply(cur.Properties))
	if err != nil {
		s.failWith(w, r, subNotFound(topic, sub), err)
		return
	}
	writeJSON(w, http.StatusOK, subscriptionOf(info))
}

func (s *server) deleteSubscription(w http.ResponseWriter, r *http.Request) {
	topic, sub, err := s.subscriptionNames(r)
	if err != nil {
		s.failWith(w, r, "", err)
		return
	}
	path := broker.SubscriptionPath(topic, sub)
	if _, err := s.entityOfKind(path, broker.KindSubscription); err != nil {
		s.failWith(w, r, subNotFound(topic, sub), err)
		return
	}
	if err := s.b.DeleteEntity(r.Context(), path); err != nil {
		s.failWith(w, r, subNotFound(topic, sub), err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// checkDurations refuses explicit zero or negative durations, which the
// broker would read as "use the default".
func checkDurations(ds ...namedDuration) error {
	for _, d := range ds {
		if d.v != nil && *d.v <= 0 {
			return badRequest("%s must be positive", d.name)
		}
	}
	return nil
}

// namedDuration is a duration field and its JSON name.
type namedDuration struct {
	name string
	v    *Duration
}

// normalizeStatus checks a status and spells it as the broker does.
func normalizeStatus(st *string) error {
	if st == nil {
		return nil
	}
	for _, v := range []broker.Status{broker.StatusActive, broker.StatusDisabled, broker.StatusSendDisabled, broker.StatusReceiveDisabled} {
		if strings.EqualFold(*st, string(v)) {
			*st = string(v)
			return nil
		}
	}
	return badRequest("status %q is not Active, Disabled, SendDisabled or ReceiveDisabled", truncate(*st, 40))
}

func (t *TopicProperties) check() error {
	if err := checkDurations(
		namedDuration{"defaultMessageTimeToLive", t.DefaultMessageTimeToLive},
		namedDuration{"duplicateDetectionHistoryTimeWindow", t.DuplicateDetectionHistoryTimeWindow},
		namedDuration{"autoDeleteOnIdle", t.AutoDeleteOnIdle},
	); err != nil {
		return err
	}
	if t.MaxSizeInMegabytes != nil && *t.MaxSizeInMegabytes < 1 {
		return badRequest("maxSizeInMegabytes must be at least 1")
	}
	if t.MaxMessageSizeInKilobytes != nil && *t.MaxMessageSizeInKilobytes < 1 {
		return badRequest("maxMessageSizeInKilobytes must be at least 1")
	}
	return normalizeStatus(t.Status)
}

// apply returns p with the fields set in t.
func (t *TopicProperties) apply(p broker.QueueProperties) broker.QueueProperties {
	setDur(&p.DefaultMessageTimeToLive, t.DefaultMessageTimeToLive)
	setDur(&p.DuplicateDetectionHistoryTimeWindow, t.DuplicateDetectionHistoryTimeWindow)
	setDur(&p.AutoDeleteOnIdle, t.AutoDeleteOnIdle)
	set(&p.RequiresDuplicateDetection, t.RequiresDuplicateDetection)
	set(&p.MaxSizeInMegabytes, t.MaxSizeInMegabytes)
	set(&p.MaxMessageSizeInKilobytes, t.MaxMessageSizeInKilobytes)
	set(&p.SupportOrdering, t.SupportOrdering)
	set(&p.UserMetadata, t.UserMetadata)
	if t.Status != nil {
		p.Status = broker.Status(*t.Status)
	}
	return p
}

func (sp *SubscriptionProperties) check() error {
	if err := checkDurations(
		namedDuration{"lockDuration", sp.LockDuration},
		namedDuration{"defaultMessageTimeToLive", sp.DefaultMessageTimeToLive},
		namedDuration{"autoDeleteOnIdle", sp.AutoDeleteOnIdle},
	); err != nil {
		return err
	}
	if sp.MaxDeliveryCount != nil && *sp.MaxDeliveryCount < 1 {
		return badRequest("maxDeliveryCount must be at least 1")
	}
	return normalizeStatus(sp.Status)
}

// apply returns p with the fields set in sp.
func (sp *SubscriptionProperties) apply(p broker.QueueProperties) broker.QueueProperties {
	setDur(&p.LockDuration, sp.LockDuration)
	setDur(&p.DefaultMessageTimeToLive, sp.DefaultMessageTimeToLive)
	setDur(&p.AutoDeleteOnIdle, sp.AutoDeleteOnIdle)
	set(&p.MaxDeliveryCount, sp.MaxDeliveryCount)
	set(&p.DeadLetteringOnMessageExpiration, sp.DeadLetteringOnMessageExpiration)
	set(&p.DeadLetteringOnFilterEvaluationExceptions, sp.DeadLetteringOnFilterEvaluationExceptions)
	set(&p.RequiresSession, sp.RequiresSession)
	set(&p.ForwardTo, sp.ForwardTo)
	set(&p.ForwardDeadLetteredMessagesTo, sp.ForwardDeadLetteredMessagesTo)
	set(&p.UserMetadata, sp.UserMetadata)
	if sp.Status != nil {
		p.Status = broker.Status(*sp.Status)
	}
	return p
}

func set[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

func setDur(dst *time.Duration, src *Duration) {
	if src != nil {
		*dst = time.Duration(*src)
	}
}

func topicOf(info *broker.EntityInfo) *Topic {
	p := &info.Properties
	return &Topic{
		Name:                                info.Name,
		DefaultMessageTimeToLive:            Duration(p.DefaultMessageTimeToLive),
		RequiresDuplicateDetection:          p.RequiresDuplicateDetection,
		DuplicateDetectionHistoryTimeWindow: Duration(p.DuplicateDetectionHistoryTimeWindow),
		MaxSizeInMegabytes:                  p.MaxSizeInMegabytes,
		MaxMessageSizeInKilobytes:           p.MaxMessageSizeInKilobytes,
		AutoDeleteOnIdle:                    Duration(p.AutoDeleteOnIdle),
		SupportOrdering:                     p.SupportOrdering,
		Status:                              string(p.Status),
		UserMetadata:                        p.UserMetadata,
		SubscriptionCount:                   info.SubscriptionCount,
		ScheduledMessageCount:               info.Scheduled,
		SizeInBytes:                         info.SizeBytes,
		CreatedAt:                           info.CreatedAt,
		UpdatedAt:                           info.UpdatedAt,
		AccessedAt:                          info.AccessedAt,
	}
}

func subscriptionOf(info *broker.EntityInfo) *Subscription {
	p := &info.Properties
	topic, sub, _ := broker.SplitSubscriptionPath(info.Name)
	return &Subscription{
		Name:                             sub,
		Topic:                            topic,
		Path:                             info.Name,
		LockDuration:                     Duration(p.LockDuration),
		MaxDeliveryCount:                 p.MaxDeliveryCount,
		DefaultMessageTimeToLive:         Duration(p.DefaultMessageTimeToLive),
		DeadLetteringOnMessageExpiration: p.DeadLetteringOnMessageExpiration,
		DeadLetteringOnFilterEvaluationExceptions: p.DeadLetteringOnFilterEvaluationExceptions,
		RequiresSession:               p.RequiresSession,
		AutoDeleteOnIdle:              Duration(p.AutoDeleteOnIdle),
		ForwardTo:                     p.ForwardTo,
		ForwardDeadLetteredMessagesTo: p.ForwardDeadLetteredMessagesTo,
		Status:                        string(p.Status),
		UserMetadata:                  p.UserMetadata,
		ActiveMessageCount:            info.Active,
		ScheduledMessageCount:         info.Scheduled,
		DeferredMessageCount:          info.Deferred,
		DeadLetterMessageCount:        info.DeadLettered,
		SizeInBytes:                   info.SizeBytes,
		CreatedAt:                     info.CreatedAt,
		UpdatedAt:                     info.UpdatedAt,
		AccessedAt:                    info.AccessedAt,
	}
}
