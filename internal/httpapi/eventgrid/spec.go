package eventgrid

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/batonmq/baton/internal/isodur"
	"github.com/batonmq/baton/internal/push"
)

// The declarations below are what the config file's eventGrid section, the
// management API and the stored definitions all speak: the "properties" of
// ARM's resources (Microsoft.EventGrid/topics, topics/eventSubscriptions,
// namespaces/topics, namespaces/topics/eventSubscriptions) beside a name,
// plus the flat shortcuts the config file has always taken.

// TopicSpec declares a basic topic and its event subscriptions.
type TopicSpec struct {
	Name string `json:"name"`
	// InputSchema: EventGridSchema, CloudEventSchemaV1_0,
	// CustomEventSchema; empty detects the schema per request.
	InputSchema string `json:"inputSchema,omitempty"`
	// InputSchemaMapping is ARM's inputSchemaMapping (custom topics).
	InputSchemaMapping json.RawMessage `json:"inputSchemaMapping,omitempty"`
	// Keys authenticate publishers (base64); none: open unless global keys.
	Keys []string `json:"keys,omitempty"`
	// TopicType "Microsoft.ServiceBus.Namespaces" makes it a system topic
	// that carries Baton's Service Bus events (publishes are refused).
	TopicType string `json:"topicType,omitempty"`
	// Source is a system topic's source: the Service Bus namespace's
	// resource id (default: namespace "baton" in resource group "baton").
	Source        string             `json:"source,omitempty"`
	Subscriptions []SubscriptionSpec `json:"eventSubscriptions,omitempty"`
}

// DefaultServiceBusSource is a Service Bus system topic's default source.
const DefaultServiceBusSource = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/baton/providers/Microsoft.ServiceBus/namespaces/baton"

// TopicTypeServiceBus is the topicType of a Service Bus system topic.
const TopicTypeServiceBus = "Microsoft.ServiceBus.Namespaces"

// SubscriptionSpec declares a basic topic's event subscription.
type SubscriptionSpec struct {
	Name                string            `json:"name,omitempty"`
	EndpointURL         string            `json:"endpointUrl,omitempty"`
	EventDeliverySchema string            `json:"eventDeliverySchema,omitempty"`
	Filter              json.RawMessage   `json:"filter,omitempty"`
	MaxDeliveryAttempts int               `json:"maxDeliveryAttempts,omitempty"`
	EventTimeToLive     int               `json:"eventTimeToLiveInMinutes,omitempty"`
	DisableValidation   bool              `json:"disableValidation,omitempty"`
	MaxEventsPerBatch   int               `json:"maxEventsPerBatch,omitempty"`
	PreferredBatchKB    int               `json:"preferredBatchSizeInKilobytes,omitempty"`
	Headers             map[string]string `json:"deliveryHeaders,omitempty"`
	DynamicHeaders      map[string]string `json:"dynamicDeliveryHeaders,omitempty"`

	// ARM's shape.
	Destination           *DestinationSpec `json:"destination,omitempty"`
	RetryPolicy           *RetryPolicySpec `json:"retryPolicy,omitempty"`
	DeadLetterDestination json.RawMessage  `json:"deadLetterDestination,omitempty"`
	Labels                json.RawMessage  `json:"labels,omitempty"`
	ExpirationTimeUtc     json.RawMessage  `json:"expirationTimeUtc,omitempty"`
}

// DestinationSpec is ARM's event subscription destination.
type DestinationSpec struct {
	EndpointType string `json:"endpointType"`
	Properties   struct {
		// WebHook.
		EndpointURL               string                  `json:"endpointUrl,omitempty"`
		MaxEventsPerBatch         int                     `json:"maxEventsPerBatch,omitempty"`
		PreferredBatchKB          int                     `json:"preferredBatchSizeInKilobytes,omitempty"`
		DeliveryAttributeMappings []DeliveryAttributeSpec `json:"deliveryAttributeMappings,omitempty"`
		AzureADTenantID           string                  `json:"azureActiveDirectoryTenantId,omitempty"`
		AzureADAppID              string                  `json:"azureActiveDirectoryApplicationIdOrUri,omitempty"`
		MinimumTLSVersionAllowed  string                  `json:"minimumTlsVersionAllowed,omitempty"`
		// ServiceBusQueue, ServiceBusTopic, StorageQueue.
		ResourceID string `json:"resourceId,omitempty"`
		// StorageQueue.
		QueueName       string `json:"queueName,omitempty"`
		QueueMessageTTL int64  `json:"queueMessageTimeToLiveInSeconds,omitempty"`
	} `json:"properties"`
}

