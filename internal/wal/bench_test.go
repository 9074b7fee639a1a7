package wal

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/vfs"
)

// Benchmarks on the real disk (b.TempDir, vfs.OS{}). Run them with a
// bounded time, e.g.:
//
//	go test -run '^$' -bench . -benchtime 2s ./internal/wal/

// BenchmarkFdatasync measures the raw cost of one durable round trip on this
// disk: a 4 KiB write into a preallocated file followed by fdatasync.
func BenchmarkFdatasync(b *testing.B) {
	for _, size := range []int{1 << 10, 4 << 10} {
		b.Run(fmt.Sprintf("write=%dKiB", size>>10), func(b *testing.B) {
			f, err := vfs.OS{}.Create(filepath.Join(b.TempDir(), "sync"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			const fileSize = 64 << 20
			if err := f.Preallocate(0, fileSize); err != nil {
				b.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, size)
			lat := make([]time.Duration, 0, b.N)
			var off int64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := f.WriteAt(buf, off); err != nil {
					b.Fatal(err)
				}
				off = (off + int64(size)) % fileSize
				start := time.Now()
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			reportPercentiles(b, lat, "sync")
		})
	}
}

func reportPercentiles(b *testing.B, lat []time.Duration, what string) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	at := func(q float64) float64 {
		i := int(q * float64(len(lat)-1))
		return float64(lat[i]) / float64(time.Microsecond)
	}
	b.ReportMetric(at(0.50), what+"-p50-µs")
	b.ReportMetric(at(0.99), what+"-p99-µs")
}

// BenchmarkAppendDurable measures 1 KiB appends that each wait for their
// fdatasync (SyncAlways), from 1 to 256 concurrent appenders, on the real
// disk. records/s is the throughput; syncs/record shows group commit at
// work (1.0 for a lone appender, falling with concurrency).
func BenchmarkAppendDurable(b *testing.B) {
	for _, n := range []int{1, 16, 64, 256} {
		b.Run(fmt.Sprintf("appenders=%d", n), func(b *testing.B) {
			benchAppend(b, Config{}, n, 1<<10)
		})
	}
}

// BenchmarkAppendDurableNoZeroAhead is BenchmarkAppendDurable without
// zeroing ahead (Config.ZeroAhead < 0): appends land in preallocated,
// unwritten extents, as before zeroing ahead existed.
func BenchmarkAppendDurableNoZeroAhead(b *testing.B) {
	for _, n := range []int{1, 64, 256} {
		b.Run(fmt.Sprintf("appenders=%d", n), func(b *testing.B) {
			benchAppend(b, Config{ZeroAhead: -1}, n, 1<<10)
		})
	}
}

// BenchmarkAppendDurableZeroFill is BenchmarkAppendDurable with
// Config.ZeroFill. The first segment is created by Open without the
// background preparation, so it is rotated away before timing starts.
func BenchmarkAppendDurableZeroFill(b *testing.B) {
	for _, n := range []int{1, 64} {
		b.Run(fmt.Sprintf("appenders=%d", n), func(b *testing.B) {
			benchAppend(b, Config{ZeroFill: true}, n, 1<<10)
		})
	}
}

// BenchmarkAppendBuffered is the same with SyncInterval (write to the OS,
// fdatasync every 100ms), for comparison.
func BenchmarkAppendBuffered(b *testing.B) {
	for _, n := range []int{1, 64} {
		b.Run(fmt.Sprintf("appenders=%d", n), func(b *testing.B) {
			benchAppend(b, Config{SyncMode: SyncInterval}, n, 1<<10)
		})
	}
}

// BenchmarkAppendCPU runs the durable append path on the in-memory FS,
// where a sync costs next to nothing: it measures the log's own CPU cost per
// record. The memory FS keeps every byte written, so run it with a fixed
// count (-benchtime 200000x), not a duration.
func BenchmarkAppendCPU(b *testing.B) {
	for _, n := range []int{1, 64} {
		b.Run(fmt.Sprintf("appenders=%d", n), func(b *testing.B) {
			benchAppendFS(b, vfs.NewMem(), "/wal", Config{}, n, 1<<10)
		})
	}
}

func benchAppend(b *testing.B, cfg Config, appenders, size int) {
	benchAppendFS(b, vfs.OS{}, b.TempDir(), cfg, appenders, size)
}

func benchAppendFS(b *testing.B, fsys vfs.FS, dir string, cfg Config, appenders, size int) {
	l, err := Open(fsys, dir, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	rec := make([]byte, size)
	for i := range rec {
		rec[i] = byte(i)
	}
	if cfg.ZeroFill {
		// Move to a segment made by the (zero-filling) preparation.
		if err := l.Rotate(); err != nil {
			b.Fatal(err)
		}
	}
	base := l.Stats()
	var next atomic.Int64
	lats := make([][]time.Duration, appenders)
	var wg sync.WaitGroup
	b.SetBytes(int64(size))
	b.ResetTimer()
	start := time.Now()
	for a := 0; a < appenders; a++ {
		wg.Add(1)
		go func(a int) {
			defer wg.Done()
			ctx := context.Background()
			for next.Add(1) <= int64(b.N) {
				t0 := time.Now()
				if _, err := l.Append(ctx, rec); err != nil {
					b.Error(err)
					return
				}
				lats[a] = append(lats[a], time.Since(t0))
			}
		}(a)
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	s := l.Stats()
	records := float64(s.Records - base.Records)
	b.ReportMetric(records/elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(s.Syncs-base.Syncs)/records, "syncs/record")
	h := s.SyncLatency
	b.ReportMetric(float64(h.Quantile(0.5))/float64(time.Microsecond), "sync-p50-µs")
	b.ReportMetric(float64(h.Quantile(0.99))/float64(time.Microsecond), "sync-p99-µs")
	b.ReportMetric(float64(h.Max)/float64(time.Microsecond), "sync-max-µs")
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	reportPercentiles(b, all, "append")
}

// buildLog writes n records of size bytes to a new log in dir, quickly
// (SyncNever, pipelined with AppendAsync), and closes it.
func buildLog(tb testing.TB, fsys vfs.FS, dir string, n, size int) {
	tb.Helper()
	l, err := Open(fsys, dir, Config{SyncMode: SyncNever})
	if err != nil {
		tb.Fatal(err)
	}
	rec := make([]byte, size)
	var wg sync.WaitGroup
	var failed atomic.Value
	wg.Add(n)
	for i := 0; i < n; i++ {
		rec[0], rec[1], rec[2] = byte(i), byte(i>>8), byte(i>>16)
		err := l.AppendAsync([][]byte{rec}, func(_ []Pos, err error) {
			if err != nil {
				failed.Store(err)
			}
			wg.Done()
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		tb.Fatal(err)
	}
	if err := l.Close(); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkReplay1M measures recovery: Open plus Replay of a log of one
// million 64-byte records on the real disk (page cache warm; Open's one
// fdatasync included, Close excluded). The target is well under 2 s per
// million.
func BenchmarkReplay1M(b *testing.B) {
	const n = 1_000_000
	dir := b.TempDir()
	buildLog(b, vfs.OS{}, dir, n, 64)
	b.ResetTimer()
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		l, err := Open(vfs.OS{}, dir, Config{})
		if err != nil {
			b.Fatal(err)
		}
		count := 0
		if err := l.Replay(func(Pos, []byte) error { count++; return nil }); err != nil {
			b.Fatal(err)
		}
		if count != n {
			b.Fatalf("replayed %d records, want %d", count, n)
		}
		b.StopTimer()
		elapsed += time.Since(start)
		if err := l.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	per := elapsed / time.Duration(b.N)
	b.ReportMetric(float64(per)/float64(time.Millisecond), "ms/1M-records")
	b.ReportMetric(float64(n)/per.Seconds(), "records/s")
}
