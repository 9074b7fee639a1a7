package eventgrid

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

// deadLetter is one dead-lettered event as the management API lists it.
type deadLetter struct {
	SequenceNumber        int64           `json:"sequenceNumber"`
	ID                    string          `json:"id"`
	DeadLetterReason      string          `json:"deadLetterReason"`
	DeadLetterDescription string          `json:"deadLetterDescription,omitempty"`
	EnqueuedTime          time.Time       `json:"enqueuedTime"`
	DeliveryCount         int32           `json:"deliveryCount"`
	Properties            map[string]any  `json:"properties,omitempty"`
	Event                 json.RawMessage `json:"event"`
}

// freshFunc gives the content type and properties of a resubmitted copy
// of a dead-lettered event (body, id and its properties given).
type freshFunc func(body []byte, id string, props map[string]any) (string, map[string]any)

// manageDeadLetters serves …/deadLetters (GET: peek at up to ?top=,
// default 100) and …/deadLetters/resubmit (POST: move up to ?top= events,
// default all, back to the subscription as new events with fresh delivery
// attempts and time to live). depth is the index of "deadLetters" in the
// path. A resubmitted copy is made durable before its original is
// completed: a failure between the two leaves the event in both places,
// never in neither.
func (h *Handler) manageDeadLetters(q *mreq, queue string, depth int, fresh freshFunc) {
	dlq := queue + "/" + broker.DeadLetterSuffix
	ctx := q.r.Context()
	switch {
	case len(q.segs) == depth+1:
		if q.r.Method != http.MethodGet {
			q.methodNotAllowed("GET")
			return
		}
		top, ok := q.maxParam(100)
		if !ok {
			return
		}
		msgs, err := h.cfg.Broker.Peek(ctx, dlq, 1, top, "")
		if err != nil {
			writeError(q.w, q.r, err)
			return
		}
		out := struct {
			Value []deadLetter `json:"value"`
		}{Value: []deadLetter{}}
		for _, m := range msgs {
			ev := json.RawMessage(m.Body)
			if !json.Valid(m.Body) {
				b, _ := json.Marshal(string(m.Body))
				ev = b
			}
			out.Value = append(out.Value, deadLetter{SequenceNumber: m.SequenceNumber, ID: m.MessageID, DeadLetterReason: m.DeadLetterReason,
				DeadLetterDescription: m.DeadLetterDescription, EnqueuedTime: m.EnqueuedTime, DeliveryCount: m.DeliveryCount,
				Properties: m.Properties, Event: ev})
		}
		writeJSON(q.w, out)
	case len(q.segs) == depth+2 && strings.EqualFold(q.segs[depth+1], "resubmit"):
		if q.r.Method != http.MethodPost {
			q.methodNotAllowed("POST")
			return
		}
		top, ok := q.maxParam(1 << 30)
		if !ok {
			return
		}
		n, err := h.resubmit(q, queue, dlq, top, fresh)
		if err != nil {
			writeError(q.w, q.r, fmt.Errorf("eventgrid: resubmitted %d events, then: %w", n, err))
			return
		}
		writeJSON(q.w, map[string]int{"resubmitted": n})
	default:
		q.notFound("endpoint")
	}
}

func (h *Handler) resubmit(q *mreq, queue, dlq string, top int, fresh freshFunc) (int, error) {
	ctx := q.r.Context()
	b := h.cfg.Broker
	done := 0
	for done < top {
		msgs, err := b.Receive(ctx, dlq, broker.ReceiveOptions{Mode: broker.PeekLock, MaxMessages: min(100, top-done)})
		if err != nil {
			return done, err
		}
		if len(msgs) == 0 {
			return done, nil
		}
		copies := make([]*broker.Message, len(msgs))
		for i, m := range msgs {
			ct, props := fresh(m.Body, m.MessageID, m.Properties)
			copies[i] = &broker.Message{MessageID: m.MessageID, ContentType: ct, Body: m.Body, Properties: props}
		}
		if _, err := b.Send(ctx, queue, copies); err != nil {
			for _, m := range msgs {
				_ = b.Settle(ctx, dlq, m.LockToken, broker.Settlement{Disposition: broker.Release})
			}
			return done, err
		}
		for _, m := range msgs {
			if err := b.Settle(ctx, dlq, m.LockToken, broker.Settlement{Disposition: broker.Complete}); err != nil {
				return done, fmt.Errorf("eventgrid: an event was resubmitted but stays dead-lettered too: %w", err)
			}
			done++
		}
	}
	return done, nil
}
