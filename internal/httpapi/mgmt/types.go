package mgmt

import (
	"encoding/base64"
	"time"
	"unicode/utf8"
)

// QueueProperties are a queue's settings as sent to create (PUT) or update
// (PATCH) a queue. Every field is optional: on create a missing field takes
// Service Bus's default, on update it keeps the queue's current value.
type QueueProperties struct {
	LockDuration                        *Duration `json:"lockDuration,omitempty"`
	MaxDeliveryCount                    *int32    `json:"maxDeliveryCount,omitempty"`
	DefaultMessageTimeToLive            *Duration `json:"defaultMessageTimeToLive,omitempty"`
	DeadLetteringOnMessageExpiration    *bool     `json:"deadLetteringOnMessageExpiration,omitempty"`
	RequiresDuplicateDetection          *bool     `json:"requiresDuplicateDetection,omitempty"`
	DuplicateDetectionHistoryTimeWindow *Duration `json:"duplicateDetectionHistoryTimeWindow,omitempty"`
	RequiresSession                     *bool     `json:"requiresSession,omitempty"`
	MaxSizeInMegabytes                  *int64    `json:"maxSizeInMegabytes,omitempty"`
	MaxMessageSizeInKilobytes           *int64    `json:"maxMessageSizeInKilobytes,omitempty"`
	AutoDeleteOnIdle                    *Duration `json:"autoDeleteOnIdle,omitempty"`
	ForwardTo                           *string   `json:"forwardTo,omitempty"`
	ForwardDeadLetteredMessagesTo       *string   `json:"forwardDeadLetteredMessagesTo,omitempty"`
	Status                              *string   `json:"status,omitempty"`
	UserMetadata                        *string   `json:"userMetadata,omitempty"`
}

// Queue is a queue's settings, message counts and times, as returned by the
// API.
type Queue struct {
	Name                                string   `json:"name"`
	LockDuration                        Duration `json:"lockDuration"`
	MaxDeliveryCount                    int32    `json:"maxDeliveryCount"`
	DefaultMessageTimeToLive            Duration `json:"defaultMessageTimeToLive"`
	DeadLetteringOnMessageExpiration    bool     `json:"deadLetteringOnMessageExpiration"`
	RequiresDuplicateDetection          bool     `json:"requiresDuplicateDetection"`
	DuplicateDetectionHistoryTimeWindow Duration `json:"duplicateDetectionHistoryTimeWindow"`
	RequiresSession                     bool     `json:"requiresSession"`
	MaxSizeInMegabytes                  int64    `json:"maxSizeInMegabytes"`
	MaxMessageSizeInKilobytes           int64    `json:"maxMessageSizeInKilobytes"`
	AutoDeleteOnIdle                    Duration `json:"autoDeleteOnIdle"`
	ForwardTo                           string   `json:"forwardTo"`
	ForwardDeadLetteredMessagesTo       string   `json:"forwardDeadLetteredMessagesTo"`
	Status                              string   `json:"status"`
	UserMetadata                        string   `json:"userMetadata"`

	ActiveMessageCount     int64     `json:"activeMessageCount"`
	ScheduledMessageCount  int64     `json:"scheduledMessageCount"`
	DeferredMessageCount   int64     `json:"deferredMessageCount"`
	DeadLetterMessageCount int64     `json:"deadLetterMessageCount"`
	SizeInBytes            int64     `json:"sizeInBytes"`
	CreatedAt              time.Time `json:"createdAt"`
	UpdatedAt              time.Time `json:"updatedAt"`
	AccessedAt             time.Time `json:"accessedAt"`
}

// QueueList is the answer to GET /api/v1/queues.
type QueueList struct {
	Queues []*Queue `json:"queues"`
}

