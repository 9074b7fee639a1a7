// Package broker is Baton's messaging engine: namespaces of entities
// (queues, topics with subscriptions and rules, storage queues), the lifecycle of a
// message (send, peek-lock, complete, abandon, defer, dead-letter, schedule,
// renew, TTL, duplicate detection, sessions) and the Store seam underneath.
//
// The broker knows no protocol and no storage format. Faces (AMQP, HTTP) call
// its methods and map its typed errors (see Code) onto their own protocol;
// stores implement Store and are chosen by internal/server.
//
// # The path of one message
//
// Send validates the batch, then, under the entity's mutex, assigns sequence
// numbers, drops duplicates inside the detection window and submits one group
// of records to the Store. The mutex is released before waiting: the store's
// group commit makes the records durable and only then are the messages
// published — made visible to receivers, counted, and waiting receivers woken.
// Messages are published in sequence order even when group commits finish out
// of order, so peek never skips a sequence number it later shows.
//
// Settlements follow the same order: the entry is marked as settling under the
// mutex, the Remove/Update record is submitted, the caller waits for
// durability outside the mutex, and only then is the change final. A failed
// write puts the entry back as it was.
//
// Locks (peek-lock and session locks) live in memory only. After a restart,
// messages that were locked are available again with the delivery count they
// had; lock tokens from before the restart are unknown (lock lost). Storage
// queues are the exception: their pop receipts, visibility times and dequeue
// counts are durable (storagequeue.go), as Azure Queue Storage requires.
//
// # Topics and auto-forwarding
//
// A send to a topic evaluates each subscription's rules (compiled once with
// internal/filter) and enqueues the copies in one store group with one
// stored body that the copies share (topic.go). Auto-forwarding moves
// messages between entities atomically, one store group per move, without
// holding two entities' locks (forward.go).
//
// # Time
//
// All time comes from an injected clock.Clock. Lock expiry, scheduled
// activation, TTL expiry and session-lock expiry are entries in one min-heap per
// broker (timers.go), served by one goroutine and also run synchronously at the
// start of each operation, so that a fake clock gives deterministic results.
//
// # Lock order
//
// Broker.mu (entity map) → entity.mu → timerHeap.mu. The store's Submit is
// called with entity.mu held and must not call back into the broker. Code
// that holds several entities' locks at once takes them in entity key order
// (a topic's key sorts before its subscriptions' keys, so topic.mu →
// subscription.mu is that order): a transaction commit (txn.go) locks every
// entity it touches that way.
package broker
