package memstore_test

import (
	"testing"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/broker/brokertest"
	"github.com/batonmq/baton/internal/store/memstore"
)

func factory() brokertest.Factory {
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

func TestConformance(t *testing.T) { brokertest.Run(t, factory()) }

func TestModel(t *testing.T) { brokertest.RunModel(t, factory()) }
