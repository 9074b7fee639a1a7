package pgstore_test

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/broker/brokertest"
	"github.com/batonmq/baton/internal/store/pgstore"
	"github.com/batonmq/baton/internal/store/pgstore/pgtest"
)

// freeSchemas are migrated schemas whose tests have ended; the next test
// takes one and empties it, which is much cheaper than migrating a new one.
var freeSchemas struct {
	sync.Mutex
	names []string
}

// testSchema returns an empty, migrated schema of t's own (or a new one).
func testSchema(t *testing.T, srv *pgtest.Server) string {
	t.Helper()
	freeSchemas.Lock()
	n := len(freeSchemas.names)
	var name string
	if n > 0 {
		name, freeSchemas.names = freeSchemas.names[n-1], freeSchemas.names[:n-1]
	}
	freeSchemas.Unlock()
	if name == "" {
		name = srv.NewSchema(t)
	} else {
		conn, err := pgx.Connect(context.Background(), srv.DSN()+" search_path="+name)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), `DELETE FROM baton_message; DELETE FROM baton_session;
			DELETE FROM baton_dedup; DELETE FROM baton_removed; DELETE FROM baton_entity`); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { // after the test's own cleanups closed its stores
		freeSchemas.Lock()
		freeSchemas.names = append(freeSchemas.names, name)
		freeSchemas.Unlock()
	})
	return name
}

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
			c.DSN, c.Schema = srv.DSN(), testSchema(t, srv)
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
