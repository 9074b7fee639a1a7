package amqp

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/amqp/frames"
	"github.com/batonmq/baton/internal/broker"
)

// gatedStore holds the store's answers back while its gate is shut, so that
// a client's deliveries queue up behind one broker.Send and reach the broker
// as one batch.
type gatedStore struct {
	broker.Store
	mu      sync.Mutex
	gate    chan struct{} // nil: open
	submits atomic.Int32
	held    sync.WaitGroup
}

func (g *gatedStore) Submit(recs []broker.Record, done func(error)) {
	g.submits.Add(1)
	g.mu.Lock()
	gate := g.gate
	if gate != nil {
		g.held.Add(1)
	}
	g.mu.Unlock()
	if gate == nil {
		g.Store.Submit(recs, done)
		return
	}
	g.Store.Submit(recs, func(err error) {
		go func() {
			defer g.held.Done()
			<-gate
			done(err)
		}()
	})
}

func (g *gatedStore) shut() {
	g.mu.Lock()
	g.gate = make(chan struct{})
	g.mu.Unlock()
}

func (g *gatedStore) open() {
	g.mu.Lock()
	close(g.gate)
	g.gate = nil
	g.mu.Unlock()
	g.held.Wait()
}

// TestSendOutcomesInRanges: deliveries that reach the broker in one batch
// are answered with range dispositions (first..last) for consecutive
// delivery-ids, and a delivery the broker refuses in the middle of a batch
// gets its own rejection: every delivery-id is answered exactly once, with
// its own outcome, and exactly the accepted messages are stored.
func TestSendOutcomesInRanges(t *testing.T) {
	t.Parallel()
	gs := &gatedStore{}
	env := newTestEnv(t, envOptions{wrapStore: func(s broker.Store) broker.Store { gs.Store = s; return gs }})
	env.queue("sq", broker.QueueProperties{RequiresSession: true})
	c := dialRaw(t, env.addr)
	c.open(nil)
	c.begin()
	c.attach(&frames.Attach{Name: "s", Handle: 1, Role: frames.RoleSender, Target: &frames.Target{Address: "sq"}, Source: &frames.Source{}})
	if f, ok := c.next().(*frames.Flow); !ok || f.LinkCredit < 40 {
		t.Fatalf("credit after attach: %+v", f)
	}
	const n = 40
	const bad = 17 // no session id: the broker refuses it
	transfer := func(id int) {
		m := &encoding.Message{Data: [][]byte{[]byte(fmt.Sprintf("m%02d", id))}, Properties: &encoding.Properties{GroupID: "s1"}}
		if id == bad {
			m.Properties = nil
		}
		payload, err := encoding.AppendMessage(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		c.send(0, &frames.Transfer{Handle: 1, DeliveryID: frames.DeliveryNumber(id), HasDeliveryID: true,
			DeliveryTag: []byte{byte(id)}, HasMessageFormat: true}, payload)
	}
	gs.shut()
	before := gs.submits.Load()
	transfer(0)
	waitFor(t, func() bool { return gs.submits.Load() > before }) // delivery 0 is in broker.Send
	for id := 1; id < n; id++ {
		transfer(id)
	}
	gs.open()

	outcome := map[frames.DeliveryNumber]string{}
	frameCount, ranges := 0, 0
	for len(outcome) < n {
		d, ok := c.next().(*frames.Disposition)
		if !ok {
			continue
		}
		frameCount++
		if d.Role != frames.RoleReceiver || !d.Settled {
			t.Fatalf("disposition %+v: want role receiver, settled", d)
		}
		if d.HasLast && d.Last != d.First {
			ranges++
		}
		for id := d.First; ; id++ {
			if _, dup := outcome[id]; dup {
				t.Fatalf("delivery %d answered twice", id)
			}
			if int(id) >= n {
				t.Fatalf("disposition %+v covers delivery %d, never sent", d, id)
			}
			switch st := d.State.(type) {
			case frames.Accepted:
				outcome[id] = "accepted"
			case frames.Rejected:
				outcome[id] = "rejected"
			default:
				t.Fatalf("delivery %d: state %T", id, st)
			}
			if id == d.LastID() {
				break
			}
		}
	}
	for id := range frames.DeliveryNumber(n) {
		want := "accepted"
		if id == bad {
			want = "rejected"
		}
		if outcome[id] != want {
			t.Errorf("delivery %d: %s; want %s", id, outcome[id], want)
		}
	}
	if got := env.counts("sq").Active; got != n-1 {
		t.Fatalf("stored %d messages; want %d", got, n-1)
	}
	t.Logf("%d deliveries answered in %d disposition frames (%d ranges)", n, frameCount, ranges)
}

// TestSettleConfirmsInRanges: a client's settlements that arrive together go
// to the broker as one batch and are confirmed with range dispositions for
// consecutive completed deliveries; other outcomes (abandon, dead-letter)
// are confirmed on their own, a settlement the client sent settled is not
// confirmed, and every message ends where its settlement puts it.
func TestSettleConfirmsInRanges(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, envOptions{})
	env.queue("q", broker.QueueProperties{})
	const n = 30
	msgs := make([]*broker.Message, n)
	for i := range msgs {
		msgs[i] = &broker.Message{Body: []byte(fmt.Sprintf("m%02d", i))}
	}
	if _, err := env.broker.Send(env.ctx, "q", msgs); err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, env.addr)
	c.open(nil)
	c.begin()
	c.attach(&frames.Attach{Name: "r", Handle: 1, Role: frames.RoleReceiver, Source: &frames.Source{Address: "q"}, Target: &frames.Target{},
		RcvSettleMode: ptr(frames.ReceiverSettleSecond)})
	c.send(0, &frames.Flow{NextIncomingID: 0, HasNextIncomingID: true, IncomingWindow: 5000, OutgoingWindow: 5000,
		Handle: 1, HasHandle: true, DeliveryCount: 0, HasDeliveryCount: true, LinkCredit: n, HasLinkCredit: true}, nil)
	var ids []frames.DeliveryNumber
	for len(ids) < n {
		if tr, ok := c.next().(*frames.Transfer); ok && tr.HasDeliveryID {
			ids = append(ids, tr.DeliveryID)
		}
	}
	const abandon, deadLetter, presettled = 10, 20, 25
	for i, id := range ids {
		d := &frames.Disposition{Role: frames.RoleReceiver, First: id, State: frames.Accepted{}}
		switch i {
		case abandon:
			d.State = frames.Modified{DeliveryFailed: true}
		case deadLetter:
			d.State = frames.Rejected{}
		case presettled:
			d.Settled = true
		}
		c.send(0, d, nil)
	}
	got := map[frames.DeliveryNumber]string{}
	frameCount, ranges := 0, 0
	for len(got) < n-1 {
		d, ok := c.next().(*frames.Disposition)
		if !ok {
			continue
		}
		frameCount++
		if d.Role != frames.RoleSender || !d.Settled {
			t.Fatalf("confirmation %+v: want role sender, settled", d)
		}
		if d.HasLast && d.Last != d.First {
			ranges++
		}
		for id := d.First; ; id++ {
			if _, dup := got[id]; dup {
				t.Fatalf("delivery %d confirmed twice", id)
			}
			got[id] = fmt.Sprintf("%T", d.State)
			if id == d.LastID() {
				break
			}
		}
	}
	for i, id := range ids {
		want := "frames.Accepted"
		switch i {
		case abandon:
			want = "frames.Modified"
		case deadLetter:
			want = "frames.Rejected"
		case presettled:
			want = ""
		}
		if got[id] != want {
			t.Errorf("delivery %d (message %d): confirmed %q; want %q", id, i, got[id], want)
		}
	}
	waitFor(t, func() bool { c := env.counts("q"); return c.Active == 1 && c.DeadLettered == 1 })
	t.Logf("%d confirmations in %d disposition frames (%d ranges)", n-1, frameCount, ranges)
}
