package wal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/vfs"
)

// Disk error tests: ENOSPC and EIO from the error-injecting FS. Every
// appender of a failed group gets the error, nothing acknowledged is lost,
// records whose append failed are not replayed, and the log works again once
// the error is cleared.

func TestDiskFullOnWrite(t *testing.T) {
	t.Parallel()
	for _, partial := range []bool{false, true} {
		t.Run(fmt.Sprintf("partial=%v", partial), func(t *testing.T) {
			t.Parallel()
			mem := vfs.NewMem()
			efs := vfs.NewErrorFS(mem)
			efs.SetPartialWrites(partial)
			l := openT(t, efs, Config{SegmentSize: testSegSize})
			ctx := context.Background()
			ok1, err := l.Append(ctx, []byte("before"))
			if err != nil {
				t.Fatal(err)
			}
			efs.SetInjector(vfs.FailOn(vfs.ErrInjectedNoSpace, vfs.OpWrite))
			for i := 0; i < 3; i++ {
				_, err := l.Append(ctx, []byte(fmt.Sprintf("failed-%d", i)))
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("append %d while disk full: %v, want ENOSPC", i, err)
				}
			}
			if err := l.Sync(); err != nil {
				t.Fatalf("Sync with nothing acknowledged pending: %v", err)
			}
			efs.SetInjector(nil) // space returns
			ok2, err := l.Append(ctx, []byte("after"))
			if err != nil {
				t.Fatalf("append after space returned: %v", err)
			}
			if ok2.Segment == ok1.Segment {
				t.Fatalf("log kept appending to the failed segment: %v after %v", ok2, ok1)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			assertRecords(t, mem, "before", "after")
			assertRecordsAfterCrash(t, mem, "before", "after")
		})
	}
}

func TestSyncFailureDisownsData(t *testing.T) {
	t.Parallel()
	mem := vfs.NewMem()
	efs := vfs.NewErrorFS(mem)
	l := openT(t, efs, Config{SegmentSize: testSegSize})
	ctx := context.Background()
	if _, err := l.Append(ctx, []byte("a")); err != nil {
		t.Fatal(err)
	}
	efs.SetInjector(vfs.FailOn(vfs.ErrInjectedIO, vfs.OpSync))
	if _, err := l.Append(ctx, []byte("lost")); !errors.Is(err, syscall.EIO) {
		t.Fatalf("append with failing sync: %v, want EIO", err)
	}
	// Still failing: creating the next segment needs a sync too.
	if _, err := l.Append(ctx, []byte("lost2")); !errors.Is(err, syscall.EIO) {
		t.Fatalf("second append: %v, want EIO", err)
	}
	efs.SetInjector(nil)
	if _, err := l.Append(ctx, []byte("b")); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// "lost" reached the file (the write worked) but its sync failed: the
	// next segment's header disowns it, so it is not replayed even though
	// its bytes are there.
	assertRecords(t, mem, "a", "b")
}

func TestFailedAppendDisownedAtClose(t *testing.T) {
	t.Parallel()
	mem := vfs.NewMem()
	efs := vfs.NewErrorFS(mem)
	l := openT(t, efs, Config{SegmentSize: testSegSize})
	ctx := context.Background()
	if _, err := l.Append(ctx, []byte("a")); err != nil {
		t.Fatal(err)
	}
	efs.SetInjector(vfs.FailAfter(0, vfs.ErrInjectedIO, vfs.OpSync))
	if _, err := l.Append(ctx, []byte("failed")); err == nil {
		t.Fatal("append succeeded with a failing sync")
	}
	efs.SetInjector(nil)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	assertRecords(t, mem, "a")
}

func TestDiskFullAtRotation(t *testing.T) {
	t.Parallel()
	mem := vfs.NewMem()
	efs := vfs.NewErrorFS(mem)
	// The first segment is preallocated by Open; every later preallocation
	// (the background preparation of segment 2, then the retries at
	// rotation) finds the disk full.
	efs.SetInjector(vfs.FailAfter(1, vfs.ErrInjectedNoSpace, vfs.OpPreallocate))
	l := openT(t, efs, Config{SegmentSize: 4096})
	ctx := context.Background()
	var want []string
	rec := bytes.Repeat([]byte("r"), 500)
	for len(l.Segments()) == 1 {
		// Keep filling segment 1; stop filling just before it rotates.
		if _, err := l.Append(ctx, rec); err != nil {
			t.Fatal(err)
		}
		want = append(want, string(rec))
		if len(want) == 7 {
			break
		}
	}
	for i := 0; i < 3; i++ {
		if _, err := l.Append(ctx, rec); !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("append needing a new segment on a full disk: %v", err)
		}
	}
	if names, _ := mem.List(testDir); len(names) != 1 {
		t.Fatalf("failed segment creation left files: %v", names)
	}
	efs.SetInjector(nil)
	if _, err := l.Append(ctx, rec); err != nil {
		t.Fatalf("append after space returned: %v", err)
	}
	want = append(want, string(rec))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	assertRecords(t, mem, want...)
}

