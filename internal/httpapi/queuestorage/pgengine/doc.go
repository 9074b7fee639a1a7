// Package pgengine is a Storage Queue Engine (queuestorage.Engine) whose
// state lives entirely in PostgreSQL, so that every Baton node serves
// Storage Queues directly and concurrently from the same tables
// (multi-active; issue #11).
//
// It bypasses the in-memory broker on purpose. The broker engine
// (queuestorage.NewBrokerEngine) keeps every queue in one process's memory,
// so only one node can serve it; here the store owns the state, nothing is
// cached, and a node that dies loses nothing and holds nothing the others
// need. The semantics are the broker's (internal/broker/storagequeue*.go),
// checked by the same contract suite (queuestorage/enginetest): the same
// error codes, ids, receipts, defaults and order.
//
// # Tables
//
// Migration 0004 of pgstore (docs/format/pgstore.md): baton_sq_queues (one
// row per queue: name, metadata), baton_sq_messages (one row per message:
// text, times, dequeue count, current receipt) and baton_leases.
//
// # Time
//
// Visibility and expiry are predicates on timestamps compared with "now",
// which each operation takes from its node's Clock and passes to the
// statement. The nodes' clocks must therefore agree (NTP), as Azure's own
// clients must; a node whose clock runs ahead shows messages early and
// expires them early. Timestamps are kept to the microsecond.
//
// # Concurrency
//
// Every operation is one statement (one round trip; no transaction spans
// two). Get claims messages with FOR UPDATE SKIP LOCKED and updates them in
// the same statement: a message claimed by one Get is invisible to every
// other until its visibility ends, whichever node asks. Delete and Update
// are conditional on the receipt still being current and the message not
// expired, so a stale receipt matches nothing.
//
// # Maintenance
//
// Expired messages are invisible to every operation at once; one goroutine
// per Engine deletes them in batches every SweepInterval, on the node that
// holds the "sq-sweep" lease (Lease), so one node sweeps at a time; a short
// overlap of two holders is harmless (SKIP LOCKED). The holder also
// vacuums the message table every VacuumInterval when it has many dead
// rows: each Get and Delete leaves dead entries at the head of the
// queue's index that later Gets walk past until a vacuum removes them,
// and autovacuum comes too rarely for a busy queue. Close releases the
// lease so another node takes the sweep over at its next tick.
//
// # Errors
//
// Errors carry broker codes (broker.CodeOf), as the face expects. A
// database that cannot be reached or fails a statement gives
// CodeStoreUnavailable wrapping the cause (the face answers 503
// ServerBusy); an operation never waits longer than its context and
// Config.OpTimeout.
package pgengine
