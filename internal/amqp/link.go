package amqp

import (
	"context"
	"fmt"
	"time"

	"github.com/batonmq/baton/internal/amqp/encoding"

	"github.com/batonmq/baton/internal/amqp/frames"
	"github.com/batonmq/baton/internal/broker"
)

// This file attaches links (service-bus-amqp.md §1.6). A link is owned by
// its session's mux; the fields of the two roles live in one struct:
// link_receiver.go handles links where the client sends (broker.Send),
// link_sender.go links where the client receives (broker.Receive, RPC
// replies).

// sessionFilterKey is the source filter of a session receiver (§5.4).
const sessionFilterKey = "com.microsoft:session-filter"

type link struct {
	s           *session
	name        string
	handle      frames.Handle // ours (equal to the client's)
	clientSends bool
	path        string   // broker entity path; "" for RPC links
	rpc         *RPCNode // RPC node, or nil
	coord       bool     // a transaction coordinator link (txn.go)
	targetAddr  string
	detached    bool // we sent detach; waiting for the client's
	ctx         context.Context
	cancel      context.CancelFunc

	credit        uint32
	deliveryCount frames.SequenceNo

	// Client sends.
	rcvSecond bool // rcv-settle-mode second: outcomes are sent unsettled
	inflight  int
	cur       *inDelivery
	sendQ     chan *inDelivery

	// Client receives.
	peekLock    bool
	drain       bool
	fetching    bool
	fetchCancel context.CancelFunc
	reqCh       chan fetchReq
	backlog     []*broker.Message
	replies     [][]byte
	nextTag     uint64
	// Session receivers (link_session.go).
	sessLock *broker.SessionLock
	maxWait  time.Duration // caps broker waits so an expired session lock is noticed
}

func (s *session) onAttach(a *frames.Attach) {
	if old := s.links[a.Handle]; old != nil {
		s.fail(frames.ErrCondHandleInUse, fmt.Sprintf("handle %d is in use", a.Handle))
		return
	}
	if a.Handle > handleMax {
		s.fail(frames.ErrCondNotAllowed, fmt.Sprintf("handle %d is above handle-max %d", a.Handle, handleMax))
		return
	}
	l := &link{s: s, name: a.Name, handle: a.Handle, clientSends: a.Role == frames.RoleSender}
	l.ctx, l.cancel = context.WithCancel(s.ctx)
	s.links[a.Handle] = l
	if a.Coordinator != nil {
		s.attachCoordinator(a, l)
		return
	}
	req := &AttachRequest{LinkName: a.Name, ClientSends: l.clientSends, Properties: a.Properties, Conn: s.c.info}
	if l.clientSends {
		if a.Target != nil {
			req.Address = a.Target.Address
		}
	} else if a.Source != nil {
		req.Address = a.Source.Address
		req.Filter = a.Source.Filter
	}
	if a.Target != nil {
		l.targetAddr = a.Target.Address
	}
	node, err := s.c.cfg.Resolver.Resolve(l.ctx, req)
	if err != nil {
		s.rejectAttach(a, l, amqpError(err))
		return
	}
	switch n := node.(type) {
	case *EntityNode:
		l.path = n.Path
		if l.clientSends {
			dest, err := s.sendVia(l.ctx, req)
			if err != nil {
				s.rejectAttach(a, l, amqpError(err))
				return
			}
			if dest != "" {
				l.path = dest
			}
		} else {
			if f, ok := req.Filter.Lookup(sessionFilterKey); ok {
				s.acceptSession(a, l, f)
				return
			}
			if err := s.checkNoSessions(l.path); err != nil {
				s.rejectAttach(a, l, err)
				return
			}
		}
	case *RPCNode:
		l.rpc = n
	default:
		s.rejectAttach(a, l, &frames.Error{Condition: frames.ErrCondNotFound, Description: "unknown node"})
		return
	}
	l.finishAttach(a, a.Source, nil)
}

