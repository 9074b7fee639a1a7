package amqp

import (
	"fmt"

	"github.com/batonmq/baton/internal/amqp/frames"
	"github.com/batonmq/baton/internal/broker"
)

// This file handles links where the client sends and the server receives
// (service-bus-amqp.md §4): transfers are reassembled (multi-frame
// deliveries up to MaxMessageSize), mapped onto broker messages and handed
// in order to the link's worker, which calls broker.Send and reports back;
// the mux then settles the delivery (accepted, or rejected with the mapped
// condition) unless the client sent it settled. Credit is kept at
// LinkCredit minus the deliveries still in flight, so a slow broker holds
// the client back instead of queueing without bound. On an RPC node the
// request is settled accepted at once and answered by the node's handler.

// inDelivery is a delivery from the client being assembled or sent.
type inDelivery struct {
	id       frames.DeliveryNumber
	settled  bool
	format   uint32
	buf      []byte
	size     uint64
	oversize bool
	msgs     []*broker.Message
	err      error
	txnID    []byte // transactional-state of the transfer (txn.go)
}

func (l *link) onTransfer(t *frames.Transfer, payload []byte) {
	d := l.cur
	if d == nil {
		if !t.HasDeliveryID {
			l.detachWithError(&frames.Error{Condition: frames.ErrCondNotAllowed, Description: "first transfer of a delivery without delivery-id"})
			return
		}
		if l.credit == 0 {
			l.detachWithError(&frames.Error{Condition: frames.ErrCondTransferLimitExceeded, Description: "transfer without link credit"})
			return
		}
		l.credit--
		l.deliveryCount++
		d = &inDelivery{id: t.DeliveryID, settled: t.HasSettled && t.Settled, format: t.MessageFormat}
		l.cur = d
	} else if t.HasSettled && t.Settled {
		d.settled = true
	}
	if id := txnIDOf(t.State); id != nil {
		d.txnID = id
	}
	if t.Aborted {
		l.cur = nil
		l.topUp()
		return
	}
	d.size += uint64(len(payload))
	switch {
	case d.oversize:
	case d.size > l.s.c.cfg.MaxMessageSize:
		d.oversize, d.buf = true, nil
	case d.buf == nil && !t.More:
		d.buf = payload // the frame buffer is ours (conn.readFrame)
	default:
		d.buf = append(d.buf, payload...)
	}
	if t.More {
		return
	}
	l.cur = nil
	l.complete(d)
}

// complete handles a whole delivery from the client.
func (l *link) complete(d *inDelivery) {
	switch {
	case d.oversize:
		l.settleIncoming(d, frames.Rejected{Error: &frames.Error{Condition: frames.ErrCondMessageSizeExceeded,
			Description: fmt.Sprintf("the message is %d bytes; the limit is %d", d.size, l.s.c.cfg.MaxMessageSize)}})
	case l.coord:
		l.onControl(d)
	case d.txnID != nil && l.rpc != nil:
		l.settleIncoming(d, frames.Rejected{Error: &frames.Error{Condition: frames.ErrCondNotImplemented,
			Description: "management operations inside a transaction are not supported"}})
	case l.rpc != nil:
		l.settleIncoming(d, frames.Accepted{})
		l.request(d.buf)
	default:
		msgs, err := toBrokerMessages(d.buf, d.format)
		if err != nil {
			l.settleIncoming(d, frames.Rejected{Error: amqpError(err)})
			break
		}
		if d.txnID != nil {
			l.sendInTxn(d, msgs)
			break
		}
		d.msgs, d.buf = msgs, nil
		l.inflight++
		l.sendQ <- d // never blocks: capacity exceeds credit
	}
	l.topUp()
}

// settleIncoming sends the outcome of a client's delivery. In
// rcv-settle-mode second the disposition is unsettled: the client settles
// and the server has nothing more to do (its state is already final).
func (l *link) settleIncoming(d *inDelivery, state frames.DeliveryState) {
	if d.settled {
		return
	}
	l.s.write(&frames.Disposition{Role: frames.RoleReceiver, First: d.id, Settled: !l.rcvSecond, State: state}, nil)
}

// topUp grants credit back up to LinkCredit minus the deliveries in flight,
// once it has fallen to half.
func (l *link) topUp() {
	if l.detached || l.s.quiescing {
		return
	}
	window := l.s.c.cfg.LinkCredit
	used := l.credit + uint32(l.inflight)
	if used > window/2 {
		return
	}
	l.credit = window - uint32(l.inflight)
	l.s.write(l.linkFlow(), nil)
}

