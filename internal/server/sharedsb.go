package server

import (
	"context"
	"fmt"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/pgbroker"
	"github.com/batonmq/baton/internal/store/pgstore"
)

// Shared Service Bus (config sharedServiceBus, --shared-service-bus): the
// Service Bus face (AMQP, $management, CBS, the administration API) serves
// queues from tables of the PostgreSQL store through pgbroker instead of
// the broker, so every node — standby or active — serves it directly and
// the nodes share the work (docs/scale-out.md). Like shared Storage Queues,
// its listeners are not forwarded by a standby and it starts with the node.

// sbEngine is the engine the Service Bus face serves from.
func (s *Server) sbEngine() broker.Engine {
	if s.sharedSB != nil {
		return s.sharedSB
	}
	return s.broker
}

// openSharedSB opens the shared Service Bus engine when the config asks for
// it and it is not open yet.
func (s *Server) openSharedSB(ctx context.Context) error {
	if !s.cfg.SharedServiceBus || s.sharedSB != nil {
		return nil
	}
	e, err := pgbroker.Open(ctx, pgbroker.Config{DSN: s.cfg.Store, Clock: s.clock, Node: s.nodeName(), Codec: serviceBusCodec(),
		Logger: s.log.With("component", "sbengine")})
	if err != nil {
		return fmt.Errorf("server: opening the shared Service Bus (database %s): %w", pgstore.Redact(s.cfg.Store), err)
	}
	s.sharedSB = e
	return nil
}

// closeSharedSB closes the shared Service Bus engine, if open.
func (s *Server) closeSharedSB() error {
	if s.sharedSB == nil {
		return nil
	}
	err := s.sharedSB.Close()
	s.sharedSB = nil
	if err != nil {
		return fmt.Errorf("server: closing the shared Service Bus: %w", err)
	}
	return nil
}
