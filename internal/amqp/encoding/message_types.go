package encoding

import (
	"fmt"
	"strconv"
	"time"
)

// Descriptor codes of the message sections (part 3, section 3.2).
const (
	SectionHeader              uint64 = 0x70
	SectionDeliveryAnnotations uint64 = 0x71
	SectionMessageAnnotations  uint64 = 0x72
	SectionProperties          uint64 = 0x73
	SectionApplicationProps    uint64 = 0x74
	SectionData                uint64 = 0x75
	SectionAMQPSequence        uint64 = 0x76
	SectionAMQPValue           uint64 = 0x77
	SectionFooter              uint64 = 0x78
)

// sectionCodeByName maps the symbolic section descriptors to their codes.
func sectionCodeByName(name []byte) (uint64, bool) {
	switch string(name) {
	case "amqp:header:list":
		return SectionHeader, true
	case "amqp:delivery-annotations:map":
		return SectionDeliveryAnnotations, true
	case "amqp:message-annotations:map":
		return SectionMessageAnnotations, true
	case "amqp:properties:list":
		return SectionProperties, true
	case "amqp:application-properties:map":
		return SectionApplicationProps, true
	case "amqp:data:binary":
		return SectionData, true
	case "amqp:amqp-sequence:list":
		return SectionAMQPSequence, true
	case "amqp:amqp-value:*":
		return SectionAMQPValue, true
	case "amqp:footer:map":
		return SectionFooter, true
	}
	return 0, false
}

// Well-known message annotation keys used by Service Bus.
const (
	AnnotationSequenceNumber        = "x-opt-sequence-number"
	AnnotationEnqueuedTime          = "x-opt-enqueued-time"
	AnnotationLockedUntil           = "x-opt-locked-until"
	AnnotationEnqueueSequenceNumber = "x-opt-enqueue-sequence-number"
	AnnotationScheduledEnqueueTime  = "x-opt-scheduled-enqueue-time"
	AnnotationPartitionKey          = "x-opt-partition-key"
	AnnotationViaPartitionKey       = "x-opt-via-partition-key"
	AnnotationDeadLetterSource      = "x-opt-deadletter-source"
	AnnotationMessageState          = "x-opt-message-state"
	// AnnotationLockToken is a delivery annotation (uuid).
	AnnotationLockToken = "x-opt-lock-token"
)

// DefaultPriority is the header priority when the field is absent.
const DefaultPriority = 4

// Header is the header section.
type Header struct {
	Durable bool
	// Priority defaults to DefaultPriority (4) when absent.
	Priority uint8
	// TTL is the time to live in milliseconds; it is present only when
	// HasTTL is set.
	TTL           uint32
	HasTTL        bool
	FirstAcquirer bool
	DeliveryCount uint32
}

// IDKind tells which AMQP type a message-id or correlation-id has.
type IDKind uint8

// Message-id types.
const (
	IDNone IDKind = iota
	IDString
	IDUlong
	IDUUID
	IDBinary
)

// MessageID is a message-id or correlation-id: a string, ulong, uuid or
// binary, or absent (Kind IDNone). The type is kept so it can be echoed
// exactly (correlation-id must have the request message-id's type).
type MessageID struct {
	Kind   IDKind
	Str    string
	Ulong  uint64
	UUID   UUID
	Binary []byte // may alias a decoded payload
}

// StringID returns a string message-id.
func StringID(s string) MessageID { return MessageID{Kind: IDString, Str: s} }

// IsZero reports whether the id is absent.
func (id MessageID) IsZero() bool { return id.Kind == IDNone }

// Value returns the id in the generic representation (nil when absent).
func (id MessageID) Value() any {
	switch id.Kind {
	case IDString:
		return id.Str
	case IDUlong:
		return id.Ulong
	case IDUUID:
		return id.UUID
	case IDBinary:
		return id.Binary
	}
	return nil
}

// String returns a text form of the id: the string itself, the decimal
// ulong, the canonical uuid, or the hex binary. Different kinds can produce
// the same text; use Key for an unambiguous key.
func (id MessageID) String() string {
	switch id.Kind {
	case IDString:
		return id.Str
	case IDUlong:
		return strconv.FormatUint(id.Ulong, 10)
	case IDUUID:
		return id.UUID.String()
	case IDBinary:
		return fmt.Sprintf("%x", id.Binary)
	}
	return ""
}

// Key returns a string that identifies the id including its type, for
// duplicate detection.
func (id MessageID) Key() string {
	if id.Kind == IDNone {
		return ""
	}
	return string(rune('0'+id.Kind)) + ":" + id.String()
}

// MessageIDFromValue converts a generic value (string, uint64, UUID, []byte
// or nil) into a MessageID.
func MessageIDFromValue(v any) (MessageID, error) {
	switch v := v.(type) {
	case nil:
		return MessageID{}, nil
	case string:
		return MessageID{Kind: IDString, Str: v}, nil
	case uint64:
		return MessageID{Kind: IDUlong, Ulong: v}, nil
	case UUID:
		return MessageID{Kind: IDUUID, UUID: v}, nil
	case []byte:
		return MessageID{Kind: IDBinary, Binary: v}, nil
	}
	return MessageID{}, fmt.Errorf("%w: message-id of type %T", ErrUnsupportedType, v)
}

// Properties is the properties section. Absent fields are zero values
// (empty strings, zero times, IDNone ids); GroupSequence is present only
// when HasGroupSequence is set.
type Properties struct {
	MessageID          MessageID
	UserID             []byte // may alias a decoded payload
	To                 string
	Subject            string
	ReplyTo            string
	CorrelationID      MessageID
	ContentType        Symbol
	ContentEncoding    Symbol
	AbsoluteExpiryTime time.Time
	CreationTime       time.Time
	GroupID            string
	GroupSequence      uint32
	HasGroupSequence   bool
	ReplyToGroupID     string
}

// BodyKind tells which body sections a message has.
type BodyKind uint8

// Body kinds.
const (
	BodyNone     BodyKind = iota // no body section (tolerated; some clients send none)
	BodyData                     // one or more data sections
	BodySequence                 // one or more amqp-sequence sections
	BodyValue                    // one amqp-value section
)
