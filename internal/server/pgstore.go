package server

import (
	"context"
	"fmt"

	"github.com/batonmq/baton/internal/httpapi/mgmt"
	"github.com/batonmq/baton/internal/store/pgstore"
)

// openPostgres opens the PostgreSQL store named by cfg.Store. A database
// that cannot be reached is a start-up error (baton serve exits non-zero).
func (s *Server) openPostgres(ctx context.Context) error {
	st, err := pgstore.Open(ctx, pgstore.Config{DSN: s.cfg.Store, Logger: s.log.With("component", "pgstore")})
	if err != nil {
		return fmt.Errorf("server: opening the PostgreSQL store: %w", err)
	}
	s.store = st
	s.storeDesc = fmt.Sprintf("PostgreSQL %s (schema %s, owner epoch %d)", pgstore.Redact(s.cfg.Store), st.Schema(), st.Epoch())
	return nil
}

// pgStoreStats maps the PostgreSQL store's counters onto the management
// API's: one append per group, one sync per committed transaction.
//
// An owner is always the active node; with standby it is one of an
// active/standby group (the standbys forward the management API here,
// so the answer always comes from the active node).
func pgStoreStats(ps *pgstore.Store, standby bool) mgmt.StoreStats {
	st := ps.Stats()
	return mgmt.StoreStats{Store: "postgres", Durability: "commit", Appends: st.Groups, Records: st.Records, Bytes: st.Bytes, Syncs: st.Batches,
		Role: "active", Standby: standby, Epoch: ps.Epoch(), Node: ps.Node()}
}