// SendMessage is one message to send. Body is text; BodyBase64 carries
// binary bodies; at most one of them is set (neither: an empty body).
// Property values are strings, numbers (integers become int64, others
// float64), booleans or null.
type SendMessage struct {
	Body                 *string        `json:"body,omitempty"`
	BodyBase64           string         `json:"bodyBase64,omitempty"`
	MessageID            string         `json:"messageId,omitempty"`
	SessionID            string         `json:"sessionId,omitempty"`
	CorrelationID        string         `json:"correlationId,omitempty"`
	Subject              string         `json:"subject,omitempty"`
	To                   string         `json:"to,omitempty"`
	ReplyTo              string         `json:"replyTo,omitempty"`
	ReplyToSessionID     string         `json:"replyToSessionId,omitempty"`
	ContentType          string         `json:"contentType,omitempty"`
	PartitionKey         string         `json:"partitionKey,omitempty"`
	TimeToLive           *Duration      `json:"timeToLive,omitempty"`
	ScheduledEnqueueTime *time.Time     `json:"scheduledEnqueueTime,omitempty"`
	Properties           map[string]any `json:"properties,omitempty"`
}

// TextMessage returns a SendMessage with a text body.
func TextMessage(body string) SendMessage { return SendMessage{Body: &body} }

// SendRequest is the body of POST .../messages.
type SendRequest struct {
	Messages []SendMessage `json:"messages"`
}

// SendResult is the answer to a send: one sequence number per message, in
// order; 0 for a message dropped by duplicate detection.
type SendResult struct {
	SequenceNumbers []int64 `json:"sequenceNumbers"`
}

// Message is a message as returned by peek and receive. Body holds the body
// when it is valid UTF-8, BodyBase64 otherwise. Format is "amqp" when the
// message was sent over AMQP: the body is then its data section (or
// string/binary amqp-value), and Properties its application-properties; a
// body of any other shape is the whole AMQP bare message in BodyBase64.
type Message struct {
	Body                  *string        `json:"body,omitempty"`
	BodyBase64            string         `json:"bodyBase64,omitempty"`
	Format                string         `json:"format,omitempty"`
	MessageID             string         `json:"messageId,omitempty"`
	SessionID             string         `json:"sessionId,omitempty"`
	CorrelationID         string         `json:"correlationId,omitempty"`
	Subject               string         `json:"subject,omitempty"`
	To                    string         `json:"to,omitempty"`
	ReplyTo               string         `json:"replyTo,omitempty"`
	ReplyToSessionID      string         `json:"replyToSessionId,omitempty"`
	ContentType           string         `json:"contentType,omitempty"`
	PartitionKey          string         `json:"partitionKey,omitempty"`
	TimeToLive            *Duration      `json:"timeToLive,omitempty"`
	ScheduledEnqueueTime  *time.Time     `json:"scheduledEnqueueTime,omitempty"`
	Properties            map[string]any `json:"properties,omitempty"`
	SequenceNumber        int64          `json:"sequenceNumber"`
	EnqueuedTime          time.Time      `json:"enqueuedTime"`
	ExpiresAt             *time.Time     `json:"expiresAt,omitempty"`
	DeliveryCount         int32          `json:"deliveryCount"`
	LockToken             string         `json:"lockToken,omitempty"`
	LockedUntil           *time.Time     `json:"lockedUntil,omitempty"`
	State                 string         `json:"state"`
	DeadLettered          bool           `json:"deadLettered,omitempty"`
	DeadLetterReason      string         `json:"deadLetterReason,omitempty"`
	DeadLetterDescription string         `json:"deadLetterDescription,omitempty"`
	DeadLetterSource      string         `json:"deadLetterSource,omitempty"`
}

// BodyBytes returns the message body, decoding BodyBase64 if needed.
func (m *Message) BodyBytes() ([]byte, error) {
	if m.Body != nil {
		return []byte(*m.Body), nil
	}
	return base64.StdEncoding.DecodeString(m.BodyBase64)
}

// MessageList is the answer to peek, receive and receive-deferred.
type MessageList struct {
	Messages []*Message `json:"messages"`
}

// Receive modes, as spelled in requests.
const (
	ModePeekLock         = "peeklock"
	ModeReceiveAndDelete = "receiveanddelete"
)

// ReceiveRequest is the body of POST .../receive. Mode is "peeklock"
// (default) or "receiveanddelete"; Max defaults to 1; Wait (default 0: do
// not wait) is at most MaxWait. A session queue is received from with the
// session's id and lock token (see AcceptSession).
type ReceiveRequest struct {
	Mode             string    `json:"mode,omitempty"`
	Max              int       `json:"max,omitempty"`
	Wait             *Duration `json:"wait,omitempty"`
	DLQ              bool      `json:"dlq,omitempty"`
	SessionID        string    `json:"sessionId,omitempty"`
	SessionLockToken string    `json:"sessionLockToken,omitempty"`
}

