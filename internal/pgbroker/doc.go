// Package pgbroker is a Service Bus engine whose state lives only in
// PostgreSQL, so that several Baton nodes serve the same queues at once
// (`baton serve --shared-service-bus`): every node's AMQP face calls its own
// Engine, and the engines agree through the database alone.
//
// It implements broker.Engine for queues, with their sessions, scheduled
// and deferred messages, dead-letter sub-queues, duplicate detection and
// TTL. Topics, subscriptions, rules, auto-forwarding and transactions
// answer CodeNotImplemented (the faces turn that into amqp:not-implemented
// or HTTP 501).
//
// How the nodes stay correct together:
//
//   - Every operation is one statement or one short transaction, committed
//     before it is answered (durability is PostgreSQL's synchronous_commit).
//   - Sequence numbers come from a counter in the entity's row, taken by
//     the send's own UPDATE: gap-free, and they commit in order.
//   - A receive claims messages with FOR UPDATE SKIP LOCKED and sets a fresh
//     lock token and locked_until in the same statement. A lock is held
//     while locked_until is ahead — a predicate, so no node has to be alive
//     to end another's locks: a node that dies loses nothing, its locks
//     lapse. A message whose lock lapsed counts a failed delivery when it is
//     next claimed, and goes to the dead-letter sub-queue at
//     MaxDeliveryCount.
//   - A session is a row locked the same way (lock token, locked_until);
//     a session receive only claims while the session lock is held, so one
//     receiver at a time, on any node, takes a session's messages in order.
//   - A node that commits messages wakes its own waiting receivers and,
//     after the commit, announces the entity on the PostgreSQL channel
//     baton_sb (one NOTIFY per burst); every node LISTENs and wakes its
//     receivers. Waiting receivers also poll (Config.PollInterval), for
//     locks that lapse and announcements lost while a listener reconnects.
//   - Scheduled activation, the TTL sweep and duplicate-detection cleanup
//     run on one node, the holder of the lease row "sb-maintain"
//     (pgstore.Lease), in SKIP LOCKED batches so that two nodes overlapping
//     for a moment only share the work. When the holder dies, its lease
//     lapses and another node takes the work over.
//
// The tables are pgstore's migration 6 (docs/format/pgstore.md).
package pgbroker
