package loadgen

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/clock"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// A broker that takes 3 ms per send, driven at one send per ms: the loop
// never waits (it is always behind), and each latency counts from the
// intended time, so it grows by 2 ms per message — what a user at that
// rate would see. Measured from the actual send start (coordinated
// omission) every latency would read 3 ms.
func TestOpenLoopChargesTheStall(t *testing.T) {
	clk := clock.NewFake(t0)
	s := newSchedule(t0, 1000)
	var intended []time.Time
	var lats []time.Duration
	var sendStarts []time.Time
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	send := func(ctx context.Context, stamp time.Time) error {
		sendStarts = append(sendStarts, clk.Now())
		clk.Advance(3 * time.Millisecond)
		if len(sendStarts) == 5 {
			cancel()
		}
		return nil
	}
	err := pacedLoop(ctx, clk, s, send, func(it time.Time, lat time.Duration) {
		intended = append(intended, it)
		lats = append(lats, lat)
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("pacedLoop = %v, want context.Canceled", err)
	}
	for k := range 5 {
		if want := t0.Add(time.Duration(k) * time.Millisecond); !intended[k].Equal(want) {
			t.Errorf("message %d intended at %v, want %v", k, intended[k].Sub(t0), want.Sub(t0))
		}
		if want := t0.Add(time.Duration(3*k) * time.Millisecond); !sendStarts[k].Equal(want) {
			t.Errorf("message %d sent at %v, want %v (no waiting when behind)", k, sendStarts[k].Sub(t0), want.Sub(t0))
		}
		// acked at 3(k+1) ms, intended at k ms.
		if want := time.Duration(2*k+3) * time.Millisecond; lats[k] != want {
			t.Errorf("message %d latency %v, want %v", k, lats[k], want)
		}
	}
}

// Ahead of schedule the loop waits for each intended time and sends then:
// with an instant broker every latency is zero and every send happens at
// its intended time.
func TestOpenLoopWaitsForIntendedTimes(t *testing.T) {
	clk := clock.NewFake(t0)
	s := newSchedule(t0.Add(10*time.Millisecond), 200) // every 5 ms from t0+10ms
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	sends := make(chan time.Time, 100)
	lats := make(chan time.Duration, 100)
	done := make(chan error, 1)
	go func() {
		done <- pacedLoop(ctx, clk, s, func(ctx context.Context, stamp time.Time) error {
			sends <- clk.Now()
			return nil
		}, func(_ time.Time, lat time.Duration) { lats <- lat })
	}()
	// The loop waits on one timer per message (it makes the next one only
	// after the previous send), so when a timer is pending every earlier
	// send has been made. Move the clock 1 ms at a time: a send can only
	// happen on its intended millisecond.
	var sendTimes []time.Time
	for len(sendTimes) < 4 {
		clk.BlockUntil(1)
		for len(sends) > 0 {
			sendTimes = append(sendTimes, <-sends)
		}
		if len(sendTimes) < 4 {
			clk.Advance(time.Millisecond)
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("pacedLoop = %v", err)
	}
	if len(sendTimes) != 4 {
		t.Fatalf("%d sends, want 4", len(sendTimes))
	}
	for k, st := range sendTimes {
		if want := t0.Add(time.Duration(10+5*k) * time.Millisecond); !st.Equal(want) {
			t.Errorf("send %d at %v, want %v", k, st.Sub(t0), want.Sub(t0))
		}
		if lat := <-lats; lat != 0 {
			t.Errorf("send %d latency %v, want 0", k, lat)
		}
	}
}

// The schedule is shared: concurrent claims get distinct, evenly spaced
// intended times.
func TestScheduleClaimsAreDistinct(t *testing.T) {
	s := newSchedule(t0, 4000) // 250 µs apart
	seen := map[time.Time]bool{}
	ch := make(chan time.Time, 400)
	for range 4 {
		go func() {
			for range 100 {
				ch <- s.claim()
			}
		}()
	}
	for range 400 {
		seen[<-ch] = true
	}
	if len(seen) != 400 {
		t.Fatalf("%d distinct intended times of 400", len(seen))
	}
	for k := range 400 {
		if !seen[t0.Add(time.Duration(k)*250*time.Microsecond)] {
			t.Errorf("intended time %d missing", k)
		}
	}
}

func TestStampRoundTrip(t *testing.T) {
	b := make([]byte, 16)
	at := t0.Add(123456789)
	stamp(b, at)
	got, ok := stampOf(b)
	if !ok || !got.Equal(at) {
		t.Errorf("stampOf = %v %v, want %v", got, ok, at)
	}
	if _, ok := stampOf(b[:7]); ok {
		t.Error("a 7-byte body carries no stamp")
	}
}

func TestParseProc(t *testing.T) {
	stat := []byte("4242 (baton (x) y) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 12 0 100 1000000 2000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0")
	cpu, err := parseStatCPU(stat)
	if err != nil || cpu != 3250*time.Millisecond {
		t.Errorf("parseStatCPU = %v, %v; want 3.25s (250 + 75 ticks)", cpu, err)
	}
	if _, err := parseStatCPU([]byte("garbage")); err == nil {
		t.Error("no error for a stat line without a command")
	}
	rss, err := parseStatusRSS([]byte("Name:\tbaton\nVmPeak:\t 9 kB\nVmRSS:\t   2048 kB\n"))
	if err != nil || rss != 2048<<10 {
		t.Errorf("parseStatusRSS = %d, %v", rss, err)
	}
	if _, err := parseStatusRSS([]byte("Name:\tx\n")); err == nil {
		t.Error("no error without VmRSS")
	}
}
