package broker

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/batonmq/baton/internal/clock"
)

// Config configures a Broker. Zero values take defaults.
type Config struct {
	Store  Store       // required
	Clock  clock.Clock // default clock.Real
	Logger *slog.Logger
	Limits Limits
	// Random seeds lock tokens; nil uses crypto/rand.
	Random func(b []byte)
	// Codec reads application properties inside FormatAMQP bodies for
	// subscription rules; nil: rules see only Message.Properties.
	Codec MessageCodec
	// HotBodyBytes bounds the bodies of stored messages the broker keeps in
	// memory so that deliveries need not read them back from the store
	// (hotbody.go). 0: DefaultHotBodyBytes; negative: none are kept.
	HotBodyBytes int64
}

// Broker is one namespace of entities. It is safe for concurrent use.
type Broker struct {
	store  Store
	codec  MessageCodec
	clock  clock.Clock
	log    *slog.Logger
	limits Limits

	mu       sync.RWMutex
	entities map[string]*entity // by EntityKey
	closed   bool

	tokenMu sync.Mutex
	tokens  tokenSource

	timers timerHeap
	dueMu  sync.Mutex   // serialises runDue
	dueBuf []timerEvent // guarded by dueMu

	draining atomic.Bool // receives no longer wait (graceful shutdown)

	fwd forwarding // auto-forward (forward.go)

	hot    atomic.Int64 // bytes of stored bodies kept in memory (hotbody.go)
	hotMax int64

	wg     sync.WaitGroup
	stop   chan struct{}
	kick   chan struct{}
	opened bool
}

// New makes a Broker over cfg.Store. Call Open before use.
func New(cfg Config) (*Broker, error) {
	if cfg.Store == nil {
		return nil, errorf(CodeInvalidArgument, "Config.Store is nil")
	}
	b := &Broker{
		store:    cfg.Store,
		codec:    cfg.Codec,
		clock:    cfg.Clock,
		log:      cfg.Logger,
		limits:   cfg.Limits.withDefaults(),
		entities: make(map[string]*entity),
		stop:     make(chan struct{}),
		kick:     make(chan struct{}, 1),
	}
	b.timers.kick = b.kick
	b.hotMax = cfg.HotBodyBytes
	if b.hotMax == 0 {
		b.hotMax = DefaultHotBodyBytes
	}
	b.timers.next.Store(1<<63 - 1)
	if b.clock == nil {
		b.clock = clock.Real{}
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	var seed [8]byte
	if cfg.Random != nil {
		cfg.Random(seed[:])
	} else {
		_, _ = rand.Read(seed[:])
	}
	b.tokens.prefix = binary.BigEndian.Uint64(seed[:])
	return b, nil
}

// Open loads the store's state and starts the timer goroutine.
func (b *Broker) Open(ctx context.Context) error {
	snap, err := b.store.Load(ctx)
	if err != nil {
		return storeErr(err)
	}
	now := b.clock.Now()
	b.mu.Lock()
	for _, es := range snap.Entities {
		e := newEntity(b, es.Def)
		e.restore(es, now)
		b.entities[e.key] = e
	}
	b.linkTopicsLocked()
	b.opened = true
	b.mu.Unlock()
	b.wg.Add(1)
	go b.runTimers()
	return nil
}

// Close stops the timer goroutine and wakes every waiting receiver. It does
// not close the store, which the caller owns.
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	ents := make([]*entity, 0, len(b.entities))
	for _, e := range b.entities {
		ents = append(ents, e)
	}
	opened := b.opened
	b.mu.Unlock()
	for _, e := range ents {
		e.mu.Lock()
		e.wakeAllLocked()
		e.mu.Unlock()
	}
	if opened {
		close(b.stop)
		b.wg.Wait()
	}
	return nil
}

// Drain starts a graceful shutdown: receives and session accepts stop
// waiting (they return what is there, possibly nothing) while every other
// operation goes on working until Close.
func (b *Broker) Drain() {
	b.draining.Store(true)
	b.mu.RLock()
	ents := make([]*entity, 0, len(b.entities))
	for _, e := range b.entities {
		ents = append(ents, e)
	}
	b.mu.RUnlock()
	for _, e := range ents {
		e.mu.Lock()
		e.wakeAllLocked()
		e.mu.Unlock()
	}
}

// Waiters returns the number of receives and session accepts waiting.
func (b *Broker) Waiters() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	n := 0
	for _, e := range b.entities {
		e.mu.Lock()
		n += len(e.waiters)
		e.mu.Unlock()
	}
	return n
}

// Now returns the broker clock's time.
func (b *Broker) Now() time.Time { return b.clock.Now() }

