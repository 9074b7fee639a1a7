package queuestorage

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/clock"
)

// memEngine is a small in-memory Engine for handler tests: the storage
// queue semantics of the broker's API without its durability.
type memEngine struct {
	clock  clock.Clock
	mu     sync.Mutex
	queues map[string]*memQueue
	calls  int // state-changing calls that succeeded
}

type memQueue struct {
	md   map[string]string
	msgs []*Message
}

func newMemEngine(c clock.Clock) *memEngine {
	return &memEngine{clock: c, queues: map[string]*memQueue{}}
}

func codeErr(c broker.Code, msg string) error { return &broker.Error{Code: c, Message: msg} }

func copyMD(md map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range md {
		out[k] = v
	}
	return out
}

func (e *memEngine) CreateQueue(ctx context.Context, name string, md map[string]string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.queues[name]; ok {
		return codeErr(broker.CodeEntityExists, "exists")
	}
	e.queues[name] = &memQueue{md: copyMD(md)}
	e.calls++
	return nil
}

func (e *memEngine) queue(name string) (*memQueue, error) {
	q, ok := e.queues[name]
	if !ok {
		return nil, codeErr(broker.CodeNotFound, "storage queue "+name+" not found")
	}
	now := e.clock.Now()
	live := q.msgs[:0]
	for _, m := range q.msgs {
		if m.ExpiresAt.IsZero() || now.Before(m.ExpiresAt) {
			live = append(live, m)
		}
	}
	q.msgs = live
	return q, nil
}

func (e *memEngine) Queue(ctx context.Context, name string) (*Queue, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	q, err := e.queue(name)
	if err != nil {
		return nil, err
	}
	return &Queue{Name: name, Metadata: copyMD(q.md), ApproximateCount: int64(len(q.msgs))}, nil
}

func (e *memEngine) Queues(ctx context.Context, prefix string) ([]*Queue, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*Queue
	for name, q := range e.queues {
		if strings.HasPrefix(name, prefix) {
			out = append(out, &Queue{Name: name, Metadata: copyMD(q.md), ApproximateCount: int64(len(q.msgs))})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (e *memEngine) DeleteQueue(ctx context.Context, name string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := e.queue(name); err != nil {
		return err
	}
	delete(e.queues, name)
	e.calls++
	return nil
}

func (e *memEngine) UpdateMetadata(ctx context.Context, name string, update func(map[string]string) map[string]string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	q, err := e.queue(name)
	if err != nil {
		return err
	}
	q.md = copyMD(update(copyMD(q.md)))
	e.calls++
	return nil
}

func newReceipt() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (e *memEngine) Put(ctx context.Context, name string, text []byte, vis, ttl time.Duration) (*Message, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	q, err := e.queue(name)
	if err != nil {
		return nil, err
	}
	now := e.clock.Now()
	m := &Message{ID: newUUID(), Text: append([]byte(nil), text...), InsertedAt: now, VisibleAt: now.Add(vis), Receipt: newReceipt()}
	if ttl >= 0 {
		m.ExpiresAt = now.Add(ttl)
	}
	q.msgs = append(q.msgs, m)
	e.calls++
	cp := *m
	return &cp, nil
}

// visible returns the visible messages in (VisibleAt, insertion) order.
func visible(q *memQueue, now time.Time) []*Message {
	var out []*Message
	for _, m := range q.msgs {
		if !m.VisibleAt.After(now) {
			out = append(out, m)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].VisibleAt.Before(out[j].VisibleAt) })
	return out
}

func (e *memEngine) Get(ctx context.Context, name string, n int, vis time.Duration) ([]*Message, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	q, err := e.queue(name)
	if err != nil {
		return nil, err
	}
	now := e.clock.Now()
	var out []*Message
	for _, m := range visible(q, now) {
		if len(out) == n {
			break
		}
		m.DequeueCount++
		m.VisibleAt = now.Add(vis)
		m.Receipt = newReceipt()
		cp := *m
		out = append(out, &cp)
	}
	if len(out) > 0 {
		e.calls++
	}
	return out, nil
}

func (e *memEngine) Peek(ctx context.Context, name string, n int) ([]*Message, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	q, err := e.queue(name)
	if err != nil {
		return nil, err
	}
	var out []*Message
	for _, m := range visible(q, e.clock.Now()) {
		if len(out) == n {
			break
		}
		cp := *m
		cp.Receipt = ""
		out = append(out, &cp)
	}
	return out, nil
}

func (e *memEngine) find(name, id, receipt string) (*memQueue, int, error) {
	q, err := e.queue(name)
	if err != nil {
		return nil, 0, err
	}
	if b, err := base64.RawURLEncoding.DecodeString(receipt); err != nil || len(b) != 16 {
		return nil, 0, codeErr(broker.CodeInvalidArgument, "pop receipt is not one of ours")
	}
	for i, m := range q.msgs {
		if m.ID == id {
			if m.Receipt != receipt {
				return nil, 0, codeErr(broker.CodeMessageNotFound, "stale receipt")
			}
			return q, i, nil
		}
	}
	return nil, 0, codeErr(broker.CodeMessageNotFound, "no such message")
}

func (e *memEngine) DeleteMessage(ctx context.Context, name, id, receipt string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	q, i, err := e.find(name, id, receipt)
	if err != nil {
		return err
	}
	q.msgs = append(q.msgs[:i], q.msgs[i+1:]...)
	e.calls++
	return nil
}

func (e *memEngine) Update(ctx context.Context, name, id, receipt string, vis time.Duration, text []byte) (*Message, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	q, i, err := e.find(name, id, receipt)
	if err != nil {
		return nil, err
	}
	m := q.msgs[i]
	m.VisibleAt = e.clock.Now().Add(vis)
	if !m.ExpiresAt.IsZero() && m.VisibleAt.After(m.ExpiresAt) {
		m.VisibleAt = m.ExpiresAt
	}
	m.Receipt = newReceipt()
	if text != nil {
		m.Text = append([]byte(nil), text...)
	}
	e.calls++
	cp := *m
	return &cp, nil
}

func (e *memEngine) Clear(ctx context.Context, name string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	q, err := e.queue(name)
	if err != nil {
		return err
	}
	q.msgs = nil
	e.calls++
	return nil
}
