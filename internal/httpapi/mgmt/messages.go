package mgmt

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

func (s *server) send(w http.ResponseWriter, r *http.Request) {
	name, err := s.queueName(r)
	if err != nil {
		s.fail(w, r, "", err)
		return
	}
	if topic, _, ok := broker.SplitSubscriptionPath(name); ok {
		if info, err := s.b.GetEntity(name); err == nil && info.Kind == broker.KindSubscription {
			s.fail(w, r, name, badRequest("cannot send to subscription %q; send to its topic %q", name, topic))
			return
		}
	}
	var req SendRequest
	if err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, name, err)
		return
	}
	msgs, err := req.toBroker()
	if err != nil {
		s.fail(w, r, name, err)
		return
	}
	seqs, err := s.b.Send(r.Context(), name, msgs)
	if err != nil {
		s.fail(w, r, name, err)
		return
	}
	writeJSON(w, http.StatusCreated, SendResult{SequenceNumbers: seqs})
}

// decodeSend decodes and converts a send request body; the fuzz test calls
// it.
func decodeSend(rd io.Reader) ([]*broker.Message, error) {
	var req SendRequest
	if err := decodeJSON(rd, &req); err != nil {
		return nil, err
	}
	return req.toBroker()
}

// toBroker converts the request's messages.
func (req *SendRequest) toBroker() ([]*broker.Message, error) {
	if len(req.Messages) == 0 {
		return nil, badRequest("messages is empty: send at least one message")
	}
	out := make([]*broker.Message, len(req.Messages))
	for i := range req.Messages {
		in := &req.Messages[i]
		m := &broker.Message{
			MessageID:        in.MessageID,
			SessionID:        in.SessionID,
			PartitionKey:     in.PartitionKey,
			CorrelationID:    in.CorrelationID,
			Subject:          in.Subject,
			To:               in.To,
			ReplyTo:          in.ReplyTo,
			ReplyToSessionID: in.ReplyToSessionID,
			ContentType:      in.ContentType,
			Format:           broker.FormatRaw,
		}
		switch {
		case in.Body != nil && in.BodyBase64 != "":
			return nil, badRequest("message %d has both body and bodyBase64; send one", i)
		case in.Body != nil:
			m.Body = []byte(*in.Body)
		case in.BodyBase64 != "":
			b, err := base64.StdEncoding.DecodeString(in.BodyBase64)
			if err != nil {
				return nil, badRequest("message %d: bodyBase64 is not standard base64: %s", i, err.Error())
			}
			m.Body = b
		default:
			m.Body = []byte{}
		}
		if in.TimeToLive != nil {
			if *in.TimeToLive <= 0 {
				return nil, badRequest("message %d: timeToLive must be positive", i)
			}
			m.TimeToLive = time.Duration(*in.TimeToLive)
		}
		if in.ScheduledEnqueueTime != nil {
			m.ScheduledEnqueueTime = *in.ScheduledEnqueueTime
		}
		props, err := propertiesIn(in.Properties)
		if err != nil {
			return nil, badRequest("message %d: %s", i, err.Error())
		}
		m.Properties = props
		out[i] = m
	}
	return out, nil
}

// propertiesIn converts decoded JSON property values: integers become
// int64, other numbers float64; objects and arrays are refused.
func propertiesIn(in map[string]any) (map[string]any, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make(map[string]any, len(in))
	for k, v := range in {
		switch v := v.(type) {
		case nil, bool, string:
			out[k] = v
		case json.Number:
			if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
				out[k] = i
				continue
			}
			f, err := strconv.ParseFloat(string(v), 64)
			if err != nil || math.IsInf(f, 0) {
				return nil, fmt.Errorf("property %q: number %s is out of range", k, truncate(string(v), 40))
			}
			out[k] = f
		case float64: // decoded without UseNumber
			out[k] = v
		default:
			return nil, fmt.Errorf("property %q must be a string, number, boolean or null, not %T", k, v)
		}
	}
	return out, nil
}

// propertiesOut makes property values JSON-safe.
func propertiesOut(in map[string]any) map[string]any {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]any, len(in))
	for k, v := range in {
		switch v := v.(type) {
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				out[k] = strconv.FormatFloat(v, 'g', -1, 64)
				continue
			}
			out[k] = v
		case float32:
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				out[k] = strconv.FormatFloat(float64(v), 'g', -1, 32)
				continue
			}
			out[k] = v
		case broker.LockToken:
			out[k] = v.String()
		default:
			out[k] = v // []byte: base64; time.Time: RFC 3339
		}
	}
	return out
}

