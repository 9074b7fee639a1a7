package wal

import (
	"errors"
	"fmt"
)

// Sentinel errors.
var (
	// ErrClosed is returned by calls on a closed Log.
	ErrClosed = errors.New("wal: log closed")
	// ErrEmpty is returned when an append carries no records.
	ErrEmpty = errors.New("wal: no records to append")
	// ErrTooLarge is returned when the records of one append do not fit in
	// one segment (Config.SegmentSize less the segment header).
	ErrTooLarge = errors.New("wal: records too large for one segment")
	// ErrNotFound is returned by ReadAt for a position that is not in the
	// log (a removed segment, or an offset past the end).
	ErrNotFound = errors.New("wal: no record at position")
	// ErrCorrupt is the cause every *CorruptionError unwraps to.
	ErrCorrupt = errors.New("wal: corruption")
)

// CorruptionError reports damaged data that recovery must not skip: a bad
// record followed by valid ones, damage in a segment that is not the last,
// a bad segment header or a missing segment. It names where the damage is.
type CorruptionError struct {
	Segment SegmentID // segment holding the damage
	Offset  int64     // byte offset of the damaged frame or header in that segment
	Reason  string    // what is wrong, in a few words
}

// Error implements error.
func (e *CorruptionError) Error() string {
	return fmt.Sprintf("wal: corruption in segment %s at offset %d: %s", e.Segment, e.Offset, e.Reason)
}

// Unwrap returns ErrCorrupt.
func (e *CorruptionError) Unwrap() error { return ErrCorrupt }

// IsCorruption reports whether err is, or wraps, a *CorruptionError.
func IsCorruption(err error) bool {
	var ce *CorruptionError
	return errors.As(err, &ce)
}
