package pgbroker

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/store/memstore"
	"github.com/batonmq/baton/internal/store/pgstore/pgtest"
)

// epoch is where the fake clocks of these tests start (whole seconds, so
// that the broker's nanosecond times and PostgreSQL's microseconds agree).
var epoch = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// pair runs the same calls on the in-memory broker (the reference) and on
// an Engine, on one fake clock, and compares what they answer.
type pair struct {
	t   *testing.T
	ctx context.Context
	clk *clock.Fake
	mem *broker.Broker
	pg  *Engine
}

// newPair opens both engines. The Engine's maintenance loop never ticks by
// itself (its interval is far away); tick runs it.
func newPair(t *testing.T) *pair {
	t.Helper()
	clk := clock.NewFake(epoch)
	st := memstore.New()
	mem, err := broker.New(broker.Config{Store: st, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if err := mem.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		mem.Close()
		st.Close()
	})
	pg := open(t, pgtest.Shared(t).NewSchema(t), Config{Node: "pair", Clock: clk, MaintainInterval: 1000 * time.Hour, PollInterval: 1000 * time.Hour})
	return &pair{t: t, ctx: t.Context(), clk: clk, mem: mem, pg: pg}
}

// both is one call's answers: the broker's first, the Engine's second.
type both[T any] struct{ m, g T }

// advance moves the clock and runs the Engine's maintenance (the broker
// runs its timers at its next call).
func (p *pair) advance(d time.Duration) {
	p.t.Helper()
	p.clk.Advance(d)
	p.tick()
}

// tick runs one maintenance pass of the Engine, as its lease holder.
func (p *pair) tick() {
	p.t.Helper()
	if r := p.pg.maintainOnce(p.ctx); r.Err != nil || !r.Held {
		p.t.Fatalf("maintenance: %+v", r)
	}
}

// sameErr fails unless both errors carry the same broker code.
func (p *pair) sameErr(what string, em, eg error) {
	p.t.Helper()
	if broker.CodeOf(em) != broker.CodeOf(eg) || (em == nil) != (eg == nil) {
		p.t.Fatalf("%s: broker error %v (%v), engine error %v (%v)", what, em, broker.CodeOf(em), eg, broker.CodeOf(eg))
	}
}

// queue creates a queue on both.
func (p *pair) queue(name string, props broker.QueueProperties) {
	p.t.Helper()
	_, em := p.mem.CreateQueue(p.ctx, name, props)
	_, eg := p.pg.CreateQueue(p.ctx, name, props)
	p.sameErr("create "+name, em, eg)
}

func cloneMsgs(msgs []*broker.Message) []*broker.Message {
	out := make([]*broker.Message, len(msgs))
	for i, m := range msgs {
		c := *m
		c.Properties = maps.Clone(m.Properties)
		out[i] = &c
	}
	return out
}

// send sends copies of msgs to both and compares the sequence numbers.
func (p *pair) send(path string, msgs ...*broker.Message) ([]int64, error) {
	p.t.Helper()
	sm, em := p.mem.Send(p.ctx, path, cloneMsgs(msgs))
	sg, eg := p.pg.Send(p.ctx, path, cloneMsgs(msgs))
	p.sameErr("send to "+path, em, eg)
	if !slices.Equal(sm, sg) {
		p.t.Fatalf("send to %s: broker seqs %v, engine seqs %v", path, sm, sg)
	}
	return sm, em
}

// view is what must agree between the two engines about a message.
func view(m *broker.Message) string {
	var b strings.Builder
	fmt.Fprintf(&b, "seq=%d body=%q id=%q sid=%q count=%d state=%v dl=%v reason=%q desc=%q enq=%s exp=%s locked=%s sched=%s props={",
		m.SequenceNumber, m.Body, m.MessageID, m.SessionID, m.DeliveryCount, m.State, m.DeadLettered, m.DeadLetterReason,
		m.DeadLetterDescription, m.EnqueuedTime.UTC().Format(time.RFC3339Nano), m.ExpiresAt.UTC().Format(time.RFC3339Nano),
		m.LockedUntil.UTC().Format(time.RFC3339Nano), m.ScheduledEnqueueTime.UTC().Format(time.RFC3339Nano))
	for _, k := range slices.Sorted(maps.Keys(m.Properties)) {
		fmt.Fprintf(&b, "%s:%v ", k, m.Properties[k])
	}
	b.WriteString("}")
	if m.LockToken.IsZero() != m.LockedUntil.IsZero() {
		b.WriteString(" token/until mismatch")
	}
	return b.String()
}

