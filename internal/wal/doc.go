// Package wal is Baton's write-ahead log: a segmented, append-only log of
// checksummed records with group commit, recovery and typed corruption
// errors. It sits on a vfs.FS and imports only the standard library, vfs and
// clock. The byte layout is documented in docs/format/wal.md.
//
// # Usage
//
//	l, err := wal.Open(vfs.OS{}, dir, wal.Config{})   // recovers the log
//	err = l.Replay(func(pos wal.Pos, rec []byte) error { ... })  // rebuild state
//	pos, err := l.Append(ctx, rec)                        // durable when it returns
//	body, err := l.ReadAt(pos)                            // read a record back
//	n, err := l.RemoveSegmentsBefore(id)                  // drop settled segments
//	err = l.Close()
//
// # Records, groups and positions
//
// A record is an opaque byte slice. The records passed to one append call
// form a group: they are written contiguously in one segment and recovery
// delivers the whole group or none of it, so a caller can make a multi-record
// change atomic by appending it in one call. A Pos names a record by segment
// id and byte offset; positions grow in log order and stay valid until the
// segment is removed.
//
// # Segments
//
// The log is a directory of segment files named by a 16-hex-digit id
// (0000000000000001.wal, ...). Each is preallocated to Config.SegmentSize
// (64 MiB by default) with fallocate, so appends do not grow the file and
// fdatasync has no size change to flush. A segment starts with a 40-byte
// header holding its id and the exact end of the valid data of the segment
// before it. Appending continues in the last segment; a group that does not
// fit in what is left starts the next segment. The next segment's file is
// prepared ahead of need by a background goroutine (created as
// XXXXXXXXXXXXXXXX.prep, preallocated and synced), so rotation only syncs
// the old segment, writes and syncs the new header, renames the file to its
// segment name and syncs the directory, all before anything is acknowledged
// in the new segment. Stale .prep files hold no data and are removed by Open.
// With Config.ZeroFill the preparation also writes zeros over the file, so
// that appends overwrite written blocks and fdatasync has no extent metadata
// to commit (measured: about half the sync latency on this project's ext4
// virtio disks, for twice the bytes written); zeroing ahead (below) gets the
// same without writing a segment that is not needed yet.
//
// # Group commit
//
// Appenders frame their records themselves (payload checksum included) and
// queue them; a single writer goroutine takes everything queued, stamps each
// frame's header checksum with its final position, and issues one write and
// then one fdatasync for the lot. Every appender of the group is released
// when that sync returns. While the writer syncs, the next group gathers, so
// the records per sync grow with the number of concurrent appenders while a
// lone appender pays one write and one sync. There is no timer or batching
// delay in SyncAlways. Appends that arrive together in the queue are written
// in queue order. Config.MaxWriteBytes splits very large queues into
// several write+sync rounds; Config.MaxQueueBytes bounds the queue
// (backpressure). AppendAsync lets a caller that must not block (for example
// one that holds an entity lock and wants to wait elsewhere) pipeline appends:
// its callback runs on the log's completion goroutine, in log order, and must
// be quick.
//
// # Zeroing ahead
//
// An fdatasync of data written into preallocated ("unwritten") extents must
// also commit the extents' conversion to the filesystem journal; on ext4
// that nearly doubles the cost of a small sync (185 µs instead of ~100 µs
// for 32-64 KiB on this project's disks, docs/perf.md). So the writer writes
// zeros into the active segment ahead of the appends, a chunk of
// Config.ZeroAhead bytes (1 MiB by default) at a time, once the appends come
// within half a chunk of the zeroed end. The zeros are written just before
// the appends of that group commit and made durable by its fdatasync; from
// then on appends overwrite blocks the disk has already written, and their
// syncs have no metadata to commit. Space past the data reads as zeros
// whether it was zeroed or only preallocated, so this changes nothing in
// the format or in recovery (a crash in the middle of it leaves zeros or
// preallocated space). Each byte reaches the disk twice, once as zeros:
// bandwidth, not sync latency. Config.ZeroFill, which zeroes whole segments
// in the background before they are used, is the older form of the idea.
//
// # Sync modes
//
//   - SyncAlways (default): an append returns after its fdatasync.
//   - SyncInterval: an append returns after the write to the OS; the writer
//     fdatasyncs every Config.SyncInterval (100ms) on the injected clock.
//     Safe against a process crash, not against power loss.
//   - SyncNever: no syncs except rotation, Sync and Close. Tests only.
//
// # Recovery
//
// Open lists the segments (ignoring other files), requires consecutive ids
// and valid headers, and scans the last segment:
//
//   - frames are read one after the other from the header on; a frame is
//     valid if its header checksum (which covers the segment id and offset as
//     well) and its payload checksum match;
//   - an all-zero frame header followed by nothing but zeros is the clean end
//     (preallocated space);
//   - a frame that does not check out, followed by nothing valid (zeros or
//     the garbage of an incomplete write), is a torn tail: it is discarded,
//     together with any unfinished group before it, the bytes are zeroed and
//     appending resumes there;
//   - a frame that does not check out but is followed by a valid frame
//     anywhere later in the segment is corruption, not a torn write: Open
//     fails with a *CorruptionError naming the segment and the offset of the
//     bad frame. Nothing is skipped silently;
//   - a last segment whose header is invalid and whose bytes after the
//     header are all zero is the remains of a rotation cut short by a crash:
//     it is removed;
//   - the last segment is then fdatasync'd, even if nothing was changed:
//     records that a crashed process left only in the page cache must be
//     durable before they are replayed and acted on.
//
// Segments other than the last are read by Replay up to exactly the end
// recorded in the next segment's header; any frame that does not check out
// there, a group left open at that end, or a file shorter than it, is a
// *CorruptionError. IsCorruption classifies such errors. ReadAt verifies the
// checksums of the record it returns.
//
// A bit flip in the very last record of the log cannot be told from a torn
// write and that record is discarded; anywhere else damage is reported.
// Pages of an unsynced write persisted out of order (a later part reaching
// the disk without an earlier part) are reported as corruption too; the
// operator then decides, from the reported offset, whether to truncate.
//
// # Disk errors (fsyncgate)
//
// A write or fdatasync error is returned to every appender of the group it
// belonged to (errors.Is works with syscall.ENOSPC and syscall.EIO). After a
// failed fdatasync Linux may have dropped the dirty pages and marked them
// clean, so retrying the sync on the same file can report success for data
// that is not on disk. The log therefore never writes to or syncs a segment
// again after a failed write or sync: the segment is "poisoned", and the next
// append first starts a new segment whose header records, as the old
// segment's end, the last offset that was successfully synced. Everything
// after that offset in the old segment (including the records whose append
// failed, even if their bytes did reach the disk) is disowned and never
// replayed. If the new segment cannot be created (disk still full), the
// append fails and the next one tries again, so the log works again as soon
// as space returns, without reopening. Close does the same for a poisoned
// segment, so failed appends do not reappear after a restart; only if the
// process crashes before any new segment could be made may records whose
// append failed be recovered (their outcome is then indeterminate, as for a
// timed-out request).
//
// In SyncInterval mode a failed background sync is returned by the next Sync
// or Close; records acknowledged since the last successful sync are then
// disowned like a failed group.
//
// # Concurrency and ownership
//
// All methods are safe for concurrent use. Open starts the writer goroutine;
// the writer starts at most one segment-preparation goroutine at a time.
// Close stops the writer after it has written everything queued, syncs,
// waits for the preparation and removes its file, and closes the files. The writer owns the active segment's write offset and
// failure state (writerState); the list of segments is guarded by segMu, and
// each segment's valid end is an atomic so that ReadAt does not wait for the
// writer. Replay reads segments through its own file handles and takes no
// lock while its callback runs.
//
// # Metrics
//
// Stats reports appends, records, bytes, writes, syncs, rotations, errors and
// a sync latency histogram; Stats.SyncsPerRecord is the fsync cost of one
// record.
package wal
