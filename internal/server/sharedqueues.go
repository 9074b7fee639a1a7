package server

import (
	"context"
	"fmt"

	"github.com/batonmq/baton/internal/httpapi/queuestorage/pgengine"
	"github.com/batonmq/baton/internal/store/pgstore"
)

// Shared Storage Queues (config sharedStorageQueues, --shared-storage-queues):
// the Storage Queue face serves from tables of the PostgreSQL store through
// pgengine instead of the broker, so every node — standby or active —
// serves it directly and the nodes share the work (docs/scale-out.md). Its
// listeners are therefore not forwarded by a standby, and it starts with the
// node, not when the node takes the store over.

// nodeName is this process's name among the nodes of one store.
func (s *Server) nodeName() string {
	if s.node != "" {
		return s.node
	}
	return pgstore.DefaultNode()
}

// openSharedQueues opens the shared Storage Queue engine when the config
// asks for it and it is not open yet.
func (s *Server) openSharedQueues(ctx context.Context) error {
	if !s.cfg.SharedStorageQueues || s.sharedSQ != nil {
		return nil
	}
	e, err := pgengine.Open(ctx, pgengine.Config{DSN: s.cfg.Store, Clock: s.clock, Node: s.nodeName(),
		Logger: s.log.With("component", "sqengine")})
	if err != nil {
		return fmt.Errorf("server: opening the shared Storage Queues (database %s): %w", pgstore.Redact(s.cfg.Store), err)
	}
	s.sharedSQ = e
	return nil
}

// closeSharedQueues closes the shared Storage Queue engine, if open.
func (s *Server) closeSharedQueues() error {
	if s.sharedSQ == nil {
		return nil
	}
	err := s.sharedSQ.Close()
	s.sharedSQ = nil
	if err != nil {
		return fmt.Errorf("server: closing the shared Storage Queues: %w", err)
	}
	return nil
}