// DeliveryAttributeSpec is one of ARM's deliveryAttributeMappings.
type DeliveryAttributeSpec struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	Properties struct {
		Value       string `json:"value,omitempty"`
		IsSecret    bool   `json:"isSecret,omitempty"`
		SourceField string `json:"sourceField,omitempty"`
	} `json:"properties"`
}

// RetryPolicySpec is ARM's retry policy.
type RetryPolicySpec struct {
	MaxDeliveryAttempts      int `json:"maxDeliveryAttempts,omitempty"`
	EventTimeToLiveInMinutes int `json:"eventTimeToLiveInMinutes,omitempty"`
}

// NamespaceTopicSpec declares a namespace topic and its subscriptions.
type NamespaceTopicSpec struct {
	Name          string                      `json:"name"`
	Keys          []string                    `json:"keys,omitempty"`
	Subscriptions []NamespaceSubscriptionSpec `json:"eventSubscriptions,omitempty"`
	// ARM's properties, accepted and echoed.
	PublisherType        string `json:"publisherType,omitempty"`
	InputSchema          string `json:"inputSchema,omitempty"`
	EventRetentionInDays int    `json:"eventRetentionInDays,omitempty"`
}

// NamespaceSubscriptionSpec declares a queue-delivery namespace subscription.
type NamespaceSubscriptionSpec struct {
	Name                         string          `json:"name,omitempty"`
	ReceiveLockDurationInSeconds int             `json:"receiveLockDurationInSeconds,omitempty"`
	MaxDeliveryCount             int32           `json:"maxDeliveryCount,omitempty"`
	EventTimeToLive              Duration        `json:"eventTimeToLive,omitempty"`
	FiltersConfiguration         json.RawMessage `json:"filtersConfiguration,omitempty"`
	// ARM's shape: deliveryConfiguration.queue carries the settings above.
	DeliveryConfiguration *DeliveryConfigurationSpec `json:"deliveryConfiguration,omitempty"`
	EventDeliverySchema   string                     `json:"eventDeliverySchema,omitempty"`
}

// DeliveryConfigurationSpec is ARM's namespace subscription delivery
// configuration; only deliveryMode Queue is served.
type DeliveryConfigurationSpec struct {
	DeliveryMode string `json:"deliveryMode,omitempty"`
	Queue        *struct {
		ReceiveLockDurationInSeconds int             `json:"receiveLockDurationInSeconds,omitempty"`
		MaxDeliveryCount             int32           `json:"maxDeliveryCount,omitempty"`
		EventTimeToLive              Duration        `json:"eventTimeToLive,omitempty"`
		DeadLetterDestination        json.RawMessage `json:"deadLetterDestinationWithResourceIdentity,omitempty"`
	} `json:"queue,omitempty"`
}

// Duration reads ISO 8601 ("P7D", what ARM writes), Go syntax ("168h") or
// a number of seconds, and writes ISO 8601.
type Duration time.Duration

// MarshalJSON writes ISO 8601.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(isodur.Format(time.Duration(d))) }

// UnmarshalJSON reads ISO 8601, Go syntax or seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var n float64
	if err := json.Unmarshal(b, &n); err == nil {
		*d = Duration(n * float64(time.Second))
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("eventgrid: a duration is a string such as \"P7D\" or \"168h\": %w", err)
	}
	if s == "" {
		*d = 0
		return nil
	}
	if v, err := time.ParseDuration(s); err == nil {
		*d = Duration(v)
		return nil
	}
	v, err := isodur.Parse(s)
	if err != nil {
		return fmt.Errorf("eventgrid: duration: %w", err)
	}
	*d = Duration(v)
	return nil
}

