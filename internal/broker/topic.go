package broker

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// This file holds topics and subscriptions. A topic stores no messages of
// its own: a send to a topic evaluates every subscription's rules and
// enqueues a copy into each subscription that has a matching rule, all in
// one store group (atomic and durable together). The body is stored once,
// as a record of the topic entity under the topic's sequence number; the
// copies carry SharedBody and refer to it, and the topic removes it when
// the last copy is gone. A copy changed by a rule action gets a body of its
// own.
//
// Lock order: Broker.mu → topic.mu → subscription.mu (by key) →
// topicState.bodyMu. A subscription's rules and the topic's list of
// subscriptions are guarded by topic.mu.

// SubscriptionsSegment joins a topic and a subscription name in a path.
const SubscriptionsSegment = "/Subscriptions/"

// SubscriptionPath returns the entity path of subscription sub of topic.
func SubscriptionPath(topic, sub string) string { return topic + SubscriptionsSegment + sub }

// SplitSubscriptionPath splits "topic/Subscriptions/sub" (case-insensitive
// segment); ok is false for any other path.
func SplitSubscriptionPath(path string) (topic, sub string, ok bool) {
	i := strings.LastIndex(strings.ToLower(path), strings.ToLower(SubscriptionsSegment))
	if i <= 0 || i+len(SubscriptionsSegment) >= len(path) {
		return "", "", false
	}
	return path[:i], path[i+len(SubscriptionsSegment):], true
}

// topicState is a topic's own state.
type topicState struct {
	subs  []*entity  // sorted by key; guarded by the topic's mu
	index *ruleIndex // built on demand from subs; nil when stale
	// propsUnneeded: no rule of any subscription reads properties (every
	// filter is True or False, no actions), so sends need not read them
	// out of the bodies. A hint read without the lock; needProps decides.
	propsUnneeded atomic.Bool
	cands         []*entity // scratch for sendTopic

	bodyMu sync.Mutex
	bodies map[int64]*sharedBody // by topic sequence number
}

func newTopicState() *topicState { return &topicState{bodies: make(map[int64]*sharedBody)} }

// sharedBody is one stored topic body and the number of copies using it.
type sharedBody struct {
	topic  *entity
	seq    int64
	refs   atomic.Int32
	onDisk atomic.Bool // the store holds it (read back with ReadBody)
	// body is kept only at restore from a store that keeps bodies in the
	// broker's memory (no BodyRef), for the copies to share.
	body []byte
}

func (sb *sharedBody) stored() { sb.onDisk.Store(true) }

// release drops one reference; the last one removes the stored body.
func (sb *sharedBody) release() {
	if sb.refs.Add(-1) != 0 {
		return
	}
	t := sb.topic
	tp := t.tp
	tp.bodyMu.Lock()
	if tp.bodies[sb.seq] == sb {
		delete(tp.bodies, sb.seq)
	}
	tp.bodyMu.Unlock()
	t.b.submitAsyncLocked([]Record{{Kind: RecRemove, Entity: t.key, Seq: sb.seq}})
}

// CreateTopic creates a topic. Zero properties take Service Bus's defaults.
func (b *Broker) CreateTopic(ctx context.Context, name string, props QueueProperties) (*EntityInfo, error) {
	b.runDue()
	if err := ValidateEntityName(name, b.limits.MaxNameLength); err != nil {
		return nil, err
	}
	if _, _, ok := SplitSubscriptionPath(name); ok {
		return nil, errorf(CodeInvalidArgument, "topic name %q may not contain %q", name, SubscriptionsSegment)
	}
	props = topicProps(props.withDefaults())
	if err := props.validate(b.limits); err != nil {
		return nil, err
	}
	now := b.clock.Now()
	return b.createEntity(Entity{Name: name, Kind: KindTopic, Properties: props, CreatedAt: now, UpdatedAt: now})
}

// topicProps clears the settings a topic does not have.
func topicProps(p QueueProperties) QueueProperties {
	d := DefaultQueueProperties()
	p.LockDuration = d.LockDuration
	p.MaxDeliveryCount = d.MaxDeliveryCount
	p.RequiresSession = false
	p.DeadLetteringOnMessageExpiration = false
	p.DeadLetteringOnFilterEvaluationExceptions = false
	p.ForwardTo, p.ForwardDeadLetteredMessagesTo = "", ""
	return p
}

