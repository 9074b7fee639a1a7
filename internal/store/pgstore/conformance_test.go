package pgstore_test

import (
	"context"
	"testing"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/broker/brokertest"
	"github.com/batonmq/baton/internal/store/pgstore"
	"github.com/batonmq/baton/internal/store/pgstore/pgtest"
)

// factory opens stores in a schema of their own on the shared server;
// Reopen closes the store and opens a new one on the same schema, as a
// restarted process would.
func factory(cfg pgstore.Config) brokertest.Factory {
	cfgs := map[broker.Store]pgstore.Config{}
	open := func(t *testing.T, c pgstore.Config) broker.Store {
		t.Helper()
		s, err := pgstore.Open(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		cfgs[s] = c
		return s
	}
	return brokertest.Factory{
		New: func(t *testing.T) broker.Store {
			srv := pgtest.Shared(t)
			c := cfg
			c.DSN, c.Schema = srv.DSN(), srv.NewSchema(t)
			return open(t, c)
		},
		Reopen: func(t *testing.T, old broker.Store) broker.Store {
			c := cfgs[old]
			if err := old.Close(); err != nil {
				t.Fatal(err)
			}
			return open(t, c)
		},
	}
}

func TestConformance(t *testing.T) { brokertest.Run(t, factory(pgstore.Config{})) }

// TestConformanceKeepBodies runs the suite with bodies kept in the
// broker's memory (no ReadBody).
func TestConformanceKeepBodies(t *testing.T) {
	brokertest.Run(t, factory(pgstore.Config{KeepBodies: true}))
}

func TestModel(t *testing.T) {
	brokertest.RunModelSeeds(t, factory(pgstore.Config{}), []uint64{1, 2, 3, 4})
}
