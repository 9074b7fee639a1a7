package queuestorage

import (
	"context"
	"time"
)

// Engine is what the face needs from the broker. Queue names are
// "<account>/<queue>". Errors carry broker codes (broker.CodeOf):
// CodeNotFound for a missing queue, CodeEntityExists from CreateQueue,
// CodeMessageNotFound for an unknown, stale or expired message or receipt,
// CodeInvalidArgument for a malformed receipt. NewBrokerEngine adapts a
// *broker.Broker.
type Engine interface {
	// CreateQueue creates a queue with metadata.
	CreateQueue(ctx context.Context, name string, metadata map[string]string) error
	// Queue returns one queue.
	Queue(ctx context.Context, name string) (*Queue, error)
	// Queues returns the queues whose names start with prefix, sorted.
	Queues(ctx context.Context, prefix string) ([]*Queue, error)
	// DeleteQueue deletes a queue and its messages.
	DeleteQueue(ctx context.Context, name string) error
	// UpdateMetadata replaces a queue's metadata with what update makes of
	// it, atomically: no other change of the metadata, on any node, comes
	// between the read and the write. update gets a map it may modify (nil
	// when there is no metadata) and must not keep it.
	UpdateMetadata(ctx context.Context, name string, update func(map[string]string) map[string]string) error
	// Put adds a message; ttl < 0 never expires. It must not keep text
	// after it returns: the handler reuses that memory.
	Put(ctx context.Context, name string, text []byte, visibility, ttl time.Duration) (*Message, error)
	// Get claims up to n visible messages for visibility.
	Get(ctx context.Context, name string, n int, visibility time.Duration) ([]*Message, error)
	// Peek returns up to n visible messages without changing them.
	Peek(ctx context.Context, name string, n int) ([]*Message, error)
	// DeleteMessage deletes a message given its current receipt.
	DeleteMessage(ctx context.Context, name, id, receipt string) error
	// Update hides a message for visibility and mints a new receipt; a nil
	// text keeps the message's text. Like Put, it must not keep text.
	Update(ctx context.Context, name, id, receipt string, visibility time.Duration, text []byte) (*Message, error)
	// Clear deletes every message of a queue.
	Clear(ctx context.Context, name string) error
}

// PropertiesKeeper is an Engine that also keeps the accounts' service
// properties (the document Set Queue Service Properties stores: CORS,
// logging and metrics settings), so that every node serving the engine's
// queues answers with the same ones. The face then caches an account's
// document for propsRefresh; without a keeper it keeps the documents in
// Config.StateDir.
type PropertiesKeeper interface {
	// ServiceProperties returns an account's stored document, or nil.
	ServiceProperties(ctx context.Context, account string) ([]byte, error)
	// UpdateServiceProperties replaces an account's document with what
	// update makes of the stored one (nil when there is none), atomically
	// across nodes.
	UpdateServiceProperties(ctx context.Context, account string, update func(old []byte) []byte) error
}

// Queue is a queue as the face sees it.
type Queue struct {
	Name     string            // "<account>/<queue>"
	Metadata map[string]string // includes reserved keys ("$acl")
	// ApproximateCount is the number of unexpired messages, visible or not.
	ApproximateCount int64
}

// Message is a storage-queue message.
type Message struct {
	ID           string
	Text         []byte
	InsertedAt   time.Time
	ExpiresAt    time.Time // zero or ≥ year 9999: never
	VisibleAt    time.Time
	DequeueCount int64
	Receipt      string
}
