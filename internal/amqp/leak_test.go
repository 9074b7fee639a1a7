package amqp

import (
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run when a server goroutine outlives the tests: every
// test shuts its server down, and Shutdown must leave nothing behind.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := serverGoroutines(5 * time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "leaked server goroutines:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// serverGoroutines waits up to d for the package's goroutines to end and
// returns the stacks of those still running.
func serverGoroutines(d time.Duration) string {
	deadline := time.Now().Add(d)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		var b strings.Builder
		_ = pprof.Lookup("goroutine").WriteTo(&b, 2)
		var leaked []string
		for _, g := range strings.Split(b.String(), "\n\n") {
			if strings.Contains(g, "baton/internal/amqp.(*") && !strings.Contains(g, "_test.go") {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			return strings.Join(leaked, "\n\n")
		}
		<-tick.C
	}
}
