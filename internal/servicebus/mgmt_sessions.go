package servicebus

// The session operations of the $management node (service-bus-amqp.md
// §8.8–§8.11). Go sends session-id in the body of these operations and
// names its session receiver link in associated-link-name; the server
// resolves that link's lock into Request.Session.

import (
	"context"
	"math"
	"time"

	"github.com/batonmq/baton/internal/amqp/encoding"
)

// renewSessionLock answers renew-session-lock: expiration as timestamp.
func (m *Management) renewSessionLock(ctx context.Context, req *Request, body encoding.Map) (*Response, error) {
	l, err := requireSession(req, body)
	if err != nil {
		return nil, err
	}
	until, err := m.broker.RenewSessionLock(ctx, req.Entity, l)
	if err != nil {
		return nil, err
	}
	return ok(encoding.Map{{Key: "expiration", Value: until}}), nil
}

// getSessionState answers get-session-state: session-state as binary, or
// null when none is set. The key is always present (an empty map would
// break Go, §3.3).
func (m *Management) getSessionState(ctx context.Context, req *Request, body encoding.Map) (*Response, error) {
	l, err := requireSession(req, body)
	if err != nil {
		return nil, err
	}
	state, err := m.broker.GetSessionState(ctx, req.Entity, l)
	if err != nil {
		return nil, err
	}
	var v any // a nil []byte would encode as an empty binary, not null
	if state != nil {
		v = state
	}
	return ok(encoding.Map{{Key: "session-state", Value: v}}), nil
}

// setSessionState answers set-session-state. A null or empty
// session-state clears the state; the key must be present.
func (m *Management) setSessionState(ctx context.Context, req *Request, body encoding.Map) (*Response, error) {
	state, present, err := binaryField(body, "session-state")
	if err != nil {
		return nil, err
	}
	if !present {
		return nil, argErrorf("field %q is missing", "session-state")
	}
	l, err := requireSession(req, body)
	if err != nil {
		return nil, err
	}
	if err := m.broker.SetSessionState(ctx, req.Entity, l, state); err != nil {
		return nil, err
	}
	return ok(nil), nil
}

// sessionsSentinelYear: a last-updated-time in this year or later (Go
// sends year 10000, 253402300800000 ms) asks for every session with
// messages or state.
const sessionsSentinelYear = 9999

// getMessageSessions answers get-message-sessions: sessions-ids as
// array<string> and skip (the offset of the next page) as int, or 204 when
// the page is empty.
func (m *Management) getMessageSessions(ctx context.Context, req *Request, body encoding.Map) (*Response, error) {
	since, _, err := timeField(body, "last-updated-time")
	if err != nil {
		return nil, err
	}
	if since.Year() >= sessionsSentinelYear {
		since = time.Time{}
	}
	skip, _, err := intField(body, "skip", 0, math.MaxInt32)
	if err != nil {
		return nil, err
	}
	top, _, err := intField(body, "top", 0, math.MaxInt32)
	if err != nil {
		return nil, err
	}
	ids, err := m.broker.ListSessions(ctx, req.Entity, since, int(skip), int(top))
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return noContent(), nil
	}
	next := min(skip+int64(len(ids)), math.MaxInt32)
	return ok(encoding.Map{
		{Key: "sessions-ids", Value: ids},
		{Key: "skip", Value: int32(next)},
	}), nil
}
