package mgmt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

// DefaultMaxRequestBytes bounds a request body when Config.MaxRequestBytes
// is zero: room for a 100 MB text message and its JSON framing.
const DefaultMaxRequestBytes = 120 << 20

// Config configures the management API handler.
type Config struct {
	// Broker is the engine the API manages: the broker, or the shared
	// Service Bus engine (pgbroker) when the server has one. Required.
	Broker broker.Engine
	// Logger receives one line per failed request with a 5xx status; nil
	// discards.
	Logger *slog.Logger
	// Ready reports readiness for /readyz; nil means always ready.
	Ready func() bool
	// MaxRequestBytes bounds request bodies; 0 means DefaultMaxRequestBytes.
	MaxRequestBytes int64
	// StoreStats reports the store's counters for GET /api/v1/stats; nil
	// answers zeros.
	StoreStats func() StoreStats
}

// server holds the handler's dependencies.
type server struct {
	b        broker.Engine
	log      *slog.Logger
	ready    func() bool
	maxBytes int64

	storeStats func() StoreStats
}

// New returns the management API handler. It panics if cfg.Broker is nil,
// a programming error.
func New(cfg Config) http.Handler {
	if cfg.Broker == nil {
		panic("mgmt: Config.Broker is nil")
	}
	s := &server{b: cfg.Broker, log: cfg.Logger, ready: cfg.Ready, maxBytes: cfg.MaxRequestBytes, storeStats: cfg.StoreStats}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBytes <= 0 {
		s.maxBytes = DefaultMaxRequestBytes
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("GET /api/v1/stats", s.stats)

	const q = "/api/v1/queues/{name}"
	mux.HandleFunc("GET /api/v1/queues", s.listQueues)
	mux.HandleFunc("PUT "+q, s.createQueue)
	mux.HandleFunc("GET "+q, s.getQueue)
	mux.HandleFunc("PATCH "+q, s.updateQueue)
	mux.HandleFunc("DELETE "+q, s.deleteQueue)

	mux.HandleFunc("POST "+q+"/messages", s.send)
	mux.HandleFunc("GET "+q+"/messages", s.peek)
	mux.HandleFunc("POST "+q+"/cancel-scheduled", s.cancelScheduled)

	const t = "/api/v1/topics/{name}"
	const sub = t + "/subscriptions/{sub}"
	mux.HandleFunc("GET /api/v1/topics", s.listTopics)
	mux.HandleFunc("PUT "+t, s.createTopic)
	mux.HandleFunc("GET "+t, s.getTopic)
	mux.HandleFunc("PATCH "+t, s.updateTopic)
	mux.HandleFunc("DELETE "+t, s.deleteTopic)
	mux.HandleFunc("POST "+t+"/messages", s.send)
	mux.HandleFunc("POST "+t+"/cancel-scheduled", s.cancelScheduled)
	mux.HandleFunc("GET "+t+"/subscriptions", s.listSubscriptions)
	mux.HandleFunc("PUT "+sub, s.createSubscription)
	mux.HandleFunc("GET "+sub, s.getSubscription)
	mux.HandleFunc("PATCH "+sub, s.updateSubscription)
	mux.HandleFunc("DELETE "+sub, s.deleteSubscription)
	mux.HandleFunc("GET "+sub+"/rules", s.listRules)
	mux.HandleFunc("PUT "+sub+"/rules/{rule}", s.putRule)
	mux.HandleFunc("GET "+sub+"/rules/{rule}", s.getRule)
	mux.HandleFunc("DELETE "+sub+"/rules/{rule}", s.deleteRule)

	// The message routes of a queue serve a subscription too, under
	// either of its paths (queueName resolves {sub}).
	for _, p := range []string{q, sub} {
		if p == sub {
			mux.HandleFunc("GET "+p+"/messages", s.peek)
		}
		mux.HandleFunc("POST "+p+"/receive", s.receive)
		mux.HandleFunc("POST "+p+"/settle", s.settle)
		mux.HandleFunc("POST "+p+"/renew", s.renew)
		mux.HandleFunc("POST "+p+"/deferred", s.receiveDeferred)
		mux.HandleFunc("POST "+p+"/dlq/resubmit", s.resubmit)
		mux.HandleFunc("GET "+p+"/sessions", s.listSessions)
		mux.HandleFunc("POST "+p+"/sessions/accept", s.acceptSession)
		mux.HandleFunc("POST "+p+"/sessions/{id}/renew", s.renewSession)
		mux.HandleFunc("POST "+p+"/sessions/{id}/release", s.releaseSession)
		mux.HandleFunc("GET "+p+"/sessions/{id}/state", s.getSessionState)
		mux.HandleFunc("PUT "+p+"/sessions/{id}/state", s.setSessionState)
	}

	return &root{mux: mux, s: s}
}

// root renders the mux's own 404 and 405 answers in the API's error shape
// and turns panics into 500s.
type root struct {
	mux *http.ServeMux
	s   *server
}

func (h *root) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.s.log.Error("mgmt: panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v)
			writeError(w, http.StatusInternalServerError, "Unknown", "internal error")
		}
	}()
	if _, pattern := h.mux.Handler(r); pattern == "" {
		cw := &captureWriter{header: make(http.Header)}
		h.mux.ServeHTTP(cw, r)
		switch {
		case cw.status == http.StatusMethodNotAllowed:
			if allow := cw.header.Get("Allow"); allow != "" {
				w.Header().Set("Allow", allow)
			}
			writeError(w, cw.status, "MethodNotAllowed", fmt.Sprintf("method %s is not allowed on %s", r.Method, truncate(r.URL.Path, 200)))
		case cw.status >= 400 || cw.status == 0:
			writeError(w, http.StatusNotFound, "NotFound", fmt.Sprintf("no such endpoint: %s %s", truncate(r.Method, 20), truncate(r.URL.Path, 200)))
		default: // a redirect to the cleaned path
			for k, v := range cw.header {
				w.Header()[k] = v
			}
			w.WriteHeader(cw.status)
		}
		return
	}
	h.mux.ServeHTTP(w, r)
}

