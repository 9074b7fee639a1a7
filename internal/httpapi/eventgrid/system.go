package eventgrid

import (
	"context"
	"fmt"
	"strings"

	"github.com/batonmq/baton/internal/push"
)

// SystemTopic is a system topic as its event source sees it.
type SystemTopic struct {
	Name   string
	Source string // the source resource id (Service Bus namespace)
}

// SystemTopics returns the system topics of topicType.
func (h *Handler) SystemTopics(topicType string) []SystemTopic {
	var out []SystemTopic
	for _, t := range sortedTopics(h.state()) {
		if t.System && strings.EqualFold(t.spec.TopicType, topicType) {
			out = append(out, SystemTopic{Name: t.Name, Source: cmpString(t.spec.Source, DefaultServiceBusSource)})
		}
	}
	return out
}

// PublishSystem publishes EventGridEvents Baton raises itself (a JSON
// array, body) to a system topic: they are checked and stamped like a
// publish, with the source's resource id as their topic, and sent to the
// matching subscriptions.
func (h *Handler) PublishSystem(ctx context.Context, topic string, body []byte) error {
	t := h.state().topics[strings.ToLower(topic)]
	if t == nil || !t.System {
		return fmt.Errorf("eventgrid: no system topic %q", topic)
	}
	evs, err := decodeEventGridEvents(body, cmpString(t.spec.Source, DefaultServiceBusSource), h.lim)
	if err != nil {
		return fmt.Errorf("eventgrid: system events for %s: %w", topic, err)
	}
	return h.fanOut(ctx, push.SchemaEventGrid, evs, t.Subscriptions)
}
