package eventgrid

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/push"
)

// Namespace limits (spec §3.2, §3.3).
const (
	maxNamespaceEvents = 1000
	maxReceiveEvents   = 100
	maxRenewal         = time.Hour
	propBaseDeliveries = PropBaseDeliveries
)

// PropBaseDeliveries is the int32 message property holding the deliveries
// made before a delayed release's copy was scheduled.
const PropBaseDeliveries = "eg-deliveries"

// releaseDelays are the allowed releaseDelayInSeconds values.
var releaseDelays = map[string]time.Duration{"0": 0, "10": 10 * time.Second, "60": time.Minute, "600": 10 * time.Minute, "3600": time.Hour}

// namespace serves POST /topics/{topic}:publish and
// /topics/{topic}/eventsubscriptions/{sub}:{action}.
func (h *Handler) namespace(w http.ResponseWriter, r *http.Request, rest, action string) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeError(w, r, newError(http.StatusMethodNotAllowed, "MethodNotAllowed", "Namespace operations are POST requests."))
		return
	}
	topicPart, subPart, hasSub := strings.Cut(rest, "/eventsubscriptions/")
	topicName, err1 := url.PathUnescape(topicPart)
	subName, err2 := url.PathUnescape(subPart)
	if err1 != nil || err2 != nil || topicName == "" || strings.Contains(topicName, "/") || (hasSub && (subName == "" || strings.Contains(subName, "/"))) {
		writeError(w, r, newError(http.StatusNotFound, "NotFound", "The path does not name a namespace topic or event subscription."))
		return
	}
	st := h.state()
	t := st.nsTopics[strings.ToLower(topicName)]
	if t == nil {
		writeError(w, r, newError(http.StatusNotFound, "NotFound", "The namespace topic "+topicName+" does not exist."))
		return
	}
	if err := h.authenticate(r, append(append([]string(nil), t.Keys...), h.cfg.Keys...), strings.ToLower(r.URL.Path)); err != nil {
		writeError(w, r, err)
		return
	}
	if !hasSub {
		if action != "publish" {
			writeError(w, r, newError(http.StatusNotFound, "NotFound", "Unknown topic action :"+action+"; topics take :publish."))
			return
		}
		h.nsPublish(w, r, t)
		return
	}
	sub := st.queues[strings.ToLower(topicName)+"/"+strings.ToLower(subName)]
	if sub == nil {
		writeError(w, r, newError(http.StatusNotFound, "NotFound", "The event subscription "+subName+" of topic "+topicName+" does not exist."))
		return
	}
	switch action {
	case "receive":
		h.nsReceive(w, r, sub)
	case "acknowledge", "release", "reject", "renewLock":
		h.nsSettle(w, r, sub, action)
	default:
		writeError(w, r, newError(http.StatusNotFound, "NotFound", "Unknown event subscription action :"+action+"."))
	}
}

func (h *Handler) nsPublish(w http.ResponseWriter, r *http.Request, t *nsTopic) {
	body, err := h.readBody(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	lim := h.lim
	lim.maxEvents = maxNamespaceEvents
	var evs []event
	switch mt := mediaType(r); mt {
	case "application/cloudevents-batch+json":
		evs, err = decodeCloudEvents(body, true, lim)
	case "application/cloudevents+json":
		evs, err = decodeCloudEvents(body, false, lim)
	default:
		var ev event
		ev, err = decodeBinaryCloudEvent(r.Header, body, lim)
		evs = []event{ev}
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	if err := h.nsFanOut(r.Context(), t, evs); err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, struct{}{})
}

func (h *Handler) nsFanOut(ctx context.Context, t *nsTopic, evs []event) error {
	sends := make([]send, 0, len(t.subs))
	for _, s := range t.subs {
		var msgs []*broker.Message
		for _, ev := range evs {
			if s.Filter.Match(ev.pushEvent(push.SchemaCloudEvents)) {
				msgs = append(msgs, &broker.Message{MessageID: truncateID(ev.ID), ContentType: "application/cloudevents+json", Body: ev.Raw})
			}
		}
		if len(msgs) > 0 {
			sends = append(sends, send{queue: s.queue, name: t.Name + "/" + s.Name, msgs: msgs})
		}
	}
	return h.sendAll(ctx, sends)
}

// truncateID fits an event id into the broker's message id limit (the id
// is informational; the event keeps its own).
func truncateID(id string) string {
	if len(id) > 128 {
		return id[:128]
	}
	return id
}

type receiveDetail struct {
	BrokerProperties brokerProperties `json:"brokerProperties"`
	Event            json.RawMessage  `json:"event"`
}

type brokerProperties struct {
	LockToken     string `json:"lockToken"`
	DeliveryCount int32  `json:"deliveryCount"`
}

// intParam reads an integer query parameter within [lo, hi].
func intParam(q url.Values, name string, def, lo, hi int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, badInput("query parameter %s=%q must be an integer from %d to %d", name, v, lo, hi)
	}
	return n, nil
}

