package wal

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
)

// TestMain fails the run if a test leaves a log's goroutines behind: every
// Open must be matched by a Close that stops them.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := walGoroutines(); leaked != "" {
			fmt.Fprintf(os.Stderr, "wal: goroutines left running after the tests:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

func walGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var leaked []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "internal/wal.(*Log).run") || strings.Contains(g, "internal/wal.(*Log).startPreparing") {
			leaked = append(leaked, g)
		}
	}
	return strings.Join(leaked, "\n\n")
}
