package push

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/clock"
)

// Config configures a Manager. Zero values take defaults.
type Config struct {
	Broker *broker.Broker // required
	Clock  clock.Clock
	Logger *slog.Logger
	// Client makes the webhook requests; default: a 30 s timeout and no
	// redirects followed (a 3xx is a failure).
	Client *http.Client
	// RetryScale divides every retry and validation delay (60 turns 10 s
	// into 1/6 s); default 1, Azure's schedule.
	RetryScale float64
	// Origin is sent as Origin and WebHook-Request-Origin on CloudEvents
	// deliveries; default "eventgrid.azure.net".
	Origin string
	// ValidationURL returns the manual validation URL offered in a
	// SubscriptionValidationEvent; nil offers none.
	ValidationURL func(subscription, code string) string
	// Concurrency is how many deliveries of one subscription run at once;
	// default 4.
	Concurrency int
	// DeadLetterDir, when set, also receives dead-lettered events as JSON
	// files in Azure's blob layout.
	DeadLetterDir string
	// Exports move namespace subscriptions' dead-lettered events into
	// DeadLetterDir (ignored without it).
	Exports []Export
	// StorageQueuePut puts a message on a storage queue destination
	// ("<account>/<queue>"; ttl 0 is the default, < 0 never expires);
	// default: the broker's storage queues. A server whose Storage Queues
	// live elsewhere (shared in PostgreSQL) sets it.
	StorageQueuePut func(ctx context.Context, queue string, text []byte, ttl time.Duration) error
	// ServiceBusSend sends to a Service Bus queue or topic destination;
	// default: the broker's Send. A server whose Service Bus entities live
	// elsewhere (shared in PostgreSQL) sets it.
	ServiceBusSend func(ctx context.Context, path string, msgs []*broker.Message) ([]int64, error)
}

// Manager runs one delivery worker per subscription. Subscriptions may be
// added and removed while it runs (Add, Remove).
type Manager struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	subs    map[string]*worker            // by lower-case subscription name
	pending map[string]*pendingValidation // by lower-case subscription name
	state   map[string]string             // provisioning state by lower-case name
	exports map[string]*worker            // by lower-case queue name (sub unused)
	ctx     context.Context               // set by Start; nil before
	cancel  context.CancelFunc

	wg sync.WaitGroup
}

// worker is one subscription's running delivery loop.
type worker struct {
	sub    *Subscription
	cancel context.CancelFunc // nil until started
	done   chan struct{}      // closed when the loop returned
}

type pendingValidation struct {
	code string
	done chan struct{}
}

