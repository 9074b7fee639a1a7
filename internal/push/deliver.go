package push

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

// outcome classifies one attempt (spec §2.5).
type outcome struct {
	ok        bool
	retriable bool
	status    int           // HTTP status, 0 without a response
	name      string        // lastDeliveryOutcome
	reason    string        // deadLetterReason when not retriable
	minDelay  time.Duration // before the next attempt
}

// classify maps a response (or transport error) onto Azure's outcome.
func classify(status int, err error) outcome {
	if err != nil {
		var ne net.Error
		var dns *net.DNSError
		switch {
		case errors.As(err, &dns):
			return outcome{retriable: true, name: "ResolutionError", minDelay: 10 * time.Second}
		case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, context.DeadlineExceeded):
			return outcome{retriable: true, name: "TimedOut", minDelay: 10 * time.Second}
		}
		return outcome{retriable: true, name: "SocketError", minDelay: 10 * time.Second}
	}
	o := outcome{status: status, retriable: true, minDelay: 10 * time.Second}
	switch {
	case status >= 200 && status <= 204:
		return outcome{ok: true, status: status, name: "Delivered"}
	case status == 400:
		o.retriable, o.name, o.reason = false, "BadRequest", "UndeliverableDueToHttpBadRequest"
	case status == 401:
		o.retriable, o.name, o.reason = false, "Unauthorized", "UndeliverableDueToHttpUnauthorized"
	case status == 403:
		o.retriable, o.name, o.reason = false, "Forbidden", "UndeliverableDueToHttpForbidden"
	case status == 413:
		o.retriable, o.name, o.reason = false, "PayloadTooLarge", "UndeliverableDueToHttpPayloadTooLarge"
	case status == 404:
		o.name, o.minDelay = "NotFound", 5*time.Minute
	case status == 408:
		o.name, o.minDelay = "TimedOut", 2*time.Minute
	case status == 503:
		o.name, o.minDelay = "Busy", 30*time.Second
	case status == 429:
		o.name = "Busy"
	default:
		o.name = "Aborted"
	}
	return o
}

// attemptState is what a queue message carries about its delivery.
type attemptState struct {
	schema      Schema
	published   time.Time
	attempts    int32
	lastOutcome string
	lastStatus  int32
	lastAttempt time.Time
}

func stateOf(msg *broker.Message) attemptState {
	p := msg.Properties
	st := attemptState{published: msg.EnqueuedTime}
	st.schema, _ = ParseSchema(str(p[PropSchema]), SchemaEventGrid)
	if t, ok := p[PropPublished].(time.Time); ok {
		st.published = t
	}
	st.attempts, _ = p[PropAttempts].(int32)
	st.lastOutcome, _ = p[PropLastOutcome].(string)
	st.lastStatus, _ = p[PropLastStatus].(int32)
	st.lastAttempt, _ = p[PropLastAttempt].(time.Time)
	return st
}

// deliver makes one attempt at msg and settles it: complete, a scheduled
// retry, or dead-letter.
func (m *Manager) deliver(ctx context.Context, s *Subscription, msg *broker.Message) error {
	return m.deliverBatch(ctx, s, []*broker.Message{msg})
}

// pending is one event of an attempt, rendered in the delivery schema.
type pending struct {
	msg  *broker.Message
	st   attemptState
	elem []byte // one event's JSON object
	dv   string // its dataVersion (EventGridEvent delivery)
}

