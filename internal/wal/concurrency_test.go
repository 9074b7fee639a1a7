package wal

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/batonmq/baton/internal/vfs"
)

func TestConcurrentAppendReadRotate(t *testing.T) {
	t.Parallel()
	fsys := vfs.NewMem()
	cfg := Config{SegmentSize: 32 << 10}
	l := openT(t, fsys, cfg)
	const appenders, perAppender = 16, 200
	var wg sync.WaitGroup
	var mu sync.Mutex
	all := map[Pos]string{}
	for a := 0; a < appenders; a++ {
		wg.Add(1)
		go func(a int) {
			defer wg.Done()
			for i := 0; i < perAppender; i++ {
				name := fmt.Sprintf("a%02d-%04d", a, i)
				p, err := l.Append(context.Background(), []byte(name))
				if err != nil {
					t.Error(err)
					return
				}
				got, err := l.ReadAt(p)
				if err != nil || string(got) != name {
					t.Errorf("ReadAt(%v) = %q, %v; want %q", p, got, err, name)
					return
				}
				mu.Lock()
				all[p] = name
				mu.Unlock()
			}
		}(a)
	}
	// Housekeeping racing with the appenders.
	stop := make(chan struct{})
	var hk sync.WaitGroup
	hk.Add(1)
	go func() {
		defer hk.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			switch i % 3 {
			case 0:
				if err := l.Rotate(); err != nil {
					t.Error(err)
				}
			case 1:
				if err := l.Sync(); err != nil {
					t.Error(err)
				}
			case 2:
				_ = l.Stats()
				_ = l.Segments()
			}
		}
	}()
	wg.Wait()
	close(stop)
	hk.Wait()
	s := l.Stats()
	if s.Records != appenders*perAppender {
		t.Fatalf("Records = %d", s.Records)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2 := openT(t, fsys, cfg)
	got := replayAll(t, l2)
	if len(got) != len(all) {
		t.Fatalf("replayed %d, appended %d", len(got), len(all))
	}
	last := map[string]int{}
	for _, r := range got {
		if all[r.pos] != string(r.rec) {
			t.Fatalf("at %v: %q, want %q", r.pos, r.rec, all[r.pos])
		}
		// Each appender's records are in its own order.
		var a, i int
		fmt.Sscanf(string(r.rec), "a%02d-%04d", &a, &i)
		key := fmt.Sprint(a)
		if prev, ok := last[key]; ok && prev >= i {
			t.Fatalf("appender %d: record %d after %d", a, i, prev)
		}
		last[key] = i
	}
}

func TestGroupCommitSharesSyncs(t *testing.T) {
	t.Parallel()
	// Appenders queue while the writer syncs, so with many of them a sync
	// serves several records. AppendAsync makes this deterministic: queue
	// everything first, then let the writer run.
	l := openT(t, vfs.NewMem(), Config{SegmentSize: testSegSize})
	base := l.Stats().Syncs
	const n = 1000
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		err := l.AppendAsync([][]byte{rec(i)}, func(p []Pos, err error) {
			if err != nil {
				t.Error(err)
			}
			wg.Done()
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	s := l.Stats()
	if s.Records != n || s.Syncs-base >= n/4 {
		t.Fatalf("%d records took %d syncs: group commit is not batching", s.Records, s.Syncs-base)
	}
	got := replayAll(t, l)
	for i, r := range got {
		if !bytes.Equal(r.rec, rec(i)) {
			t.Fatalf("record %d = %q: AppendAsync order not kept", i, r.rec)
		}
	}
}

func TestBackpressure(t *testing.T) {
	t.Parallel()
	// A tiny queue limit: appends block until the writer drains, and all
	// of them still complete.
	l := openT(t, vfs.NewMem(), Config{SegmentSize: testSegSize, MaxQueueBytes: 256})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if _, err := l.Append(context.Background(), bytes.Repeat([]byte("x"), 100)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if s := l.Stats(); s.Records != 400 {
		t.Fatalf("Records = %d", s.Records)
	}
}

func TestCloseWhileAppending(t *testing.T) {
	t.Parallel()
	fsys := vfs.NewMem()
	l, err := Open(fsys, testDir, Config{SegmentSize: testSegSize})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var acked []string
	started := make(chan struct{}, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; ; i++ {
				name := fmt.Sprintf("g%d-%d", g, i)
				if _, err := l.Append(context.Background(), []byte(name)); err != nil {
					return // ErrClosed
				}
				mu.Lock()
				acked = append(acked, name)
				mu.Unlock()
				if i == 5 {
					started <- struct{}{}
				}
			}
		}(g)
	}
	for g := 0; g < 8; g++ {
		<-started
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	l2 := openT(t, fsys, Config{SegmentSize: testSegSize})
	got := map[string]bool{}
	for _, r := range replayAll(t, l2) {
		got[string(r.rec)] = true
	}
	for _, name := range acked {
		if !got[name] {
			t.Fatalf("acknowledged %q lost across Close", name)
		}
	}
}
