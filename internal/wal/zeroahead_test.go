package wal

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/batonmq/baton/internal/vfs"
)

// Zeroing ahead (Config.ZeroAhead): the writer writes zeros past the
// appends, which changes nothing that a reader or recovery sees.

func TestZeroAhead(t *testing.T) {
	t.Parallel()
	mem := vfs.NewMem()
	cfg := Config{SegmentSize: 64 << 10, ZeroAhead: 8 << 10}
	l := openT(t, mem, cfg)
	ctx := context.Background()
	var want []string
	for i := 0; i < 300; i++ { // about 7 KiB of frames per 300: several chunks
		r := rec(i)
		if _, err := l.Append(ctx, r); err != nil {
			t.Fatal(err)
		}
		want = append(want, string(r))
	}
	st := l.Stats()
	if st.ZeroBytes < 8<<10 || st.ZeroBytes > uint64(cfg.SegmentSize) {
		t.Fatalf("ZeroBytes = %d", st.ZeroBytes)
	}
	if st.Writes != 300 {
		t.Fatalf("Writes = %d, want one per append (zeros not counted)", st.Writes)
	}
	// Past the data the segment reads as zeros, and the zeroed end is ahead
	// of the data by at least half a chunk.
	f, err := mem.Open(segmentPath(testDir, 1))
	if err != nil {
		t.Fatal(err)
	}
	buf, err := readWhole(f)
	_ = f.Close()
	if err != nil {
		t.Fatal(err)
	}
	end := l.segs[0].end.Load()
	if !isZero(buf[end:]) {
		t.Fatal("non-zero bytes past the data")
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	assertRecords(t, mem, want...)
	assertRecordsAfterCrash(t, mem, want...)
}

func TestZeroAheadOffAndZeroFill(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{
		{SegmentSize: 16 << 10, ZeroAhead: -1},
		{SegmentSize: 16 << 10, ZeroFill: true},
	} {
		l := openT(t, vfs.NewMem(), cfg)
		if cfg.ZeroFill {
			if err := l.Rotate(); err != nil { // into a segment zeroed by the preparation
				t.Fatal(err)
			}
		}
		for i := 0; i < 20; i++ {
			if _, err := l.Append(context.Background(), rec(i)); err != nil {
				t.Fatal(err)
			}
		}
		if z := l.Stats().ZeroBytes; z != 0 {
			t.Fatalf("%+v: ZeroBytes = %d, want 0", cfg, z)
		}
	}
}

// A failed write of zeros is a failed write: the append fails, the segment
// is never written again, and the log continues in a new one.
func TestZeroAheadWriteFailure(t *testing.T) {
	t.Parallel()
	mem := vfs.NewMem()
	efs := vfs.NewErrorFS(mem)
	l := openT(t, efs, Config{SegmentSize: testSegSize, ZeroAhead: 4096})
	ctx := context.Background()
	// The first append of a fresh segment writes zeros first: fail that.
	efs.SetInjector(vfs.FailAfter(0, vfs.ErrInjectedIO, vfs.OpWrite))
	if _, err := l.Append(ctx, []byte("failed")); !errors.Is(err, syscall.EIO) {
		t.Fatalf("append: %v, want EIO", err)
	}
	if z := l.Stats().ZeroBytes; z != 0 {
		t.Fatalf("ZeroBytes = %d after a failed zero write", z)
	}
	efs.SetInjector(nil)
	p, err := l.Append(ctx, []byte("after"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Segment != 2 {
		t.Fatalf("append at %v, want segment 2", p)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	assertRecords(t, mem, "after")
	assertRecordsAfterCrash(t, mem, "after")
}

// TestZeroAheadConcurrent runs many appenders with and without zeroing
// ahead, in segments small enough to rotate often, and checks that
// callbacks come in log order and that everything acknowledged, and nothing
// else, survives a crash.
func TestZeroAheadConcurrent(t *testing.T) {
	t.Parallel()
	for _, zero := range []int{-1, 512, 0} {
		t.Run(fmt.Sprintf("zeroahead=%d", zero), func(t *testing.T) {
			t.Parallel()
			mem := vfs.NewMem()
			cfg := Config{SegmentSize: 16 << 10, ZeroAhead: zero}
			l := openT(t, mem, cfg)
			var mu sync.Mutex
			var order []Pos
			acked := map[string]bool{}
			var wg sync.WaitGroup
			const appenders, each = 8, 60
			for a := 0; a < appenders; a++ {
				wg.Add(1)
				go func(a int) {
					defer wg.Done()
					rng := rand.New(rand.NewPCG(uint64(a), uint64(zero)))
					for i := 0; i < each; i++ {
						name := fmt.Sprintf("a%d-%d-%s", a, i, strings.Repeat("x", rng.IntN(200)))
						done := make(chan error, 1)
						err := l.AppendAsync([][]byte{[]byte(name)}, func(p []Pos, err error) {
							mu.Lock()
							if err == nil {
								order = append(order, p[0])
								acked[name] = true
							}
							mu.Unlock()
							done <- err
						})
						if err == nil {
							err = <-done
						}
						if err != nil {
							t.Error(err)
							return
						}
					}
				}(a)
			}
			wg.Wait()
			for i := 1; i < len(order); i++ {
				if order[i-1].Compare(order[i]) >= 0 {
					t.Fatalf("callback %d at %v after %v", i, order[i], order[i-1])
				}
			}
			clone := mem.CrashClone(vfs.CrashOptions{})
			l2 := openT(t, clone, cfg)
			got := replayAll(t, l2)
			if len(got) != appenders*each {
				t.Fatalf("recovered %d of %d acknowledged records", len(got), appenders*each)
			}
			for _, r := range got {
				if !acked[string(r.rec)] {
					t.Fatalf("recovered %q, not acknowledged", r.rec)
				}
			}
		})
	}
}
