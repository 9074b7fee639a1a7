package wal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/vfs"
)

// Pos is the place of a record: its segment and the byte offset of its frame
// in that segment. Positions grow in log order. The zero Pos is no position.
type Pos struct {
	Segment SegmentID
	Offset  int64
}

// String returns "segment:offset".
func (p Pos) String() string { return fmt.Sprintf("%s:%d", p.Segment, p.Offset) }

// Compare returns -1, 0 or +1 as p is before, at or after q in the log.
func (p Pos) Compare(q Pos) int {
	switch {
	case p.Segment < q.Segment:
		return -1
	case p.Segment > q.Segment:
		return 1
	case p.Offset < q.Offset:
		return -1
	case p.Offset > q.Offset:
		return 1
	}
	return 0
}

// segment is one segment file of an open log.
type segment struct {
	id SegmentID
	f  vfs.File // read-write for the active (last) segment, read-only otherwise
	// end is where valid data ends. For the active segment it is the end of
	// the data written so far and moves as the writer writes.
	end atomic.Int64
}

// Log is an open write-ahead log. Its methods are safe for concurrent use.
type Log struct {
	fs   vfs.FS
	dir  string
	cfg  Config
	clk  clock.Clock
	stat counters

	// mu guards the append queue and the closed flag.
	mu         sync.Mutex
	queue      []*request
	queueBytes int
	queueSpace *sync.Cond // signalled when queueBytes falls or the log closes
	closed     bool

	wake    chan struct{} // capacity 1: work is queued
	closing chan struct{} // closed by Close
	done    chan struct{} // closed when the writer goroutine has exited

	// segMu guards segs (oldest first; the last is the active segment) and
	// each segment's end. ReadAt holds it shared while reading a file so
	// that RemoveSegmentsBefore cannot close the file underneath.
	segMu sync.RWMutex
	segs  []*segment

	// Owned by the writer goroutine (and by Open before it starts).
	w writerState

	closeErr error // set by the writer before it closes done

	framePool sync.Pool // of *[]byte; see getFrameBuf

	prepWG sync.WaitGroup // the segment preparation goroutine, if any

	zeros []byte // writer only: zeroAhead's source of zeros

	// The completer (complete.go).
	compl     chan completion
	complFree chan []placed // batch slices handed back for reuse
	complDone chan struct{}
}

// Open opens the log in dir, creating dir and the first segment if needed,
// and recovers it:
//
//   - every segment must have a valid header and the ids must have no gaps;
//   - the last segment is scanned: a torn write at its tail (a damaged frame
//     followed by nothing valid) is discarded and zeroed, and appending
//     resumes at the end of the last complete group;
//   - damage anywhere else is returned as a *CorruptionError and the log is
//     not opened.
//
// Records of segments other than the last are checked by Replay.
// Open starts the writer goroutine; Close stops it.
func Open(fsys vfs.FS, dir string, cfg Config) (*Log, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := fsys.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("wal: open %s: %w", dir, err)
	}
	// Make the directory's own entry durable, in case MkdirAll created it.
	if err := fsys.SyncDir(filepath.Dir(filepath.Clean(dir))); err != nil {
		return nil, fmt.Errorf("wal: open %s: %w", dir, err)
	}
	l := &Log{
		fs:      fsys,
		dir:     dir,
		cfg:     cfg,
		clk:     cfg.Clock,
		wake:    make(chan struct{}, 1),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	l.queueSpace = sync.NewCond(&l.mu)
	if err := l.recover(); err != nil {
		l.closeFiles()
		return nil, err
	}
	l.startPreparing(l.w.active.id + 1)
	l.startCompleter()
	go pprof.Do(context.Background(), pprof.Labels("component", "wal-writer", "dir", dir), func(context.Context) {
		l.run()
	})
	return l, nil
}

