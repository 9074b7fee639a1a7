// Package pgtest runs a private PostgreSQL server for tests: initdb into a
// temporary directory, the server listening only on a Unix socket in that
// directory (no TCP port), owned by the test process and stopped with it.
// PostgreSQL refuses to run as root, so under root (as CI runs) initdb and
// the server run as the unprivileged user "nobody".
//
// A test binary starts one shared server from TestMain with Main; tests
// take a schema of their own on it with Shared(t).NewSchema(t). When the
// server cannot start (PostgreSQL not installed), Main fails the run if CI
// is set and otherwise lets Shared skip each test with the reason.
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/clock"
	"github.com/jackc/pgx/v5"
)

// Options configure a server.
type Options struct {
	// Fsync turns fsync on (benchmarks that claim durability). Tests run
	// with fsync off: a crash of the server process (not of the machine)
	// still loses nothing that was committed.
	Fsync bool
}

// Server is a running private PostgreSQL.
type Server struct {
	Dir     string // temporary directory: socket, log, data/
	Port    int    // names the socket only; nothing listens on TCP
	bin     string // directory of initdb and postgres
	cred    *syscall.Credential
	opts    Options
	schemas atomic.Int64

	mu   sync.Mutex
	proc *exec.Cmd
	exit chan error // the running server's exit status
}

