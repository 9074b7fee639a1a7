package push

import (
	"context"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

// attemptEntity writes one event into a broker destination (spec §2.9):
// a Service Bus queue or topic gets a message whose body is the event
// object (content type application/json) with the aeg-* delivery headers
// and the delivery properties as application properties; a storage queue
// gets the event's JSON, base64-encoded as Event Grid writes it. The
// outcome is settled like a webhook's: broker errors map onto Azure's
// outcomes for Azure-resource destinations (400, 403 and 413 are not
// retried).
func (m *Manager) attemptEntity(ctx context.Context, s *Subscription, it pending) error {
	schema := m.deliverySchema(s, it.st)
	var err error
	switch s.Destination {
	case StorageQueue:
		text := make([]byte, base64.StdEncoding.EncodedLen(len(it.elem)))
		base64.StdEncoding.Encode(text, it.elem)
		_, err = m.cfg.Broker.StorageQueues().Put(ctx, s.Entity, text, 0, s.QueueMessageTTL)
	default:
		props := map[string]any{
			"aeg-subscription-name": strings.ToUpper(s.Name),
			"aeg-delivery-count":    strconv.Itoa(int(it.st.attempts)),
			"aeg-output-event-id":   it.msg.MessageID,
		}
		if schema == SchemaCloudEvents {
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
		_, err = m.cfg.Broker.Send(ctx, s.Entity, []*broker.Message{msg})
	}
	if ctx.Err() != nil {
		return nil // shutting down: the lock expires and the attempt is made again
	}
	o := classifyBroker(err)
	return m.settle(ctx, s, it.msg, it.st, o, m.cfg.Clock.Now())
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
