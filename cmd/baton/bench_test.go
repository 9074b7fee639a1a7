package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/config"
	"github.com/batonmq/baton/internal/server"
)

func TestBenchUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"bench"},
		{"bench", "nope"},
		{"bench", "run", "--workload", "nope"},
		{"bench", "run", "--target", "kafka"},
		{"bench", "run", "--driver", "grpc"},
		{"bench", "run", "extra"},
		{"bench", "table"},
	} {
		if _, stderr, code := runCLI(t.Context(), args...); code != 2 {
			t.Errorf("%v: exit %d (stderr %q), want 2", args, code, stderr)
		}
	}
}

// A real run against an in-process Baton (fsync store) through the CLI,
// then the table of its JSON result against itself.
func TestBenchRunAndTable(t *testing.T) {
	cfg := config.Default()
	cfg.Listen.Mgmt, cfg.Listen.AMQP = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Listen.AMQPS, cfg.Listen.QueueStorage, cfg.Listen.EventGrid = "", "", ""
	cfg.DataDir = t.TempDir()
	cfg.Log.Level = "error"
	s, err := server.New(cfg, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	dir := t.TempDir()
	out := filepath.Join(dir, "baton-fsync.json")
	stdout, stderr, code := runCLI(t.Context(), "bench", "run", "--workload", "throughput", "--amqp", s.AMQPAddr(), "--mgmt", s.MgmtURL(),
		"--duration", "300ms", "--warmup", "50ms", "--producers", "2", "--inflight", "4", "--size", "128",
		"--label", "baton-fsync", "--durability", "fsync before ack", "--json", out, "--broker-pid", "0")
	if code != 0 {
		t.Fatalf("bench run: exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "baton-fsync: throughput workload, go-amqp") || !strings.Contains(stdout, "send→ack") || !strings.Contains(stdout, "fsyncs") {
		t.Errorf("report:\n%s", stdout)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rec benchRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Label != "baton-fsync" || rec.Durability != "fsync before ack" || len(rec.Result.Phases) != 1 || rec.Result.Phases[0].Sent == 0 {
		t.Errorf("JSON result %+v", rec)
	}
	// The same result under a second label: every ratio is 1.00×.
	rec.Label = "other"
	b2, _ := json.Marshal(rec)
	other := filepath.Join(dir, "other.json")
	if err := os.WriteFile(other, b2, 0o644); err != nil {
		t.Fatal(err)
	}
	// A second, slower round of "other": the table keeps the best round.
	rec.Result.Phases[0].RecvRate /= 2
	b3, _ := json.Marshal(rec)
	slower := filepath.Join(dir, "other-r2.json")
	if err := os.WriteFile(slower, b3, 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code = runCLI(t.Context(), "bench", "table", "--base", "baton-fsync", out, other, slower)
	if code != 0 {
		t.Fatalf("bench table: exit %d: %s", code, stderr)
	}
	lines := strings.Split(stdout, "\n")
	if len(lines) < 4 || !strings.HasPrefix(lines[0], "| workload |") || !strings.Contains(lines[0], "baton-fsync ÷ row") {
		t.Fatalf("table:\n%s", stdout)
	}
	for i, l := range lines[2:4] {
		if !strings.HasSuffix(l, " 1.00× |") || !strings.Contains(l, "| throughput | steady |") {
			t.Errorf("row %q: want the throughput row with ratio 1.00×", l)
		}
		if rounds := []string{"| 1 |", "| 2 |"}[i]; !strings.Contains(l, rounds) {
			t.Errorf("row %q: want %s rounds", l, rounds)
		}
	}
	if strings.Contains(lines[4], "| throughput |") {
		t.Errorf("a third row %q: rounds of one label must make one row", lines[4])
	}
}