// captureWriter records the status and headers the mux writes for requests
// no pattern matches, and drops the body.
type captureWriter struct {
	header http.Header
	status int
}

func (c *captureWriter) Header() http.Header { return c.header }
func (c *captureWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return len(b), nil
}
func (c *captureWriter) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
}

func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok\n")
}

func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if s.ready != nil && !s.ready() {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "not ready\n")
		return
	}
	io.WriteString(w, "ready\n")
}

// statusOf is the one table from broker codes to HTTP statuses.
func statusOf(c broker.Code) int {
	switch c {
	case broker.CodeNotFound, broker.CodeMessageNotFound:
		return http.StatusNotFound
	case broker.CodeEntityExists, broker.CodeSessionCannotBeLocked:
		return http.StatusConflict
	case broker.CodeLockLost, broker.CodeSessionLockLost:
		return http.StatusGone
	case broker.CodeMessageTooLarge:
		return http.StatusRequestEntityTooLarge
	case broker.CodeQuotaExceeded, broker.CodeEntityDisabled:
		return http.StatusForbidden
	case broker.CodeInvalidArgument:
		return http.StatusBadRequest
	case broker.CodeNotImplemented:
		return http.StatusNotImplemented
	case broker.CodeStoreUnavailable, broker.CodeClosed:
		return http.StatusServiceUnavailable
	case broker.CodeTimeout:
		return http.StatusRequestTimeout
	}
	return http.StatusInternalServerError
}

// apiError is an error this package raises itself, with its own code.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &apiError{status: http.StatusBadRequest, code: broker.CodeInvalidArgument.String(), msg: fmt.Sprintf(format, args...)}
}

// fail writes err in the API's error shape. name, when set, is the queue
// (or subscription path) the request named, used to word NotFound.
func (s *server) fail(w http.ResponseWriter, r *http.Request, name string, err error) {
	notFound := ""
	if name != "" {
		topic, sub, isSub := broker.SplitSubscriptionPath(name)
		switch {
		case isSub:
			notFound = subNotFound(topic, sub)
		case strings.HasPrefix(r.Pattern, r.Method+" /api/v1/topics/"):
			notFound = topicNotFound(name)
		default:
			notFound = fmt.Sprintf("queue %q not found", name)
		}
	}
	s.failWith(w, r, notFound, err)
}

