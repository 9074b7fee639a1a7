package server

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/config"
)

// This file applies the entities a config file declares: queues, topics,
// subscriptions and rules. It runs at every start, so a file can be applied
// again to a data directory that already holds its entities:
//
//   - a missing entity is created;
//   - an existing one gets the declared properties when they differ
//     (RequiresSession cannot change: a difference is logged and the
//     entity keeps its value); properties the file does not declare, such
//     as a Status set at run time, are left as they are;
//   - a declared rule missing from its subscription is added, one whose
//     filter or action differs is replaced; rules the file does not declare
//     (added at run time) are left alone, and so is the $Default rule of an
//     existing subscription;
//   - entities the file does not declare are left alone.
//
// Auto-forward destinations must exist when forwarding is set, so
// forwarding is applied last, once every declared entity exists.
//
// A declaration the broker refuses (a rule that does not compile, a
// forwarding loop) stops the start with an error naming the entity and the
// rule; config.Validate has found most such mistakes before the store was
// opened.

// declareEntities applies the config's queues, topics, subscriptions and
// rules.
func (s *Server) declareEntities(ctx context.Context) error {
	type forward struct {
		path, what string
		to, dlqTo  string
	}
	var forwards []forward
	for _, q := range s.cfg.Queues {
		if err := s.declareQueue(ctx, q); err != nil {
			return fmt.Errorf("server: config: queue %q: %w", q.Name, err)
		}
		forwards = append(forwards, forward{q.Name, fmt.Sprintf("queue %q", q.Name), q.ForwardTo, q.ForwardDeadLetteredMessagesTo})
	}
	for _, t := range s.cfg.Topics {
		if err := s.declareTopic(ctx, t); err != nil {
			return fmt.Errorf("server: config: topic %q: %w", t.Name, err)
		}
	}
	for _, t := range s.cfg.Topics {
		for _, sub := range t.Subscriptions {
			if err := s.declareSubscription(ctx, t.Name, sub); err != nil {
				return fmt.Errorf("server: config: topic %q, subscription %q: %w", t.Name, sub.Name, err)
			}
			forwards = append(forwards, forward{broker.SubscriptionPath(t.Name, sub.Name),
				fmt.Sprintf("topic %q, subscription %q", t.Name, sub.Name), sub.ForwardTo, sub.ForwardDeadLetteredMessagesTo})
		}
	}
	for _, f := range forwards {
		if err := s.declareForwarding(ctx, f.path, f.to, f.dlqTo); err != nil {
			return fmt.Errorf("server: config: %s: %w", f.what, err)
		}
	}
	return nil
}

// existing returns the entity at path when it exists with kind k; nil when
// it does not exist.
func (s *Server) existing(path string, k broker.Kind) (*broker.EntityInfo, error) {
	info, err := s.sbEngine().GetEntity(path)
	switch {
	case broker.CodeOf(err) == broker.CodeNotFound:
		return nil, nil
	case err != nil:
		return nil, err
	case info.Kind != k:
		return nil, fmt.Errorf("%q already exists as a %s, not a %s", path, info.Kind, k)
	}
	return info, nil
}

// keepSession keeps cur's RequiresSession in want (it cannot change) and
// logs the difference.
func (s *Server) keepSession(what string, cur broker.QueueProperties, want *broker.QueueProperties) {
	if want.RequiresSession != cur.RequiresSession {
		s.log.Warn("config: RequiresSession cannot change on an existing entity; keeping its value",
			"entity", what, "declared", want.RequiresSession, "kept", cur.RequiresSession)
		want.RequiresSession = cur.RequiresSession
	}
}

