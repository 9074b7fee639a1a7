package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus/admin"

	"github.com/batonmq/baton/internal/config"
	"github.com/batonmq/baton/internal/server"
)

// sb is an in-process Baton with its Service Bus face on a loopback port,
// and SDK clients pointed at it as a user would point them.
type sb struct {
	t       *testing.T
	srv     *server.Server
	cfg     config.Config
	opts    server.Options
	connStr string
	client  *azservicebus.Client
	admin   *admin.Client
}

// startSB starts Baton in-process with cfg (its listen addresses are forced
// to loopback port 0).
func startSB(t *testing.T, cfg config.Config) *sb {
	t.Helper()
	return startSBWith(t, cfg, server.Options{})
}

// startSBWith is startSB with options (a fake clock, say).
func startSBWith(t *testing.T, cfg config.Config, opts server.Options) *sb {
	t.Helper()
	cfg.Listen.Mgmt = "127.0.0.1:0"
	cfg.Listen.AMQP = "127.0.0.1:0"
	// Faces left at their default (fixed) ports are turned off: tests run in
	// parallel and must never need a fixed port.
	def := config.Default().Listen
	if cfg.Listen.AMQPS == def.AMQPS {
		cfg.Listen.AMQPS = ""
	}
	if cfg.Listen.QueueStorage == def.QueueStorage {
		cfg.Listen.QueueStorage = ""
	}
	if cfg.Listen.EventGrid == def.EventGrid {
		cfg.Listen.EventGrid = ""
	}
	if cfg.DataDir == "" || cfg.DataDir == config.Default().DataDir {
		cfg.DataDir = t.TempDir()
	}
	s, err := server.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	e := &sb{t: t, srv: s, cfg: cfg, opts: opts}
	e.connect("any")
	t.Cleanup(func() { e.stop() })
	return e
}

// connect (re)creates the SDK clients with the given key.
func (e *sb) connect(key string) {
	e.t.Helper()
	e.connStr = "Endpoint=sb://" + e.srv.AMQPAddr() + ";SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=" + key + ";UseDevelopmentEmulator=true"
	c, err := azservicebus.NewClientFromConnectionString(e.connStr, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	pem, err := os.ReadFile(e.srv.CAFile())
	if err != nil {
		e.t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	ac, err := admin.NewClientFromConnectionString(e.connStr, &admin.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}},
	}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.client, e.admin = c, ac
}

func (e *sb) stop() {
	if e.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e.client.Close(ctx)
	e.srv.Shutdown(ctx)
	e.srv = nil
}

// restart stops Baton and starts it again on the same data directory.
func (e *sb) restart() {
	e.t.Helper()
	e.stop()
	s, err := server.New(e.cfg, e.opts)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := s.Start(e.t.Context()); err != nil {
		e.t.Fatal(err)
	}
	e.srv = s
	e.connect("any")
}

// ctx returns a context with a deadline, so that no test can hang.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// queue creates a queue through the admin client.
func (e *sb) queue(name string, props *admin.QueueProperties) {
	e.t.Helper()
	if _, err := e.admin.CreateQueue(ctx(e.t), name, &admin.CreateQueueOptions{Properties: props}); err != nil {
		e.t.Fatalf("CreateQueue(%q): %v", name, err)
	}
}
