package broker

import (
	"strings"
	"time"
)

// Kind is the kind of an entity.
type Kind uint8

// Entity kinds. Topics and subscriptions reuse QueueProperties; a subscription
// is a queue fed by its topic.
const (
	KindQueue Kind = iota + 1
	KindTopic
	KindSubscription
	// KindStorageQueue is an Azure Storage queue (StorageQueues): its
	// messages have ids, pop receipts and visibility times instead of
	// sequence-number delivery and lock tokens.
	KindStorageQueue
)

func (k Kind) String() string {
	switch k {
	case KindQueue:
		return "queue"
	case KindTopic:
		return "topic"
	case KindSubscription:
		return "subscription"
	case KindStorageQueue:
		return "storagequeue"
	}
	return "unknown"
}

// Status is an entity's status, with Service Bus's names.
type Status string

// Entity statuses.
const (
	StatusActive          Status = "Active"
	StatusDisabled        Status = "Disabled"
	StatusSendDisabled    Status = "SendDisabled"
	StatusReceiveDisabled Status = "ReceiveDisabled"
)

// Limits bound what an entity may be configured to. Zero fields take the
// defaults of DefaultLimits, which are Azure Premium's limits or higher.
type Limits struct {
	MaxLockDuration       time.Duration // 5 min
	MinDuplicateWindow    time.Duration // 20 s
	MaxDuplicateWindow    time.Duration // 7 days
	MaxMessageSizeKB      int64         // 102400 (100 MB)
	MaxEntitySizeMB       int64         // 81920 (80 GB)
	MaxEntities           int           // 10000
	MaxNameLength         int           // 260
	MaxMessageIDLength    int           // 128
	MaxReceiveBatch       int           // 5000
	MaxPeekBatch          int           // 5000
	MaxSessionStateBytes  int64         // same as the entity's message size
	MaxDeliveryCountLimit int32         // 2147483647
	MaxSubscriptions      int           // per topic: 2000
	MaxRules              int           // per subscription: 2000
	MaxForwardHops        int           // auto-forward chain length: 4
}

