package amqp

import (
	"context"
	"time"

	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/amqp/frames"
	"github.com/batonmq/baton/internal/broker"
)

// This file attaches session receivers (service-bus-amqp.md §5.4). The
// source filter com.microsoft:session-filter names a session (string) or
// asks for the next available one (null). broker.AcceptSession runs on a
// goroutine (accept-next waits up to the link property com.microsoft:timeout,
// default 60 s) and the attach is answered when it returns: the filter
// echoed in the shape it came in (described or plain) with the locked
// session id, and the link property com.microsoft:locked-until-utc (.NET
// ticks, long). Receives on the link then name the session lock; when the
// lock is lost the broker's receive fails with CodeSessionLockLost and the
// link is detached with com.microsoft:session-lock-lost. Detaching the link
// or ending its session releases the session lock (its unsettled messages
// return without a delivery-count increment).

const (
	propTimeout     = "com.microsoft:timeout"
	propLockedUntil = "com.microsoft:locked-until-utc"
	defaultAccept   = 60 * time.Second
)

// LinkInfo describes an entity link of a connection, for management
// operations that name a link (associated-link-name, §8).
type LinkInfo struct {
	Name        string
	Path        string
	ClientSends bool
	// Session is a copy of the link's session lock (session receivers
	// only; nil otherwise). Pass it to broker session calls.
	Session *broker.SessionLock
}

// Link returns the entity link named name on this connection.
func (c *ConnInfo) Link(name string) (LinkInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	li, ok := c.links[name]
	if ok && li.Session != nil {
		lock := *li.Session
		li.Session = &lock
	}
	return li, ok
}

func (c *ConnInfo) addLink(name string, li LinkInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.links == nil {
		c.links = make(map[string]LinkInfo)
	}
	c.links[name] = li
}

func (c *ConnInfo) removeLink(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.links, name)
}

func (l *link) sessionLockCopy() *broker.SessionLock {
	if l.sessLock == nil {
		return nil
	}
	lock := *l.sessLock
	return &lock
}

// acceptSession starts the session accept of a session receiver.
func (s *session) acceptSession(a *frames.Attach, l *link, filter any) {
	var sessionID string
	v := filter
	if d, ok := filter.(encoding.Described); ok {
		v = d.Value
	}
	switch id := v.(type) {
	case nil:
	case string:
		sessionID = id
	default:
		s.rejectAttach(a, l, &frames.Error{Condition: frames.ErrCondNotAllowed, Description: "the session filter must be a string or null"})
		return
	}
	wait := defaultAccept
	if t, ok := a.Properties.Lookup(propTimeout); ok {
		if ms, ok := millis(t); ok {
			wait = ms
		}
	}
	b := s.c.cfg.Broker
	path, ctx := l.path, l.ctx
	s.goFunc(func() {
		lock, err := b.AcceptSession(ctx, path, sessionID, wait)
		if !s.post(func() { l.onSessionAccepted(a, filter, lock, err) }) && lock != nil {
			_ = b.ReleaseSession(s.c.srv.ctx, path, lock)
		}
	})
}

func millis(v any) (time.Duration, bool) {
	var n int64
	switch x := v.(type) {
	case uint32:
		n = int64(x)
	case int32:
		n = int64(x)
	case int64:
		n = x
	case uint64:
		n = int64(min(x, 1<<40))
	default:
		return 0, false
	}
	if n <= 0 {
		return 0, false
	}
	return time.Duration(n) * time.Millisecond, true
}

func (l *link) onSessionAccepted(a *frames.Attach, filter any, lock *broker.SessionLock, err error) {
	s := l.s
	if l.detached || s.links[l.handle] != l {
		if lock != nil {
			s.releaseSession(l.path, lock)
		}
		return
	}
	if err != nil {
		if errorsIsContext(err) {
			err = &frames.Error{Condition: frames.ErrCondTimeout, Description: err.Error()}
		}
		s.rejectAttach(a, l, amqpError(err))
		return
	}
	l.sessLock = lock
	if rem := lock.LockedUntil.Sub(s.c.clock.Now()); rem > 0 {
		l.maxWait = max(rem/2, time.Second)
	}
	src := *a.Source
	src.Filter = make(encoding.Map, len(a.Source.Filter))
	copy(src.Filter, a.Source.Filter)
	for i, kv := range src.Filter {
		if k, ok := modKeyName(kv.Key); !ok || k != sessionFilterKey {
			continue
		}
		if d, ok := filter.(encoding.Described); ok {
			src.Filter[i].Value = encoding.Described{Descriptor: d.Descriptor, Value: lock.SessionID}
		} else {
			src.Filter[i].Value = lock.SessionID
		}
	}
	props := encoding.Map{{Key: encoding.Symbol(propLockedUntil), Value: encoding.DotNetTicks(lock.LockedUntil)}}
	l.finishAttach(a, &src, props)
}

func modKeyName(k any) (string, bool) {
	switch k := k.(type) {
	case string:
		return k, true
	case encoding.Symbol:
		return string(k), true
	}
	return "", false
}

func errorsIsContext(err error) bool {
	return err == context.Canceled || err == context.DeadlineExceeded
}

// releaseSession gives a session lock up in the background.
func (s *session) releaseSession(path string, lock *broker.SessionLock) {
	b := s.c.cfg.Broker
	ctx := s.c.srv.ctx
	s.goFunc(func() { _ = b.ReleaseSession(ctx, path, lock) })
}

// checkNoSessions refuses a plain receiver on an entity that requires
// sessions (§5.1).
func (s *session) checkNoSessions(path string) *frames.Error {
	name, dlq := splitDeadLetter(path)
	if dlq {
		return nil
	}
	info, err := s.c.cfg.Broker.Definition(name)
	if err != nil {
		return amqpError(err)
	}
	if info.Properties.RequiresSession {
		return &frames.Error{Condition: frames.ErrCondNotAllowed,
			Description: "It is not possible for an entity that requires sessions to create a non-sessionful message receiver."}
	}
	return nil
}
