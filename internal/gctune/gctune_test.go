package gctune

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/batonmq/baton/internal/clock"
)

func TestPercent(t *testing.T) {
	for _, c := range []struct {
		live, headroom int64
		max, want      int
	}{
		{0, 256 << 20, 800, 800},
		{10 << 20, 256 << 20, 800, 800},
		{50 << 20, 256 << 20, 800, 512},
		{256 << 20, 256 << 20, 800, 100},
		{2 << 30, 256 << 20, 800, 100},
		{128 << 20, 256 << 20, 150, 150},
	} {
		if got := Percent(c.live, c.headroom, c.max); got != c.want {
			t.Errorf("Percent(%d, %d, %d) = %d; want %d", c.live, c.headroom, c.max, got, c.want)
		}
	}
}

// TestTunerFollowsLiveHeap drives a Tuner with a fake live heap on a
// synctest clock: the percent follows the heap at each interval, and Stop
// restores the setting found at Start.
func TestTunerFollowsLiveHeap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		gc := 100
		var sets []int
		set := func(p int) int {
			mu.Lock()
			defer mu.Unlock()
			old := gc
			gc = p
			sets = append(sets, p)
			return old
		}
		live := int64(64 << 20)
		var liveMu sync.Mutex
		read := func() int64 { liveMu.Lock(); defer liveMu.Unlock(); return live }
		tu := start(Config{Headroom: 256 << 20, MaxPercent: 800, Interval: time.Second, Clock: clock.Real{}}, set, read)
		check := func(want int) {
			t.Helper()
			mu.Lock()
			defer mu.Unlock()
			if gc != want {
				t.Fatalf("GC percent = %d; want %d (sets %v)", gc, want, sets)
			}
		}
		check(400)
		liveMu.Lock()
		live = 1 << 30
		liveMu.Unlock()
		time.Sleep(1500 * time.Millisecond) // synctest: virtual time
		synctest.Wait()
		check(100)
		liveMu.Lock()
		live = 16 << 20
		liveMu.Unlock()
		time.Sleep(time.Second)
		synctest.Wait()
		check(800)
		tu.Stop()
		check(100) // the percent found at Start
		tu.Stop()  // idempotent
	})
}

func TestStartRespectsGOGC(t *testing.T) {
	if tu := Start(Config{}, true); tu != nil {
		t.Fatal("Start tuned although GOGC is set")
	}
	var tu *Tuner
	tu.Stop() // a nil Tuner stops
}