// CreateSubscription creates subscription sub of topic with the given rule
// (nil: $Default with a TrueFilter).
func (b *Broker) CreateSubscription(ctx context.Context, topic, sub string, props QueueProperties, rule *Rule) (*EntityInfo, error) {
	b.runDue()
	if err := validateSubscriptionName(sub); err != nil {
		return nil, err
	}
	props = props.withDefaults()
	props.RequiresDuplicateDetection = false
	if err := props.validate(b.limits); err != nil {
		return nil, err
	}
	r := TrueRule(DefaultRuleName)
	if rule != nil {
		r = cloneRule(*rule)
		if r.Name == "" {
			r.Name = DefaultRuleName
		}
	}
	now := b.clock.Now()
	r.CreatedAt = now
	cr, err := compileRule(&r)
	if err != nil {
		return nil, err
	}
	t, dlq, err := b.lookup(topic)
	if err != nil {
		return nil, err
	}
	if dlq || t.tp == nil {
		return nil, errorf(CodeNotFound, "topic %q not found", topic)
	}
	def := Entity{Name: SubscriptionPath(t.def.Name, sub), Kind: KindSubscription, Properties: props,
		CreatedAt: now, UpdatedAt: now, Rules: []Rule{r}}
	if err := b.checkForwarding(def.Key(), props); err != nil {
		return nil, err
	}
	key := def.Key()

	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, ErrClosed
	}
	if b.entities[t.key] != t {
		b.mu.Unlock()
		return nil, errorf(CodeNotFound, "topic %q not found", topic)
	}
	if _, ok := b.entities[key]; ok {
		b.mu.Unlock()
		return nil, errorf(CodeEntityExists, "subscription %q already exists", def.Name)
	}
	if len(b.entities) >= b.limits.MaxEntities {
		b.mu.Unlock()
		return nil, errorf(CodeQuotaExceeded, "the namespace already holds %d entities", len(b.entities))
	}
	t.mu.Lock()
	if err := t.existsLocked(); err != nil {
		t.mu.Unlock()
		b.mu.Unlock()
		return nil, err
	}
	if len(t.tp.subs) >= b.limits.MaxSubscriptions {
		t.mu.Unlock()
		b.mu.Unlock()
		return nil, errorf(CodeQuotaExceeded, "topic %q already has %d subscriptions, the limit", t.def.Name, len(t.tp.subs))
	}
	e := newEntity(b, def)
	e.topic = t
	e.rules = []*compiledRule{cr}
	e.creating = true
	b.entities[key] = e
	t.tp.addSub(e)
	e.mu.Lock()
	ch := b.submitLocked([]Record{{Kind: RecEntityPut, Entity: key, Def: &def}})
	e.mu.Unlock()
	t.mu.Unlock()
	b.mu.Unlock()

	if err := wait(ch); err != nil {
		b.mu.Lock()
		if b.entities[key] == e {
			delete(b.entities, key)
		}
		t.mu.Lock()
		t.tp.removeSub(e)
		t.mu.Unlock()
		b.mu.Unlock()
		return nil, err
	}
	// creating changes under the topic's lock too: sends read it there.
	t.mu.Lock()
	defer t.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.creating = false
	e.lastActivity = now
	e.scheduleIdleLocked()
	return e.infoLocked(), nil
}

func validateSubscriptionName(sub string) error {
	if sub == "" || len(sub) > 50 {
		return errorf(CodeInvalidArgument, "subscription name %q must be 1 to 50 characters", sub)
	}
	if strings.Contains(sub, "/") {
		return errorf(CodeInvalidArgument, "subscription name %q may not contain '/'", sub)
	}
	return ValidateEntityName(sub, 50)
}

func (tp *topicState) addSub(e *entity) {
	i, _ := slices.BinarySearchFunc(tp.subs, e.key, func(x *entity, k string) int { return strings.Compare(x.key, k) })
	tp.subs = slices.Insert(tp.subs, i, e)
	tp.index = nil
}

func (tp *topicState) removeSub(e *entity) {
	tp.subs = slices.DeleteFunc(tp.subs, func(x *entity) bool { return x == e })
	tp.index = nil
}

// UpdateTopic replaces a topic's properties.
func (b *Broker) UpdateTopic(ctx context.Context, name string, props QueueProperties) (*EntityInfo, error) {
	return b.updateEntity(name, KindTopic, topicProps(props.withDefaults()))
}

// UpdateSubscription replaces a subscription's properties (not its rules).
func (b *Broker) UpdateSubscription(ctx context.Context, topic, sub string, props QueueProperties) (*EntityInfo, error) {
	props = props.withDefaults()
	props.RequiresDuplicateDetection = false
	return b.updateEntity(SubscriptionPath(topic, sub), KindSubscription, props)
}

