package eventgrid

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/store/memstore"
)

// TestEGDefinitionsReplaced: a crash between storing a definition's new
// version and cancelling the old leaves both; at the next start the later
// one wins and the earlier one is removed. A removed definition does not
// come back.
func TestEGDefinitionsReplaced(t *testing.T) {
	ctx := t.Context()
	fake := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	b, err := broker.New(broker.Config{Store: memstore.New(), Clock: fake})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	h, err := New(ctx, Config{Broker: b, Clock: fake})
	if err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	if _, err := h.putTopic(ctx, TopicSpec{Name: "orders", InputSchema: "EventGridSchema"}, fromAPI); err != nil {
		t.Fatal(err)
	}
	if _, err := h.putTopic(ctx, TopicSpec{Name: "gone"}, fromAPI); err != nil {
		t.Fatal(err)
	}
	if _, err := h.deleteTopic(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	h.mu.Unlock()
	// The crash: a newer version scheduled, the older never cancelled.
	spec, _ := json.Marshal(TopicSpec{Name: "orders", InputSchema: "CloudEventSchemaV1_0"})
	body, _ := json.Marshal(definition{Kind: defTopic, Spec: spec})
	if _, err := b.Schedule(ctx, DefinitionsQueue, []*broker.Message{{MessageID: defKey(defTopic, "", "orders"), Body: body}},
		fake.Now().Add(definitionsHorizon)); err != nil {
		t.Fatal(err)
	}
	if n := peekCount(t, b); n != 2 {
		t.Fatalf("%d stored definitions before the restart, want 2", n)
	}
	h2, err := New(ctx, Config{Broker: b, Clock: fake})
	if err != nil {
		t.Fatal(err)
	}
	st := h2.state()
	if len(st.topics) != 1 || st.topics["orders"] == nil || st.topics["orders"].spec.InputSchema != "CloudEventSchemaV1_0" {
		t.Fatalf("topics after the restart: %v", st.topics)
	}
	if n := peekCount(t, b); n != 1 {
		t.Errorf("%d stored definitions after the restart, want 1 (the replaced one removed)", n)
	}
	// Far in the future they are still not deliverable.
	fake.Advance(50 * 365 * 24 * time.Hour)
	if ms, err := b.Receive(ctx, DefinitionsQueue, broker.ReceiveOptions{MaxMessages: 10}); err != nil || len(ms) != 0 {
		t.Errorf("a definition became deliverable: %v %v", ms, err)
	}
}

func peekCount(t *testing.T, b *broker.Broker) int {
	t.Helper()
	ms, err := b.Peek(t.Context(), DefinitionsQueue, 1, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	return len(ms)
}
