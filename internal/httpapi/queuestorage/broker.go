package queuestorage

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

// brokerEngine is the Engine of a running server: the broker's storage
// queue operations on entities of KindStorageQueue.
type brokerEngine struct {
	b  *broker.Broker
	sq *broker.StorageQueues
	// mdMu makes UpdateMetadata's read and write one step (the broker runs
	// on one node).
	mdMu sync.Mutex
}

// NewBrokerEngine returns an Engine over b.
func NewBrokerEngine(b *broker.Broker) Engine {
	return &brokerEngine{b: b, sq: b.StorageQueues()}
}

func notFound(name string) error {
	return &broker.Error{Code: broker.CodeNotFound, Message: fmt.Sprintf("storage queue %q not found", name)}
}

func (e *brokerEngine) CreateQueue(ctx context.Context, name string, md map[string]string) error {
	_, err := e.sq.Create(ctx, name, md)
	return err
}

func toQueue(info *broker.EntityInfo) *Queue {
	return &Queue{Name: info.Name, Metadata: info.Metadata, ApproximateCount: info.Active}
}

// info returns a storage queue entity; another kind of entity of that name
// is not found.
func (e *brokerEngine) info(name string) (*broker.EntityInfo, error) {
	info, err := e.b.GetEntity(name)
	if err != nil {
		return nil, err
	}
	if info.Kind != broker.KindStorageQueue {
		return nil, notFound(name)
	}
	return info, nil
}

func (e *brokerEngine) Queue(ctx context.Context, name string) (*Queue, error) {
	info, err := e.info(name)
	if err != nil {
		return nil, err
	}
	return toQueue(info), nil
}

func (e *brokerEngine) Queues(ctx context.Context, prefix string) ([]*Queue, error) {
	var out []*Queue
	for _, info := range e.b.ListEntities(broker.KindStorageQueue) {
		if strings.HasPrefix(info.Name, prefix) {
			out = append(out, toQueue(info))
		}
	}
	return out, nil
}

func (e *brokerEngine) DeleteQueue(ctx context.Context, name string) error {
	if _, err := e.info(name); err != nil {
		return err
	}
	return e.b.DeleteEntity(ctx, name)
}

func (e *brokerEngine) UpdateMetadata(ctx context.Context, name string, update func(map[string]string) map[string]string) error {
	e.mdMu.Lock()
	defer e.mdMu.Unlock()
	info, err := e.info(name)
	if err != nil {
		return err
	}
	return e.sq.SetMetadata(ctx, name, update(maps.Clone(info.Metadata)))
}

func (e *brokerEngine) Put(ctx context.Context, name string, text []byte, visibility, ttl time.Duration) (*Message, error) {
	m, err := e.sq.Put(ctx, name, text, visibility, ttl)
	if err != nil {
		return nil, err
	}
	return toMessage(m), nil
}

func toMessage(m *broker.SQMessage) *Message {
	return &Message{ID: m.ID, Text: m.Text, InsertedAt: m.InsertedAt, ExpiresAt: m.ExpiresAt, VisibleAt: m.VisibleAt,
		DequeueCount: m.DequeueCount, Receipt: m.Receipt}
}

func toMessages(ms []*broker.SQMessage) []*Message {
	out := make([]*Message, len(ms))
	slab := make([]Message, len(ms)) // one allocation for the batch
	for i, m := range ms {
		slab[i] = Message{ID: m.ID, Text: m.Text, InsertedAt: m.InsertedAt, ExpiresAt: m.ExpiresAt, VisibleAt: m.VisibleAt,
			DequeueCount: m.DequeueCount, Receipt: m.Receipt}
		out[i] = &slab[i]
	}
	return out
}

func (e *brokerEngine) Get(ctx context.Context, name string, n int, visibility time.Duration) ([]*Message, error) {
	ms, err := e.sq.Get(ctx, name, n, visibility)
	if err != nil {
		return nil, err
	}
	return toMessages(ms), nil
}

func (e *brokerEngine) Peek(ctx context.Context, name string, n int) ([]*Message, error) {
	ms, err := e.sq.Peek(ctx, name, n)
	if err != nil {
		return nil, err
	}
	return toMessages(ms), nil
}

func (e *brokerEngine) DeleteMessage(ctx context.Context, name, id, receipt string) error {
	return e.sq.Delete(ctx, name, id, receipt)
}

func (e *brokerEngine) Update(ctx context.Context, name, id, receipt string, visibility time.Duration, text []byte) (*Message, error) {
	m, err := e.sq.Update(ctx, name, id, receipt, visibility, text)
	if err != nil {
		return nil, err
	}
	return toMessage(m), nil
}

func (e *brokerEngine) Clear(ctx context.Context, name string) error {
	return e.sq.Clear(ctx, name)
}
