// Package gctune gives the garbage collector room on small heaps.
//
// With Go's default GOGC=100 a collection starts whenever the heap has grown
// by as much as was live after the previous one. A broker's live heap is
// often small (tens of MiB: the index, the hot bodies, the connections)
// while it allocates quickly (a few KiB per message in flight), so it
// collects hundreds of times a second and marking costs 8–10% of its CPU
// (docs/perf.md). The Tuner watches the live heap and raises the GC percent
// so that at least Headroom bytes may be allocated between collections,
// within [100, MaxPercent]: a 50 MiB live heap with 256 MiB of headroom runs
// at GOGC≈512; a heap of 256 MiB or more runs at Go's default, so memory
// stays proportional to the live data where it matters.
//
// It changes nothing when the GOGC environment variable is set (the
// operator chose) and puts the previous setting back when stopped.
package gctune

import (
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"

	"github.com/batonmq/baton/internal/clock"
)

// Config tunes a Tuner. Zero fields take the defaults.
type Config struct {
	// Headroom is how many bytes may at least be allocated between two
	// collections (default 256 MiB).
	Headroom int64
	// MaxPercent caps the GC percent (default 800).
	MaxPercent int
	// Interval is how often the live heap is read (default 1 s).
	Interval time.Duration
	Clock    clock.Clock // default clock.Real
}

func (c Config) withDefaults() Config {
	if c.Headroom <= 0 {
		c.Headroom = 256 << 20
	}
	if c.MaxPercent < 100 {
		c.MaxPercent = 800
	}
	if c.Interval <= 0 {
		c.Interval = time.Second
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	return c
}

// Percent is the GC percent that lets headroom bytes be allocated on top of
// a live heap of live bytes, within [100, maxPercent].
func Percent(live, headroom int64, maxPercent int) int {
	if live <= 0 {
		return maxPercent
	}
	p := headroom * 100 / live
	switch {
	case p < 100:
		return 100
	case p > int64(maxPercent):
		return maxPercent
	}
	return int(p)
}

// Tuner adjusts the GC percent from a goroutine until Stop.
type Tuner struct {
	cfg     Config
	set     func(int) int // debug.SetGCPercent
	live    func() int64
	prev    int
	current int
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// Start starts a Tuner. It returns nil, and changes nothing, when gogcSet
// (the operator set GOGC in the environment).
func Start(cfg Config, gogcSet bool) *Tuner {
	if gogcSet {
		return nil
	}
	return start(cfg.withDefaults(), debug.SetGCPercent, liveHeap)
}

func start(cfg Config, set func(int) int, live func() int64) *Tuner {
	t := &Tuner{cfg: cfg, set: set, live: live, stop: make(chan struct{}), done: make(chan struct{})}
	t.current = Percent(live(), cfg.Headroom, cfg.MaxPercent)
	t.prev = set(t.current)
	go t.run()
	return t
}

func (t *Tuner) run() {
	defer close(t.done)
	for {
		tm := t.cfg.Clock.NewTimer(t.cfg.Interval)
		select {
		case <-t.stop:
			tm.Stop()
			return
		case <-tm.C():
		}
		if p := Percent(t.live(), t.cfg.Headroom, t.cfg.MaxPercent); p != t.current {
			t.current = p
			t.set(p)
		}
	}
}

// Stop ends the tuning and restores the GC percent found at Start. A nil
// Tuner is stopped.
func (t *Tuner) Stop() {
	if t == nil {
		return
	}
	t.once.Do(func() {
		close(t.stop)
		<-t.done
		t.set(t.prev)
	})
}

// liveHeap reads the heap marked live by the last collection.
func liveHeap() int64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
}
