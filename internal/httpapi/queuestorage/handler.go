package queuestorage

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/batonmq/baton/internal/clock"
)

// DevAccount and DevKey are Azurite's well-known development account (§4.1).
const (
	DevAccount = "devstoreaccount1"
	DevKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// DefaultMaxRequestBytes bounds request bodies when Config.MaxRequestBytes
// is zero: a 64 KiB message XML-escaped stays well below it.
const DefaultMaxRequestBytes = 1 << 20

// defaultVersion is the x-ms-version answered when the request sends none
// or a malformed one.
const defaultVersion = "2026-06-06"

// Config configures the handler.
type Config struct {
	// Engine stores queues and messages. Required.
	Engine Engine
	// Accounts are extra storage accounts: name → base64 key, or two keys
	// separated by a comma (key1,key2). The development account
	// devstoreaccount1 with DevKey always exists unless listed here with
	// another key.
	Accounts map[string]string
	// AllowAnonymous accepts requests without credentials (a development
	// switch; Azure answers them 401 NoAuthenticationInformation).
	AllowAnonymous bool
	// StateDir keeps service properties (CORS rules) per account in
	// service-<account>.xml, unless the Engine is a PropertiesKeeper;
	// empty keeps them in memory.
	StateDir string
	// Clock tells the time (SAS expiry, message times); nil is the wall clock.
	Clock clock.Clock
	// Logger receives 5xx failures; nil discards.
	Logger *slog.Logger
	// MaxRequestBytes bounds request bodies; 0 is DefaultMaxRequestBytes.
	MaxRequestBytes int64
}

// Handler serves the Queue Storage REST API.
type Handler struct {
	engine   Engine
	accounts map[string][][]byte  // name → decoded keys
	macs     map[string][]*keyMAC // name → HMAC states per key, in the same order
	anon     bool
	clock    clock.Clock
	log      *slog.Logger
	maxBytes int64
	props    *serviceStore
}

// New returns a handler. It fails on an invalid account key.
func New(cfg Config) (*Handler, error) {
	if cfg.Engine == nil {
		return nil, fmt.Errorf("queuestorage: Config.Engine is nil")
	}
	h := &Handler{engine: cfg.Engine, anon: cfg.AllowAnonymous, clock: cfg.Clock, log: cfg.Logger, maxBytes: cfg.MaxRequestBytes}
	if h.clock == nil {
		h.clock = clock.Real{}
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.maxBytes <= 0 {
		h.maxBytes = DefaultMaxRequestBytes
	}
	accts := map[string]string{DevAccount: DevKey}
	for name, key := range cfg.Accounts {
		accts[name] = key
	}
	h.accounts = make(map[string][][]byte, len(accts))
	for name, keys := range accts {
		if name == "" {
			return nil, fmt.Errorf("queuestorage: an account has an empty name")
		}
		for _, k := range strings.Split(keys, ",") {
			raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(k))
			if err != nil || len(raw) == 0 {
				return nil, fmt.Errorf("queuestorage: account %q: the key is not base64: %w", name, err)
			}
			h.accounts[name] = append(h.accounts[name], raw)
		}
	}
	h.macs = make(map[string][]*keyMAC, len(h.accounts))
	for name, keys := range h.accounts {
		for _, k := range keys {
			h.macs[name] = append(h.macs[name], newKeyMAC(k))
		}
	}
	keeper, _ := cfg.Engine.(PropertiesKeeper)
	h.props = newServiceStore(cfg.StateDir, keeper, h.clock)
	return h, nil
}

// Accounts returns the account names, sorted.
func (h *Handler) Accounts() []string {
	var out []string
	for a := range h.accounts {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// op is an operation of the routing table (§1.2).
type op int

const (
	opNone op = iota
	opListQueues
	opGetServiceProperties
	opSetServiceProperties
	opGetServiceStats
	opCreateQueue
	opDeleteQueue
	opGetMetadata
	opSetMetadata
	opGetACL
	opSetACL
	opPutMessage
	opGetMessages
	opPeekMessages
	opClearMessages
	opUpdateMessage
	opDeleteMessage
)

var opNames = [...]string{"", "ListQueues", "GetServiceProperties", "SetServiceProperties", "GetServiceStats",
	"CreateQueue", "DeleteQueue", "GetQueueMetadata", "SetQueueMetadata", "GetQueueACL", "SetQueueACL",
	"PutMessage", "GetMessages", "PeekMessages", "ClearMessages", "UpdateMessage", "DeleteMessage"}

func (o op) String() string { return opNames[o] }

// request is one request being served.
type request struct {
	w       http.ResponseWriter
	r       *http.Request
	id      string // x-ms-request-id
	now     time.Time
	account string
	// hostStyle is set when the account came from the host name
	// (production-style URL) rather than the first path segment.
	hostStyle bool
	queue     string // "" for service operations
	msgID     string
	op        op
	query     []queryParam // lower-cased names, decoded values, in request order

	// Backing memory, so that a usual request allocates no more for its
	// query parameters and response header values.
	queryBuf [8]queryParam
	hv       [8]string
	nh       int
}

// queryParam is one query parameter.
type queryParam struct{ name, value string }

// get returns the first value of a query parameter and whether it is present.
func (q *request) get(name string) (string, bool) {
	for _, p := range q.query {
		if p.name == name {
			return p.value, true
		}
	}
	return "", false
}

// has reports whether a query parameter is present.
func (q *request) has(name string) bool {
	_, ok := q.get(name)
	return ok
}

// setHeader sets a response header; key must be in canonical form (what
// Header.Set would make of it).
func (q *request) setHeader(key, value string) {
	if q.nh == len(q.hv) {
		q.w.Header()[key] = []string{value}
		return
	}
	q.hv[q.nh] = value
	q.w.Header()[key] = q.hv[q.nh : q.nh+1 : q.nh+1]
	q.nh++
}

// entity is the broker name of the request's queue.
func (q *request) entity() string { return q.account + "/" + q.queue }

// ServeHTTP serves one request: common headers, CORS, account, routing,
// authentication, then the operation.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := &request{w: w, r: r, id: newUUID(), now: h.clock.Now()}
	q.setHeader("X-Ms-Request-Id", q.id)
	q.setHeader("X-Ms-Version", responseVersion(hget(r.Header, "X-Ms-Version")))
	q.setHeader("Server", "Baton-Queue/1.0")
	if v := hget(r.Header, "X-Ms-Client-Request-Id"); v != "" && len(v) <= 1024 {
		q.setHeader("X-Ms-Client-Request-Id", v)
	}
	if err := h.serve(q); err != nil {
		h.fail(q, err)
	}
}

func (h *Handler) serve(q *request) error {
	r := q.r
	path := strings.TrimPrefix(r.URL.Path, "/")
	account, rest, _ := strings.Cut(path, "/")
	if _, ok := h.accounts[account]; !ok {
		// Production-style addressing (§1.1): <account>.queue.<domain>.
		if a := h.hostAccount(r.Host); a != "" {
			account, rest, q.hostStyle = a, path, true
		}
	}
	q.account = account
	if _, ok := h.accounts[account]; !ok {
		if r.Method == http.MethodOptions {
			return newError("CorsPreflightFailure")
		}
		return newError("ResourceNotFound").withMessage(fmt.Sprintf("The specified resource does not exist. Unknown storage account %q; configured: %s.", account, strings.Join(h.Accounts(), ", ")))
	}
	if r.Method == http.MethodOptions {
		return h.preflight(q)
	}
	h.corsHeaders(q)
	query, err := parseQuery(q.queryBuf[:0], r.URL.RawQuery)
	if err != nil {
		return newError("InvalidUri").withMessage("The request URI's query string cannot be parsed: " + err.Error())
	}
	q.query = query
	if err := route(q, strings.TrimSuffix(rest, "/")); err != nil {
		return err
	}
	if err := h.authenticate(q); err != nil {
		return err
	}
	if q.queue != "" {
		if err := validateQueueName(q.queue); err != nil {
			return err
		}
	}
	switch q.op {
	case opListQueues:
		return h.listQueues(q)
	case opGetServiceProperties:
		return h.getServiceProperties(q)
	case opSetServiceProperties:
		return h.setServiceProperties(q)
	case opGetServiceStats:
		return h.getServiceStats(q)
	case opCreateQueue:
		return h.createQueue(q)
	case opDeleteQueue:
		return h.deleteQueue(q)
	case opGetMetadata:
		return h.getMetadata(q)
	case opSetMetadata:
		return h.setMetadata(q)
	case opGetACL:
		return h.getACL(q)
	case opSetACL:
		return h.setACL(q)
	case opPutMessage:
		return h.putMessage(q)
	case opGetMessages:
		return h.getMessages(q)
	case opPeekMessages:
		return h.peekMessages(q)
	case opClearMessages:
		return h.clearMessages(q)
	case opUpdateMessage:
		return h.updateMessage(q)
	case opDeleteMessage:
		return h.deleteMessage(q)
	}
	return newError("InvalidUri")
}

// hostAccount returns the account named by a production-style host
// ("devstoreaccount1.queue.localhost:10001"): the first label of a
// non-IP host with a dot, when it is a configured account.
func (h *Handler) hostAccount(host string) string {
	if hn, _, err := net.SplitHostPort(host); err == nil {
		host = hn
	}
	if net.ParseIP(host) != nil {
		return ""
	}
	label, _, ok := strings.Cut(host, ".")
	if !ok {
		return ""
	}
	if _, known := h.accounts[label]; !known {
		return ""
	}
	return label
}

// route picks the operation from the method, the path below the account
// and the query (§1.2).
func route(q *request, rest string) error {
	m := q.r.Method
	comp, _ := q.get("comp")
	comp = strings.ToLower(comp)
	restype, _ := q.get("restype")
	restype = strings.ToLower(restype)
	var segBuf [3]string
	var segs []string
	if rest != "" {
		if strings.Count(rest, "/") >= len(segBuf) {
			return newError("InvalidUri")
		}
		segs = segBuf[:0]
		for s := rest; ; {
			seg, after, found := strings.Cut(s, "/")
			segs = append(segs, seg)
			if !found {
				break
			}
			s = after
		}
	}
	verb := func(ops ...methodOp) error {
		for _, o := range ops {
			if o.method == m {
				q.op = o.op
				return nil
			}
		}
		return newError("UnsupportedHttpVerb").withMessage(fmt.Sprintf("The resource doesn't support the HTTP verb %s.", m))
	}
	switch len(segs) {
	case 0:
		switch {
		case restype == "service" && comp == "properties":
			return verb(methodOp{"GET", opGetServiceProperties}, methodOp{"PUT", opSetServiceProperties})
		case restype == "service" && comp == "stats":
			return verb(methodOp{"GET", opGetServiceStats})
		case comp == "list":
			return verb(methodOp{"GET", opListQueues})
		}
		return newError("InvalidUri").withMessage("The requested URI does not represent any resource on the server. Service operations need comp=list or restype=service&comp=properties|stats.")
	case 1:
		q.queue = segs[0]
		switch comp {
		case "":
			return verb(methodOp{"PUT", opCreateQueue}, methodOp{"DELETE", opDeleteQueue})
		case "metadata":
			return verb(methodOp{"GET", opGetMetadata}, methodOp{"HEAD", opGetMetadata}, methodOp{"PUT", opSetMetadata})
		case "acl":
			return verb(methodOp{"GET", opGetACL}, methodOp{"HEAD", opGetACL}, methodOp{"PUT", opSetACL})
		}
		return queryError("InvalidQueryParameterValue", "comp", comp, "comp must be metadata or acl on a queue")
	case 2, 3:
		q.queue = segs[0]
		if !strings.EqualFold(segs[1], "messages") {
			break
		}
		if len(segs) == 3 {
			if segs[2] == "" {
				break
			}
			q.msgID = segs[2]
			return verb(methodOp{"PUT", opUpdateMessage}, methodOp{"DELETE", opDeleteMessage})
		}
		if m == http.MethodGet {
			if p, _ := q.get("peekonly"); strings.EqualFold(p, "true") {
				q.op = opPeekMessages
				return nil
			}
		}
		return verb(methodOp{"POST", opPutMessage}, methodOp{"GET", opGetMessages}, methodOp{"DELETE", opClearMessages})
	}
	return newError("InvalidUri")
}

// methodOp is the operation of one HTTP method.
type methodOp struct {
	method string
	op     op
}

// parseQuery appends the parameters of a raw query to out, with
// lower-cased names; '+' is a space.
func parseQuery(out []queryParam, raw string) ([]queryParam, error) {
	for rest := raw; rest != ""; {
		var part string
		part, rest, _ = strings.Cut(rest, "&")
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			return nil, fmt.Errorf("parameter %q: %w", k, err)
		}
		val, err := url.QueryUnescape(v)
		if err != nil {
			return nil, fmt.Errorf("parameter %q: %w", k, err)
		}
		out = append(out, queryParam{strings.ToLower(name), val})
	}
	return out, nil
}

// responseVersion echoes a well-formed x-ms-version, dddd-dd-dd (§1.5):
// every version is accepted.
func responseVersion(v string) string {
	if len(v) != len("2006-01-02") {
		return defaultVersion
	}
	for i := 0; i < len(v); i++ {
		if i == 4 || i == 7 {
			if v[i] != '-' {
				return defaultVersion
			}
		} else if !isDigit(v[i]) {
			return defaultVersion
		}
	}
	return v
}

// validateQueueName applies §3.4.
func validateQueueName(name string) error {
	if len(name) < 3 || len(name) > 63 {
		return newError("OutOfRangeInput")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return newError("InvalidResourceName")
		}
	}
	if name[0] == '-' || name[len(name)-1] == '-' || strings.Contains(name, "--") {
		return newError("InvalidResourceName")
	}
	return nil
}

