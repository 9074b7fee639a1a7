package eventgrid

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/clock"
)

// DefinitionsQueue is the broker queue that keeps the topics and
// subscriptions made through the management API. Each definition is one
// message scheduled a century ahead, so it never becomes active: Peek
// reads them all back at start, and CancelScheduled removes one exactly by
// its sequence number. Replacing a definition schedules the new one, then
// cancels the old; a crash between the two leaves both, and the one with
// the higher sequence number wins at the next start (the other is
// cancelled then). The definitions are as durable as every other broker
// state: fsync'd with the filestore, gone with --memory.
const DefinitionsQueue = "eventgrid/definitions"

// definitionsHorizon is how far ahead definitions are scheduled.
const definitionsHorizon = 100 * 365 * 24 * time.Hour

// Definition kinds.
const (
	defTopic          = "topic"
	defSubscription   = "eventSubscription"
	defNSTopic        = "namespaceTopic"
	defNSSubscription = "namespaceEventSubscription"
)

// definition is one stored declaration: a spec of kind, under topic for
// subscriptions.
type definition struct {
	Kind  string          `json:"kind"`
	Topic string          `json:"topic,omitempty"`
	Spec  json.RawMessage `json:"spec"`
	seq   int64
}

// defStore keeps definitions in DefinitionsQueue. Not safe for concurrent
// use: the Handler calls it under its mutex.
type defStore struct {
	b     *broker.Broker
	clock clock.Clock
	log   *slog.Logger
	seqs  map[string]int64 // by defKey
}

func defKey(kind, topic, name string) string {
	return kind + ":" + strings.ToLower(topic) + "/" + strings.ToLower(name)
}

func openDefStore(ctx context.Context, b *broker.Broker, c clock.Clock, log *slog.Logger) (*defStore, error) {
	_, err := b.CreateQueue(ctx, DefinitionsQueue, broker.QueueProperties{MaxMessageSizeInKilobytes: 1024})
	if err != nil && broker.CodeOf(err) != broker.CodeEntityExists {
		return nil, fmt.Errorf("eventgrid: the definitions queue: %w", err)
	}
	return &defStore{b: b, clock: c, log: log, seqs: map[string]int64{}}, nil
}

// load reads every stored definition, oldest first, and cancels the ones a
// later definition of the same key replaced.
func (d *defStore) load(ctx context.Context) ([]definition, error) {
	latest := map[string]definition{}
	var stale []int64
	from := int64(1)
	for {
		msgs, err := d.b.Peek(ctx, DefinitionsQueue, from, 1000, "")
		if err != nil {
			return nil, fmt.Errorf("eventgrid: reading the stored definitions: %w", err)
		}
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			from = m.SequenceNumber + 1
			var def definition
			if err := json.Unmarshal(m.Body, &def); err != nil {
				d.log.Warn("a stored Event Grid definition is unreadable; it is dropped", "seq", m.SequenceNumber, "err", err)
				stale = append(stale, m.SequenceNumber)
				continue
			}
			def.seq = m.SequenceNumber
			if prev, ok := latest[m.MessageID]; ok {
				stale = append(stale, prev.seq)
			}
			latest[m.MessageID] = def
		}
	}
	for _, seq := range stale {
		if err := d.b.CancelScheduled(ctx, DefinitionsQueue, []int64{seq}); err != nil {
			d.log.Warn("removing a replaced Event Grid definition failed", "seq", seq, "err", err)
		}
	}
	out := make([]definition, 0, len(latest))
	for k, def := range latest {
		d.seqs[k] = def.seq
		out = append(out, def)
	}
	slices.SortFunc(out, func(a, b definition) int { return cmp.Compare(a.seq, b.seq) })
	return out, nil
}

// put stores (or replaces) a definition durably.
func (d *defStore) put(ctx context.Context, kind, topic, name string, spec any) error {
	raw, err := json.Marshal(spec)
	if err != nil {
		return fmt.Errorf("eventgrid: encoding a definition: %w", err)
	}
	body, err := json.Marshal(definition{Kind: kind, Topic: topic, Spec: raw})
	if err != nil {
		return fmt.Errorf("eventgrid: encoding a definition: %w", err)
	}
	key := defKey(kind, topic, name)
	msg := &broker.Message{MessageID: key, ContentType: "application/json", Body: body}
	seqs, err := d.b.Schedule(ctx, DefinitionsQueue, []*broker.Message{msg}, d.clock.Now().Add(definitionsHorizon))
	if err != nil {
		return fmt.Errorf("eventgrid: storing the definition of %s: %w", name, err)
	}
	if old, ok := d.seqs[key]; ok {
		if err := d.b.CancelScheduled(ctx, DefinitionsQueue, []int64{old}); err != nil {
			d.log.Warn("removing a replaced Event Grid definition failed; the next start drops it", "key", key, "err", err)
		}
	}
	d.seqs[key] = seqs[0]
	return nil
}

// remove deletes a stored definition (nothing when there is none).
func (d *defStore) remove(ctx context.Context, kind, topic, name string) error {
	key := defKey(kind, topic, name)
	seq, ok := d.seqs[key]
	if !ok {
		return nil
	}
	if err := d.b.CancelScheduled(ctx, DefinitionsQueue, []int64{seq}); err != nil && broker.CodeOf(err) != broker.CodeMessageNotFound {
		return fmt.Errorf("eventgrid: removing the definition of %s: %w", name, err)
	}
	delete(d.seqs, key)
	return nil
}