func TestConcurrentAppendersDiskFull(t *testing.T) {
	t.Parallel()
	mem := vfs.NewMem()
	efs := vfs.NewErrorFS(mem)
	l := openT(t, efs, Config{SegmentSize: 16 << 10})
	var mu sync.Mutex
	acked := map[string]bool{}
	failed := 0
	var wg sync.WaitGroup
	efs.SetInjector(vfs.FailAfter(40, vfs.ErrInjectedNoSpace, vfs.OpWrite))
	for a := 0; a < 8; a++ {
		wg.Add(1)
		go func(a int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				name := fmt.Sprintf("a%d-%d", a, i)
				_, err := l.Append(context.Background(), []byte(name))
				mu.Lock()
				if err == nil {
					acked[name] = true
				} else {
					if !errors.Is(err, syscall.ENOSPC) {
						t.Errorf("append: %v", err)
					}
					failed++
				}
				mu.Unlock()
			}
		}(a)
	}
	wg.Wait()
	if failed == 0 || len(acked) == 0 {
		t.Fatalf("acked %d, failed %d: the injection did not bite", len(acked), failed)
	}
	efs.SetInjector(nil)
	if _, err := l.Append(context.Background(), []byte("final")); err != nil {
		t.Fatal(err)
	}
	acked["final"] = true
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2 := openT(t, mem, Config{SegmentSize: 16 << 10})
	got := replayAll(t, l2)
	if len(got) != len(acked) {
		t.Fatalf("recovered %d records, acknowledged %d", len(got), len(acked))
	}
	for _, r := range got {
		if !acked[string(r.rec)] {
			t.Fatalf("recovered %q, whose append failed", r.rec)
		}
	}
}

func TestIntervalSyncFailureReported(t *testing.T) {
	t.Parallel()
	fake := clock.NewFake(time.Unix(0, 0))
	synced := make(chan error, 16)
	mem := vfs.NewMem()
	efs := vfs.NewErrorFS(mem)
	l := openT(t, efs, Config{SegmentSize: testSegSize, SyncMode: SyncInterval, Clock: fake,
		hooks: &testHooks{afterSync: func(err error) { synced <- err }}})
	for len(synced) > 0 {
		<-synced
	}
	ctx := context.Background()
	if _, err := l.Append(ctx, []byte("kept")); err != nil {
		t.Fatal(err)
	}
	fake.Advance(DefaultSyncInterval)
	if err := <-synced; err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, []byte("buffered")); err != nil {
		t.Fatal(err)
	}
	efs.SetInjector(vfs.FailOn(vfs.ErrInjectedIO, vfs.OpSync))
	fake.Advance(DefaultSyncInterval)
	if err := <-synced; !errors.Is(err, syscall.EIO) {
		t.Fatalf("interval sync: %v", err)
	}
	efs.SetInjector(nil)
	if err := l.Sync(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("Sync after a failed interval sync: %v, want EIO", err)
	}
	if err := l.Sync(); err != nil {
		t.Fatalf("the failure is reported once: %v", err)
	}
	if _, err := l.Append(ctx, []byte("after")); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	assertRecords(t, mem, "kept", "after")
}

// assertRecords opens the log on fsys as it is and checks its records.
func assertRecords(t *testing.T, fsys vfs.FS, want ...string) {
	t.Helper()
	l, err := Open(fsys, testDir, Config{SegmentSize: testSegSize})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := replayAll(t, l)
	var names []string
	for _, r := range got {
		names = append(names, string(r.rec))
	}
	if fmt.Sprint(names) != fmt.Sprint(want) {
		t.Fatalf("recovered %q, want %q", names, want)
	}
}

func assertRecordsAfterCrash(t *testing.T, mem *vfs.Mem, want ...string) {
	t.Helper()
	assertRecords(t, mem.CrashClone(vfs.CrashOptions{}), want...)
}

func TestRemoveSegmentsFailure(t *testing.T) {
	t.Parallel()
	mem := vfs.NewMem()
	efs := vfs.NewErrorFS(mem)
	l := openT(t, efs, Config{SegmentSize: testSegSize})
	ctx := context.Background()
	var ps []Pos
	for i := 0; i < 4; i++ {
		p, err := l.Append(ctx, rec(i))
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
		if err := l.Rotate(); err != nil {
			t.Fatal(err)
		}
	}
	efs.SetInjector(vfs.FailAfter(1, vfs.ErrInjectedIO, vfs.OpRemove))
	n, err := l.RemoveSegmentsBefore(4)
	if n != 1 || !errors.Is(err, syscall.EIO) {
		t.Fatalf("RemoveSegmentsBefore = %d, %v; want 1, EIO", n, err)
	}
	efs.SetInjector(nil)
	if got := l.Segments(); len(got) != 4 || got[0] != 2 {
		t.Fatalf("Segments = %v", got)
	}
	if b, err := l.ReadAt(ps[1]); err != nil || !bytes.Equal(b, rec(1)) {
		t.Fatalf("ReadAt of a segment whose removal failed: %q, %v", b, err)
	}
	if n, err := l.RemoveSegmentsBefore(4); n != 2 || err != nil {
		t.Fatalf("retry = %d, %v", n, err)
	}
	got := replayAll(t, l)
	if len(got) != 1 || !bytes.Equal(got[0].rec, rec(3)) {
		t.Fatalf("replayed %d records", len(got))
	}
}