// DefaultLimits returns the limits used when Config.Limits is zero.
func DefaultLimits() Limits {
	return Limits{
		MaxLockDuration:       5 * time.Minute,
		MinDuplicateWindow:    20 * time.Second,
		MaxDuplicateWindow:    7 * 24 * time.Hour,
		MaxMessageSizeKB:      100 * 1024,
		MaxEntitySizeMB:       80 * 1024,
		MaxEntities:           10000,
		MaxNameLength:         260,
		MaxMessageIDLength:    128,
		MaxReceiveBatch:       5000,
		MaxPeekBatch:          5000,
		MaxDeliveryCountLimit: 1<<31 - 1,
		MaxSubscriptions:      2000,
		MaxRules:              2000,
		MaxForwardHops:        4,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxLockDuration > 0 {
		d.MaxLockDuration = l.MaxLockDuration
	}
	if l.MinDuplicateWindow > 0 {
		d.MinDuplicateWindow = l.MinDuplicateWindow
	}
	if l.MaxDuplicateWindow > 0 {
		d.MaxDuplicateWindow = l.MaxDuplicateWindow
	}
	if l.MaxMessageSizeKB > 0 {
		d.MaxMessageSizeKB = l.MaxMessageSizeKB
	}
	if l.MaxEntitySizeMB > 0 {
		d.MaxEntitySizeMB = l.MaxEntitySizeMB
	}
	if l.MaxEntities > 0 {
		d.MaxEntities = l.MaxEntities
	}
	if l.MaxNameLength > 0 {
		d.MaxNameLength = l.MaxNameLength
	}
	if l.MaxMessageIDLength > 0 {
		d.MaxMessageIDLength = l.MaxMessageIDLength
	}
	if l.MaxReceiveBatch > 0 {
		d.MaxReceiveBatch = l.MaxReceiveBatch
	}
	if l.MaxPeekBatch > 0 {
		d.MaxPeekBatch = l.MaxPeekBatch
	}
	if l.MaxSessionStateBytes > 0 {
		d.MaxSessionStateBytes = l.MaxSessionStateBytes
	}
	if l.MaxDeliveryCountLimit > 0 {
		d.MaxDeliveryCountLimit = l.MaxDeliveryCountLimit
	}
	if l.MaxSubscriptions > 0 {
		d.MaxSubscriptions = l.MaxSubscriptions
	}
	if l.MaxRules > 0 {
		d.MaxRules = l.MaxRules
	}
	if l.MaxForwardHops > 0 {
		d.MaxForwardHops = l.MaxForwardHops
	}
	return d
}

// MaxDuration stands for "never" (TimeSpan.MaxValue in Service Bus) in TTL
// and auto-delete-on-idle.
const MaxDuration = time.Duration(1<<63 - 1)

// QueueProperties are a queue's settings, with Service Bus's names. Zero
// values take the defaults listed (see DefaultQueueProperties).
type QueueProperties struct {
	LockDuration                        time.Duration // 60 s; at most Limits.MaxLockDuration
	MaxDeliveryCount                    int32         // 10; at least 1
	DefaultMessageTimeToLive            time.Duration // MaxDuration (never expires)
	DeadLetteringOnMessageExpiration    bool
	RequiresDuplicateDetection          bool
	DuplicateDetectionHistoryTimeWindow time.Duration // 10 min; 20 s – 7 d
	RequiresSession                     bool
	MaxSizeInMegabytes                  int64 // 1024
	MaxMessageSizeInKilobytes           int64 // 256; up to Limits.MaxMessageSizeKB
	AutoDeleteOnIdle                    time.Duration
	ForwardTo                           string
	ForwardDeadLetteredMessagesTo       string
	Status                              Status // Active
	UserMetadata                        string
	EnableBatchedOperations             bool
	EnablePartitioning                  bool
	// Subscriptions: dead-letter a message whose rule evaluation fails
	// (instead of skipping the rule).
	DeadLetteringOnFilterEvaluationExceptions bool
	// Topics: Service Bus's SupportOrdering flag (kept and reported; the
	// broker always keeps order).
	SupportOrdering bool
}

// DefaultQueueProperties returns Service Bus's defaults for a new queue.
func DefaultQueueProperties() QueueProperties {
	return QueueProperties{
		LockDuration:                        60 * time.Second,
		MaxDeliveryCount:                    10,
		DefaultMessageTimeToLive:            MaxDuration,
		DuplicateDetectionHistoryTimeWindow: 10 * time.Minute,
		MaxSizeInMegabytes:                  1024,
		MaxMessageSizeInKilobytes:           256,
		AutoDeleteOnIdle:                    MaxDuration,
		Status:                              StatusActive,
	}
}

// WithDefaults fills zero fields from DefaultQueueProperties, as every
// create and update does.
func (p QueueProperties) WithDefaults() QueueProperties { return p.withDefaults() }

// withDefaults fills zero fields from DefaultQueueProperties.
func (p QueueProperties) withDefaults() QueueProperties {
	d := DefaultQueueProperties()
	if p.LockDuration == 0 {
		p.LockDuration = d.LockDuration
	}
	if p.MaxDeliveryCount == 0 {
		p.MaxDeliveryCount = d.MaxDeliveryCount
	}
	if p.DefaultMessageTimeToLive == 0 {
		p.DefaultMessageTimeToLive = d.DefaultMessageTimeToLive
	}
	if p.DuplicateDetectionHistoryTimeWindow == 0 {
		p.DuplicateDetectionHistoryTimeWindow = d.DuplicateDetectionHistoryTimeWindow
	}
	if p.MaxSizeInMegabytes == 0 {
		p.MaxSizeInMegabytes = d.MaxSizeInMegabytes
	}
	if p.MaxMessageSizeInKilobytes == 0 {
		p.MaxMessageSizeInKilobytes = d.MaxMessageSizeInKilobytes
	}
	if p.AutoDeleteOnIdle == 0 {
		p.AutoDeleteOnIdle = d.AutoDeleteOnIdle
	}
	if p.Status == "" {
		p.Status = d.Status
	}
	return p
}

func (p QueueProperties) validate(l Limits) error {
	switch {
	case p.LockDuration < time.Second || p.LockDuration > l.MaxLockDuration:
		return errorf(CodeInvalidArgument, "LockDuration %v out of range [1s, %v]", p.LockDuration, l.MaxLockDuration)
	case p.MaxDeliveryCount < 1 || p.MaxDeliveryCount > l.MaxDeliveryCountLimit:
		return errorf(CodeInvalidArgument, "MaxDeliveryCount %d out of range [1, %d]", p.MaxDeliveryCount, l.MaxDeliveryCountLimit)
	case p.DefaultMessageTimeToLive < time.Second:
		return errorf(CodeInvalidArgument, "DefaultMessageTimeToLive %v is shorter than 1s", p.DefaultMessageTimeToLive)
	case p.DuplicateDetectionHistoryTimeWindow < l.MinDuplicateWindow || p.DuplicateDetectionHistoryTimeWindow > l.MaxDuplicateWindow:
		return errorf(CodeInvalidArgument, "DuplicateDetectionHistoryTimeWindow %v out of range [%v, %v]",
			p.DuplicateDetectionHistoryTimeWindow, l.MinDuplicateWindow, l.MaxDuplicateWindow)
	case p.MaxSizeInMegabytes < 1 || p.MaxSizeInMegabytes > l.MaxEntitySizeMB:
		return errorf(CodeInvalidArgument, "MaxSizeInMegabytes %d out of range [1, %d]", p.MaxSizeInMegabytes, l.MaxEntitySizeMB)
	case p.MaxMessageSizeInKilobytes < 1 || p.MaxMessageSizeInKilobytes > l.MaxMessageSizeKB:
		return errorf(CodeInvalidArgument, "MaxMessageSizeInKilobytes %d out of range [1, %d]", p.MaxMessageSizeInKilobytes, l.MaxMessageSizeKB)
	case p.AutoDeleteOnIdle < 5*time.Minute:
		return errorf(CodeInvalidArgument, "AutoDeleteOnIdle %v is shorter than 5m", p.AutoDeleteOnIdle)
	case len(p.UserMetadata) > 1024:
		return errorf(CodeInvalidArgument, "UserMetadata is longer than 1024 characters")
	}
	switch p.Status {
	case StatusActive, StatusDisabled, StatusSendDisabled, StatusReceiveDisabled:
	default:
		return errorf(CodeInvalidArgument, "unknown Status %q", p.Status)
	}
	for _, f := range []string{p.ForwardTo, p.ForwardDeadLetteredMessagesTo} {
		if f != "" {
			if err := ValidateEntityName(f, l.MaxNameLength); err != nil {
				return err
			}
		}
	}
	return nil
}

// Entity is the durable definition of an entity.
type Entity struct {
	Name       string // as the user spelled it; lookups are case-insensitive
	Kind       Kind
	Properties QueueProperties
	CreatedAt  time.Time
	UpdatedAt  time.Time
	// Metadata is a storage queue's metadata (name → value, as the face
	// gives it); nil for other kinds. Replaced as a whole, never modified
	// in place.
	Metadata map[string]string
	// Rules are a subscription's rules, in the order they were added; nil
	// for other kinds. Replaced as a whole, never modified in place.
	Rules []Rule
}

// Key returns the case-folded name used as the entity's identity.
func (e *Entity) Key() string { return EntityKey(e.Name) }

// EntityKey folds a name to its identity: Service Bus names are
// case-insensitive.
func EntityKey(name string) string { return strings.ToLower(name) }

// DeadLetterSuffix names the dead-letter sub-queue of an entity path.
const DeadLetterSuffix = "$DeadLetterQueue"

// ValidateEntityName checks a queue or topic name against Azure's rules:
// 1–maxLen characters of letters, digits, '.', '-', '_', '~' (which the
// cloud accepts and MassTransit generates) and '/'; it must start
// and end with a letter or digit, and no segment may be empty or start with '$'.
func ValidateEntityName(name string, maxLen int) error {
	if maxLen <= 0 {
		maxLen = 260
	}
	if name == "" {
		return errorf(CodeInvalidArgument, "entity name is empty")
	}
	if len(name) > maxLen {
		return errorf(CodeInvalidArgument, "entity name %q is longer than %d characters", name, maxLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(isAlnum(c) || c == '.' || c == '-' || c == '_' || c == '/' || c == '~') {
			return errorf(CodeInvalidArgument, "entity name %q contains %q; only letters, digits, '.', '-', '_', '~' and '/' are allowed", name, c)
		}
	}
	if !isAlnum(name[0]) || !isAlnum(name[len(name)-1]) {
		return errorf(CodeInvalidArgument, "entity name %q must start and end with a letter or digit", name)
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return errorf(CodeInvalidArgument, "entity name %q contains an empty, '.' or '..' segment", name)
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// EntityInfo is an entity's definition plus its runtime properties.
type EntityInfo struct {
	Entity
	Counts
	AccessedAt time.Time
	// SubscriptionCount is a topic's number of subscriptions.
	SubscriptionCount int
}

// Counts are an entity's message counts, kept exactly as messages change
// state.
type Counts struct {
	Active       int64 // available or locked
	Scheduled    int64
	Deferred     int64
	DeadLettered int64
	SizeBytes    int64 // bodies of every message, dead-lettered included
}

// Total returns every message the entity holds.
func (c Counts) Total() int64 { return c.Active + c.Scheduled + c.Deferred + c.DeadLettered }
