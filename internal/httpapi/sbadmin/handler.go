package sbadmin

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/clock"
)

// DefaultMaxRequestBytes bounds a request body when Config.MaxRequestBytes
// is zero. A QueueDescription is a few kilobytes at most.
const DefaultMaxRequestBytes = 1 << 20

// DefaultNamespace is the namespace name reported when Config.Namespace is
// empty.
const DefaultNamespace = "baton"

// apiVersion is written into the URLs of responses when the request names
// none.
const apiVersion = "2024-05"

// Config configures the administration API handler.
type Config struct {
	// Broker is the engine the API manages. Required.
	Broker broker.Engine
	// Logger receives one line per request that fails with a 5xx status;
	// nil discards.
	Logger *slog.Logger
	// Clock tells the time for token expiry and document timestamps; nil
	// is the wall clock.
	Clock clock.Clock
	// Namespace is the name reported by $namespaceinfo and as the author of
	// entries; empty is DefaultNamespace.
	Namespace string
	// NamespaceCreated is the namespace's creation time for
	// $namespaceinfo; zero is the time New was called.
	NamespaceCreated time.Time
	// SKU is the MessagingSKU reported by $namespaceinfo; empty is
	// "Standard".
	SKU string
	// Keys are the shared access keys, by key name (for example
	// "RootManageSharedAccessKey"). Empty accepts every request, with any
	// token or none; otherwise every request needs a valid SAS token signed
	// with one of these keys.
	Keys map[string]string
	// MaxRequestBytes bounds request bodies; 0 is DefaultMaxRequestBytes.
	MaxRequestBytes int64
}

// Handler serves the administration API.
type Handler struct {
	b        broker.Engine
	log      *slog.Logger
	clock    clock.Clock
	ns       string
	created  time.Time
	sku      string
	keys     map[string]string
	maxBytes int64
}

// New returns the administration API handler. It panics if cfg.Broker is
// nil, a programming error.
func New(cfg Config) *Handler {
	if cfg.Broker == nil {
		panic("sbadmin: Config.Broker is nil")
	}
	h := &Handler{
		b:        cfg.Broker,
		log:      cfg.Logger,
		clock:    cfg.Clock,
		ns:       cfg.Namespace,
		created:  cfg.NamespaceCreated,
		sku:      cfg.SKU,
		maxBytes: cfg.MaxRequestBytes,
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.clock == nil {
		h.clock = clock.Real{}
	}
	if h.ns == "" {
		h.ns = DefaultNamespace
	}
	if h.created.IsZero() {
		h.created = h.clock.Now()
	}
	if h.sku == "" {
		h.sku = "Standard"
	}
	if h.maxBytes <= 0 {
		h.maxBytes = DefaultMaxRequestBytes
	}
	if len(cfg.Keys) > 0 {
		h.keys = make(map[string]string, len(cfg.Keys))
		for k, v := range cfg.Keys {
			h.keys[k] = v
		}
	}
	return h
}

// ServeHTTP routes a request. Paths are matched case-insensitively, as
// Service Bus does; entity names keep the case the client sent.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := authorize(h.keys, r, h.clock.Now()); err != nil {
		h.fail(w, r, http.StatusUnauthorized, "Unauthorized", err.Error())
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/")
	lower := strings.ToLower(path)
	switch {
	case path == "":
		h.fail(w, r, http.StatusNotFound, "NotFound", "no entity named; use /{queue}, /{topic}, /$Resources/Queues, /$Resources/Topics or /$namespaceinfo")
	case lower == "$namespaceinfo":
		if r.Method != http.MethodGet {
			h.methodNotAllowed(w, r, "GET")
			return
		}
		h.namespaceInfo(w, r)
	case strings.HasPrefix(lower, "$resources/"):
		h.resources(w, r, strings.Trim(lower[len("$resources/"):], "/"))
	default:
		p := parsePath(strings.TrimSuffix(path, "/"))
		switch p.kind {
		case pathSubscriptions:
			h.subscriptionsCollection(w, r, p.topic)
		case pathSubscription:
			h.subscription(w, r, p.topic, p.sub)
		case pathRules:
			h.rulesCollection(w, r, p.topic, p.sub)
		case pathRule:
			h.rule(w, r, p.topic, p.sub, p.rule)
		default:
			h.entity(w, r, p.topic)
		}
	}
}

// pathKind is what a request path names.
type pathKind int

const (
	pathEntity        pathKind = iota // {queue} or {topic}
	pathSubscriptions                 // {topic}/Subscriptions
	pathSubscription                  // {topic}/Subscriptions/{sub}
	pathRules                         // {topic}/Subscriptions/{sub}/Rules
	pathRule                          // {topic}/Subscriptions/{sub}/Rules/{rule}
)

// entityPath is a parsed request path. Names keep the client's spelling.
type entityPath struct {
	kind             pathKind
	topic, sub, rule string
}

