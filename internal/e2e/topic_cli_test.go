package e2e

import (
	"strings"
	"testing"
)

// TestTopicCLI drives topics, subscriptions and rules through the real
// binary: a server on a fresh data directory and the CLI in other
// processes, then a restart that keeps everything.
func TestTopicCLI(t *testing.T) {
	dir := t.TempDir()
	p := startBaton(t, "--data-dir", dir)
	type step struct {
		args     []string
		code     int
		stdout   string // substring expected on stdout
		stderr   string // substring expected on stderr
		noStdout bool
	}
	run := func(steps []step) {
		t.Helper()
		for _, s := range steps {
			out, errOut, code := p.baton(t, s.args...)
			if code != s.code || !strings.Contains(out, s.stdout) || !strings.Contains(errOut, s.stderr) || (s.noStdout && out != "") {
				t.Fatalf("baton %s: exit %d, stdout %q, stderr %q; want exit %d, stdout ~%q, stderr ~%q",
					strings.Join(s.args, " "), code, out, errOut, s.code, s.stdout, s.stderr)
			}
			if s.code != 0 && strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
				t.Fatalf("baton %s: the error is not one line: %q", strings.Join(s.args, " "), errOut)
			}
		}
	}
	run([]step{
		{args: []string{"topic", "create", "orders"}, stdout: `created topic "orders"`},
		{args: []string{"sub", "create", "orders", "all"}, stdout: "baton receive orders/Subscriptions/all"},
		{args: []string{"sub", "create", "orders", "big", "--sql", "qty > @min", "--param", "min=10", "--action", "SET tier = 'big'"}, stdout: `created subscription "big"`},
		{args: []string{"sub", "create", "orders", "invoices", "--correlation-property", "region=eu"}, stdout: `created subscription "invoices"`},
		{args: []string{"rule", "add", "orders", "invoices", "urgent", "--sql", "sys.Label = 'urgent'"}, stdout: `added rule "urgent"`},
		{args: []string{"rule", "add", "orders", "big", "bad", "--sql", "qty > > 3"}, code: 1, noStdout: true,
			stderr: `rule "bad": SqlFilter: filter: syntax error at line 1, column 7 (offset 6) near ">"`},
		{args: []string{"send", "orders", "small", "--property", "qty=long:3"}, stdout: "1"},
		{args: []string{"send", "orders", "large", "--property", "qty=long:30"}, stdout: "2"},
		{args: []string{"send", "orders", "inv", "--property", "region=eu"}, stdout: "3"},
		{args: []string{"rule", "list", "orders", "invoices"}, stdout: "urgent    sys.Label = 'urgent'"},
		{args: []string{"sub", "list", "orders"}, stdout: "big           1 "},
		{args: []string{"topic", "list"}, stdout: "orders  3 "},
	})
	// A restart keeps topics, subscriptions, rules and messages.
	if err := p.stop(); err != nil {
		t.Fatalf("stop: %v\n%s", err, p.out.String())
	}
	p = startBaton(t, "--data-dir", dir)
	run([]step{
		{args: []string{"rule", "show", "orders", "big", "$Default"}, stdout: "qty > @min"},
		{args: []string{"receive", "orders/Subscriptions/all", "--max", "5"}, stdout: "small\nlarge\ninv\n"},
		{args: []string{"receive", "orders/Subscriptions/big", "--json"}, stdout: `"tier":"big"`},
		{args: []string{"receive", "orders/Subscriptions/invoices", "--max", "5", "--wait", "100ms"}, stdout: "inv\n"},
		{args: []string{"receive", "orders/Subscriptions/big", "--wait", "100ms"}, stdout: "is empty"},
		{args: []string{"send", "orders/Subscriptions/all", "x"}, code: 1, stderr: "send to its topic", noStdout: true},
		{args: []string{"sub", "delete", "orders", "all"}, stdout: `deleted subscription "all"`},
		{args: []string{"topic", "delete", "orders"}, stdout: `deleted topic "orders"`},
		{args: []string{"topic", "show", "orders"}, code: 1, stderr: `topic "orders" not found`, noStdout: true},
	})
}
