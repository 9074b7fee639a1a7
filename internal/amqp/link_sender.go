package amqp

import (
	"context"
	"encoding/binary"
	"errors"
	"time"

	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/amqp/frames"
	"github.com/batonmq/baton/internal/broker"
)

// This file handles links where the client receives (service-bus-amqp.md
// §5) and the outgoing transfer pump of the session.
//
// Credit drives the broker: while the link has credit and no receive is in
// flight, the mux asks the link's worker for up to credit messages; the
// worker calls broker.Receive (waiting up to ReceiveWait: long polling, the
// credit is never revoked, §5.2) and posts the messages back. Messages are
// always taken in peek-lock. On a peek-lock link (snd-settle-mode other
// than settled) the delivery is unsettled, its tag is the lock token in
// .NET byte order, and the client's disposition settles it. On a
// receive-and-delete link (snd-settle-mode settled) the delivery is sent
// presettled and the message is completed once its last frame is queued,
// so a message the link never sent goes back to the queue instead of being
// lost.
//
// Drain (§5.2, used by the JS SDK): the running receive is cancelled, one
// receive that does not wait takes what is available, then the link's
// delivery-count is advanced by the unused credit and a flow with
// drain=true and link-credit=0 answers.

// fetchReq asks the link worker for up to n messages.
type fetchReq struct {
	ctx     context.Context
	cancel  context.CancelFunc
	n       int
	wait    time.Duration
	drain   bool
	session *broker.SessionLock // a copy; session receivers only
}

// outDelivery is a delivery queued for transfer frames.
type outDelivery struct {
	l        *link
	id       frames.DeliveryNumber
	tag      []byte
	settled  bool
	payload  []byte
	offset   int
	started  bool
	msg      *broker.Message // nil for RPC responses
	complete bool            // receive-and-delete: complete once sent
}

// fetchLoop is the link's broker worker.
func (l *link) fetchLoop(q <-chan fetchReq) {
	b := l.s.c.cfg.Broker
	clk := l.s.c.clock
	for {
		var r fetchReq
		select {
		case r = <-q:
		case <-l.ctx.Done():
			return
		}
		start := clk.Now()
		msgs, err := b.Receive(r.ctx, l.path, broker.ReceiveOptions{Mode: broker.PeekLock, MaxMessages: r.n, Wait: r.wait, Session: r.session})
		if r.ctx.Err() != nil && errors.Is(err, r.ctx.Err()) {
			err = nil
		}
		if len(msgs) == 0 && err == nil && r.wait > 0 && clk.Now().Sub(start) < r.wait/2 && r.ctx.Err() == nil {
			// The broker returned at once without waiting (it is draining):
			// pause instead of spinning.
			t := clk.NewTimer(min(r.wait, time.Second))
			select {
			case <-t.C():
			case <-r.ctx.Done():
			}
			t.Stop()
		}
		if !l.s.post(func() { l.onFetched(r, msgs, err) }) {
			l.s.release(l.path, msgs)
			r.cancel()
			return
		}
	}
}

// maybeFetch starts a broker receive when the link has unused credit.
func (l *link) maybeFetch() {
	if l.detached || l.fetching || l.rpc != nil || l.reqCh == nil || l.s.quiescing {
		return
	}
	want := int(l.credit) - len(l.backlog)
	if want <= 0 {
		return
	}
	want = min(want, l.s.c.cfg.Broker.Limits().MaxReceiveBatch)
	r := fetchReq{n: want, wait: l.s.c.cfg.ReceiveWait, drain: l.drain, session: l.sessionLockCopy()}
	if l.maxWait > 0 {
		r.wait = min(r.wait, l.maxWait)
	}
	if l.drain {
		r.wait = 0
	}
	r.ctx, r.cancel = context.WithCancel(l.ctx)
	l.fetching, l.fetchCancel = true, r.cancel
	l.reqCh <- r // never blocks: one request at a time
}

func (l *link) onFetched(r fetchReq, msgs []*broker.Message, err error) {
	r.cancel()
	l.fetching, l.fetchCancel = false, nil
	if l.detached {
		l.s.release(l.path, msgs)
		return
	}
	if err != nil {
		l.s.release(l.path, msgs)
		l.detachWithError(amqpError(err))
		return
	}
	l.backlog = append(l.backlog, msgs...)
	l.deliverBacklog()
	if l.drain && (r.drain || l.credit == 0) {
		l.finishDrain()
		return
	}
	l.maybeFetch()
}

// deliverMore reacts to new credit or a drain request.
func (l *link) deliverMore() {
	if l.rpc != nil {
		l.deliverReplies()
		if l.drain {
			l.finishDrain()
		}
		return
	}
	l.deliverBacklog()
	if !l.drain {
		l.maybeFetch()
		return
	}
	switch {
	case l.credit == 0:
		l.finishDrain()
	case l.fetching && l.fetchCancel != nil:
		l.fetchCancel() // the result comes back through onFetched
	default:
		l.maybeFetch()
	}
}

// finishDrain uses up the remaining credit and tells the client.
func (l *link) finishDrain() {
	l.deliveryCount += frames.SequenceNo(l.credit)
	l.credit = 0
	l.s.write(l.linkFlow(), nil)
	l.drain = false
}

