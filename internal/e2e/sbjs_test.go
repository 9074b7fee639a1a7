package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestSBJavaScriptSDK runs the JavaScript end-to-end tests in js/ (node:test,
// @azure/service-bus 7.9.5 installed with `npm ci` from the committed
// package-lock.json) against a real `baton serve` child process on loopback
// ports: the plain AMQP port with UseDevelopmentEmulator=true, the admin API
// over HTTPS on it, and the AMQPS port. Node gets the connection strings in
// BATON_SB_CONNECTION_STRING and BATON_SB_AMQPS_CONNECTION_STRING and trusts
// the development CA through NODE_EXTRA_CA_CERTS.
//
// Without node or js/node_modules the test fails when CI=true and is
// skipped otherwise (run `npm ci` in internal/e2e/js; ./test.sh does).
func TestSBJavaScriptSDK(t *testing.T) {
	jsDir, err := filepath.Abs("js")
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missingJS(t, "node is not on PATH (Node.js 20 or later runs the JavaScript SDK tests)")
	}
	if _, err := os.Stat(filepath.Join(jsDir, "node_modules", "@azure", "service-bus", "package.json")); err != nil {
		missingJS(t, "internal/e2e/js/node_modules is missing: run `npm ci` in internal/e2e/js (./test.sh does)")
	}

	t.Setenv("BATON_AMQPS_ADDR", "127.0.0.1:0") // the child inherits the environment
	p := startBaton(t, "--data-dir", t.TempDir(), "--amqp-addr", "127.0.0.1:0", "--log-level", "info")
	addrs, err := parseServeOutput(p.out.String())
	if err != nil {
		t.Fatalf("%v\n%s", err, p.out.String())
	}

	// This directory's own files only (js/sq holds the Storage Queue tests,
	// run by sq_nodejs_test.go).
	files, err := filepath.Glob(filepath.Join(jsDir, "*.test.mjs"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no *.test.mjs in %s: %v", jsDir, err)
	}
	for i, f := range files {
		files[i] = filepath.Base(f)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	// --test-concurrency=1: one file at a time on the shared 2-core machine.
	// --test-force-exit: a client left open cannot keep node running after
	// the last test (every test has its own timeout besides).
	args := append([]string{"--test", "--test-reporter=spec", "--test-concurrency=1", "--test-force-exit"}, files...)
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = jsDir
	cmd.Env = append(os.Environ(),
		"BATON_SB_CONNECTION_STRING="+addrs.connStr,
		"BATON_SB_AMQPS_CONNECTION_STRING="+addrs.amqpsConnStr,
		"NODE_EXTRA_CA_CERTS="+addrs.caFile,
		"NO_COLOR=1", "FORCE_COLOR=0",
	)
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("node --test did not finish in time\n%s\n--- baton output ---\n%s", out, p.out.String())
	}
	if err != nil {
		t.Fatalf("node --test: %v\n%s\n--- baton output ---\n%s", err, out, p.out.String())
	}
	t.Logf("node --test (%s):\n%s", addrs.connStr, summary(string(out)))
	if !strings.Contains(string(out), "ℹ pass ") {
		t.Fatalf("node --test ran no test?\n%s", out)
	}
}

func missingJS(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(why)
	}
	t.Skip(why)
}

// sbAddrs are what `baton serve` printed and logged.
type sbAddrs struct {
	connStr      string // plain AMQP, UseDevelopmentEmulator=true
	amqpsConnStr string // AMQP over TLS
	caFile       string
}

var (
	connStrLine = regexp.MustCompile(`connection string: (Endpoint=sb://\S+)`)
	caLine      = regexp.MustCompile(`admin API over HTTPS on the same port, CA (.+)\)\s*$`)
	// The AMQPS address: printed by serve, or logged by the listener.
	amqpsLine = regexp.MustCompile(`(?:Service Bus TLS: amqps://|AMQPS \(AMQP over TLS\) listening.* addr=)(\S+)`)
)

// parseServeOutput finds the connection string and CA file that `baton
// serve` prints, and the AMQPS address it logs at level info.
func parseServeOutput(out string) (sbAddrs, error) {
	var a sbAddrs
	for _, line := range strings.Split(out, "\n") {
		if m := connStrLine.FindStringSubmatch(line); m != nil {
			a.connStr = m[1]
		}
		if m := caLine.FindStringSubmatch(line); m != nil {
			a.caFile = m[1]
		}
		if m := amqpsLine.FindStringSubmatch(line); m != nil {
			_, port, ok := strings.Cut(m[1], "]:")
			if !ok {
				_, port, _ = strings.Cut(m[1], ":")
			}
			a.amqpsConnStr = "Endpoint=sb://localhost:" + port + ";SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=any"
		}
	}
	switch {
	case a.connStr == "":
		return a, fmt.Errorf("baton serve printed no connection string")
	case a.caFile == "":
		return a, fmt.Errorf("baton serve printed no CA file")
	case a.amqpsConnStr == "":
		return a, fmt.Errorf("baton serve logged no AMQPS address")
	}
	return a, nil
}

// summary keeps node's result lines and totals (the whole output is
// printed on failure).
func summary(out string) string {
	var b strings.Builder
	for _, line := range strings.Split(out, "\n") {
		l := strings.TrimSpace(line)
		if strings.HasPrefix(l, "✔") || strings.HasPrefix(l, "✖") || strings.HasPrefix(l, "ℹ") || strings.Contains(l, "# TODO") {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}
