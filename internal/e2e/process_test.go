package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the baton binary built once for the package's tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "baton-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "baton")
	build := exec.Command("go", "build", "-o", binary, "github.com/batonmq/baton/cmd/baton")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building baton:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running `baton serve`.
type proc struct {
	t       *testing.T
	cmd     *exec.Cmd
	mgmtURL string
	out     *watchWriter
	exited  chan error
	once    sync.Once
	exitErr error
}

var mgmtLine = regexp.MustCompile(`management API: (http://\S+)`)

// startBaton runs `baton serve` with args and waits until it reports its
// management address.
func startBaton(t *testing.T, args ...string) *proc {
	t.Helper()
	args = append([]string{"serve", "--mgmt-addr", "127.0.0.1:0", "--log-level", "warn"}, args...)
	cmd := exec.Command(binary, args...)
	// Every face on a free loopback port unless the test's flags say
	// otherwise (flags override the environment): tests run in parallel
	// with other processes and must never need a fixed port.
	cmd.Env = append(os.Environ(), "BATON_AMQP_ADDR=127.0.0.1:0", "BATON_AMQPS_ADDR=127.0.0.1:0",
		"BATON_QUEUE_ADDR=127.0.0.1:0", "BATON_EVENTGRID_ADDR=127.0.0.1:0")
	out := &watchWriter{found: make(chan string, 1)}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, out: out, exited: make(chan error, 1)}
	go func() { p.exited <- cmd.Wait() }()
	timeout := time.NewTimer(60 * time.Second)
	defer timeout.Stop()
	select {
	case u := <-out.found:
		p.mgmtURL = u
	case err := <-p.exited:
		t.Fatalf("baton exited before it was ready: %v\n%s", err, out.String())
	case <-timeout.C:
		cmd.Process.Kill()
		t.Fatalf("baton did not report ready in time\n%s", out.String())
	}
	t.Cleanup(p.kill)
	return p
}

// kill sends SIGKILL and waits for the process to go.
func (p *proc) kill() {
	p.once.Do(func() {
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.exitErr = <-p.exited
	})
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop() error {
	p.once.Do(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		p.exitErr = <-p.exited
	})
	return p.exitErr
}

// watchWriter keeps the process output and reports the management URL.
type watchWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	found chan string
	seen  bool
}

func (w *watchWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(b)
	if !w.seen {
		if m := mgmtLine.FindSubmatch(w.buf.Bytes()); m != nil {
			w.seen = true
			w.found <- string(m[1])
		}
	}
	return len(b), nil
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