// fail writes an error answer.
func (h *Handler) fail(q *request, err error) {
	ae := fromBroker(err, q.msgID != "")
	status := statusOf(ae.code)
	if status >= 500 {
		h.log.Error("queue storage request failed", "method", q.r.Method, "path", q.r.URL.Path, "op", q.op.String(), "code", ae.code, "err", err)
	}
	hd := q.w.Header()
	hd.Set("x-ms-error-code", ae.code)
	if ae.code == "NoAuthenticationInformation" {
		hd.Set("WWW-Authenticate", "Bearer authorization_uri=https://login.microsoftonline.com/common/oauth2/authorize resource_id=https://storage.azure.com")
	}
	if q.r.Method == http.MethodHead {
		q.w.WriteHeader(status)
		return
	}
	body := errorBody(ae, q.id, q.now.UTC().Format("2006-01-02T15:04:05.0000000Z"))
	hd.Set("Content-Type", "application/xml")
	hd.Set("Content-Length", fmt.Sprint(len(body)))
	q.w.WriteHeader(status)
	_, _ = q.w.Write(body)
}

// writeXML answers status with an XML document.
func writeXML(q *request, status int, body []byte) error {
	q.setHeader("Content-Type", "application/xml")
	q.setHeader("Content-Length", strconv.Itoa(len(body)))
	q.w.WriteHeader(status)
	if q.r.Method != http.MethodHead {
		_, _ = q.w.Write(body)
	}
	return nil
}

