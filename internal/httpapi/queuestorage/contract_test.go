package queuestorage_test

import (
	"context"
	"testing"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/httpapi/queuestorage"
	"github.com/batonmq/baton/internal/httpapi/queuestorage/enginetest"
	"github.com/batonmq/baton/internal/store/memstore"
)

// TestBrokerEngineContract runs the Engine contract suite against the
// broker engine on memstore: the suite states today's semantics, which
// every other Engine (pgengine) must match.
func TestBrokerEngineContract(t *testing.T) {
	enginetest.Run(t, func(t *testing.T, clk *clock.Fake) queuestorage.Engine {
		br, err := broker.New(broker.Config{Store: memstore.New(), Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		if err := br.Open(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { br.Close() })
		return queuestorage.NewBrokerEngine(br)
	})
}