// compileTopic checks a topic declaration (its subscriptions aside).
func compileTopic(spec TopicSpec) (*Topic, *push.InputMapping, error) {
	if err := validName(spec.Name); err != nil {
		return nil, nil, fmt.Errorf("eventgrid: topic: %w", err)
	}
	in, err := push.ParseSchema(spec.InputSchema, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("eventgrid: topic %s: %w", spec.Name, err)
	}
	if spec.TopicType != "" && spec.TopicType != TopicTypeServiceBus {
		return nil, nil, fmt.Errorf("eventgrid: topic %s: topicType %q is not %s (the only system topic Baton serves)", spec.Name, spec.TopicType, TopicTypeServiceBus)
	}
	if spec.Source != "" {
		if _, _, err := resourceName(spec.Source+"/queues/x", "Microsoft.ServiceBus/namespaces", "queues"); err != nil {
			return nil, nil, fmt.Errorf("eventgrid: topic %s: source %q is not a Service Bus namespace resource id", spec.Name, spec.Source)
		}
	}
	if spec.TopicType != "" && in == push.SchemaCustom {
		return nil, nil, fmt.Errorf("eventgrid: topic %s: a system topic carries EventGridEvents, not the custom schema", spec.Name)
	}
	for _, k := range spec.Keys {
		if k == "" {
			return nil, nil, fmt.Errorf("eventgrid: topic %s: an empty key", spec.Name)
		}
	}
	var mapping *push.InputMapping
	if len(spec.InputSchemaMapping) > 0 && string(spec.InputSchemaMapping) != "null" {
		var m struct {
			Type       string            `json:"inputSchemaMappingType"`
			Properties push.InputMapping `json:"properties"`
		}
		if err := json.Unmarshal(spec.InputSchemaMapping, &m); err != nil {
			return nil, nil, fmt.Errorf("eventgrid: topic %s: inputSchemaMapping: %w", spec.Name, err)
		}
		if m.Type != "" && m.Type != "Json" {
			return nil, nil, fmt.Errorf("eventgrid: topic %s: inputSchemaMappingType %q is not Json", spec.Name, m.Type)
		}
		mapping = &m.Properties
	}
	return &Topic{Name: spec.Name, InputSchema: in, Keys: spec.Keys, System: spec.TopicType != ""}, mapping, nil
}

