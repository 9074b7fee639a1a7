package push

import (
	"fmt"
	"strings"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

// Properties kept on a subscription queue's messages.
const (
	PropSchema      = "eg-schema"       // string: the input schema (Schema.String)
	PropPublished   = "eg-published"    // time.Time: when the event was published
	PropAttempts    = "eg-attempts"     // int32: delivery attempts made
	PropLastOutcome = "eg-last-outcome" // string: lastDeliveryOutcome
	PropLastStatus  = "eg-last-status"  // int32: last HTTP status, 0 without one
	PropLastAttempt = "eg-last-attempt" // time.Time: when the last attempt was made
)

// NewMessage is the queue message for one published event: raw is the
// event's JSON object in the topic's input schema.
func NewMessage(raw []byte, id string, schema Schema, now time.Time) *broker.Message {
	if len(id) > 128 {
		id = id[:128]
	}
	return &broker.Message{MessageID: id, ContentType: "application/json", Body: raw,
		Properties: map[string]any{PropSchema: schema.String(), PropPublished: now}}
}

// Destination is where a subscription delivers.
type Destination uint8

// Destinations. The broker destinations are written through the broker in
// the same process: one event per message, the body a single event object.
const (
	WebHook         Destination = iota // EndpointURL
	ServiceBusQueue                    // Entity: a broker queue
	ServiceBusTopic                    // Entity: a broker topic
	StorageQueue                       // Entity: a storage queue, "account/queue"
)

// String returns ARM's endpointType.
func (d Destination) String() string {
	switch d {
	case ServiceBusQueue:
		return "ServiceBusQueue"
	case ServiceBusTopic:
		return "ServiceBusTopic"
	case StorageQueue:
		return "StorageQueue"
	}
	return "WebHook"
}

// Subscription is one event subscription with a webhook destination.
type Subscription struct {
	Name    string // 3–64 letters, digits, '-'
	Topic   string // the topic's name
	TopicID string // the topic's resource id (CloudEvents source on conversion)
	// Queue is the broker queue holding its pending deliveries.
	Queue string
	// Destination is WebHook (EndpointURL) or a broker entity (Entity).
	Destination Destination
	EndpointURL string
	Entity      string
	// QueueMessageTTL is a StorageQueue destination's message time to live:
	// 0 the storage queue default (7 days), negative never.
	QueueMessageTTL time.Duration
	// DeliverySchema is what the webhook receives; 0: the input schema.
	DeliverySchema Schema
	Filter         *Filter
	// MaxDeliveryAttempts is 1–30 (default 30); EventTTL 1–1440 minutes
	// (default 1440).
	MaxDeliveryAttempts int
	EventTTL            time.Duration
	// MaxEventsPerBatch (1–5000, default 1) and PreferredBatchKB (1–1024,
	// default 64 when batching) batch deliveries: never more events than
	// the maximum, never more bytes than preferred unless one event is
	// larger alone, never waiting to fill a batch.
	MaxEventsPerBatch int
	PreferredBatchKB  int
	// SkipValidation turns off the validation handshake.
	SkipValidation bool
	// Headers are static delivery properties; DynamicHeaders name a field
	// of the event (dot path, e.g. "data.tenant") whose string, number or
	// boolean value is sent (omitted when missing). At most 10 in all;
	// names starting with aeg- are reserved.
	Headers        map[string]string
	DynamicHeaders map[string]string
	// Mapping is the topic's inputSchemaMapping, used when custom events
	// are delivered in the EventGridEvent schema; nil: the object becomes
	// data of an event with generated id, type "Custom" and empty subject.
	Mapping *InputMapping
}

// InputMapping is ARM's JSON input schema mapping ("properties" of an
// inputSchemaMapping with inputSchemaMappingType "Json").
type InputMapping struct {
	ID          SourceField  `json:"id"`
	Topic       SourceField  `json:"topic"`
	EventTime   SourceField  `json:"eventTime"`
	EventType   FieldDefault `json:"eventType"`
	Subject     FieldDefault `json:"subject"`
	DataVersion FieldDefault `json:"dataVersion"`
}

// SourceField names a field of the custom event.
type SourceField struct {
	SourceField string `json:"sourceField,omitempty"`
}

// FieldDefault names a field of the custom event and a value for events
// without it.
type FieldDefault struct {
	SourceField  string `json:"sourceField,omitempty"`
	DefaultValue string `json:"defaultValue,omitempty"`
}

// check fills defaults and validates s.
func (s *Subscription) check() error {
	if len(s.Name) < 3 || len(s.Name) > 64 {
		return fmt.Errorf("push: subscription name %q must be 3–64 characters", s.Name)
	}
	for i := 0; i < len(s.Name); i++ {
		c := s.Name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("push: subscription name %q may hold only letters, digits and '-'", s.Name)
		}
	}
	if s.Queue == "" {
		return fmt.Errorf("push: subscription %s has no queue", s.Name)
	}
	switch {
	case s.Destination == WebHook:
		if !strings.HasPrefix(s.EndpointURL, "https://") && !strings.HasPrefix(s.EndpointURL, "http://") {
			return fmt.Errorf("push: subscription %s: endpointUrl %q is not an http(s) URL", s.Name, s.EndpointURL)
		}
	case s.Destination > StorageQueue:
		return fmt.Errorf("push: subscription %s: unknown destination %d", s.Name, s.Destination)
	case s.Entity == "":
		return fmt.Errorf("push: subscription %s: a %s destination needs an entity", s.Name, s.Destination)
	default:
		s.SkipValidation = true // Azure validates only webhooks
	}
	if s.MaxDeliveryAttempts == 0 {
		s.MaxDeliveryAttempts = 30
	}
	if s.EventTTL == 0 {
		s.EventTTL = 1440 * time.Minute
	}
	if s.MaxEventsPerBatch == 0 {
		s.MaxEventsPerBatch = 1
	}
	if s.PreferredBatchKB == 0 && s.MaxEventsPerBatch > 1 {
		s.PreferredBatchKB = 64
	}
	if s.MaxEventsPerBatch < 1 || s.MaxEventsPerBatch > 5000 || s.PreferredBatchKB < 0 || s.PreferredBatchKB > 1024 {
		return fmt.Errorf("push: subscription %s: maxEventsPerBatch must be 1–5000 and preferredBatchSizeInKilobytes 1–1024", s.Name)
	}
	if s.MaxDeliveryAttempts < 1 || s.MaxDeliveryAttempts > 30 {
		return fmt.Errorf("push: subscription %s: maxDeliveryAttempts %d is not within 1–30", s.Name, s.MaxDeliveryAttempts)
	}
	if s.EventTTL < time.Minute || s.EventTTL > 1440*time.Minute {
		return fmt.Errorf("push: subscription %s: eventTimeToLiveInMinutes %v is not within 1–1440", s.Name, s.EventTTL)
	}
	if n := len(s.Headers) + len(s.DynamicHeaders); n > 10 {
		return fmt.Errorf("push: subscription %s: %d delivery properties; at most 10", s.Name, n)
	}
	for k, v := range s.DynamicHeaders {
		if strings.HasPrefix(strings.ToLower(k), "aeg-") || v == "" {
			return fmt.Errorf("push: subscription %s: dynamic delivery property %q: the name must not start with aeg- and the source field must be set", s.Name, k)
		}
	}
	for k, v := range s.Headers {
		if strings.HasPrefix(strings.ToLower(k), "aeg-") {
			return fmt.Errorf("push: subscription %s: delivery property %q: names starting with aeg- are reserved", s.Name, k)
		}
		if len(v) > 4096 {
			return fmt.Errorf("push: subscription %s: delivery property %q is longer than 4096 bytes", s.Name, k)
		}
	}
	return nil
}

// CheckSchemas refuses a delivery schema the input cannot be converted to:
// CloudEvents input with EventGridEvent output (spec §2.8).
func CheckSchemas(input, delivery Schema) error {
	if input == SchemaCloudEvents && delivery == SchemaEventGrid {
		return fmt.Errorf("push: a CloudEvents topic cannot deliver the EventGridEvent schema (CloudEvents extensions have no place in it)")
	}
	return nil
}

// retrySchedule is Azure's: after failure n wait retrySchedule[n-1]; past
// the end, every 12 h.
var retrySchedule = []time.Duration{10 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute, 10 * time.Minute,
	30 * time.Minute, time.Hour, 3 * time.Hour, 6 * time.Hour}

// RetryDelay is the wait after the given number of failed attempts, at
// least minimum.
func RetryDelay(failed int, minimum time.Duration) time.Duration {
	d := 12 * time.Hour
	if failed >= 1 && failed <= len(retrySchedule) {
		d = retrySchedule[failed-1]
	}
	return max(d, minimum)
}
