package broker

// Storage queues: Azure Queue Storage semantics on the broker's entities.
//
// A storage queue is an entity of KindStorageQueue. Its messages are the
// broker's Messages (so that every Store keeps them with the records it
// already has), read the Storage Queue way:
//
//	SQMessage      Message field
//	ID             MessageID (a UUID minted at Put)
//	Text           Body (FormatRaw)
//	InsertedAt     EnqueuedTime
//	ExpiresAt      ExpiresAt (zero: never)
//	VisibleAt      VisibleAt
//	DequeueCount   DeliveryCount
//	Receipt        PopReceipt (16 bytes; base64url without padding on the wire)
//
// Every field above is durable: a restart keeps dequeue counts, visibility
// times and pop receipts, so a receipt that was valid before a restart is
// valid after it.
//
// The entity's in-memory index (storagequeue_index.go) orders the idle
// messages by (VisibleAt, sequence number), which is the order Get and Peek
// serve (visible ⇔ VisibleAt ≤ now; a message made visible again queues up
// behind the ones already visible), and by ExpiresAt for the purge timer: one
// event in the broker's timer heap per entity, armed for the earliest expiry.
//
// Operations follow the engine's path (doc.go): under the entity's mutex the
// message is taken out of the index (busy) and its records are submitted;
// the mutex is released while the store makes them durable; then the change
// is applied, or undone when the write failed. A busy message is invisible
// to Get and Peek, and Delete and Update answer CodeMessageNotFound for it
// (the receipt they carry is being superseded). Expired messages are
// invisible to every operation; the timer and any operation that meets one
// purge it.

import (
	"context"
	"encoding/base64"
	"maps"
	"time"
)

// StorageQueues is the Storage Queue face of a Broker: the operations of
// Azure Queue Storage on entities of KindStorageQueue. Get it with
// Broker.StorageQueues. Entity names are keyed as given (the face checks
// Azure's naming rules and qualifies them, e.g. "account/queue");
// GetEntity, ListEntities(KindStorageQueue) and DeleteEntity work on them,
// and Counts.Active is the approximate message count.
type StorageQueues struct {
	b *Broker
}

// StorageQueues returns the broker's Storage Queue operations.
func (b *Broker) StorageQueues() *StorageQueues { return &StorageQueues{b: b} }

// SQMessage is a storage queue message as the operations return it.
// Text is shared with the broker and must not be modified.
type SQMessage struct {
	ID           string    // UUID assigned at Put (canonical lower-case form)
	Text         []byte    // the message text as stored (the face handles base64/XML)
	InsertedAt   time.Time // when Put made it
	ExpiresAt    time.Time // zero: never (ttl -1)
	VisibleAt    time.Time // TimeNextVisible
	DequeueCount int64     // how many times Get returned it
	Receipt      string    // current pop receipt (URL-safe base64, no padding); empty from Peek
}

// Storage queue defaults and bounds.
const (
	// SQDefaultTTL is the time to live of a message put with ttl 0.
	SQDefaultTTL = 7 * 24 * time.Hour
	// SQMaxVisibility bounds every visibility timeout (Azure: 604800 s).
	SQMaxVisibility = 7 * 24 * time.Hour
)

// sqNeverUnix is Azure's "never expires" instant, 9999-12-31T23:59:59Z;
// a later expiry is stored as zero (never).
const sqNeverUnix = 253402300799

// Create creates a storage queue with the given metadata (copied; empty is
// stored as nil). An existing entity of that name, of any kind, is
// CodeEntityExists; the face compares metadata for Azure's idempotency rule
// (GetEntity).
func (q *StorageQueues) Create(ctx context.Context, name string, metadata map[string]string) (*EntityInfo, error) {
	b := q.b
	b.runDue()
	if err := ValidateEntityName(name, b.limits.MaxNameLength); err != nil {
		return nil, err
	}
	now := b.clock.Now()
	return b.createEntity(Entity{Name: name, Kind: KindStorageQueue, Properties: DefaultQueueProperties(), CreatedAt: now, UpdatedAt: now, Metadata: sqMetadata(metadata)})
}

// SetMetadata replaces a storage queue's metadata as a whole (nil or empty
// clears it).
func (q *StorageQueues) SetMetadata(ctx context.Context, name string, metadata map[string]string) error {
	b := q.b
	e, err := q.entity(name)
	if err != nil {
		return err
	}
	e.mu.Lock()
	if err := e.existsLocked(); err != nil {
		e.mu.Unlock()
		return err
	}
	def := e.def
	def.Metadata = sqMetadata(metadata)
	def.UpdatedAt = b.clock.Now()
	e.lastActivity = def.UpdatedAt
	e.sq.defSubmitted++
	gen := e.sq.defSubmitted
	ch := b.submitLocked([]Record{{Kind: RecEntityPut, Entity: e.key, Def: &def}})
	e.mu.Unlock()
	if err := wait(ch); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	// The store applies definitions in submission order; callers may come
	// back in any order: keep the one submitted last.
	if gen > e.sq.defApplied {
		e.sq.defApplied = gen
		e.def = def
	}
	return nil
}

// entity resolves a storage queue by name, after running due timers.
func (q *StorageQueues) entity(name string) (*entity, error) {
	q.b.runDue()
	e, dlq, err := q.b.lookup(name)
	if err != nil {
		return nil, err
	}
	if dlq || e.sq == nil {
		return nil, errorf(CodeInvalidArgument, "entity %q is not a storage queue; storage queue operations do not apply to it", name)
	}
	return e, nil
}

// sqMetadata copies metadata; empty becomes nil.
func sqMetadata(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}

// sqMessageOf renders a message's state; receipt tells whether to include
// the pop receipt.
func sqMessageOf(m *Message, receipt bool) *SQMessage {
	out := &SQMessage{
		ID:           m.MessageID,
		Text:         m.Body,
		InsertedAt:   m.EnqueuedTime,
		ExpiresAt:    m.ExpiresAt,
		VisibleAt:    m.VisibleAt,
		DequeueCount: int64(m.DeliveryCount),
	}
	if receipt {
		out.Receipt = formatReceipt(m.PopReceipt)
	}
	return out
}

// sqExpiry is when a message put at now with ttl (> 0; negative: never)
// expires; zero means never, which is also what a ttl of MaxDuration/2 or
// more (as for Service Bus) or an expiry past Azure's last instant becomes.
func sqExpiry(now time.Time, ttl time.Duration) time.Time {
	if ttl < 0 || ttl >= MaxDuration/2 || now.Add(ttl).Unix() > sqNeverUnix {
		return time.Time{}
	}
	return now.Add(ttl)
}

// formatReceipt renders a pop receipt: URL-safe base64 without padding, so
// that clients that do not percent-encode '+' or '/' cannot corrupt it.
func formatReceipt(t LockToken) string { return base64.RawURLEncoding.EncodeToString(t[:]) }

// parseReceipt parses a pop receipt made by formatReceipt.
func parseReceipt(s string) (LockToken, error) {
	var t LockToken
	if base64.RawURLEncoding.DecodedLen(len(s)) != len(t) {
		return t, errorf(CodeInvalidArgument, "pop receipt %q is not one of ours", s)
	}
	n, err := base64.RawURLEncoding.Decode(t[:], []byte(s))
	if err != nil || n != len(t) || t.IsZero() || formatReceipt(t) != s {
		return LockToken{}, errorf(CodeInvalidArgument, "pop receipt %q is not one of ours", s)
	}
	return t, nil
}
