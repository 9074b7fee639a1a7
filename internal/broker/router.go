package broker

// Router evaluates subscription rules for engines that keep topics outside
// the broker's memory (internal/pgbroker): the same compilation, the same
// evaluation and the same rule actions as a topic send here.
type Router struct {
	codec MessageCodec
}

// NewRouter returns a Router reading and rewriting AMQP bodies with codec
// (nil: rules see only Message.Properties).
func NewRouter(codec MessageCodec) *Router { return &Router{codec: codec} }

// CompiledRules are one subscription's rules, compiled.
type CompiledRules struct {
	rules    []*compiledRule
	dlqOnErr bool // DeadLetteringOnFilterEvaluationExceptions
	session  bool // RequiresSession
}

// CompileRules compiles the rules of a subscription with properties p.
// Errors are CodeInvalidArgument, as AddRule's.
func CompileRules(rules []Rule, p QueueProperties) (*CompiledRules, error) {
	cr := &CompiledRules{dlqOnErr: p.DeadLetteringOnFilterEvaluationExceptions, session: p.RequiresSession}
	for i := range rules {
		c, err := compileRule(&rules[i])
		if err != nil {
			return nil, err
		}
		cr.rules = append(cr.rules, c)
	}
	return cr, nil
}

// CompileRule checks and compiles one rule (as AddRule does) without
// keeping it.
func CompileRule(r Rule) error {
	_, err := compileRule(&r)
	return err
}

// AppProperties returns m's application properties as rules see them (the
// body's merged with m.Properties). Read it once per message and pass it to
// Copies for every subscription.
func (r *Router) AppProperties(m *Message) (map[string]any, error) {
	return appProperties(r.codec, m)
}

// Copies returns the copies a subscription with rules cr gets of topic
// message m, whose application properties are props: m itself (unchanged;
// the caller may share its body) when a rule without an action matches,
// plus one changed copy per matching rule with an action; a dead-lettered
// copy when a filter fails and the subscription dead-letters on filter
// errors. A copy without a session id for a subscription that requires
// sessions is dead-lettered, as Service Bus does. Copies other than m are
// the caller's.
func (r *Router) Copies(cr *CompiledRules, m *Message, props map[string]any) ([]*Message, error) {
	view := &msgView{m: m, props: props, size: int64(len(m.Body))}
	out, err := matchRules(cr.rules, cr.dlqOnErr, r.codec, m, view)
	if err != nil {
		return nil, err
	}
	if cr.session {
		for i, c := range out {
			if c.SessionID == "" && !c.DeadLettered {
				if c == m {
					c = m.clone()
					out[i] = c
				}
				deadLetterUpdate(c, noSessionReason, noSessionDescription, nil).Apply(c)
			}
		}
	}
	return out, nil
}
