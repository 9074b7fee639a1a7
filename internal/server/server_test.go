package server

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/config"
	"github.com/batonmq/baton/internal/httpapi/mgmt"
)

func startServer(t *testing.T, cfg config.Config) *Server {
	t.Helper()
	s, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

func testConfig() config.Config {
	cfg := config.Default()
	cfg.Memory = true
	// Only the management API, on a free port: tests never bind the
	// default (fixed) ports of the faces.
	cfg.Listen = config.Listen{Mgmt: "127.0.0.1:0"}
	return cfg
}

// TestServeOverLoopback starts a whole server on a real socket and drives
// the newcomer flow through the management API client.
func TestServeOverLoopback(t *testing.T) {
	cfg := testConfig()
	cfg.Queues = []config.Queue{{Name: "declared", MaxDeliveryCount: 3, LockDuration: config.Duration(30 * time.Second)}}
	s := startServer(t, cfg)
	ctx := t.Context()
	c, err := mgmt.NewClient(s.MgmtURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Ready(ctx); err != nil {
		t.Fatalf("ready: %v", err)
	}
	q, err := c.GetQueue(ctx, "declared")
	if err != nil {
		t.Fatalf("declared queue: %v", err)
	}
	if q.MaxDeliveryCount != 3 || time.Duration(q.LockDuration) != 30*time.Second {
		t.Fatalf("declared queue = %+v", q)
	}
	if _, err := c.CreateQueue(ctx, "orders", mgmt.QueueProperties{}); err != nil {
		t.Fatal(err)
	}
	hello := "hello"
	if _, err := c.Send(ctx, "orders", mgmt.SendMessage{Body: &hello}); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Receive(ctx, "orders", mgmt.ReceiveRequest{Mode: "receiveanddelete"})
	if err != nil || len(msgs) != 1 || msgs[0].Body == nil || *msgs[0].Body != "hello" {
		t.Fatalf("receive = %+v, %v", msgs, err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(shutdownCtx); err != nil {
		t.Fatal(err)
	}
	if err := c.Health(ctx); err == nil {
		t.Fatal("the server still answers after Shutdown")
	}
}

// TestShutdownEndsWaitingReceivers checks that a receive waiting for
// messages does not hold up a graceful shutdown: it returns empty.
func TestShutdownEndsWaitingReceivers(t *testing.T) {
	s := startServer(t, testConfig())
	ctx := t.Context()
	c, _ := mgmt.NewClient(s.MgmtURL(), nil)
	if _, err := c.CreateQueue(ctx, "q", mgmt.QueueProperties{}); err != nil {
		t.Fatal(err)
	}
	type result struct {
		msgs []*mgmt.Message
		err  error
	}
	done := make(chan result, 1)
	go func() {
		wait := mgmt.Duration(time.Minute)
		msgs, err := c.Receive(ctx, "q", mgmt.ReceiveRequest{Wait: &wait})
		done <- result{msgs, err}
	}()
	for s.Broker().Waiters() == 0 {
		runtime.Gosched() // until the receive is parked in the broker
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Shutdown(shutdownCtx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	r := <-done
	if r.err != nil || len(r.msgs) != 0 {
		t.Fatalf("waiting receive at shutdown = %v, %v; want empty", r.msgs, r.err)
	}
}

func TestStartErrors(t *testing.T) {
	cfg := testConfig()
	cfg.Queues = []config.Queue{{Name: "bad name"}}
	s, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err == nil {
		t.Fatal("a queue with an invalid name in the config was accepted")
	}
	cfg = testConfig()
	cfg.Durability = "never"
	if _, err := New(cfg, Options{}); err == nil {
		t.Fatal("invalid config accepted")
	}
	// A taken port is a clear start-up error.
	first := startServer(t, testConfig())
	defer first.Shutdown(context.Background())
	cfg = testConfig()
	cfg.Listen.Mgmt = first.mgmtLn.Addr().String()
	s, _ = New(cfg, Options{})
	if err := s.Start(t.Context()); err == nil {
		t.Fatal("started on a port in use")
	}
}

// TestDurableRestart sends on the default (filestore) configuration, stops
// the server and finds the message after a restart; a second server on the
// same data directory is refused.
func TestDurableRestart(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Listen = config.Listen{Mgmt: "127.0.0.1:0"}
	s := startServer(t, cfg)
	ctx := t.Context()
	c, _ := mgmt.NewClient(s.MgmtURL(), nil)
	if _, err := c.CreateQueue(ctx, "orders", mgmt.QueueProperties{}); err != nil {
		t.Fatal(err)
	}
	body := "kept"
	if _, err := c.Send(ctx, "orders", mgmt.SendMessage{Body: &body}); err != nil {
		t.Fatal(err)
	}
	second, _ := New(cfg, Options{})
	if err := second.Start(ctx); err == nil {
		second.Shutdown(context.Background())
		t.Fatal("a second server opened the same data directory")
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	s = startServer(t, cfg)
	defer s.Shutdown(context.Background())
	c, _ = mgmt.NewClient(s.MgmtURL(), nil)
	msgs, err := c.Receive(ctx, "orders", mgmt.ReceiveRequest{Mode: "receiveanddelete"})
	if err != nil || len(msgs) != 1 || *msgs[0].Body != "kept" {
		t.Fatalf("after restart: %+v, %v", msgs, err)
	}
}
