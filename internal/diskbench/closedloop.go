package diskbench

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"time"

	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/vfs"
)

// The closed-loop ceiling. GroupCommitCeiling (n per median sync) assumes
// every sync carries one message from each of n senders. A sender that
// waits for its message to be durable before it sends the next one (a
// closed loop) cannot do that: while a sync runs, the senders it will
// release are not queued, so the next sync starts with the others only;
// the syncs alternate between two groups of about n/2, and each message
// waits for the sync in progress and then its own (about n/(2 × sync) in
// the steady state, unless the writer holds syncs back for stragglers).
// ClosedLoop measures what this disk gives such senders with the simplest
// possible group commit (no framing, checksums, index or broker): n
// goroutines append one message each and wait; one writer takes everything
// queued, writes it with one write at the end of a preallocated, zeroed
// file (overwrites, as the WAL's zeroing ahead makes its appends) and
// fdatasyncs it, then releases the group. It is the reference for the
// engine's durable-send benchmarks (docs/perf.md).

// LoopConfig configures ClosedLoop. Zero values take defaults.
type LoopConfig struct {
	FS          vfs.FS      // default vfs.OS{}
	Dir         string      // where the test file goes (required)
	Clock       clock.Clock // default clock.Real
	Senders     int         // default 64
	MessageSize int         // default 1024
	Duration    time.Duration
	FileSize    int64 // default 256 MiB; the writer wraps around when full
}

// LoopResult is what ClosedLoop measured.
type LoopResult struct {
	Senders     int
	MessageSize int
	Messages    int
	Syncs       int
	Elapsed     time.Duration
}

// MsgsPerSecond is the durable messages per second the senders got.
func (r *LoopResult) MsgsPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Messages) / r.Elapsed.Seconds()
}

// MsgsPerSync is the mean group size.
func (r *LoopResult) MsgsPerSync() float64 {
	if r.Syncs == 0 {
		return 0
	}
	return float64(r.Messages) / float64(r.Syncs)
}

// Report writes a one-paragraph report.
func (r *LoopResult) Report(w io.Writer) {
	fmt.Fprintf(w, "closed loop, %d senders of %d B, minimal group commit: %.0f durable msgs/s, %.1f msgs per fdatasync, %.0f syncs/s\n",
		r.Senders, r.MessageSize, r.MsgsPerSecond(), r.MsgsPerSync(), float64(r.Syncs)/max(r.Elapsed.Seconds(), 1e-9))
}

// ClosedLoop runs the closed-loop measurement described above and removes
// its file.
func ClosedLoop(ctx context.Context, cfg LoopConfig) (*LoopResult, error) {
	var err error
	if cfg.FS, cfg.Clock, err = prepare(cfg.FS, cfg.Clock, cfg.Dir); err != nil {
		return nil, err
	}
	if cfg.Senders <= 0 {
		cfg.Senders = 64
	}
	if cfg.MessageSize <= 0 {
		cfg.MessageSize = 1024
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 3 * time.Second
	}
	if cfg.FileSize <= 0 {
		cfg.FileSize = 256 << 20
	}
	if int64(cfg.Senders*cfg.MessageSize) > cfg.FileSize {
		return nil, fmt.Errorf("diskbench: %d senders of %d B do not fit a %d-byte file", cfg.Senders, cfg.MessageSize, cfg.FileSize)
	}
	name := filepath.Join(cfg.Dir, "baton-diskbench-loop.tmp")
	f, err := zeroedFile(cfg, name)
	if err != nil {
		return nil, err
	}
	defer cfg.FS.Remove(name)
	defer f.Close()

	type waiter struct{ done chan bool } // true: go on; false: stop
	var (
		mu    sync.Mutex
		queue []*waiter
		wake  = make(chan struct{}, 1)
	)
	msg := make([]byte, cfg.MessageSize)
	for i := range msg {
		msg[i] = byte(i)
	}
	var wg sync.WaitGroup
	for range cfg.Senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &waiter{done: make(chan bool, 1)}
			for {
				mu.Lock()
				queue = append(queue, w)
				mu.Unlock()
				select {
				case wake <- struct{}{}:
				default:
				}
				if !<-w.done {
					return
				}
			}
		}()
	}

	res := &LoopResult{Senders: cfg.Senders, MessageSize: cfg.MessageSize}
	buf := make([]byte, 0, cfg.Senders*cfg.MessageSize)
	var spare []*waiter
	var off int64
	var runErr error
	start := cfg.Clock.Now()
	for runErr == nil && ctx.Err() == nil && cfg.Clock.Now().Sub(start) < cfg.Duration {
		mu.Lock()
		batch := queue
		queue = spare[:0]
		mu.Unlock()
		if len(batch) == 0 {
			select {
			case <-wake:
			case <-ctx.Done():
			}
			spare = batch
			continue
		}
		buf = buf[:0]
		for range batch {
			buf = append(buf, msg...) // each sender's message
		}
		if off+int64(len(buf)) > cfg.FileSize {
			off = 0
		}
		if _, err := f.WriteAt(buf, off); err != nil {
			runErr = fmt.Errorf("diskbench: write: %w", err)
		} else if err := f.Sync(); err != nil {
			runErr = fmt.Errorf("diskbench: fdatasync: %w", err)
		}
		off += int64(len(buf))
		if runErr == nil {
			res.Syncs++
			res.Messages += len(batch)
		}
		for _, w := range batch {
			w.done <- runErr == nil
		}
		spare = batch
	}
	res.Elapsed = cfg.Clock.Now().Sub(start)
	// Stop the senders: each is queued, about to be, or gone (released
	// with false by a failed sync).
	allGone := make(chan struct{})
	go func() { wg.Wait(); close(allGone) }()
	for gone := false; !gone; {
		mu.Lock()
		batch := queue
		queue = nil
		mu.Unlock()
		for _, w := range batch {
			w.done <- false
		}
		select {
		case <-wake:
		case <-allGone:
			gone = true
		}
	}
	if runErr != nil {
		return nil, runErr
	}
	return res, ctx.Err()
}

// zeroedFile creates name, writes zeros over its whole size and syncs it,
// so that later writes overwrite blocks the disk has already written.
func zeroedFile(cfg LoopConfig, name string) (vfs.File, error) {
	f, err := cfg.FS.Create(name)
	if err != nil {
		return nil, fmt.Errorf("diskbench: %w", err)
	}
	zeros := make([]byte, 1<<20)
	for off := int64(0); off < cfg.FileSize; off += int64(len(zeros)) {
		n := min(int64(len(zeros)), cfg.FileSize-off)
		if _, err := f.WriteAt(zeros[:n], off); err != nil {
			f.Close()
			return nil, fmt.Errorf("diskbench: zeroing: %w", err)
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("diskbench: %w", err)
	}
	return f, nil
}