func (s *Server) declareQueue(ctx context.Context, q config.Queue) error {
	decl := func(p broker.QueueProperties) broker.QueueProperties {
		p.LockDuration = time.Duration(q.LockDuration)
		p.MaxDeliveryCount = q.MaxDeliveryCount
		p.DefaultMessageTimeToLive = time.Duration(q.DefaultMessageTimeToLive)
		p.DeadLetteringOnMessageExpiration = q.DeadLetteringOnMessageExpiration
		p.RequiresDuplicateDetection = q.RequiresDuplicateDetection
		p.DuplicateDetectionHistoryTimeWindow = time.Duration(q.DuplicateDetectionHistoryTimeWindow)
		p.RequiresSession = q.RequiresSession
		p.MaxSizeInMegabytes = q.MaxSizeInMegabytes
		p.MaxMessageSizeInKilobytes = q.MaxMessageSizeInKilobytes
		p.AutoDeleteOnIdle = time.Duration(q.AutoDeleteOnIdle)
		p.UserMetadata = q.UserMetadata
		return p.WithDefaults()
	}
	cur, err := s.existing(q.Name, broker.KindQueue)
	if err != nil {
		return err
	}
	if cur == nil {
		if _, err := s.sbEngine().CreateQueue(ctx, q.Name, decl(broker.QueueProperties{})); err != nil {
			return err
		}
		s.log.Info("queue created from the config", "queue", q.Name)
		return nil
	}
	want := decl(cur.Properties) // forwarding is applied later
	s.keepSession(q.Name, cur.Properties, &want)
	if want == cur.Properties {
		return nil
	}
	if _, err := s.sbEngine().UpdateQueue(ctx, q.Name, want); err != nil {
		return err
	}
	s.log.Info("queue updated to the config's properties", "queue", q.Name)
	return nil
}

func (s *Server) declareTopic(ctx context.Context, t config.Topic) error {
	decl := func(p broker.QueueProperties) broker.QueueProperties {
		p.DefaultMessageTimeToLive = time.Duration(t.DefaultMessageTimeToLive)
		p.RequiresDuplicateDetection = t.RequiresDuplicateDetection
		p.DuplicateDetectionHistoryTimeWindow = time.Duration(t.DuplicateDetectionHistoryTimeWindow)
		p.MaxSizeInMegabytes = t.MaxSizeInMegabytes
		p.MaxMessageSizeInKilobytes = t.MaxMessageSizeInKilobytes
		p.AutoDeleteOnIdle = time.Duration(t.AutoDeleteOnIdle)
		p.SupportOrdering = t.SupportOrdering
		p.UserMetadata = t.UserMetadata
		return p.WithDefaults()
	}
	cur, err := s.existing(t.Name, broker.KindTopic)
	if err != nil {
		return err
	}
	if cur == nil {
		if _, err := s.sbEngine().CreateTopic(ctx, t.Name, decl(broker.QueueProperties{})); err != nil {
			return err
		}
		s.log.Info("topic created from the config", "topic", t.Name)
		return nil
	}
	want := decl(cur.Properties)
	if want == cur.Properties {
		return nil
	}
	if _, err := s.sbEngine().UpdateTopic(ctx, t.Name, want); err != nil {
		return err
	}
	s.log.Info("topic updated to the config's properties", "topic", t.Name)
	return nil
}

func (s *Server) declareSubscription(ctx context.Context, topic string, sub config.Subscription) error {
	decl := func(p broker.QueueProperties) broker.QueueProperties {
		p.LockDuration = time.Duration(sub.LockDuration)
		p.MaxDeliveryCount = sub.MaxDeliveryCount
		p.DefaultMessageTimeToLive = time.Duration(sub.DefaultMessageTimeToLive)
		p.DeadLetteringOnMessageExpiration = sub.DeadLetteringOnMessageExpiration
		p.DeadLetteringOnFilterEvaluationExceptions = sub.DeadLetteringOnFilterEvaluationExceptions
		p.RequiresSession = sub.RequiresSession
		p.AutoDeleteOnIdle = time.Duration(sub.AutoDeleteOnIdle)
		p.UserMetadata = sub.UserMetadata
		return p.WithDefaults()
	}
	rules := make([]broker.Rule, len(sub.Rules))
	for i := range sub.Rules {
		r, err := brokerRule(&sub.Rules[i])
		if err != nil {
			return fmt.Errorf("rule %q: %w", sub.Rules[i].Name, err)
		}
		rules[i] = r
	}
	path := broker.SubscriptionPath(topic, sub.Name)
	cur, err := s.existing(path, broker.KindSubscription)
	if err != nil {
		return err
	}
	if cur == nil {
		var first *broker.Rule
		if len(rules) > 0 {
			first = &rules[0]
		}
		if _, err := s.sbEngine().CreateSubscription(ctx, topic, sub.Name, decl(broker.QueueProperties{}), first); err != nil {
			return err
		}
		for _, r := range rules[min(1, len(rules)):] {
			if _, err := s.sbEngine().AddRule(ctx, topic, sub.Name, r, false); err != nil {
				return err
			}
		}
		s.log.Info("subscription created from the config", "topic", topic, "subscription", sub.Name, "rules", max(len(rules), 1))
		return nil
	}
	want := decl(cur.Properties)
	s.keepSession(path, cur.Properties, &want)
	if want != cur.Properties {
		if _, err := s.sbEngine().UpdateSubscription(ctx, topic, sub.Name, want); err != nil {
			return err
		}
		s.log.Info("subscription updated to the config's properties", "topic", topic, "subscription", sub.Name)
	}
	have, err := s.sbEngine().Rules(topic, sub.Name)
	if err != nil {
		return err
	}
	for _, r := range rules {
		i := indexRule(have, r.Name)
		switch {
		case i < 0:
			if _, err := s.sbEngine().AddRule(ctx, topic, sub.Name, r, false); err != nil {
				return err
			}
			s.log.Info("rule added from the config", "topic", topic, "subscription", sub.Name, "rule", r.Name)
		case !sameRule(have[i], r):
			if _, err := s.sbEngine().AddRule(ctx, topic, sub.Name, r, true); err != nil {
				return err
			}
			s.log.Info("rule replaced by the config's", "topic", topic, "subscription", sub.Name, "rule", r.Name)
		}
	}
	return nil
}

