package broker

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

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

// Auto-forwarding moves messages that become available in an entity with
// ForwardTo (or, with ForwardDeadLetteredMessagesTo, in its dead-letter
// sub-queue) to the destination. A move is atomic: the destination's
// enqueue and the source's removal are one store group. The source entries
// are marked settling while the move is in flight, so no receiver takes
// them and no lock is held across entities; a failed move puts them back
// and is retried a second later.
//
// Moves run at the start of every broker operation (as due timers do, so
// that tests on a fake clock see them at once) and on the timer goroutine.

// forwardBatch bounds the messages one move takes.
const forwardBatch = 256

// forwardRetry is how long a failed move waits before it is tried again.
const forwardRetry = time.Second

// forwarding is the broker's set of entities with messages to forward.
type forwarding struct {
	mu      sync.Mutex // leaf lock
	pending map[*entity]struct{}
	any     atomic.Bool
	run     sync.Mutex // serialises runForwards
}

// forwardsLocked reports whether e forwards the sub-queue dlq.
func (e *entity) forwardsLocked(dlq bool) bool {
	p := &e.def.Properties
	if dlq {
		return p.ForwardDeadLetteredMessagesTo != ""
	}
	return p.ForwardTo != ""
}

// markForwardLocked notes that e has messages to forward.
func (e *entity) markForwardLocked() {
	f := &e.b.fwd
	f.mu.Lock()
	if f.pending == nil {
		f.pending = make(map[*entity]struct{})
	}
	f.pending[e] = struct{}{}
	f.mu.Unlock()
	if !f.any.Swap(true) {
		select {
		case e.b.kick <- struct{}{}:
		default:
		}
	}
}

// runForwards moves messages out of every entity marked for forwarding.
func (b *Broker) runForwards() {
	f := &b.fwd
	if !f.any.Load() {
		return
	}
	f.run.Lock()
	defer f.run.Unlock()
	for {
		f.mu.Lock()
		var srcs []*entity
		for e := range f.pending {
			srcs = append(srcs, e)
		}
		clear(f.pending)
		f.any.Store(false)
		f.mu.Unlock()
		if len(srcs) == 0 {
			return
		}
		for _, src := range srcs {
			for _, dlq := range []bool{false, true} {
				for b.forwardFrom(src, dlq) {
				}
			}
		}
	}
}

// forwardFrom makes one move out of src's main or dead-letter sub-queue and
// reports whether there may be more to move.
func (b *Broker) forwardFrom(src *entity, dlq bool) bool {
	ctx := context.Background()
	src.mu.Lock()
	if src.existsLocked() != nil || !src.forwardsLocked(dlq) {
		src.mu.Unlock()
		return false
	}
	dest := src.def.Properties.ForwardTo
	if dlq {
		dest = src.def.Properties.ForwardDeadLetteredMessagesTo
	}
	q := src.sub(dlq)
	var ens []*entry
	for _, en := range q.order {
		if len(ens) == forwardBatch {
			break
		}
		if q.live(en) && en.st == stAvailable {
			ens = append(ens, en)
		}
	}
	if len(ens) == 0 {
		src.mu.Unlock()
		return false
	}
	msgs := make([]*Message, len(ens))
	extra := make([]Record, len(ens))
	for i, en := range ens {
		src.beginSettleLocked(en)
		msgs[i] = en.msg.clone()
		extra[i] = Record{Kind: RecRemove, Entity: src.key, Seq: en.msg.SequenceNumber}
	}
	src.mu.Unlock()

	err := b.forwardTo(ctx, src, dest, dlq, msgs, extra)

	src.mu.Lock()
	defer src.mu.Unlock()
	now := b.clock.Now()
	for _, en := range ens {
		if en.st != stSettling {
			continue
		}
		if err != nil {
			src.revertLocked(en, now)
		} else {
			src.removeLocked(en)
		}
	}
	if err != nil {
		// The revert marked src again; the retry waits for the timer.
		b.fwd.mu.Lock()
		delete(b.fwd.pending, src)
		b.fwd.mu.Unlock()
		if CodeOf(err) != CodeClosed {
			b.log.Warn("auto-forward failed; retrying", "from", src.def.Name, "to", dest, "err", err)
			b.timers.add(timerEvent{when: now.Add(forwardRetry), kind: evForward, ent: src})
		}
		return false
	}
	return len(ens) == forwardBatch
}

// forwardTo sends msgs (taken from src) to dest together with the extra
// records that remove them from src.
func (b *Broker) forwardTo(ctx context.Context, src *entity, dest string, dlq bool, msgs []*Message, extra []Record) error {
	d, ddlq, err := b.lookup(dest)
	if err != nil {
		return err
	}
	if ddlq || d.sq != nil || d.topic != nil {
		return errorf(CodeInvalidArgument, "auto-forward destination %q is not a queue or topic", dest)
	}
	if _, err := b.withBodies(ctx, src, msgs); err != nil {
		return err
	}
	o := sendOpts{extra: extra}
	for _, m := range msgs {
		m.SharedBody, m.TopicSeq = false, 0
		m.ScheduledEnqueueTime = time.Time{}
		if m.Body == nil {
			m.Body = []byte{}
		}
		if dlq {
			// The message leaves the dead-letter sub-queue as a plain
			// message of the destination; its reason stays in its
			// properties.
			m.DeadLettered = false
		}
	}
	if dlq {
		o.source = src.def.Name
	}
	_, err = b.send(ctx, d, msgs, o)
	return err
}