// deliverBatch makes one attempt at msgs: events past their time to live
// are dead-lettered, the rest go in requests of at most the preferred size
// (one event alone when larger), each request all-or-nothing, and each
// event is settled by its request's outcome.
func (m *Manager) deliverBatch(ctx context.Context, s *Subscription, msgs []*broker.Message) error {
	var errs []error
	var items []pending
	now := m.cfg.Clock.Now()
	for _, msg := range msgs {
		st := stateOf(msg)
		if !now.Before(st.published.Add(s.EventTTL)) {
			errs = append(errs, m.deadLetter(ctx, s, msg, st, "TimeToLiveExceeded"))
			continue
		}
		elem, dv, err := render(msg.Body, st.schema, m.deliverySchema(s, st), s.TopicID, st.published, s.Mapping)
		if err != nil {
			st.lastOutcome = "Aborted"
			errs = append(errs, m.deadLetter(ctx, s, msg, st, "UndeliverableDueToSchemaConversion"))
			continue
		}
		items = append(items, pending{msg: msg, st: st, elem: elem, dv: dv})
	}
	if s.Destination != WebHook {
		if len(items) > 0 {
			errs = append(errs, m.attemptEntities(ctx, s, items))
		}
		return errors.Join(errs...)
	}
	limit := s.PreferredBatchKB * 1024
	for len(items) > 0 {
		n, size := 1, len(items[0].elem)
		for n < len(items) && (limit <= 0 || size+len(items[n].elem) <= limit) {
			size += len(items[n].elem)
			n++
		}
		if limit <= 0 {
			n = 1
		}
		errs = append(errs, m.attempt(ctx, s, items[:n]))
		items = items[n:]
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (m *Manager) deliverySchema(s *Subscription, st attemptState) Schema {
	if s.DeliverySchema != 0 {
		return s.DeliverySchema
	}
	return st.schema
}

// attempt posts one request holding items and settles each of them.
func (m *Manager) attempt(ctx context.Context, s *Subscription, items []pending) error {
	first := items[0]
	schema := m.deliverySchema(s, first.st)
	var body []byte
	var ct string
	switch {
	case schema == SchemaCloudEvents && len(items) == 1:
		body, ct = first.elem, "application/cloudevents+json; charset=utf-8"
	default:
		body = append(body, '[')
		for i, it := range items {
			if i > 0 {
				body = append(body, ',')
			}
			body = append(body, it.elem...)
		}
		body = append(body, ']')
		ct = "application/json; charset=utf-8"
		if schema == SchemaCloudEvents {
			ct = "application/cloudevents-batch+json; charset=utf-8"
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.EndpointURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("push: request: %w", err)
	}
	h := req.Header
	for k, v := range s.Headers {
		h.Set(k, v)
	}
	if len(s.DynamicHeaders) > 0 {
		setDynamic(h, s.DynamicHeaders, first.msg.Body, first.st.schema)
	}
	h.Set("Content-Type", ct)
	h.Set("aeg-event-type", "Notification")
	h.Set("aeg-subscription-name", strings.ToUpper(s.Name))
	h.Set("aeg-delivery-count", strconv.Itoa(int(first.st.attempts)))
	if len(items) == 1 {
		h.Set("aeg-output-event-id", first.msg.MessageID)
	}
	if schema == SchemaCloudEvents {
		h.Set("aeg-metadata-version", "1.0")
		h.Set("Origin", m.cfg.Origin)
		h.Set("WebHook-Request-Origin", m.cfg.Origin)
	} else {
		h.Set("aeg-metadata-version", "1")
		h.Set("aeg-data-version", first.dv)
	}
	status := 0
	resp, err := m.cfg.Client.Do(req)
	if ctx.Err() != nil {
		return nil // shutting down: the locks expire and the attempt is made again
	}
	if err == nil {
		status = resp.StatusCode
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}
	o := classify(status, err)
	at := m.cfg.Clock.Now()
	var errs []error
	for _, it := range items {
		errs = append(errs, m.settle(ctx, s, it.msg, it.st, o, at))
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// settle applies an attempt's outcome to one event.
func (m *Manager) settle(ctx context.Context, s *Subscription, msg *broker.Message, st attemptState, o outcome, at time.Time) error {
	st.attempts++
	st.lastOutcome, st.lastStatus, st.lastAttempt = o.name, int32(o.status), at
	switch {
	case o.ok:
		return m.cfg.Broker.Settle(ctx, s.Queue, msg.LockToken, broker.Settlement{Disposition: broker.Complete})
	case !o.retriable:
		return m.deadLetter(ctx, s, msg, st, o.reason)
	case int(st.attempts) >= s.MaxDeliveryAttempts:
		return m.deadLetter(ctx, s, msg, st, "MaxDeliveryAttemptsExceeded")
	}
	return m.retry(ctx, s, msg, st, m.scaled(RetryDelay(int(st.attempts), o.minDelay)))
}

func (st attemptState) props(base map[string]any) map[string]any {
	p := make(map[string]any, len(base)+6)
	for k, v := range base {
		p[k] = v
	}
	p[PropSchema] = st.schema.String()
	p[PropPublished] = st.published
	p[PropAttempts] = st.attempts
	p[PropLastOutcome] = st.lastOutcome
	p[PropLastStatus] = st.lastStatus
	p[PropLastAttempt] = st.lastAttempt
	return p
}

// retry schedules the next attempt as a copy due after delay, then
// completes the original; when that fails the copy is cancelled.
func (m *Manager) retry(ctx context.Context, s *Subscription, msg *broker.Message, st attemptState, delay time.Duration) error {
	b := m.cfg.Broker
	cp := &broker.Message{MessageID: msg.MessageID, ContentType: msg.ContentType, Body: msg.Body, Properties: st.props(msg.Properties)}
	seqs, err := b.Schedule(ctx, s.Queue, []*broker.Message{cp}, m.cfg.Clock.Now().Add(delay))
	if err != nil {
		return fmt.Errorf("push: scheduling the retry: %w", err)
	}
	if err := b.Settle(ctx, s.Queue, msg.LockToken, broker.Settlement{Disposition: broker.Complete}); err != nil {
		if cerr := b.CancelScheduled(ctx, s.Queue, seqs); cerr != nil {
			m.log.Warn("a retry could not be cancelled after its original failed to settle; the event may be delivered twice", "subscription", s.Name, "err", cerr)
		}
		return fmt.Errorf("push: completing a retried delivery: %w", err)
	}
	return nil
}

// deadLetter moves msg to the queue's dead-letter sub-queue with Azure's
// reason and delivery facts (and writes it to DeadLetterDir when set).
func (m *Manager) deadLetter(ctx context.Context, s *Subscription, msg *broker.Message, st attemptState, reason string) error {
	props := map[string]any{
		"deadLetterReason":    reason,
		"deliveryAttempts":    st.attempts,
		"lastDeliveryOutcome": st.lastOutcome,
		"publishTime":         st.published,
	}
	if st.lastStatus != 0 {
		props["lastHttpStatusCode"] = st.lastStatus
	}
	if !st.lastAttempt.IsZero() {
		props["lastDeliveryAttemptTime"] = st.lastAttempt
	}
	if m.cfg.DeadLetterDir != "" {
		if err := m.writeDeadLetter(s, msg, st, reason); err != nil {
			m.log.Warn("writing a dead-lettered event to the directory failed; it is in the dead-letter queue", "subscription", s.Name, "err", err)
		}
	}
	desc := fmt.Sprintf("%d delivery attempts; last outcome %s", st.attempts, st.lastOutcome)
	if err := m.cfg.Broker.Settle(ctx, s.Queue, msg.LockToken, broker.Settlement{Disposition: broker.DeadLetter,
		DeadLetterReason: reason, DeadLetterDescription: desc, Properties: props}); err != nil {
		return fmt.Errorf("push: dead-lettering: %w", err)
	}
	m.log.Info("event dead-lettered", "subscription", s.Name, "event", msg.MessageID, "reason", reason, "attempts", st.attempts)
	return nil
}

// writeDeadLetter writes <dir>/<SUBSCRIPTION>/<yyyy>/<m>/<d>/<h>/<id>.json
// holding a JSON array with the event and its dead-letter facts.
func (m *Manager) writeDeadLetter(s *Subscription, msg *broker.Message, st attemptState, reason string) error {
	var ev map[string]any
	if err := json.Unmarshal(msg.Body, &ev); err != nil {
		return fmt.Errorf("push: dead-letter body: %w", err)
	}
	if st.schema == SchemaCloudEvents {
		ev["deadletterreason"], ev["deliveryattempts"], ev["lastdeliveryoutcome"] = reason, st.attempts, st.lastOutcome
		ev["publishtime"], ev["lastdeliveryattempttime"] = st.published.UTC().Format(time.RFC3339Nano), st.lastAttempt.UTC().Format(time.RFC3339Nano)
	} else {
		if st.schema == SchemaCustom {
			ev = map[string]any{"id": msg.MessageID, "data": ev}
		}
		ev["deadLetterReason"], ev["deliveryAttempts"], ev["lastDeliveryOutcome"] = reason, st.attempts, st.lastOutcome
		ev["publishTime"], ev["lastDeliveryAttemptTime"] = st.published.UTC().Format(time.RFC3339Nano), st.lastAttempt.UTC().Format(time.RFC3339Nano)
		if st.lastStatus != 0 {
			ev["lastHttpStatusCode"] = st.lastStatus
		}
	}
	body, err := json.Marshal([]any{ev})
	if err != nil {
		return fmt.Errorf("push: dead-letter body: %w", err)
	}
	t := m.cfg.Clock.Now().UTC()
	dir := filepath.Join(m.cfg.DeadLetterDir, strings.ToUpper(s.Name), strconv.Itoa(t.Year()), strconv.Itoa(int(t.Month())), strconv.Itoa(t.Day()), strconv.Itoa(t.Hour()))
	return writeFileSync(dir, newID()+".json", body)
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// render returns one event as a JSON object in the delivery schema, and
// its dataVersion for the EventGridEvent schema.
func render(raw []byte, input, output Schema, topicID string, published time.Time, mapping *InputMapping) (elem []byte, dataVersion string, err error) {
	switch {
	case input == output:
		if input == SchemaEventGrid {
			var v struct {
				DataVersion string `json:"dataVersion"`
			}
			_ = json.Unmarshal(raw, &v)
			dataVersion = v.DataVersion
		}
		return raw, dataVersion, nil
	case input == SchemaEventGrid && output == SchemaCloudEvents:
		var eg struct {
			ID          string          `json:"id"`
			Topic       string          `json:"topic"`
			Subject     string          `json:"subject"`
			EventType   string          `json:"eventType"`
			EventTime   string          `json:"eventTime"`
			Data        json.RawMessage `json:"data"`
			DataVersion string          `json:"dataVersion"`
		}
		if err := json.Unmarshal(raw, &eg); err != nil {
			return nil, "", fmt.Errorf("push: stored event: %w", err)
		}
		ce := map[string]any{"specversion": "1.0", "id": eg.ID, "source": eg.Topic, "type": eg.EventType, "time": eg.EventTime}
		if eg.Subject != "" {
			ce["subject"] = eg.Subject
		}
		if len(eg.Data) > 0 {
			ce["data"], ce["datacontenttype"] = eg.Data, "application/json"
		}
		if eg.DataVersion != "" {
			ce["dataversion"] = eg.DataVersion
		}
		b, err := json.Marshal(ce)
		return b, "", err
	case input == SchemaCustom && output == SchemaEventGrid:
		eg, err := mapCustom(raw, topicID, published, mapping)
		if err != nil {
			return nil, "", err
		}
		b, err := json.Marshal(eg)
		return b, str(eg["dataVersion"]), err
	}
	return nil, "", fmt.Errorf("push: cannot deliver %s events as %s", input, output)
}

// mapCustom synthesizes the EventGridEvent of a custom event: mapped
// fields are copied from the object, defaults fill the missing ones, id and
// eventTime are generated when unmapped, and the object is data.
func mapCustom(raw []byte, topicID string, published time.Time, mp *InputMapping) (map[string]any, error) {
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("push: stored custom event: %w", err)
	}
	if mp == nil {
		mp = &InputMapping{EventType: FieldDefault{DefaultValue: "Custom"}}
	}
	field := func(src, def string) string {
		if src != "" {
			if v, ok := LookupField(obj, src); ok {
				if s, ok := v.(string); ok && s != "" {
					return s
				}
				if s, ok := textOf(v); ok && s != "" {
					return s
				}
			}
		}
		return def
	}
	ev := map[string]any{
		"id":              field(mp.ID.SourceField, newID()),
		"topic":           field(mp.Topic.SourceField, topicID),
		"subject":         field(mp.Subject.SourceField, mp.Subject.DefaultValue),
		"eventType":       field(mp.EventType.SourceField, mp.EventType.DefaultValue),
		"eventTime":       field(mp.EventTime.SourceField, published.UTC().Format(time.RFC3339Nano)),
		"data":            json.RawMessage(raw),
		"dataVersion":     field(mp.DataVersion.SourceField, mp.DataVersion.DefaultValue),
		"metadataVersion": "1",
	}
	return ev, nil
}

// setDynamic sets each dynamic delivery property from its source field;
// objects, arrays, nulls and missing fields are left out.
func setDynamic(h http.Header, dyn map[string]string, body []byte, schema Schema) {
	for name, v := range dynamicValues(dyn, body, schema) {
		h.Set(name, v)
	}
}

// dynamicValues returns each dynamic delivery property's value from its
// source field; objects, arrays, nulls and missing fields are left out.
func dynamicValues(dyn map[string]string, body []byte, schema Schema) map[string]string {
	if len(dyn) == 0 {
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var fields map[string]any
	if d.Decode(&fields) != nil {
		return nil
	}
	if schema == SchemaCustom {
		fields = map[string]any{"data": fields}
	}
	out := make(map[string]string, len(dyn))
	for name, src := range dyn {
		v, ok := LookupField(fields, src)
		if !ok {
			continue
		}
		if s, ok := textOf(v); ok {
			out[name] = s
		}
	}
	return out
}