// finishAttach sends the attach reply (echoing the settle modes and the
// terminuses, with src in place of the client's source) and starts the
// link's work.
func (l *link) finishAttach(a *frames.Attach, src *frames.Source, props encoding.Map) {
	s := l.s
	reply := &frames.Attach{
		Name:          a.Name,
		Handle:        l.handle,
		Role:          !a.Role,
		SndSettleMode: a.SndSettleMode,
		RcvSettleMode: a.RcvSettleMode,
		Source:        src,
		Target:        a.Target,
		Properties:    props,
	}
	if reply.Source == nil {
		reply.Source = &frames.Source{}
	}
	if reply.Target == nil {
		reply.Target = &frames.Target{}
	}
	if l.clientSends {
		mms := s.maxMessageSize(l.path)
		reply.MaxMessageSize = &mms
		l.rcvSecond = a.RcvSettleMode != nil && *a.RcvSettleMode == frames.ReceiverSettleSecond
	} else {
		var zero frames.SequenceNo
		reply.InitialDeliveryCount = &zero
		l.peekLock = a.SenderSettle() != frames.SenderSettleSettled
	}
	if !s.write(reply, nil) {
		l.stop() // the connection is closing
		return
	}
	if l.path != "" {
		s.c.info.addLink(l.name, LinkInfo{Name: l.name, Path: l.path, ClientSends: l.clientSends, Session: l.sessionLockCopy()})
	}
	if l.clientSends {
		l.sendQ = make(chan *inDelivery, s.c.cfg.LinkCredit+1)
		if l.path != "" {
			q := l.sendQ
			s.goFunc(func() { l.sendLoop(q) })
		}
		l.topUp()
		return
	}
	if l.rpc != nil {
		s.c.registerReply(l)
		l.deliverMore()
		return
	}
	l.reqCh = make(chan fetchReq, 1)
	q := l.reqCh
	s.goFunc(func() { l.fetchLoop(q) })
	l.deliverMore() // credit may have arrived during the attach
}

// rejectAttach answers an attach with null terminuses followed by a
// closing detach carrying the error (§1.6 rule 4).
func (s *session) rejectAttach(a *frames.Attach, l *link, e *frames.Error) {
	l.detached = true
	l.cancel()
	if !s.write(&frames.Attach{Name: a.Name, Handle: l.handle, Role: !a.Role,
		SndSettleMode: a.SndSettleMode, RcvSettleMode: a.RcvSettleMode}, nil) {
		return
	}
	s.write(&frames.Detach{Handle: l.handle, Closed: true, Error: e}, nil)
}

// detachWithError detaches the link from the server side.
func (l *link) detachWithError(e *frames.Error) {
	if l.detached {
		return
	}
	l.stop()
	l.detached = true
	l.s.write(&frames.Detach{Handle: l.handle, Closed: true, Error: e}, nil)
}

// stop ends the link's work: the receive worker stops, undelivered
// messages go back to the queue, messages already accepted from the client
// are still handed to the broker. Safe to call twice.
func (l *link) stop() {
	if l.detached {
		return
	}
	l.detached = true
	l.cancel()
	if l.sendQ != nil {
		close(l.sendQ)
		l.sendQ = nil
	}
	if l.rpc != nil && !l.clientSends {
		l.s.c.unregisterReply(l)
	}
	if l.coord {
		l.s.c.txns.dropOwned(l)
	}
	if l.path != "" {
		l.s.c.info.removeLink(l.name)
	}
	if l.sessLock != nil {
		l.s.releaseSession(l.path, l.sessLock)
		l.sessLock = nil
	}
	if !l.clientSends {
		l.s.release(l.path, l.backlog)
		l.backlog = nil
		l.s.dropQueued(l)
	}
}

// linkFlow is a flow frame carrying the session fields and l's state.
func (l *link) linkFlow() *frames.Flow {
	f := l.s.sessionFlow()
	f.Handle, f.HasHandle = l.handle, true
	f.DeliveryCount, f.HasDeliveryCount = l.deliveryCount, true
	f.LinkCredit, f.HasLinkCredit = l.credit, true
	f.Drain = l.drain
	return f
}

// onFlow applies a client's link flow.
func (l *link) onFlow(f *frames.Flow) {
	if l.clientSends {
		if f.Echo {
			l.s.write(l.linkFlow(), nil)
		}
		return
	}
	if f.HasLinkCredit {
		// The client's credit is relative to its delivery-count (part 2,
		// 2.6.7): credit = delivery-count(rcv) + link-credit(rcv) - ours.
		dc := l.deliveryCount
		if f.HasDeliveryCount {
			dc = f.DeliveryCount
		}
		c := int64(uint32(dc) + f.LinkCredit - uint32(l.deliveryCount)) // wrap-aware
		if c < 0 || c > 1<<31 {
			c = 0
		}
		l.credit = uint32(c)
	}
	l.drain = f.Drain
	l.deliverMore()
	if f.Echo {
		l.s.write(l.linkFlow(), nil)
	}
}

// maxMessageSize is the max-message-size advertised to a client sender:
// Config.MaxMessageSize, or the entity's own limit when smaller (the Go SDK
// sizes its batches by it, §4.1).
func (s *session) maxMessageSize(path string) uint64 {
	mms := s.c.cfg.MaxMessageSize
	if path == "" {
		return mms
	}
	name, _ := splitDeadLetter(path)
	if info, err := s.c.cfg.Broker.Definition(name); err == nil {
		if kb := info.Properties.MaxMessageSizeInKilobytes; kb > 0 && uint64(kb)<<10 < mms {
			mms = uint64(kb) << 10
		}
	}
	return mms
}