// New validates the subscriptions and returns a Manager that is not
// started.
func New(cfg Config, subs []*Subscription) (*Manager, error) {
	if cfg.Broker == nil {
		return nil, errors.New("push: Config.Broker is nil")
	}
	if cfg.StorageQueuePut == nil {
		sq := cfg.Broker.StorageQueues()
		cfg.StorageQueuePut = func(ctx context.Context, queue string, text []byte, ttl time.Duration) error {
			_, err := sq.Put(ctx, queue, text, 0, ttl)
			return err
		}
	}
	if cfg.ServiceBusSend == nil {
		cfg.ServiceBusSend = cfg.Broker.Send
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.RetryScale <= 0 {
		cfg.RetryScale = 1
	}
	if cfg.Origin == "" {
		cfg.Origin = "eventgrid.azure.net"
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	m := &Manager{cfg: cfg, log: cfg.Logger, subs: map[string]*worker{}, exports: map[string]*worker{}, pending: map[string]*pendingValidation{}, state: map[string]string{}}
	for _, s := range subs {
		if err := m.Add(s); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Check fills s's defaults and validates it (Add does the same).
func Check(s *Subscription) error { return s.check() }

// Add validates s and adds it; once the Manager is started its worker runs
// at once. A subscription of the same name must be removed first.
func (m *Manager) Add(s *Subscription) error {
	if err := s.check(); err != nil {
		return err
	}
	k := strings.ToLower(s.Name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.subs[k] != nil {
		return fmt.Errorf("push: subscription %q is declared twice (push subscription names are unique across topics)", s.Name)
	}
	w := &worker{sub: s, done: make(chan struct{})}
	m.subs[k] = w
	m.state[k] = "Creating"
	if m.ctx != nil {
		m.startLocked(w)
	}
	return nil
}

// Has reports whether a subscription of that name is added.
func (m *Manager) Has(name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.subs[strings.ToLower(name)] != nil
}

// Remove stops a subscription's worker and waits for it; its deliveries in
// flight are cancelled and their events stay in the queue. It reports
// whether the subscription was there.
func (m *Manager) Remove(name string) bool {
	k := strings.ToLower(name)
	m.mu.Lock()
	w := m.subs[k]
	if w == nil {
		m.mu.Unlock()
		return false
	}
	delete(m.subs, k)
	delete(m.state, k)
	if p := m.pending[k]; p != nil {
		delete(m.pending, k)
	}
	started := w.cancel != nil
	if started {
		w.cancel()
	}
	m.mu.Unlock()
	if started {
		<-w.done
	}
	return true
}

// startLocked starts w's loop. REQUIRES: m.mu held, m.ctx set.
func (m *Manager) startLocked(w *worker) {
	ctx, cancel := context.WithCancel(m.ctx)
	w.cancel = cancel
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(w.done)
		m.run(ctx, w.sub)
	}()
}

// Start starts the workers; they run until Stop.
func (m *Manager) Start(ctx context.Context) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ctx, m.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if m.cfg.DeadLetterDir != "" {
		for _, x := range m.cfg.Exports {
			if m.exports[strings.ToLower(x.Queue)] == nil {
				m.startExportLocked(x)
			}
		}
	}
	for _, w := range m.subs {
		m.startLocked(w)
	}
}

// AddExport moves a namespace subscription's dead-lettered events into
// DeadLetterDir (nothing without it), from Start on.
func (m *Manager) AddExport(x Export) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cfg.DeadLetterDir == "" {
		return
	}
	if m.ctx == nil {
		m.cfg.Exports = append(m.cfg.Exports, x)
		return
	}
	if m.exports[strings.ToLower(x.Queue)] == nil {
		m.startExportLocked(x)
	}
}

// RemoveExport stops the export of a queue and waits for it.
func (m *Manager) RemoveExport(queue string) {
	m.mu.Lock()
	w := m.exports[strings.ToLower(queue)]
	delete(m.exports, strings.ToLower(queue))
	m.mu.Unlock()
	if w != nil {
		w.cancel()
		<-w.done
	}
}

func (m *Manager) startExportLocked(x Export) {
	ctx, cancel := context.WithCancel(m.ctx)
	w := &worker{cancel: cancel, done: make(chan struct{})}
	m.exports[strings.ToLower(x.Queue)] = w
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(w.done)
		m.export(ctx, x)
	}()
}

// Stop stops the workers and waits for them; deliveries in flight are
// cancelled and their events stay in the queue (their lock expires).
func (m *Manager) Stop() {
	if m == nil {
		return
	}
	m.mu.Lock()
	cancel := m.cancel
	m.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	m.wg.Wait()
}

// State returns a subscription's provisioning state: Creating,
// AwaitingManualAction, Succeeded or Failed ("" when unknown).
func (m *Manager) State(name string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state[strings.ToLower(name)]
}

func (m *Manager) setState(name, st string) {
	m.mu.Lock()
	if m.subs[strings.ToLower(name)] != nil {
		m.state[strings.ToLower(name)] = st
	}
	m.mu.Unlock()
}

// Validate completes a manual validation (the validationUrl of a
// SubscriptionValidationEvent); it reports whether name awaited code.
func (m *Manager) Validate(name, code string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.pending[strings.ToLower(name)]
	if p == nil || p.code != code {
		return false
	}
	delete(m.pending, strings.ToLower(name))
	close(p.done)
	return true
}

// pause waits d on the clock; false when ctx ended first.
func (m *Manager) pause(ctx context.Context, d time.Duration) bool {
	t := m.cfg.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return true
	case <-ctx.Done():
		return false
	}
}

func (m *Manager) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) / m.cfg.RetryScale)
}

// receiveWait is how long one receive waits for events.
const receiveWait = 30 * time.Second

// run is one subscription's worker: the handshake, then receive and
// deliver until ctx ends.
func (m *Manager) run(ctx context.Context, s *Subscription) {
	log := m.log.With("subscription", s.Name)
	if !s.SkipValidation {
		if !m.handshake(ctx, s, log) {
			return
		}
	}
	m.setState(s.Name, "Succeeded")
	sem := make(chan struct{}, m.cfg.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	for ctx.Err() == nil {
		start := m.cfg.Clock.Now()
		max := m.cfg.Concurrency
		switch {
		case s.Destination != WebHook:
			max = entityBatch
		case s.MaxEventsPerBatch > 1:
			max = s.MaxEventsPerBatch
		}
		msgs, err := m.cfg.Broker.Receive(ctx, s.Queue, broker.ReceiveOptions{Mode: broker.PeekLock, MaxMessages: max, Wait: receiveWait})
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			log.Warn("receiving pending deliveries failed", "err", err)
			m.pause(ctx, time.Second)
			continue
		}
		if len(msgs) == 0 {
			// An empty receive that did not wait is the broker draining
			// for shutdown: do not spin.
			if m.cfg.Clock.Now().Sub(start) < receiveWait/2 {
				m.pause(ctx, time.Second)
			}
			continue
		}
		groups := [][]*broker.Message{msgs}
		if s.MaxEventsPerBatch <= 1 && s.Destination == WebHook {
			groups = groups[:0]
			for _, msg := range msgs {
				groups = append(groups, []*broker.Message{msg})
			}
		}
		for _, g := range groups {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				if err := m.deliverBatch(ctx, s, g); err != nil && ctx.Err() == nil {
					log.Warn("settling a delivery failed; the event will be retried when its lock expires", "events", len(g), "err", err)
				}
			}()
		}
		// Receive the next batch once a slot is free.
		sem <- struct{}{}
		<-sem
	}
}
