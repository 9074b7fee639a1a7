package mgmt

import (
	"net/http/httptest"
	"testing"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/store/memstore"
)

func TestStats(t *testing.T) {
	st := memstore.New()
	b, err := broker.New(broker.Config{Store: st, Clock: clock.NewFake(epoch)})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := StoreStats{Store: "file", Durability: "fsync", Appends: 3, Records: 5, Bytes: 700, Syncs: 2}
	withStats := httptest.NewServer(New(Config{Broker: b, StoreStats: func() StoreStats { return want }}))
	without := httptest.NewServer(New(Config{Broker: b}))
	t.Cleanup(func() {
		withStats.Close()
		without.Close()
		b.Close()
		st.Close()
	})
	c, err := NewClient(withStats.URL, withStats.Client())
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if *got != want {
		t.Errorf("Stats = %+v, want %+v", *got, want)
	}
	c, err = NewClient(without.URL, without.Client())
	if err != nil {
		t.Fatal(err)
	}
	got, err = c.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if *got != (StoreStats{}) {
		t.Errorf("Stats without a source = %+v, want zeros", *got)
	}
}