// recover loads the segments of l.dir and prepares the active segment.
func (l *Log) recover() error {
	names, err := l.fs.List(l.dir)
	if err != nil {
		return fmt.Errorf("wal: open: %w", err)
	}
	if err := l.removeStalePreparations(names); err != nil {
		return err
	}
	var ids []SegmentID
	for _, name := range names {
		if id, ok := parseSegmentName(name); ok {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	if len(ids) == 0 {
		return l.startFirstSegment(1)
	}

	headers := make([]segmentHeader, len(ids))
	for i, id := range ids {
		if i > 0 && id != ids[i-1]+1 {
			return &CorruptionError{Segment: ids[i-1] + 1, Reason: fmt.Sprintf("segment missing between %s and %s", ids[i-1], id)}
		}
		last := i == len(ids)-1
		var f vfs.File
		if last {
			f, err = l.fs.OpenReadWrite(segmentPath(l.dir, id))
		} else {
			f, err = l.fs.Open(segmentPath(l.dir, id))
		}
		if err != nil {
			return fmt.Errorf("wal: open segment %s: %w", id, err)
		}
		l.segs = append(l.segs, &segment{id: id, f: f})
		hb := make([]byte, segmentHeaderSize)
		if _, err := f.ReadAt(hb, 0); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("wal: read segment %s header: %w", id, err)
		}
		h, reason := decodeSegmentHeader(hb)
		if reason == "" && h.id != id {
			reason = fmt.Sprintf("header names segment %s", h.id)
		}
		if reason != "" {
			if last {
				return l.recoverBadLastHeader(id, reason)
			}
			return &CorruptionError{Segment: id, Offset: 0, Reason: reason}
		}
		headers[i] = h
	}
	for i := 0; i+1 < len(ids); i++ {
		l.segs[i].end.Store(headers[i+1].prevEnd)
		if headers[i+1].prevEnd < segmentHeaderSize {
			return &CorruptionError{Segment: ids[i+1], Offset: 24, Reason: "header gives no end for the previous segment"}
		}
	}
	return l.recoverTail()
}

// recoverBadLastHeader handles a last segment whose header is not valid. If
// the file holds nothing but zeros, the crash came while the segment was
// being created, before anything was appended to it: the file is removed and
// the previous segment, if any, becomes the last one again. Anything else is
// corruption.
func (l *Log) recoverBadLastHeader(id SegmentID, reason string) error {
	s := l.segs[len(l.segs)-1]
	buf, err := readWhole(s.f)
	if err != nil {
		return fmt.Errorf("wal: read segment %s: %w", id, err)
	}
	// Nothing is ever appended to a segment before its header is synced, so
	// a segment with a bad header and no data was still being created; its
	// header may be torn if a concurrent directory sync made the name
	// durable early.
	if len(buf) > segmentHeaderSize && !isZero(buf[segmentHeaderSize:]) {
		return &CorruptionError{Segment: id, Offset: 0, Reason: reason}
	}
	_ = s.f.Close()
	l.segs = l.segs[:len(l.segs)-1]
	if err := l.fs.Remove(segmentPath(l.dir, id)); err != nil {
		return fmt.Errorf("wal: remove incomplete segment %s: %w", id, err)
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		return fmt.Errorf("wal: remove incomplete segment %s: %w", id, err)
	}
	if len(l.segs) == 0 {
		return l.startFirstSegment(id)
	}
	// The previous segment was opened read-only; reopen it for writing.
	prev := l.segs[len(l.segs)-1]
	_ = prev.f.Close()
	f, err := l.fs.OpenReadWrite(segmentPath(l.dir, prev.id))
	if err != nil {
		return fmt.Errorf("wal: open segment %s: %w", prev.id, err)
	}
	prev.f = f
	return l.recoverTail()
}

// recoverTail scans the active (last) segment, zeroes a torn tail and makes
// the segment ready for appending.
func (l *Log) recoverTail() error {
	s := l.segs[len(l.segs)-1]
	buf, err := readWhole(s.f)
	if err != nil {
		return fmt.Errorf("wal: read segment %s: %w", s.id, err)
	}
	end, err := scanTail(s.id, buf)
	if err != nil {
		return err
	}
	if garbage := lastNonZero(buf, end); garbage > end {
		zeros := make([]byte, garbage-end)
		if _, err := s.f.WriteAt(zeros, end); err != nil {
			return fmt.Errorf("wal: discard torn tail of segment %s: %w", s.id, err)
		}
	}
	if int64(len(buf)) < l.cfg.SegmentSize {
		if err := s.f.Preallocate(0, l.cfg.SegmentSize); err != nil {
			return fmt.Errorf("wal: preallocate segment %s: %w", s.id, err)
		}
	}
	// Sync even if nothing changed: what was just read may come from the
	// page cache of a process that died before syncing it, and from now on
	// it is treated as durable (replayed, made visible).
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("wal: sync segment %s: %w", s.id, err)
	}
	s.end.Store(end)
	l.w.active = s
	l.w.written = end
	l.w.synced = end
	l.w.zeroed = end // what lies beyond is not known to be written
	return nil
}

// startFirstSegment creates segment id as the only segment.
func (l *Log) startFirstSegment(id SegmentID) error {
	s, err := l.createSegment(id, 0)
	if err != nil {
		return err
	}
	l.segs = append(l.segs, s)
	l.w.active = s
	l.w.written = segmentHeaderSize
	l.w.synced = segmentHeaderSize
	l.w.zeroed = l.zeroedAtCreation()
	return nil
}

// readWhole reads all of f.
func readWhole(f vfs.File) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	buf := make([]byte, fi.Size())
	if _, err := f.ReadAt(buf, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf, nil
}

