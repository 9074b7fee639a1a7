package broker_test

import (
	"testing"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/broker/brokertest"
	"github.com/batonmq/baton/internal/store/memstore"
)

// The engine's own tests: the conformance suite and the model test on the
// in-memory store, so `go test -race ./internal/broker/...` exercises the
// whole engine.
func memFactory() brokertest.Factory {
	return brokertest.Factory{
		New: func(t *testing.T) broker.Store { return memstore.New() },
		Reopen: func(t *testing.T, old broker.Store) broker.Store {
			s := old.(*memstore.Store)
			s.Close()
			s.Reopen()
			return s
		},
	}
}

func TestConformance(t *testing.T) { brokertest.Run(t, memFactory()) }

func TestModel(t *testing.T) { brokertest.RunModel(t, memFactory()) }
