package amqp

import (
	"context"
	"sync"

	"github.com/batonmq/baton/internal/amqp/frames"
	"github.com/batonmq/baton/internal/broker"
)

// This file is the session: one mux goroutine per session owns the session
// state (windows, delivery ids, unsettled deliveries) and every link on it.
// The reader hands it frames through in; the goroutines it owns (one
// broker worker per entity link, short-lived settle and RPC goroutines)
// hand it results as closures through events, which run on the mux. Blocking
// broker calls therefore never run on the mux or the reader.
//
// Flow control: the session advertises SessionWindow transfers and sends a
// session flow with next-incoming-id when half of it is used (go-amqp stops
// sending at zero, §1.5). Outgoing transfer frames wait in queue while the
// client's incoming window is closed.

const (
	outgoingWindow = 1<<31 - 1
	handleMax      = 1<<16 - 1
)

type session struct {
	c       *conn
	channel uint16
	in      chan frames.Frame
	events  chan func()
	ctx     context.Context // ends when the session ends
	cancel  context.CancelFunc
	done    chan struct{} // closed when the mux has stopped taking events
	wg      sync.WaitGroup

	// Owned by the mux goroutine.
	links           map[frames.Handle]*link // by the client's handle
	nextIncomingID  frames.TransferNumber
	incomingLeft    uint32 // transfers the client may still send
	nextOutgoingID  frames.TransferNumber
	remoteIncoming  uint32 // transfer frames we may still send
	nextDeliveryID  frames.DeliveryNumber
	unsettled       map[frames.DeliveryNumber]*unsettled
	queue           []*outDelivery
	ended           bool // we sent end with an error; waiting for the client's end
	completeAfterRD []*outDelivery
	quiescing       bool            // Shutdown: no new credit, no broker receives
	idleWaiters     []chan struct{} // closed when no client message is being stored
	settleQ         []pendingSettle // client settlements not yet handed to the broker
	settleTurns     int             // mux turns taken since settleQ became non-empty
}

// pendingSettle is a client's settlement of one peek-lock delivery, waiting
// to go to the broker with the others that arrived with it.
type pendingSettle struct {
	id      frames.DeliveryNumber
	path    string
	token   broker.LockToken
	st      broker.Settlement
	state   frames.DeliveryState // the client's outcome
	confirm bool                 // the client waits for our settled disposition
}

// maxSettleBatch bounds the settlements handed to the broker at once, and
// maxSettleTurns how many other frames and events the mux handles before it
// hands over the settlements it holds.
const (
	maxSettleBatch = 256
	maxSettleTurns = 64
)

// unsettled is a peek-lock delivery waiting for the client's disposition.
type unsettled struct {
	path  string
	token broker.LockToken
	txn   string // the transaction its settlement is staged in (txn.go)
}

func newSession(c *conn, channel uint16, b *frames.Begin) *session {
	s := &session{
		c:              c,
		channel:        channel,
		in:             make(chan frames.Frame, 64),
		events:         make(chan func(), 64),
		done:           make(chan struct{}),
		links:          make(map[frames.Handle]*link),
		unsettled:      make(map[frames.DeliveryNumber]*unsettled),
		incomingLeft:   c.cfg.SessionWindow,
		nextIncomingID: b.NextOutgoingID,
		remoteIncoming: b.IncomingWindow,
	}
	s.ctx, s.cancel = context.WithCancel(c.ctx)
	return s
}

// deliver hands a frame from the reader to the mux.
func (s *session) deliver(f frames.Frame) {
	select {
	case s.in <- f:
	case <-s.done:
	case <-s.c.quit:
	}
}

// post runs fn on the mux; it reports false when the session has ended.
func (s *session) post(fn func()) bool {
	select {
	case s.events <- fn:
		return true
	case <-s.done:
		return false
	}
}

// goFunc runs fn on a goroutine the session waits for.
func (s *session) goFunc(fn func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn()
	}()
}

func (s *session) run() {
	defer func() {
		s.cancel()
		close(s.done)
		s.wg.Wait()
	}()
	for {
		if len(s.settleQ) > 0 {
			// Once the frames that arrived together are handled (or after
			// a bounded number of turns, under a steady stream), their
			// settlements go to the broker as one batch.
			if len(s.in) == 0 || s.settleTurns >= maxSettleTurns {
				s.flushSettles()
			} else {
				s.settleTurns++
			}
		}
		select {
		case f := <-s.in:
			if !s.handle(f) {
				return
			}
		case fn := <-s.events:
			fn()
		case <-s.ctx.Done():
			// The connection is gone. Frames the reader already handed
			// over still count (a settlement sent just before close).
			for {
				select {
				case f := <-s.in:
					if !s.handle(f) {
						return
					}
					continue
				default:
				}
				break
			}
			s.teardown()
			return
		}
	}
}