// sameMsgs fails unless the two lists view alike, and pairs them.
func (p *pair) sameMsgs(what string, mm, mg []*broker.Message) []both[*broker.Message] {
	p.t.Helper()
	var vm, vg []string
	for _, m := range mm {
		vm = append(vm, view(m))
	}
	for _, m := range mg {
		vg = append(vg, view(m))
	}
	if !slices.Equal(vm, vg) {
		p.t.Fatalf("%s:\nbroker:\n  %s\nengine:\n  %s", what, strings.Join(vm, "\n  "), strings.Join(vg, "\n  "))
	}
	out := make([]both[*broker.Message], len(mm))
	for i := range mm {
		out[i] = both[*broker.Message]{mm[i], mg[i]}
	}
	return out
}

// receive receives on both (opts.Session is replaced by each one's lock
// from sess) and compares the messages.
func (p *pair) receive(path string, opts broker.ReceiveOptions, sess *both[*broker.SessionLock]) []both[*broker.Message] {
	p.t.Helper()
	om, og := opts, opts
	if sess != nil {
		om.Session, og.Session = sess.m, sess.g
	}
	mm, em := p.mem.Receive(p.ctx, path, om)
	mg, eg := p.pg.Receive(p.ctx, path, og)
	p.sameErr("receive from "+path, em, eg)
	return p.sameMsgs("receive from "+path, mm, mg)
}

// recv is receive of up to n messages in peek-lock mode, without waiting.
func (p *pair) recv(path string, n int) []both[*broker.Message] {
	p.t.Helper()
	return p.receive(path, broker.ReceiveOptions{MaxMessages: n}, nil)
}

// settle settles a received pair on both and compares the errors.
func (p *pair) settle(path string, m both[*broker.Message], s broker.Settlement) error {
	p.t.Helper()
	em := p.mem.Settle(p.ctx, path, m.m.LockToken, s)
	eg := p.pg.Settle(p.ctx, path, m.g.LockToken, s)
	p.sameErr(fmt.Sprintf("%v of %d in %s", s.Disposition, m.m.SequenceNumber, path), em, eg)
	return em
}

// peek peeks both and compares.
func (p *pair) peek(path string, from int64, n int, sid string) []both[*broker.Message] {
	p.t.Helper()
	mm, em := p.mem.Peek(p.ctx, path, from, n, sid)
	mg, eg := p.pg.Peek(p.ctx, path, from, n, sid)
	p.sameErr("peek "+path, em, eg)
	return p.sameMsgs("peek "+path, mm, mg)
}

// counts compares GetEntity's counts and returns them.
func (p *pair) counts(name string) broker.Counts {
	p.t.Helper()
	im, em := p.mem.GetEntity(name)
	ig, eg := p.pg.GetEntity(name)
	p.sameErr("get "+name, em, eg)
	if em != nil {
		return broker.Counts{}
	}
	if im.Counts != ig.Counts {
		p.t.Fatalf("counts of %s: broker %+v, engine %+v", name, im.Counts, ig.Counts)
	}
	return im.Counts
}

// wantCounts checks the counts (the same on both).
func (p *pair) wantCounts(name string, active, scheduled, deferred, dead int64) {
	p.t.Helper()
	c := p.counts(name)
	if c.Active != active || c.Scheduled != scheduled || c.Deferred != deferred || c.DeadLettered != dead {
		p.t.Fatalf("counts of %s: %+v, want active %d scheduled %d deferred %d dead %d", name, c, active, scheduled, deferred, dead)
	}
}

// accept accepts a session on both.
func (p *pair) accept(path, sid string) (*both[*broker.SessionLock], error) {
	p.t.Helper()
	lm, em := p.mem.AcceptSession(p.ctx, path, sid, 0)
	lg, eg := p.pg.AcceptSession(p.ctx, path, sid, 0)
	p.sameErr("accept "+sid+" of "+path, em, eg)
	if em != nil {
		return nil, em
	}
	if lm.SessionID != lg.SessionID || !lm.LockedUntil.Equal(lg.LockedUntil) {
		p.t.Fatalf("accept %q of %s: broker %+v, engine %+v", sid, path, lm, lg)
	}
	return &both[*broker.SessionLock]{lm, lg}, nil
}

// msg is a message with a body and an id.
func msg(body string) *broker.Message {
	return &broker.Message{MessageID: body, Body: []byte(body)}
}

// smsg is a session message.
func smsg(sid, body string) *broker.Message {
	return &broker.Message{MessageID: body, SessionID: sid, Body: []byte(body)}
}