// declareForwarding sets an entity's auto-forward destinations when they
// differ from the declared ones.
func (s *Server) declareForwarding(ctx context.Context, path, to, dlqTo string) error {
	info, err := s.sbEngine().GetEntity(path)
	if err != nil {
		return err
	}
	p := info.Properties
	if p.ForwardTo == to && p.ForwardDeadLetteredMessagesTo == dlqTo {
		return nil
	}
	p.ForwardTo, p.ForwardDeadLetteredMessagesTo = to, dlqTo
	if topic, sub, ok := broker.SplitSubscriptionPath(info.Name); ok && info.Kind == broker.KindSubscription {
		_, err = s.sbEngine().UpdateSubscription(ctx, topic, sub, p)
	} else {
		_, err = s.sbEngine().UpdateQueue(ctx, path, p)
	}
	return err
}

func indexRule(rules []broker.Rule, name string) int {
	for i := range rules {
		if strings.EqualFold(rules[i].Name, name) {
			return i
		}
	}
	return -1
}

// sameRule reports whether two rules have the same filter and action.
func sameRule(a, b broker.Rule) bool {
	a.CreatedAt, b.CreatedAt = time.Time{}, time.Time{}
	a.Name, b.Name = "", ""
	return reflect.DeepEqual(norm(a), norm(b))
}

// norm makes empty maps nil, so that an absent and an empty map compare
// equal.
func norm(r broker.Rule) broker.Rule {
	if len(r.Filter.Parameters) == 0 {
		r.Filter.Parameters = nil
	}
	if len(r.ActionParameters) == 0 {
		r.ActionParameters = nil
	}
	if c := r.Filter.Correlation; c != nil && len(c.Properties) == 0 {
		cc := *c
		cc.Properties = nil
		r.Filter.Correlation = &cc
	}
	return r
}

// brokerRule converts a declared rule (config.Rule.Check has passed).
func brokerRule(r *config.Rule) (broker.Rule, error) {
	out := broker.Rule{Name: r.Name}
	kind, err := r.Filter.Kind()
	if err != nil {
		return out, err
	}
	f := &r.Filter
	switch kind {
	case config.FilterSQL:
		out.Filter = broker.RuleFilter{Kind: broker.FilterSQL, SQL: f.SQLExpression}
		if out.Filter.Parameters, err = config.ResolveValues(f.Parameters); err != nil {
			return out, fmt.Errorf("filter parameters: %w", err)
		}
	case config.FilterCorrelation:
		props, err := config.ResolveValues(f.Properties)
		if err != nil {
			return out, fmt.Errorf("filter properties: %w", err)
		}
		out.Filter = broker.RuleFilter{Kind: broker.FilterCorrelation, Correlation: &broker.CorrelationFilter{
			CorrelationID: f.CorrelationID, MessageID: f.MessageID, To: f.To, ReplyTo: f.ReplyTo,
			Subject: f.SubjectOrLabel(), SessionID: f.SessionID, ReplyToSessionID: f.ReplyToSessionID,
			ContentType: f.ContentType, Properties: props,
		}}
	case config.FilterTrue:
		out.Filter = broker.RuleFilter{Kind: broker.FilterTrue}
	case config.FilterFalse:
		out.Filter = broker.RuleFilter{Kind: broker.FilterFalse}
	}
	if a := r.Action; a != nil {
		out.Action = a.SQLExpression
		if out.ActionParameters, err = config.ResolveValues(a.Parameters); err != nil {
			return out, fmt.Errorf("action parameters: %w", err)
		}
	}
	return out, nil
}
