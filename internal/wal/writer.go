package wal

// The write path. Appenders frame their records (payload checksum included)
// in their own goroutine, queue the frames and wait; one writer goroutine
// takes the whole queue, seals each frame with its position, writes all of
// them with one write and makes them durable with one fdatasync, then
// releases every appender of the group. While it syncs, the next group
// gathers in the queue, so the group grows with the number of concurrent
// appenders and a lone appender still pays exactly one write and one sync.
// See doc.go for the failure rules.

import (
	"context"
	"errors"
	"fmt"
	"time"
)

type reqKind uint8

const (
	reqAppend reqKind = iota
	reqSync
	reqRotate
)

// request is one unit of work for the writer.
type request struct {
	kind   reqKind
	frames []byte // reqAppend: the framed records, header checksums not yet set
	offs   []int  // reqAppend: start of each frame in frames
	done   func([]Pos, error)
	ctlErr func(error) // reqSync, reqRotate
}

// placed is an append request laid into the write buffer.
type placed struct {
	r   *request
	pos []Pos
}

// writerState is owned by the writer goroutine.
type writerState struct {
	active  *segment
	written int64 // end of the data written to active
	synced  int64 // end of the data of active known to be durable
	// zeroed is where the zeros written ahead of the appends end
	// (zeroAhead); everything from written to zeroed reads as zeros.
	zeroed int64
	// poison is set when a write or sync of the active segment fails. Such a
	// segment is never written or synced again (after a failed fsync the
	// kernel may have dropped the dirty pages and a retry can falsely
	// succeed); the next append first starts a new segment whose header
	// disowns everything after synced.
	poison error
	// unreported is a failed sync of records that were already acknowledged
	// (SyncInterval, SyncNever); the next Sync or Close returns it.
	unreported error

	prep *preparation // the next segment's file being prepared, or nil

	buf   []byte   // frames waiting to be written at offset written
	batch []placed // the requests whose frames are in buf
	spare []*request
}

// AppendAsync queues recs as one group and returns at once; done is called
// later, from the log's completion goroutine (complete.go) in log order, with
// each record's position once
// the group is durable (per the sync mode), or with the error that stopped
// it. done must not block or call back into the log's append methods; hand
// the result to another goroutine if there is work to do.
//
// The records are copied before AppendAsync returns, so the caller may
// reuse them. The records of one call are recovered all together or not at
// all. AppendAsync returns an error, and never calls done, if recs is empty
// or too large or the log is closed. It blocks while more than
// Config.MaxQueueBytes are queued.
func (l *Log) AppendAsync(recs [][]byte, done func([]Pos, error)) error {
	if len(recs) == 0 {
		return ErrEmpty
	}
	total := 0
	for _, r := range recs {
		total += frameSize(len(r))
	}
	if int64(total) > l.cfg.SegmentSize-segmentHeaderSize {
		return fmt.Errorf("%w: %d bytes framed, segment holds %d", ErrTooLarge, total, l.cfg.SegmentSize-segmentHeaderSize)
	}
	frames := l.getFrameBuf(total)
	offs := make([]int, len(recs))
	o := 0
	for i, r := range recs {
		typ := typeMore
		if i == len(recs)-1 {
			typ = typeLast
		}
		n := frameSize(len(r))
		offs[i] = o
		putFrameBody(frames[o:o+n], r, typ)
		o += n
	}
	return l.enqueue(&request{kind: reqAppend, frames: frames, offs: offs, done: done}, total)
}

type appendResult struct {
	pos []Pos
	err error
}

// AppendBatch appends recs as one group and waits until it is durable (per
// the sync mode). It returns the position of each record. If ctx ends first
// it returns ctx's error; the records may or may not be written.
func (l *Log) AppendBatch(ctx context.Context, recs [][]byte) ([]Pos, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("wal: append: %w", err)
	}
	ch := make(chan appendResult, 1)
	err := l.AppendAsync(recs, func(p []Pos, err error) { ch <- appendResult{p, err} })
	if err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		return r.pos, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("wal: append: %w", context.Cause(ctx))
	}
}

// Append appends recs as one group, waits until it is durable (per the sync
// mode) and returns the position of the first record. See AppendBatch.
func (l *Log) Append(ctx context.Context, recs ...[]byte) (Pos, error) {
	p, err := l.AppendBatch(ctx, recs)
	if err != nil {
		return Pos{}, err
	}
	return p[0], nil
}

// Sync waits until every record appended before the call is durable, in any
// sync mode. It returns an error if a sync has failed since the last Sync
// (records acknowledged under SyncInterval may then be lost).
func (l *Log) Sync() error { return l.control(reqSync) }

// Rotate makes the log continue in a new segment; the current one is synced
// and becomes read-only, ready for RemoveSegmentsBefore once settled.
func (l *Log) Rotate() error { return l.control(reqRotate) }

