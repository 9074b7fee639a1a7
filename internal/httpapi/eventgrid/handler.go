package eventgrid

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/push"
)

// Config configures the face. Zero values take defaults.
type Config struct {
	Broker *broker.Broker // required
	Clock  clock.Clock
	Logger *slog.Logger
	// Namespace names the namespace that holds NamespaceTopics (it appears
	// in queue names only); default "default".
	Namespace string
	// Topics are the basic (custom) topics of the config file.
	Topics []TopicSpec
	// NamespaceTopics are the namespace topics (pull delivery) of the
	// config file.
	NamespaceTopics []NamespaceTopicSpec
	// Push runs the push subscriptions' delivery workers (and namespace
	// dead-letter exports); nil: events are queued and not delivered.
	Push *push.Manager
	// Keys are accepted for every topic, beside each topic's own, and
	// authenticate the management endpoints on the Event Grid listener.
	Keys []string
	// AuthDisabled accepts every request, with or without a credential.
	AuthDisabled bool
	// AcceptBearer accepts any Authorization: Bearer token (development).
	AcceptBearer bool
	// MaxEventBytes bounds one event (default 1 MiB; Azure measured
	// 1,049,600); MaxRequestBytes a request (default 1 MiB; Azure measured
	// 1,536,000).
	MaxEventBytes   int
	MaxRequestBytes int
	// ResourceIDPrefix is put before a basic topic's name to form its ARM
	// resource id, stamped as an EventGridEvent's topic.
	ResourceIDPrefix string
	// Validator, when set, serves the manual validation URL
	// GET /eventsubscriptions/{name}/validate?id=code.
	Validator func(subscription, code string) bool
	// State, when set, reports a push subscription's provisioning state
	// in GET /eventsubscriptions and the management API.
	State func(subscription string) string
	// BaseURL is the face's own URL (topic endpoints in the management
	// API); empty leaves them out.
	BaseURL string
}

// Topic is a basic topic as the face serves it. A Topic is never changed
// once published in the handler's state: changes make a new one.
type Topic struct {
	Name string
	// InputSchema is what publishers send; 0 detects it per request from
	// the Content-Type and shape.
	InputSchema push.Schema
	Keys        []string
	// System marks a system topic (Baton's own events; no publishes).
	System bool
	// Subscriptions are its event subscriptions; the face sends matching
	// events to each one's Queue.
	Subscriptions []*push.Subscription

	spec     TopicSpec          // without subscriptions
	mapping  *push.InputMapping // of spec
	subSpecs []SubscriptionSpec // beside Subscriptions
	subFrom  []origin           // beside Subscriptions
	from     origin
}

// NamespaceSubscription is a queue-delivery subscription.
type NamespaceSubscription struct {
	Name             string
	Filter           *push.Filter
	LockDuration     time.Duration // 60 s; 60–300 s
	MaxDeliveryCount int32         // 10; 1–10
	EventTimeToLive  time.Duration // 7 days
}

// DefaultResourceIDPrefix forms a basic topic's ARM resource id (all-zero
// subscription, resource group "baton").
const DefaultResourceIDPrefix = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/baton/providers/Microsoft.EventGrid/topics/"

// Handler serves the Event Grid face.
type Handler struct {
	cfg Config
	log *slog.Logger
	lim limits

	mu   sync.Mutex // serialises changes of topics and subscriptions
	st   atomic.Pointer[state]
	defs *defStore // guarded by mu
}

// state is the face's topics and subscriptions; never changed once
// published (copy on write under Handler.mu).
type state struct {
	topics   map[string]*Topic          // by lower-case name
	nsTopics map[string]*nsTopic        // by lower-case name
	queues   map[string]*nsSubscription // by lower-case "topic/sub"
}

func (s *state) clone() *state {
	return &state{topics: maps.Clone(s.topics), nsTopics: maps.Clone(s.nsTopics), queues: maps.Clone(s.queues)}
}

type nsTopic struct {
	Name string
	Keys []string
	subs []*nsSubscription
	spec NamespaceTopicSpec // without subscriptions
	from origin
}

type nsSubscription struct {
	NamespaceSubscription
	topic string
	queue string
	spec  NamespaceSubscriptionSpec
	from  origin
}

// origin is where a declaration came from.
type origin uint8

const (
	fromConfig origin = iota + 1 // the config file: read-only through the API
	fromAPI                      // the management API: stored durably
	fromStore                    // read back from the stored definitions
)

// QueueName is the broker queue of a namespace subscription. The
// "eventgrid/" prefix keeps it apart from Service Bus queues people name.
func QueueName(namespace, topic, sub string) string {
	return "eventgrid/" + strings.ToLower(namespace) + "/" + strings.ToLower(topic) + "/" + strings.ToLower(sub)
}

