package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// sqURLLine is the Queue Storage face's start-up log line.
var sqURLLine = regexp.MustCompile(`Queue Storage listening.* url=(http://\S+)/devstoreaccount1`)

// TestSQJavaScriptSDK runs js/sq (node --test with @azure/storage-queue
// 12.30.0) against `baton serve` started as a process on loopback ports,
// including a browser-style CORS preflight. test.sh runs `npm ci` there;
// without node the test is skipped locally and fails under CI.
func TestSQJavaScriptSDK(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node is not installed (test.sh installs the JS dependencies)")
		}
		t.Skip("node is not installed")
	}
	dir, err := filepath.Abs(filepath.Join("js", "sq"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@azure", "storage-queue")); err != nil {
		npm := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		npm.Dir = dir
		if out, err := npm.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
	}
	cmd := exec.Command(binary, "serve", "--memory", "--mgmt-addr", "off", "--amqp-addr", "off", "--log-level", "info")
	cmd.Env = append(os.Environ(), "BATON_QUEUE_ADDR=127.0.0.1:0", "BATON_AMQPS_ADDR=off")
	out := &sqWatch{re: sqURLLine, found: make(chan string, 1)}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	timeout := time.NewTimer(60 * time.Second)
	defer timeout.Stop()
	var base string
	select {
	case base = <-out.found:
	case err := <-exited:
		t.Fatalf("baton exited: %v\n%s", err, out.String())
	case <-timeout.C:
		t.Fatalf("baton did not report the Queue Storage URL\n%s", out.String())
	}
	test := exec.CommandContext(t.Context(), node, "--test", "--test-reporter=spec")
	test.Dir = dir
	test.Env = append(os.Environ(), "BATON_QUEUE_URL="+base)
	res, err := test.CombinedOutput()
	t.Logf("node --test:\n%s", res)
	if err != nil {
		t.Fatalf("JavaScript tests failed: %v\nbaton log:\n%s", err, out.String())
	}
}

// sqWatch keeps a process's output and reports the first match of re.
type sqWatch struct {
	watchWriter
	re    *regexp.Regexp
	found chan string
}

func (w *sqWatch) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(b)
	if !w.seen {
		if m := w.re.FindSubmatch(w.buf.Bytes()); m != nil {
			w.seen = true
			w.found <- string(m[1])
		}
	}
	return len(b), nil
}