func (l *Log) control(kind reqKind) error {
	ch := make(chan error, 1)
	if err := l.enqueue(&request{kind: kind, ctlErr: func(err error) { ch <- err }}, 0); err != nil {
		return err
	}
	return <-ch
}

func (l *Log) enqueue(r *request, size int) error {
	l.mu.Lock()
	for !l.closed && l.queueBytes > 0 && l.queueBytes+size > l.cfg.MaxQueueBytes {
		l.queueSpace.Wait()
	}
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	l.queue = append(l.queue, r)
	l.queueBytes += size
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return nil
}

// Close stops the writer after it has written everything queued, syncs the
// active segment and closes the files. It returns the first error among the
// final sync, an unreported earlier sync failure and closing the files.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	l.closed = true
	l.queueSpace.Broadcast()
	l.mu.Unlock()
	close(l.closing)
	<-l.done
	return l.closeErr
}

// run is the writer goroutine.
func (l *Log) run() {
	defer close(l.done)
	defer l.stopCompleter()
	var tick <-chan time.Time
	if l.cfg.SyncMode == SyncInterval {
		t := l.clk.NewTimer(l.cfg.SyncInterval)
		defer t.Stop()
		tick = t.C()
		for {
			select {
			case <-l.wake:
				l.processQueue()
			case <-tick:
				l.intervalSync()
				t.Reset(l.cfg.SyncInterval)
			case <-l.closing:
				l.shutdown()
				return
			}
		}
	}
	for {
		select {
		case <-l.wake:
			l.processQueue()
		case <-l.closing:
			l.shutdown()
			return
		}
	}
}

func (l *Log) shutdown() {
	l.processQueue() // nothing can be queued after closed was set
	var errs []error
	if l.w.poison == nil {
		if err := l.syncActive(); err != nil {
			errs = append(errs, err)
		}
	}
	if l.w.poison != nil {
		// Disown the failed data now, so that records whose append failed
		// are not replayed after a restart. If even that fails (disk still
		// full), recovery will see them: they are indeterminate.
		if err := l.startNextSegment(); err != nil {
			errs = append(errs, err)
		}
	}
	if l.w.unreported != nil {
		errs = append(errs, l.w.unreported)
		l.w.unreported = nil
	}
	l.dropPrepared()
	l.prepWG.Wait()
	if err := l.closeFiles(); err != nil {
		errs = append(errs, err)
	}
	l.closeErr = errors.Join(errs...)
}

// processQueue takes everything queued and handles it in order.
func (l *Log) processQueue() {
	l.mu.Lock()
	q := l.queue
	l.queue = l.w.spare[:0]
	l.queueBytes = 0
	l.queueSpace.Broadcast()
	l.mu.Unlock()

	for _, r := range q {
		switch r.kind {
		case reqAppend:
			l.place(r)
		case reqSync:
			_ = l.flush() // a failed flush is reported to its appenders
			var err error
			if l.w.poison == nil {
				err = l.syncActive()
			}
			l.answer(r.ctlErr, errors.Join(err, l.takeUnreported()))
		case reqRotate:
			_ = l.flush()
			l.answer(r.ctlErr, l.startNextSegment())
		}
	}
	_ = l.flush()
	clear(q)
	l.w.spare = q[:0]
}

func (l *Log) takeUnreported() error {
	err := l.w.unreported
	l.w.unreported = nil
	return err
}

// place lays r's frames into the write buffer, flushing first if they do not
// fit the buffer or the segment, and starting a new segment when needed.
func (l *Log) place(r *request) {
	size := int64(len(r.frames))
	if len(l.w.buf) > 0 {
		end := l.w.written + int64(len(l.w.buf)) + size
		if end > l.cfg.SegmentSize || len(l.w.buf)+len(r.frames) > l.cfg.MaxWriteBytes {
			_ = l.flush()
		}
	}
	if l.w.poison != nil || l.w.written+size > l.cfg.SegmentSize {
		if err := l.startNextSegment(); err != nil {
			l.failOne(r, err)
			return
		}
	}
	s := l.w.active
	base := l.w.written + int64(len(l.w.buf))
	pos := make([]Pos, len(r.offs))
	for i, o := range r.offs {
		off := base + int64(o)
		sealFrame(r.frames[o:], s.id, off)
		pos[i] = Pos{Segment: s.id, Offset: off}
	}
	l.w.buf = append(l.w.buf, r.frames...)
	l.putFrameBuf(r.frames)
	r.frames = nil
	l.w.batch = append(l.w.batch, placed{r: r, pos: pos})
}

const maxPooledFrameBuf = 64 << 10

