// Package diskbench measures the physical limit of a durable broker on one
// disk: how long an fdatasync of a small write takes, and the group-commit
// throughput that latency allows. `baton bench disk` prints its report.
package diskbench

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"time"

	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/vfs"
)

// Config configures a run. Zero values take defaults.
type Config struct {
	FS         vfs.FS      // default vfs.OS{}
	Dir        string      // where the test file goes (required)
	Clock      clock.Clock // default clock.Real
	WriteSize  int         // bytes written before each sync (default 1024)
	Duration   time.Duration
	MaxSyncs   int   // stop after this many syncs (default 100000)
	FileSize   int64 // preallocated file size (default 64 MiB)
	NoPrealloc bool  // skip preallocation (the WAL preallocates its segments)
	// Overwrite rewrites the same file from the start when it is full.
	// Without it (the default) a full file is replaced by a new
	// preallocated one, so that every write lands in a fresh, unwritten
	// extent, as the WAL's appends do; fdatasync then also commits the
	// extent conversion, which overwrites do not pay.
	Overwrite bool
}

// Result is what a run measured.
type Result struct {
	Dir       string
	Mode      string // "fresh extents" (like WAL appends) or "overwrite"
	WriteSize int
	Syncs     int
	Elapsed   time.Duration
	Latencies []time.Duration // sorted
}

// Quantile returns the q-quantile of the sync latencies.
func (r *Result) Quantile(q float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := int(q * float64(len(r.Latencies)-1))
	return r.Latencies[i]
}

// SyncsPerSecond is the rate of back-to-back write+fdatasync rounds: the
// ceiling for one sender that waits for its own fsync.
func (r *Result) SyncsPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Syncs) / r.Elapsed.Seconds()
}

// GroupCommitCeiling is the durable messages/s that n concurrent senders
// could reach if every sync carried one message from each of them: n
// messages per median sync.
func (r *Result) GroupCommitCeiling(n int) float64 {
	p50 := r.Quantile(0.5)
	if p50 <= 0 {
		return 0
	}
	return float64(n) / p50.Seconds()
}

// Run writes and fdatasyncs a file in cfg.Dir until the duration or the
// sync count is reached, then removes the file.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	var err error
	if cfg.FS, cfg.Clock, err = prepare(cfg.FS, cfg.Clock, cfg.Dir); err != nil {
		return nil, err
	}
	if cfg.WriteSize <= 0 {
		cfg.WriteSize = 1024
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 3 * time.Second
	}
	if cfg.MaxSyncs <= 0 {
		cfg.MaxSyncs = 100000
	}
	if cfg.FileSize <= 0 {
		cfg.FileSize = 64 << 20
	}
	name := filepath.Join(cfg.Dir, "baton-diskbench.tmp")
	f, err := freshFile(cfg, name, nil)
	if err != nil {
		return nil, err
	}
	defer cfg.FS.Remove(name)
	defer func() { f.Close() }()
	buf := make([]byte, cfg.WriteSize)
	for i := range buf {
		buf[i] = byte(i)
	}
	res := &Result{Dir: cfg.Dir, WriteSize: cfg.WriteSize, Mode: "fresh preallocated extents, as WAL appends"}
	if cfg.Overwrite {
		res.Mode = "overwriting written blocks"
	}
	start := cfg.Clock.Now()
	var off int64
	for res.Syncs < cfg.MaxSyncs && ctx.Err() == nil {
		t0 := cfg.Clock.Now()
		if t0.Sub(start) >= cfg.Duration {
			break
		}
		if off+int64(len(buf)) > cfg.FileSize {
			off = 0
			if !cfg.Overwrite {
				if f, err = freshFile(cfg, name, f); err != nil {
					return nil, err
				}
			}
		}
		if _, err := f.WriteAt(buf, off); err != nil {
			return nil, fmt.Errorf("diskbench: write: %w", err)
		}
		if err := f.Sync(); err != nil {
			return nil, fmt.Errorf("diskbench: fdatasync: %w", err)
		}
		off += int64(len(buf))
		res.Latencies = append(res.Latencies, cfg.Clock.Now().Sub(t0))
		res.Syncs++
	}
	res.Elapsed = cfg.Clock.Now().Sub(start)
	slices.Sort(res.Latencies)
	return res, nil
}

// prepare checks the directory, creates it and fills in the default
// filesystem and clock.
func prepare(fs vfs.FS, clk clock.Clock, dir string) (vfs.FS, clock.Clock, error) {
	if dir == "" {
		return nil, nil, fmt.Errorf("diskbench: no directory")
	}
	if fs == nil {
		fs = vfs.OS{}
	}
	if clk == nil {
		clk = clock.Real{}
	}
	if err := fs.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("diskbench: %w", err)
	}
	return fs, clk, nil
}

// freshFile closes old (if any) and creates name anew, preallocated and
// synced, so that writes to it land in unwritten extents.
func freshFile(cfg Config, name string, old vfs.File) (vfs.File, error) {
	if old != nil {
		old.Close()
	}
	f, err := cfg.FS.Create(name)
	if err != nil {
		return nil, fmt.Errorf("diskbench: %w", err)
	}
	if !cfg.NoPrealloc {
		if err := f.Preallocate(0, cfg.FileSize); err != nil {
			f.Close()
			return nil, fmt.Errorf("diskbench: preallocate: %w", err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, fmt.Errorf("diskbench: %w", err)
		}
	}
	return f, nil
}

// Report writes a human-readable report.
func (r *Result) Report(w io.Writer) {
	fmt.Fprintf(w, "disk: %s (%s)\n", r.Dir, r.Mode)
	fmt.Fprintf(w, "write %d B + fdatasync, back to back: %d syncs in %v = %.0f syncs/s\n",
		r.WriteSize, r.Syncs, r.Elapsed.Round(time.Millisecond), r.SyncsPerSecond())
	fmt.Fprintf(w, "fdatasync latency: p50 %v  p90 %v  p99 %v  p99.9 %v  max %v\n",
		r.Quantile(0.5).Round(time.Microsecond), r.Quantile(0.9).Round(time.Microsecond), r.Quantile(0.99).Round(time.Microsecond),
		r.Quantile(0.999).Round(time.Microsecond), r.Quantile(1).Round(time.Microsecond))
	fmt.Fprintln(w, "group-commit ceiling (n senders, one message each per median sync):")
	for _, n := range []int{1, 16, 64, 256} {
		fmt.Fprintf(w, "  %4d senders: %10.0f durable msgs/s\n", n, r.GroupCommitCeiling(n))
	}
}