func (h *Handler) nsReceive(w http.ResponseWriter, r *http.Request, s *nsSubscription) {
	q := r.URL.Query()
	maxEvents, err := intParam(q, "maxEvents", 1, 1, maxReceiveEvents)
	if err != nil {
		writeError(w, r, err)
		return
	}
	waitSec, err := intParam(q, "maxWaitTime", 60, 10, 120)
	if err != nil {
		writeError(w, r, err)
		return
	}
	msgs, err := h.cfg.Broker.Receive(r.Context(), s.queue, broker.ReceiveOptions{Mode: broker.PeekLock, MaxMessages: maxEvents, Wait: time.Duration(waitSec) * time.Second})
	if err != nil && r.Context().Err() == nil {
		writeError(w, r, err)
		return
	}
	now := h.cfg.Clock.Now()
	out := struct {
		Value []receiveDetail `json:"value"`
	}{Value: make([]receiveDetail, 0, len(msgs))}
	for _, m := range msgs {
		if deliveries(m) >= s.MaxDeliveryCount {
			// A delayed release's copy whose lock expired once too often:
			// the broker counts from the copy, the subscription from the
			// first delivery.
			if err := h.cfg.Broker.Settle(r.Context(), s.queue, m.LockToken, broker.Settlement{Disposition: broker.DeadLetter,
				DeadLetterReason: "MaxDeliveryCountExceeded", DeadLetterDescription: fmt.Sprintf("The event could not be consumed after %d delivery attempts.", deliveries(m))}); err != nil {
				h.log.Warn("dead-lettering an event past its max delivery count failed", "queue", s.queue, "err", err)
			}
			continue
		}
		out.Value = append(out.Value, receiveDetail{
			BrokerProperties: brokerProperties{LockToken: encodeToken(m.LockToken, m.SequenceNumber, now), DeliveryCount: deliveries(m) + 1},
			Event:            json.RawMessage(m.Body),
		})
	}
	writeJSON(w, out)
}

// deliveries is how many times m was delivered before this delivery.
func deliveries(m *broker.Message) int32 {
	base, _ := m.Properties[propBaseDeliveries].(int32)
	return base + m.DeliveryCount
}

// encodeToken makes the opaque lock token: broker token, sequence number,
// first-lock time.
func encodeToken(t broker.LockToken, seq int64, locked time.Time) string {
	var b [32]byte
	copy(b[:16], t[:])
	binary.BigEndian.PutUint64(b[16:24], uint64(seq))
	binary.BigEndian.PutUint64(b[24:], uint64(locked.UnixNano()))
	return base64.StdEncoding.EncodeToString(b[:])
}

func decodeToken(s string) (broker.LockToken, int64, time.Time, bool) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != 32 {
		return broker.LockToken{}, 0, time.Time{}, false
	}
	var t broker.LockToken
	copy(t[:], b[:16])
	return t, int64(binary.BigEndian.Uint64(b[16:24])), time.Unix(0, int64(binary.BigEndian.Uint64(b[24:]))), true
}

type failedToken struct {
	LockToken string      `json:"lockToken"`
	Error     errorDetail `json:"error"`
}

type settleResult struct {
	FailedLockTokens    []failedToken `json:"failedLockTokens"`
	SucceededLockTokens []string      `json:"succeededLockTokens"`
}

func (h *Handler) nsSettle(w http.ResponseWriter, r *http.Request, s *nsSubscription, action string) {
	var delay time.Duration
	if action == "release" {
		if v := r.URL.Query().Get("releaseDelayInSeconds"); v != "" {
			d, ok := releaseDelays[v]
			if !ok {
				writeError(w, r, badInput("releaseDelayInSeconds=%q is not one of 0, 10, 60, 600, 3600", v))
				return
			}
			delay = d
		}
	}
	body, err := h.readBody(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var req struct {
		LockTokens []string `json:"lockTokens"`
	}
	d := json.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(&req); err != nil {
		writeError(w, r, badInput("the body must be {\"lockTokens\":[...]}: %v", err))
		return
	}
	if len(req.LockTokens) == 0 || len(req.LockTokens) > maxReceiveEvents {
		writeError(w, r, badInput("lockTokens must hold 1 to %d tokens", maxReceiveEvents))
		return
	}
	// Tokens settle concurrently so that their store writes share group
	// commits (one fsync for the request rather than one per token).
	errs := make([]error, len(req.LockTokens))
	var wg sync.WaitGroup
	for i, tok := range req.LockTokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = h.settleOne(r.Context(), s, action, tok, delay)
		}()
	}
	wg.Wait()
	res := settleResult{FailedLockTokens: []failedToken{}, SucceededLockTokens: []string{}}
	for i, tok := range req.LockTokens {
		err := errs[i]
		if err == nil {
			res.SucceededLockTokens = append(res.SucceededLockTokens, tok)
			continue
		}
		res.FailedLockTokens = append(res.FailedLockTokens, failedToken{LockToken: tok, Error: tokenError(err)})
	}
	writeJSON(w, res)
}

