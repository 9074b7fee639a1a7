package wal

import (
	"fmt"
	"time"

	"github.com/batonmq/baton/internal/clock"
)

// SyncMode says when appended records are made durable.
type SyncMode int

const (
	// SyncAlways (the default) returns from an append only after the records
	// are written and fdatasync'd. Concurrent appends share one write and
	// one fdatasync (group commit).
	SyncAlways SyncMode = iota
	// SyncInterval returns once the records are written to the OS; a timer
	// fdatasyncs every Config.SyncInterval. A crash of the process loses
	// nothing; a power loss can lose up to one interval of records.
	SyncInterval
	// SyncNever never fdatasyncs on its own (rotation, Sync and Close still
	// do). For tests and benchmarks only.
	SyncNever
)

// String returns the mode's name.
func (m SyncMode) String() string {
	switch m {
	case SyncAlways:
		return "always"
	case SyncInterval:
		return "interval"
	case SyncNever:
		return "never"
	}
	return fmt.Sprintf("SyncMode(%d)", int(m))
}

// Defaults applied to zero Config fields.
const (
	DefaultSegmentSize   = 64 << 20
	DefaultSyncInterval  = 100 * time.Millisecond
	DefaultMaxWriteBytes = 4 << 20
	DefaultMaxQueueBytes = 64 << 20
	DefaultZeroAhead     = 1 << 20
)

// Config configures a Log. The zero value gives the defaults.
type Config struct {
	// SegmentSize is the size each segment file is preallocated to, and the
	// most bytes it holds. Default 64 MiB; at least 4 KiB.
	SegmentSize int64
	// SyncMode chooses when records become durable. Default SyncAlways.
	SyncMode SyncMode
	// SyncInterval is the fdatasync period of SyncInterval. Default 100ms.
	SyncInterval time.Duration
	// MaxWriteBytes caps the bytes of one group-commit write; a longer
	// queue is written in several writes (each followed by a sync in
	// SyncAlways). Default 4 MiB.
	MaxWriteBytes int
	// MaxQueueBytes bounds the bytes queued for the writer; appends block
	// while the queue is over it. Default 64 MiB.
	MaxQueueBytes int
	// ZeroFill makes the background preparation of each segment write
	// zeros over the whole file instead of only reserving it with
	// fallocate. Appends then overwrite blocks that are already allocated
	// and written, so fdatasync has no extent metadata to commit: on the
	// ext4 virtio disk measured for docs/perf.md a 4-16 KiB write+fdatasync
	// took ~100 µs at p50 instead of ~140 µs. The price is writing every
	// segment twice. Off by default.
	ZeroFill bool
	// ZeroAhead is the size of the chunks of zeros the writer writes into
	// the active segment ahead of the appends, so that appends overwrite
	// blocks the disk has already written and their fdatasync has no
	// extent conversion to commit (see doc.go, "Zeroing ahead"). A chunk is
	// written when the appends come within half a chunk of the zeroed end;
	// the sync that follows makes it durable. Default 1 MiB; negative turns
	// it off. Not needed with ZeroFill.
	ZeroAhead int
	// Clock times syncs and drives SyncInterval. Default clock.Real.
	Clock clock.Clock

	// hooks lets tests in this package observe the writer.
	hooks *testHooks
}

// testHooks are called by the writer goroutine when set.
type testHooks struct {
	afterSync func(err error)
}

func (c Config) withDefaults() Config {
	if c.SegmentSize == 0 {
		c.SegmentSize = DefaultSegmentSize
	}
	if c.SyncInterval == 0 {
		c.SyncInterval = DefaultSyncInterval
	}
	if c.MaxWriteBytes == 0 {
		c.MaxWriteBytes = DefaultMaxWriteBytes
	}
	if c.MaxQueueBytes == 0 {
		c.MaxQueueBytes = DefaultMaxQueueBytes
	}
	if c.ZeroAhead == 0 {
		c.ZeroAhead = DefaultZeroAhead
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	return c
}

// Validate reports a Config that cannot work. Open calls it after applying
// defaults.
func (c Config) Validate() error {
	switch {
	case c.SegmentSize < 4096:
		return fmt.Errorf("wal: segment size %d below 4096", c.SegmentSize)
	case c.SegmentSize > 1<<40:
		return fmt.Errorf("wal: segment size %d above 1 TiB", c.SegmentSize)
	case c.SyncMode < SyncAlways || c.SyncMode > SyncNever:
		return fmt.Errorf("wal: unknown sync mode %d", int(c.SyncMode))
	case c.SyncInterval < 0:
		return fmt.Errorf("wal: negative sync interval %v", c.SyncInterval)
	case c.MaxWriteBytes < 0 || c.MaxQueueBytes < 0:
		return fmt.Errorf("wal: negative write or queue limit")
	}
	return nil
}
