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
	DequeueCount int64     // messages returned by Get so far
	Receipt      string    // current pop receipt (URL-safe base64, no padding); empty from Peek
}

// Storage queue defaults and bounds.
const (
	// SQDefaultTTL is the time to live of a message put with ttl 0.
	SQDefaultTTL = 7 * 24 * time.Hour
	// SQMaxVisibility bounds every visibility timeout (Azure: 604800 s).
	SQMaxVisibility = 7 * 24 * time.Hour
)

// sqNever is Azure's "never expires" instant; a later expiry is stored as
// zero (never).
var sqNever = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// Create creates a storage queue with the given metadata (copied). An
// existing entity of that name, of any kind, is CodeEntityExists; the face
// compares metadata for Azure's idempotency rule (GetEntity).
func (q *StorageQueues) Create(ctx context.Context, name string, metadata map[string]string) (*EntityInfo, error) {
	return nil, errorf(CodeNotImplemented, "storage queues are not implemented yet")
}

// SetMetadata replaces a storage queue's metadata as a whole (nil or empty
// clears it).
func (q *StorageQueues) SetMetadata(ctx context.Context, name string, metadata map[string]string) error {
	return errorf(CodeNotImplemented, "storage queues are not implemented yet")
}

// Put adds a message with text (copied). It is hidden for visibility (0:
// visible at once) and expires after ttl (0: SQDefaultTTL; negative: never).
// It returns once the message is durable; the returned receipt is valid at
// once for Update and Delete.
func (q *StorageQueues) Put(ctx context.Context, name string, text []byte, visibility, ttl time.Duration) (*SQMessage, error) {
	return nil, errorf(CodeNotImplemented, "storage queues are not implemented yet")
}

// Get dequeues up to n visible messages (n ≤ 0: 1), in ascending VisibleAt,
// ties by insertion order. Atomically per message it adds one to
// DequeueCount, mints a new receipt (the previous one is no longer valid)
// and hides the message until now+visibility. The changes are durable
// (one store group per call) before Get returns. No visible message: an
// empty result.
func (q *StorageQueues) Get(ctx context.Context, name string, n int, visibility time.Duration) ([]*SQMessage, error) {
	return nil, errorf(CodeNotImplemented, "storage queues are not implemented yet")
}

// Peek returns up to n (≤ 0: 1) visible, unexpired messages in Get's order
// without changing anything; they carry no receipt.
func (q *StorageQueues) Peek(ctx context.Context, name string, n int) ([]*SQMessage, error) {
	return nil, errorf(CodeNotImplemented, "storage queues are not implemented yet")
}

// Delete deletes message id if receipt is its current receipt. An unknown
// id, a receipt that is not the current one and an expired message are
// CodeMessageNotFound; a receipt that is not one of ours is
// CodeInvalidArgument. A receipt stays valid after its visibility timeout
// lapses, until the message is dequeued again, updated, deleted or expires.
func (q *StorageQueues) Delete(ctx context.Context, name, id, receipt string) error {
	return errorf(CodeNotImplemented, "storage queues are not implemented yet")
}

// Update hides message id until now+visibility (0: visible now; never past
// its expiry) and mints a new receipt, checking receipt as Delete does.
// text, when not nil, replaces the message text (empty: blank it); nil
// keeps it. DequeueCount, InsertedAt and ExpiresAt do not change. The
// result carries the new receipt and VisibleAt, and Text only when it was
// replaced.
func (q *StorageQueues) Update(ctx context.Context, name, id, receipt string, visibility time.Duration, text []byte) (*SQMessage, error) {
	return nil, errorf(CodeNotImplemented, "storage queues are not implemented yet")
}

// Clear deletes every message of a storage queue, visible or not.
func (q *StorageQueues) Clear(ctx context.Context, name string) error {
	return errorf(CodeNotImplemented, "storage queues are not implemented yet")
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
