package loadgen

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"
)

// window is a measured window in progress.
type window struct {
	start              time.Time
	sent0, recv0, ab0  uint64
	proc0              ProcSample
	procOK             bool
	peakRSS            int64
	stats0             BrokerStats
	statsOK            bool
	self0              ProcSample // this process (the load generator)
	selfOK             bool
	lastTick           time.Time
	lastSent, lastRecv uint64
	phaseStart         time.Time
	phaseName          string
	measuring          bool
}

// begin starts a measured window: histograms are reset and the counters,
// the broker's CPU and its fsync count are read.
func (r *runner) begin(ctx context.Context, name string) *window {
	r.sendAck.Reset()
	r.e2e.Reset()
	r.settle.Reset()
	w := &window{start: r.clk.Now(), sent0: r.sent.Load(), recv0: r.received.Load(), ab0: r.abandoned.Load(), phaseName: name, measuring: true}
	w.lastTick, w.lastSent, w.lastRecv, w.phaseStart = w.start, w.sent0, w.recv0, w.start
	if r.cfg.BrokerPID > 0 {
		if p, err := ReadProc(r.cfg.BrokerPID); err == nil {
			w.proc0, w.procOK, w.peakRSS = p, true, p.RSS
		}
	}
	if sr, ok := r.d.(StatsReader); ok {
		if s, err := sr.BrokerStats(ctx); err == nil {
			w.stats0, w.statsOK = s, true
		}
	}
	if p, err := ReadProc(os.Getpid()); err == nil {
		w.self0, w.selfOK = p, true
	}
	return w
}

// end closes the window and returns its figures.
func (r *runner) end(ctx context.Context, w *window) Phase {
	now := r.clk.Now()
	p := Phase{Name: w.phaseName, Elapsed: now.Sub(w.start), Sent: r.sent.Load() - w.sent0, Received: r.received.Load() - w.recv0,
		Abandoned: r.abandoned.Load() - w.ab0, SendAck: r.sendAck.Summary(), EndToEnd: r.e2e.Summary(), Settle: r.settle.Summary(),
		BrokerCPU: -1, ClientCPU: -1, Syncs: -1}
	if s := p.Elapsed.Seconds(); s > 0 {
		p.SendRate = float64(p.Sent) / s
		p.RecvRate = float64(p.Received) / s
	}
	if w.procOK {
		if pr, err := ReadProc(r.cfg.BrokerPID); err == nil {
			p.BrokerCPU = (pr.CPU - w.proc0.CPU).Seconds() / p.Elapsed.Seconds()
			p.BrokerRSS = max(w.peakRSS, pr.RSS)
		}
	}
	if w.selfOK {
		if pr, err := ReadProc(os.Getpid()); err == nil {
			p.ClientCPU = (pr.CPU - w.self0.CPU).Seconds() / p.Elapsed.Seconds()
		}
	}
	if w.statsOK {
		if s, err := r.d.(StatsReader).BrokerStats(ctx); err == nil {
			p.Syncs = int64(s.Syncs - w.stats0.Syncs)
			moved := p.Sent
			if moved == 0 {
				moved = p.Received
			}
			if moved > 0 {
				p.SyncsPerMessage = float64(p.Syncs) / float64(moved)
			}
		}
	}
	return p
}

// watch waits until deadline (zero: none) or done is closed, reporting
// progress about once a second; w is the measured window (nil during
// warm-up, with phaseStart the phase's start). It returns the group's
// failure, or ctx's error.
func (r *runner) watch(ctx context.Context, g *group, w *window, deadline time.Time, done <-chan struct{}) error {
	for {
		if err := g.failed(); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("loadgen: %w", err)
		}
		now := r.clk.Now()
		wait := time.Second
		if !deadline.IsZero() {
			left := deadline.Sub(now)
			if left <= 0 {
				return nil
			}
			wait = min(wait, left)
		}
		t := r.clk.NewTimer(wait)
		select {
		case <-t.C():
		case <-done:
			t.Stop()
			return g.failed()
		case <-g.ctx.Done():
			t.Stop()
		case <-ctx.Done():
			t.Stop()
		}
		r.tick(w)
	}
}

