package pgbroker

import (
	"context"
	"testing"

	"github.com/batonmq/baton/internal/store/pgstore/pgtest"
)

// TestMain starts the private PostgreSQL server the tests share.
func TestMain(m *testing.M) { pgtest.Main(m) }

// open opens an Engine on schema of the shared server and closes it at the
// end of t.
func open(t testing.TB, schema string, cfg Config) *Engine {
	t.Helper()
	srv := pgtest.Shared(t)
	cfg.DSN, cfg.Schema = srv.DSN(), schema
	e, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	})
	return e
}
