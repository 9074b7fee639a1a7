package loadgen

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/batonmq/baton/internal/clock"
)

// errStop ends a run normally (the window is over).
var errStop = errors.New("loadgen: run over")

// Run runs cfg's workload through d.
func Run(ctx context.Context, d Driver, cfg Config) (*Result, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, d: d, clk: cfg.Clock}
	res := &Result{Workload: cfg.Workload, Driver: d.Name(), Mode: "closed loop", Size: cfg.Size, Producers: cfg.Producers,
		Inflight: cfg.Inflight, Consumers: cfg.Consumers, Prefetch: cfg.Prefetch, Rate: cfg.Rate}
	if cfg.Rate > 0 {
		res.Mode = fmt.Sprintf("open loop at %g msgs/s", cfg.Rate)
	}
	var err error
	switch cfg.Workload {
	case "backlog":
		err = r.backlog(ctx, res)
	default:
		err = r.steady(ctx, res)
	}
	if err != nil {
		return nil, err
	}
	if cfg.Batch > 1 {
		res.Batch, res.BatchMode = cfg.Batch, r.batchMode
	}
	return res, nil
}

type runner struct {
	cfg Config
	// batchMode is how startProducers sent Config.Batch messages: "batch"
	// or "pipelined" (producers without SendBatch).
	batchMode string
	d         Driver
	clk       clock.Clock

	sent, received, abandoned atomic.Uint64
	sendAck, e2e, settle      Histogram

	// target, when > 0, is the received count at which reached is closed
	// (the end of a backlog drain).
	target      uint64
	reached     chan struct{}
	reachedOnce sync.Once
}

// stamp writes t into a body's first 8 bytes.
func stamp(body []byte, t time.Time) { binary.BigEndian.PutUint64(body, uint64(t.UnixNano())) }

// stampOf reads the send time from a body; ok is false for a body too
// short to carry one.
func stampOf(body []byte) (time.Time, bool) {
	if len(body) < 8 {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(body))), true
}

// group runs goroutines that stop at the first error: a non-nil error from
// one of them (other than the group's own cancellation) cancels the others
// and is the group's error.
type group struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup
}

func newGroup(ctx context.Context) *group {
	g := &group{}
	g.ctx, g.cancel = context.WithCancelCause(ctx)
	return g
}

func (g *group) Go(f func(ctx context.Context) error) {
	g.wg.Go(func() {
		if err := f(g.ctx); err != nil && g.ctx.Err() == nil {
			g.cancel(err)
		}
	})
}

// stop cancels the group normally and waits; it returns the first failure.
func (g *group) stop() error {
	g.cancel(errStop)
	g.wg.Wait()
	if err := context.Cause(g.ctx); err != nil && !errors.Is(err, errStop) {
		return err
	}
	return nil
}

// failed returns the group's failure, if one happened already.
func (g *group) failed() error {
	if err := context.Cause(g.ctx); err != nil && !errors.Is(err, errStop) {
		return err
	}
	return nil
}

// topology returns the entities of the workload, the producers' targets
// and the consumers' sources.
func (r *runner) topology() (t Topology, send []string, recv []string, fanOut int) {
	p := r.cfg.Prefix
	switch r.cfg.Workload {
	case "queues100":
		for i := range r.cfg.Queues {
			t.Queues = append(t.Queues, fmt.Sprintf("%s-q%03d", p, i))
		}
		return t, t.Queues, t.Queues, 1
	case "fanout":
		t.Topic = p + "-topic"
		t.Subscriptions = fanoutSubscriptions()
		for _, s := range t.Subscriptions {
			recv = append(recv, t.Topic+"/Subscriptions/"+s.Name)
		}
		return t, []string{t.Topic}, recv, 3
	case "churn":
		q := p + "-churn"
		t.Queues = []string{q}
		t.MaxDeliveryCount = r.cfg.MaxDeliveryCount
		return t, t.Queues, []string{q, q + "/$DeadLetterQueue"}, 1
	default:
		q := p + "-" + r.cfg.Workload
		t.Queues = []string{q}
		return t, t.Queues, t.Queues, 1
	}
}

// fanoutSubscriptions are the fan-out workload's 10 subscriptions: one
// TrueFilter, four correlation filters on "color" and five SQL filters on
// "shard". Every message matches the TrueFilter, one color and one shard:
// 3 deliveries per message.
func fanoutSubscriptions() []Subscription {
	subs := []Subscription{{Name: "all"}}
	for _, c := range fanoutColors {
		subs = append(subs, Subscription{Name: "color-" + c, Correlation: map[string]string{"color": c}})
	}
	for i := range 5 {
		subs = append(subs, Subscription{Name: fmt.Sprintf("shard-%d", i), SQL: fmt.Sprintf("shard = '%d' AND color <> 'none'", i)})
	}
	return subs
}

var fanoutColors = []string{"red", "green", "blue", "yellow"}

// fanoutProps are the properties of the k-th message of a fan-out run.
func fanoutProps(k uint64) map[string]string {
	return map[string]string{"color": fanoutColors[k%4], "shard": strconv.FormatUint(k%5, 10)}
}

// openProducers opens cfg.Producers producers, each on every target.
func (r *runner) openProducers(ctx context.Context, targets []string) ([]Producer, int, error) {
	var prods []Producer
	for range r.cfg.Producers {
		p, err := r.d.Producer(ctx, targets)
		if err != nil {
			closeProducers(prods)
			return nil, 0, fmt.Errorf("loadgen: producer on %v: %w", targets, err)
		}
		prods = append(prods, p)
	}
	return prods, len(targets), nil
}