// write queues one encoded frame on the connection.
func (s *session) write(body frames.Body, payload []byte) bool {
	b, err := frames.AppendFrame(nil, frames.TypeAMQP, s.channel, body, payload)
	if err != nil {
		s.c.log.Error("amqp: encode frame", "err", err)
		return false
	}
	return s.c.write(b, s.ctx.Done())
}

// handle processes one frame; false ends the session.
func (s *session) handle(f frames.Frame) bool {
	if b, ok := f.Body.(*txnBarrier); ok {
		close(b.done) // txn.go
		return true
	}
	if e, ok := f.Body.(*frames.End); ok {
		s.teardown()
		if !s.ended {
			s.write(&frames.End{}, nil)
		}
		if e.Error != nil {
			s.c.log.Debug("amqp: session ended by peer with error", "err", e.Error)
		}
		return false
	}
	if s.ended {
		return true // waiting for the client's end; ignore everything else
	}
	switch b := f.Body.(type) {
	case *frames.Attach:
		s.onAttach(b)
	case *frames.Flow:
		s.onFlow(b)
	case *frames.Transfer:
		s.onTransfer(b, f.Payload)
	case *frames.Disposition:
		s.onDisposition(b)
	case *frames.Detach:
		s.onDetach(b)
	}
	return true
}

// fail ends the session with an error (the client answers with end).
func (s *session) fail(cond frames.Condition, desc string) {
	s.teardown()
	s.ended = true
	s.write(&frames.End{Error: &frames.Error{Condition: cond, Description: desc}}, nil)
}

// teardown stops every link: end and connection loss detach them all
// implicitly (§1.5). Peek-lock locks held by delivered messages stay until
// they expire (§7.4).
func (s *session) teardown() {
	s.flushSettles() // settlements the client sent before it went still count
	for h, l := range s.links {
		l.stop()
		delete(s.links, h)
	}
	s.queue = nil
}

func (s *session) sessionFlow() *frames.Flow {
	return &frames.Flow{
		NextIncomingID:    s.nextIncomingID,
		HasNextIncomingID: true,
		IncomingWindow:    s.incomingLeft,
		NextOutgoingID:    s.nextOutgoingID,
		OutgoingWindow:    outgoingWindow,
	}
}

func (s *session) onFlow(f *frames.Flow) {
	if f.HasNextIncomingID {
		s.remoteIncoming = uint32(f.NextIncomingID) + f.IncomingWindow - uint32(s.nextOutgoingID)
	} else {
		s.remoteIncoming = f.IncomingWindow - uint32(s.nextOutgoingID)
	}
	if f.HasHandle {
		l := s.links[f.Handle]
		if l == nil {
			s.fail(frames.ErrCondUnattachedHandle, "flow for an unattached handle")
			return
		}
		if !l.detached {
			l.onFlow(f)
		}
	} else if f.Echo {
		s.write(s.sessionFlow(), nil)
	}
	s.pump()
}

func (s *session) onTransfer(t *frames.Transfer, payload []byte) {
	if s.incomingLeft == 0 {
		s.fail(frames.ErrCondWindowViolation, "transfer beyond the session's incoming window")
		return
	}
	s.nextIncomingID++
	s.incomingLeft--
	if s.incomingLeft <= s.c.cfg.SessionWindow/2 {
		s.incomingLeft = s.c.cfg.SessionWindow
		s.write(s.sessionFlow(), nil)
	}
	l := s.links[t.Handle]
	if l == nil {
		s.fail(frames.ErrCondUnattachedHandle, "transfer on an unattached handle")
		return
	}
	if !l.clientSends {
		s.fail(frames.ErrCondNotAllowed, "transfer on a link where the client is the receiver")
		return
	}
	if l.detached {
		return
	}
	l.onTransfer(t, payload)
}

func (s *session) onDetach(d *frames.Detach) {
	l := s.links[d.Handle]
	if l == nil {
		s.fail(frames.ErrCondUnattachedHandle, "detach of an unattached handle")
		return
	}
	delete(s.links, d.Handle)
	if l.detached {
		return // the answer to our detach
	}
	l.stop()
	s.write(&frames.Detach{Handle: l.handle, Closed: true}, nil)
}