// parsePath reads a path (no leading or trailing slash). Subscription and
// rule names contain no '/', and topic names may not contain
// "/Subscriptions/", so the segments are matched from the end; the
// keywords Subscriptions and Rules are case-insensitive.
func parsePath(path string) entityPath {
	segs := strings.Split(path, "/")
	n := len(segs)
	is := func(i int, word string) bool { return i >= 1 && i < n && strings.EqualFold(segs[i], word) }
	join := func(k int) string { return strings.Join(segs[:k], "/") }
	switch {
	case n >= 5 && is(n-4, "Subscriptions") && is(n-2, "Rules"):
		return entityPath{kind: pathRule, topic: join(n - 4), sub: segs[n-3], rule: segs[n-1]}
	case n >= 4 && is(n-3, "Subscriptions") && is(n-1, "Rules"):
		return entityPath{kind: pathRules, topic: join(n - 3), sub: segs[n-2]}
	case n >= 3 && is(n-2, "Subscriptions"):
		return entityPath{kind: pathSubscription, topic: join(n - 2), sub: segs[n-1]}
	case n >= 2 && is(n-1, "Subscriptions"):
		return entityPath{kind: pathSubscriptions, topic: join(n - 1)}
	}
	return entityPath{kind: pathEntity, topic: path}
}

func (h *Handler) resources(w http.ResponseWriter, r *http.Request, kind string) {
	if r.Method != http.MethodGet {
		h.methodNotAllowed(w, r, "GET")
		return
	}
	switch kind {
	case "queues":
		h.listQueues(w, r)
	case "topics":
		h.listTopics(w, r)
	default:
		h.fail(w, r, http.StatusNotFound, "NotFound", fmt.Sprintf("unknown resource collection %q; Baton lists Queues and Topics", kind))
	}
}

// statusOf maps broker codes onto HTTP statuses and the x-ms-error-code
// header: the one table for this face.
var statusOf = map[broker.Code]struct {
	status int
	code   string
}{
	broker.CodeUnknown:               {http.StatusInternalServerError, "InternalServerError"},
	broker.CodeNotFound:              {http.StatusNotFound, "MessagingEntityNotFound"},
	broker.CodeEntityExists:          {http.StatusConflict, "MessagingEntityAlreadyExists"},
	broker.CodeLockLost:              {http.StatusGone, "MessageLockLost"},
	broker.CodeSessionLockLost:       {http.StatusGone, "SessionLockLost"},
	broker.CodeSessionCannotBeLocked: {http.StatusConflict, "SessionCannotBeLocked"},
	broker.CodeMessageNotFound:       {http.StatusNotFound, "MessageNotFound"},
	broker.CodeMessageTooLarge:       {http.StatusRequestEntityTooLarge, "MessageSizeExceeded"},
	broker.CodeQuotaExceeded:         {http.StatusForbidden, "QuotaExceeded"},
	broker.CodeEntityDisabled:        {http.StatusForbidden, "MessagingEntityDisabled"},
	broker.CodeInvalidArgument:       {http.StatusBadRequest, "BadRequest"},
	broker.CodeNotImplemented:        {http.StatusNotImplemented, "NotImplemented"},
	broker.CodeStoreUnavailable:      {http.StatusServiceUnavailable, "ServerBusy"},
	broker.CodeClosed:                {http.StatusServiceUnavailable, "ServiceUnavailable"},
	broker.CodeTimeout:               {http.StatusRequestTimeout, "Timeout"},
}

// brokerFail answers a broker error through statusOf.
func (h *Handler) brokerFail(w http.ResponseWriter, r *http.Request, err error) {
	m, ok := statusOf[broker.CodeOf(err)]
	if !ok {
		m = statusOf[broker.CodeUnknown]
	}
	msg := err.Error()
	var be *broker.Error
	if errors.As(err, &be) {
		msg = be.Message
		if be.Err != nil {
			msg += ": " + be.Err.Error()
		}
	}
	h.fail(w, r, m.status, m.code, msg)
}

func (h *Handler) methodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	h.fail(w, r, http.StatusMethodNotAllowed, "MethodNotAllowed", fmt.Sprintf("%s is not allowed here; use %s", r.Method, allow))
}

// fail writes Service Bus's error document with the status, and code in
// x-ms-error-code (which azcore.ResponseError reports as ErrorCode).
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, code, detail string) {
	if status >= 500 && status != http.StatusNotImplemented {
		h.log.Error("sbadmin request failed", "method", r.Method, "path", r.URL.Path, "status", status, "detail", detail)
	}
	w.Header().Set("Content-Type", contentError)
	w.Header().Set("x-ms-error-code", code)
	w.WriteHeader(status)
	_, _ = w.Write(errorBody(status, detail))
}

// write sends a successful document.
func write(w http.ResponseWriter, status int, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// baseURL returns the scheme and host the client used, for ids and links.
func baseURL(r *http.Request) string {
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	return scheme + "://" + r.Host + "/"
}

// requestAPIVersion returns the request's api-version, or apiVersion.
func requestAPIVersion(r *http.Request) string {
	if v := r.URL.Query().Get("api-version"); v != "" {
		return v
	}
	return apiVersion
}

func (h *Handler) namespaceInfo(w http.ResponseWriter, r *http.Request) {
	id := baseURL(r) + "$namespaceinfo?api-version=" + requestAPIVersion(r)
	var x xmlWriter
	x.header()
	x.openEntry(entryMeta{id: id, title: h.ns, author: h.ns, published: h.created, updated: h.clock.Now()})
	x.namespaceInfo(h.ns, h.sku, h.created, h.created)
	x.closeEntry()
	write(w, http.StatusOK, contentEntry, x.Bytes())
}