// sendLoop is the link's broker worker: it sends deliveries in order and
// reports each result to the mux. Deliveries that queue up while a send is
// in flight go to the broker as one batch (one store group commit); if
// that batch fails, each is retried alone so only the bad one is rejected.
// It ends when the mux closes sendQ, after the deliveries already accepted
// from the client have been sent, so a presettled message is not lost
// because its link closed.
func (l *link) sendLoop(q <-chan *inDelivery) {
	b := l.s.c.cfg.Broker
	ctx := l.s.c.srv.ctx
	batch := make([]*inDelivery, 0, maxSendBatch)
	var msgs []*broker.Message
	for d := range q {
		batch = append(batch[:0], d)
	collect:
		for len(batch) < maxSendBatch {
			select {
			case d, ok := <-q:
				if !ok {
					break collect
				}
				batch = append(batch, d)
			default:
				break collect
			}
		}
		msgs = msgs[:0]
		for _, d := range batch {
			msgs = append(msgs, d.msgs...)
		}
		_, err := b.Send(ctx, l.path, msgs)
		if err != nil && len(batch) > 1 {
			for _, d := range batch {
				_, d.err = b.Send(ctx, l.path, d.msgs)
			}
		} else {
			for _, d := range batch {
				d.err = err
			}
		}
		done := make([]*inDelivery, len(batch))
		for i, d := range batch {
			d.msgs = nil
			done[i] = d
			if d.err != nil {
				l.s.c.log.Debug("amqp: send refused", "path", l.path, "err", d.err)
			}
		}
		clear(msgs)
		l.s.post(func() { l.onSentBatch(done) })
	}
}

// maxSendBatch bounds how many queued deliveries one broker.Send takes.
const maxSendBatch = 64

// onSentBatch reports the outcome of one batch of the link's deliveries.
// Accepted deliveries with consecutive delivery-ids share one disposition
// (first..last): ids are per session, so a run with no gap holds no other
// link's delivery. A batch that a group commit released together thus costs
// the client one frame, not one per message.
func (l *link) onSentBatch(done []*inDelivery) {
	var run dispositionRun
	for _, d := range done {
		l.inflight--
		switch {
		case d.settled:
		case d.err != nil:
			run.flush(l.s)
			l.settleIncoming(d, frames.Rejected{Error: amqpError(d.err)})
		case !run.extend(d.id):
			run.flush(l.s)
			run.d = &frames.Disposition{Role: frames.RoleReceiver, First: d.id, Settled: !l.rcvSecond, State: frames.Accepted{}}
		}
	}
	run.flush(l.s)
	l.topUp()
	l.s.checkIdle()
}

// dispositionRun grows one disposition over consecutive delivery-ids
// (first..last) until it is flushed.
type dispositionRun struct{ d *frames.Disposition }

// extend adds id to the run if it follows the run's last id (never across
// the wrap of delivery numbers), and reports whether it did.
func (r *dispositionRun) extend(id frames.DeliveryNumber) bool {
	if r.d == nil || r.d.LastID()+1 != id || id == 0 {
		return false
	}
	r.d.Last, r.d.HasLast = id, true
	return true
}

// flush writes the run's disposition, if any, on s.
func (r *dispositionRun) flush(s *session) {
	if r.d != nil {
		s.write(r.d, nil)
		r.d = nil
	}
}

// request runs the RPC node's handler for one request and routes the
// response (rpc.go).
func (l *link) request(payload []byte) {
	req, err := parseRequest(payload, l.rpc.Name, l.name, l.s.c.info)
	if err != nil {
		l.s.c.log.Debug("amqp: bad request", "node", l.rpc.Name, "err", err)
		return
	}
	// Fallback route: the reply link of the same node on this session.
	var fallback *link
	for _, o := range l.s.links {
		if !o.clientSends && o.rpc != nil && o.rpc.Name == l.rpc.Name && !o.detached {
			fallback = o
			break
		}
	}
	h := l.rpc.Handler
	ctx := l.s.ctx
	c := l.s.c
	l.s.goFunc(func() {
		resp := h(ctx, req)
		if resp == nil {
			return
		}
		body, err := encodeResponse(req, resp)
		if err != nil {
			c.log.Error("amqp: encode response", "node", req.Node, "err", err)
			return
		}
		to := c.replyLink(req.ReplyTo)
		if to == nil {
			to = fallback
		}
		if to == nil {
			c.log.Debug("amqp: no link for reply-to", "reply-to", req.ReplyTo)
			return
		}
		to.s.post(func() { to.queueReply(body) })
	})
}
