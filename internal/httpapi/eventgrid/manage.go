package eventgrid

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// The management API: topics, namespace topics and their event
// subscriptions as ARM resources, created, read, listed and deleted at run
// time. The same router serves two path forms with the same bodies:
//
//	/api/v1/eventgrid/{tail}                                         Baton's JSON API (the CLI)
//	/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.EventGrid/{tail}?api-version=…  ARM's
//
// where {tail} is one of
//
//	topics[/{topic}]                                 GET list / PUT, PATCH, GET, DELETE
//	topics/{topic}/listKeys                          POST
//	topics/{topic}/eventSubscriptions[/{sub}]        GET list / PUT, PATCH, GET, DELETE
//	topics/{topic}/providers/Microsoft.EventGrid/eventSubscriptions[/{sub}]  (ARM's scope form, same)
//	topics/{topic}/eventSubscriptions/{sub}/getFullUrl              POST
//	topics/{topic}/eventSubscriptions/{sub}/getDeliveryAttributes   POST
//	topics/{topic}/eventSubscriptions/{sub}/deadLetters             GET  (Baton)
//	topics/{topic}/eventSubscriptions/{sub}/deadLetters/resubmit    POST (Baton)
//	namespaces[/{ns}]                                GET
//	namespaces/{ns}/topics[/{topic}]                 GET list / PUT, PATCH, GET, DELETE
//	namespaces/{ns}/topics/{topic}/eventSubscriptions[/{sub}]       GET list / PUT, PATCH, GET, DELETE
//	namespaces/{ns}/topics/{topic}/eventSubscriptions/{sub}/deadLetters[/resubmit]
//
// PUT answers 201 when it created the resource and 200 when it replaced
// it; PATCH replaces the properties it gives and keeps the others; DELETE
// 200 when it deleted one and 204 when there was none.

// armProvider is the part of an ARM path before the tail.
const armProvider = "/providers/Microsoft.EventGrid/"

// defaultARMPrefix is the resource id prefix of Baton's own paths.
const defaultARMPrefix = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/baton/providers/Microsoft.EventGrid/"

// ManagementPrefix is where Baton's JSON form of the API lives.
const ManagementPrefix = "/api/v1/eventgrid/"

// IsManagementPath reports whether path belongs to the management API.
func IsManagementPath(path string) bool {
	return strings.HasPrefix(path, ManagementPrefix) || path == strings.TrimSuffix(ManagementPrefix, "/") ||
		(strings.HasPrefix(path, "/subscriptions/") && strings.Contains(strings.ToLower(path), strings.ToLower(armProvider)))
}

// Management returns the management API handler. With authenticate, a
// request must carry one of the global keys (Config.Keys), or come from a
// loopback address when there are none: that is how the Event Grid
// listener serves it. Without, it serves everyone: the management
// listener (loopback by default) does.
func (h *Handler) Management(authenticate bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var id [16]byte
		_, _ = rand.Read(id[:])
		w.Header().Set("x-ms-request-id", hex.EncodeToString(id[:]))
		if authenticate {
			if err := h.authenticateManagement(r); err != nil {
				writeError(w, r, err)
				return
			}
		}
		h.manage(w, r)
	})
}

func (h *Handler) authenticateManagement(r *http.Request) error {
	if h.cfg.AuthDisabled {
		return nil
	}
	if len(h.cfg.Keys) == 0 {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if ip := net.ParseIP(host); err == nil && ip != nil && ip.IsLoopback() {
			return nil
		}
		return newError(http.StatusForbidden, "Forbidden", "The management API on this listener needs eventGrid.keys, or a client on this machine.")
	}
	return h.authenticate(r, h.cfg.Keys, r.URL.Path)
}

// mreq is one management request.
type mreq struct {
	w      http.ResponseWriter
	r      *http.Request
	prefix string   // resource id prefix, ".../providers/Microsoft.EventGrid/"
	segs   []string // the tail, unescaped
}

