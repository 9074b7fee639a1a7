package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"strings"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/httpapi/eventgrid"
)

// sbEvents raises Microsoft.ServiceBus.ActiveMessagesAvailableWithNoListeners
// and DeadletterMessagesAvailableWithNoListeners into the Service Bus
// system topics (topicType Microsoft.ServiceBus.Namespaces) of the Event
// Grid face. Every interval, on the injected clock, it looks at each Service
// Bus queue and topic subscription: an entity whose oldest active message
// (or oldest dead-lettered message) is the same one as at the previous
// look has had no receiver take it for a whole interval, which is what
// "no listeners" means here; one event is raised for it on every such look.
// The broker does not count an entity's receivers, so a receiver that
// holds the head message locked for longer than an interval also counts
// as none.
type sbEvents struct {
	b        *broker.Broker
	h        *eventgrid.Handler
	clock    clock.Clock
	log      *slog.Logger
	interval time.Duration

	heads map[string]int64 // entity path (dead-letter sub-queue included) → head seen at the last look; owned by run
}

// run looks every interval until ctx ends.
func (p *sbEvents) run(ctx context.Context) {
	p.heads = map[string]int64{}
	for {
		t := p.clock.NewTimer(p.interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		p.look(ctx)
	}
}

// look makes one pass and publishes the events it finds.
func (p *sbEvents) look(ctx context.Context) {
	topics := p.h.SystemTopics(eventgrid.TopicTypeServiceBus)
	if len(topics) == 0 {
		clear(p.heads)
		return
	}
	type found struct {
		path, eventType string
	}
	var evs []found
	seen := map[string]bool{}
	for _, info := range p.b.ListEntities(0) {
		if info.Kind != broker.KindQueue && info.Kind != broker.KindSubscription {
			continue
		}
		if strings.HasPrefix(strings.ToLower(info.Name), "eventgrid/") {
			continue // Event Grid's own queues are not Service Bus entities
		}
		for _, sub := range []struct {
			path, eventType string
			n               int64
		}{
			{info.Name, "Microsoft.ServiceBus.ActiveMessagesAvailableWithNoListeners", info.Active},
			{info.Name + "/" + broker.DeadLetterSuffix, "Microsoft.ServiceBus.DeadletterMessagesAvailableWithNoListeners", info.DeadLettered},
		} {
			if sub.n == 0 {
				continue
			}
			head := p.head(ctx, sub.path)
			if head == 0 {
				continue
			}
			seen[sub.path] = true
			if p.heads[sub.path] == head {
				evs = append(evs, found{info.Name, sub.eventType})
			}
			p.heads[sub.path] = head
		}
	}
	for k := range p.heads {
		if !seen[k] {
			delete(p.heads, k)
		}
	}
	if len(evs) == 0 {
		return
	}
	now := p.clock.Now().UTC().Format(time.RFC3339Nano)
	for _, t := range topics {
		ns := t.Source[strings.LastIndexByte(t.Source, '/')+1:]
		for start := 0; start < len(evs); start += 1000 {
			var batch []map[string]any
			for _, f := range evs[start:min(start+1000, len(evs))] {
				batch = append(batch, sbEvent(ns, f.path, f.eventType, now))
			}
			body, err := json.Marshal(batch)
			if err == nil {
				err = p.h.PublishSystem(ctx, t.Name, body)
			}
			if err != nil && ctx.Err() == nil {
				p.log.Warn("publishing Service Bus system events failed", "topic", t.Name, "events", len(batch), "err", err)
			}
		}
	}
}

// head returns the sequence number of the oldest active message of path
// (0 when there is none in the first few).
func (p *sbEvents) head(ctx context.Context, path string) int64 {
	msgs, err := p.b.Peek(ctx, path, 1, 16, "")
	if err != nil {
		return 0
	}
	for _, m := range msgs {
		if m.State == broker.StateActive {
			return m.SequenceNumber
		}
	}
	return 0
}

// sbEvent is one Service Bus system event (spec §5.1): subject
// queues/{q} or topics/{t}/subscriptions/{s}, data with all six keys.
func sbEvent(namespace, path, eventType, now string) map[string]any {
	data := map[string]any{"namespaceName": namespace, "queueName": nil, "topicName": nil, "subscriptionName": nil}
	dlq := ""
	if strings.Contains(eventType, "Deadletter") {
		dlq = "/$deadletterqueue"
	}
	var subject string
	if topic, sub, ok := broker.SplitSubscriptionPath(path); ok {
		subject = "topics/" + topic + "/subscriptions/" + sub
		data["entityType"], data["topicName"], data["subscriptionName"] = "subscriber", topic, sub
		data["requestUri"] = "https://" + namespace + ".servicebus.windows.net/" + topic + "/subscriptions/" + sub + dlq + "/messages/head"
	} else {
		subject = "queues/" + path
		data["entityType"], data["queueName"] = "queue", path
		data["requestUri"] = "https://" + namespace + ".servicebus.windows.net/" + path + dlq + "/messages/head"
	}
	var id [16]byte
	_, _ = rand.Read(id[:])
	id[6], id[8] = id[6]&0x0f|0x40, id[8]&0x3f|0x80
	h := hex.EncodeToString(id[:])
	return map[string]any{
		"id": h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], "subject": subject, "eventType": eventType,
		"eventTime": now, "data": data, "dataVersion": "1", "metadataVersion": "1",
	}
}
