package filter

import "strings"

// SysProp names a system (broker) property of a message, addressed in filter
// text with the sys. prefix.
type SysProp uint8

// The system properties filters and actions can address. The names follow
// the BrokeredMessage/ServiceBusMessage public properties that Service Bus
// exposes to SQL filters.
const (
	SysInvalid SysProp = iota
	SysMessageID
	SysCorrelationID
	SysTo
	SysReplyTo
	SysLabel // also addressed as sys.Subject
	SysSessionID
	SysReplyToSessionID
	SysContentType
	SysPartitionKey
	SysViaPartitionKey // also addressed as sys.TransactionPartitionKey
	SysSequenceNumber
	SysEnqueuedSequenceNumber
	SysEnqueuedTimeUtc
	SysScheduledEnqueueTimeUtc
	SysExpiresAtUtc
	SysLockedUntilUtc
	SysDeliveryCount
	SysTimeToLive
	SysSize
	SysLockToken
	SysDeadLetterSource
	SysState
	SysForcePersistence
	numSysProps
)

type sysInfo struct {
	name     string // canonical name, as written after sys.
	kind     Kind   // the kind the broker reports and an action must store
	writable bool   // whether a rule action may SET or REMOVE it
}

// sysTable describes every SysProp. It is a constant table.
var sysTable = [numSysProps]sysInfo{
	SysInvalid:                 {"", KindNull, false},
	SysMessageID:               {"MessageId", KindString, true},
	SysCorrelationID:           {"CorrelationId", KindString, true},
	SysTo:                      {"To", KindString, true},
	SysReplyTo:                 {"ReplyTo", KindString, true},
	SysLabel:                   {"Label", KindString, true},
	SysSessionID:               {"SessionId", KindString, true},
	SysReplyToSessionID:        {"ReplyToSessionId", KindString, true},
	SysContentType:             {"ContentType", KindString, true},
	SysPartitionKey:            {"PartitionKey", KindString, true},
	SysViaPartitionKey:         {"ViaPartitionKey", KindString, true},
	SysSequenceNumber:          {"SequenceNumber", KindInt, false},
	SysEnqueuedSequenceNumber:  {"EnqueuedSequenceNumber", KindInt, false},
	SysEnqueuedTimeUtc:         {"EnqueuedTimeUtc", KindTime, false},
	SysScheduledEnqueueTimeUtc: {"ScheduledEnqueueTimeUtc", KindTime, true},
	SysExpiresAtUtc:            {"ExpiresAtUtc", KindTime, false},
	SysLockedUntilUtc:          {"LockedUntilUtc", KindTime, false},
	SysDeliveryCount:           {"DeliveryCount", KindInt, false},
	SysTimeToLive:              {"TimeToLive", KindDuration, true},
	SysSize:                    {"Size", KindInt, false},
	SysLockToken:               {"LockToken", KindString, false},
	SysDeadLetterSource:        {"DeadLetterSource", KindString, false},
	SysState:                   {"State", KindString, false},
	SysForcePersistence:        {"ForcePersistence", KindBool, true},
}

// sysAliases maps the newer ServiceBusMessage names onto the properties.
var sysAliases = map[string]SysProp{
	"subject":                 SysLabel,
	"transactionpartitionkey": SysViaPartitionKey,
	"enqueuedtime":            SysEnqueuedTimeUtc,
	"scheduledenqueuetime":    SysScheduledEnqueueTimeUtc,
	"expiresat":               SysExpiresAtUtc,
	"lockeduntil":             SysLockedUntilUtc,
}

// LookupSysProp finds a system property by name, case-insensitively, with or
// without the "sys." prefix. It accepts the canonical names (MessageId, Label,
// EnqueuedTimeUtc, …) and the ServiceBusMessage aliases (Subject,
// EnqueuedTime, ScheduledEnqueueTime, ExpiresAt, LockedUntil,
// TransactionPartitionKey).
func LookupSysProp(name string) (SysProp, bool) {
	if len(name) > 4 && strings.EqualFold(name[:4], "sys.") {
		name = name[4:]
	}
	for p := SysProp(1); p < numSysProps; p++ {
		if strings.EqualFold(sysTable[p].name, name) {
			return p, true
		}
	}
	if p, ok := sysAliases[strings.ToLower(name)]; ok {
		return p, true
	}
	return SysInvalid, false
}

// String returns the canonical property name without the sys. prefix.
func (p SysProp) String() string {
	if p < numSysProps && p != SysInvalid {
		return sysTable[p].name
	}
	return "SysProp(invalid)"
}

// Kind returns the kind of Value the broker reports for p.
func (p SysProp) Kind() Kind {
	if p < numSysProps {
		return sysTable[p].kind
	}
	return KindNull
}

// Writable reports whether a rule action may SET or REMOVE p.
func (p SysProp) Writable() bool { return p < numSysProps && sysTable[p].writable }

// Message is the read-only view of a message that filters evaluate. The
// broker implements it over its own message type.
//
// Implementations must not allocate on these calls if filter evaluation is to
// stay allocation-free.
type Message interface {
	// System returns a system property. ok is false when the property is not
	// set on this message (for example no CorrelationId); filters then treat it
	// as NULL. Times are KindTime in UTC, TimeToLive is KindDuration, counts
	// and sequence numbers are KindInt, LockToken is the GUID as a string.
	System(p SysProp) (v Value, ok bool)
	// Property returns an application (user) property. Service Bus treats
	// property names case-insensitively: an implementation should return an
	// exact match if there is one, and otherwise a match under
	// strings.EqualFold. Integer widths map to KindInt, float32/float64 to
	// KindFloat, timestamps to KindTime; other AMQP types (uuid, binary, …)
	// may be mapped to KindString or reported as absent.
	Property(name string) (v Value, ok bool)
}

// MutableMessage is a message copy that a rule action may change.
type MutableMessage interface {
	Message
	// SetSystem stores a system property. v is null (meaning "clear") or of
	// p.Kind(). The action checks both before calling.
	SetSystem(p SysProp, v Value) error
	// SetProperty creates or replaces an application property. If a property
	// with the same name under strings.EqualFold exists, it should be replaced.
	SetProperty(name string, v Value) error
	// RemoveProperty deletes an application property; removing a missing
	// property is not an error.
	RemoveProperty(name string) error
}