// tick samples the broker's RSS and reports progress.
func (r *runner) tick(w *window) {
	now := r.clk.Now()
	if w.procOK {
		if p, err := ReadProc(r.cfg.BrokerPID); err == nil {
			w.peakRSS = max(w.peakRSS, p.RSS)
		}
	}
	sent, recv := r.sent.Load(), r.received.Load()
	if r.cfg.Progress != nil && now.Sub(w.lastTick) > 0 {
		dt := now.Sub(w.lastTick).Seconds()
		p := Progress{Phase: w.phaseName, Elapsed: now.Sub(w.phaseStart), Measuring: w.measuring,
			SentRate: float64(sent-w.lastSent) / dt, RecvRate: float64(recv-w.lastRecv) / dt,
			Sent: sent - w.sent0, Received: recv - w.recv0}
		if w.measuring {
			p.SendP99, p.E2EP99 = r.sendAck.Quantile(0.99), r.e2e.Quantile(0.99)
		}
		r.cfg.Progress(p)
	}
	w.lastTick, w.lastSent, w.lastRecv = now, sent, recv
}

// steady runs the workloads with one measured window after a warm-up.
func (r *runner) steady(ctx context.Context, res *Result) error {
	topo, targets, sources, fanOut := r.topology()
	if len(topo.Queues) > 1 {
		res.Queues = len(topo.Queues)
	}
	if topo.Topic != "" {
		res.FanOut = fanOut
	}
	if err := r.d.Setup(ctx, topo); err != nil {
		return fmt.Errorf("loadgen: %s: setting up %s: %w", r.d.Name(), r.cfg.Workload, err)
	}
	g := newGroup(ctx)
	var lockstep chan struct{}
	if r.cfg.Workload == "latency" && r.cfg.Rate == 0 {
		// One message in flight: the producer waits for the consumer.
		lockstep = make(chan struct{}, 1)
	}
	cons, err := r.startConsumers(ctx, g, sources, lockstep)
	if err != nil {
		g.stop()
		return err
	}
	defer closeConsumers(cons)
	prods, nt, err := r.openProducers(ctx, targets)
	if err != nil {
		g.stop()
		return err
	}
	defer closeProducers(prods)
	start := r.clk.Now()
	var sched *schedule
	if r.cfg.Rate > 0 {
		sched = newSchedule(start, r.cfg.Rate)
	}
	r.startProducers(g, prods, nt, sched, nil, lockstep)
	warm := &window{phaseStart: start, phaseName: "warm-up", lastTick: start}
	if err := r.watch(ctx, g, warm, start.Add(r.cfg.Warmup), nil); err != nil {
		g.stop()
		return err
	}
	w := r.begin(ctx, "steady")
	w.phaseStart = start
	if err := r.watch(ctx, g, w, w.start.Add(r.cfg.Duration), nil); err != nil {
		g.stop()
		return err
	}
	ph := r.end(ctx, w)
	if err := g.stop(); err != nil {
		return err
	}
	res.Phases = append(res.Phases, ph)
	return nil
}

// backlog sends cfg.Messages with no consumer (phase "fill"), then drains
// them with cfg.Consumers consumers (phase "drain").
func (r *runner) backlog(ctx context.Context, res *Result) error {
	topo, targets, sources, _ := r.topology()
	if err := r.d.Setup(ctx, topo); err != nil {
		return fmt.Errorf("loadgen: %s: setting up %s: %w", r.d.Name(), r.cfg.Workload, err)
	}
	prods, nt, err := r.openProducers(ctx, targets)
	if err != nil {
		return err
	}
	defer closeProducers(prods)
	n := uint64(r.cfg.Messages)
	var claimed sync.Mutex
	var count uint64
	claim := func() (uint64, bool) {
		claimed.Lock()
		defer claimed.Unlock()
		if count >= n {
			return count, false
		}
		count++
		return count, true
	}
	fill := newGroup(ctx)
	w := r.begin(ctx, "fill")
	r.startProducers(fill, prods, nt, nil, claim, nil)
	filled := make(chan struct{})
	go func() { fill.wg.Wait(); close(filled) }()
	if err := r.watch(ctx, fill, w, time.Time{}, filled); err != nil {
		fill.stop()
		return err
	}
	ph := r.end(ctx, w)
	if err := fill.stop(); err != nil {
		return err
	}
	if ph.Sent != n {
		return fmt.Errorf("loadgen: backlog: %d of %d sends acknowledged", ph.Sent, n)
	}
	res.Phases = append(res.Phases, ph)

	drain := newGroup(ctx)
	drained := make(chan struct{})
	r.target, r.reached = r.received.Load()+n, drained
	w = r.begin(ctx, "drain")
	cons, err := r.startConsumers(ctx, drain, sources, nil)
	if err != nil {
		drain.stop()
		return err
	}
	defer closeConsumers(cons)
	if err := r.watch(ctx, drain, w, time.Time{}, drained); err != nil {
		drain.stop()
		return err
	}
	ph = r.end(ctx, w)
	if err := drain.stop(); err != nil {
		return err
	}
	res.Phases = append(res.Phases, ph)
	return nil
}
