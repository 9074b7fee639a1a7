package wal

import (
	"sync"
	"testing"

	"github.com/batonmq/baton/internal/vfs"
)

// TestCompletionOrder checks the completer's promises: callbacks run in log
// order, and a Sync or Rotate answers only after the callbacks of every
// append queued before it; Close runs every callback before it returns.
func TestCompletionOrder(t *testing.T) {
	t.Parallel()
	for _, mode := range []SyncMode{SyncAlways, SyncNever} {
		l := openT(t, vfs.NewMem(), Config{SyncMode: mode, SegmentSize: 16 << 10})
		var mu sync.Mutex
		var calls []Pos
		const n = 2000
		for i := range n {
			err := l.AppendAsync([][]byte{rec(i)}, func(p []Pos, err error) {
				if err != nil {
					t.Errorf("append %d: %v", i, err)
					return
				}
				mu.Lock()
				calls = append(calls, p[0])
				mu.Unlock()
			})
			if err != nil {
				t.Fatal(err)
			}
			if i%500 == 499 {
				ctl := l.Sync
				if i%1000 == 999 {
					ctl = l.Rotate
				}
				if err := ctl(); err != nil {
					t.Fatal(err)
				}
				mu.Lock()
				got := len(calls)
				mu.Unlock()
				if got != i+1 {
					t.Fatalf("mode %v: after append %d and Sync/Rotate, %d callbacks ran, want %d", mode, i, got, i+1)
				}
			}
		}
		for i := range 100 {
			if err := l.AppendAsync([][]byte{rec(n + i)}, func(p []Pos, err error) {
				mu.Lock()
				calls = append(calls, p[0])
				mu.Unlock()
			}); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		if len(calls) != n+100 {
			t.Fatalf("mode %v: %d callbacks ran before Close returned, want %d", mode, len(calls), n+100)
		}
		for i := 1; i < len(calls); i++ {
			a, b := calls[i-1], calls[i]
			if b.Segment < a.Segment || (b.Segment == a.Segment && b.Offset <= a.Offset) {
				t.Fatalf("mode %v: callback %d at %v ran after %v: not in log order", mode, i, b, a)
			}
		}
		mu.Unlock()
	}
}