func (h *Handler) manage(w http.ResponseWriter, r *http.Request) {
	q := &mreq{w: w, r: r}
	path := r.URL.EscapedPath()
	var tail string
	switch {
	case strings.HasPrefix(path, ManagementPrefix) || path == strings.TrimSuffix(ManagementPrefix, "/"):
		q.prefix, tail = defaultARMPrefix, strings.TrimPrefix(strings.TrimPrefix(path, strings.TrimSuffix(ManagementPrefix, "/")), "/")
	default:
		i := strings.Index(strings.ToLower(path), strings.ToLower(armProvider))
		if i < 0 {
			writeError(w, r, newError(http.StatusNotFound, "NotFound", "No such management endpoint."))
			return
		}
		if r.URL.Query().Get("api-version") == "" {
			writeError(w, r, newError(http.StatusBadRequest, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests."))
			return
		}
		p, _ := url.PathUnescape(path[:i])
		q.prefix, tail = p+armProvider, path[i+len(armProvider):]
	}
	for _, s := range strings.Split(strings.Trim(tail, "/"), "/") {
		u, err := url.PathUnescape(s)
		if err != nil {
			writeError(w, r, newError(http.StatusBadRequest, "BadRequest", "The path is not escaped properly."))
			return
		}
		if u != "" {
			q.segs = append(q.segs, u)
		}
	}
	// ARM's scope form: topics/{t}/providers/Microsoft.EventGrid/eventSubscriptions/…
	if len(q.segs) >= 5 && strings.EqualFold(q.segs[2], "providers") && strings.EqualFold(q.segs[3], "Microsoft.EventGrid") {
		q.segs = append(q.segs[:2:2], q.segs[4:]...)
	}
	switch r.Method {
	case http.MethodPut, http.MethodPost, http.MethodPatch:
		if mt := mediaType(r); mt != "application/json" && !(r.Method == http.MethodPost && r.ContentLength == 0) {
			writeError(w, r, newError(http.StatusUnsupportedMediaType, "UnsupportedMediaType", "Send Content-Type: application/json."))
			return
		}
	}
	seg := func(i int, name string) bool { return len(q.segs) > i && strings.EqualFold(q.segs[i], name) }
	n := len(q.segs)
	switch {
	case n >= 1 && seg(0, "topics"):
		h.manageTopics(q)
	case n >= 1 && seg(0, "namespaces"):
		if n >= 2 && !strings.EqualFold(q.segs[1], h.cfg.Namespace) {
			writeError(w, r, newError(http.StatusNotFound, "ResourceNotFound", "Baton serves one namespace, "+h.cfg.Namespace+" (eventGrid.namespace)."))
			return
		}
		h.manageNamespace(q)
	default:
		writeError(w, r, newError(http.StatusNotFound, "NotFound", "No such management endpoint: the paths start with topics or namespaces."))
	}
}

// readSpec decodes a PUT body into spec: ARM's {"properties":{…}} or the
// flat declaration; a name in the body must match the path's.
func (q *mreq) readSpec(h *Handler, name string, spec any) bool {
	body, err := io.ReadAll(io.LimitReader(q.r.Body, 1<<20+1))
	if err != nil || len(body) > 1<<20 {
		writeError(q.w, q.r, newError(http.StatusBadRequest, "BadRequest", "The request body could not be read or is over 1 MiB."))
		return false
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		body = []byte("{}")
	}
	var env struct {
		Name       string          `json:"name"`
		Properties json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		writeError(q.w, q.r, newError(http.StatusBadRequest, "InvalidRequestContent", "The request content is not valid JSON: "+err.Error()))
		return false
	}
	if env.Name != "" && !strings.EqualFold(env.Name, name) {
		writeError(q.w, q.r, newError(http.StatusBadRequest, "BadRequest", "The body names "+env.Name+" but the path names "+name+"."))
		return false
	}
	src := body
	if len(env.Properties) > 0 && string(env.Properties) != "null" {
		src = env.Properties
	}
	if err := json.Unmarshal(src, spec); err != nil {
		writeError(q.w, q.r, newError(http.StatusBadRequest, "InvalidRequestContent", "The resource properties are not valid: "+err.Error()))
		return false
	}
	return true
}

// readPatch decodes a PATCH body over cur into out: each property the body
// gives replaces the current one (ARM's update: what is not given is
// kept).
func (q *mreq) readPatch(h *Handler, name string, cur, out any) bool {
	var patch map[string]json.RawMessage
	if !q.readSpec(h, name, &patch) {
		return false
	}
	b, err := json.Marshal(cur)
	if err != nil {
		writeError(q.w, q.r, err)
		return false
	}
	merged := map[string]json.RawMessage{}
	if err := json.Unmarshal(b, &merged); err != nil {
		writeError(q.w, q.r, err)
		return false
	}
	for k, v := range patch {
		merged[k] = v
	}
	b, err = json.Marshal(merged)
	if err == nil {
		err = json.Unmarshal(b, out)
	}
	if err != nil {
		writeError(q.w, q.r, newError(http.StatusBadRequest, "InvalidRequestContent", "The resource properties are not valid: "+err.Error()))
		return false
	}
	return true
}

// put answers a PUT: 201 created, 200 replaced.
func (q *mreq) put(created bool, v any) {
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeStatusJSON(q.w, status, v)
}

// deleted answers a DELETE: 200 when something was deleted, else 204.
func (q *mreq) deleted(ok bool, err error) {
	if err != nil {
		writeError(q.w, q.r, err)
		return
	}
	if ok {
		q.w.WriteHeader(http.StatusOK)
		return
	}
	q.w.WriteHeader(http.StatusNoContent)
}

func (q *mreq) methodNotAllowed(allow string) {
	q.w.Header().Set("Allow", allow)
	writeError(q.w, q.r, newError(http.StatusMethodNotAllowed, "MethodNotAllowed", "Method "+q.r.Method+" is not allowed here ("+allow+")."))
}

func (q *mreq) notFound(what string) {
	writeError(q.w, q.r, newError(http.StatusNotFound, "ResourceNotFound", "The "+what+" was not found."))
}

// maxParam reads ?top= (or $top), default def, at most 5000.
func (q *mreq) maxParam(def int) (int, bool) {
	v := q.r.URL.Query().Get("top")
	if v == "" {
		v = q.r.URL.Query().Get("$top")
	}
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 5000 {
		writeError(q.w, q.r, newError(http.StatusBadRequest, "BadRequest", "top must be 1–5000."))
		return 0, false
	}
	return n, true
}

// writeStatusJSON writes a JSON body with status.
func writeStatusJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/json; charset=utf-8")
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// list is ARM's list envelope.
type list struct {
	Value []any `json:"value"`
}
