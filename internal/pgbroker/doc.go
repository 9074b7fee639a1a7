// Package pgbroker is a Service Bus engine whose state lives only in
// PostgreSQL, so that several Baton nodes serve the same entities at once
// (`baton serve --shared-service-bus`): every node's AMQP face calls its own
// Engine, and the engines agree through the database alone.
//
// It implements broker.Engine for queues, topics and subscriptions with
// their rules (SQL and correlation filters, rule actions: broker.Router,
// the broker's own evaluation), sessions, scheduled and deferred messages,
// dead-letter sub-queues, duplicate detection, TTL and AMQP transactions
// (broker.Transactor: staged in memory, applied at commit as one
// PostgreSQL transaction, never held open across the client's round
// trips) and auto-forwarding (forward.go).
//
// How the nodes stay correct together:
//
//   - Every change is committed before it is answered (durability is
//     PostgreSQL's synchronous_commit). Sends and settlements go through
//     the node's writer (writer.go), which puts every such operation
//     submitted while its last transaction committed into the next one:
//     one commit for many operations (group commit).
//   - A topic send routes each message through the subscriptions' rules in
//     Go and, in the same transaction, inserts every subscription's copies
//     (each subscription numbers its own) and the body once
//     (baton_sb_bodies) for the copies no rule action changed; the lease
//     holder deletes a body once no copy refers to it.
//   - Sequence numbers come from a counter in the entity's row, taken by
//     the send's own UPDATE: gap-free, and they commit in order.
//   - A receive claims messages with FOR UPDATE SKIP LOCKED and sets a fresh
//     lock token and locked_until in the same statement. A lock is held
//     while locked_until is ahead — a predicate, so no node has to be alive
//     to end another's locks: a node that dies loses nothing, its locks
//     lapse. A message whose lock lapsed counts a failed delivery when it is
//     next claimed or looked at (below), and goes to the dead-letter
//     sub-queue at MaxDeliveryCount.
//   - A session is a row locked the same way (lock token, locked_until);
//     a session receive only claims while the session lock is held, so one
//     receiver at a time, on any node, takes a session's messages in order.
//   - A node that commits messages wakes its own waiting receivers and,
//     after the commit, announces the entity on the PostgreSQL channel
//     baton_sb (one NOTIFY per burst); every node LISTENs and wakes its
//     receivers. Waiting receivers also poll (Config.PollInterval), for
//     locks that lapse and announcements lost while a listener reconnects.
//   - Scheduled activation, lapsed locks, the TTL sweep and
//     duplicate-detection cleanup run on one node, the holder of the lease
//     row "sb-maintain" (pgstore.Lease), in SKIP LOCKED batches so that two
//     nodes overlapping for a moment only share the work. When the holder dies, its lease
//     lapses and another node takes the work over.
//
// It answers as the in-memory broker does (the tests run the same calls on
// both and compare), with these differences:
//
//   - A lapsed lock takes effect when something next looks: a receive of
//     the message, a peek, the counts, a receive of the dead-letter
//     sub-queue, ReceiveDeferred, or the lease holder's maintenance tick
//     (every MaintainInterval) — not at the instant it lapses. What they
//     see is what the broker shows: the failed delivery counted, or the
//     message dead-lettered at MaxDeliveryCount. As in the broker, a lapsed
//     lock counts nothing in the dead-letter sub-queue or in an entity with
//     sessions, where a message's lock is its session's (renewed with it,
//     ended by ReleaseSession or its lapse).
//   - AcceptSession without an id takes the session of the oldest
//     available message; the broker takes sessions in the order they
//     became available (a released session goes last).
//   - An entity's definition is cached for EntityTTL: an update or delete
//     on another node applies within it (a receive from a queue deleted
//     elsewhere finds nothing until then; a send notices at once).
//   - A topic's subscriptions (with their rules) are cached for EntityTTL
//     too: a subscription or rule made on another node routes this node's
//     sends within it.
//
// A message is in the dead-letter sub-queue when it has a dead-letter
// reason (dl_reason, maybe empty): state 3, or state 1 when it was
// deferred there.
//
// The tables are pgstore's migration 6 (docs/format/pgstore.md).
package pgbroker
