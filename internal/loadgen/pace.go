package loadgen

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/batonmq/baton/internal/clock"
)

// schedule hands out intended send times: one every interval from start,
// shared by every producer goroutine of an open-loop run. A goroutine that
// claims a time already past sends at once, and its latency still counts
// from the intended time.
type schedule struct {
	start    time.Time
	interval time.Duration
	n        atomic.Int64
}

func newSchedule(start time.Time, rate float64) *schedule {
	return &schedule{start: start, interval: time.Duration(float64(time.Second) / rate)}
}

// claim returns the next intended send time.
func (s *schedule) claim() time.Time {
	k := s.n.Add(1) - 1
	return s.start.Add(time.Duration(k) * s.interval)
}

// waitUntil blocks until clk reaches t or ctx ends.
func waitUntil(ctx context.Context, clk clock.Clock, t time.Time) error {
	d := t.Sub(clk.Now())
	if d <= 0 {
		return ctx.Err()
	}
	tm := clk.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sendFunc sends one message stamped with the time its latency counts
// from, and returns when the broker has acknowledged it.
type sendFunc func(ctx context.Context, stamp time.Time) error

// pacedLoop is one open-loop producer goroutine: claim an intended time,
// wait for it (unless it is already past), send, and record the latency
// from the intended time to the acknowledgement.
func pacedLoop(ctx context.Context, clk clock.Clock, s *schedule, send sendFunc, record func(intended time.Time, latency time.Duration)) error {
	for {
		intended := s.claim()
		if err := waitUntil(ctx, clk, intended); err != nil {
			return err
		}
		if err := send(ctx, intended); err != nil {
			return err
		}
		record(intended, clk.Now().Sub(intended))
	}
}

// closedLoop is one closed-loop producer goroutine: send as soon as the
// previous send was acknowledged; latency counts from the start of the send.
func closedLoop(ctx context.Context, clk clock.Clock, send sendFunc, record func(start time.Time, latency time.Duration)) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		start := clk.Now()
		if err := send(ctx, start); err != nil {
			return err
		}
		record(start, clk.Now().Sub(start))
	}
}