// Start creates and starts a server.
func Start(opts Options) (*Server, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	root := os.Geteuid() == 0
	parent := ""
	if root {
		// The server's user must reach the directory: not under a TMPDIR
		// private to root.
		parent = "/tmp"
	}
	dir, err := os.MkdirTemp(parent, "baton-pg-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	s := &Server{Dir: dir, Port: 5432, bin: bin, opts: opts}
	if root {
		if s.cred, err = nobody(); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		if err := os.Chown(dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: %w", err)
		}
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	initdb := s.command(filepath.Join(bin, "initdb"), "-D", filepath.Join(dir, "data"), "-A", "trust", "-U", "postgres",
		"-E", "UTF8", "--locale=C", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: initdb: %w\n%s", err, out)
	}
	if err := s.Restart(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// findBin finds the directory of initdb and postgres: beside pg_ctl on the
// PATH, else the newest /usr/lib/postgresql/*/bin (Debian's layout).
func findBin() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		d := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("pgtest: PostgreSQL is not installed (no pg_ctl on the PATH, no /usr/lib/postgresql/*/bin): apt-get install postgresql")
}

var versionRE = regexp.MustCompile(`/(\d+)/bin$`)

func version(dir string) int {
	if m := versionRE.FindStringSubmatch(dir); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

func nobody() (*syscall.Credential, error) {
	u, err := user.Lookup("nobody")
	if err != nil {
		return nil, fmt.Errorf("pgtest: running as root, PostgreSQL needs an unprivileged user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

// command runs name as the server's user, in its directory.
func (s *Server) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = s.Dir
	cmd.Env = append(os.Environ(), "HOME="+s.Dir, "LC_ALL=C")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	return cmd
}

// DSN is the connection string of the server's postgres database.
func (s *Server) DSN() string {
	return fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres sslmode=disable", s.Dir, s.Port)
}

// URL is the DSN as a postgres:// URL (what `baton serve --store` takes).
func (s *Server) URL() string {
	return fmt.Sprintf("postgres://postgres@/postgres?host=%s&port=%d&sslmode=disable", s.Dir, s.Port)
}

// Restart starts the server (again) on its data directory and waits until
// it accepts connections.
func (s *Server) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return errors.New("pgtest: server already running")
	}
	logf, err := os.OpenFile(filepath.Join(s.Dir, "postgres.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer logf.Close()
	args := []string{"-D", filepath.Join(s.Dir, "data"), "-k", s.Dir, "-p", strconv.Itoa(s.Port),
		"-c", "listen_addresses=", "-c", "max_connections=200", "-c", "unix_socket_permissions=0777"}
	if !s.opts.Fsync {
		args = append(args, "-c", "fsync=off", "-c", "full_page_writes=off")
	}
	cmd := s.command(filepath.Join(s.bin, "postgres"), args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// The server dies with the test process, even a killed one: the
	// parent-death signal is tied to the thread that started it, so that
	// thread stays locked to its goroutine for as long as the server runs.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGQUIT
	started, exit := make(chan error, 1), make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			runtime.UnlockOSThread()
			started <- err
			return
		}
		started <- nil
		exit <- cmd.Wait()
		runtime.UnlockOSThread()
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("pgtest: starting postgres: %w", err)
	}
	s.proc, s.exit = cmd, exit
	if err := s.waitReady(); err != nil {
		s.stopLocked(syscall.SIGQUIT)
		return err
	}
	return nil
}

// waitReady polls until a connection succeeds (up to 60 s).
func (s *Server) waitReady() error {
	var clk clock.Real
	deadline := clk.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		conn, err := pgx.Connect(ctx, s.DSN())
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		if clk.Now().After(deadline) {
			return fmt.Errorf("pgtest: server not ready after 60 s: %w\n%s", err, s.LogTail())
		}
		t := clk.NewTimer(20 * time.Millisecond)
		select {
		case e := <-s.exit:
			t.Stop()
			s.proc = nil
			return fmt.Errorf("pgtest: postgres exited at start: %v\n%s", e, s.LogTail())
		case <-t.C():
		}
	}
}

// LogTail returns the end of the server's log.
func (s *Server) LogTail() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "postgres.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}

// Stop shuts the server down cleanly (fast shutdown: sessions are cut,
// committed work is on disk) and waits for it to exit.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopLocked(syscall.SIGINT)
}

// Crash stops the server the way a crash would (immediate shutdown: no
// checkpoint; the next start recovers from the WAL).
func (s *Server) Crash() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopLocked(syscall.SIGQUIT)
}

func (s *Server) stopLocked(sig syscall.Signal) error {
	if s.proc == nil {
		return nil
	}
	if err := s.proc.Process.Signal(sig); err != nil {
		return fmt.Errorf("pgtest: signalling postgres: %w", err)
	}
	<-s.exit
	s.proc = nil
	return nil
}

// Close stops the server and removes its directory.
func (s *Server) Close() {
	s.Stop()
	os.RemoveAll(s.Dir)
}

// NewSchema creates a schema of its own for t and returns its name.
func (s *Server) NewSchema(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d_%s", s.schemas.Add(1), sanitize(t.Name()))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.DSN())
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: creating schema %s: %v", name, err)
	}
	return name
}

// SchemaURL creates a schema for t and returns a URL whose connections use
// it (search_path), for a `baton serve --store` under test.
func (s *Server) SchemaURL(t testing.TB) string {
	return s.URL() + "&search_path=" + s.NewSchema(t)
}

var unsafeRE = regexp.MustCompile(`[^a-z0-9_]+`)

func sanitize(name string) string {
	n := unsafeRE.ReplaceAllString(strings.ToLower(name), "_")
	if len(n) > 40 {
		n = n[len(n)-40:]
	}
	return n
}

var (
	shared    *Server
	sharedErr error
)

// Main is a TestMain: it starts the shared server, runs the tests, stops
// the server and exits. With CI set, a server that cannot start fails the
// run; without it, tests that need the server are skipped.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	shared, sharedErr = Start(Options{})
	if sharedErr != nil {
		if os.Getenv("CI") != "" {
			fmt.Fprintf(os.Stderr, "pgtest: CI is set and PostgreSQL could not be started: %v\n", sharedErr)
			return 1
		}
		fmt.Fprintf(os.Stderr, "pgtest: PostgreSQL tests will be skipped: %v\n", sharedErr)
	} else {
		defer shared.Close()
	}
	return m.Run()
}

// Shared returns the server Main started, or skips t (outside CI) when
// there is none.
func Shared(t testing.TB) *Server {
	t.Helper()
	if shared == nil {
		if sharedErr == nil {
			t.Fatal("pgtest: Shared needs pgtest.Main as the package's TestMain")
		}
		if os.Getenv("CI") != "" {
			t.Fatalf("pgtest: no PostgreSQL in CI: %v", sharedErr)
		}
		t.Skipf("PostgreSQL not available (%v); set CI=true to make this a failure", sharedErr)
	}
	return shared
}

// Require starts a private server for one test (one that stops or crashes
// it) and closes it at the end; like Shared it fails in CI and skips
// elsewhere when PostgreSQL cannot start.
func Require(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("pgtest: no PostgreSQL in CI: %v", err)
		}
		t.Skipf("PostgreSQL not available (%v); set CI=true to make this a failure", err)
	}
	t.Cleanup(s.Close)
	return s
}
