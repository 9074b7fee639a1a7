package pgbroker

import (
	"errors"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/store/pgstore/pgtest"
)

type answer struct {
	msgs []*broker.Message
	err  error
}

// Drain ends waiting receives and accepts, empty; Close ends them with
// ErrClosed, and later calls fail with it.
func TestDrainAndClose(t *testing.T) {
	ctx := t.Context()
	schema := pgtest.Shared(t).NewSchema(t)
	clk := clock.NewFake(time.Now())
	cfg := Config{Node: "x", Clock: clk, MaintainInterval: 1000 * time.Hour, PollInterval: 1000 * time.Hour}
	cfg.DSN, cfg.Schema = pgtest.Shared(t).DSN(), schema
	e, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := e.CreateQueue(ctx, "q", broker.QueueProperties{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateQueue(ctx, "s", broker.QueueProperties{RequiresSession: true}); err != nil {
		t.Fatal(err)
	}
	wait := func() <-chan answer {
		ch := make(chan answer, 1)
		go func() {
			m, err := e.Receive(ctx, "q", broker.ReceiveOptions{Wait: time.Hour})
			ch <- answer{m, err}
		}()
		return ch
	}
	got := wait()
	clk.BlockUntil(3)
	accepted := make(chan error, 1)
	go func() {
		_, err := e.AcceptSession(ctx, "s", "", time.Hour)
		accepted <- err
	}()
	clk.BlockUntil(5)
	e.Drain()
	if a := within(t, got, time.Minute, "drained receive"); a.err != nil || len(a.msgs) != 0 {
		t.Fatalf("drained receive: %+v", a)
	}
	if err := within(t, accepted, time.Minute, "drained accept"); broker.CodeOf(err) != broker.CodeTimeout {
		t.Fatalf("drained accept: %v", err)
	}
	// Drained: a receive does not wait.
	if a := within(t, wait(), time.Minute, "receive after Drain"); a.err != nil || len(a.msgs) != 0 {
		t.Fatalf("receive after drain: %+v", a)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Send(ctx, "q", []*broker.Message{msg("x")}); !errors.Is(err, broker.ErrClosed) {
		t.Fatalf("send after Close: %v", err)
	}
	if _, err := e.GetEntity("q"); !errors.Is(err, broker.ErrClosed) {
		t.Fatalf("GetEntity after Close: %v", err)
	}
}

func TestCloseEndsWaits(t *testing.T) {
	ctx := t.Context()
	schema := pgtest.Shared(t).NewSchema(t)
	clk := clock.NewFake(time.Now())
	cfg := Config{Node: "x", Clock: clk, MaintainInterval: 1000 * time.Hour, PollInterval: 1000 * time.Hour}
	cfg.DSN, cfg.Schema = pgtest.Shared(t).DSN(), schema
	e, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateQueue(ctx, "q", broker.QueueProperties{}); err != nil {
		t.Fatal(err)
	}
	got := make(chan answer, 1)
	go func() {
		m, err := e.Receive(ctx, "q", broker.ReceiveOptions{Wait: time.Hour})
		got <- answer{m, err}
	}()
	clk.BlockUntil(3)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if a := within(t, got, time.Minute, "receive at Close"); !errors.Is(a.err, broker.ErrClosed) {
		t.Fatalf("receive at Close: %+v", a)
	}
}

// A next-session accept waiting on one engine is woken by a send on another.
func TestMultiAcceptWokenBySend(t *testing.T) {
	ctx := t.Context()
	schema := pgtest.Shared(t).NewSchema(t)
	a := open(t, schema, Config{Node: "a"})
	clk := clock.NewFake(time.Now().Add(time.Minute))
	b := open(t, schema, Config{Node: "b", Clock: clk, PollInterval: 1000 * time.Hour, MaintainInterval: 1000 * time.Hour})
	if _, err := a.CreateQueue(ctx, "s", broker.QueueProperties{RequiresSession: true}); err != nil {
		t.Fatal(err)
	}
	got := make(chan *broker.SessionLock, 1)
	go func() {
		l, err := b.AcceptSession(ctx, "s", "", time.Hour)
		if err != nil {
			t.Error(err)
		}
		got <- l
	}()
	clk.BlockUntil(3)
	if _, err := a.Send(ctx, "s", []*broker.Message{smsg("z", "z1")}); err != nil {
		t.Fatal(err)
	}
	if l := within(t, got, time.Minute, "woken accept"); l == nil || l.SessionID != "z" {
		t.Fatalf("woken accept: %+v", l)
	}
}
