package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/batonmq/baton/internal/config"
	"github.com/batonmq/baton/internal/httpapi/mgmt"
	"github.com/batonmq/baton/internal/store/pgstore/pgtest"
)

// TestStandby runs nodes in one process on one PostgreSQL schema: the
// first becomes active; a second forwards the management API (and would
// every face) to it; when the first stops the second takes over on the
// listeners it already held; a standby that stops while waiting stops at
// once; and an active node whose store gets a newer owner reports it and
// would exit.
func TestStandby(t *testing.T) {
	pg := pgtest.Require(t, pgtest.Options{})
	url := pg.SchemaURL(t)
	ctx := t.Context()
	// One data directory for all: the same development CA, as a group
	// needs the same certificate on every node (TLS passes through).
	data := t.TempDir()
	node := func(name string) *Server {
		cfg := config.Default()
		cfg.DataDir, cfg.Store, cfg.Standby = data, url, true
		cfg.Listen = config.Listen{Mgmt: "127.0.0.1:0", AMQP: "127.0.0.1:0", AMQPS: "127.0.0.1:0"}
		s, err := New(cfg, Options{Node: name})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		return s
	}
	stats := func(s *Server) (*mgmt.StoreStats, error) {
		c, err := mgmt.NewClient(s.MgmtURL(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return c.Stats(ctx)
	}
	waitActive := func(s *Server, via *Server, name string) int64 {
		t.Helper()
		for {
			st, err := stats(via)
			if err == nil && st.Role == "active" && st.Node == name && st.Standby && s.Role() == "active" {
				return st.Epoch
			}
			if ctx.Err() != nil {
				t.Fatalf("%s never active: %+v %v", name, st, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	a := node("a")
	waitActive(a, a, "a")
	if a.Role() != "active" || a.AMQPAddr() == "" || a.CAFile() == "" {
		t.Fatalf("a: role %q, AMQP %q, CA %q", a.Role(), a.AMQPAddr(), a.CAFile())
	}
	b := node("b")
	if b.Role() != "standby" {
		t.Fatalf("b's role %q", b.Role())
	}
	epochA := waitActive(a, b, "a") // through b's management port
	// GET /api/v1/node is each node's own answer.
	if st, code := nodeGet(t, b, nodePath); code != 200 || st.Role != "standby" || st.Node != "b" || st.Active == nil ||
		st.Active.Node != "a" || st.Active.Epoch != epochA || st.Active.Endpoints[faceAMQP] != a.AMQPAddr() {
		t.Fatalf("b's node status: %d %+v", code, st)
	}
	if st, code := nodeGet(t, b, nodeActivePath); code != 503 || st.Role != "standby" {
		t.Fatalf("b's active check: %d %+v", code, st)
	}
	if st, code := nodeGet(t, a, nodeActivePath); code != 200 || st.Role != "active" || st.Node != "a" || st.Epoch != epochA {
		t.Fatalf("a's active check: %d %+v", code, st)
	}
	// The AMQP face is forwarded too: the bytes a client sends reach a.
	conn, err := net.Dial("tcp", b.AMQPAddr())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write([]byte("AMQP\x00\x01\x00\x00")); err != nil {
		t.Fatal(err)
	}
	hdr := make([]byte, 8)
	if _, err := conn.Read(hdr); err != nil || string(hdr[:4]) != "AMQP" {
		t.Fatalf("AMQP header through the standby: %q %v", hdr, err)
	}

	// AMQPS through b: the TLS session is a's, end to end.
	ca, err := os.ReadFile(a.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	tc, err := tls.Dial("tcp", b.AMQPSAddr(), &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if err != nil {
		t.Fatalf("TLS through the standby: %v", err)
	}
	if _, err := tc.Write([]byte("AMQP\x03\x01\x00\x00")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(tc, hdr); err != nil || string(hdr[:4]) != "AMQP" {
		t.Fatalf("AMQP header over TLS through the standby: %q %v", hdr, err)
	}
	tc.Close()

	// a stops: b takes over on the listeners it holds; the forwarded
	// connection ends with a.
	if err := a.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Read(make([]byte, 512)); err == nil {
		for {
			if _, err := conn.Read(make([]byte, 512)); err != nil {
				break
			}
		}
	}
	conn.Close()
	epochB := waitActive(b, b, "b")
	if epochB != epochA+1 || b.Role() != "active" {
		t.Fatalf("epochs %d then %d; role %q", epochA, epochB, b.Role())
	}
	if st, code := nodeGet(t, b, nodeActivePath); code != 200 || st.Role != "active" || st.Epoch != epochB {
		t.Fatalf("b's active check after the take-over: %d %+v", code, st)
	}
	if _, err := (&http.Client{}).Get(a.MgmtURL() + "/healthz"); err == nil {
		t.Fatal("the stopped node still answers")
	}

	// A standby stops while it waits.
	c := node("c")
	waitActive(b, c, "b")
	if err := c.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	// Another node takes the epoch (as one would that found b's database
	// session gone): b notices and reports it.
	db, err := pgx.Connect(ctx, pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	cfg, _ := pgx.ParseConfig(url)
	if _, err := db.Exec(ctx, `UPDATE `+pgx.Identifier{cfg.RuntimeParams["search_path"], "baton_owner"}.Sanitize()+` SET epoch = epoch + 1`); err != nil {
		t.Fatal(err)
	}
	if err := <-b.Err(); !errors.Is(err, errTakenOver) {
		t.Fatalf("b's error after losing the store: %v", err)
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_ = b.Shutdown(sctx) // its store is fenced: closing may report it
}

func TestAdvertiseHost(t *testing.T) {
	for _, c := range []struct{ configured, addr, want string }{
		{"", ":5672", "127.0.0.1"},
		{"", "0.0.0.0:5672", "127.0.0.1"},
		{"", "[::]:5672", "127.0.0.1"},
		{"", "10.1.2.3:5672", "10.1.2.3"},
		{"", "node1.internal:5672", "node1.internal"},
		{"lb-node1", "0.0.0.0:5672", "lb-node1"},
	} {
		if got := advertiseHost(c.configured, c.addr); got != c.want {
			t.Errorf("advertiseHost(%q, %q) = %q; want %q", c.configured, c.addr, got, c.want)
		}
	}
}

// TestStandbyLosesDatabase: an active node that cannot reach the database
// for its owner lease stops, since a standby may take the store over once
// PostgreSQL gives up on it.
func TestStandbyLosesDatabase(t *testing.T) {
	pg := pgtest.Require(t, pgtest.Options{})
	cfg := config.Default()
	cfg.DataDir, cfg.Store, cfg.Standby = t.TempDir(), pg.SchemaURL(t), true
	cfg.Listen = config.Listen{Mgmt: "127.0.0.1:0"}
	s, err := New(cfg, Options{Node: "a"})
	if err != nil {
		t.Fatal(err)
	}
	s.ownerLease = time.Second
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Active, and done publishing its endpoints: losing the database in
	// the middle of the publish stops the node too, but with the publish's
	// error, not the lease's that this test is about.
	for {
		w, err := s.sb.obs.Owner(t.Context())
		if s.Role() == "active" && err == nil && w.Endpoints != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	err = <-s.Err()
	if err == nil || !strings.Contains(err.Error(), "cannot tell whether another one has taken the store over") {
		t.Fatalf("error after losing the database: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = s.Shutdown(ctx) // the store cannot say goodbye to a stopped database
}

// nodeGet asks a node for its own status on a connection of its own (a
// connection a standby forwarded carries its later requests to the
// active node).
func nodeGet(t *testing.T, s *Server, path string) (NodeStatus, int) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(s.MgmtURL() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st NodeStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return st, resp.StatusCode
}
