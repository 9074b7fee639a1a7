package broker

import (
	"context"
	"sort"
	"time"
)

// SessionLock is a held lock on one session.
type SessionLock struct {
	SessionID   string
	Token       LockToken
	LockedUntil time.Time
}

// AcceptSession locks a session of a session-enabled entity. With a
// sessionID it locks that session (which need not hold messages yet); it
// fails with CodeSessionCannotBeLocked when another receiver holds it. With
// an empty sessionID it locks the next session that has available messages,
// waiting up to wait; when none comes the error is CodeTimeout.
func (b *Broker) AcceptSession(ctx context.Context, path, sessionID string, wait time.Duration) (*SessionLock, error) {
	b.runDue()
	e, dlq, err := b.lookup(path)
	if err != nil {
		return nil, err
	}
	if dlq {
		return nil, errorf(CodeInvalidArgument, "the dead-letter sub-queue has no sessions")
	}
	if len(sessionID) > b.limits.MaxMessageIDLength {
		return nil, errorf(CodeInvalidArgument, "session id is longer than %d characters", b.limits.MaxMessageIDLength)
	}
	var timer <-chan time.Time
	for {
		e.mu.Lock()
		if err := e.usableLocked(); err != nil {
			e.mu.Unlock()
			return nil, err
		}
		if !e.def.Properties.RequiresSession {
			e.mu.Unlock()
			return nil, errorf(CodeInvalidArgument, "entity %q does not require sessions", e.def.Name)
		}
		if st := e.def.Properties.Status; st == StatusDisabled || st == StatusReceiveDisabled {
			e.mu.Unlock()
			return nil, errorf(CodeEntityDisabled, "entity %q is %s; receives are refused", e.def.Name, st)
		}
		now := b.clock.Now()
		if sessionID != "" {
			s := e.sessionLocked(sessionID)
			if s.lockValid(now) {
				e.mu.Unlock()
				return nil, errorf(CodeSessionCannotBeLocked, "the requested session %q cannot be accepted: it is locked by another receiver", sessionID)
			}
			l := e.lockSessionLocked(s, now)
			e.mu.Unlock()
			return l, nil
		}
		if s := e.nextReadySessionLocked(); s != nil {
			l := e.lockSessionLocked(s, now)
			e.mu.Unlock()
			return l, nil
		}
		if wait <= 0 || b.draining.Load() {
			e.mu.Unlock()
			return nil, errorf(CodeTimeout, "no session is available in %q", e.def.Name)
		}
		w := &waiter{ch: make(chan struct{}, 1), session: true}
		e.addWaiterLocked(w)
		e.mu.Unlock()
		if timer == nil {
			t := b.clock.NewTimer(wait)
			defer t.Stop()
			timer = t.C()
		}
		var err error
		select {
		case <-w.ch:
			b.runDue()
			continue
		case <-timer:
			err = errorf(CodeTimeout, "no session became available in %q within %v", e.def.Name, wait)
		case <-ctx.Done():
			err = ctx.Err()
		case <-b.stop:
			err = ErrClosed
		}
		e.mu.Lock()
		e.removeWaiterLocked(w)
		e.mu.Unlock()
		return nil, err
	}
}

// nextReadySessionLocked pops the first unlocked session with available
// messages.
func (e *entity) nextReadySessionLocked() *session {
	for len(e.ready) > 0 {
		s := e.ready[0]
		e.ready[0] = nil
		e.ready = e.ready[1:]
		s.inReady = false
		if !s.locked && s.avail.Len() > 0 {
			return s
		}
		e.dropSessionIfIdleLocked(s)
	}
	e.ready = nil
	return nil
}

func (e *entity) lockSessionLocked(s *session, now time.Time) *SessionLock {
	s.locked = true
	s.lockToken = e.b.newToken()
	s.lockedUntil = now.Add(e.def.Properties.LockDuration)
	e.lastActivity = now
	e.b.timers.add(timerEvent{when: s.lockedUntil, kind: evSessionExpiry, ent: e, token: s.lockToken, sess: s})
	return &SessionLock{SessionID: s.id, Token: s.lockToken, LockedUntil: s.lockedUntil}
}

// heldSessionLocked returns the session l names if l still holds it.
func (e *entity) heldSessionLocked(l *SessionLock, now time.Time) (*session, error) {
	if err := e.usableLocked(); err != nil {
		return nil, err
	}
	if !e.def.Properties.RequiresSession {
		return nil, errorf(CodeInvalidArgument, "entity %q does not require sessions", e.def.Name)
	}
	s := e.sessions[l.SessionID]
	if s == nil || s.lockToken != l.Token || !s.lockValid(now) {
		return nil, errorf(CodeSessionLockLost, "the session lock of session %q was lost or is held by another receiver", l.SessionID)
	}
	return s, nil
}

// releaseSessionLocked unlocks a session: its locked messages become
// available again without counting a delivery. Their lock tokens are
// remembered for a while so that a late settlement is told the session lock
// was lost rather than that the message lock was.
func (e *entity) releaseSessionLocked(s *session, now time.Time) {
	s.locked = false
	s.lockToken = LockToken{}
	for _, en := range s.held {
		if en.st == stLocked && !en.msg.DeadLettered {
			e.rememberSessionLostLocked(en.msg.LockToken)
			e.unlockLocked(en, now)
		}
	}
	clear(s.held)
	s.held = s.held[:0]
	if s.avail.Len() > 0 && !s.inReady {
		s.inReady = true
		e.ready = append(e.ready, s)
		e.wakeLocked(0, false)
	}
	e.dropSessionIfIdleLocked(s)
}

