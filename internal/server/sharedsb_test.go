package server

import (
	"context"
	"testing"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/config"
	"github.com/batonmq/baton/internal/httpapi/mgmt"
	"github.com/batonmq/baton/internal/store/pgstore/pgtest"
)

// TestSharedServiceBusDeclared: with sharedServiceBus, the entities the
// config file declares (topicsDoc: queues, a topic, subscriptions with
// rules and forwarding) are made in the shared engine, not in the
// broker, the management API shows them, and a second start finds them
// there and keeps them.
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
		// The management API shows the shared entities.
		c, err := mgmt.NewClient(s.MgmtURL(), nil)
		if err != nil {
			t.Fatal(err)
		}
		qs, err := c.ListQueues(t.Context())
		if err != nil || len(qs) != 2 {
			t.Fatalf("queues through the management API: %d %v", len(qs), err)
		}
		subs, err := c.ListSubscriptions(t.Context(), "orders")
		if err != nil || len(subs) != 2 {
			t.Fatalf("subscriptions through the management API: %d %v", len(subs), err)
		}
		if err := s.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}
