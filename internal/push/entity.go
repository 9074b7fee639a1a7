package push

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

// entityBatch is how many pending events a broker destination's worker
// takes at once: they are written with one send (one group commit) and
// settled together.
const entityBatch = 100

// attemptEntities writes events into a broker destination (spec §2.9): a
// Service Bus queue or topic gets one message per event whose body is the
// event object (content type application/json) with the aeg-* delivery
// headers and the delivery properties as application properties, all in
// one atomic send; a storage queue gets the event's JSON, base64-encoded
// as Event Grid writes it. Outcomes are settled like a webhook's: broker
// errors map onto Azure's outcomes for Azure-resource destinations (400,
// 403 and 413 are not retried). A send refused for a reason that is not
// retried is tried again event by event, so that one bad event does not
// take the others with it.
func (m *Manager) attemptEntities(ctx context.Context, s *Subscription, items []pending) error {
	outcomes := make([]outcome, len(items))
	switch s.Destination {
	case StorageQueue:
		for i, it := range items {
			text := make([]byte, base64.StdEncoding.EncodedLen(len(it.elem)))
			base64.StdEncoding.Encode(text, it.elem)
			outcomes[i] = classifyBroker(m.cfg.StorageQueuePut(ctx, s.Entity, text, s.QueueMessageTTL))
		}
	default:
		msgs := make([]*broker.Message, len(items))
		for i, it := range items {
			msgs[i] = m.entityMessage(s, it)
		}
		_, err := m.cfg.ServiceBusSend(ctx, s.Entity, msgs)
		o := classifyBroker(err)
		if !o.ok && !o.retriable && len(msgs) > 1 {
			for i, msg := range msgs {
				_, err := m.cfg.ServiceBusSend(ctx, s.Entity, []*broker.Message{msg})
				outcomes[i] = classifyBroker(err)
			}
			break
		}
		for i := range outcomes {
			outcomes[i] = o
		}
	}
	if ctx.Err() != nil {
		return nil // shutting down: the locks expire and the attempt is made again
	}
	at := m.cfg.Clock.Now()
	errs := make([]error, len(items))
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Add(1)
		go func() { // settled concurrently: the settlements share group commits
			defer wg.Done()
			errs[i] = m.settle(ctx, s, it.msg, it.st, outcomes[i], at)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// entityMessage is the Service Bus message of one event.
func (m *Manager) entityMessage(s *Subscription, it pending) *broker.Message {
	props := map[string]any{
		"aeg-subscription-name": strings.ToUpper(s.Name),
		"aeg-delivery-count":    strconv.Itoa(int(it.st.attempts)),
		"aeg-output-event-id":   it.msg.MessageID,
	}
	if m.deliverySchema(s, it.st) == SchemaCloudEvents {
		props["aeg-metadata-version"] = "1.0"
	} else {
		props["aeg-metadata-version"], props["aeg-data-version"] = "1", it.dv
	}
	msg := &broker.Message{MessageID: it.msg.MessageID, ContentType: "application/json", Body: it.elem, Format: broker.FormatRaw}
	for k, v := range s.Headers {
		applyBrokerProperty(msg, props, k, v)
	}
	for k, v := range dynamicValues(s.DynamicHeaders, it.msg.Body, it.st.schema) {
		applyBrokerProperty(msg, props, k, v)
	}
	msg.Properties = props
	return msg
}

// applyBrokerProperty sets a delivery property on a Service Bus message:
// the names Azure maps to broker properties (MessageId, SessionId, …) set
// them, any other becomes an application property.
func applyBrokerProperty(msg *broker.Message, props map[string]any, name, value string) {
	switch strings.ToLower(name) {
	case "messageid":
		msg.MessageID = value
	case "partitionkey":
		msg.PartitionKey = value
	case "sessionid":
		msg.SessionID = value
	case "correlationid":
		msg.CorrelationID = value
	case "label":
		msg.Subject = value
	case "replyto":
		msg.ReplyTo = value
	case "replytosessionid":
		msg.ReplyToSessionID = value
	case "to":
		msg.To = value
	default:
		props[name] = value
	}
}

// classifyBroker maps a broker error onto Azure's outcomes for
// Azure-resource destinations.
func classifyBroker(err error) outcome {
	if err == nil {
		return outcome{ok: true, name: "Delivered"}
	}
	o := outcome{retriable: true, minDelay: 10 * time.Second}
	switch broker.CodeOf(err) {
	case broker.CodeNotFound:
		o.name, o.minDelay = "NotFound", 5*time.Minute
	case broker.CodeMessageTooLarge:
		o.retriable, o.name, o.reason, o.status = false, "PayloadTooLarge", "UndeliverableDueToHttpPayloadTooLarge", http.StatusRequestEntityTooLarge
	case broker.CodeInvalidArgument:
		o.retriable, o.name, o.reason, o.status = false, "BadRequest", "UndeliverableDueToHttpBadRequest", http.StatusBadRequest
	case broker.CodeEntityDisabled:
		o.retriable, o.name, o.reason, o.status = false, "Forbidden", "UndeliverableDueToHttpForbidden", http.StatusForbidden
	case broker.CodeQuotaExceeded:
		o.name = "Full"
	case broker.CodeStoreUnavailable, broker.CodeClosed, broker.CodeTimeout:
		o.name, o.minDelay = "Busy", 30*time.Second
	default:
		o.name = "Aborted"
	}
	return o
}
