package lint

import (
	"bytes"
	"encoding/json"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const module = "github.com/batonmq/baton"

type pkg struct {
	ImportPath   string
	Dir          string
	Doc          string
	GoFiles      []string
	Imports      []string
	Deps         []string
	TestGoFiles  []string
	XTestGoFiles []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func rel(p string) string { return strings.TrimPrefix(strings.TrimPrefix(p, module), "/") }

func TestPackageDocs(t *testing.T) {
	for _, p := range listPackages(t) {
		if len(p.GoFiles) == 0 {
			continue
		}
		if strings.TrimSpace(p.Doc) == "" {
			t.Errorf("%s has no package doc comment", rel(p.ImportPath))
		}
	}
}

// leaves may import only the standard library and each other.
var leaves = []string{"internal/clock", "internal/isodur", "internal/typedval", "internal/vfs", "internal/wal", "internal/amqp/encoding", "internal/amqp/frames", "internal/filter", "internal/auth"}

func TestDependencyRules(t *testing.T) {
	for _, p := range listPackages(t) {
		r := rel(p.ImportPath)
		var internal []string
		for _, d := range p.Imports {
			if strings.HasPrefix(d, module+"/") {
				internal = append(internal, rel(d))
			}
		}
		for _, d := range internal {
			if strings.HasSuffix(d, "test") || strings.Contains(d, "/brokertest") || d == "internal/e2e" {
				t.Errorf("%s (production code) imports the test-only package %s", r, d)
			}
			if strings.HasPrefix(d, "cmd/") {
				t.Errorf("%s imports %s: nothing imports cmd", r, d)
			}
		}
		switch {
		case r == "internal/broker":
			for _, d := range p.Deps {
				if d == "net/http" || strings.Contains(d, "/amqp") || strings.Contains(d, "/store/") || strings.Contains(d, "/httpapi") {
					t.Errorf("internal/broker depends on %s: the core imports no protocol and no store", d)
				}
			}
			for _, d := range internal {
				if !isLeaf(d) && d != "internal/obs" {
					t.Errorf("internal/broker imports %s: only leaf libraries allowed", d)
				}
			}
		case isLeaf(r):
			for _, d := range internal {
				if !isLeaf(d) {
					t.Errorf("leaf %s imports %s", r, d)
				}
			}
		case strings.HasPrefix(r, "internal/store/"):
			for _, d := range internal {
				if strings.HasPrefix(d, "internal/amqp") || strings.HasPrefix(d, "internal/httpapi") || d == "internal/server" || d == "internal/config" {
					t.Errorf("store %s imports %s", r, d)
				}
			}
		}
		if r != "internal/server" && r != "internal/config" && !strings.HasPrefix(r, "cmd/") {
			for _, d := range internal {
				if d == "internal/config" || d == "internal/server" {
					t.Errorf("%s imports %s: components get their own Config from internal/server", r, d)
				}
			}
		}
	}
}

func isLeaf(r string) bool {
	for _, l := range leaves {
		if r == l {
			return true
		}
	}
	return false
}

var (
	wallClock = regexp.MustCompile(`\btime\.(Now|Sleep|After|AfterFunc|NewTimer|NewTicker|Tick|Since|Until)\(`)
	prints    = regexp.MustCompile(`\b(fmt\.Print(f|ln)?|log\.(Print|Fatal|Panic)(f|ln)?)\(`)
)

// TestForbiddenCalls keeps wall-clock time out of production code (it goes
// through internal/clock) and direct printing out of everything but cmd.
func TestForbiddenCalls(t *testing.T) {
	fset := token.NewFileSet()
	for _, p := range listPackages(t) {
		r := rel(p.ImportPath)
		for _, f := range p.GoFiles {
			path := filepath.Join(p.Dir, f)
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			file, err := parser.ParseFile(fset, path, src, parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			// Strip comments so that prose can mention the calls.
			code := []byte(string(src))
			for _, cg := range file.Comments {
				s, e := fset.Position(cg.Pos()).Offset, fset.Position(cg.End()).Offset
				for i := s; i < e; i++ {
					if code[i] != '\n' {
						code[i] = ' '
					}
				}
			}
			// bench/ holds stand-alone measuring tools: they read the wall
			// clock and print by design.
			tool := strings.HasPrefix(r, "bench/")
			if r != "internal/clock" && !tool && wallClock.Match(code) {
				t.Errorf("%s/%s calls %s: use the injected clock.Clock", r, f, wallClock.Find(code))
			}
			if !strings.HasPrefix(r, "cmd/") && !tool && prints.Match(code) {
				t.Errorf("%s/%s calls %s: log through slog, print only in cmd", r, f, prints.Find(code))
			}
		}
	}
}

// TestBinaryDeps keeps test-only code out of the binary: no testing package,
// no test helper packages, and client libraries only through
// internal/loadgen. `baton bench run` is a load generator: it legitimately
// links the clients it drives (go-amqp and the Azure SDK clients for Baton,
// amqp091-go for RabbitMQ, nats.go for NATS JetStream), so those are
// allowed — but only when nothing but internal/loadgen (and the stand-alone
// tools under bench/) imports them, so the server's own code never starts
// depending on an SDK.
func TestBinaryDeps(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", module+"/cmd/baton")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		ours := strings.HasPrefix(dep, module+"/")
		if dep == "testing" || ours && (strings.HasSuffix(dep, "test") || strings.Contains(dep, "/e2e")) {
			t.Errorf("the baton binary links %s", dep)
		}
	}
	for _, p := range listPackages(t) {
		r := rel(p.ImportPath)
		if r == "internal/loadgen" || strings.HasPrefix(r, "bench/") {
			continue // the load generator and the stand-alone bench tools
		}
		for _, d := range p.Imports {
			for _, client := range benchClients {
				if strings.HasPrefix(d, client) {
					t.Errorf("%s imports the client library %s: only internal/loadgen (baton bench) may", r, d)
				}
			}
		}
	}
}

// benchClients are the client libraries only internal/loadgen may import
// in production code (tests may import them anywhere).
var benchClients = []string{"github.com/Azure/", "github.com/rabbitmq/", "github.com/nats-io/"}