// messageOf converts a broker message for the API.
func messageOf(m *broker.Message) *Message {
	out := &Message{
		MessageID:             m.MessageID,
		SessionID:             m.SessionID,
		CorrelationID:         m.CorrelationID,
		Subject:               m.Subject,
		To:                    m.To,
		ReplyTo:               m.ReplyTo,
		ReplyToSessionID:      m.ReplyToSessionID,
		ContentType:           m.ContentType,
		PartitionKey:          m.PartitionKey,
		Properties:            propertiesOut(m.Properties),
		SequenceNumber:        m.SequenceNumber,
		EnqueuedTime:          m.EnqueuedTime,
		DeliveryCount:         m.DeliveryCount,
		State:                 m.State.String(),
		DeadLettered:          m.DeadLettered,
		DeadLetterReason:      m.DeadLetterReason,
		DeadLetterDescription: m.DeadLetterDescription,
		DeadLetterSource:      m.DeadLetterSource,
	}
	out.Body, out.BodyBase64 = textOrBase64(m.Body)
	if m.Format == broker.FormatAMQP {
		amqpView(out, m)
	}
	if m.TimeToLive > 0 {
		d := Duration(m.TimeToLive)
		out.TimeToLive = &d
	}
	if !m.ScheduledEnqueueTime.IsZero() {
		t := m.ScheduledEnqueueTime
		out.ScheduledEnqueueTime = &t
	}
	if !m.ExpiresAt.IsZero() {
		t := m.ExpiresAt
		out.ExpiresAt = &t
	}
	if !m.LockToken.IsZero() {
		out.LockToken = m.LockToken.String()
		t := m.LockedUntil
		out.LockedUntil = &t
	}
	return out
}

func messagesOf(msgs []*broker.Message) MessageList {
	out := MessageList{Messages: make([]*Message, len(msgs))}
	for i, m := range msgs {
		out.Messages[i] = messageOf(m)
	}
	return out
}

// peekQuery is the parsed query of a peek.
type peekQuery struct {
	from      int64
	max       int
	dlq       bool
	sessionID string
}

func parsePeekQuery(q url.Values) (peekQuery, error) {
	p := peekQuery{max: 1}
	for k, v := range q {
		if len(v) != 1 {
			return p, badRequest("query parameter %q is given %d times", k, len(v))
		}
		var err error
		switch k {
		case "from":
			p.from, err = strconv.ParseInt(v[0], 10, 64)
		case "max":
			p.max, err = strconv.Atoi(v[0])
			if err == nil && p.max < 1 {
				return p, badRequest("max must be at least 1")
			}
		case "dlq":
			p.dlq, err = strconv.ParseBool(v[0])
		case "sessionId":
			p.sessionID = v[0]
		default:
			return p, badRequest("unknown query parameter %q; peek takes from, max, dlq and sessionId", truncate(k, 40))
		}
		if err != nil {
			return p, badRequest("query parameter %s=%q is not valid", k, truncate(v[0], 40))
		}
	}
	return p, nil
}

func (s *server) peek(w http.ResponseWriter, r *http.Request) {
	name, err := s.queueName(r)
	if err != nil {
		s.fail(w, r, "", err)
		return
	}
	q, err := parsePeekQuery(r.URL.Query())
	if err != nil {
		s.fail(w, r, name, err)
		return
	}
	msgs, err := s.b.Peek(r.Context(), entityPath(name, q.dlq), q.from, q.max, q.sessionID)
	if err != nil {
		s.fail(w, r, name, err)
		return
	}
	writeJSON(w, http.StatusOK, messagesOf(msgs))
}

// sessionLock builds the session lock a request names, or nil.
func sessionLock(id, token string) (*broker.SessionLock, error) {
	if id == "" && token == "" {
		return nil, nil
	}
	if id == "" {
		return nil, badRequest("sessionLockToken needs sessionId")
	}
	if token == "" {
		return nil, badRequest("sessionId needs sessionLockToken: accept the session first (POST .../sessions/accept)")
	}
	t, err := parseToken("sessionLockToken", token)
	if err != nil {
		return nil, err
	}
	return &broker.SessionLock{SessionID: id, Token: t}, nil
}

func (s *server) receive(w http.ResponseWriter, r *http.Request) {
	name, err := s.queueName(r)
	if err != nil {
		s.fail(w, r, "", err)
		return
	}
	var req ReceiveRequest
	if err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, name, err)
		return
	}
	opts, err := req.options()
	if err != nil {
		s.fail(w, r, name, err)
		return
	}
	msgs, err := s.b.Receive(r.Context(), entityPath(name, req.DLQ), opts)
	if err != nil {
		s.fail(w, r, name, err)
		return
	}
	writeJSON(w, http.StatusOK, messagesOf(msgs))
}

func (req *ReceiveRequest) options() (broker.ReceiveOptions, error) {
	var opts broker.ReceiveOptions
	var err error
	if opts.Mode, err = parseMode(req.Mode); err != nil {
		return opts, err
	}
	if req.Max < 0 {
		return opts, badRequest("max must not be negative")
	}
	opts.MaxMessages = req.Max
	if opts.Wait, err = parseWait(req.Wait); err != nil {
		return opts, err
	}
	if opts.Session, err = sessionLock(req.SessionID, req.SessionLockToken); err != nil {
		return opts, err
	}
	return opts, nil
}