// getFrameBuf returns a buffer of n bytes for an appender's frames, from
// l.framePool when it is small: the writer copies the frames into its write
// buffer and hands the buffer back at once (putFrameBuf).
func (l *Log) getFrameBuf(n int) []byte {
	if n <= maxPooledFrameBuf {
		if p, ok := l.framePool.Get().(*[]byte); ok && cap(*p) >= n {
			return (*p)[:n]
		}
		return make([]byte, n, max(n, 4<<10))
	}
	return make([]byte, n)
}

func (l *Log) putFrameBuf(b []byte) {
	if cap(b) <= maxPooledFrameBuf {
		l.framePool.Put(&b)
	}
}

// flush writes the buffer with one write (after zeros ahead of it, see
// zeroAhead), syncs it in SyncAlways mode and releases the waiting
// appenders. On failure every appender of the batch
// gets the error and the segment is poisoned.
func (l *Log) flush() error {
	if len(l.w.batch) == 0 {
		return nil
	}
	s := l.w.active
	err := l.zeroAhead(l.w.written + int64(len(l.w.buf)))
	if err == nil {
		_, err = s.f.WriteAt(l.w.buf, l.w.written)
		l.stat.writes.Add(1)
	}
	if err != nil {
		l.stat.writeErrors.Add(1)
		err = fmt.Errorf("wal: write segment %s at offset %d: %w", s.id, l.w.written, err)
		l.w.poison = err
		l.finishBatch(err)
		return err
	}
	l.w.written += int64(len(l.w.buf))
	l.stat.bytes.Add(uint64(len(l.w.buf)))
	s.end.Store(l.w.written)
	if l.cfg.SyncMode == SyncAlways {
		if err := l.syncActive(); err != nil {
			l.finishBatch(err)
			return err
		}
	}
	l.finishBatch(nil)
	return nil
}

// finishBatch counts the batch and hands it to the completer, which
// releases its appenders with err (nil: durable).
func (l *Log) finishBatch(err error) {
	if err == nil {
		var records uint64
		for i := range l.w.batch {
			records += uint64(len(l.w.batch[i].pos))
		}
		l.stat.appends.Add(uint64(len(l.w.batch)))
		l.stat.records.Add(records)
	}
	l.handOff(err)
	l.w.buf = l.w.buf[:0]
}

// syncActive fdatasyncs the active segment if it has unsynced data. A
// failure poisons the segment.
func (l *Log) syncActive() error {
	if l.w.poison != nil {
		return l.w.poison
	}
	if l.w.synced == l.w.written {
		return nil
	}
	target := l.w.written
	if err := l.syncFile(l.w.active.f); err != nil {
		err = fmt.Errorf("wal: sync segment %s: %w", l.w.active.id, err)
		l.w.poison = err
		return err
	}
	l.w.synced = target
	return nil
}

// syncFile syncs f and records the latency.
func (l *Log) syncFile(f interface{ Sync() error }) error {
	start := l.clk.Now()
	err := f.Sync()
	l.stat.observeSync(l.clk.Now().Sub(start))
	l.stat.syncs.Add(1)
	if err != nil {
		l.stat.syncErrors.Add(1)
	}
	if l.cfg.hooks != nil && l.cfg.hooks.afterSync != nil {
		l.cfg.hooks.afterSync(err)
	}
	return err
}

// intervalSync is the SyncInterval timer's work.
func (l *Log) intervalSync() {
	if l.w.poison != nil {
		return
	}
	if err := l.syncActive(); err != nil && l.w.unreported == nil {
		l.w.unreported = err
	}
}

// startNextSegment ends the active segment and makes segment id+1 active.
// The active segment is synced first; if that fails, or the segment was
// already poisoned, its valid end is the last offset known durable and the
// new segment's header disowns everything after it. If the new segment
// cannot be created (disk full, say), the log stays as it was and the next
// append tries again.
func (l *Log) startNextSegment() error {
	if l.w.poison == nil {
		if err := l.syncActive(); err != nil && l.cfg.SyncMode != SyncAlways && l.w.unreported == nil {
			l.w.unreported = err
		}
	}
	prevEnd := l.w.written
	if l.w.poison != nil {
		prevEnd = l.w.synced
	}
	old := l.w.active
	s, err := l.createSegment(old.id+1, prevEnd)
	if err != nil {
		if l.w.poison != nil {
			return fmt.Errorf("wal: segment %s failed (%w) and no new segment could be started: %w", old.id, l.w.poison, err)
		}
		return err
	}
	old.end.Store(prevEnd)
	l.segMu.Lock()
	l.segs = append(l.segs, s)
	l.segMu.Unlock()
	l.w.active = s
	l.w.written = segmentHeaderSize
	l.w.synced = segmentHeaderSize
	l.w.zeroed = l.zeroedAtCreation()
	l.w.poison = nil
	l.stat.rotations.Add(1)
	l.startPreparing(s.id + 1)
	return nil
}
