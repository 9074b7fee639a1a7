package wal

import "fmt"

// scanTail walks the frames of the last segment, held whole in buf, at Open.
// It returns the end of the last complete group: the place appending resumes.
//
// The first frame that does not decode ends the walk. If it is followed only
// by zeros or by bytes in which no valid frame can be found, it is the torn
// tail of an incomplete write and everything from the start of its group on
// is discarded. If a valid frame follows it, the damage is not at the tail
// and a *CorruptionError naming the bad frame is returned.
func scanTail(id SegmentID, buf []byte) (int64, error) {
	off := int64(segmentHeaderSize)
	groupStart := off
	for {
		fr, reason := decodeFrame(id, buf[off:], off)
		if reason != "" {
			if reason == reasonZero && lastNonZero(buf, off) == off {
				return groupStart, nil // clean end, or an unfinished group at the end
			}
			if next := validFrameAfter(id, buf, off); next >= 0 {
				return 0, &CorruptionError{Segment: id, Offset: off,
					Reason: fmt.Sprintf("%s, followed by a valid record at offset %d", reason, next)}
			}
			return groupStart, nil // torn tail
		}
		off += fr.size
		if fr.typ == typeLast {
			groupStart = off
		}
	}
}

// groupRec is a record of the group being read.
type groupRec struct {
	off     int64
	payload []byte
}

// scanExact walks the frames of buf, which holds segment id from offset 0 up
// to exactly its valid end, and calls fn for each record, a group at a time
// once the group is complete. Any frame that does not decode, and a group
// still open at the end, is a *CorruptionError. An error from fn stops the
// walk and is returned as is. group is scratch space, returned for reuse.
func scanExact(id SegmentID, buf []byte, group []groupRec, fn func(Pos, []byte) error) ([]groupRec, error) {
	end := int64(len(buf))
	off := int64(segmentHeaderSize)
	group = group[:0]
	groupStart := off
	for off < end {
		fr, reason := decodeFrame(id, buf[off:], off)
		if reason != "" {
			return group, &CorruptionError{Segment: id, Offset: off, Reason: reason}
		}
		group = append(group, groupRec{off: off, payload: fr.payload})
		off += fr.size
		if fr.typ != typeLast {
			continue
		}
		if fn != nil {
			for _, r := range group {
				if err := fn(Pos{Segment: id, Offset: r.off}, r.payload); err != nil {
					return group, err
				}
			}
		}
		group = group[:0]
		groupStart = off
	}
	if len(group) > 0 {
		return group, &CorruptionError{Segment: id, Offset: groupStart, Reason: reasonGroupSplit}
	}
	return group, nil
}
