package broker

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"maps"
	"time"
)

// MessageState is a message's state, numbered as Service Bus's
// x-opt-message-state annotation.
type MessageState int32

// Message states.
const (
	StateActive    MessageState = 0
	StateDeferred  MessageState = 1
	StateScheduled MessageState = 2
)

func (s MessageState) String() string {
	switch s {
	case StateActive:
		return "Active"
	case StateDeferred:
		return "Deferred"
	case StateScheduled:
		return "Scheduled"
	}
	return fmt.Sprintf("MessageState(%d)", int32(s))
}

// Format tells faces how a message's Body is encoded. The broker never
// interprets the body.
type Format uint8

// Body formats.
const (
	// FormatRaw: Body is the payload itself (JSON API, Storage Queue text).
	FormatRaw Format = iota
	// FormatAMQP: Body is the AMQP bare message (properties through footer)
	// exactly as the client sent it.
	FormatAMQP
)

// LockToken identifies one lock on one message or session: a UUID in RFC 4122
// byte order.
type LockToken [16]byte

// String formats the token as a canonical UUID.
func (t LockToken) String() string {
	var b [36]byte
	hex.Encode(b[0:8], t[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], t[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], t[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], t[8:10])
	b[23] = '-'
	hex.Encode(b[24:], t[10:])
	return string(b[:])
}

// IsZero reports whether t is the zero token.
func (t LockToken) IsZero() bool { return t == LockToken{} }

// ParseLockToken parses a canonical UUID string.
func ParseLockToken(s string) (LockToken, error) {
	var t LockToken
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return t, errorf(CodeInvalidArgument, "lock token %q is not a UUID", s)
	}
	var raw [32]byte
	copy(raw[0:8], s[0:8])
	copy(raw[8:12], s[9:13])
	copy(raw[12:16], s[14:18])
	copy(raw[16:20], s[19:23])
	copy(raw[20:32], s[24:36])
	if _, err := hex.Decode(t[:], raw[:]); err != nil {
		return LockToken{}, errorf(CodeInvalidArgument, "lock token %q is not a UUID", s)
	}
	return t, nil
}

// tokenSource makes lock tokens: a random 64-bit prefix chosen at start and
// a counter, formatted as a version-4 UUID. Unique within a process lifetime
// and across restarts (the prefix changes); cheap (no syscall per token).
type tokenSource struct {
	prefix uint64
	next   uint64 // guarded by Broker.tokenMu
}

func (s *tokenSource) newToken() LockToken {
	s.next++
	var t LockToken
	binary.BigEndian.PutUint64(t[0:8], s.prefix)
	binary.BigEndian.PutUint64(t[8:16], s.next)
	t[6] = t[6]&0x0f | 0x40 // version 4
	t[8] = t[8]&0x3f | 0x80 // RFC 4122 variant; the counter never reaches this byte
	return t
}

// Message is one message: the client's bytes, untouched, plus the fields the
// broker needs. Faces fill the sender fields; the broker fills the rest.
// Messages returned by the broker are copies the caller owns; Body and
// Properties may be shared and must not be modified.
type Message struct {
	// Set by the sender.
	MessageID            string
	SessionID            string
	PartitionKey         string
	CorrelationID        string
	Subject              string
	To                   string
	ReplyTo              string
	ReplyToSessionID     string
	ContentType          string
	TimeToLive           time.Duration // 0: the entity's default
	ScheduledEnqueueTime time.Time     // zero: enqueue now
	// Properties are application properties held by the broker beside the
	// body: every property for FormatRaw messages, and for FormatAMQP the
	// changes made by abandon/defer/dead-letter, which faces merge over the
	// body's own application-properties at delivery. Values are nil, bool,
	// string, []byte, time.Time, int8–int64, uint8–uint64, float32, float64.
	Properties map[string]any
	Format     Format
	Body       []byte
	// Annotations are sender-supplied message annotations, encoded by the
	// face that received them (for FormatAMQP: an AMQP map of the entries
	// the broker does not set itself, such as x-opt-via-partition-key or an
	// application's own). Opaque to the broker; faces re-emit them.
	Annotations []byte

	// Set by the broker.
	SequenceNumber        int64
	EnqueuedTime          time.Time
	ExpiresAt             time.Time // zero: never
	DeliveryCount         int32     // failed attempts so far (header.delivery-count)
	LockedUntil           time.Time
	LockToken             LockToken
	State                 MessageState
	DeadLettered          bool // the message is in the dead-letter sub-queue
	DeadLetterReason      string
	DeadLetterDescription string
	DeadLetterSource      string
	// BodyRef is the store's reference to the stored body; a store that
	// keeps bodies on disk sets it, and the broker may then drop Body from
	// memory and read it back through Store.ReadBody.
	BodyRef uint64
	// BodySize is len(Body) as sent.
	BodySize int64
	// TopicSeq is, for a copy a topic made for a subscription, the
	// sequence number the topic gave the send (0 otherwise).
	TopicSeq int64
	// SharedBody: the body is not the message's own but the one the topic
	// stored once for every copy (its entity is the topic, its sequence
	// number TopicSeq). Body is nil in the store's record.
	SharedBody bool

	// Storage queue messages only (KindStorageQueue; zero otherwise), set
	// by the broker and durable. A storage queue message's id is
	// MessageID, its dequeue count DeliveryCount.
	VisibleAt  time.Time // TimeNextVisible
	PopReceipt LockToken // the current pop receipt
}

// clone returns a shallow copy: Body and Properties are shared (they are
// replaced, never modified in place).
func (m *Message) clone() *Message {
	c := *m
	return &c
}

// mergeProperties returns a new map with upd applied over old.
func mergeProperties(old, upd map[string]any) map[string]any {
	if len(upd) == 0 {
		return old
	}
	out := make(map[string]any, len(old)+len(upd))
	maps.Copy(out, old)
	maps.Copy(out, upd)
	return out
}

// ValidatePropertyValue checks that application property k's value v has
// one of the types a Store can keep.
func ValidatePropertyValue(k string, v any) error { return validatePropertyValue(k, v) }

// validatePropertyValue checks that v has one of the types a Store can keep.
func validatePropertyValue(k string, v any) error {
	switch v.(type) {
	case nil, bool, string, []byte, time.Time,
		int8, int16, int32, int64, int, uint8, uint16, uint32, uint64,
		float32, float64, LockToken:
		return nil
	}
	return errorf(CodeInvalidArgument, "application property %q has unsupported type %T", k, v)
}

// Disposition is how a locked message is settled.
type Disposition int

// Dispositions.
const (
	Complete   Disposition = iota // delete the message
	Abandon                       // unlock; delivery count + 1
	Release                       // unlock without counting a delivery (AMQP released)
	Defer                         // unlock into the deferred state
	DeadLetter                    // move to the dead-letter sub-queue
)

func (d Disposition) String() string {
	return [...]string{"Complete", "Abandon", "Release", "Defer", "DeadLetter"}[d]
}

// Settlement describes a settlement. Properties are merged into the
// message's application properties (Abandon, Defer, DeadLetter).
type Settlement struct {
	Disposition           Disposition
	Properties            map[string]any
	DeadLetterReason      string
	DeadLetterDescription string
}

// ReceiveMode is PeekLock or ReceiveAndDelete.
type ReceiveMode int

// Receive modes.
const (
	PeekLock ReceiveMode = iota
	ReceiveAndDelete
)
