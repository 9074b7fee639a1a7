package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/batonmq/baton/internal/config"
	"github.com/batonmq/baton/internal/gctune"
	"github.com/batonmq/baton/internal/server"
)

// runServe starts Baton and runs until ctx ends (SIGINT/SIGTERM).
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "JSON config `file` (Baton's, or Microsoft's Service Bus emulator Config.json)")
	dataDir := fs.String("data-dir", "", "data `directory` (default ./baton-data)")
	memory := fs.Bool("memory", false, "keep everything in memory; nothing is written to disk")
	durability := fs.String("durability", "", "embedded store durability: fsync (default) or buffered")
	store := fs.String("store", "", "keep messages in PostgreSQL: postgres://user:password@host:5432/database `URL` (one node per database schema)")
	standby := fs.Bool("standby", false, "run as one of several nodes on the --store database: forward connections to the active node and take over when it goes (docs/scale-out.md)")
	advertise := fs.String("advertise-host", "", "with --standby: the `host` other nodes use to reach this node's faces (default: each listener's host when specific, else 127.0.0.1)")
	sharedSQ := fs.Bool("shared-storage-queues", false, "with --store: keep Storage Queues in tables that every node serves directly, standby or active (docs/scale-out.md)")
	sharedSB := fs.Bool("shared-service-bus", false, "with --store: keep Service Bus queues in tables that every node serves directly, standby or active; topics and transactions are not available (docs/scale-out.md)")
	mgmtAddr := fs.String("mgmt-addr", "", "management API `address` (default 127.0.0.1:8088; \"off\" disables)")
	amqpAddr := fs.String("amqp-addr", "", "Service Bus AMQP + admin HTTPS `address` (default :5672; \"off\" disables)")
	amqpsAddr := fs.String("amqps-addr", "", "Service Bus AMQP over TLS `address` (default :5671; \"off\" disables)")
	queueAddr := fs.String("queue-addr", "", "Storage Queue `address` (default 127.0.0.1:10001; \"off\" disables)")
	egAddr := fs.String("eventgrid-addr", "", "Event Grid HTTPS `address` (default :8443; \"off\" disables)")
	allowAnon := fs.Bool("allow-anonymous", false, "accept Storage Queue requests without credentials (development only)")
	logLevel := fs.String("log-level", "", "debug, info, warn or error")
	logFormat := fs.String("log-format", "", "text or json")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return &usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	cfg := config.Default()
	if *configPath != "" {
		var err error
		if cfg, err = config.Load(*configPath); err != nil {
			return err
		}
	}
	if err := cfg.ApplyEnv(os.Getenv); err != nil {
		return err
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "data-dir":
			cfg.DataDir = *dataDir
		case "memory":
			cfg.Memory = *memory
		case "durability":
			cfg.Durability = *durability
		case "store":
			cfg.Store = *store
		case "standby":
			cfg.Standby = *standby
		case "advertise-host":
			cfg.AdvertiseHost = *advertise
		case "shared-storage-queues":
			cfg.SharedStorageQueues = *sharedSQ
		case "shared-service-bus":
			cfg.SharedServiceBus = *sharedSB
		case "mgmt-addr":
			cfg.Listen.Mgmt = *mgmtAddr
			if *mgmtAddr == "off" {
				cfg.Listen.Mgmt = ""
			}
		case "amqp-addr":
			cfg.Listen.AMQP = *amqpAddr
			if *amqpAddr == "off" {
				cfg.Listen.AMQP = ""
			}
		case "amqps-addr":
			cfg.Listen.AMQPS = offOr(*amqpsAddr)
		case "queue-addr":
			cfg.Listen.QueueStorage = offOr(*queueAddr)
		case "eventgrid-addr":
			cfg.Listen.EventGrid = offOr(*egAddr)
		case "allow-anonymous":
			cfg.AllowAnonymous = *allowAnon
		case "log-level":
			cfg.Log.Level = *logLevel
		case "log-format":
			cfg.Log.Format = *logFormat
		}
	})
	if err := cfg.Validate(); err != nil {
		return err
	}
	logger := newLogger(cfg.Log, stderr)
	// Room for the garbage collector while the live heap is small (a GOGC
	// in the environment wins): internal/gctune.
	tuner := gctune.Start(gctune.Config{}, os.Getenv("GOGC") != "")
	defer tuner.Stop()
	srv, err := server.New(cfg, server.Options{Logger: logger})
	if err != nil {
		return err
	}
	if err := srv.Start(ctx); err != nil {
		return err
	}
	if cfg.Standby {
		var shared []string
		if cfg.SharedServiceBus {
			shared = append(shared, "Service Bus")
		}
		if cfg.SharedStorageQueues {
			shared = append(shared, "Storage Queues")
		}
		what := "it forwards connections to the active node"
		if len(shared) > 0 {
			what = "it serves " + strings.Join(shared, " and ") + " itself from the shared tables, forwards the other faces' connections to the active node,"
		}
		fmt.Fprintf(stdout, "Baton is listening as a standby node: %s and takes over when that one goes.\n  store:          %s\n", what, srv.StoreDescription())
	} else {
		fmt.Fprintf(stdout, "Baton is ready.\n  store:          %s\n", srv.StoreDescription())
	}
	if a := srv.AMQPAddr(); a != "" {
		fmt.Fprintf(stdout, "  Service Bus:    sb://%s  (AMQP; admin API over HTTPS on the same port, CA %s)\n", a, srv.CAFile())
		fmt.Fprintf(stdout, "    connection string: Endpoint=sb://localhost:%s;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=any;UseDevelopmentEmulator=true\n", portOf(a))
	}
	if a := srv.AMQPSAddr(); a != "" {
		fmt.Fprintf(stdout, "  Service Bus TLS: amqps://%s  (Endpoint=sb://localhost:%s;… without UseDevelopmentEmulator; trust the CA)\n", a, portOf(a))
	}
	if u := srv.QueueStorageURL(); u != "" {
		fmt.Fprintf(stdout, "  Storage Queues: %s/devstoreaccount1  (UseDevelopmentStorage=true works when this is 127.0.0.1:10001)\n", u)
	}
	if u := srv.EventGridURL(); u != "" {
		fmt.Fprintf(stdout, "  Event Grid:     %s  (trust the CA)\n", u)
	}
	if u := srv.MgmtURL(); u != "" {
		fmt.Fprintf(stdout, "  management API: %s  (baton queue list, /healthz, /readyz)\n", u)
	}
	fmt.Fprintln(stdout, "Press Ctrl+C to stop.")

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-srv.Err():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), time.Duration(cfg.ShutdownTimeout))
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && runErr == nil {
		runErr = err
	}
	return runErr
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	lv, _ := c.SlogLevel()
	opts := &slog.HandlerOptions{Level: lv}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func portOf(addr string) string {
	if _, p, err := net.SplitHostPort(addr); err == nil {
		return p
	}
	return addr
}

// offOr turns the flag value "off" into an empty (disabled) address.
func offOr(addr string) string {
	if addr == "off" {
		return ""
	}
	return addr
}
