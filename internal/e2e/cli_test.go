package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// baton runs the CLI against p and returns stdout, stderr and the exit code.
func (p *proc) baton(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "BATON_SERVER="+p.mgmtURL)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running baton %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// TestNewcomerFlow is the README's "Try it" through the real binary: a
// server on a fresh data directory and the CLI in another process.
func TestNewcomerFlow(t *testing.T) {
	p := startBaton(t, "--data-dir", t.TempDir())
	steps := []struct {
		args     []string
		code     int
		stdout   string // substring expected on stdout
		stderr   string // substring expected on stderr
		noStdout bool
	}{
		{args: []string{"queue", "create", "orders"}, stdout: "orders"},
		{args: []string{"send", "orders", "hello"}, stdout: "1"},
		{args: []string{"receive", "orders"}, stdout: "hello"},
		{args: []string{"receive", "orders", "--wait", "100ms"}, stdout: "empty"},
		{args: []string{"queue", "list"}, stdout: "orders"},
		{args: []string{"receive", "nope"}, code: 1, stderr: "not found", noStdout: true},
		{args: []string{"queue", "create", "bad name"}, code: 1, stderr: "bad name", noStdout: true},
		{args: []string{"queue", "create", "orders"}, code: 1, stderr: "already exists", noStdout: true},
		{args: []string{"frobnicate"}, code: 2, stderr: "unknown command", noStdout: true},
	}
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