// MaxWait bounds how long one request may wait for messages or a session.
const MaxWait = 5 * time.Minute

// Dispositions, as spelled in SettleRequest.
const (
	DispositionComplete   = "complete"
	DispositionAbandon    = "abandon"
	DispositionRelease    = "release"
	DispositionDefer      = "defer"
	DispositionDeadLetter = "deadletter"
)

// SettleRequest is the body of POST .../settle. Reason and Description are
// the dead-letter reason and description; Properties are merged into the
// message's application properties (abandon, defer, deadletter). DLQ says
// the lock was taken on the dead-letter sub-queue.
type SettleRequest struct {
	LockToken   string         `json:"lockToken"`
	Disposition string         `json:"disposition"`
	Reason      string         `json:"reason,omitempty"`
	Description string         `json:"description,omitempty"`
	Properties  map[string]any `json:"properties,omitempty"`
	DLQ         bool           `json:"dlq,omitempty"`
}

// RenewRequest is the body of POST .../renew.
type RenewRequest struct {
	LockTokens []string `json:"lockTokens"`
	DLQ        bool     `json:"dlq,omitempty"`
}

// RenewResult is the answer to a renew: the new expiry of each lock.
type RenewResult struct {
	LockedUntil []time.Time `json:"lockedUntil"`
}

// DeferredRequest is the body of POST .../deferred: receive deferred
// messages by sequence number.
type DeferredRequest struct {
	SequenceNumbers  []int64 `json:"sequenceNumbers"`
	Mode             string  `json:"mode,omitempty"`
	DLQ              bool    `json:"dlq,omitempty"`
	SessionID        string  `json:"sessionId,omitempty"`
	SessionLockToken string  `json:"sessionLockToken,omitempty"`
}

// CancelScheduledRequest is the body of POST .../cancel-scheduled.
type CancelScheduledRequest struct {
	SequenceNumbers []int64 `json:"sequenceNumbers"`
}

// ResubmitRequest is the body of POST .../dlq/resubmit. Max 0 means every
// message the dead-letter sub-queue holds when the request starts.
type ResubmitRequest struct {
	Max int `json:"max,omitempty"`
}

// ResubmitResult is the answer to a resubmit. Skipped counts messages whose
// copy was dropped by duplicate detection; they stay dead-lettered.
type ResubmitResult struct {
	Resubmitted int `json:"resubmitted"`
	Skipped     int `json:"skipped,omitempty"`
}

// AcceptSessionRequest is the body of POST .../sessions/accept. An empty
// SessionID takes the next session with available messages, waiting up to
// Wait.
type AcceptSessionRequest struct {
	SessionID string    `json:"sessionId,omitempty"`
	Wait      *Duration `json:"wait,omitempty"`
}

// SessionLock is a held session lock.
type SessionLock struct {
	SessionID   string    `json:"sessionId"`
	LockToken   string    `json:"lockToken"`
	LockedUntil time.Time `json:"lockedUntil"`
}

// SessionLockRequest is the body of session renew and release.
type SessionLockRequest struct {
	LockToken string `json:"lockToken"`
}

// SessionState is a session's state: State when it is valid UTF-8,
// StateBase64 otherwise, neither when none is set. LockToken is the session
// lock (required on PUT; on GET it may come as a query parameter instead).
type SessionState struct {
	LockToken   string  `json:"lockToken,omitempty"`
	State       *string `json:"state,omitempty"`
	StateBase64 string  `json:"stateBase64,omitempty"`
}

// SessionList is the answer to GET .../sessions.
type SessionList struct {
	Sessions []string `json:"sessions"`
}

// ErrorBody is the shape of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the error in an ErrorBody.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// textOrBase64 splits b into text (valid UTF-8) or base64.
func textOrBase64(b []byte) (*string, string) {
	if utf8.Valid(b) {
		s := string(b)
		return &s, ""
	}
	return nil, base64.StdEncoding.EncodeToString(b)
}