// onDisposition settles peek-lock deliveries (the client is the receiver).
// Dispositions for the client's own deliveries are ignored: the server
// settles those first.
func (s *session) onDisposition(d *frames.Disposition) {
	if d.Role != frames.RoleReceiver {
		return
	}
	if ts, ok := d.State.(frames.TransactionalState); ok {
		s.onTxnDisposition(d, ts)
		return
	}
	switch d.State.(type) {
	case frames.Accepted, frames.Rejected, frames.Released, frames.Modified:
	default:
		if !d.Settled {
			return // a non-terminal state (received): nothing to settle yet
		}
	}
	first, last := d.First, d.LastID()
	type item struct {
		id frames.DeliveryNumber
		u  *unsettled
	}
	var items []item
	span := uint32(last - first)
	if uint64(span) < uint64(len(s.unsettled)) {
		for id := first; ; id++ {
			if u := s.unsettled[id]; u != nil {
				items = append(items, item{id, u})
			}
			if id == last {
				break
			}
		}
	} else {
		for id, u := range s.unsettled {
			if uint32(id-first) <= span {
				items = append(items, item{id, u})
			}
		}
	}
	if len(items) == 0 {
		return
	}
	for _, it := range items {
		delete(s.unsettled, it.id)
	}
	st := settlementOf(d.State)
	for _, it := range items {
		s.settleQ = append(s.settleQ, pendingSettle{id: it.id, path: it.u.path, token: it.u.token, st: st, state: d.State, confirm: !d.Settled})
	}
	if len(s.settleQ) >= maxSettleBatch {
		s.flushSettles()
	}
}

// flushSettles hands the queued settlements to the broker as one batch
// (broker.SettleMany: one store group per entity) on a goroutine, and
// confirms them to the client when it asked (receiver settle mode second):
// consecutive completed delivery-ids share one disposition.
func (s *session) flushSettles() {
	if len(s.settleQ) == 0 {
		return
	}
	items := s.settleQ
	s.settleQ, s.settleTurns = nil, 0
	b := s.c.srv.cfg.Broker
	ctx := s.c.srv.ctx
	s.goFunc(func() {
		reqs := make([]broker.SettleRequest, len(items))
		confirm := false
		for i, it := range items {
			reqs[i] = broker.SettleRequest{Path: it.path, Token: it.token, Settlement: it.st}
			confirm = confirm || it.confirm
		}
		errs := b.SettleMany(ctx, reqs)
		if !confirm {
			return
		}
		s.post(func() { s.confirmSettles(items, errs) })
	})
}

// confirmSettles sends the settled dispositions of items.
func (s *session) confirmSettles(items []pendingSettle, errs []error) {
	var run dispositionRun // consecutive completions
	for i, it := range items {
		if !it.confirm {
			continue
		}
		completed := errs[i] == nil && it.st.Disposition == broker.Complete
		if completed && run.extend(it.id) {
			continue
		}
		run.flush(s)
		d := &frames.Disposition{Role: frames.RoleSender, First: it.id, Settled: true, State: confirmState(it.state, it.st, errs[i])}
		if completed {
			run.d = d // may grow into a range
			continue
		}
		s.write(d, nil)
	}
	run.flush(s)
}

// release puts peek-locked messages that were never delivered back, without
// counting a delivery.
func (s *session) release(path string, msgs []*broker.Message) {
	if len(msgs) == 0 {
		return
	}
	b := s.c.srv.cfg.Broker
	ctx := s.c.srv.ctx
	s.goFunc(func() {
		for _, m := range msgs {
			_ = b.Settle(ctx, path, m.LockToken, broker.Settlement{Disposition: broker.Release})
		}
	})
}

// quiesce stops the session's links from taking more messages (no broker
// receives, no new credit for client senders) and closes idle once every
// message accepted from a client has been stored and acknowledged.
func (s *session) quiesce(idle chan struct{}) {
	s.quiescing = true
	for _, l := range s.links {
		if l.fetchCancel != nil {
			l.fetchCancel()
		}
	}
	s.idleWaiters = append(s.idleWaiters, idle)
	s.checkIdle()
}

// checkIdle wakes quiesce waiters when no send is in flight.
func (s *session) checkIdle() {
	if len(s.idleWaiters) == 0 {
		return
	}
	for _, l := range s.links {
		if l.inflight > 0 || l.cur != nil {
			return
		}
	}
	for _, ch := range s.idleWaiters {
		close(ch)
	}
	s.idleWaiters = nil
}
