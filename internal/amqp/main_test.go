package amqp

import (
	"context"
	"net"
	"testing"
	"time"

	goamqp "github.com/Azure/go-amqp"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/broker/brokertest"
	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/store/memstore"
)

// testEnv is a running server over a memstore broker on 127.0.0.1:0.
type testEnv struct {
	t      testing.TB
	clock  clock.Clock
	fake   *clock.Fake // nil with the real clock
	broker *broker.Broker
	srv    *Server
	addr   string
	ctx    context.Context
}

type envOptions struct {
	realClock bool
	cfg       func(*Config)
	wrapStore func(broker.Store) broker.Store // wraps the memstore under the broker
}

func newTestEnv(t testing.TB, o envOptions) *testEnv {
	t.Helper()
	env := &testEnv{t: t, ctx: context.Background()}
	if o.realClock {
		env.clock = clock.Real{}
	} else {
		env.fake = clock.NewFake(brokertest.Epoch)
		env.clock = env.fake
	}
	store := memstore.New()
	var bs broker.Store = store
	if o.wrapStore != nil {
		bs = o.wrapStore(store)
	}
	b, err := broker.New(broker.Config{Store: bs, Clock: env.clock})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Open(env.ctx); err != nil {
		t.Fatal(err)
	}
	env.broker = b
	cfg := Config{Broker: b, Clock: env.clock}
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	env.srv = srv
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	env.addr = ln.Addr().String()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; err != ErrServerClosed {
			t.Errorf("Serve returned %v", err)
		}
		b.Close()
		store.Close()
	})
	return env
}

func (env *testEnv) queue(name string, props broker.QueueProperties) {
	env.t.Helper()
	if _, err := env.broker.CreateQueue(env.ctx, name, props); err != nil {
		env.t.Fatal(err)
	}
}

// dial connects a go-amqp client.
func (env *testEnv) dial(opts *goamqp.ConnOptions) *goamqp.Conn {
	env.t.Helper()
	if opts == nil {
		opts = &goamqp.ConnOptions{SASLType: goamqp.SASLTypeAnonymous()}
	}
	ctx, cancel := context.WithTimeout(env.ctx, 10*time.Second)
	defer cancel()
	c, err := goamqp.Dial(ctx, "amqp://"+env.addr, opts)
	if err != nil {
		env.t.Fatalf("Dial: %v", err)
	}
	env.t.Cleanup(func() { c.Close() })
	return c
}

func (env *testEnv) session(c *goamqp.Conn) *goamqp.Session {
	env.t.Helper()
	s, err := c.NewSession(env.tctx(), nil)
	if err != nil {
		env.t.Fatalf("NewSession: %v", err)
	}
	return s
}

// tctx is a context that bounds one client call, so no test hangs.
func (env *testEnv) tctx() context.Context {
	ctx, cancel := context.WithTimeout(env.ctx, 20*time.Second)
	env.t.Cleanup(cancel)
	return ctx
}

func (env *testEnv) counts(name string) broker.Counts {
	env.t.Helper()
	info, err := env.broker.GetEntity(name)
	if err != nil {
		env.t.Fatal(err)
	}
	return info.Counts
}