// Limits returns the limits in force.
func (b *Broker) Limits() Limits { return b.limits }

func (b *Broker) newToken() LockToken {
	b.tokenMu.Lock()
	defer b.tokenMu.Unlock()
	return b.tokens.newToken()
}

// submit sends recs to the store and waits for durability. REQUIRES: the
// caller does not hold any entity mutex while waiting; use submitLocked +
// wait for the usual pattern.
func (b *Broker) submitLocked(recs []Record) <-chan error {
	ch := make(chan error, 1)
	b.store.Submit(recs, func(err error) { ch <- err })
	return ch
}

// submitAsyncLocked submits recs whose durability nobody waits for (timer
// driven changes); failures are logged.
func (b *Broker) submitAsyncLocked(recs []Record) {
	if len(recs) == 0 {
		return
	}
	b.store.Submit(recs, func(err error) {
		if err != nil {
			b.log.Error("background store write failed", "records", len(recs), "err", err)
		}
	})
}

func wait(ch <-chan error) error { return storeErr(<-ch) }

// lookup resolves an entity path: "name" or "name/$DeadLetterQueue" (case
// insensitive). It returns the entity and whether the dead-letter sub-queue
// was named.
func (b *Broker) lookup(path string) (*entity, bool, error) {
	name, dlq := splitPath(path)
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return nil, false, ErrClosed
	}
	e := b.entities[EntityKey(name)]
	if e == nil {
		return nil, false, errorf(CodeNotFound, "entity %q not found", name)
	}
	return e, dlq, nil
}

func splitPath(path string) (string, bool) {
	if i := len(path) - len(DeadLetterSuffix) - 1; i > 0 && path[i] == '/' && EntityKey(path[i+1:]) == EntityKey(DeadLetterSuffix) {
		return path[:i], true
	}
	return path, false
}

// CreateQueue creates a queue. Zero properties take Service Bus's defaults.
func (b *Broker) CreateQueue(ctx context.Context, name string, props QueueProperties) (*EntityInfo, error) {
	b.runDue()
	if err := ValidateEntityName(name, b.limits.MaxNameLength); err != nil {
		return nil, err
	}
	props = props.withDefaults()
	if err := props.validate(b.limits); err != nil {
		return nil, err
	}
	if err := b.checkForwarding(EntityKey(name), props); err != nil {
		return nil, err
	}
	now := b.clock.Now()
	return b.createEntity(Entity{Name: name, Kind: KindQueue, Properties: props, CreatedAt: now, UpdatedAt: now})
}

// createEntity makes def durable and adds the entity: the one way entities of
// every kind come into being.
func (b *Broker) createEntity(def Entity) (*EntityInfo, error) {
	key := def.Key()
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, ErrClosed
	}
	if _, ok := b.entities[key]; ok {
		b.mu.Unlock()
		return nil, errorf(CodeEntityExists, "entity %q already exists", def.Name)
	}
	if len(b.entities) >= b.limits.MaxEntities {
		b.mu.Unlock()
		return nil, errorf(CodeQuotaExceeded, "the namespace already holds %d entities", len(b.entities))
	}
	e := newEntity(b, def)
	e.creating = true
	b.entities[key] = e
	e.mu.Lock()
	ch := b.submitLocked([]Record{{Kind: RecEntityPut, Entity: key, Def: &def}})
	e.mu.Unlock()
	b.mu.Unlock()

	if err := wait(ch); err != nil {
		b.mu.Lock()
		if b.entities[key] == e {
			delete(b.entities, key)
		}
		b.mu.Unlock()
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.creating = false
	e.lastActivity = def.CreatedAt
	e.scheduleIdleLocked()
	return e.infoLocked(), nil
}

// UpdateQueue replaces a queue's properties (RequiresSession cannot change,
// as in Service Bus).
func (b *Broker) UpdateQueue(ctx context.Context, name string, props QueueProperties) (*EntityInfo, error) {
	return b.updateEntity(name, KindQueue, props.withDefaults())
}