func (l *link) deliverBacklog() {
	for l.credit > 0 && len(l.backlog) > 0 && !l.detached {
		m := l.backlog[0]
		l.backlog[0] = nil
		l.backlog = l.backlog[1:]
		l.credit--
		l.deliveryCount++
		payload, err := appendDelivery(nil, m, l.peekLock)
		if err != nil {
			// Abandon, not release: the delivery count rises, so a message
			// that can never be encoded ends in the dead-letter queue
			// instead of looping.
			l.s.c.log.Error("amqp: encode delivery", "path", l.path, "seq", m.SequenceNumber, "err", err)
			b, ctx, path, tok := l.s.c.cfg.Broker, l.s.c.srv.ctx, l.path, m.LockToken
			l.s.goFunc(func() { _ = b.Settle(ctx, path, tok, broker.Settlement{Disposition: broker.Abandon}) })
			continue
		}
		tag := encoding.UUID(m.LockToken).DotNetBytes()
		d := &outDelivery{l: l, tag: tag[:], settled: !l.peekLock, payload: payload, msg: m, complete: !l.peekLock}
		if l.peekLock {
			l.s.unsettled[l.s.nextDeliveryID] = &unsettled{path: l.path, token: m.LockToken}
		}
		l.s.enqueue(d)
	}
	if len(l.backlog) == 0 {
		l.backlog = nil
	}
}

// queueReply queues an RPC response on this reply link.
func (l *link) queueReply(body []byte) {
	if l.detached {
		return
	}
	l.replies = append(l.replies, body)
	l.deliverReplies()
}

func (l *link) deliverReplies() {
	for l.credit > 0 && len(l.replies) > 0 {
		body := l.replies[0]
		l.replies = l.replies[1:]
		l.credit--
		l.deliveryCount++
		l.nextTag++
		tag := binary.BigEndian.AppendUint64(nil, l.nextTag)
		l.s.enqueue(&outDelivery{l: l, tag: tag, settled: true, payload: body})
	}
}

// enqueue assigns a delivery id and queues the delivery's frames.
func (s *session) enqueue(d *outDelivery) {
	d.id = s.nextDeliveryID
	s.nextDeliveryID++
	s.queue = append(s.queue, d)
	s.pump()
}

// pump writes transfer frames while the client's incoming window is open.
func (s *session) pump() {
	maxFrame := int(s.c.peerMaxFrame)
	for len(s.queue) > 0 && s.remoteIncoming > 0 {
		d := s.queue[0]
		t := frames.Transfer{Handle: d.l.handle, More: true}
		if !d.started {
			t.DeliveryID, t.HasDeliveryID = d.id, true
			t.DeliveryTag = d.tag
			t.HasMessageFormat = true
			t.Settled, t.HasSettled = d.settled, true
		}
		hdr, err := frames.AppendFrame(nil, frames.TypeAMQP, s.channel, &t, nil)
		if err != nil {
			s.c.log.Error("amqp: encode transfer", "err", err)
			s.queue = s.queue[1:]
			continue
		}
		room := maxFrame - len(hdr)
		rest := len(d.payload) - d.offset
		if rest <= room {
			t.More = false
		}
		n := min(rest, room)
		b, err := frames.AppendFrame(make([]byte, 0, len(hdr)+n), frames.TypeAMQP, s.channel, &t, d.payload[d.offset:d.offset+n])
		if err != nil {
			s.c.log.Error("amqp: encode transfer", "err", err)
			s.queue = s.queue[1:]
			continue
		}
		if !s.c.write(b, s.ctx.Done()) {
			return
		}
		d.started = true
		d.offset += n
		s.nextOutgoingID++
		s.remoteIncoming--
		if !t.More {
			s.queue[0] = nil
			s.queue = s.queue[1:]
			if d.complete {
				s.completeAfterRD = append(s.completeAfterRD, d)
			}
		}
	}
	if len(s.queue) == 0 {
		s.queue = nil
	}
	if len(s.completeAfterRD) > 0 {
		done := s.completeAfterRD
		s.completeAfterRD = nil
		b := s.c.cfg.Broker
		ctx := s.c.srv.ctx
		s.goFunc(func() {
			for _, d := range done {
				if err := b.Settle(ctx, d.l.path, d.msg.LockToken, broker.Settlement{Disposition: broker.Complete}); err != nil {
					s.c.log.Warn("amqp: complete of a receive-and-delete delivery failed", "path", d.l.path, "seq", d.msg.SequenceNumber, "err", err)
				}
			}
		})
	}
}

// dropQueued removes l's deliveries that have not started from the queue
// (releasing their messages) and aborts one that has.
func (s *session) dropQueued(l *link) {
	kept := s.queue[:0]
	var release []*broker.Message
	for _, d := range s.queue {
		switch {
		case d.l != l:
			kept = append(kept, d)
		case d.started:
			s.write(&frames.Transfer{Handle: l.handle, Aborted: true}, nil)
			s.nextOutgoingID++
			if s.remoteIncoming > 0 {
				s.remoteIncoming--
			}
		default:
			if d.msg != nil {
				release = append(release, d.msg)
			}
			delete(s.unsettled, d.id)
		}
	}
	s.queue = kept
	s.release(l.path, release)
}