// ListSubscriptions returns a topic's subscriptions, sorted by name.
func (b *Broker) ListSubscriptions(topic string) ([]*EntityInfo, error) {
	b.runDue()
	t, dlq, err := b.lookup(topic)
	if err != nil {
		return nil, err
	}
	if dlq || t.tp == nil {
		return nil, errorf(CodeNotFound, "topic %q not found", topic)
	}
	t.mu.Lock()
	if err := t.existsLocked(); err != nil {
		t.mu.Unlock()
		return nil, err
	}
	subs := slices.Clone(t.tp.subs)
	t.mu.Unlock()
	out := make([]*EntityInfo, 0, len(subs))
	for _, e := range subs {
		e.mu.Lock()
		if e.existsLocked() == nil {
			out = append(out, e.infoLocked())
		}
		e.mu.Unlock()
	}
	return out, nil
}

// subscription resolves topic/sub to the subscription entity.
func (b *Broker) subscription(topic, sub string) (*entity, error) {
	e, dlq, err := b.lookup(SubscriptionPath(topic, sub))
	if err != nil || dlq || e.topic == nil {
		return nil, errorf(CodeNotFound, "subscription %q of topic %q not found", sub, topic)
	}
	return e, nil
}

// Rules returns a subscription's rules in the order they were added.
func (b *Broker) Rules(topic, sub string) ([]Rule, error) {
	b.runDue()
	e, err := b.subscription(topic, sub)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.existsLocked(); err != nil {
		return nil, err
	}
	out := make([]Rule, len(e.def.Rules))
	for i, r := range e.def.Rules {
		out[i] = cloneRule(r)
	}
	return out, nil
}