// updateEntity replaces the properties of entity name of kind k.
func (b *Broker) updateEntity(name string, k Kind, props QueueProperties) (*EntityInfo, error) {
	b.runDue()
	e, dlq, err := b.lookup(name)
	if err != nil {
		return nil, err
	}
	if dlq {
		return nil, errorf(CodeInvalidArgument, "cannot update a dead-letter sub-queue")
	}
	if err := props.validate(b.limits); err != nil {
		return nil, err
	}
	if err := b.checkForwarding(e.key, props); err != nil {
		return nil, err
	}
	e.mu.Lock()
	if err := e.existsLocked(); err != nil {
		e.mu.Unlock()
		return nil, err
	}
	if e.def.Kind != k {
		e.mu.Unlock()
		return nil, errorf(CodeInvalidArgument, "entity %q is a %s, not a %s", e.def.Name, e.def.Kind, k)
	}
	if props.RequiresSession != e.def.Properties.RequiresSession {
		e.mu.Unlock()
		return nil, errorf(CodeInvalidArgument, "RequiresSession cannot be changed on an existing entity")
	}
	def := e.def
	def.Properties = props
	def.UpdatedAt = b.clock.Now()
	ch := b.submitLocked([]Record{{Kind: RecEntityPut, Entity: e.key, Def: &def}})
	e.mu.Unlock()
	if err := wait(ch); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.def = def
	e.wakeAllLocked() // status may now allow receives
	e.scheduleIdleLocked()
	return e.infoLocked(), nil
}

// DeleteEntity deletes an entity and every message in it.
func (b *Broker) DeleteEntity(ctx context.Context, name string) error {
	b.runDue()
	e, dlq, err := b.lookup(name)
	if err != nil {
		return err
	}
	if dlq {
		return errorf(CodeInvalidArgument, "cannot delete a dead-letter sub-queue")
	}
	return b.deleteEntity(e)
}

// deleteEntity deletes e; a topic takes its subscriptions with it.
func (b *Broker) deleteEntity(e *entity) error {
	b.mu.Lock()
	if b.entities[e.key] != e {
		b.mu.Unlock()
		return errorf(CodeNotFound, "entity %q not found", e.def.Name)
	}
	// Lock order: the topic (e itself, or a subscription's topic) first.
	t := e.topic
	if t != nil {
		t.mu.Lock()
	}
	e.mu.Lock()
	victims := []*entity{e}
	if e.tp != nil {
		victims = append(victims, e.tp.subs...)
	}
	recs := make([]Record, 0, len(victims))
	for i, v := range victims {
		if i > 0 {
			v.mu.Lock()
		}
		delete(b.entities, v.key)
		v.deleted = true
		v.wakeAllLocked()
		recs = append(recs, Record{Kind: RecEntityDelete, Entity: v.key})
	}
	if t != nil {
		t.tp.removeSub(e)
	}
	ch := b.submitLocked(recs)
	for i := len(victims) - 1; i >= 0; i-- {
		victims[i].mu.Unlock()
	}
	if t != nil {
		t.mu.Unlock()
	}
	b.mu.Unlock()
	if err := wait(ch); err != nil {
		// Put them back: the delete is not durable.
		// deleted of a subscription changes under its topic's lock too.
		b.mu.Lock()
		guard := t
		if e.tp != nil {
			guard = e
		}
		if guard != nil {
			guard.mu.Lock()
		}
		if t != nil {
			t.tp.addSub(e)
		}
		for _, v := range victims {
			if _, taken := b.entities[v.key]; !taken {
				if v != guard {
					v.mu.Lock()
				}
				v.deleted = false
				if v != guard {
					v.mu.Unlock()
				}
				b.entities[v.key] = v
			}
		}
		if guard != nil {
			guard.mu.Unlock()
		}
		b.mu.Unlock()
		return err
	}
	for _, v := range victims {
		v.mu.Lock()
		v.releaseAllHotLocked() // once the delete is durable: a failed one keeps them
		v.mu.Unlock()
	}
	if t != nil {
		// The subscription's copies no longer hold their topic bodies.
		e.mu.Lock()
		e.releaseSharedLocked()
		e.mu.Unlock()
	}
	return nil
}

// GetEntity returns an entity's definition and counts.
func (b *Broker) GetEntity(name string) (*EntityInfo, error) {
	b.runDue()
	e, dlq, err := b.lookup(name)
	if err != nil {
		return nil, err
	}
	if dlq {
		return nil, errorf(CodeInvalidArgument, "a dead-letter sub-queue is not an entity; ask for %q", e.def.Name)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.existsLocked(); err != nil {
		return nil, err
	}
	return e.infoLocked(), nil
}

// ListEntities returns the entities of kind k (0: all), sorted by name.
func (b *Broker) ListEntities(k Kind) []*EntityInfo {
	b.runDue()
	b.mu.RLock()
	ents := make([]*entity, 0, len(b.entities))
	for _, e := range b.entities {
		if k == 0 || e.def.Kind == k {
			ents = append(ents, e)
		}
	}
	b.mu.RUnlock()
	out := make([]*EntityInfo, 0, len(ents))
	for _, e := range ents {
		e.mu.Lock()
		if e.existsLocked() == nil {
			out = append(out, e.infoLocked())
		}
		e.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return EntityKey(out[i].Name) < EntityKey(out[j].Name) })
	return out
}
