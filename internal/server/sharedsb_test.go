package server

import (
	"context"
	"testing"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/config"
	"github.com/batonmq/baton/internal/store/pgstore/pgtest"
)

// TestSharedServiceBusDeclared: with sharedServiceBus, the entities the
// config file declares (topicsDoc: queues, a topic, subscriptions with
// rules and forwarding) are made in the shared engine, not in the
// broker, and a second start finds them there and keeps them.
func TestSharedServiceBusDeclared(t *testing.T) {
	pg := pgtest.Require(t, pgtest.Options{})
	base := config.Default()
	base.DataDir, base.Store, base.SharedServiceBus = t.TempDir(), pg.SchemaURL(t), true
	base.Listen = config.Listen{Mgmt: "127.0.0.1:0", AMQP: "127.0.0.1:0", AMQPS: "off"}
	cfg := decodeConfig(t, base, topicsDoc)
	for range 2 {
		s, err := New(cfg, Options{Node: "n"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		e := s.sbEngine()
		if e == broker.Engine(s.Broker()) {
			t.Fatal("the Service Bus face serves from the broker with sharedServiceBus")
		}
		in, err := e.GetEntity("in")
		if err != nil || in.Properties.ForwardTo != "orders" {
			t.Fatalf("declared queue in the shared engine: %+v %v", in, err)
		}
		rules, err := e.Rules("orders", "eu")
		if err != nil || len(rules) != 2 || rules[0].Name != "big-eu" {
			t.Fatalf("declared rules: %+v %v", rules, err)
		}
		if _, err := s.Broker().GetEntity("in"); broker.CodeOf(err) != broker.CodeNotFound {
			t.Fatalf("declared queue in the broker: %v", err)
		}
		if err := s.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}