var errBadToken = newError(http.StatusBadRequest, "BadToken", "The lock token is malformed.")

// tokenError is a failed token's {code, message}.
func tokenError(err error) errorDetail {
	switch broker.CodeOf(err) {
	case broker.CodeLockLost, broker.CodeSessionLockLost, broker.CodeMessageNotFound:
		return errorDetail{Code: "TokenLost", Message: "Token has expired."}
	}
	ae := toAPIError(err)
	return errorDetail{Code: ae.code, Message: ae.msg}
}

func (h *Handler) settleOne(ctx context.Context, s *nsSubscription, action, tok string, delay time.Duration) error {
	lt, seq, locked, ok := decodeToken(tok)
	if !ok {
		return errBadToken
	}
	b := h.cfg.Broker
	switch action {
	case "acknowledge":
		return b.Settle(ctx, s.queue, lt, broker.Settlement{Disposition: broker.Complete})
	case "reject":
		return b.Settle(ctx, s.queue, lt, broker.Settlement{Disposition: broker.DeadLetter, DeadLetterReason: "Rejected",
			DeadLetterDescription: "The receiver rejected the event."})
	case "renewLock":
		if h.cfg.Clock.Now().Sub(locked) > maxRenewal {
			return &broker.Error{Code: broker.CodeLockLost, Message: "the lock was first taken more than an hour ago and cannot be renewed"}
		}
		_, err := b.RenewLock(ctx, s.queue, []broker.LockToken{lt})
		return err
	}
	return h.release(ctx, s, lt, seq, delay)
}

// release makes the event available again, counting the delivery; the last
// allowed delivery dead-letters it (MaxDeliveryCountExceeded). Without a
// delay it is the broker's abandon. With one it is a scheduled copy
// carrying the delivery count, then the original completed (the copy is
// cancelled when the completion fails); a crash between the two leaves
// both: at-least-once, never lost.
func (h *Handler) release(ctx context.Context, s *nsSubscription, lt broker.LockToken, seq int64, delay time.Duration) error {
	b := h.cfg.Broker
	ms, err := b.Peek(ctx, s.queue, seq, 1, "")
	if err != nil {
		return err
	}
	if len(ms) == 0 || ms[0].SequenceNumber != seq || ms[0].DeadLettered {
		return &broker.Error{Code: broker.CodeLockLost, Message: "the event is gone"}
	}
	m := ms[0]
	n := deliveries(m) + 1 // this delivery counts
	if n >= s.MaxDeliveryCount {
		return b.Settle(ctx, s.queue, lt, broker.Settlement{Disposition: broker.DeadLetter, DeadLetterReason: "MaxDeliveryCountExceeded",
			DeadLetterDescription: fmt.Sprintf("The event could not be consumed after %d delivery attempts.", n)})
	}
	if delay == 0 {
		return b.Settle(ctx, s.queue, lt, broker.Settlement{Disposition: broker.Abandon})
	}
	now := h.cfg.Clock.Now()
	at := now.Add(delay)
	var ttl time.Duration
	if !m.ExpiresAt.IsZero() {
		ttl = m.ExpiresAt.Sub(at)
		if ttl <= 0 {
			return b.Settle(ctx, s.queue, lt, broker.Settlement{Disposition: broker.DeadLetter, DeadLetterReason: "TimeToLiveExceeded",
				DeadLetterDescription: "The event's time to live ends before the release delay."})
		}
	}
	props := map[string]any{}
	for k, v := range m.Properties {
		props[k] = v
	}
	props[propBaseDeliveries] = n
	cp := &broker.Message{MessageID: m.MessageID, ContentType: m.ContentType, Body: m.Body, Properties: props, TimeToLive: ttl}
	seqs, err := b.Schedule(ctx, s.queue, []*broker.Message{cp}, at)
	if err != nil {
		return err
	}
	if err := b.Settle(ctx, s.queue, lt, broker.Settlement{Disposition: broker.Complete}); err != nil {
		if cerr := b.CancelScheduled(ctx, s.queue, seqs); cerr != nil {
			h.log.Warn("a delayed release failed and its copy could not be cancelled; the event may be delivered twice", "queue", s.queue, "err", cerr)
		}
		return err
	}
	return nil
}