// compileSubscription turns a subscription declaration of topic t into a
// push subscription (not yet checked by push: Manager.Check does that).
func compileSubscription(t *Topic, mapping *push.InputMapping, es SubscriptionSpec) (*push.Subscription, error) {
	if err := validSubscriptionName(es.Name); err != nil {
		return nil, fmt.Errorf("eventgrid: subscription of %s: %w", t.Name, err)
	}
	sub := &push.Subscription{Name: es.Name, Topic: t.Name, TopicID: DefaultResourceIDPrefix + t.Name, Queue: TopicQueueName(t.Name, es.Name),
		EndpointURL: es.EndpointURL, MaxDeliveryAttempts: es.MaxDeliveryAttempts, EventTTL: time.Duration(es.EventTimeToLive) * time.Minute,
		SkipValidation: es.DisableValidation, MaxEventsPerBatch: es.MaxEventsPerBatch, PreferredBatchKB: es.PreferredBatchKB, Mapping: mapping}
	if len(es.Headers) > 0 {
		sub.Headers = map[string]string{}
		for k, v := range es.Headers {
			sub.Headers[k] = v
		}
	}
	if len(es.DynamicHeaders) > 0 {
		sub.DynamicHeaders = map[string]string{}
		for k, v := range es.DynamicHeaders {
			sub.DynamicHeaders[k] = v
		}
	}
	fail := func(format string, a ...any) error {
		return fmt.Errorf("eventgrid: subscription %s: %s", es.Name, fmt.Sprintf(format, a...))
	}
	if d := es.Destination; d != nil {
		p := d.Properties
		switch strings.ToLower(d.EndpointType) {
		case "", "webhook":
			if es.EndpointURL != "" && p.EndpointURL != "" && es.EndpointURL != p.EndpointURL {
				return nil, fail("endpointUrl and destination.properties.endpointUrl differ")
			}
			sub.EndpointURL = cmp.Or(p.EndpointURL, sub.EndpointURL)
		case "servicebusqueue", "servicebustopic":
			kind, name, err := resourceName(p.ResourceID, "Microsoft.ServiceBus/namespaces", "queues", "topics")
			if err != nil {
				return nil, fail("destination.properties.resourceId: %v", err)
			}
			want := "queues"
			sub.Destination = push.ServiceBusQueue
			if strings.EqualFold(d.EndpointType, "ServiceBusTopic") {
				want, sub.Destination = "topics", push.ServiceBusTopic
			}
			if kind != want {
				return nil, fail("a %s destination's resourceId names %s, not %s", d.EndpointType, kind, want)
			}
			sub.Entity = name
		case "storagequeue":
			_, account, err := resourceName(p.ResourceID, "Microsoft.Storage", "storageAccounts")
			if err != nil {
				return nil, fail("destination.properties.resourceId: %v", err)
			}
			if p.QueueName == "" {
				return nil, fail("a StorageQueue destination needs properties.queueName")
			}
			sub.Destination, sub.Entity = push.StorageQueue, account+"/"+p.QueueName
			switch {
			case p.QueueMessageTTL == -1:
				sub.QueueMessageTTL = -1
			case p.QueueMessageTTL < 0:
				return nil, fail("queueMessageTimeToLiveInSeconds %d is neither -1 (never) nor positive", p.QueueMessageTTL)
			default:
				sub.QueueMessageTTL = time.Duration(p.QueueMessageTTL) * time.Second
			}
		case "eventhub", "hybridconnection", "azurefunction", "partnerdestination", "monitoralert", "namespacetopic":
			return nil, &apiError{status: 501, code: "NotImplemented", msg: fmt.Sprintf("subscription %s: destination endpointType %s is not implemented by Baton (WebHook, ServiceBusQueue, ServiceBusTopic and StorageQueue are)", es.Name, d.EndpointType)}
		default:
			return nil, fail("unknown destination endpointType %q", d.EndpointType)
		}
		sub.MaxEventsPerBatch = cmp.Or(p.MaxEventsPerBatch, sub.MaxEventsPerBatch)
		sub.PreferredBatchKB = cmp.Or(p.PreferredBatchKB, sub.PreferredBatchKB)
		for _, a := range p.DeliveryAttributeMappings {
			switch a.Type {
			case "Static":
				if sub.Headers == nil {
					sub.Headers = map[string]string{}
				}
				sub.Headers[a.Name] = a.Properties.Value
			case "Dynamic":
				if sub.DynamicHeaders == nil {
					sub.DynamicHeaders = map[string]string{}
				}
				sub.DynamicHeaders[a.Name] = a.Properties.SourceField
			default:
				return nil, fail("delivery attribute %q: type %q is not Static or Dynamic", a.Name, a.Type)
			}
		}
	}
	if r := es.RetryPolicy; r != nil {
		sub.MaxDeliveryAttempts = cmp.Or(r.MaxDeliveryAttempts, sub.MaxDeliveryAttempts)
		if r.EventTimeToLiveInMinutes != 0 {
			sub.EventTTL = time.Duration(r.EventTimeToLiveInMinutes) * time.Minute
		}
	}
	out, err := push.ParseSchema(es.EventDeliverySchema, 0)
	if err != nil {
		return nil, fail("%v", err)
	}
	if out == 0 && t.InputSchema != 0 {
		out = t.InputSchema
	}
	if err := push.CheckSchemas(t.InputSchema, out); err != nil {
		return nil, fail("%v", err)
	}
	sub.DeliverySchema = out
	var spec *push.FilterSpec
	if len(es.Filter) > 0 && string(es.Filter) != "null" {
		spec = new(push.FilterSpec)
		if err := json.Unmarshal(es.Filter, spec); err != nil {
			return nil, fail("filter: %v", err)
		}
	}
	if sub.Filter, err = push.CompileFilter(spec); err != nil {
		return nil, fail("%v", err)
	}
	return sub, nil
}

// resourceName reads an ARM resource id ".../providers/{provider}/{kind}/{name}"
// and returns kind and name; kinds lists the accepted kinds. A bare name
// (no '/') is taken as is, of the first kind.
func resourceName(id, provider string, kinds ...string) (kind, name string, err error) {
	if id == "" {
		return "", "", fmt.Errorf("empty")
	}
	if !strings.Contains(id, "/") {
		return kinds[0], id, nil
	}
	segs := strings.Split(strings.Trim(id, "/"), "/")
	for i := 0; i+1 < len(segs); i++ {
		if !strings.EqualFold(segs[i], "providers") {
			continue
		}
		rest := segs[i+1:]
		pp := strings.Split(provider, "/")
		if len(rest) < len(pp)+2 {
			break
		}
		ok := true
		for j, p := range pp {
			if !strings.EqualFold(rest[j], p) {
				ok = false
			}
		}
		if !ok {
			break
		}
		rest = rest[len(pp):]
		if len(pp) == 2 { // namespaces/{ns}/{kind}/{name}
			if len(rest) < 3 {
				break
			}
			rest = rest[1:]
		}
		for _, k := range kinds {
			if strings.EqualFold(rest[0], k) && len(rest) == 2 {
				n, err := url.PathUnescape(rest[1])
				if err != nil || n == "" {
					break
				}
				return k, n, nil
			}
		}
		break
	}
	return "", "", fmt.Errorf("%q is not a resource id of %s/{%s}", id, provider, strings.Join(kinds, "|"))
}

