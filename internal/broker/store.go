package broker

import (
	"context"
	"time"
)

// Store keeps the broker's state durable. The broker owns semantics and the
// in-memory index; the store owns bytes. It receives groups of records, each
// applied atomically, in the order they were submitted, and gives the whole
// state back at start.
//
// Rules every Store follows (the brokertest suite checks them):
//   - Submit never blocks on I/O and never calls into the broker; done is
//     called exactly once, from any goroutine, when the group is durable per
//     the store's mode or has failed (then none of it is applied).
//   - Groups are applied in submission order.
//   - An Update or Remove for a message the store does not hold is ignored.
//   - An Enqueue for a sequence number the store holds replaces that
//     message, body included (a storage queue's Update with new text).
//   - Load reports, per entity, the highest sequence number ever enqueued,
//     even when those messages are gone, and every duplicate-detection entry
//     whose DedupUntil is still ahead.
type Store interface {
	// Load returns the stored state. It is called once, before any Submit.
	Load(ctx context.Context) (*Snapshot, error)
	// Submit queues a group of records. See the rules above.
	Submit(recs []Record, done func(error))
	// ReadBody reads a message body the broker dropped from memory.
	ReadBody(ctx context.Context, entity string, ref uint64) ([]byte, error)
	// Close flushes and releases the store.
	Close() error
}

// RecordKind is the kind of a store record.
type RecordKind uint8

// Record kinds.
const (
	RecEntityPut    RecordKind = iota + 1 // create or replace an entity definition
	RecEntityDelete                       // delete an entity and everything in it
	RecEnqueue                            // add a message
	RecUpdate                             // change a message's broker fields
	RecRemove                             // delete a message
	RecSessionState                       // set (or clear, with nil) a session's state
)

// Record is one change to the stored state.
type Record struct {
	Kind   RecordKind
	Entity string // entity key (EntityKey of the name)

	Def *Entity // RecEntityPut

	// RecEnqueue: the message, with every broker field set. The store may
	// set Msg.BodyRef before calling done.
	Msg *Message
	// RecEnqueue: keep the message id for duplicate detection until then,
	// even after the message is gone. Zero: not remembered.
	DedupUntil time.Time

	Update *MessageUpdate // RecUpdate
	Seq    int64          // RecRemove

	SessionID    string    // RecSessionState
	SessionState []byte    // RecSessionState; nil clears
	SessionTime  time.Time // RecSessionState: when the state was set
}

// MessageUpdate carries the broker fields of a message that settlements and
// time change.
type MessageUpdate struct {
	Seq                   int64
	DeliveryCount         int32
	State                 MessageState
	DeadLettered          bool
	DeadLetterReason      string
	DeadLetterDescription string
	DeadLetterSource      string
	Properties            map[string]any
	// Storage queue messages only (zero otherwise).
	VisibleAt  time.Time
	PopReceipt LockToken
}

func updateOf(m *Message) *MessageUpdate {
	return &MessageUpdate{
		Seq:                   m.SequenceNumber,
		DeliveryCount:         m.DeliveryCount,
		State:                 m.State,
		DeadLettered:          m.DeadLettered,
		DeadLetterReason:      m.DeadLetterReason,
		DeadLetterDescription: m.DeadLetterDescription,
		DeadLetterSource:      m.DeadLetterSource,
		Properties:            m.Properties,
		VisibleAt:             m.VisibleAt,
		PopReceipt:            m.PopReceipt,
	}
}

// Apply applies u to m.
func (u *MessageUpdate) Apply(m *Message) {
	m.DeliveryCount = u.DeliveryCount
	m.State = u.State
	m.DeadLettered = u.DeadLettered
	m.DeadLetterReason = u.DeadLetterReason
	m.DeadLetterDescription = u.DeadLetterDescription
	m.DeadLetterSource = u.DeadLetterSource
	m.Properties = u.Properties
	m.VisibleAt = u.VisibleAt
	m.PopReceipt = u.PopReceipt
}

// Snapshot is the state a Store gives back at Load.
type Snapshot struct {
	Entities []*EntitySnapshot
}

// EntitySnapshot is one entity's stored state.
type EntitySnapshot struct {
	Def      Entity
	LastSeq  int64
	Messages []*Message // any order; Body may be nil when BodyRef is set
	Sessions []SessionSnapshot
	Dedup    map[string]time.Time // message id → remembered until
}

// SessionSnapshot is a stored session state.
type SessionSnapshot struct {
	ID        string
	State     []byte
	UpdatedAt time.Time
}
