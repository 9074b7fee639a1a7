// Package filestore is the durable broker.Store: every change is a record
// in a write-ahead log (internal/wal) in dir/wal, message bodies stay in the
// log and are read back by position, and the index of what is live is
// rebuilt from the log at start. The byte layout of the records and the
// recovery rules are in docs/format/filestore.md.
//
// # Write path
//
// Submit encodes each broker.Record as one log record (a compact, versioned
// binary encoding: codec.go) and hands the group to wal.Log.AppendAsync as
// one atomic group, without waiting: group commit happens in the log. The
// append's callback, which the log runs in log order on its completion
// goroutine, applies the group to the in-memory index and calls done. A
// failed append therefore changes nothing. In the default mode
// (wal.SyncAlways, "fsync") done is called after the group's fdatasync; in
// wal.SyncInterval ("buffered") after the write to the OS, the log syncing
// on a timer. Nothing is kept of the broker's *Message: what the index
// needs is copied out in Submit, while the broker still holds its lock.
// Submit does no I/O; it only waits if the log's queue holds more than
// wal.Config.MaxQueueBytes (64 MiB) not yet written (backpressure).
//
// # Index
//
// Per entity: its definition, its highest sequence number, and for every
// live message the position of the record holding its body (the enqueue)
// and of the record holding its latest broker fields (the latest update);
// per session the position of its latest state; per duplicate-detection
// entry its deadline and position. Message.BodyRef is the sequence number,
// not a position, so that ReadBody keeps working when compaction moves the
// message. Load hands the broker the messages decoded at replay and the
// store then keeps only positions: about 41 bytes per message, in pages of
// 32 consecutive sequence numbers (msgindex.go), so that replay and sends
// touch memory in order.
//
// # Garbage collection and compaction
//
// Every record the index still points at pins its segment (a reference
// count per segment). The prefix of segments that nothing pins is removed.
// While the log is more than CompactRatio times the live data (beyond two
// segments), the live items of the oldest segment are copied forward as
// fresh self-contained records (an enqueue with the message's current
// fields and body, an entity definition with its last sequence number, a
// session state, a duplicate-detection entry), after which that segment is
// unpinned and removed. Disk use therefore stays within CompactRatio times
// the live data plus a few segments. See compact.go for the ordering rule
// that keeps copies from resurrecting settled messages.
//
// The body of a removed message stays readable for
// Config.RemovedBodyGrace: the broker reads ReceiveAndDelete bodies after
// the removal is durable.
//
// # Recovery
//
// Open opens the log (which discards a torn tail and reports other damage
// as a *wal.CorruptionError with its segment and offset) and replays it,
// oldest record first, into the index. There are no checkpoints: replay
// reads the whole log, which compaction keeps within a small multiple of
// the live data; see docs/format/filestore.md for the measurements behind
// that choice.
//
// # Goroutines
//
// Open starts one maintenance goroutine (expiry, GC, compaction); Close
// stops it, waits for every submitted group and closes the log.
package filestore
