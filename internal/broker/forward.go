package broker

// checkForwarding refuses auto-forward settings that would make a loop or a
// chain longer than Limits.MaxForwardHops, or that name an entity that does
// not exist or cannot receive (a subscription or storage queue), as Service
// Bus does at configuration time. key is the entity being configured.
func (b *Broker) checkForwarding(key string, p QueueProperties) error {
	for _, dest := range []string{p.ForwardTo, p.ForwardDeadLetteredMessagesTo} {
		if dest == "" {
			continue
		}
		seen := map[string]bool{key: true}
		hops := 0
		next := dest
		b.mu.RLock()
		for next != "" {
			k := EntityKey(next)
			if seen[k] {
				b.mu.RUnlock()
				return errorf(CodeInvalidArgument, "auto-forwarding to %q would make a loop", dest)
			}
			seen[k] = true
			hops++
			if hops > b.limits.MaxForwardHops {
				b.mu.RUnlock()
				return errorf(CodeInvalidArgument, "auto-forwarding to %q makes a chain of more than %d hops", dest, b.limits.MaxForwardHops)
			}
			d := b.entities[k]
			if d == nil {
				b.mu.RUnlock()
				return errorf(CodeInvalidArgument, "auto-forward destination %q does not exist", next)
			}
			if d.def.Kind != KindQueue && d.def.Kind != KindTopic {
				b.mu.RUnlock()
				return errorf(CodeInvalidArgument, "auto-forward destination %q is a %s; only queues and topics can be destinations", next, d.def.Kind)
			}
			next = d.def.Properties.ForwardTo // guarded by d.mu; a racy read only weakens this check
		}
		b.mu.RUnlock()
	}
	return nil
}