// writeEmpty answers status without a body.
func writeEmpty(q *request, status int) error {
	q.setHeader("Content-Length", "0")
	q.w.WriteHeader(status)
	return nil
}

// readBody reads the request body up to the handler's limit; a larger body
// is 413 RequestBodyTooLarge.
func (h *Handler) readBody(q *request) ([]byte, error) {
	if q.r.Body == nil {
		return nil, nil
	}
	data, err := io.ReadAll(io.LimitReader(q.r.Body, h.maxBytes+1))
	if err != nil {
		return nil, newError("InvalidInput").withMessage("The request body could not be read: " + err.Error())
	}
	if int64(len(data)) > h.maxBytes {
		return nil, newError("RequestBodyTooLarge", "MaxLimit", fmt.Sprint(h.maxBytes))
	}
	return data, nil
}

// readBodyInto reads the request body into buf as readBody does.
func (h *Handler) readBodyInto(q *request, buf *outBuf) error {
	b := buf.b[:0]
	defer func() { buf.b = b }()
	if q.r.Body == nil {
		return nil
	}
	if cl := q.r.ContentLength; cl > 0 && cl <= h.maxBytes && int64(cap(b)) <= cl {
		b = make([]byte, 0, cl+1) // room to see EOF without growing
	}
	lr := io.LimitedReader{R: q.r.Body, N: h.maxBytes + 1}
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := lr.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return newError("InvalidInput").withMessage("The request body could not be read: " + err.Error())
		}
	}
	if int64(len(b)) > h.maxBytes {
		return newError("RequestBodyTooLarge", "MaxLimit", fmt.Sprint(h.maxBytes))
	}
	return nil
}

// newUUID returns a random version-4 UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], b[10:16])
	return string(out[:])
}

// rfc1123 formats t as the Storage services do (§3.3).
func rfc1123(t time.Time) string { return t.UTC().Format(http.TimeFormat) }