// TopicQueueName is the broker queue of a basic topic's event subscription.
func TopicQueueName(topic, sub string) string {
	return "eventgrid/topics/" + strings.ToLower(topic) + "/" + strings.ToLower(sub)
}

// New validates cfg, makes the broker queues of every subscription
// (updating their settings when they exist), reads back the topics and
// subscriptions made through the management API, and adds the push
// subscriptions to cfg.Push.
func New(ctx context.Context, cfg Config) (*Handler, error) {
	if cfg.Broker == nil {
		return nil, errors.New("eventgrid: Config.Broker is nil")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "default"
	}
	if cfg.MaxEventBytes <= 0 {
		cfg.MaxEventBytes = 1 << 20
	}
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = 1 << 20
	}
	if cfg.ResourceIDPrefix == "" {
		cfg.ResourceIDPrefix = DefaultResourceIDPrefix
	}
	h := &Handler{cfg: cfg, log: cfg.Logger, lim: limits{maxEvent: cfg.MaxEventBytes, maxEvents: 5000}}
	h.st.Store(&state{topics: map[string]*Topic{}, nsTopics: map[string]*nsTopic{}, queues: map[string]*nsSubscription{}})
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.load(ctx); err != nil {
		h.closeLocked()
		return nil, err
	}
	return h, nil
}

// Close stops the push workers of the face's subscriptions (the Manager
// itself is stopped by its owner).
func (h *Handler) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closeLocked()
}

func (h *Handler) closeLocked() {
	if h.cfg.Push == nil {
		return
	}
	for _, t := range h.state().topics {
		for _, s := range t.Subscriptions {
			h.cfg.Push.Remove(s.Name)
		}
	}
}

// state returns the current topics and subscriptions.
func (h *Handler) state() *state { return h.st.Load() }

// queueMessageKB is a subscription queue's message size limit: room for
// the largest event the face accepts.
func (h *Handler) queueMessageKB() int64 { return int64(h.cfg.MaxEventBytes+1023)/1024 + 64 }

// validName checks an Event Grid resource name: 3–50 letters, digits and
// hyphens.
func validName(n string) error { return checkName(n, 50) }

func checkName(n string, max int) error {
	if len(n) < 3 || len(n) > max {
		return fmt.Errorf("name %q must be 3–%d characters", n, max)
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("name %q may hold only letters, digits and '-'", n)
		}
	}
	return nil
}

func (h *Handler) ensureQueue(ctx context.Context, name string, props broker.QueueProperties) error {
	_, err := h.cfg.Broker.CreateQueue(ctx, name, props)
	if broker.CodeOf(err) == broker.CodeEntityExists {
		_, err = h.cfg.Broker.UpdateQueue(ctx, name, props)
	}
	if err != nil {
		return fmt.Errorf("eventgrid: queue %q: %w", name, err)
	}
	return nil
}

// ServeHTTP routes a request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var id [16]byte
	_, _ = rand.Read(id[:])
	w.Header().Set("x-ms-request-id", hex.EncodeToString(id[:]))
	path := r.URL.EscapedPath()
	switch {
	case path == "/api/health":
		w.WriteHeader(http.StatusOK)
		return
	case strings.HasPrefix(path, "/eventsubscriptions/") && strings.HasSuffix(path, "/validate"):
		h.manualValidation(w, r, path)
		return
	case path == "/eventsubscriptions" && r.Method == http.MethodGet:
		h.listSubscriptions(w, r)
		return
	case IsManagementPath(path):
		if err := h.authenticateManagement(r); err != nil {
			writeError(w, r, err)
			return
		}
		h.manage(w, r)
		return
	}
	if strings.HasPrefix(path, "/topics/") {
		if i := strings.LastIndexByte(path, ':'); i > 0 && !strings.Contains(path[i:], "/") {
			h.namespace(w, r, path[len("/topics/"):i], path[i+1:])
			return
		}
	}
	h.publishBasic(w, r, path)
}

// subscriptionInfo is one row of GET /eventsubscriptions.
type subscriptionInfo struct {
	Name              string `json:"name"`
	Topic             string `json:"topic"`
	Kind              string `json:"kind"` // "push" or "queue"
	ProvisioningState string `json:"provisioningState,omitempty"`
	EndpointBaseURL   string `json:"endpointBaseUrl,omitempty"`
	Queue             string `json:"queue"`
	Pending           int64  `json:"pendingEvents"`
	DeadLettered      int64  `json:"deadLetteredEvents"`
}