// RenewSessionLock extends a held session lock by the entity's LockDuration.
func (b *Broker) RenewSessionLock(ctx context.Context, path string, l *SessionLock) (time.Time, error) {
	b.runDue()
	e, _, err := b.lookup(path)
	if err != nil {
		return time.Time{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.usableLocked(); err != nil {
		return time.Time{}, err
	}
	now := b.clock.Now()
	s, err := e.heldSessionLocked(l, now)
	if err != nil {
		return time.Time{}, err
	}
	s.lockedUntil = now.Add(e.def.Properties.LockDuration)
	for _, en := range s.held {
		if en.st == stLocked && !en.msg.DeadLettered {
			en.msg.LockedUntil = s.lockedUntil
		}
	}
	b.timers.add(timerEvent{when: s.lockedUntil, kind: evSessionExpiry, ent: e, token: s.lockToken, sess: s})
	e.lastActivity = now
	return s.lockedUntil, nil
}

// ReleaseSession gives up a session lock. Releasing a lock that is no longer
// held is not an error.
func (b *Broker) ReleaseSession(ctx context.Context, path string, l *SessionLock) error {
	b.runDue()
	e, _, err := b.lookup(path)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s, err := e.heldSessionLocked(l, b.clock.Now())
	switch CodeOf(err) {
	case CodeUnknown:
		e.releaseSessionLocked(s, b.clock.Now())
	case CodeSessionLockLost:
		// Releasing a lock that is gone already is not an error.
	default:
		return err
	}
	return nil
}

// GetSessionState returns a held session's state (nil when none is set).
func (b *Broker) GetSessionState(ctx context.Context, path string, l *SessionLock) ([]byte, error) {
	b.runDue()
	e, _, err := b.lookup(path)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.usableLocked(); err != nil {
		return nil, err
	}
	s, err := e.heldSessionLocked(l, b.clock.Now())
	if err != nil {
		return nil, err
	}
	return s.state, nil
}

// SetSessionState durably sets (nil or empty: clears) a held session's state.
func (b *Broker) SetSessionState(ctx context.Context, path string, l *SessionLock, state []byte) error {
	b.runDue()
	e, _, err := b.lookup(path)
	if err != nil {
		return err
	}
	e.mu.Lock()
	if err := e.usableLocked(); err != nil {
		e.mu.Unlock()
		return err
	}
	now := b.clock.Now()
	s, err := e.heldSessionLocked(l, now)
	if err != nil {
		e.mu.Unlock()
		return err
	}
	if max := e.def.Properties.MaxMessageSizeInKilobytes << 10; int64(len(state)) > max {
		e.mu.Unlock()
		return errorf(CodeMessageTooLarge, "session state is %d bytes; the limit is %d", len(state), max)
	}
	if len(state) == 0 {
		state = nil
	} else {
		state = append([]byte(nil), state...)
	}
	ch := b.submitLocked([]Record{{Kind: RecSessionState, Entity: e.key, SessionID: s.id, SessionState: state, SessionTime: now}})
	e.mu.Unlock()
	if err := wait(ch); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s.state, s.stateUpdated = state, now
	e.dropSessionIfIdleLocked(s)
	return nil
}

// ListSessions lists session ids in name order. With a zero updatedSince (or
// one in year 9999 or later, as the Go SDK sends) it lists sessions that have
// messages or state; otherwise sessions whose state was set after
// updatedSince.
func (b *Broker) ListSessions(ctx context.Context, path string, updatedSince time.Time, skip, top int) ([]string, error) {
	b.runDue()
	e, dlq, err := b.lookup(path)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	if err := e.usableLocked(); err != nil {
		e.mu.Unlock()
		return nil, err
	}
	if dlq || !e.def.Properties.RequiresSession {
		e.mu.Unlock()
		return nil, errorf(CodeInvalidArgument, "entity %q does not require sessions", e.def.Name)
	}
	all := updatedSince.IsZero() || updatedSince.Year() >= 9999
	var ids []string
	for id, s := range e.sessions {
		if all && (s.live > 0 || s.state != nil) || !all && s.state != nil && s.stateUpdated.After(updatedSince) {
			ids = append(ids, id)
		}
	}
	e.mu.Unlock()
	sort.Strings(ids)
	if skip < 0 || top < 0 {
		return nil, errorf(CodeInvalidArgument, "skip and top must not be negative")
	}
	if skip >= len(ids) {
		return nil, nil
	}
	ids = ids[skip:]
	if top > 0 && top < len(ids) {
		ids = ids[:top]
	}
	return ids, nil
}

// sessionLostMax bounds how many tokens of messages unlocked with their
// session are remembered per entity.
const sessionLostMax = 4096

// rememberSessionLostLocked records the token of a message whose lock ended
// with its session's.
func (e *entity) rememberSessionLostLocked(t LockToken) {
	if e.sessionLost == nil {
		e.sessionLost = make(map[LockToken]struct{})
	}
	if len(e.sessionLostOrder) >= sessionLostMax {
		delete(e.sessionLost, e.sessionLostOrder[0])
		e.sessionLostOrder = e.sessionLostOrder[1:]
	}
	e.sessionLost[t] = struct{}{}
	e.sessionLostOrder = append(e.sessionLostOrder, t)
}