func closeProducers(prods []Producer) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, p := range prods {
		p.Close(ctx)
	}
}

// startProducers starts Inflight goroutines per producer in g; each sends
// round-robin over its producer's targets. claim, when set, is asked before
// each send and ends the goroutine when it says no (backlog). lockstep,
// when set, is waited on after each send (latency probe, closed loop).
func (r *runner) startProducers(g *group, prods []Producer, targets int, sched *schedule, claim func() (uint64, bool), lockstep chan struct{}) {
	fan := r.cfg.Workload == "fanout"
	var seq atomic.Uint64
	for pi, p := range prods {
		inflight, batch := r.cfg.Inflight, r.cfg.Batch
		bp, ok := p.(BatchProducer)
		if batch > 1 {
			r.batchMode = "batch"
			if !ok {
				// The same messages outstanding, pipelined.
				inflight, batch, r.batchMode = inflight*batch, 1, "pipelined"
			}
		}
		for j := range inflight {
			next := pi*inflight + j
			body := make([]byte, r.cfg.Size)
			for i := 8; i < len(body); i++ {
				body[i] = byte('a' + i%26)
			}
			ms := make([]Message, 0, batch)
			sent := 0 // messages in the last send
			g.Go(func(ctx context.Context) error {
				send := func(ctx context.Context, t time.Time) error {
					ms, sent = ms[:0], 0
					stamp(body, t)
					for range batch {
						k := seq.Add(1)
						if claim != nil {
							if _, ok := claim(); !ok {
								break
							}
						}
						m := Message{Body: body} // one body: the drivers encode it before they return
						if fan {
							m.Props = fanoutProps(k)
						}
						ms = append(ms, m)
					}
					if len(ms) == 0 {
						return errStop
					}
					target := next % targets
					next++
					var err error
					if len(ms) == 1 {
						err = p.Send(ctx, target, ms[0])
					} else {
						err = bp.SendBatch(ctx, target, ms)
					}
					if err != nil {
						if ctx.Err() != nil {
							return ctx.Err()
						}
						return fmt.Errorf("loadgen: send: %w", err)
					}
					sent = len(ms)
					if lockstep != nil {
						select {
						case <-lockstep:
						case <-ctx.Done():
							return ctx.Err()
						}
					}
					return nil
				}
				record := func(_ time.Time, lat time.Duration) {
					r.sendAck.Record(lat)
					r.sent.Add(uint64(sent))
				}
				var err error
				if sched != nil {
					err = pacedLoop(ctx, r.clk, sched, send, record)
				} else {
					err = closedLoop(ctx, r.clk, send, record)
				}
				if errors.Is(err, errStop) || ctx.Err() != nil {
					return nil
				}
				return err
			})
		}
	}
}

// startConsumers opens Consumers consumers on each source and starts them
// in g. The action for a delivery: complete, or abandon on a churn
// queue's main sub-queue. done, when set, is signalled after each complete
// (latency probe); r.reached is closed when r.target deliveries were
// received (backlog drain).
func (r *runner) startConsumers(ctx context.Context, g *group, sources []string, done chan struct{}) ([]Consumer, error) {
	var all []Consumer
	for _, src := range sources {
		abandon := r.cfg.Workload == "churn" && !isDLQ(src)
		for range r.cfg.Consumers {
			c, err := r.d.Consumer(ctx, src, r.cfg.Prefetch)
			if err != nil {
				closeConsumers(all)
				return nil, fmt.Errorf("loadgen: consumer on %s: %w", src, err)
			}
			all = append(all, c)
			g.Go(func(ctx context.Context) error {
				for {
					ds, err := c.Receive(ctx, r.cfg.Prefetch)
					if err != nil {
						if ctx.Err() != nil {
							return nil
						}
						return fmt.Errorf("loadgen: receive from %s: %w", src, err)
					}
					// Settle the batch concurrently, as an application with
					// concurrent handlers (the SDK processor's
					// MaxConcurrentCalls) does: a complete that waits for the
					// broker's fsync must not serialize the consumer.
					if err := r.settleAll(ctx, ds, abandon, done); err != nil {
						if ctx.Err() != nil {
							return nil
						}
						return fmt.Errorf("loadgen: settle on %s: %w", src, err)
					}
				}
			})
		}
	}
	return all, nil
}

// settleAll settles a batch of deliveries, one goroutine each, and
// returns the first error.
func (r *runner) settleAll(ctx context.Context, ds []Delivery, abandon bool, done chan struct{}) error {
	one := func(d Delivery) error {
		if t, ok := stampOf(d.Body()); ok && !abandon {
			r.e2e.Record(r.clk.Now().Sub(t))
		}
		start := r.clk.Now()
		var err error
		if abandon {
			err = d.Abandon(ctx)
		} else {
			err = d.Complete(ctx)
		}
		if err != nil {
			return err
		}
		r.settle.Record(r.clk.Now().Sub(start))
		if abandon {
			r.abandoned.Add(1)
			return nil
		}
		if n := r.received.Add(1); r.target > 0 && n >= r.target {
			r.reachedOnce.Do(func() { close(r.reached) })
		}
		if done != nil {
			select {
			case done <- struct{}{}:
			default:
			}
		}
		return nil
	}
	if len(ds) == 1 {
		return one(ds[0])
	}
	errs := make(chan error, len(ds))
	for _, d := range ds {
		go func() { errs <- one(d) }()
	}
	var first error
	for range ds {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

func isDLQ(entity string) bool {
	const s = "/$DeadLetterQueue"
	return len(entity) > len(s) && entity[len(entity)-len(s):] == s
}

func closeConsumers(cs []Consumer) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, c := range cs {
		c.Close(ctx)
	}
}
