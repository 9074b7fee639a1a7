package wal

import (
	"errors"
	"fmt"
	"io"
)

// Replay calls fn for every record in the log, oldest first, with its
// position. rec is valid only until fn returns; copy it to keep it. The
// records of one append are delivered together, after all of them have been
// checked. Every record of every segment is verified; damage is returned as
// a *CorruptionError and nothing after it is delivered. An error from fn
// stops the replay and is returned unchanged.
//
// Replay reads each segment whole into one buffer (at most SegmentSize
// bytes, reused across segments). It sees the records appended before it
// started; call it after Open, before appending.
func (l *Log) Replay(fn func(pos Pos, rec []byte) error) error {
	type span struct {
		id  SegmentID
		end int64
	}
	l.segMu.RLock()
	if l.segs == nil {
		l.segMu.RUnlock()
		return ErrClosed
	}
	spans := make([]span, len(l.segs))
	for i, s := range l.segs {
		spans[i] = span{s.id, s.end.Load()}
	}
	l.segMu.RUnlock()

	var buf []byte
	var group []groupRec
	for _, sp := range spans {
		if int64(cap(buf)) < sp.end {
			buf = make([]byte, sp.end)
		}
		b := buf[:sp.end]
		if err := l.readSegment(sp.id, b); err != nil {
			return err
		}
		var err error
		if group, err = scanExact(sp.id, b, group, fn); err != nil {
			return err
		}
	}
	return nil
}

// readSegment fills b from the start of segment id with a read handle of
// its own, so that Replay never holds the log's locks while fn runs.
func (l *Log) readSegment(id SegmentID, b []byte) error {
	f, err := l.fs.Open(segmentPath(l.dir, id))
	if err != nil {
		return fmt.Errorf("wal: replay segment %s: %w", id, err)
	}
	defer f.Close()
	n, err := f.ReadAt(b, 0)
	if errors.Is(err, io.EOF) && n < len(b) {
		return &CorruptionError{Segment: id, Offset: int64(n), Reason: fmt.Sprintf("segment ends before its recorded end %d", len(b))}
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("wal: replay segment %s: %w", id, err)
	}
	return nil
}
