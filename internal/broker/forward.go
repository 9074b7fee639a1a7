package broker

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// checkForwarding refuses auto-forward settings that would make a loop or a
// chain longer than Limits.MaxForwardHops, or whose first destination does
// not exist or cannot receive (a subscription or storage queue), as Service
// Bus does at configuration time. key is the entity being configured with
// properties p. A topic leads on to every subscription of it, and each
// subscription's own forwarding is followed from there.
func (b *Broker) checkForwarding(key string, p QueueProperties) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, dest := range []string{p.ForwardTo, p.ForwardDeadLetteredMessagesTo} {
		if dest == "" {
			continue
		}
		d := b.entities[EntityKey(dest)]
		if d == nil {
			return errorf(CodeInvalidArgument, "auto-forward destination %q does not exist", dest)
		}
		if d.def.Kind != KindQueue && d.def.Kind != KindTopic {
			return errorf(CodeInvalidArgument, "auto-forward destination %q is a %s; only queues and topics can be destinations", dest, d.def.Kind)
		}
		w := fwdWalk{b: b, key: key, p: p, onPath: map[string]bool{key: true}}
		if topic, _, ok := SplitSubscriptionPath(key); ok {
			// A subscription (maybe not created yet) is part of its topic.
			w.parent = EntityKey(topic)
		}
		if err := w.visit(d, 1, dest); err != nil {
			return err
		}
	}
	return nil
}

// fwdWalk is a depth-first walk of the forwarding graph. REQUIRES: b.mu.
type fwdWalk struct {
	b      *Broker
	key    string          // the entity being configured
	p      QueueProperties // its new properties
	parent string          // the key of its topic, when it is a subscription
	onPath map[string]bool
	steps  int
}

// forwardOf returns e's ForwardTo, with the new setting for the entity
// being configured.
func (w *fwdWalk) forwardOf(e *entity) string {
	if e.key == w.key {
		return w.p.ForwardTo
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.def.Properties.ForwardTo
}

func (w *fwdWalk) visit(e *entity, hops int, dest string) error {
	if w.onPath[e.key] {
		return errorf(CodeInvalidArgument, "auto-forwarding to %q would make a loop through %q", dest, e.def.Name)
	}
	if hops > w.b.limits.MaxForwardHops {
		return errorf(CodeInvalidArgument, "auto-forwarding to %q makes a chain of more than %d hops", dest, w.b.limits.MaxForwardHops)
	}
	if w.steps++; w.steps > 100000 {
		return errorf(CodeInvalidArgument, "auto-forwarding to %q: the forwarding graph is too large to check", dest)
	}
	if e.key == w.parent {
		return errorf(CodeInvalidArgument, "auto-forwarding to %q would make a loop back into topic %q", dest, e.def.Name)
	}
	w.onPath[e.key] = true
	defer delete(w.onPath, e.key)
	var next []*entity
	var nextHops []int
	if e.tp != nil {
		// Fan-out is not a hop; each subscription is a step of its own.
		e.mu.Lock()
		subs := slices.Clone(e.tp.subs)
		e.mu.Unlock()
		for _, s := range subs {
			next = append(next, s)
			nextHops = append(nextHops, hops)
		}
	} else if f := w.forwardOf(e); f != "" {
		if d := w.b.entities[EntityKey(f)]; d != nil {
			next = append(next, d)
			nextHops = append(nextHops, hops+1)
		}
	}
	for i, n := range next {
		if err := w.visit(n, nextHops[i], dest); err != nil {
			return err
		}
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

// forwardRounds bounds the moves one runForwards makes per entity and the
// passes it makes over newly marked entities, so an operation never spins.
const forwardRounds = 16

// forwardRetry is how long a failed move waits before it is tried again.
const forwardRetry = time.Second

// forwarding is the broker's set of entities with messages to forward.
type forwarding struct {
	mu      sync.Mutex // leaf lock
	pending map[*entity]struct{}
	any     atomic.Bool
	run     sync.Mutex // serialises runForwards
	// busy is set while a runForwards holds run: a caller that finds no
	// marks must still wait for moves in flight (it may depend on them).
	busy atomic.Bool
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
	if !f.any.Load() && !f.busy.Load() {
		return
	}
	f.run.Lock()
	f.busy.Store(true)
	defer func() {
		f.busy.Store(false)
		f.run.Unlock()
	}()
	rounds := 0
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
				more := true
				for n := 0; more && n < forwardRounds; n++ {
					more = b.forwardFrom(src, dlq)
				}
				if more {
					src.mu.Lock()
					src.markForwardLocked() // the rest on the next run
					src.mu.Unlock()
				}
			}
		}
		if rounds++; rounds >= forwardRounds {
			return // bounded work per call; marks left stay pending
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