// listSubscriptions serves GET /eventsubscriptions: every subscription,
// its state and its queue's counts (authenticated with the global keys).
func (h *Handler) listSubscriptions(w http.ResponseWriter, r *http.Request) {
	if err := h.authenticate(r, h.cfg.Keys, "/eventsubscriptions"); err != nil {
		writeError(w, r, err)
		return
	}
	out := struct {
		Value []subscriptionInfo `json:"value"`
	}{Value: []subscriptionInfo{}}
	counts := func(q string) (int64, int64) {
		info, err := h.cfg.Broker.GetEntity(q)
		if err != nil {
			return 0, 0
		}
		return info.Active + info.Scheduled, info.DeadLettered
	}
	st := h.state()
	for _, t := range sortedTopics(st) {
		for _, s := range t.Subscriptions {
			si := subscriptionInfo{Name: s.Name, Topic: t.Name, Kind: "push", Queue: s.Queue}
			if s.Destination == push.WebHook {
				si.EndpointBaseURL = baseURL(s.EndpointURL)
			}
			if h.cfg.State != nil {
				si.ProvisioningState = h.cfg.State(s.Name)
			}
			si.Pending, si.DeadLettered = counts(s.Queue)
			out.Value = append(out.Value, si)
		}
	}
	for _, nt := range sortedNSTopics(st) {
		for _, s := range nt.subs {
			si := subscriptionInfo{Name: s.Name, Topic: nt.Name, Kind: "queue", ProvisioningState: "Succeeded", Queue: s.queue}
			si.Pending, si.DeadLettered = counts(s.queue)
			out.Value = append(out.Value, si)
		}
	}
	writeJSON(w, out)
}

func (h *Handler) manualValidation(w http.ResponseWriter, r *http.Request, path string) {
	name, err := url.PathUnescape(strings.TrimSuffix(strings.TrimPrefix(path, "/eventsubscriptions/"), "/validate"))
	code := r.URL.Query().Get("id")
	if err != nil || code == "" || h.cfg.Validator == nil || !h.cfg.Validator(name, code) {
		writeError(w, r, newError(http.StatusNotFound, "NotFound", "No event subscription awaits validation with this name and code."))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "Webhook successfully validated as a subscription endpoint.")
}

type topicKey struct{}

// ForTopic returns a handler for a listener of the topic's own: a publish
// to / or /api/events goes to that topic (port-per-topic addressing, what
// the .NET publisher needs since it drops the endpoint's path).
func (h *Handler) ForTopic(name string) (http.Handler, error) {
	if h.state().topics[strings.ToLower(name)] == nil {
		return nil, fmt.Errorf("eventgrid: no topic %q", name)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), topicKey{}, name)))
	}), nil
}

// readBody reads at most MaxRequestBytes, refusing larger bodies with 413.
func (h *Handler) readBody(r *http.Request) ([]byte, error) {
	if r.ContentLength > int64(h.cfg.MaxRequestBytes) {
		return nil, tooLarge("the request is %d bytes; the limit is %d bytes", r.ContentLength, h.cfg.MaxRequestBytes)
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, int64(h.cfg.MaxRequestBytes)+1))
	if err != nil {
		return nil, badInput("reading the request body: %v", err)
	}
	if len(b) > h.cfg.MaxRequestBytes {
		return nil, tooLarge("the request is larger than the limit of %d bytes", h.cfg.MaxRequestBytes)
	}
	return b, nil
}

// mediaType returns the lower-case media type of the request.
func mediaType(r *http.Request) string {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]))
	}
	return mt
}

// topicFor finds the basic topic a publish addresses: by path
// (/{topic}/api/events, /topics/{topic}/api/events), else by the listener
// (ForTopic), else by the Host's first DNS label, else the only topic.
func (h *Handler) topicFor(r *http.Request, path string) (*Topic, error) {
	p := strings.TrimSuffix(path, "/")
	var name string
	switch {
	case p == "" || p == "/api/events":
	case strings.HasSuffix(p, "/api/events"):
		name = strings.TrimPrefix(strings.TrimSuffix(p, "/api/events"), "/")
		name = strings.TrimPrefix(name, "topics/")
	default:
		return nil, newError(http.StatusNotFound, "NotFound", "The path "+path+" is not an Event Grid endpoint; publish to /api/events or /{topic}/api/events.")
	}
	st := h.state()
	if name != "" {
		n, err := url.PathUnescape(name)
		if err == nil {
			if t := st.topics[strings.ToLower(n)]; t != nil {
				return t, nil
			}
		}
		return nil, newError(http.StatusNotFound, "NotFound", "The topic "+name+" does not exist.")
	}
	if n, ok := r.Context().Value(topicKey{}).(string); ok {
		if t := st.topics[strings.ToLower(n)]; t != nil {
			return t, nil
		}
		return nil, newError(http.StatusNotFound, "NotFound", "The topic "+n+" does not exist.")
	}
	host := r.Host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		host = hh
	}
	if label, _, ok := strings.Cut(host, "."); ok {
		if t := st.topics[strings.ToLower(label)]; t != nil {
			return t, nil
		}
	}
	if len(st.topics) == 1 {
		for _, t := range st.topics {
			return t, nil
		}
	}
	return nil, newError(http.StatusNotFound, "NotFound", "No topic is addressed: publish to /{topic}/api/events or to the host {topic}.<anything>.")
}

