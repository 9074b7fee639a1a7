// Package pgstore is the broker.Store on PostgreSQL (`baton serve --store
// postgres://…`), with github.com/jackc/pgx/v5.
//
// # What it is, and what it is not
//
// The broker holds the authoritative state in memory; a Store makes each
// change durable before the broker acknowledges it and gives the whole
// state back at start. pgstore does exactly that on PostgreSQL, so one
// Baton node keeps its messages in a database that is backed up,
// replicated and failed over by PostgreSQL's own tools. It is not a
// multi-node engine: two nodes serving one store at once would each trust
// their own memory. Open therefore takes ownership of the store (a session
// advisory lock, and a fencing epoch that every write checks), so a second
// node fails to start while the first is alive, and a node that was
// replaced can no longer write. docs/scale-out.md says what a multi-node
// design needs.
//
// # Active/standby
//
// With Config.WaitOwner, Open waits for the owner lock for as long as its
// context allows (a standby node, `baton serve --standby`) and takes the
// store over the moment the owner's session ends. The owner publishes
// where its faces can be reached (Store.Publish, baton_owner.endpoints);
// an Observer reads it, so standby nodes can forward their clients to the
// owner; Store.Fenced reports that another node has taken over (owner.go).
//
// # Writes
//
// Submit encodes the group (blobs in codec.go) on the caller's goroutine
// and queues it. One writer goroutine takes every queued group, folds them
// in submission order into their net effect on each row, and writes that
// in one round trip: a pipelined pgx.Batch of set-based statements, run by
// PostgreSQL as one implicit transaction. done is called for each group,
// in order, after the commit — group commit, so concurrent senders share
// commits (batch.go). A failed batch fails all its groups and changes
// nothing; the next batch takes a fresh connection from the pool, so the
// store works again as soon as the database does.
//
// # Tables
//
// migrations/*.sql, embedded, applied at Open under an advisory lock
// (nodes starting together apply each once) and recorded in
// baton_schema_version: baton_entity (definition, highest sequence
// number), baton_message (fixed fields, settlement fields, body),
// baton_session, baton_dedup, baton_removed (removals whose rows are kept
// a few seconds for receive-and-delete body reads) and baton_owner (the
// fencing epoch and the owner's endpoints). Migrations 4 and 5 add tables
// the store does not use: baton_sq_queues, baton_sq_messages, baton_leases
// and baton_sq_service, where the multi-active Storage Queue engine (queuestorage/pgengine) keeps
// its state (PoolConfig and Migrate serve it). docs/format/pgstore.md
// documents tables and blobs.
//
// # Bodies
//
// By default the broker drops a body from memory once it is stored and
// reads it back with ReadBody on delivery; the store keeps the most
// recently written bodies (Config.BodyCacheBytes, 64 MiB) so that
// receivers that keep up need no query. Config.KeepBodies keeps every body
// in the broker's memory instead.
package pgstore
