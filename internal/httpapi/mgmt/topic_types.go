package mgmt

import "time"

// TopicProperties are a topic's settings as sent to create (PUT) or update
// (PATCH) a topic. Every field is optional: on create a missing field takes
// Service Bus's default, on update it keeps the topic's current value. A
// topic has no lock, delivery count, sessions or forwarding of its own:
// those belong to its subscriptions.
type TopicProperties struct {
	DefaultMessageTimeToLive            *Duration `json:"defaultMessageTimeToLive,omitempty"`
	RequiresDuplicateDetection          *bool     `json:"requiresDuplicateDetection,omitempty"`
	DuplicateDetectionHistoryTimeWindow *Duration `json:"duplicateDetectionHistoryTimeWindow,omitempty"`
	MaxSizeInMegabytes                  *int64    `json:"maxSizeInMegabytes,omitempty"`
	MaxMessageSizeInKilobytes           *int64    `json:"maxMessageSizeInKilobytes,omitempty"`
	AutoDeleteOnIdle                    *Duration `json:"autoDeleteOnIdle,omitempty"`
	SupportOrdering                     *bool     `json:"supportOrdering,omitempty"`
	Status                              *string   `json:"status,omitempty"`
	UserMetadata                        *string   `json:"userMetadata,omitempty"`
}

// Topic is a topic's settings, counts and times, as returned by the API.
// A topic keeps no messages of its own: ScheduledMessageCount counts sends
// scheduled for later, which reach the subscriptions when they are due.
type Topic struct {
	Name                                string   `json:"name"`
	DefaultMessageTimeToLive            Duration `json:"defaultMessageTimeToLive"`
	RequiresDuplicateDetection          bool     `json:"requiresDuplicateDetection"`
	DuplicateDetectionHistoryTimeWindow Duration `json:"duplicateDetectionHistoryTimeWindow"`
	MaxSizeInMegabytes                  int64    `json:"maxSizeInMegabytes"`
	MaxMessageSizeInKilobytes           int64    `json:"maxMessageSizeInKilobytes"`
	AutoDeleteOnIdle                    Duration `json:"autoDeleteOnIdle"`
	SupportOrdering                     bool     `json:"supportOrdering"`
	Status                              string   `json:"status"`
	UserMetadata                        string   `json:"userMetadata"`

	SubscriptionCount     int       `json:"subscriptionCount"`
	ScheduledMessageCount int64     `json:"scheduledMessageCount"`
	SizeInBytes           int64     `json:"sizeInBytes"`
	CreatedAt             time.Time `json:"createdAt"`
	UpdatedAt             time.Time `json:"updatedAt"`
	AccessedAt            time.Time `json:"accessedAt"`
}

// TopicList is the answer to GET /api/v1/topics.
type TopicList struct {
	Topics []*Topic `json:"topics"`
}

// SubscriptionProperties are a subscription's settings as sent to create
// (PUT) or update (PATCH) it; missing fields take the defaults on create
// and keep their values on update. DefaultRule, on create only, replaces
// the $Default TrueFilter rule a new subscription gets (its name defaults
// to "$Default"); rules are changed afterwards through .../rules.
type SubscriptionProperties struct {
	LockDuration                              *Duration `json:"lockDuration,omitempty"`
	MaxDeliveryCount                          *int32    `json:"maxDeliveryCount,omitempty"`
	DefaultMessageTimeToLive                  *Duration `json:"defaultMessageTimeToLive,omitempty"`
	DeadLetteringOnMessageExpiration          *bool     `json:"deadLetteringOnMessageExpiration,omitempty"`
	DeadLetteringOnFilterEvaluationExceptions *bool     `json:"deadLetteringOnFilterEvaluationExceptions,omitempty"`
	RequiresSession                           *bool     `json:"requiresSession,omitempty"`
	AutoDeleteOnIdle                          *Duration `json:"autoDeleteOnIdle,omitempty"`
	ForwardTo                                 *string   `json:"forwardTo,omitempty"`
	ForwardDeadLetteredMessagesTo             *string   `json:"forwardDeadLetteredMessagesTo,omitempty"`
	Status                                    *string   `json:"status,omitempty"`
	UserMetadata                              *string   `json:"userMetadata,omitempty"`
	DefaultRule                               *Rule     `json:"defaultRule,omitempty"`
}

