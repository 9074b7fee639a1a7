package servicebus

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/amqp/frames"
	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/clock"
)

// Management operation names (service-bus-amqp.md §8.1), as the
// application property "operation" carries them.
const (
	OpPeekMessage            = "com.microsoft:peek-message"
	OpRenewLock              = "com.microsoft:renew-lock"
	OpReceiveBySequence      = "com.microsoft:receive-by-sequence-number"
	OpUpdateDisposition      = "com.microsoft:update-disposition"
	OpScheduleMessage        = "com.microsoft:schedule-message"
	OpCancelScheduledMessage = "com.microsoft:cancel-scheduled-message"
	OpRenewSessionLock       = "com.microsoft:renew-session-lock"
	OpGetSessionState        = "com.microsoft:get-session-state"
	OpSetSessionState        = "com.microsoft:set-session-state"
	OpGetMessageSessions     = "com.microsoft:get-message-sessions"
	OpAddRule                = "com.microsoft:add-rule"
	OpRemoveRule             = "com.microsoft:remove-rule"
	OpEnumerateRules         = "com.microsoft:enumerate-rules"
)

const opPrefix = "com.microsoft:"

// Request is one management (or CBS) request, decoded by the AMQP server.
type Request struct {
	// Operation is application-properties["operation"].
	Operation string
	// ApplicationProperties are the request's application-properties.
	ApplicationProperties encoding.Map
	// Body is the decoded amqp-value body: usually an encoding.Map for
	// management, the token string for CBS; nil when there is none.
	Body any
	// AssociatedLinkName is application-properties["associated-link-name"]:
	// the client's receiver (or sender) link for this entity.
	AssociatedLinkName string
	// Entity is the entity path the $management node belongs to: "orders"
	// or "orders/$DeadLetterQueue".
	Entity string
	// Session is the session lock held by the receiver link named by
	// AssociatedLinkName (or, when the body names a session-id, by the
	// connection's receiver link holding that session), if any. Handle
	// never modifies it.
	Session *broker.SessionLock
}

// Response is the answer to a Request. The server sends StatusCode as
// status-code and statusCode (int), StatusDescription as
// status-description and statusDescription, ErrorCondition (when set) as
// error-condition and errorCondition (symbol), and Body (when not nil) as
// an amqp-value. Body is never an empty map.
type Response struct {
	StatusCode        int32
	StatusDescription string
	ErrorCondition    string
	Body              any
}

// Config configures a Management.
type Config struct {
	// Broker is required.
	Broker broker.Engine
	// Clock defaults to clock.Real.
	Clock clock.Clock
	// Logger defaults to a logger that discards.
	Logger *slog.Logger
}

// Management answers the requests of every entity's $management node. It
// is safe for concurrent use.
type Management struct {
	broker broker.Engine
	clock  clock.Clock
	log    *slog.Logger
}

// NewManagement returns a Management over cfg.Broker.
func NewManagement(cfg Config) (*Management, error) {
	if cfg.Broker == nil {
		return nil, fmt.Errorf("%w: Config.Broker is nil", ErrArgument)
	}
	m := &Management{broker: cfg.Broker, clock: cfg.Clock, log: cfg.Logger}
	if m.clock == nil {
		m.clock = clock.Real{}
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	return m, nil
}

// handlerFunc runs one operation on a decoded body map.
type handlerFunc func(m *Management, ctx context.Context, req *Request, body encoding.Map) (*Response, error)

// operations maps an operation name (without the com.microsoft: prefix)
// to its handler.
var operations = map[string]handlerFunc{
	"peek-message":               (*Management).peek,
	"renew-lock":                 (*Management).renewLock,
	"receive-by-sequence-number": (*Management).receiveBySequence,
	"update-disposition":         (*Management).updateDisposition,
	"schedule-message":           (*Management).schedule,
	"cancel-scheduled-message":   (*Management).cancelScheduled,
	"renew-session-lock":         (*Management).renewSessionLock,
	"get-session-state":          (*Management).getSessionState,
	"set-session-state":          (*Management).setSessionState,
	"get-message-sessions":       (*Management).getMessageSessions,
	"add-rule":                   (*Management).addRule,
	"remove-rule":                (*Management).removeRule,
	"enumerate-rules":            (*Management).enumerateRules,
}

// Handle answers one management request. It never returns nil and never
// panics on any request.
func (m *Management) Handle(ctx context.Context, req *Request) (resp *Response) {
	defer func() {
		if r := recover(); r != nil {
			m.log.Error("management operation panicked", "operation", req.Operation, "entity", req.Entity, "panic", r)
			resp = &Response{StatusCode: StatusInternalServerError,
				StatusDescription: fmt.Sprintf("internal error: panic in %s", req.Operation),
				ErrorCondition:    string(frames.ErrCondInternalError)}
		}
	}()
	name := strings.TrimPrefix(req.Operation, opPrefix)
	h, ok := operations[name]
	if !ok {
		desc := fmt.Sprintf("the operation %q is not supported on %s/$management", req.Operation, req.Entity)
		if req.Operation == "" {
			desc = "the request has no operation application property"
		}
		return &Response{StatusCode: StatusNotImplemented, StatusDescription: desc,
			ErrorCondition: string(frames.ErrCondNotImplemented)}
	}
	body, err := bodyMap(req.Body)
	if err == nil {
		resp, err = h(m, ctx, req, body)
	}
	if err != nil {
		resp = errorResponse(err, req.Entity)
		level := slog.LevelDebug
		if resp.StatusCode >= StatusInternalServerError && resp.StatusCode != StatusNotImplemented {
			level = slog.LevelWarn
		}
		m.log.Log(ctx, level, "management operation failed", "operation", req.Operation, "entity", req.Entity,
			"status", resp.StatusCode, "condition", resp.ErrorCondition, "err", err)
	}
	return resp
}

func ok(body any) *Response {
	return &Response{StatusCode: StatusOK, StatusDescription: "OK", Body: body}
}

func noContent() *Response {
	return &Response{StatusCode: StatusNoContent, StatusDescription: "No Content"}
}

// sessionOf returns the session a request is scoped to: a copy of
// req.Session, checked against the body's session-id when it has one. It
// returns nil when the request is not scoped to a session.
func sessionOf(req *Request, body encoding.Map) (*broker.SessionLock, error) {
	sid, named, err := stringField(body, "session-id")
	if err != nil {
		return nil, err
	}
	if req.Session == nil {
		if named {
			return nil, sessionNotHeld(sid, req)
		}
		return nil, nil
	}
	if named && sid != req.Session.SessionID {
		return nil, sessionNotHeld(sid, req)
	}
	l := *req.Session // the broker writes LockedUntil on renewal; keep the caller's untouched
	return &l, nil
}

// requireSession is sessionOf for operations that need a session.
func requireSession(req *Request, body encoding.Map) (*broker.SessionLock, error) {
	l, err := sessionOf(req, body)
	if err != nil {
		return nil, err
	}
	if l == nil {
		return nil, sessionNotHeld("", req)
	}
	return l, nil
}

func sessionNotHeld(sid string, req *Request) error {
	link := ""
	if req.AssociatedLinkName != "" {
		link = fmt.Sprintf(" (associated link %q)", req.AssociatedLinkName)
	}
	msg := "the request names no session and its associated receiver link holds no session lock" + link
	if sid != "" {
		msg = fmt.Sprintf("the session lock of session %q is not held by the associated receiver link%s: it was lost or never acquired", sid, link)
	}
	return &broker.Error{Code: broker.CodeSessionLockLost, Message: msg}
}
