package pgstore_test

import (
	"testing"

	"github.com/batonmq/baton/internal/store/pgstore/pgtest"
)

// TestMain starts the private PostgreSQL server the tests share.
func TestMain(m *testing.M) { pgtest.Main(m) }