// AddRule adds a rule to a subscription. A rule of the same name is
// CodeEntityExists unless replace is set (then it is replaced, and a
// missing one is CodeNotFound).
func (b *Broker) AddRule(ctx context.Context, topic, sub string, r Rule, replace bool) (*Rule, error) {
	b.runDue()
	r = cloneRule(r)
	r.CreatedAt = b.clock.Now()
	cr, err := compileRule(&r)
	if err != nil {
		return nil, err
	}
	e, err := b.subscription(topic, sub)
	if err != nil {
		return nil, err
	}
	err = b.changeRules(e, func(rules []Rule) ([]Rule, error) {
		i := slices.IndexFunc(rules, func(x Rule) bool { return strings.EqualFold(x.Name, r.Name) })
		switch {
		case i >= 0 && !replace:
			return nil, errorf(CodeEntityExists, "rule %q already exists in subscription %q", r.Name, e.def.Name)
		case i < 0 && replace:
			return nil, errorf(CodeNotFound, "rule %q not found in subscription %q", r.Name, e.def.Name)
		case i >= 0:
			r.CreatedAt = rules[i].CreatedAt
			out := slices.Clone(rules)
			out[i] = r
			return out, nil
		case len(rules) >= b.limits.MaxRules:
			return nil, errorf(CodeQuotaExceeded, "subscription %q already has %d rules, the limit", e.def.Name, len(rules))
		}
		return append(slices.Clone(rules), r), nil
	}, map[string]*compiledRule{EntityKey(r.Name): cr})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// RemoveRule removes a subscription's rule; a missing rule is CodeNotFound.
func (b *Broker) RemoveRule(ctx context.Context, topic, sub, name string) error {
	b.runDue()
	e, err := b.subscription(topic, sub)
	if err != nil {
		return err
	}
	return b.changeRules(e, func(rules []Rule) ([]Rule, error) {
		i := slices.IndexFunc(rules, func(x Rule) bool { return strings.EqualFold(x.Name, name) })
		if i < 0 {
			return nil, errorf(CodeNotFound, "rule %q not found in subscription %q", name, e.def.Name)
		}
		return slices.Delete(slices.Clone(rules), i, i+1), nil
	}, nil)
}

// changeRules replaces a subscription's rules with change(rules), durably,
// under the topic's lock so that no send sees half a change. compiled holds
// rules compiled by the caller, by folded name; the others are reused.
func (b *Broker) changeRules(e *entity, change func([]Rule) ([]Rule, error), compiled map[string]*compiledRule) error {
	t := e.topic
	t.mu.Lock()
	e.mu.Lock()
	if err := e.usableLocked(); err != nil {
		e.mu.Unlock()
		t.mu.Unlock()
		return err
	}
	rules, err := change(e.def.Rules)
	if err != nil {
		e.mu.Unlock()
		t.mu.Unlock()
		return err
	}
	old := make(map[string]*compiledRule, len(e.rules))
	for _, cr := range e.rules {
		old[EntityKey(cr.name)] = cr
	}
	crs := make([]*compiledRule, 0, len(rules))
	for i := range rules {
		k := EntityKey(rules[i].Name)
		cr := compiled[k]
		if cr == nil {
			cr = old[k]
		}
		if cr == nil {
			if cr, err = compileRule(&rules[i]); err != nil {
				e.mu.Unlock()
				t.mu.Unlock()
				return err
			}
		}
		crs = append(crs, cr)
	}
	def := e.def
	def.Rules = rules
	def.UpdatedAt = b.clock.Now()
	ch := b.submitLocked([]Record{{Kind: RecEntityPut, Entity: e.key, Def: &def}})
	e.mu.Unlock()
	// The topic stays locked until the change is durable: sends evaluate
	// either the old rules or the new ones, never rules not yet written.
	err = wait(ch)
	if err == nil {
		e.mu.Lock()
		e.def = def
		e.rules = crs
		e.mu.Unlock()
		t.tp.index = nil
	}
	t.mu.Unlock()
	return err
}

// route is where one message of a topic send goes.
type route struct {
	sub  *entity
	msgs []*Message // copies for this subscription
}

// sendTopic is Send for a topic: see the file comment and topic_send.go.
func (b *Broker) sendTopic(ctx context.Context, t *entity, msgs []*Message, o sendOpts) ([]int64, error) {
	// Application properties inside bodies are read before any lock, and
	// only when some rule can look at them (not for True/False filters).
	props := make([]map[string]any, len(msgs))
	read := false
	readProps := func() error {
		for i, m := range msgs {
			p, err := b.appProperties(m)
			if err != nil {
				return errorf(CodeInvalidArgument, "message %d: %v", i, err)
			}
			props[i] = p
		}
		read = true
		return nil
	}
	if !t.tp.propsUnneeded.Load() {
		if err := readProps(); err != nil {
			return nil, err
		}
	}
	t.mu.Lock()
	if !read && t.tp.needProps() {
		// The rules changed since the check above.
		t.mu.Unlock()
		if err := readProps(); err != nil {
			return nil, err
		}
		t.mu.Lock()
	}
	ts, err := t.prepareTopicSendOpts(msgs, props, b.clock.Now(), o, true)
	if err != nil {
		t.mu.Unlock()
		return nil, err
	}
	recs := append(ts.recs, o.extra...)
	if len(recs) == 0 {
		ts.unlockSubs()
		t.mu.Unlock()
		return ts.seqs, nil
	}
	ch := b.submitLocked(recs)
	ts.unlockSubs()
	t.mu.Unlock()
	err = wait(ch)
	ts.finish(err)
	if err != nil {
		return nil, err
	}
	return ts.seqs, nil
}

// matchViewLocked evaluates s's rules for the topic message m seen through
// view (one per message, not per subscription) and returns the copies s
// gets: m itself (shared, unchanged) when a rule without an action matches,
// plus one changed copy per matching rule with an action. REQUIRES: the
// topic's mu.
func (s *entity) matchViewLocked(m *Message, view *msgView) ([]*Message, error) {
	return matchRules(s.rules, s.def.Properties.DeadLetteringOnFilterEvaluationExceptions, s.b.codec, m, view)
}

// matchRules is matchViewLocked for rules of a subscription with the given
// DeadLetteringOnFilterEvaluationExceptions, rewriting changed AMQP
// bodies with codec.
func matchRules(rules []*compiledRule, dlqOnErr bool, codec MessageCodec, m *Message, view *msgView) ([]*Message, error) {
	var out []*Message
	plain := false
	for _, r := range rules {
		if r.never {
			continue
		}
		if !r.always {
			ok, err := r.match.Eval(view)
			if err != nil {
				if dlqOnErr {
					c := m.clone()
					deadLetterUpdate(c, "FilterEvaluationException", err.Error(), nil).Apply(c)
					out = append(out, c)
					return out, nil
				}
				continue
			}
			if !ok {
				continue
			}
		}
		if r.action == nil {
			plain = true
			continue
		}
		c, err := actionCopy(codec, m, view.props, r)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if plain {
		out = append([]*Message{m}, out...)
	}
	return out, nil
}

// actionCopy applies rule r's action to a copy of m.
func actionCopy(codec MessageCodec, m *Message, props map[string]any, r *compiledRule) (*Message, error) {
	c := m.clone()
	view := msgView{m: c, props: props, size: m.BodySize}
	if err := r.action.Apply(&view); err != nil {
		return nil, errorf(CodeInvalidArgument, "rule %q: action failed: %v", r.name, err)
	}
	view.ownProps()
	view.props["RuleName"] = r.name
	if c.Format == FormatAMQP && codec != nil {
		body, err := codec.Rewrite(c, view.props)
		if err != nil {
			return nil, errorf(CodeInvalidArgument, "rule %q: %v", r.name, err)
		}
		c.Body = body
		c.Properties = nil
	} else {
		c.Properties = view.props
	}
	c.BodySize = int64(len(c.Body))
	return c, nil
}

// appProperties returns the application properties filters see for m.
func (b *Broker) appProperties(m *Message) (map[string]any, error) {
	return appProperties(b.codec, m)
}

// appProperties returns m's application properties as rules see them: the
// body's (read with codec), merged with m.Properties.
func appProperties(codec MessageCodec, m *Message) (map[string]any, error) {
	if m.Format != FormatAMQP || codec == nil {
		return m.Properties, nil
	}
	p, err := codec.AppProperties(m)
	if err != nil {
		return nil, err
	}
	if len(m.Properties) > 0 {
		p = mergeProperties(p, m.Properties)
	}
	return p, nil
}

// The dead-letter reason and description Service Bus gives the copy of a
// message without a session id that a subscription requiring sessions gets.
const (
	noSessionReason      = "Session id is null."
	noSessionDescription = "Session enabled entity doesn't allow a message whose session identifier is null."
)

// acceptCopiesLocked checks that s can take msgs, and dead-letters the
// copies a session subscription cannot hold (no session id).
func (s *entity) acceptCopiesLocked(msgs []*Message) error {
	if err := s.existsLocked(); err != nil {
		return err
	}
	p := &s.def.Properties
	var n int64
	for _, m := range msgs {
		if p.RequiresSession && m.SessionID == "" && !m.DeadLettered {
			// Service Bus accepts the send and dead-letters this copy (a
			// queue that requires sessions refuses the send instead).
			deadLetterUpdate(m, noSessionReason, noSessionDescription, nil).Apply(m)
		}
		n += m.BodySize
	}
	if s.counts.SizeBytes+s.pendingBytes+n > p.MaxSizeInMegabytes<<20 {
		return errorf(CodeQuotaExceeded, "subscription %q is full: it holds %d bytes and MaxSizeInMegabytes is %d",
			s.def.Name, s.counts.SizeBytes+s.pendingBytes, p.MaxSizeInMegabytes)
	}
	return nil
}

// enqueueCopiesLocked adds copies to s as pending entries and returns them
// with their records. Shared copies take a reference on their body.
func (s *entity) enqueueCopiesLocked(msgs []*Message, bodies map[int64]*sharedBody, now time.Time) ([]*entry, []Record) {
	p := &s.def.Properties
	entries := make([]*entry, 0, len(msgs))
	recs := make([]Record, 0, len(msgs))
	s.lastActivity = now
	for _, c := range msgs {
		s.lastSeq++
		c.SequenceNumber = s.lastSeq
		c.ExpiresAt = expiry(c.EnqueuedTime, c.TimeToLive, min(p.DefaultMessageTimeToLive, s.topic.def.Properties.DefaultMessageTimeToLive))
		en := &entry{msg: c, st: stPending}
		rm := c
		if c.SharedBody {
			en.shared = bodies[c.TopicSeq]
			en.shared.refs.Add(1)
			rm = c.clone()
			rm.Body = nil
		}
		s.sub(c.DeadLettered).insert(en)
		if !c.DeadLettered && p.RequiresSession {
			s.sessionLocked(c.SessionID).live++
		}
		s.pending = append(s.pending, en)
		s.pendingBytes += c.BodySize
		entries = append(entries, en)
		recs = append(recs, Record{Kind: RecEnqueue, Entity: s.key, Msg: rm})
	}
	return entries, recs
}

// needProps reports whether a send must read application properties for
// the rules: some filter is neither True nor False, or some rule has an
// action. It builds the index if needed. REQUIRES: the topic's mu.
func (tp *topicState) needProps() bool {
	if tp.index == nil {
		tp.index = buildRuleIndex(tp.subs)
	}
	tp.propsUnneeded.Store(!tp.index.props)
	return tp.index.props
}