func parseDisposition(s string) (broker.Disposition, error) {
	switch strings.ToLower(s) {
	case DispositionComplete:
		return broker.Complete, nil
	case DispositionAbandon:
		return broker.Abandon, nil
	case DispositionRelease:
		return broker.Release, nil
	case DispositionDefer:
		return broker.Defer, nil
	case DispositionDeadLetter, "dead-letter":
		return broker.DeadLetter, nil
	case "":
		return 0, badRequest("disposition is missing: complete, abandon, release, defer or deadletter")
	}
	return 0, badRequest("disposition %q is not complete, abandon, release, defer or deadletter", truncate(s, 40))
}

func (s *server) settle(w http.ResponseWriter, r *http.Request) {
	name, err := s.queueName(r)
	if err != nil {
		s.fail(w, r, "", err)
		return
	}
	var req SettleRequest
	if err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, name, err)
		return
	}
	token, settlement, err := req.toBroker()
	if err != nil {
		s.fail(w, r, name, err)
		return
	}
	if err := s.b.Settle(r.Context(), entityPath(name, req.DLQ), token, settlement); err != nil {
		s.fail(w, r, name, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (req *SettleRequest) toBroker() (broker.LockToken, broker.Settlement, error) {
	var st broker.Settlement
	token, err := parseToken("lockToken", req.LockToken)
	if err != nil {
		return token, st, err
	}
	if st.Disposition, err = parseDisposition(req.Disposition); err != nil {
		return token, st, err
	}
	if st.Disposition != broker.DeadLetter && (req.Reason != "" || req.Description != "") {
		return token, st, badRequest("reason and description are for the deadletter disposition only")
	}
	if (st.Disposition == broker.Complete || st.Disposition == broker.Release) && len(req.Properties) > 0 {
		return token, st, badRequest("properties cannot be changed by %s", strings.ToLower(req.Disposition))
	}
	if st.Properties, err = propertiesIn(req.Properties); err != nil {
		return token, st, badRequest("%s", err.Error())
	}
	st.DeadLetterReason, st.DeadLetterDescription = req.Reason, req.Description
	return token, st, nil
}

func (s *server) renew(w http.ResponseWriter, r *http.Request) {
	name, err := s.queueName(r)
	if err != nil {
		s.fail(w, r, "", err)
		return
	}
	var req RenewRequest
	if err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, name, err)
		return
	}
	if len(req.LockTokens) == 0 {
		s.fail(w, r, name, badRequest("lockTokens is empty"))
		return
	}
	tokens := make([]broker.LockToken, len(req.LockTokens))
	for i, t := range req.LockTokens {
		if tokens[i], err = parseToken("lockTokens["+strconv.Itoa(i)+"]", t); err != nil {
			s.fail(w, r, name, err)
			return
		}
	}
	until, err := s.b.RenewLock(r.Context(), entityPath(name, req.DLQ), tokens)
	if err != nil {
		s.fail(w, r, name, err)
		return
	}
	writeJSON(w, http.StatusOK, RenewResult{LockedUntil: until})
}

func (s *server) receiveDeferred(w http.ResponseWriter, r *http.Request) {
	name, err := s.queueName(r)
	if err != nil {
		s.fail(w, r, "", err)
		return
	}
	var req DeferredRequest
	if err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, name, err)
		return
	}
	if len(req.SequenceNumbers) == 0 {
		s.fail(w, r, name, badRequest("sequenceNumbers is empty"))
		return
	}
	mode, err := parseMode(req.Mode)
	if err != nil {
		s.fail(w, r, name, err)
		return
	}
	sess, err := sessionLock(req.SessionID, req.SessionLockToken)
	if err != nil {
		s.fail(w, r, name, err)
		return
	}
	msgs, err := s.b.ReceiveDeferred(r.Context(), entityPath(name, req.DLQ), req.SequenceNumbers, mode, sess)
	if err != nil {
		s.fail(w, r, name, err)
		return
	}
	writeJSON(w, http.StatusOK, messagesOf(msgs))
}

func (s *server) cancelScheduled(w http.ResponseWriter, r *http.Request) {
	name, err := s.queueName(r)
	if err != nil {
		s.fail(w, r, "", err)
		return
	}
	var req CancelScheduledRequest
	if err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, name, err)
		return
	}
	if len(req.SequenceNumbers) == 0 {
		s.fail(w, r, name, badRequest("sequenceNumbers is empty"))
		return
	}
	if err := s.b.CancelScheduled(r.Context(), name, req.SequenceNumbers); err != nil {
		s.fail(w, r, name, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func decodeBase64(field, s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, badRequest("%s is not standard base64: %s", field, err.Error())
	}
	return b, nil
}