// failWith writes err in the API's error shape; notFound, when set,
// replaces the message of a NotFound error.
func (s *server) failWith(w http.ResponseWriter, r *http.Request, notFound string, err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		writeError(w, ae.status, ae.code, ae.msg)
		return
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		if r.Context().Err() != nil {
			return // the client went away; nobody reads the answer
		}
	}
	code := broker.CodeOf(err)
	status := statusOf(code)
	msg := "internal error"
	var be *broker.Error
	if errors.As(err, &be) {
		msg = be.Message
	}
	if code == broker.CodeNotFound && notFound != "" {
		msg = notFound
	}
	if status >= 500 {
		s.log.Error("mgmt: request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	writeError(w, status, code.String(), msg)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, ErrorBody{Error: ErrorDetail{Code: code, Message: msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only values this package builds are written; a failure is a bug.
		b = []byte(`{"error":{"code":"Unknown","message":"cannot encode the response"}}`)
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// decode reads one JSON value from the request body into v, refusing
// unknown fields, trailing data and bodies over the limit. An empty body
// leaves v as it is.
//
// POST, PUT and PATCH must declare Content-Type: application/json, even
// with an empty body. Besides saying what the body is, this keeps web pages
// from driving the API of a developer's local server: a cross-site request
// with that content type needs a CORS preflight, which this API never
// grants.
func (s *server) decode(w http.ResponseWriter, r *http.Request, v any) error {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		ct := r.Header.Get("Content-Type")
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			msg := fmt.Sprintf("content type %q is not JSON; send Content-Type: application/json", truncate(ct, 60))
			if ct == "" {
				msg = "missing Content-Type: send Content-Type: application/json"
			}
			return &apiError{status: http.StatusUnsupportedMediaType, code: "UnsupportedMediaType", msg: msg}
		}
	}
	body := http.MaxBytesReader(w, r.Body, s.maxBytes)
	return decodeJSON(body, v)
}

// decodeJSON is decode without the HTTP parts; the fuzz tests call it.
func decodeJSON(rd io.Reader, v any) error {
	dec := json.NewDecoder(rd)
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // empty body: every field takes its default
		}
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return jsonError(err)
		}
		return badRequest("invalid JSON body: more than one value")
	}
	return nil
}

func jsonError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &apiError{status: http.StatusRequestEntityTooLarge, code: "RequestTooLarge",
			msg: fmt.Sprintf("request body is larger than %d bytes", mbe.Limit)}
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return badRequest("malformed JSON at byte %d: %s", se.Offset, se.Error())
	case errors.As(err, &te):
		if te.Field != "" {
			return badRequest("invalid JSON body: field %q must be %s, not %s", te.Field, te.Type, te.Value)
		}
		return badRequest("invalid JSON body: expected %s, not %s", te.Type, te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("malformed JSON: unexpected end of body")
	}
	return badRequest("invalid JSON body: %s", err.Error())
}

// queueName returns the {name} path value, checked against the entity name
// rules; on a subscription's routes, the subscription's entity path
// ("topic/Subscriptions/sub").
func (s *server) queueName(r *http.Request) (string, error) {
	if r.PathValue("sub") != "" {
		topic, sub, err := s.subscriptionNames(r)
		if err != nil {
			return "", err
		}
		return broker.SubscriptionPath(topic, sub), nil
	}
	name := r.PathValue("name")
	if err := broker.ValidateEntityName(name, s.b.Limits().MaxNameLength); err != nil {
		return name, err
	}
	return name, nil
}

// entityPath returns the broker path of a queue or its dead-letter
// sub-queue.
func entityPath(name string, dlq bool) string {
	if dlq {
		return name + "/" + broker.DeadLetterSuffix
	}
	return name
}

func parseToken(field, s string) (broker.LockToken, error) {
	if s == "" {
		return broker.LockToken{}, badRequest("%s is missing", field)
	}
	t, err := broker.ParseLockToken(s)
	if err != nil {
		return t, badRequest("%s %q is not a lock token (a UUID)", field, truncate(s, 40))
	}
	return t, nil
}

func parseMode(s string) (broker.ReceiveMode, error) {
	switch strings.ToLower(s) {
	case "", ModePeekLock:
		return broker.PeekLock, nil
	case ModeReceiveAndDelete:
		return broker.ReceiveAndDelete, nil
	}
	return 0, badRequest("mode %q is not %q or %q", truncate(s, 40), ModePeekLock, ModeReceiveAndDelete)
}

func parseWait(d *Duration) (time.Duration, error) {
	if d == nil {
		return 0, nil
	}
	if v := time.Duration(*d); v > MaxWait {
		return 0, badRequest("wait %v is longer than %v", v, MaxWait)
	}
	return time.Duration(*d), nil
}