// ReadAt returns a copy of the record at pos. It returns ErrNotFound for a
// position outside the log and a *CorruptionError if the record there does
// not check out.
func (l *Log) ReadAt(pos Pos) ([]byte, error) {
	l.segMu.RLock()
	defer l.segMu.RUnlock()
	s := l.segmentLocked(pos.Segment)
	if s == nil {
		if l.segs == nil {
			return nil, ErrClosed
		}
		return nil, fmt.Errorf("%w: %s: no such segment", ErrNotFound, pos)
	}
	end := s.end.Load()
	if pos.Offset < segmentHeaderSize || pos.Offset%frameAlign != 0 || pos.Offset+frameHeaderSize > end {
		return nil, fmt.Errorf("%w: %s: offset outside the segment's data", ErrNotFound, pos)
	}
	// Read the header and, for small records, the whole frame at once.
	avail := end - pos.Offset
	first := int64(512)
	if first > avail {
		first = avail
	}
	buf := make([]byte, first)
	if _, err := s.f.ReadAt(buf, pos.Offset); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("wal: read %s: %w", pos, err)
	}
	n := int64(le32(buf[4:8]))
	size := frameHeaderSize + (n+frameAlign-1)&^(frameAlign-1)
	if size > avail {
		// Let decodeFrame say why (bad checksum or length).
		size = first
	} else if size > first {
		full := make([]byte, size)
		copy(full, buf)
		if _, err := s.f.ReadAt(full[first:], pos.Offset+first); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("wal: read %s: %w", pos, err)
		}
		buf = full
	}
	fr, reason := decodeFrame(pos.Segment, buf[:size], pos.Offset)
	if reason != "" {
		return nil, &CorruptionError{Segment: pos.Segment, Offset: pos.Offset, Reason: reason}
	}
	return fr.payload, nil
}

// segmentLocked returns segment id or nil. REQUIRES: l.segMu held.
func (l *Log) segmentLocked(id SegmentID) *segment {
	i := sort.Search(len(l.segs), func(i int) bool { return l.segs[i].id >= id })
	if i < len(l.segs) && l.segs[i].id == id {
		return l.segs[i]
	}
	return nil
}

// Segments returns the ids of the log's segments, oldest first. The last is
// the one being appended to.
func (l *Log) Segments() []SegmentID {
	l.segMu.RLock()
	defer l.segMu.RUnlock()
	ids := make([]SegmentID, len(l.segs))
	for i, s := range l.segs {
		ids[i] = s.id
	}
	return ids
}

// RemoveSegmentsBefore deletes every segment with an id below id, except the
// active segment, which is never removed. The caller must no longer need any
// record in them (all settled); reads of them fail with ErrNotFound from the
// moment the call starts. It returns how many segments were removed. The
// files are removed oldest first, then the directory is synced, without
// holding up appends or reads of other segments.
func (l *Log) RemoveSegmentsBefore(id SegmentID) (int, error) {
	l.segMu.Lock()
	if l.segs == nil {
		l.segMu.Unlock()
		return 0, ErrClosed
	}
	n := 0
	for n < len(l.segs)-1 && l.segs[n].id < id {
		n++
	}
	victims := l.segs[:n:n]
	l.segs = append([]*segment(nil), l.segs[n:]...)
	l.segMu.Unlock()
	if n == 0 {
		return 0, nil
	}

	var firstErr error
	removed := 0
	for _, s := range victims {
		_ = s.f.Close()
		if err := l.fs.Remove(segmentPath(l.dir, s.id)); err != nil {
			firstErr = fmt.Errorf("wal: remove segment %s: %w", s.id, err)
			break
		}
		removed++
	}
	if err := l.fs.SyncDir(l.dir); err != nil && firstErr == nil {
		firstErr = fmt.Errorf("wal: remove segments: %w", err)
	}
	if removed < n {
		// Put back the segments that are still there, with fresh handles.
		var back []*segment
		for _, s := range victims[removed:] {
			f, err := l.fs.Open(segmentPath(l.dir, s.id))
			if err != nil {
				firstErr = errors.Join(firstErr, fmt.Errorf("wal: reopen segment %s: %w", s.id, err))
				break
			}
			s.f = f
			back = append(back, s)
		}
		l.segMu.Lock()
		if l.segs == nil { // closed meanwhile
			for _, s := range back {
				_ = s.f.Close()
			}
		} else {
			l.segs = append(back, l.segs...)
		}
		l.segMu.Unlock()
	}
	return removed, firstErr
}

// Stats returns the log's counters since Open.
func (l *Log) Stats() Stats { return l.stat.snapshot() }

// closeFiles closes every segment file and forgets the segments.
func (l *Log) closeFiles() error {
	l.segMu.Lock()
	defer l.segMu.Unlock()
	var first error
	for _, s := range l.segs {
		if err := s.f.Close(); err != nil && first == nil {
			first = fmt.Errorf("wal: close segment %s: %w", s.id, err)
		}
	}
	l.segs = nil
	return first
}