// compileNamespaceSubscription checks a namespace subscription declaration.
func compileNamespaceSubscription(topic string, s NamespaceSubscriptionSpec) (NamespaceSubscription, error) {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("eventgrid: namespace subscription %s/%s: %s", topic, s.Name, fmt.Sprintf(format, a...))
	}
	if err := validName(s.Name); err != nil {
		return NamespaceSubscription{}, fmt.Errorf("eventgrid: subscription of %q: %w", topic, err)
	}
	if dc := s.DeliveryConfiguration; dc != nil {
		if dc.DeliveryMode != "" && dc.DeliveryMode != "Queue" {
			if dc.DeliveryMode == "Push" {
				return NamespaceSubscription{}, &apiError{status: 501, code: "NotImplemented", msg: fmt.Sprintf("namespace subscription %s/%s: deliveryMode Push is not implemented by Baton (Queue is)", topic, s.Name)}
			}
			return NamespaceSubscription{}, fail("deliveryMode %q is not Queue", dc.DeliveryMode)
		}
		if q := dc.Queue; q != nil {
			s.ReceiveLockDurationInSeconds = cmp.Or(q.ReceiveLockDurationInSeconds, s.ReceiveLockDurationInSeconds)
			s.MaxDeliveryCount = cmp.Or(q.MaxDeliveryCount, s.MaxDeliveryCount)
			s.EventTimeToLive = cmp.Or(q.EventTimeToLive, s.EventTimeToLive)
		}
	}
	if s.EventDeliverySchema != "" && s.EventDeliverySchema != "CloudEventSchemaV1_0" {
		return NamespaceSubscription{}, fail("eventDeliverySchema must be CloudEventSchemaV1_0")
	}
	var spec *push.FilterSpec
	if len(s.FiltersConfiguration) > 0 && string(s.FiltersConfiguration) != "null" {
		spec = new(push.FilterSpec)
		if err := json.Unmarshal(s.FiltersConfiguration, spec); err != nil {
			return NamespaceSubscription{}, fail("filtersConfiguration: %v", err)
		}
	}
	filter, err := push.CompileFilter(spec)
	if err != nil {
		return NamespaceSubscription{}, fail("%v", err)
	}
	ns := NamespaceSubscription{Name: s.Name, Filter: filter, LockDuration: time.Duration(s.ReceiveLockDurationInSeconds) * time.Second,
		MaxDeliveryCount: s.MaxDeliveryCount, EventTimeToLive: time.Duration(s.EventTimeToLive)}
	if ns.LockDuration == 0 {
		ns.LockDuration = 60 * time.Second
	}
	if ns.MaxDeliveryCount == 0 {
		ns.MaxDeliveryCount = 10
	}
	if ns.EventTimeToLive == 0 {
		ns.EventTimeToLive = 7 * 24 * time.Hour
	}
	if ns.LockDuration < 60*time.Second || ns.LockDuration > 300*time.Second {
		return NamespaceSubscription{}, fail("receiveLockDurationInSeconds %v is not within 60–300 s", ns.LockDuration)
	}
	if ns.MaxDeliveryCount < 1 || ns.MaxDeliveryCount > 10 {
		return NamespaceSubscription{}, fail("maxDeliveryCount %d is not within 1–10", ns.MaxDeliveryCount)
	}
	if ns.EventTimeToLive < time.Minute {
		return NamespaceSubscription{}, fail("eventTimeToLive %v is shorter than PT1M", ns.EventTimeToLive)
	}
	return ns, nil
}

// validSubscriptionName checks an event subscription name: 3–64 letters,
// digits and hyphens.
func validSubscriptionName(n string) error { return checkName(n, 64) }