// Subscription is a subscription's settings, message counts and times.
// Path is the entity path ("topic/Subscriptions/sub") under which its
// messages are received: /api/v1/queues/{path} with the '/'s escaped, or
// /api/v1/topics/{topic}/subscriptions/{sub}/....
type Subscription struct {
	Name                                      string   `json:"name"`
	Topic                                     string   `json:"topic"`
	Path                                      string   `json:"path"`
	LockDuration                              Duration `json:"lockDuration"`
	MaxDeliveryCount                          int32    `json:"maxDeliveryCount"`
	DefaultMessageTimeToLive                  Duration `json:"defaultMessageTimeToLive"`
	DeadLetteringOnMessageExpiration          bool     `json:"deadLetteringOnMessageExpiration"`
	DeadLetteringOnFilterEvaluationExceptions bool     `json:"deadLetteringOnFilterEvaluationExceptions"`
	RequiresSession                           bool     `json:"requiresSession"`
	AutoDeleteOnIdle                          Duration `json:"autoDeleteOnIdle"`
	ForwardTo                                 string   `json:"forwardTo"`
	ForwardDeadLetteredMessagesTo             string   `json:"forwardDeadLetteredMessagesTo"`
	Status                                    string   `json:"status"`
	UserMetadata                              string   `json:"userMetadata"`

	ActiveMessageCount     int64     `json:"activeMessageCount"`
	ScheduledMessageCount  int64     `json:"scheduledMessageCount"`
	DeferredMessageCount   int64     `json:"deferredMessageCount"`
	DeadLetterMessageCount int64     `json:"deadLetterMessageCount"`
	SizeInBytes            int64     `json:"sizeInBytes"`
	CreatedAt              time.Time `json:"createdAt"`
	UpdatedAt              time.Time `json:"updatedAt"`
	AccessedAt             time.Time `json:"accessedAt"`
}

// SubscriptionList is the answer to GET .../subscriptions.
type SubscriptionList struct {
	Subscriptions []*Subscription `json:"subscriptions"`
}

// Filter types, as returned; requests may also say "sql", "correlation",
// "true" and "false" (any case).
const (
	FilterSQL         = "SqlFilter"
	FilterCorrelation = "CorrelationFilter"
	FilterTrue        = "TrueFilter"
	FilterFalse       = "FalseFilter"
)

// Rule is a subscription rule: a filter and an optional SQL action. Name is
// taken from the URL when it is missing from a request body (and must match
// it when given).
type Rule struct {
	Name      string      `json:"name,omitempty"`
	Filter    RuleFilter  `json:"filter"`
	Action    *RuleAction `json:"action,omitempty"`
	CreatedAt *time.Time  `json:"createdAt,omitempty"`
}

// RuleFilter is a rule's filter. Type is SqlFilter (SQLExpression and
// optional Parameters), CorrelationFilter (the system fields and
// Properties; at least one must be set; Label is accepted for Subject),
// TrueFilter or FalseFilter. Fields of another type than the one named are
// refused.
//
// Parameter and property values are JSON strings, numbers (integers are
// int64, others double), booleans or null, or a typed value
// {"type":"datetime","value":"2026-01-02T03:04:05Z"},
// {"type":"timespan","value":"PT1H"}, {"type":"double","value":1},
// {"type":"long","value":1}, {"type":"string","value":"1"} or
// {"type":"bool","value":true}. Answers use the typed form only where the
// plain one would read back as another type (a double with an integral
// value, a datetime, a timespan).
type RuleFilter struct {
	Type             string         `json:"type"`
	SQLExpression    string         `json:"sqlExpression,omitempty"`
	Parameters       map[string]any `json:"parameters,omitempty"`
	CorrelationID    string         `json:"correlationId,omitempty"`
	MessageID        string         `json:"messageId,omitempty"`
	To               string         `json:"to,omitempty"`
	ReplyTo          string         `json:"replyTo,omitempty"`
	Subject          string         `json:"subject,omitempty"`
	Label            string         `json:"label,omitempty"`
	SessionID        string         `json:"sessionId,omitempty"`
	ReplyToSessionID string         `json:"replyToSessionId,omitempty"`
	ContentType      string         `json:"contentType,omitempty"`
	Properties       map[string]any `json:"properties,omitempty"`
}

// RuleAction is a rule's SQL action (SET, REMOVE), applied to the copy a
// subscription gets.
type RuleAction struct {
	SQLExpression string         `json:"sqlExpression"`
	Parameters    map[string]any `json:"parameters,omitempty"`
}

// RuleList is the answer to GET .../rules.
type RuleList struct {
	Rules []*Rule `json:"rules"`
}

// TypedValue is the typed form of a parameter or property value.
type TypedValue struct {
	Type  string `json:"type"`
	Value any    `json:"value"`
}