// publishBasic serves POST /api/events (and /).
func (h *Handler) publishBasic(w http.ResponseWriter, r *http.Request, path string) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeError(w, r, newError(http.StatusMethodNotAllowed, "MethodNotAllowed", "Only POST is supported on "+path+"."))
		return
	}
	t, err := h.topicFor(r, path)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if err := h.authenticate(r, append(append([]string(nil), t.Keys...), h.cfg.Keys...), path); err != nil {
		writeError(w, r, err)
		return
	}
	if t.System {
		writeError(w, r, newError(http.StatusBadRequest, "BadRequest", "Topic "+t.Name+" is a system topic: Baton publishes its events, clients cannot."))
		return
	}
	body, err := h.readBody(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	mt := mediaType(r)
	schema := t.InputSchema
	isCE := strings.HasPrefix(mt, "application/cloudevents")
	if schema == 0 {
		schema = detectSchema(mt, body)
	}
	var evs []event
	switch schema {
	case push.SchemaCloudEvents:
		if !isCE && mt != "application/json" && mt != "" {
			err = badInput("topic %s takes CloudEvents; Content-Type %q is neither application/cloudevents+json nor application/cloudevents-batch+json", t.Name, mt)
			break
		}
		evs, err = decodeCloudEvents(body, mt != "application/cloudevents+json", h.lim)
	case push.SchemaEventGrid:
		if isCE {
			err = badInput("topic %s takes the EventGridEvent schema; it cannot accept CloudEvents (%s)", t.Name, mt)
			break
		}
		evs, err = decodeEventGridEvents(body, h.cfg.ResourceIDPrefix+t.Name, h.lim)
	default:
		if isCE {
			err = badInput("topic %s takes the custom input schema; it cannot accept CloudEvents (%s)", t.Name, mt)
			break
		}
		evs, err = decodeCustomEvents(body, h.lim)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	if err := h.fanOut(r.Context(), schema, evs, t.Subscriptions); err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

// detectSchema picks the schema of a request to an auto-detect topic:
// CloudEvents by content type or by a specversion member; EventGridEvent by
// eventType; anything else is custom.
func detectSchema(mt string, body []byte) push.Schema {
	if strings.HasPrefix(mt, "application/cloudevents") {
		return push.SchemaCloudEvents
	}
	var probe []map[string]any
	if err := json.Unmarshal(body, &probe); err == nil && len(probe) > 0 {
		if _, ok := probe[0]["specversion"]; ok {
			return push.SchemaCloudEvents
		}
		if _, ok := probe[0]["eventType"]; ok {
			return push.SchemaEventGrid
		}
		return push.SchemaCustom
	}
	return push.SchemaEventGrid // the validator then names what is wrong
}

// fanOut sends every event to the queue of every subscription whose filter
// it passes, one atomic send per subscription; the sends run concurrently
// so that they share the store's group commit.
func (h *Handler) fanOut(ctx context.Context, schema push.Schema, evs []event, subs []*push.Subscription) error {
	now := h.cfg.Clock.Now()
	sends := make([]send, 0, len(subs))
	for _, s := range subs {
		var msgs []*broker.Message
		for _, ev := range evs {
			if s.Filter.Match(ev.pushEvent(schema)) {
				msgs = append(msgs, push.NewMessage(ev.Raw, ev.ID, schema, now))
			}
		}
		if len(msgs) > 0 {
			sends = append(sends, send{queue: s.Queue, name: s.Name, msgs: msgs})
		}
	}
	return h.sendAll(ctx, sends)
}

// send is one subscription's share of a publish.
type send struct {
	queue, name string
	msgs        []*broker.Message
}

// sendAll runs the sends concurrently and returns the first error. A
// failed publish may have reached some subscriptions: the client retries
// and those get the event twice (publishing is at-least-once).
func (h *Handler) sendAll(ctx context.Context, sends []send) error {
	if len(sends) == 1 {
		_, err := h.cfg.Broker.Send(ctx, sends[0].queue, sends[0].msgs)
		if err != nil {
			return fmt.Errorf("eventgrid: sending to subscription %s: %w", sends[0].name, err)
		}
		return nil
	}
	errs := make([]error, len(sends))
	var wg sync.WaitGroup
	for i, s := range sends {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := h.cfg.Broker.Send(ctx, s.queue, s.msgs); err != nil {
				errs[i] = fmt.Errorf("eventgrid: sending to subscription %s: %w", s.name, err)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
